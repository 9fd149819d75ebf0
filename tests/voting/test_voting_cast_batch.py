"""Casting in batches (voting/services/cast_batch.py, issue 11 "Casting at the proof-verification
limit"): the leader/follower batcher on its own, and 64+ clients casting at once through HTTP with
one bad ballot among them — every acknowledged ballot is on the board exactly once at its
receipt's position, and the bad one is refused alone with its own 4xx."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from crypto.ballot import Ballot as CryptoBallot
from crypto.board import BoardEntry, verify_chain
from crypto.signatures import sign
from tests.voting.factories import login, post_json
from voting.services import casting
from voting.services.cast_batch import LeaderFollowerBatcher

# --- The batcher on its own ------------------------------------------------------------------


def _run_threads(count: int, target) -> list:
    out: list = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            out[i] = ("ok", target(i))
        except Exception as exc:  # noqa: BLE001 - compared below
            out[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return out


def test_each_job_gets_its_own_outcome_and_nothing_before_the_batch_is_done() -> None:
    committed: set[int] = set()

    def process(jobs) -> None:
        time.sleep(0.005)  # others arrive meanwhile
        for job in jobs:
            if job.payload % 7 == 3:
                job.fail(ValueError(f"bad {job.payload}"))
            else:
                job.succeed(job.payload * 10)
        committed.update(job.payload for job in jobs)  # "commit": after the outcomes are set

    batcher = LeaderFollowerBatcher(process, max_batch=16, window=0.002)

    def submit(i: int) -> int:
        result = batcher.submit(i)
        assert i in committed  # answered only once its batch is done
        return result

    out = _run_threads(70, submit)
    for i, (status, value) in enumerate(out):
        if i % 7 == 3:
            assert status == "error" and str(value) == f"bad {i}"
        else:
            assert (status, value) == ("ok", i * 10)
    assert sum(batcher.sizes) == 70
    assert max(batcher.sizes) > 1  # they were batched
    assert max(batcher.sizes) <= 16  # never more than max_batch


def test_a_failing_batch_fails_each_of_its_jobs_and_the_next_one_still_runs() -> None:
    calls = []

    def process(jobs) -> None:
        calls.append(len(jobs))
        if len(calls) == 1:
            raise RuntimeError("database gone")
        for job in jobs:
            job.succeed("ok")

    batcher = LeaderFollowerBatcher(process, max_batch=1, window=0)
    with pytest.raises(RuntimeError, match="database gone"):
        batcher.submit(1)
    assert batcher.submit(2) == "ok"


def test_a_lone_job_waits_only_the_window() -> None:
    batcher = LeaderFollowerBatcher(lambda jobs: [j.succeed(1) for j in jobs], window=0.002)
    start = time.monotonic()
    assert batcher.submit(None) == 1
    assert time.monotonic() - start < 0.5
    assert list(batcher.sizes) == [1]


@pytest.mark.parametrize("max_batch,window", [(0, 0.001), (1, -1)])
def test_bad_parameters_are_refused(max_batch, window) -> None:
    with pytest.raises(ValueError):
        LeaderFollowerBatcher(lambda jobs: None, max_batch=max_batch, window=window)


# --- Casting through HTTP --------------------------------------------------------------------

CLIENTS = 64


def _cast_at_once(requests: list[tuple[Client, str, dict]]) -> list[tuple[int, dict]]:
    """POST each (logged-in client, election URL, ballot) from its own thread, all at once;
    (status, JSON) of each, in order."""
    connection.close()  # each thread opens its own

    def cast(i: int):
        client, url, body = requests[i]
        try:
            response = post_json(client, f"{url}/ballots/", body)
            return response.status_code, response.json()
        finally:
            connection.close()

    return [value for _, value in _run_threads(len(requests), cast)]


def _bad_proof(election, voter: int) -> dict:
    """A ballot whose signature is valid but one selection proof is another option's."""
    data = election.ballot(voter).to_json()
    answer = data["answers"][0]
    answer["choice_proofs"][0], answer["choice_proofs"][1] = (
        answer["choice_proofs"][1],
        answer["choice_proofs"][0],
    )
    unsigned = CryptoBallot.from_json(data)
    data["signature"] = sign(
        election.voters[voter].key, unsigned.content_digest(), context=unsigned.election
    ).to_json()
    return data


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="batched casting is PostgreSQL's path; concurrent writers need PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_64_clients_in_batches_one_bad_ballot_refused_alone(
    open_election_factory, settings, monkeypatch
) -> None:
    settings.PNYX_CAST_BATCH_WINDOW_MS = 20  # wide enough that batches form in a test run
    monkeypatch.setattr(casting, "_batcher", None)
    election = open_election_factory(voters=CLIENTS + 1)
    bodies = [election.ballot(i).to_json() for i in range(CLIENTS)]
    bad = CLIENTS // 2
    bodies[bad] = _bad_proof(election, bad)
    bodies.append(election.ballot(CLIENTS).to_json())
    clients = [login(Client(), voter) for voter in election.voters[: len(bodies)]]
    answers = _cast_at_once([(c, election.url, b) for c, b in zip(clients, bodies, strict=True)])
    assert answers[bad][0] == 400 and answers[bad][1]["error"]["code"] == "invalid_proof", answers[
        bad
    ]
    good = [a for i, a in enumerate(answers) if i != bad]
    assert all(status == 201 for status, _ in good), answers
    assert max(casting.cast_batcher().sizes) > 1  # ballots were verified and appended together

    response = Client().get(f"{election.url}/board.jsonl")
    entries = list(
        verify_chain(
            BoardEntry.from_line(line) for line in b"".join(response.streaming_content).splitlines()
        )
    )
    on_board = Counter(e.payload["tracker"] for e in entries if e.kind == "ballot")
    expected = [CryptoBallot.from_json(b).tracker() for i, b in enumerate(bodies) if i != bad]
    assert on_board == Counter(expected)  # each acknowledged ballot exactly once, the bad one never
    by_seq = {e.seq: e for e in entries}
    for _, receipt in good:
        entry = by_seq[receipt["seq"]]
        assert entry.hash == receipt["entry_hash"]
        assert entry.payload["tracker"] == receipt["tracker"]
    assert len({r["seq"] for _, r in good}) == len(good)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="batched casting is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_transaction_fails_acknowledges_nothing(
    open_election_factory, settings, monkeypatch
) -> None:
    """Two ballots in one batch; the transaction fails after the first was appended in it: both
    requests get the error, and neither ballot is on the board."""
    settings.PNYX_CAST_BATCH_MAX = 2
    settings.PNYX_CAST_BATCH_WINDOW_MS = 5000  # the leader waits for the second ballot
    monkeypatch.setattr(casting, "_batcher", None)
    election = open_election_factory(voters=2)
    clients = [login(Client(), voter) for voter in election.voters]
    bodies = [election.ballot(i).to_json() for i in range(2)]
    real_append = casting._append_ballot_statement
    calls = []

    def append_then_fail(**kwargs):
        calls.append(kwargs["tracker"])
        if len(calls) == 2:
            raise OSError("connection lost before the commit")
        return real_append(**kwargs)  # in the batch's transaction, not committed

    monkeypatch.setattr(casting, "_append_ballot_statement", append_then_fail)
    connection.close()

    def cast(i: int):
        try:
            return post_json(clients[i], f"{election.url}/ballots/", bodies[i]).status_code
        finally:
            connection.close()

    statuses = [value for _, value in _run_threads(2, cast)]
    assert statuses == [500, 500]
    assert list(casting.cast_batcher().sizes) == [2]
    response = Client().get(f"{election.url}/board.jsonl")
    lines = b"".join(response.streaming_content).splitlines()
    assert not [line for line in lines if json.loads(line)["kind"] == "ballot"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="batched casting is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_one_batch_of_two_elections(open_election_factory, settings, monkeypatch) -> None:
    """Ballots of two elections in one batch: each lands on its own board (the heads are locked
    in one order, election id, whatever the arrival order)."""
    settings.PNYX_CAST_BATCH_MAX = 6
    settings.PNYX_CAST_BATCH_WINDOW_MS = 5000  # the leader waits for all six
    monkeypatch.setattr(casting, "_batcher", None)
    elections = [open_election_factory(voters=3), open_election_factory(voters=3)]
    jobs = [(elections[i % 2], i // 2) for i in range(6)]  # alternating elections
    clients = [login(Client(), election.voters[v]) for election, v in jobs]
    bodies = [election.ballot(v).to_json() for election, v in jobs]
    answers = _cast_at_once(
        [(c, e.url, b) for c, (e, _), b in zip(clients, jobs, bodies, strict=True)]
    )
    assert all(status == 201 for status, _ in answers), answers
    assert list(casting.cast_batcher().sizes) == [6]
    for k, election in enumerate(elections):
        response = Client().get(f"{election.url}/board.jsonl")
        entries = list(
            verify_chain(
                BoardEntry.from_line(line)
                for line in b"".join(response.streaming_content).splitlines()
            )
        )
        trackers = {e.payload["tracker"] for e in entries if e.kind == "ballot"}
        assert trackers == {
            CryptoBallot.from_json(bodies[i]).tracker() for i in range(6) if i % 2 == k
        }
        for i in range(k, 6, 2):
            assert answers[i][1]["election"] == str(election.election.pk)
