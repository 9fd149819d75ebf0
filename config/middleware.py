"""HTTP middleware owned by the project (not by one app)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from config.api_errors import API_PREFIX, error_body


def content_security_policy_header(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Add the ``Content-Security-Policy`` from ``settings.CONTENT_SECURITY_POLICY``.

    A view that sets its own (stricter) policy keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = content_security_policy_header(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response


#: what ``Allow`` says for a function view, whose methods cannot be read off the view: the
#: methods the site's function views serve at all (pages are GET; forms POST)
FUNCTION_VIEW_METHODS = ("GET", "HEAD", "POST")


class RequestGuardMiddleware:
    """Answer, before any other code reads the request, what no endpoint may see (issue 9 §4):

    - ``TRACE``: 405 everywhere, before authentication (nothing echoes a request back).
    - ``OPTIONS`` on a class-based view (every API endpoint): 204 with ``Allow`` listing the
      view's methods, no body, no ``Access-Control-*`` header (the API serves this site's pages
      only, so browsers keep refusing cross-origin calls); no authentication, no view code runs.
      Function views (the pages) answer ``OPTIONS`` themselves: 405 for the GET-only pages.
    - a body declared larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``PNYX_REQUEST_MAX_BYTES``),
      or than the view's own ``request_max_bytes`` when it declares one (a view that streams a
      larger body itself and applies its own, tighter limit: the trustees' messages, whose
      partial decryptions grow with the election): 413 without reading it; and
      ``RequestDataTooBig`` raised when a view reads a body: 413.
    - U+0000 in the path, the query string or a cookie: 400. PostgreSQL text cannot hold it,
      and no identifier, slug, tracker or session key contains it.

    Under ``/api/`` the answer is the API's error envelope (config/api_errors.py); elsewhere a
    short page (templates/http_error.html).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "TRACE":
            return self._refuse_method(request)
        if request.method == "OPTIONS":
            answer = self._options(request)
            if answer is not None:
                return answer
        limit = request_max_bytes(request)
        if _declared_length(request) > limit:
            return _too_large(request, limit)
        if _has_nul(request):
            return refusal(
                request,
                400,
                "bad_request",
                _("The address, its query or a cookie contains a NUL character (U+0000)."),
            )
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return _too_large(request)
        return None

    def _refuse_method(self, request: HttpRequest) -> HttpResponse:
        response = refusal(
            request,
            405,
            "method_not_allowed",
            _("Method “%(method)s” not allowed.") % {"method": request.method},
        )
        response["Allow"] = ", ".join(_allowed_methods(request) or FUNCTION_VIEW_METHODS)
        return response

    def _options(self, request: HttpRequest) -> HttpResponse | None:
        methods = _allowed_methods(request)
        if methods is None:
            return None
        response = HttpResponse(status=204)
        response["Allow"] = ", ".join(methods)
        return response


def _allowed_methods(request: HttpRequest) -> list[str] | None:
    """The methods of the class-based view at this path (with OPTIONS, never TRACE); None for a
    function view or an unknown path."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None:
        return None
    view = view_class(**getattr(match.func, "view_initkwargs", {}))
    methods = [m for m in view.http_method_names if m not in ("trace", "options")]
    allowed = [m.upper() for m in methods if hasattr(view, m)]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")  # View.setup() serves HEAD as GET
    return [*allowed, "OPTIONS"]


def request_max_bytes(request: HttpRequest) -> int:
    """The largest body the view at this path reads: its ``request_max_bytes`` attribute, if it
    declares one, else ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return default
    view_class = getattr(match.func, "view_class", None)
    return getattr(view_class, "request_max_bytes", None) or default


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it: no body


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return True
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    cookie = request.META.get("HTTP_COOKIE", "")
    if "\\" in cookie or "\x00" in cookie:  # a quoted value may spell U+0000 as \000
        return any("\x00" in key or "\x00" in value for key, value in request.COOKIES.items())
    return False


def _too_large(request: HttpRequest, limit: int | None = None) -> HttpResponse:
    if limit is None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return refusal(
        request,
        413,
        "payload_too_large",
        _("The request body is too large: at most %(limit)d bytes.") % {"limit": limit},
    )


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """An error answer in the API's envelope under /api/, else as a short page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(code=code, message=message), status=status)
    page = render_to_string("http_error.html", {"status": status, "message": message})
    return HttpResponse(page, status=status)
