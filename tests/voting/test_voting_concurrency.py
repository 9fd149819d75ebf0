"""Many clients casting at once: the chain never forks or gaps, every acknowledged ballot is on
the board exactly once. Real PostgreSQL transactions: each thread has its own connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from crypto.board import BoardEntry, verify_chain
from tests.voting.factories import login, post_json
from voting.models import Ballot

CLIENTS = 60


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need PostgreSQL (SQLite's in-memory test database locks tables)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_casting_keeps_one_chain(open_election_factory) -> None:
    election = open_election_factory(voters=CLIENTS)
    ballots = [election.ballot(i) for i in range(CLIENTS)]
    # A few voters also revote concurrently with a second, different ballot.
    ballots += [election.ballot(i, [[0, 0, 0, 0, 1]]) for i in range(5)]
    voters = [*range(CLIENTS), *range(5)]
    barrier = threading.Barrier(len(ballots))
    answers: list = [None] * len(ballots)

    def cast(i: int) -> None:
        try:
            client = login(Client(), election.voters[voters[i]])
            barrier.wait(timeout=60)
            response = post_json(client, f"{election.url}/ballots/", ballots[i].to_json())
            answers[i] = (response.status_code, response.json())
        except Exception as exc:  # reported below, with the others
            answers[i] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(i,)) for i in range(len(ballots))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(answer and answer[0] == 201 for answer in answers), answers
    receipts = [answer[1] for answer in answers]

    response = Client().get(f"{election.url}/board.jsonl")
    entries = list(
        verify_chain(
            BoardEntry.from_line(line) for line in b"".join(response.streaming_content).splitlines()
        )
    )
    on_board = Counter(e.payload["tracker"] for e in entries if e.kind == "ballot")
    assert on_board == Counter(b.tracker() for b in ballots)  # each exactly once
    by_seq = {e.seq: e for e in entries}
    for receipt in receipts:
        entry = by_seq[receipt["seq"]]
        assert entry.hash == receipt["entry_hash"]
        assert entry.payload["tracker"] == receipt["tracker"]
    assert len({r["seq"] for r in receipts}) == len(receipts)
    # Each revoting credential has exactly one counted ballot, the later one on the board.
    counted = Ballot.objects.filter(election=election.election, superseded_by__isnull=True)
    assert counted.count() == CLIENTS
