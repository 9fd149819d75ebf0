"""The two speed paths of the worker (verifier/ballots.py): a bad proof hidden in a full batch
of ballots is still found and named, and ``--since`` reads the entries an earlier run verified
without decoding their proofs again, while the chain over them is still checked."""

from __future__ import annotations

import random

import pytest

from crypto.hashing import digest_json
from tests.verifier.boardgen import SINGLE5, BoardBuilder, random_choices
from tests.verifier.test_boundaries import verify
from tests.verifier.test_verifier import _flip_scalar, index_of, with_payload, write
from verifier import ballots as worker
from verifier.fastballot import BallotBatch

BALLOTS = 2 * worker.BALLOTS_PER_BATCH + 7  # three batches, the last one partial


@pytest.fixture(scope="module")
def board():
    rng = random.Random(9)
    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(BALLOTS)
    b.open()
    for v in range(BALLOTS):
        b.cast(v, random_choices(b.manifest, rng))
    b.close_and_tally()
    b.decrypt((1, 2))
    return b


@pytest.mark.parametrize("nth", [0, worker.BALLOTS_PER_BATCH + 3, BALLOTS - 1])
@pytest.mark.parametrize("jobs", [1, 2])
def test_one_bad_signature_in_a_full_batch_is_found_and_named(board, tmp_path, nth, jobs):
    """A response of the credential's signature changed (the tracker recomputed, the chain
    rewritten): every per-ballot check of the fast path passes, only the batch's sum fails; the
    verifier must still name that ballot and say why, as the reference code does."""
    i = index_of(board.entries, "ballot", nth)

    def mutate(payload):
        signature = payload["ballot"]["signature"]
        signature["response"] = _flip_scalar(signature["response"])
        payload["tracker"] = digest_json(payload["ballot"])

    path = write(tmp_path, with_payload(board.entries, i, mutate))
    report = verify(path, jobs=jobs)
    failure = report.failure
    assert failure is not None, "a bad signature inside a batch went unnoticed"
    assert (failure.seq, failure.kind, failure.check) == (board.entries[i].seq, "ballot", "ballot")
    assert "signature" in failure.reason, failure.reason


@pytest.mark.parametrize("jobs", [1, 2])
def test_since_decodes_only_the_new_ballots_but_checks_the_chain(
    board, tmp_path, monkeypatch, jobs
):
    entries = board.entries
    head = index_of(entries, "ballot", BALLOTS - 5)  # 4 ballots after it, then the tally
    path = write(tmp_path, entries)
    calls = {"prepare": 0, "known": 0}
    prepare, known = BallotBatch.prepare, BallotBatch.known

    def counting_prepare(self, *args):
        calls["prepare"] += 1
        return prepare(self, *args)

    def counting_known(self, *args):
        calls["known"] += 1
        return known(self, *args)

    monkeypatch.setattr(BallotBatch, "prepare", counting_prepare)
    monkeypatch.setattr(BallotBatch, "known", counting_known)
    full = verify(path, jobs=1)
    assert full.failure is None and calls == {"prepare": BALLOTS, "known": 0}
    calls.update(prepare=0, known=0)
    incremental = verify(path, jobs=1, since=entries[head].hash)
    assert incremental.failure is None, incremental.failure
    assert calls == {"prepare": 4, "known": BALLOTS - 4}
    assert incremental.ballots == BALLOTS and incremental.ballots_verified == 4
    assert (incremental.counted, incremental.tally_verified) == (full.counted, True)
    assert incremental.to_json()["result"] == full.to_json()["result"]
    # with workers (their calls are not counted here) the verdict is the same
    again = verify(path, jobs=jobs, since=entries[head].hash)
    assert again.failure is None and again.ballots_verified == 4

    # a ballot before the head changed in a way only its proofs would show: its ciphertext, the
    # tracker and every later hash recomputed — the chain to the head verified before breaks
    early = index_of(entries, "ballot", 2)

    def mutate(payload):
        ct = payload["ballot"]["answers"][0]["choices"][0]
        ct["alpha"], ct["beta"] = ct["beta"], ct["alpha"]
        payload["tracker"] = digest_json(payload["ballot"])

    forged = write(tmp_path, with_payload(entries, early, mutate), "forged.jsonl")
    report = verify(forged, jobs=jobs, since=entries[head].hash)
    assert report.failure is not None and report.failure.check in ("tally", "since"), report.failure
