"""The one place where errors become HTTP responses.

A database that cannot be reached is answered ``503`` with ``Retry-After``, with one log line
(:func:`database_unavailable_response`), API or page.

Every error leaving the API has the body::

    {"error": {"code": "<machine-readable>", "message": "<human-readable>"}}

plus ``"details"`` when there is more to say (e.g. per-field validation
errors). Services raise subclasses of :class:`ApplicationError`; DRF and Django
exceptions are mapped below; anything else is a 500 whose body says nothing
about the cause (the traceback goes to the log).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from crypto.errors import InvalidEncoding

logger = logging.getLogger("pnyx.api")
unavailable_logger = logging.getLogger("pnyx.unavailable")

API_PREFIX = "/api/"


class ApplicationError(Exception):
    """An expected failure of a domain operation, reported to the client as is.

    Subclasses set ``code`` (stable, snake_case), ``status`` (HTTP) and a default
    ``message``::

        class ElectionNotOpen(ApplicationError):
            code = "election_not_open"
            status = 409
            message = "The election is not open for voting."
    """

    code: str = "application_error"
    status: int = status.HTTP_400_BAD_REQUEST
    message: str = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.message)


class ServiceUnavailable(ApplicationError):
    """A service the request needs (the database, the task broker) is unreachable for now:
    ``503`` with ``Retry-After`` (``PNYX_RETRY_AFTER_SECONDS``). Nothing was done, or what was
    done is said in the message; the client may send the same request again. Whoever raises it
    has logged its cause (config/broker.py :func:`task_send` does): the 503 itself is not logged
    again."""

    code = "service_unavailable"
    status = status.HTTP_503_SERVICE_UNAVAILABLE
    message = "The service is briefly unavailable. Please try again in a moment."

    @property
    def retry_after(self) -> int:
        from django.conf import settings

        return settings.PNYX_RETRY_AFTER_SECONDS


# DRF exception class -> (code, default message). Looked up along the MRO, so
# subclasses inherit their parent's code.
_API_EXCEPTION_CODES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("invalid_request", "The request is invalid."),
    exceptions.ParseError: ("malformed_request", "The request body could not be parsed."),
    exceptions.NotAuthenticated: ("not_authenticated", "Authentication is required."),
    exceptions.AuthenticationFailed: ("authentication_failed", "Authentication failed."),
    exceptions.PermissionDenied: ("forbidden", "You are not allowed to do this."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed."),
    exceptions.NotAcceptable: ("not_acceptable", "Cannot produce the requested format."),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type."),
    exceptions.Throttled: ("throttled", "Too many requests."),
}


def error_body(*, code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _api_exception_code(exc: exceptions.APIException) -> tuple[str, str]:
    for cls in type(exc).__mro__:
        if cls in _API_EXCEPTION_CODES:
            return _API_EXCEPTION_CODES[cls]
    return exc.default_code, str(exc.default_detail)


def _api_exception_response(exc: exceptions.APIException) -> Response:
    code, default_message = _api_exception_code(exc)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        message, details = default_message, exc.detail
    elif isinstance(exc.detail, str):
        # A view may say what was not found / forbidden: keep its words.
        message, details = str(exc.detail), None
    else:
        message, details = default_message, exc.detail
    return Response(
        error_body(code=code, message=message, details=details),
        status=exc.status_code,
        headers=headers,
    )


# --- The database is unreachable: 503, one log line ----------------------------------------------
#: what Django raises when the database cannot be reached or the connection broke (refused, reset,
#: server shutting down or restarting, a failover, a connect timeout); also lock and statement
#: timeouts and serialisation failures, for which trying again is the answer too
DATABASE_UNAVAILABLE = (DatabaseOperationalError, DatabaseInterfaceError)


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def database_unavailable_log(request: HttpRequest, exc: BaseException) -> None:
    """One line per failed request, no traceback: an outage under load would otherwise write
    three tracebacks a request (issue 10: 7.2 MB of logs in 30 s)."""
    cause = (str(exc).strip().splitlines() or [""])[0][:200]
    unavailable_logger.error(
        "database unavailable: %s %s answered 503 (%s: %s)",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),  # path only: query strings may carry tokens
        type(exc).__name__,
        cause,
    )


def _database_unavailable_message() -> str:
    return _(
        "The service is briefly unavailable: its database cannot be reached. Nothing was "
        "done. Please try again in a moment."
    )


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """``503`` with ``Retry-After``: the API's error envelope under /api/, else a short page
    (templates/http_error.html, rendered without the database). Logged here, once."""
    database_unavailable_log(request, exc)
    message = _database_unavailable_message()
    if _is_api(request):
        body = error_body(code="service_unavailable", message=message)
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        page = render_to_string("http_error.html", {"status": 503, "message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(settings.PNYX_RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # django.request logs no second line for it
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: map every exception to the JSON error shape."""
    set_rollback()  # under ATOMIC_REQUESTS, an error response never commits

    if database_unavailable(exc):
        request = context.get("request")
        database_unavailable_log(request, exc)
        response = Response(
            error_body(code="service_unavailable", message=_database_unavailable_message()),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.PNYX_RETRY_AFTER_SECONDS)},
        )
        response._has_been_logged = True  # django.request logs no second line for it
        return response

    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)  # e.g. voting.errors.RevoteRateLimited
        response = Response(
            error_body(code=exc.code, message=exc.message, details=exc.details),
            status=exc.status,
            headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
        )
        if isinstance(exc, ServiceUnavailable):
            # its cause was logged, once, where it was met (config/broker.py): django.request
            # writes no second line for the 503 (one line per failure, issue 10)
            response._has_been_logged = True
        return response
    if isinstance(exc, RequestDataTooBig):  # a view read a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            error_body(code="payload_too_large", message="The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, InvalidEncoding):
        # Bytes or JSON from outside that are no encoding of a protocol value (e.g. nested too
        # deeply to canonicalise) and that a view did not turn into its own error.
        return Response(
            error_body(code="malformed_request", message=str(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc)

    request = context.get("request")
    logger.error(
        "Unhandled %s in %s %s",
        type(exc).__name__,
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),  # path only: query strings may carry tokens
        exc_info=exc,
    )
    return Response(
        error_body(code="internal_error", message="Internal server error."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# --- Django-level handlers (config/urls.py) ----------------------------------
# They catch what never reaches a DRF view: unknown URLs, errors in middleware.
# Under /api/ they answer in the same JSON shape; elsewhere Django's pages.
# Django uses them only when DEBUG is off.


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        body = error_body(code="bad_request", message="Bad request.")
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        body = error_body(code="forbidden", message="You are not allowed to do this.")
        return JsonResponse(body, status=403)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Called while Django handles the exception (a view's, or a middleware's: the session read or
    # saved), so the exception is at hand.
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        return database_unavailable_response(request, exc)
    if _is_api(request):
        body = error_body(code="internal_error", message="Internal server error.")
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
