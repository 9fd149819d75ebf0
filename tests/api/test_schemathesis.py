"""Schemathesis over /api/schema/: generated requests, valid and invalid, to every documented
operation, with a real election and a logged-in voter; the run fails on any 5xx and on any
response that the document does not describe (status, content type, body schema).

Bounded and deterministic: ``EXAMPLES_PER_OPERATION`` examples per operation and generation
mode (positive: conforming to the document; negative: violating it), Hypothesis derandomized,
no example database. The application is called in process through WSGI (no socket), inside
the test's transaction: nothing persists.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.core import signals
from django.db import close_old_connections
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from identity.sessions import SESSION_KEY
from tests.voting.factories import build_election

EXAMPLES_PER_OPERATION = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: requests made and answers seen, by operation and status (printed at the end of the run)
CALLS: Counter[tuple[str, int]] = Counter()


def _load_schema():
    """The document as the app serves it (WSGI, in process), loaded at collection."""
    from config.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    loaded.config.generation.update(
        modes=["positive", "negative"],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
        database="none",
        with_security_parameters=False,  # the test sends a real session and CSRF token
    )
    return loaded


schema = _load_schema()


@pytest.fixture(scope="module")
def election(django_db_setup, django_db_blocker):
    """An open election (2-of-3 trustees, two voters with credentials), for every operation:
    created once, in a transaction rolled back at the end of the module."""
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_election(voters=2)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def in_process_app(election, db):
    """The app runs inside the test's transaction: Django must not close the connection at the
    start and end of each request (its own test client does the same)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield election
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def voter_session(election) -> str:
    """A fresh voter session (each case may log out or rotate its own)."""
    store = SessionStore()
    store[SESSION_KEY] = {str(election.election.pk): election.voters[0].voter.pk}
    store.save()
    return store.session_key


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_and_never_fails(case, in_process_app) -> None:
    election = in_process_app
    if "election_id" in case.path_parameters:
        case.path_parameters["election_id"] = str(election.election.pk)
    csrf = get_random_string(32, CSRF_ALLOWED_CHARS)
    response = case.call(
        headers={"X-CSRFToken": csrf},
        cookies={django_settings.SESSION_COOKIE_NAME: voter_session(election), "csrftoken": csrf},
    )
    CALLS[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)


@pytest.fixture(scope="module", autouse=True)
def _report():
    """Quiet Django's log line for every 4xx (5xx stay logged) and print the run's numbers."""
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)
    started = time.perf_counter()
    yield
    request_log.setLevel(level)
    if CALLS:
        operations = {label for label, _ in CALLS}
        print(
            f"\nschemathesis: {sum(CALLS.values())} requests over {len(operations)} operations "
            f"in {time.perf_counter() - started:.1f} s; statuses: "
            + ", ".join(
                f"{s}×{n}" for s, n in sorted(Counter(s for (_, s) in CALLS.elements()).items())
            )
        )
