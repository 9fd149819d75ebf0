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
from identity.services.login import login_code_send
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


def test_the_code_is_emailed_in_the_language_of_the_page(
    client, election, django_capture_on_commit_callbacks
) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    ask(client, election, django_capture_on_commit_callbacks, identifier="voter1")
    message = mail.outbox[-1]
    assert message.subject == f"Su código de acceso: {election.election.title}"
    assert message.body.startswith("Hola:\n")
    assert f"Su código para iniciar sesión en «{election.election.title}» es:" in message.body
    assert "Es válido durante" in message.body and "valid for" not in message.body
    assert verify(client, election, last_code(), identifier="voter1").status_code == 200


def test_a_language_pnyx_does_not_offer_gives_the_default(election) -> None:
    for language in ("xx", "", None, "../fr"):
        assert login_code_send(
            election_id=election.election.pk, identifier="voter1", email=None, language=language
        )
        assert mail.outbox[-1].subject.startswith("Your login code: ")


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


# --- The same work for anyone; per-election limits; IPv6 clients by /64 -------------------------


def _shape(queries) -> list[str]:
    """The statements run, with every literal (ids, hashes, times, savepoint names) blanked."""
    out = []
    for query in queries:
        sql = re.sub(r"'(?:[^']|'')*'", "?", query["sql"])
        sql = re.sub(r'"s\d+_x\d+"', "?", sql)
        out.append(re.sub(r"\b\d+\b", "?", sql))
    return out


def check_from(client, election, address: str, **who):
    """A code check (always wrong) sent from ``address``."""
    body = {**who, "code": "00000000"}
    return post_json(client, f"{election.url}/login/verify/", body, REMOTE_ADDR=address)


def test_a_check_does_the_same_work_for_anyone(
    client, election, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """A failed check must take as long for an address on the roll as for one that is not (it
    took 17.5 ms against 12.7 ms: the known voter's codes were locked and counted, the unknown
    one's not). The argument, enforced here: a check's duration depends only on what it does;
    every failed check runs the same statements and computes one keyed hash, whoever it names;
    the rows those statements find are the voter's live codes, none unless someone asked for
    one, which e-mails the real voter (the docstring of login_code_verify bounds the rest)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import identity.services.login as login

    ask(client, election, django_capture_on_commit_callbacks, email="voter1@example.org")
    assert LoginCode.objects.filter(voter__email="voter1@example.org").count() == 1
    hashes = []
    counted = login.salted_hmac
    monkeypatch.setattr(login, "salted_hmac", lambda *a, **k: hashes.append(a) or counted(*a, **k))
    cases = {
        "warm-up": ({"email": "nobody@example.org"}, "12345678"),  # the rate-limit rows exist
        "not on the roll": ({"email": "nobody@example.org"}, "12345678"),
        "on the roll, no code asked": ({"email": "voter0@example.org"}, "12345678"),
        "on the roll, a wrong code": ({"email": "voter1@example.org"}, "12345678"),
        "on the roll, not 8 digits": ({"email": "voter1@example.org"}, "12ab"),
        "unknown identifier": ({"identifier": "nobody"}, "12345678"),
        "identifier on the roll, a wrong code": ({"identifier": "voter1"}, "87654321"),
    }
    shapes = {}
    for name, (who, code) in cases.items():
        hashes.clear()
        with CaptureQueriesContext(connection) as queries:
            response = verify(client, election, code, **who)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_login_code"
        assert len(hashes) == 1, name  # one keyed hash of the code, whoever it names
        shapes[name] = _shape(queries.captured_queries)
    # by e-mail address, then by identifier (the voter is looked up by one column or the other)
    reference = shapes["not on the roll"]
    by_email = [n for n, (who, _) in cases.items() if "email" in who and n != "warm-up"]
    assert all(shapes[name] == reference for name in by_email), shapes
    assert shapes["unknown identifier"] == shapes["identifier on the roll, a wrong code"]
    statements = " ".join(reference)
    assert "FOR UPDATE" in statements and 'UPDATE "identity_logincode"' in statements
    # the wrong guesses were counted on voter1's code (the work was real, not skipped)
    assert LoginCode.objects.get(voter__email="voter1@example.org").attempts == 2


def test_a_request_does_the_same_work_for_anyone(
    client, election, django_capture_on_commit_callbacks
) -> None:
    """The request endpoint does nothing voter-specific: the Celery task looks the voter up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_json(client, f"{election.url}/login/", {"email": "warm@example.org"})
    shapes = []
    for who in ({"email": "voter0@example.org"}, {"email": "nobody@example.org"}):
        with CaptureQueriesContext(connection) as queries:
            assert post_json(client, f"{election.url}/login/", who).status_code == 202
        shapes.append(_shape(queries.captured_queries))
    assert shapes[0] == shapes[1]


def test_checks_per_election_are_limited_whatever_the_address(
    client, open_election_factory, settings
) -> None:
    """Many addresses together may guess only so often in one election; others are unaffected."""
    settings.PNYX_LOGIN_VERIFY_PER_ELECTION = 3
    first, second = open_election_factory(), open_election_factory()
    for i in range(3):
        assert check_from(client, first, f"10.1.0.{i}", identifier="voter0").status_code == 400
    limited = check_from(client, first, "10.1.0.9", identifier="voter0")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert check_from(client, second, "10.1.0.9", identifier="voter0").status_code == 400


def test_requests_per_election_are_limited_whatever_the_address(
    client, open_election_factory, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PNYX_LOGIN_REQUESTS_PER_ELECTION = 2
    first, second = open_election_factory(), open_election_factory()

    def request(election, address):
        with django_capture_on_commit_callbacks(execute=True):
            return post_json(
                client, f"{election.url}/login/", {"identifier": "voter0"}, REMOTE_ADDR=address
            )

    assert [request(first, f"10.2.0.{i}").status_code for i in range(3)] == [202, 202, 429]
    assert len(mail.outbox) == 2  # the refused request sent nothing
    assert request(second, "10.2.0.9").status_code == 202


def test_ipv6_clients_are_counted_by_their_64(client, election, settings) -> None:
    """A subscriber holds a whole /64: its addresses share one count. IPv4 counts by address,
    also written IPv4-mapped."""
    settings.PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR = 2

    def check(address: str) -> int:
        return check_from(client, election, address, identifier="x").status_code

    assert [check("2001:db8:1:2::1"), check("2001:db8:1:2:ffff:ffff:ffff:fffe")] == [400, 400]
    assert check("2001:db8:1:2:abcd::7") == 429  # a third address of the same /64
    assert check("2001:db8:1:3::1") == 400  # the next /64 is another client
    assert [check("192.0.2.1"), check("192.0.2.1")] == [400, 400]
    assert check("::ffff:192.0.2.1") == 429
    assert check("192.0.2.2") == 400


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("2001:DB8:1:2::", "2001:db8:1:2::"),
        ("::1", "::"),
        (" 2001:db8::1 ", "2001:db8::"),
        ("fe80::1%eth0", "fe80::"),
        ("not an address", None),
        ("", None),
        ("192.0.2.256", None),
    ],
)
def test_the_client_a_rate_limit_counts(address, client) -> None:
    from identity.services.ratelimit import ratelimit_client

    assert ratelimit_client(address) == client
