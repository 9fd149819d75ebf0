"""Every API error leaves as {"error": {"code", "message"[, "details"]}}."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.http import Http404
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from config.api_errors import ApplicationError


class BallotRejected(ApplicationError):
    code = "ballot_rejected"
    status = 409
    message = "The ballot was rejected."


class VoteInput(serializers.Serializer):
    choice = serializers.IntegerField(min_value=0)


class ProbeView(APIView):
    """Raises whatever the test asks for; ``POST`` validates a body."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    failure: Exception | None = None

    def get(self, request):
        raise self.failure

    def post(self, request):
        VoteInput(data=request.data).is_valid(raise_exception=True)
        raise AssertionError("the body should have been rejected")


class Answer:
    def __init__(self, response) -> None:
        response.render()
        self.status_code = response.status_code
        self.content = response.content
        self.headers = response.headers

    def json(self) -> Any:
        return json.loads(self.content)


def call(failure: Exception | None = None, *, method: str = "get", **kwargs) -> Answer:
    request = getattr(APIRequestFactory(), method)("/api/probe", **kwargs)
    return Answer(ProbeView.as_view(failure=failure)(request))


def test_not_found() -> None:
    response = call(Http404())
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_validation_error_has_field_details() -> None:
    response = call(method="post", data={"choice": -1}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] == "The request is invalid."
    assert list(error["details"]) == ["choice"]


def test_malformed_json_is_a_parse_error() -> None:
    response = call(method="post", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_application_error_subclass_keeps_its_code_and_status() -> None:
    response = call(BallotRejected(details={"reason": "duplicate"}))
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "ballot_rejected",
            "message": "The ballot was rejected.",
            "details": {"reason": "duplicate"},
        }
    }


def test_application_error_message_can_be_specific() -> None:
    response = call(BallotRejected("The election is closed."))
    assert response.json()["error"]["message"] == "The election is closed."


def test_permission_denied_is_forbidden() -> None:
    from rest_framework.exceptions import PermissionDenied

    response = call(PermissionDenied())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_throttled_says_when_to_retry() -> None:
    class Closed(BaseThrottle):
        def allow_request(self, request, view):
            return False

        def wait(self):
            return 42

    view = ProbeView.as_view(throttle_classes=[Closed])
    response = Answer(view(APIRequestFactory().get("/api/probe")))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert response.headers["Retry-After"] == "42"


def test_unexpected_exception_is_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="pnyx.api"):
        response = call(RuntimeError("secret database password is hunter2"))
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Internal server error."}
    }
    assert b"hunter2" not in response.content
    # The cause goes to the log, for operators.
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.django_db
def test_unknown_api_url_is_json_404(client) -> None:
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_unknown_page_outside_api_stays_html(client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
