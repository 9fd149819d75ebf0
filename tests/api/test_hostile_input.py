"""Hostile input gets a clear 4xx in the error envelope and changes nothing; never a 500.

Each class reproduces one cause of a 500 found by the security review (issue 9 §4), through the
whole HTTP stack (Django's test client: middleware, URL routing, DRF, services, PostgreSQL); the
oversized body is also sent to a real HTTP server, where Django reads the body lazily.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from board.models import BoardEntry
from crypto.hashing import MAX_JSON_DEPTH
from tests.voting.factories import board_head_of, login, make_election, post_json

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is ``status`` with the error envelope (and ``code`` when given)."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def nested(depth: int, leaf: object = 1) -> object:
    """A JSON value with ``depth`` nested arrays and objects, alternately."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def deep_json(depth: int) -> str:
    """JSON text nested ``depth`` levels, built as text (no Python recursion)."""
    return "[" * depth + "]" * depth


# --- Cause 1: NUL characters reaching PostgreSQL ------------------------------------------------


class TestNulCharacters:
    """PostgreSQL text cannot hold U+0000: such a string must be refused before any SQL."""

    def test_in_the_ballot_credential(self, client, open_election) -> None:
        login(client, open_election.voters[0])
        head = board_head_of(open_election.election)
        body = {"election": open_election.spec.fingerprint, "credential": "\u0000"}
        error = assert_error(post_json(client, f"{open_election.url}/ballots/", body), 400)
        assert "U+0000" in error["message"] or "credential" in error["message"]
        assert board_head_of(open_election.election) == head

    def test_in_the_audited_ballot_credential(self, client, open_election) -> None:
        login(client, open_election.voters[0])
        head = board_head_of(open_election.election)
        ballot = {"election": open_election.spec.fingerprint, "credential": "02\u0000"}
        body = {"ballot": ballot, "randomness": {}}
        assert_error(post_json(client, f"{open_election.url}/audits/", body), 400)
        assert board_head_of(open_election.election) == head

    def test_in_a_tracker_in_the_url(self, client, open_election) -> None:
        response = client.get(f"{open_election.url}/board/ballots/%00")
        assert_error(response, 400, "bad_request")

    def test_in_the_slug_query(self, client, open_election) -> None:
        assert_error(client.get("/api/elections/?slug=%00"), 400, "bad_request")
        assert_error(client.get("/api/elections/?state=demo%00"), 400, "bad_request")

    def test_in_a_query_key_or_a_page_query(self, client, open_election) -> None:
        assert_error(client.get("/api/elections/?%00=1"), 400, "bad_request")
        slug = open_election.election.slug
        response = client.get(f"/e/{slug}/board?kind=%00")
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")

    def test_in_a_receipt_tracker(self, client, open_election) -> None:
        receipt = {
            "election": str(open_election.election.pk),
            "kind": "ballot",
            "tracker": "\u0000",
            "seq": 1,
            "entry_hash": "0" * 64,
            "head": {"seq": 1, "hash": "0" * 64},
            "signature": "0" * 128,
        }
        response = post_json(client, f"{open_election.url}/receipts/verify/", receipt)
        assert_error(response, 400)

    def test_in_the_session_cookie(self, client, open_election) -> None:
        # A quoted cookie value may carry an octal escape: Django decodes \000 to U+0000.
        cookie = 'sessionid="abcdefgh\\000ijklmnop"'
        response = client.get(f"{open_election.url}/me/", HTTP_COOKIE=cookie)
        assert_error(response, 400, "bad_request")

    def test_as_a_json_escape_in_any_api_body(self, client, open_election) -> None:
        body = '{"identifier": "voter0", "x": "\\u0000"}'
        response = client.post(f"{open_election.url}/login/", body, content_type="application/json")
        assert_error(response, 400, "malformed_request")


# --- Cause 2: deeply nested JSON through DRF's parser -------------------------------------------


