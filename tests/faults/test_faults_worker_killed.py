"""A gunicorn worker killed in the middle of a cast (issue 10): the voter's client sends the same
ballot again and ends with a receipt, and the board holds the ballot exactly once.

The kill is made deterministic: the test holds the board head's row lock, so the worker's append
statement (``pnyx_append_ballot``, its own transaction) waits for it inside PostgreSQL; the test
SIGKILLs the worker while it waits, then lets the lock go. PostgreSQL has the whole statement and
finishes it — the ballot is committed by a worker that no longer exists, and its 201 is lost:
exactly the case of a worker dying after the commit. Before issue 10 the client's retry got
``409 duplicate_ballot`` and never a receipt; now it gets ``200`` with that entry's receipt.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from board.models import BoardEntry
from tests.faults.conftest import server_env, voting, wait_until
from tests.faults.kit import Gunicorn, NoAnswer, http, running, send_until_answered
from voting.models import Ballot
from voting.receipts import receipt_signature_valid

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

WAITING_APPEND = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND query LIKE '%%pnyx_append_ballot%%'"
)


def test_a_worker_killed_mid_cast_loses_nothing_and_the_retry_gets_the_receipt(
    tmp_path, open_election_factory, direct_database_url
) -> None:
    election = open_election_factory(voters=2)
    voter = voting(election)
    body, tracker = voter.ballot_body()
    server = Gunicorn(server_env(), tmp_path / "gunicorn.log", workers=1).start()
    with running(server), psycopg.connect(direct_database_url) as holder:
        url = voter.ballots_url(server.url)
        # Another voter's ballot goes through first: the server works.
        other = voting(election, 1)
        first_body, _ = other.ballot_body()
        assert http("POST", url, first_body, headers=other.headers).status == 201

        holder.execute(
            "SELECT 1 FROM voting_boardhead WHERE election_id = %s FOR UPDATE",
            [election.election.pk],
        )
        outcome: dict = {}

        def first_send() -> None:
            try:
                outcome["answer"] = http("POST", url, body, headers=voter.headers)
            except NoAnswer as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=first_send)
        sender.start()
        with psycopg.connect(direct_database_url, autocommit=True) as watcher:
            wait_until(
                lambda: watcher.execute(WAITING_APPEND).fetchone(),
                timeout=20,
                what="the worker's append waiting for the board lock",
            )
        (victim,) = server.worker_pids()
        server.kill_worker(victim)
        sender.join(timeout=30)
        assert "error" in outcome, outcome  # the voter's browser got no answer
        holder.rollback()  # the lock goes; PostgreSQL finishes the dead worker's statement

        wait_until(
            lambda: BoardEntry.objects.filter(election=election.election, tracker=tracker).exists(),
            timeout=10,
            what="the dead worker's ballot committed",
        )
        # The voter's client sends the same ballot again (the master has started a new worker).
        delivery = send_until_answered(lambda: http("POST", url, body, headers=voter.headers))

    answer = delivery.answer
    assert answer is not None and answer.status == 200, (delivery, server.output()[-3000:])
    receipt = answer.json()
    entry = BoardEntry.objects.get(election=election.election, tracker=tracker)
    assert (receipt["seq"], receipt["entry_hash"], receipt["tracker"]) == (
        entry.seq,
        entry.hash,
        tracker,
    )
    assert receipt_signature_valid(receipt)
    assert Ballot.objects.filter(election=election.election, tracker=tracker).count() == 1
    assert Ballot.objects.filter(election=election.election).count() == 2
    assert server.worker_pids() != [victim]
    assert "Traceback" not in server.output()
