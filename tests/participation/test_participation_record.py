"""The process's public record: its page and export, a chain anyone can check (crypto.record)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.board import InvalidChain
from crypto.errors import InvalidEncoding
from crypto.record import RecordEntry, record_verify_chain, record_verify_process
from participation.models import Comment
from participation.services import comment_hide, proposal_review
from tests.participation.test_participation_comments_review import in_review
from tests.participation.test_participation_pages import submit

pytestmark = pytest.mark.django_db


def exported(client, process) -> bytes:
    response = client.get(f"/p/{process.slug}/record.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    return b"".join(response.streaming_content)


def test_the_export_is_the_whole_record_and_checks_out(client) -> None:
    process, selected, _ = in_review()
    proposal_review(proposal=selected, feasible=True, reason="Fine.", adjusted_cost=50)
    data = exported(client, process)
    lines = data.splitlines(keepends=True)
    entries = list(record_verify_chain(RecordEntry.from_line(line) for line in lines))
    kinds = [e.kind for e in entries]
    assert kinds == ["process", "proposal", "proposal", "supports", "supports", "review"]
    assert all(e.log == str(process.record_id) for e in entries)
    assert entries[0].payload["uuid"] == str(process.record_id)
    record_verify_process(entries)
    page = client.get(f"/p/{process.slug}/record").content.decode()
    assert entries[-1].hash in page and "review" in page and "Fine." in page


def test_the_record_page_shows_moderation(client, resident_client, process) -> None:
    submit(resident_client, process)
    resident_client.post(f"/p/{process.slug}/proposals/1/comments", {"body": "Spam"})
    comment_hide(comment=Comment.objects.get(), reason="Spam, removed.")
    page = client.get(f"/p/{process.slug}/record").content.decode()
    assert "moderation" in page and "Spam, removed." in page


def test_a_record_line_that_is_not_canonical_is_refused(client) -> None:
    process, _, _ = in_review()
    line = exported(client, process).splitlines(keepends=True)[1]
    for other in (
        line.replace(b'{"hash"', b'{ "hash"'),
        line[:-1] + b"\r\n",
        line[:-1],
        line.replace(b'"version":1', b'"version":2'),
    ):
        with pytest.raises(InvalidEncoding):
            RecordEntry.from_line(other)


def test_every_change_to_a_recorded_chain_is_caught(client) -> None:
    process, _, _ = in_review()
    entries = [
        RecordEntry.from_line(line) for line in exported(client, process).splitlines(keepends=True)
    ]
    assert len(list(record_verify_chain(entries))) == len(entries)

    @settings(max_examples=60, deadline=None)
    @given(
        index=st.integers(0, len(entries) - 1),
        change=st.sampled_from(["payload", "time", "drop", "swap", "log", "seq"]),
    )
    def check(index, change):
        tampered = list(entries)
        entry = tampered[index]
        if change == "payload":
            tampered[index] = replace(entry, payload={**entry.payload, "extra": 1})
        elif change == "time":
            tampered[index] = replace(entry, time="2000-01-01T00:00:00.000Z")
        elif change == "drop":
            del tampered[index]
            if not tampered or index == len(entries) - 1:
                return  # dropping the last entry is a shorter record (a checkpoint would tell)
        elif change == "swap":
            j = (index + 1) % len(tampered)
            if j == index:
                return
            tampered[index], tampered[j] = tampered[j], tampered[index]
        elif change == "log":
            tampered[index] = replace(entry, log="00000000-0000-4000-8000-000000000000")
        elif change == "seq":
            tampered[index] = replace(entry, seq=entry.seq + 1)
        with pytest.raises(InvalidChain):
            list(record_verify_chain(tampered))

    check()


def test_the_record_of_an_unknown_process_is_not_found(client) -> None:
    assert client.get("/p/nothing/record").status_code == 404
    assert client.get("/p/nothing/record.jsonl").status_code == 404


def test_the_process_rules_of_the_record_are_checked(client) -> None:
    process, selected, _ = in_review()
    proposal_review(proposal=selected, feasible=True, reason="Fine.", adjusted_cost=50)
    entries = [
        RecordEntry.from_line(line) for line in exported(client, process).splitlines(keepends=True)
    ]
    record_verify_process(entries)

    def rechained(changed):
        """The entries with a changed payload, re-hashed and re-chained (a consistent forgery
        of the chain: only the process rules can catch it)."""
        out, prev = [], "0" * 64
        for seq, entry in enumerate(changed):
            fresh = RecordEntry.create(
                log=entry.log,
                seq=seq,
                kind=entry.kind,
                time=entry.time,
                prev=prev,
                payload=entry.payload,
            )
            out.append(fresh)
            prev = fresh.hash
        return out

    def with_payload(index, **fields):
        changed = list(entries)
        changed[index] = replace(changed[index], payload={**changed[index].payload, **fields})
        return rechained(changed)

    kinds = [e.kind for e in entries]
    first_supports, review = kinds.index("supports"), kinds.index("review")
    forgeries = {
        "a skipped version": with_payload(1, version=2),
        "selected below the threshold": with_payload(first_supports, supports=0, selected=True),
        "a review without its cost": with_payload(review, cost=None),
        "an extra member": with_payload(review, note="x"),
        "the genesis of another log": with_payload(0, uuid="00000000-0000-4000-8000-000000000000"),
        "a review twice": rechained([*entries, entries[review]]),
        "a proposal after the count": rechained(
            [*entries, replace(entries[1], payload={**entries[1].payload, "version": 2})]
        ),
    }
    record_verify_process(rechained(entries))  # re-chaining alone forges nothing
    for name, forged in forgeries.items():
        with pytest.raises((InvalidChain, InvalidEncoding)):
            record_verify_process(forged)
            pytest.fail(name)


def test_the_bytes_follow_the_protocol_text(client) -> None:
    """docs/protocol.md §17.1 alone, with an independent JCS (rfc8785): each exported line is
    JCS(entry) + "\\n", its hash is SHA-256 of JCS(entry without "hash"), chained by prev."""
    import hashlib
    import json

    import rfc8785

    process, _, _ = in_review()
    data = exported(client, process)
    assert data.endswith(b"\n") and b"\r" not in data
    prev = "0" * 64
    for seq, line in enumerate(data.split(b"\n")[:-1]):
        entry = json.loads(line)
        assert sorted(entry) == sorted(
            ["version", "log", "seq", "kind", "time", "prev", "payload", "hash"]
        )
        assert line == rfc8785.dumps(entry)
        body = {k: v for k, v in entry.items() if k != "hash"}
        assert entry["hash"] == hashlib.sha256(rfc8785.dumps(body)).hexdigest()
        assert (entry["seq"], entry["prev"], entry["version"]) == (seq, prev, 1)
        assert entry["log"] == str(process.record_id)
        prev = entry["hash"]
