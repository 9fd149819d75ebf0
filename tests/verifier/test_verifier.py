"""pnyx-verify on synthetic boards: a valid election verifies with the expected totals; every
tampering is rejected with exit code 1 and a message naming the entry and the check."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crypto.board import BoardEntry
from crypto.group import Scalar, base_mul
from crypto.signatures import SigningKey
from crypto.threshold import decryption_sign
from tests.verifier.boardgen import SINGLE5, BoardBuilder, full_election, random_choices
from verifier.cli import main
from verifier.engine import verify_board
from verifier.source import BoardSource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def election():
    return full_election(
        voters=8,
        revotes=(0, 3),
        audits=1,
        weights=lambda i: 1 + (i % 3),
        bad_dealer=3,
        bad_trustee=3,
    )


def write(tmp_path, entries, name="board.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(e.to_line() for e in entries))
    return path


def rechain(entries: list[BoardEntry], start: int = 0) -> list[BoardEntry]:
    """Recompute seq/prev/hash from ``start`` on, as a forger rewriting the whole board would."""
    out = list(entries[:start])
    for e in entries[start:]:
        prev = out[-1].hash if out else e.prev
        out.append(
            BoardEntry.create(
                election=e.election,
                seq=len(out),
                kind=e.kind,
                time=e.time,
                prev=prev,
                payload=e.payload,
            )
        )
    return out


def with_payload(entries, index, mutate) -> list[BoardEntry]:
    entries = list(entries)
    e = entries[index]
    payload = copy.deepcopy(e.payload)
    mutate(payload)
    entries[index] = BoardEntry(e.election, e.seq, e.kind, e.time, e.prev, payload, e.hash)
    return rechain(entries, index)


def index_of(entries, kind, nth=0) -> int:
    return [i for i, e in enumerate(entries) if e.kind == kind][nth]


def run_cli(path: Path, *extra: str) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(path), "--jobs", "1", "--no-progress", *extra])
    return code, out.getvalue()


# --- the honest board -------------------------------------------------------------------------


def test_valid_election_verifies_with_expected_totals(election, tmp_path):
    path = write(tmp_path, election.entries)
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 0, report["failure"]
    assert report["verified"] and report["tally_verified"] and report["result_verified"]
    assert report["counted"] == 8 and report["superseded"] == 2
    assert report["qualified"] == [1, 2] and report["decryptions_rejected"] == [3]
    assert len(report["audits"]) == 1
    counts = [list(q["counts"].values()) for q in report["result"]["questions"]]
    assert counts == election.expected_counts() == election.counts


def test_corrected_decryptions_after_rejections_verify(tmp_path):
    """A trustee rejected (three times here) may send a corrected decryption (§12.4): it counts,
    signed like the others; a second valid one from the same trustee does not."""
    import random

    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(4)
    b.open()
    rng = random.Random(11)
    for v in range(4):
        b.cast(v, random_choices(b.manifest, rng))
    b.close_and_tally()
    b.decrypt((2,), bad=1, bad_times=3, retry=True)
    kinds = [x.kind for x in b.entries[index_of(b.entries, "tally") :]]
    assert kinds[2:] == [
        *["partial-decryption", "decryption-rejected"] * 3,
        "partial-decryption",
        "partial-decryption",
        "result",
        "state",
    ]
    code, out = run_cli(write(tmp_path, b.entries), "--json")
    report = json.loads(out)
    assert code == 0, report["failure"]
    assert report["decryptions_rejected"] == [1, 1, 1] and report["result"] is not None
    assert b.entries[-2].payload["trustees"] == [1, 2]
    assert [list(q["counts"].values()) for q in report["result"]["questions"]] == b.counts
    # a second valid decryption by trustee 1 (re-signed: its own) is refused by the verifier
    second = index_of(b.entries, "partial-decryption", 3)
    extra = BoardEntry(
        b.election, 0, "partial-decryption", b.entries[second].time, "", b.signed_decryption(1), ""
    )
    entries = rechain([*b.entries[: second + 1], extra, *b.entries[second + 1 :]], second + 1)
    code, out = run_cli(write(tmp_path, entries, "twice.jsonl"), "--json")
    failure = json.loads(out)["failure"]
    assert code == 1 and failure["check"] == "decryption" and "already" in failure["reason"]


@pytest.mark.parametrize("jobs", ["2"])
def test_parallel_jobs_give_the_same_verdict(election, tmp_path, jobs):
    path = write(tmp_path, election.entries)
    code, out = run_cli(path, "--json", "--jobs", jobs)
    assert code == 0 and json.loads(out)["result_verified"]


def test_console_script_and_module_run(election, tmp_path):
    path = write(tmp_path, election.entries)
    proc = subprocess.run(
        [sys.executable, "-m", "verifier", str(path), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VERIFIED" in proc.stdout and "Mayor" in proc.stdout
    script = Path(sys.executable).with_name("pnyx-verify")
    if script.exists():
        proc = subprocess.run(
            [str(script), str(path), "--no-progress"], capture_output=True, text=True, cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_usage_and_io_errors_exit_2(tmp_path):
    assert main([str(tmp_path / "missing.jsonl"), "--no-progress"]) == 2
    assert main([str(tmp_path / "x.jsonl"), "--since", "nothex"]) == 2
    assert main(["http://127.0.0.1:9/api/elections/x/board.jsonl", "--no-progress"]) == 2
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert main([str(tmp_path / "empty.jsonl"), "--no-progress"]) == 1


# --- tampering -------------------------------------------------------------------------------


def _flip_scalar(hex_value: str) -> str:
    return Scalar.reduce(int(hex_value, 16) + 1).to_hex()


def _other_point() -> str:
    return base_mul(Scalar.random()).to_hex()


def _ballot_tamper(field):
    def mutate(payload):
        field(payload["ballot"])

    return mutate


def _outsider_ballot(election):
    outsider = SigningKey(Scalar.random())
    ballot, _ = __import__("crypto.ballot", fromlist=["ballot_encrypt"]).ballot_encrypt(
        election.manifest.spec,
        outsider,
        random_choices(election.manifest, __import__("random").Random(1)),
    )
    return ballot


def mutations(election):
    e = election.entries
    b0 = index_of(e, "ballot", 0)
    b1 = index_of(e, "ballot", 1)
    tally = index_of(e, "tally")
    result = index_of(e, "result")
    manifest = index_of(e, "manifest")
    cres = index_of(e, "ceremony-result")
    creds = index_of(e, "credentials")
    audit = index_of(e, "audit")
    closed = next(i for i, x in enumerate(e) if x.kind == "state" and x.payload["to"] == "closed")
    partial_ok = index_of(e, "partial-decryption", 0)

    def challenge(b):
        proof = b["answers"][0]["choice_proofs"][0]
        proof["challenges"][0] = _flip_scalar(proof["challenges"][0])

    def ciphertext(b):
        b["answers"][0]["choices"][1]["beta"] = _other_point()

    def signature(b):
        b["signature"]["response"] = _flip_scalar(b["signature"]["response"])

    def sum_proof(b):
        b["answers"][0]["sum_proof"]["responses"][0] = _flip_scalar(
            b["answers"][0]["sum_proof"]["responses"][0]
        )

    def budget_bit(b):
        b["answers"][3]["budget_proof"]["bits"][0]["alpha"] = _other_point()

    def outsider(p):
        ballot = _outsider_ballot(election)
        p["ballot"], p["tracker"] = ballot.to_json(), ballot.tracker()

    def forged_manifest(p):
        p["manifest"]["questions"][0]["title"] = "Forged"
        from crypto.hashing import digest_json

        p["fingerprint"] = digest_json(p["manifest"])

    def count(p):
        p["counts"][0][0] += 1

    def funded(p):
        p["funded"][3] = list(reversed(p["funded"][3]))

    def tally_ct(p):
        p["ciphertexts"][0][0]["alpha"] = _other_point()

    def wrong_partial(p):
        d = p["decryption"]
        d["shares"][0] = _other_point()
        # signed by its trustee all the same: its own wrong decryption, not a forgery
        p["signature"] = decryption_sign(
            election.trustee_secrets[d["trustee"]], d, fingerprint=election.manifest.fingerprint
        )["signature"]

    def partial_signature(p):
        p["signature"]["response"] = _flip_scalar(p["signature"]["response"])

    def confirmation_signature(p):
        p["signature"]["response"] = _flip_scalar(p["signature"]["response"])

    def unsigned_confirmation(p):
        del p["signature"]

    bad_partial = next(
        i
        for i, x in enumerate(e)
        if x.kind == "partial-decryption" and x.payload["decryption"]["trustee"] == 3
    )

    def swapped_to_trustee_1(entries):
        """Trustee 3's invalid decryption published in trustee 1's name, with the rejection."""
        entries = list(entries)
        for i, j in ((bad_partial, 1), (bad_partial + 1, 1)):
            x = entries[i]
            payload = copy.deepcopy(x.payload)
            if x.kind == "partial-decryption":
                payload["decryption"]["trustee"] = j
            else:
                payload["trustee"] = j
            entries[i] = BoardEntry(x.election, x.seq, x.kind, x.time, x.prev, payload, x.hash)
        # trustee 1's own valid one goes, so that only the signature can tell
        del entries[partial_ok]
        return rechain(entries, partial_ok)

    def rejection_dropped(entries):
        return rechain(entries[: bad_partial + 1] + entries[bad_partial + 2 :], bad_partial + 1)

    def result_trustees(p):
        p["trustees"] = [1, 3]

    def ceremony_key(p):
        p["public_key"] = _other_point()

    def forged_deal(p):
        p["coefficients"][0] = _other_point()  # a polynomial posted in a trustee's name

    def weight(p):
        p["credentials"][0]["weight"] += 1

    def tracker(p):
        p["tracker"] = "0" * 64

    def audit_randomness(p):
        r = p["randomness"]["randomness"][0]["choices"]
        r[0] = _flip_scalar(r[0])

    def drop(entries):
        return entries[:b1] + entries[b1 + 1 :]

    def reorder(entries):
        entries = list(entries)
        entries[b0], entries[b1] = entries[b1], entries[b0]
        return entries

    def duplicate(entries):
        entries = list(entries)
        entries.insert(b1 + 1, entries[b1])
        return rechain(entries, b1 + 1)

    def after_result(entries):
        x, last = entries[b0], entries[-1]
        extra = list(entries) + [BoardEntry(x.election, 0, x.kind, last.time, "", x.payload, "")]
        return rechain(extra, len(entries))

    def ballot_after_close(entries):
        entries = list(entries)
        moved = entries.pop(b1)
        close = entries[closed - 1]  # lands right after the close entry, with a consistent time
        entries.insert(
            closed, BoardEntry(moved.election, 0, moved.kind, close.time, "", moved.payload, "")
        )
        return rechain(entries, b1)

    def time_backwards(entries):
        entries = list(entries)
        x = entries[b1]
        entries[b1] = BoardEntry(
            x.election, x.seq, x.kind, "2000-01-01T00:00:00.000Z", x.prev, x.payload, x.hash
        )
        return rechain(entries, b1)

    def edited_not_rechained(entries):
        entries = list(entries)
        x = entries[b1]
        entries[b1] = BoardEntry(
            x.election, x.seq, x.kind, x.time, x.prev, {**x.payload, "tracker": "f" * 64}, x.hash
        )
        return entries

    def rejected_valid(entries):
        entries = list(entries)
        entries.insert(partial_ok + 1, entries[partial_ok])
        x = entries[partial_ok + 1]
        entries[partial_ok + 1] = BoardEntry(
            x.election,
            x.seq,
            "decryption-rejected",
            x.time,
            x.prev,
            {"trustee": 1, "reason": "x"},
            x.hash,
        )
        return rechain(entries, partial_ok + 1)

    p = lambda i, f: lambda entries: with_payload(entries, i, f)  # noqa: E731
    return {
        "proof challenge": (p(b0, _ballot_tamper(challenge)), "ballot"),
        "ciphertext": (p(b0, _ballot_tamper(ciphertext)), "ballot"),
        "signature": (p(b1, _ballot_tamper(signature)), "ballot"),
        "sum proof": (p(b0, _ballot_tamper(sum_proof)), "ballot"),
        "budget bit": (p(b0, _ballot_tamper(budget_bit)), "ballot"),
        "credential not on the list": (p(b0, outsider), "credential"),
        "dropped entry": (drop, "sequence"),
        "reordered entries": (reorder, "sequence"),
        "duplicated ballot": (duplicate, "replay"),
        "changed count": (p(result, count), "result"),
        "changed funded projects": (p(result, funded), "result"),
        "changed encrypted tally": (p(tally, tally_ct), "tally"),
        "wrong partial decryption used": (p(partial_ok, wrong_partial), "decryption"),
        "result with a rejected trustee": (p(result, result_trustees), "result"),
        "forged manifest": (p(manifest, forged_manifest), "ballot"),
        "forged election key": (p(cres, ceremony_key), "ceremony"),
        "deal not signed by its dealer": (p(index_of(e, "dkg-deal", 0), forged_deal), "signature"),
        "extra field in a payload": (p(closed, lambda q: q.update(note="x")), "state"),
        "changed credential weight": (p(creds, weight), "credentials"),
        "entry added after the result": (after_result, "state"),
        "ballot after close": (ballot_after_close, "state"),
        "tracker mismatch": (p(b0, tracker), "tracker"),
        "audit randomness": (p(audit, audit_randomness), "audit"),
        "time goes backwards": (time_backwards, "time"),
        "edited without re-chaining": (edited_not_rechained, "chain"),
        "valid decryption marked rejected": (rejected_valid, "decryption"),
        "partial decryption signature altered": (p(partial_ok, partial_signature), "signature"),
        "decryption swapped to another trustee's name": (swapped_to_trustee_1, "signature"),
        "invalid decryption not rejected": (rejection_dropped, "decryption"),
        "confirmation signature altered": (
            p(index_of(e, "dkg-confirmation", 1), confirmation_signature),
            "signature",
        ),
        "confirmation without signature": (
            p(index_of(e, "dkg-confirmation", 0), unsigned_confirmation),
            "signature",
        ),
    }


def test_at_least_fifteen_distinct_mutations(election):
    assert len(mutations(election)) >= 15


@pytest.mark.parametrize(
    "name", sorted(mutations(full_election(voters=2, audits=1, bad_trustee=3)))
)
def test_tampering_is_rejected(election, tmp_path, name):
    mutate, expected_check = mutations(election)[name]
    path = write(tmp_path, mutate(election.entries))
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 1, f"{name}: not detected"
    failure = report["failure"]
    assert failure["check"] == expected_check or expected_check in failure["reason"], failure
    assert failure["seq"] is not None, failure  # names the entry
    code, human = run_cli(path)
    assert code == 1 and "VERIFICATION FAILED" in human and f"entry {failure['seq']}" in human


# --- incremental verification -------------------------------------------------------------------


def test_since_gives_the_same_verdict_as_a_full_run(tmp_path):
    import random

    rng = random.Random(3)
    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(6)
    b.open()
    for v in range(3):
        b.cast(v, random_choices(b.manifest, rng))
    first = write(tmp_path, b.entries, "first.jsonl")
    code, out = run_cli(first, "--json")
    head = json.loads(out)["head"]["hash"]
    assert code == 0
    for v in range(3, 6):
        b.cast(v, random_choices(b.manifest, rng))
    b.close_and_tally()
    b.decrypt((1, 3))
    grown = write(tmp_path, b.entries, "grown.jsonl")
    full = json.loads(run_cli(grown, "--json")[1])
    incremental = json.loads(run_cli(grown, "--json", "--since", head)[1])
    assert full["verified"] and incremental["verified"]
    assert full["result"] == incremental["result"]
    assert incremental["ballots_verified"] == 3 and full["ballots_verified"] == 6
    # an earlier entry altered after the head was verified: the chain to that head breaks
    tampered = list(b.entries)
    i = index_of(tampered, "ballot", 0)
    x = tampered[i]
    tampered[i] = BoardEntry(
        x.election, x.seq, x.kind, x.time, x.prev, {**x.payload, "tracker": "e" * 64}, x.hash
    )
    bad = write(tmp_path, tampered, "bad.jsonl")
    code, out = run_cli(bad, "--json", "--since", head)
    assert code == 1 and json.loads(out)["failure"]["check"] == "chain"
    # an unknown head is a failure, not a silent full pass
    code, out = run_cli(grown, "--json", "--since", "a" * 64)
    assert code == 1 and json.loads(out)["failure"]["check"] == "since"


def test_report_streams_without_keeping_ballots(election, tmp_path):
    path = write(tmp_path, election.entries)
    report, verifier = verify_board(BoardSource(str(path)), jobs=1)
    assert report.verified
    assert len(verifier.book.superseded) == 2 and not hasattr(verifier.book, "ballots")


def test_credential_list_in_several_parts(tmp_path, monkeypatch):
    """Big electorates are published in parts; a dropped or swapped part is caught."""
    import random

    import crypto.manifest

    monkeypatch.setattr(crypto.manifest, "CREDENTIALS_PER_ENTRY", 3)
    rng = random.Random(5)
    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(8)
    b.open()
    for v in range(8):
        b.cast(v, random_choices(b.manifest, rng))
    b.close_and_tally()
    b.decrypt((1, 2))
    parts = [i for i, e in enumerate(b.entries) if e.kind == "credentials"]
    assert len(parts) == 3
    code, out = run_cli(write(tmp_path, b.entries), "--json")
    assert code == 0 and json.loads(out)["credentials"] == 8, out
    dropped = rechain(b.entries[: parts[1]] + b.entries[parts[1] + 1 :], parts[1])
    code, out = run_cli(write(tmp_path, dropped, "dropped.jsonl"), "--json")
    failure = json.loads(out)["failure"]
    assert code == 1 and failure["check"] == "order" and "part 1" in failure["reason"], failure
    swapped = list(b.entries)
    swapped[parts[0]], swapped[parts[1]] = swapped[parts[1]], swapped[parts[0]]
    code, out = run_cli(write(tmp_path, rechain(swapped, parts[0]), "swapped.jsonl"), "--json")
    assert code == 1 and json.loads(out)["failure"]["check"] == "credentials"


def test_tracker_set_agrees_with_a_set_through_growth():
    import random

    from verifier.engine import TrackerSet

    rng = random.Random(5)
    trackers, reference = TrackerSet(4), set()
    keys = [rng.randbytes(16) for _ in range(3000)] + [bytes(16)]
    for key in keys + keys[::3]:  # every key, then a third of them again (replays)
        assert (key in trackers) == (key in reference)
        trackers.add(key)
        reference.add(key)
    assert len(trackers) == len(reference) == len(keys)
    assert all(key in trackers for key in keys)
    assert not any(rng.randbytes(16) in trackers for _ in range(1000))
    assert not trackers.insert(keys[7]) and not trackers.insert(bytes(16))
    assert trackers.insert(b"\x01" * 16) and b"\x01" * 16 in trackers
    assert len(trackers.table) // 16 >= 3 * len(keys) // 2  # grew, at most 2/3 full
    with pytest.raises(ValueError):
        trackers.add(b"short")
