"""Fixtures of the fault tests: real gunicorn (and Celery worker) processes against the test
database, a private Redis, a cuttable proxy in front of PostgreSQL (tests/faults/kit.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from django.test import Client

from tests.faults.kit import csrf_token, database_url, voter_headers
from tests.tally.helpers import worker_env
from tests.voting.factories import (  # noqa: F401
    OpenElection,
    RollVoter,
    login,
    open_election,
    open_election_factory,
)


def server_env(**extra: str) -> dict:
    """The environment of a server process of this test: the test database, the test broker (or
    ``extra``'s), tests/faults/process_settings.py, logs at INFO."""
    return worker_env(DJANGO_SETTINGS_MODULE="tests.faults.process_settings", **extra)


@dataclass
class Voting:
    """A voter ready to cast through HTTP: a session made as a login makes it, a CSRF token."""

    election: OpenElection
    voter: RollVoter
    headers: dict[str, str]

    def ballots_url(self, base: str) -> str:
        return f"{base}{self.election.url}/ballots/"

    def ballot_body(self, choices=None) -> tuple[str, str]:
        """A fresh ballot of this voter: (its JSON, its tracker)."""
        ballot = self.election.ballot(self.voter, choices)
        return json.dumps(ballot.to_json()), ballot.tracker()


def voting(election: OpenElection, index: int = 0) -> Voting:
    voter = election.voters[index]
    session = login(Client(), voter).cookies["sessionid"].value
    return Voting(election, voter, voter_headers(session, csrf_token()))


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def direct_database_url() -> str:
    return database_url()
