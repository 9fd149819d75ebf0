"""Redis restarted while voters log in (issue 10): a login answers ``503 login_code_unavailable``
with ``Retry-After`` at once (before issue 10 each one held its sync worker ≈ 19.5 s, and four of
them stopped casting for ≈ 15 s); casting goes on meanwhile (it sends no task); once Redis is back
the same gunicorn and the same Celery worker send login codes again — nobody restarts anything.

Real processes: ``gunicorn config.wsgi`` (two sync workers) and a ``celery worker`` on a private
``redis-server`` (tests/tally/faults.py) that the test kills and starts again; the login codes
arrive as files (tests/faults/process_settings.py), where the voter reads them.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from board.models import BoardEntry
from tests.faults.conftest import Voting, voting, wait_until
from tests.faults.kit import Answer, Gunicorn, csrf_token, http, running, voter_headers
from tests.tally.faults import fault_env, private_broker, server_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

#: what "fast" means on a loaded 2-core machine: the broker refuses at once when Redis is down
LOGIN_ANSWER_BOUND = 2.0
CONCURRENT_LOGINS = 4
CODE = re.compile(r"^\s+(\d{8})\s*$", re.MULTILINE)


def login_request(base: str, election, identifier: str) -> Answer:
    csrf = csrf_token()
    return http(
        "POST",
        f"{base}/api/elections/{election.pk}/login/",
        json.dumps({"identifier": identifier}),
        headers={
            "Content-Type": "application/json",
            "Cookie": f"csrftoken={csrf}",
            "X-CSRFToken": csrf,
        },
        timeout=30,
    )


def login_code(mail: Path, address: str) -> str | None:
    """The latest login code e-mailed to ``address`` (the file backend: one file a connection)."""
    for path in sorted(mail.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        text = path.read_text(errors="replace")
        if f"To: {address}" in text and (match := CODE.search(text)):
            return match.group(1)
    return None


def cast(base: str, voter: Voting) -> Answer:
    body, _ = voter.ballot_body()
    return http("POST", voter.ballots_url(base), body, headers=voter.headers, timeout=30)


def test_a_redis_restart_during_logins_answers_503_fast_keeps_casting_and_heals(
    tmp_path, open_election_factory
) -> None:
    election = open_election_factory(voters=6)
    model = election.election
    mail = tmp_path / "mail"
    mail.mkdir()
    with private_broker(tmp_path / "redis") as broker:
        extra = {
            "DJANGO_SETTINGS_MODULE": "tests.faults.process_settings",
            "PNYX_TEST_MAIL_DIR": str(mail),
        }
        worker = server_worker(tmp_path, broker, "worker", beat=False, **extra)
        server = Gunicorn(fault_env(broker, **extra), tmp_path / "gunicorn.log", workers=2)
        with running(server, worker):
            worker.wait_ready()
            server.start()
            base = server.url

            # Before: a login request is queued (202) and the code arrives.
            first = login_request(base, model, "voter0")
            assert first.status == 202, first.body
            wait_until(
                lambda: login_code(mail, "voter0@example.org"),
                timeout=30,
                what="the first login code e-mailed",
            )

            broker.kill()  # Redis is down: every queued message is gone with it
            casters = [voting(election, i) for i in (1, 2)]
            logins: list[Answer] = []
            casts: list[Answer] = []

            def log_in(identifier: str) -> None:
                logins.append(login_request(base, model, identifier))

            threads = [
                threading.Thread(target=log_in, args=(f"voter{3 + 2 * (i % 2)}",))
                for i in range(CONCURRENT_LOGINS)
            ]
            for thread in threads:
                thread.start()
            # while the logins are refused, voters already logged in cast
            for voter in casters:
                casts.append(cast(base, voter))
            for thread in threads:
                thread.join(timeout=30)

            assert len(logins) == CONCURRENT_LOGINS
            for answer in logins:
                assert answer.status == 503, answer.body
                assert answer.code == "login_code_unavailable"
                assert answer.headers["retry-after"].isdigit()
                assert answer.seconds < LOGIN_ANSWER_BOUND, answer.seconds
            for answer in casts:
                assert answer.status == 201, answer.body
                assert answer.seconds < LOGIN_ANSWER_BOUND, answer.seconds

            # Redis comes back (empty). Nobody touches gunicorn or the worker.
            broker.start()
            tries: list[Answer] = []

            def log_in_again() -> Answer | None:
                tries.append(login_request(base, model, "voter4"))
                return tries[-1] if tries[-1].status == 202 else None

            again = wait_until(
                log_in_again,
                timeout=30,
                every=0.5,
                what="a login request queued again after the restart",
            )
            assert again.seconds < LOGIN_ANSWER_BOUND, again.seconds
            retried = [a for a in tries if a.status == 503]
            assert len(retried) == len(tries) - 1, [a.status for a in tries]
            code = wait_until(
                lambda: login_code(mail, "voter4@example.org"),
                timeout=45,
                every=0.2,
                what="the worker, reconnected, e-mailing the code",
            )
            csrf = csrf_token()
            verified = http(
                "POST",
                f"{base}/api/elections/{model.pk}/login/verify/",
                json.dumps({"identifier": "voter4", "code": code}),
                headers={
                    "Content-Type": "application/json",
                    "Cookie": f"csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                },
            )
            assert verified.status == 200, verified.body
            assert verified.json()["authenticated"] is True
            voter4 = Voting(
                election, election.voters[4], voter_headers(verified.cookies["sessionid"], csrf)
            )
            after = cast(base, voter4)
            assert after.status == 201, after.body

        server_log = server.output()
    # one warning line per refused login (the broker's), no second line for the 503, no traceback
    assert "Traceback" not in server_log
    refused = server_log.count("broker unavailable: identity.tasks.login_code_send not sent")
    assert refused == CONCURRENT_LOGINS + len(retried), server_log[-3000:]
    assert "Service Unavailable" not in server_log
    ballots = BoardEntry.objects.filter(election=model, kind="ballot")
    assert ballots.count() == 3
