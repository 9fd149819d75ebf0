"""The one JSON parser of the API.

Every JSON request body is read by :func:`api_json_load`: at most ``DATA_UPLOAD_MAX_MEMORY_SIZE``
bytes (413 beyond), then :func:`crypto.hashing.parse_json`, the protocol's strict parser (no
floats, no integers beyond 2^53, no duplicate keys, UTF-8 only, nesting at most
``crypto.hashing.MAX_JSON_DEPTH`` levels), and no U+0000 anywhere (PostgreSQL text cannot hold
it, and no value of this API contains it). Whatever it refuses is a 400 in the error envelope.

:class:`StrictJsonParser` is DRF's default parser (settings.REST_FRAMEWORK). The endpoints that
read their body only after their own checks, with a per-election limit (ballots, audits, trustee
messages), declare :class:`DeferredJsonParser` and call :func:`api_json_load` themselves.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, status

from crypto.errors import CryptoError
from crypto.hashing import parse_json

#: ``\\u0000`` as a JSON escape: preceded by an even number of backslashes (``\\\\u0000`` is a
#: backslash followed by the text "u0000"). A raw U+0000 is not valid JSON in the first place.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class InvalidJson(ValueError):
    """The body is not JSON this API accepts; the message says why."""


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def api_json_load(body: bytes | str) -> Any:
    """Parse a request body: :func:`crypto.hashing.parse_json`, and no U+0000. Raises
    :class:`InvalidJson`."""
    try:
        value = parse_json(body)
    except CryptoError as exc:
        raise InvalidJson(str(exc)) from None
    text = body if isinstance(body, str) else body.decode("utf-8")  # parse_json checked UTF-8
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise InvalidJson("JSON must not contain U+0000 (\\u0000)")
    return value


class StrictJsonParser(parsers.BaseParser):
    """DRF's parser for ``application/json``, through :func:`api_json_load`."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"A request body here has at most {limit} bytes.")
        try:
            return api_json_load(body)
        except InvalidJson as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None


class DeferredJsonParser(parsers.BaseParser):
    """Accepts ``application/json`` without reading it: the view (or its service) reads the body
    itself, at most its own limit, and parses it with :func:`api_json_load`. (DRF parses a body
    as soon as anything, e.g. the CSRF check, looks at ``request.POST``.)"""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        return {}
