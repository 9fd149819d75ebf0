"""PostgreSQL gone for a few seconds while voters cast (issue 10). Before issue 10 such an outage
answered 500 and wrote three tracebacks a request (7.2 MB of logs in 30 s). Now:

- the API answers ``503 service_unavailable`` with ``Retry-After``, in its JSON error envelope;
  a page for humans answers ``503`` with a short HTML page and ``Retry-After``;
- each failed request writes one log line, no traceback (asserted on the log's size);
- once PostgreSQL is back the same gunicorn workers reconnect by themselves: a voter whose client
  kept sending (as the booth does, frontend/src/ui/retry.mjs) gets its receipt, and every ballot
  acknowledged before, during or after the outage is on the board exactly once.

The machine's PostgreSQL is never stopped: gunicorn reaches it through a TCP proxy
(tests/faults/kit.py :class:`TcpProxy`) that the test cuts — every open connection closed, new
ones refused, as when PostgreSQL stops or fails over — and restores.
"""

from __future__ import annotations

import threading
import time

import pytest

from board.models import BoardEntry
from tests.faults.conftest import server_env, voting, wait_until
from tests.faults.kit import (
    Gunicorn,
    TcpProxy,
    database_url,
    http,
    running,
    send_until_answered,
)
from voting.models import Ballot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

OUTAGE_SECONDS = 3.0
#: an outage's log line is ≈ 150 bytes; a traceback is kilobytes
LOG_BYTES_PER_FAILURE = 400


def test_a_database_outage_answers_503_logs_one_line_each_and_casting_resumes(
    tmp_path, open_election_factory
) -> None:
    election = open_election_factory(voters=4)
    model = election.election
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    env = server_env(DATABASE_URL=database_url(port=proxy.port), PNYX_RETRY_AFTER_SECONDS="2")
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    voters = [voting(election, i) for i in range(4)]
    bodies = [voter.ballot_body() for voter in voters]
    with running(server, proxy):
        server.start()
        base = server.url

        def send(i: int):
            return http(
                "POST", voters[i].ballots_url(base), bodies[i][0], headers=voters[i].headers
            )

        assert send(0).status == 201  # before the outage

        log_before = server.log.stat().st_size
        proxy.cut()
        failures = []
        for _ in range(3):
            answer = send(1)
            assert answer.status == 503, answer.body
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.code == "service_unavailable"
            assert answer.headers["retry-after"] == "2"
            failures.append(answer)
        for path in (f"/e/{model.slug}/", f"/e/{model.slug}/board"):
            page = http("GET", f"{base}{path}", headers={"Accept": "text/html"})
            assert page.status == 503, page.body
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["retry-after"] == "2"
            assert b"<html" in page.body.lower() and b"database" in page.body
            failures.append(page)

        # A voter's client sending during the outage, as the booth does, until it has an answer.
        outcome = {}

        def send_stamped():
            answer = send(2)
            outcome["answered_at"] = time.monotonic()
            return answer

        def keep_sending() -> None:
            outcome["delivery"] = send_until_answered(send_stamped, attempts=20, cap=1.0)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        wait_until(
            lambda: server.output().count("database unavailable") >= len(failures) + 1,
            timeout=20,
            what="the voter's first try refused",
        )
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - proxy.cut_at)))
        refused_lines = server.output()[log_before:].count("\n")  # every line so far
        log_during = server.log.stat().st_size - log_before
        proxy.restore()
        restored_at = time.monotonic()
        sender.join(timeout=40)

        delivery = outcome["delivery"]
        assert delivery.answer is not None and delivery.answer.status == 201, delivery
        assert delivery.tries and all(t == "503" for t in delivery.tries), delivery.tries
        healed = outcome["answered_at"] - restored_at
        # the voter refused before sends the same ballot again, now accepted
        again = send(1)
        assert again.status == 201, again.body
        assert send(3).status == 201
        output = server.output()

    refusals = len(failures) + len(delivery.tries)
    new_output = output[log_before:]
    assert "Traceback" not in new_output
    assert new_output.count("database unavailable") == refusals, new_output[-3000:]
    assert refused_lines <= refusals + 2, new_output[-3000:]  # + gunicorn's own notes, if any
    assert log_during <= refusals * LOG_BYTES_PER_FAILURE, (log_during, new_output[-3000:])
    print(
        f"\nHEAL PostgreSQL cut {OUTAGE_SECONDS:.0f} s: the next cast accepted {healed:.1f} s "
        f"after the restore; {refusals} requests refused, {log_during} bytes of log"
    )
    # nothing lost, nothing twice
    trackers = [tracker for _, tracker in bodies]
    on_board = list(
        BoardEntry.objects.filter(election=model, kind="ballot").values_list("tracker", flat=True)
    )
    assert sorted(on_board) == sorted(trackers)
    assert Ballot.objects.filter(election=model).count() == 4
