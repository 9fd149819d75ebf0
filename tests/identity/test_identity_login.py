"""Voter login by one-time e-mail code: the flow, expiry, single use, attempt and rate limits,
and answers that never tell whether someone is on the roll."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from config.celery import app as celery_app
from identity.models import LoginCode
from tests.voting.factories import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_tasks(monkeypatch):
    """Run the e-mail task in the request's process (the worker path is tested elsewhere)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)


@pytest.fixture
def election(open_election):
    return open_election


def ask(client, election, captured, **who):
    with captured(execute=True):
        return post_json(client, f"{election.url}/login/", who)


def verify(client, election, code, **who):
    return post_json(client, f"{election.url}/login/verify/", {**who, "code": code})


def last_code() -> str:
    return re.search(r"\n    (\d{8})\n", mail.outbox[-1].body).group(1)


def test_login_flow(client, election, django_capture_on_commit_callbacks) -> None:
    me = client.get(f"{election.url}/me/").json()
    assert me == {"election": str(election.election.pk), "authenticated": False, "voted": None}

    response = ask(client, election, django_capture_on_commit_callbacks, email="VOTER0@example.org")
    assert response.status_code == 202
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["voter0@example.org"]
    code = last_code()
    stored = LoginCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64

    session = client.session  # an existing (anonymous) session must not survive the login
    session.save()
    client.cookies["sessionid"] = session_before = session.session_key
    response = verify(client, election, f"{code[:4]} {code[4:]}", email="voter0@example.org")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "election": str(election.election.pk),
        "authenticated": True,
        "voted": False,
    }
    assert client.cookies["sessionid"].value != session_before  # a new session at login
    assert client.get(f"{election.url}/me/").json()["authenticated"] is True

    assert post_json(client, f"{election.url}/logout/", {}).status_code == 204
    assert client.get(f"{election.url}/me/").json()["authenticated"] is False


def test_login_by_identifier(client, election, django_capture_on_commit_callbacks) -> None:
    ask(client, election, django_capture_on_commit_callbacks, identifier="voter1")
    response = verify(client, election, last_code(), identifier="voter1")
    assert response.status_code == 200


def test_unknown_voters_get_the_same_answer(
    client, election, django_capture_on_commit_callbacks
) -> None:
    known = ask(client, election, django_capture_on_commit_callbacks, email="voter0@example.org")
    unknown = ask(client, election, django_capture_on_commit_callbacks, email="nobody@example.org")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert len(mail.outbox) == 1
    wrong = verify(client, election, "12345678", email="voter0@example.org")
    nobody = verify(client, election, "12345678", email="nobody@example.org")
    assert (wrong.status_code, wrong.json()) == (nobody.status_code, nobody.json())
    assert wrong.json()["error"]["code"] == "invalid_login_code"


def test_exactly_one_of_identifier_and_email(client, election) -> None:
    for body in ({}, {"identifier": "voter0", "email": "voter0@example.org"}):
        response = post_json(client, f"{election.url}/login/", body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


def test_codes_are_single_use(client, election, django_capture_on_commit_callbacks) -> None:
    ask(client, election, django_capture_on_commit_callbacks, email="voter0@example.org")
    code = last_code()
    assert verify(client, election, code, email="voter0@example.org").status_code == 200
    again = verify(client, election, code, email="voter0@example.org")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_login_code"


def test_codes_expire(client, election, django_capture_on_commit_callbacks) -> None:
    ask(client, election, django_capture_on_commit_callbacks, email="voter0@example.org")
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = verify(client, election, last_code(), email="voter0@example.org")
    assert response.json()["error"]["code"] == "invalid_login_code"


def test_a_code_survives_only_a_few_wrong_guesses(
    client, election, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PNYX_LOGIN_CODE_MAX_ATTEMPTS = 3
    ask(client, election, django_capture_on_commit_callbacks, email="voter0@example.org")
    code = last_code()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(3):
        assert verify(client, election, wrong, email="voter0@example.org").status_code == 400
    assert verify(client, election, code, email="voter0@example.org").status_code == 400


def test_codes_per_voter_are_limited_silently(
    client, election, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR = 2
    answers = {
        ask(
            client, election, django_capture_on_commit_callbacks, email="voter0@example.org"
        ).status_code
        for _ in range(4)
    }
    assert answers == {202}
    assert len(mail.outbox) == 2


def test_requests_per_address_are_rate_limited(
    client, election, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR = 3
    for _ in range(3):
        assert (
            ask(client, election, django_capture_on_commit_callbacks, identifier="x").status_code
            == 202
        )
    limited = ask(client, election, django_capture_on_commit_callbacks, identifier="x")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    with django_capture_on_commit_callbacks(execute=True):
        other = post_json(
            client, f"{election.url}/login/", {"identifier": "x"}, REMOTE_ADDR="10.0.0.2"
        )
    assert other.status_code == 202


def test_guesses_per_address_are_rate_limited(client, election, settings) -> None:
    settings.PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR = 2
    for _ in range(2):
        assert verify(client, election, "00000000", identifier="voter0").status_code == 400
    assert verify(client, election, "00000000", identifier="voter0").status_code == 429


def test_a_session_is_for_one_election(
    client, open_election_factory, django_capture_on_commit_callbacks
) -> None:
    first, second = open_election_factory(), open_election_factory()
    ask(client, first, django_capture_on_commit_callbacks, identifier="voter0")
    assert verify(client, first, last_code(), identifier="voter0").status_code == 200
    assert client.get(f"{second.url}/me/").json()["authenticated"] is False
    # The same identifier on another election's roll is another voter with its own codes.
    assert verify(client, second, last_code(), identifier="voter0").status_code == 400
