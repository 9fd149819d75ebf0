"""The bulletin board: append-only storage, hash chain, public read API and export."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from board.models import AppendOnlyViolation, BoardHead
from board.models import BoardEntry as BoardEntryRow
from board.services import board_append
from crypto.ballot import Ballot as CryptoBallot
from crypto.ballot import ballot_verify
from crypto.board import GENESIS_PREV, BoardEntry, verify_chain
from crypto.hashing import canonical_json, parse_json
from crypto.manifest import Manifest
from tests.voting.factories import board_head_of, login, make_election, post_json
from voting.models import Ballot

pytestmark = pytest.mark.django_db


def export(client, election) -> bytes:
    response = client.get(f"/api/elections/{election.pk}/board.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jsonl")
    return b"".join(response.streaming_content)


def test_genesis_entry(client) -> None:
    election = make_election()
    (line,) = export(client, election).splitlines()
    entry = BoardEntry.from_line(line)
    assert (entry.seq, entry.kind, entry.prev) == (0, "election", GENESIS_PREV)
    assert entry.election == str(election.pk)
    assert set(entry.payload) == {"uuid", "slug", "title", "board_key"}
    assert entry.payload["slug"] == election.slug
    assert board_head_of(election) == (0, entry.hash)


def test_export_reverifies_and_every_ballot_verifies(client, open_election) -> None:
    for i, voter in enumerate(open_election.voters):
        login(client, voter)
        ballot = open_election.ballot(i)
        assert (
            post_json(client, f"{open_election.url}/ballots/", ballot.to_json()).status_code == 201
        )
    data = export(client, open_election.election)
    assert data.endswith(b"\n")
    lines = data.splitlines()
    entries = list(verify_chain(BoardEntry.from_line(line) for line in lines))
    # Stored bytes are exactly the canonical entries.
    assert all(canonical_json(e.to_json()) == line for e, line in zip(entries, lines, strict=True))
    kinds = [e.kind for e in entries]
    assert kinds == [
        "election",
        "state",  # → key_ceremony
        "state",  # → ready
        "credentials",
        "manifest",
        "state",  # → open
        "ballot",
        "ballot",
        "ballot",
    ]
    manifest_entry = entries[kinds.index("manifest")]
    manifest = Manifest.from_json(manifest_entry.payload["manifest"])
    assert manifest.fingerprint == manifest_entry.payload["fingerprint"]
    assert manifest.fingerprint == open_election.election.fingerprint
    credentials = entries[kinds.index("credentials")].payload
    assert credentials["digest"] == manifest.credentials_digest
    for entry in entries:
        if entry.kind == "ballot":
            ballot = CryptoBallot.from_json(entry.payload["ballot"])
            assert ballot.tracker() == entry.payload["tracker"]
            assert ballot.credential.to_hex() in {
                c["public_key"] for c in credentials["credentials"]
            }
            ballot_verify(ballot, manifest.spec)

    # An export from a later point continues the chain.
    since = list(
        verify_chain(
            (
                BoardEntry.from_line(line)
                for line in export_since(client, open_election.election, 6)
            ),
            start_prev=entries[5].hash,
            start_seq=6,
        )
    )
    assert [e.seq for e in since] == [6, 7, 8]


def export_since(client, election, seq: int) -> list[bytes]:
    response = client.get(f"/api/elections/{election.pk}/board.jsonl?after={seq - 1}")
    return b"".join(response.streaming_content).splitlines()


def test_board_pages_kinds_and_head(client, open_election) -> None:
    url = f"{open_election.url}/board/"
    first = client.get(url, {"limit": 3}).json()
    assert [e["seq"] for e in first["results"]] == [0, 1, 2]
    second = client.get(first["next"]).json()
    assert [e["seq"] for e in second["results"]] == [3, 4, 5]
    states = client.get(url, {"kind": "state"}).json()
    assert [e["payload"] for e in states["results"]] == [
        {"from": "draft", "to": "key_ceremony", "reason": ""},
        {"from": "key_ceremony", "to": "ready", "reason": ""},
        {"from": "ready", "to": "open", "reason": ""},
    ]
    assert states["next"] is None
    assert client.get(url, {"kind": "nonsense"}).status_code == 400
    head = client.get(f"{open_election.url}/board/head").json()
    assert head["seq"] == 5 and head["count"] == 6
    assert head["kinds"] == {"election": 1, "state": 3, "credentials": 1, "manifest": 1}
    assert head["hash"] == board_head_of(open_election.election)[1]


def test_unknown_election_and_tracker_are_404(client, open_election) -> None:
    response = client.get("/api/elections/00000000-0000-4000-8000-000000000000/board/head")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = client.get(f"{open_election.url}/board/ballots/{'0' * 64}")
    assert response.status_code == 404


def test_entries_cannot_be_updated_or_deleted(open_election) -> None:
    entry = BoardEntryRow.objects.filter(election=open_election.election).first()
    entry.kind = "result"
    with pytest.raises(AppendOnlyViolation):
        entry.save()
    with pytest.raises(AppendOnlyViolation):
        entry.delete()
    with pytest.raises(AppendOnlyViolation):
        BoardEntryRow.objects.filter(pk=entry.pk).update(kind="result")
    with pytest.raises(AppendOnlyViolation):
        BoardEntryRow.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyViolation):
        Ballot.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")
def test_the_database_refuses_updates_and_deletes(open_election) -> None:
    for statement in (
        "UPDATE voting_boardentry SET kind = 'result'",
        "DELETE FROM voting_boardentry",
        "UPDATE voting_ballot SET seq = 0",
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")
def test_the_database_refuses_truncate(open_election) -> None:
    """TRUNCATE skips row triggers: a statement-level trigger refuses it (voting migration
    0007), also when it comes by CASCADE from the elections table."""
    election = open_election.election
    entries = BoardEntryRow.objects.filter(election=election).count()
    ballots = Ballot.objects.filter(election=election).count()
    assert entries > 0
    for statement in (
        "TRUNCATE voting_boardentry CASCADE",
        "TRUNCATE voting_ballot CASCADE",
        "TRUNCATE voting_auditedalpha",
        "TRUNCATE voting_boardentry, voting_ballot RESTART IDENTITY CASCADE",
        "TRUNCATE voting_election CASCADE",
    ):
        with pytest.raises(
            Exception, match="TRUNCATE on voting_.* refused: the table is append-only"
        ):
            with transaction.atomic(), connection.cursor() as cursor:
                # the test's own inserts leave deferred foreign-key checks pending, and
                # PostgreSQL refuses any TRUNCATE while they are: run them first
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(statement)
    assert BoardEntryRow.objects.filter(election=election).count() == entries
    assert Ballot.objects.filter(election=election).count() == ballots


def test_a_fork_is_impossible(open_election) -> None:
    """Constraints refuse a second entry at the same seq or after the same prev."""
    head = BoardHead.objects.get(election=open_election.election)
    last = BoardEntryRow.objects.get(election=open_election.election, seq=head.seq)
    for seq, prev in ((head.seq, "f" * 64), (head.seq + 1, last.prev)):
        with pytest.raises(IntegrityError), transaction.atomic():
            BoardEntryRow.objects.create(
                election=open_election.election,
                seq=seq,
                kind="state",
                time=last.time,
                prev=prev,
                hash="e" * 64,
                line="{}",
            )


@pytest.mark.django_db(transaction=True)
def test_appends_need_a_transaction(open_election) -> None:
    with pytest.raises(RuntimeError):
        board_append(election_id=open_election.election.pk, kind="state", payload={})


def test_unknown_kinds_are_refused(open_election) -> None:
    with pytest.raises(ValueError), transaction.atomic():
        board_append(election_id=open_election.election.pk, kind="gossip", payload={})


def test_board_time_never_goes_backwards(open_election) -> None:
    future = "2999-01-01T00:00:00.000Z"
    BoardHead.objects.filter(election=open_election.election).update(time=future)
    with transaction.atomic():
        entry = board_append(election_id=open_election.election.pk, kind="state", payload={"x": 1})
    assert entry.time == future
    assert parse_json(entry.line)["time"] == future


def test_the_portable_ballot_append_matches_the_single_statement(
    client, monkeypatch, open_election_factory
) -> None:
    """Casting on another database than PostgreSQL takes three statements; same result."""
    from voting.services import casting

    monkeypatch.setattr(casting, "_single_statement", lambda: False)
    election = open_election_factory(voters=1)
    login(client, election.voters[0])
    first, second = election.ballot(0), election.ballot(0, [[0, 0, 0, 0, 1]])
    for ballot in (first, second):
        assert post_json(client, f"{election.url}/ballots/", ballot.to_json()).status_code == 201
    assert Ballot.objects.get(tracker=second.tracker()).supersedes.tracker == first.tracker()
    election.voters[0].voter.refresh_from_db()
    assert election.voters[0].voter.voted_at is not None
    assert list(
        verify_chain(
            BoardEntry.from_line(line) for line in export(client, election.election).splitlines()
        )
    )