class TestDeepJson:
    """Every JSON endpoint parses with crypto.hashing.parse_json, which refuses nesting deeper
    than MAX_JSON_DEPTH before Python's recursion limit is anywhere near."""

    @pytest.mark.parametrize("endpoint", ["login/", "login/verify/", "receipts/verify/"])
    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 940, 100_000])
    def test_refused(self, client, open_election, endpoint: str, depth: int) -> None:
        url = f"{open_election.url}/{endpoint}"
        response = client.post(url, deep_json(depth), content_type="application/json")
        error = assert_error(response, 400, "malformed_request")
        assert "nested" in error["message"]

    def test_the_limit_itself_is_accepted(self, client, open_election) -> None:
        # MAX_JSON_DEPTH levels parse; the serializer then refuses the shape, not the depth.
        body = json.dumps({"identifier": nested(MAX_JSON_DEPTH - 1)})
        url = f"{open_election.url}/login/"
        error = assert_error(client.post(url, body, content_type="application/json"), 400)
        assert error["code"] == "invalid_request"

    def test_ballot_and_trustee_bodies_too(self, client, open_election) -> None:
        login(client, open_election.voters[0])
        url = f"{open_election.url}/ballots/"
        body = deep_json(MAX_JSON_DEPTH + 1)
        error = assert_error(client.post(url, body, content_type="application/json"), 400)
        assert "nested" in error["message"]
        url = f"{open_election.url}/trustees/1/messages/"
        error = assert_error(client.post(url, body, content_type="application/json"), 400)
        assert "nested" in error["message"]


# --- Cause 3: a body over the size limit --------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


class TestOversizedBody:
    def test_api_answers_413_in_json(self, client, open_election) -> None:
        url = f"{open_election.url}/receipts/verify/"
        response = client.post(url, b"[" + b" " * TEN_MB + b"]", content_type="application/json")
        assert_error(response, 413, "payload_too_large")

    @pytest.mark.parametrize("size, status", [(999, 400), (1000, 400), (1001, 413)])
    def test_the_limit_is_exact(self, client, open_election, settings, size, status) -> None:
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = json.dumps({"identifier": ""}).encode()
        body = body[:-1] + b" " * (size - len(body)) + b"}"  # valid JSON of exactly `size` bytes
        assert len(body) == size
        response = client.post(f"{open_election.url}/login/", body, content_type="application/json")
        assert_error(response, status)

    def test_the_default_limit_holds_the_largest_audit(self) -> None:
        from django.conf import settings

        # An audit (ballot and randomness) may take twice PNYX_BALLOT_MAX_BYTES
        # (voting.selectors.election_manifest): the guard must never refuse it first.
        assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= 2 * settings.PNYX_BALLOT_MAX_BYTES

    def test_a_trustee_message_may_exceed_the_global_limit(
        self, client, open_election, settings
    ) -> None:
        """A partial decryption grows with the election (≈ 800 bytes per option, up to 40 MB
        for 100 questions of 500 options): the guard lets the trustees' endpoint read up to the
        largest election's need, and the view applies the election's own limit."""
        from tally.api import MAX_BODY, TrusteeMessageApi

        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        assert TrusteeMessageApi.request_max_bytes == MAX_BODY > 40_000_000
        url = f"/api/elections/{open_election.election.pk}/trustees/1/messages/"
        body = b"{" + b" " * 5000 + b"}"  # over the global limit, under the election's
        response = client.post(url, body, content_type="application/json")
        assert response.status_code != 413, response.content
        assert 400 <= response.status_code < 500
        # the election's own limit (1 MiB for a small election) still holds
        response = client.post(
            url, b"{" + b" " * (2 * 1024 * 1024) + b"}", content_type="application/json"
        )
        assert_error(response, 413)
        # and every other endpoint keeps the global limit
        response = client.post(
            f"{open_election.url}/receipts/verify/", body, content_type="application/json"
        )
        assert_error(response, 413, "payload_too_large")

    def test_pages_answer_413_in_html(self, client) -> None:
        response = client.post(
            "/i18n/setlang/",
            b"language=fr&x=" + b"a" * TEN_MB,
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 413
        assert response["Content-Type"].startswith("text/html")


def _post_over_http(base_url: str, path: str, body: bytes, content_type: str):
    """POST through a real socket; returns (status, content type, body)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_oversized_body_over_a_real_server_is_413(live_server) -> None:
    """Through a real HTTP server (pytest-django's live server): Django raises
    RequestDataTooBig only when a view reads the body, which the test client's path hides."""
    election = make_election()
    path = f"/api/elections/{election.pk}/receipts/verify/"
    status, content_type, body = _post_over_http(
        live_server.url, path, b"[" + b" " * TEN_MB + b"]", "application/json"
    )
    assert status == 413, body[:300]
    assert content_type.startswith("application/json")
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    status, content_type, body = _post_over_http(
        live_server.url,
        "/i18n/setlang/",
        b"language=fr&x=" + b"a" * TEN_MB,
        "application/x-www-form-urlencoded",
    )
    assert status == 413, body[:300]
    assert content_type.startswith("text/html")


# --- Cause 4: digest_json on an unauthenticated trustee message ---------------------------------


class TestTrusteeMessageDepth:
    """The trustee endpoint takes no session: its body is parsed strictly, then hashed."""

    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 940])
    def test_signed_envelope_nested_too_deep(self, client, open_election, depth: int) -> None:
        election = open_election.election
        envelope = {
            "version": 1,
            "election": str(election.pk),
            "trustee": 1,
            "kind": "commitment",
            "message": deep_json(depth),
            "signature": {"commitment": "02" + "11" * 32, "response": "00" * 31 + "01"},
        }
        body = json.dumps(envelope).replace(json.dumps(deep_json(depth)), deep_json(depth))
        entries = BoardEntry.objects.filter(election=election).count()
        url = f"/api/elections/{election.pk}/trustees/1/messages/"
        error = assert_error(client.post(url, body, content_type="application/json"), 400)
        assert "nested" in error["message"]
        assert BoardEntry.objects.filter(election=election).count() == entries


# --- Format checks before SQL -------------------------------------------------------------------


class TestFormatChecks:
    """Values from the URL or the body that reach a query are checked for their format first."""

    def test_board_ballot_tracker(self, client, open_election) -> None:
        for tracker in ("zz", "AB" * 32, "ab" * 33, "é" * 64):
            response = client.get(f"{open_election.url}/board/ballots/{tracker}")
            error = assert_error(response, 400, "invalid_request")
            assert "tracker" in error["details"]
        # well-formed but unknown: 404
        assert_error(client.get(f"{open_election.url}/board/ballots/{'ab' * 32}"), 404)

    def test_election_list_slug_and_state(self, client, open_election) -> None:
        assert_error(client.get("/api/elections/?slug=Not_A_Slug"), 400, "invalid_request")
        assert_error(client.get("/api/elections/?state=draft"), 400, "invalid_request")
        slug = open_election.election.slug
        listed = client.get(f"/api/elections/?slug={slug}&state=open").json()
        assert [e["slug"] for e in listed] == [slug]

    def test_receipt_tracker(self, client, open_election) -> None:
        receipt = {
            "election": str(open_election.election.pk),
            "kind": "ballot",
            "tracker": "zz",
            "seq": 1,
            "entry_hash": "0" * 64,
            "head": {"seq": 1, "hash": "0" * 64},
            "signature": "0" * 128,
        }
        response = post_json(client, f"{open_election.url}/receipts/verify/", receipt)
        error = assert_error(response, 400, "invalid_receipt")
        assert "tracker" in error["message"]


# --- Methods: TRACE is refused everywhere; what OPTIONS answers --------------------------------


class TestMethods:
    def api_paths(self, open_election) -> list[str]:
        election = open_election.election.pk
        base = f"/api/elections/{election}"
        return [
            "/api/elections/",
            f"{base}/",
            f"{base}/board/",
            f"{base}/board.jsonl",
            f"{base}/board/head",
            f"{base}/board/ballots/{'ab' * 32}",
            f"{base}/ballots/",
            f"{base}/audits/",
            f"{base}/receipts/verify/",
            f"{base}/login/",
            f"{base}/login/verify/",
            f"{base}/logout/",
            f"{base}/me/",
            f"{base}/trustees/1/messages/",
            f"{base}/ceremony/",
            f"{base}/tally/",
            "/api/board-key",
            "/api/schema/",
            "/api/docs/",
        ]

    def test_trace_is_405_on_every_api_endpoint(self, client, open_election) -> None:
        # No session: TRACE is refused before authentication (was 401 on ballots/audits).
        for path in self.api_paths(open_election):
            response = client.generic("TRACE", path)
            assert_error(response, 405, "method_not_allowed")
            assert "TRACE" not in response["Allow"] and "OPTIONS" in response["Allow"], path

    def test_trace_is_405_on_pages(self, client, open_election) -> None:
        slug = open_election.election.slug
        for path in ("/", f"/e/{slug}/", f"/e/{slug}/vote", "/admin/", "/i18n/setlang/"):
            response = client.generic("TRACE", path)
            assert response.status_code == 405, path
            assert response["Content-Type"].startswith("text/html")
            assert "TRACE" not in response["Allow"]

    def test_options_lists_the_methods_and_runs_no_view(self, client, open_election) -> None:
        expected = {
            "/api/elections/": "GET, HEAD, OPTIONS",
            f"{open_election.url}/ballots/": "POST, OPTIONS",  # no session needed to ask
            f"{open_election.url}/login/verify/": "POST, OPTIONS",
            "/api/docs/": "GET, HEAD, OPTIONS",
        }
        for path in self.api_paths(open_election):
            response = client.options(path)
            assert response.status_code == 204, (path, response.status_code)
            assert response.content == b""
            assert not any(h.startswith("Access-Control-") for h in response.headers), path
            if path in expected:
                assert response["Allow"] == expected[path], path
