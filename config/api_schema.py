"""OpenAPI helpers shared by the apps' API views (drf-spectacular).

- :class:`PnyxAutoSchema` (``DEFAULT_SCHEMA_CLASS``) names the component of a serializer class
  nested in a view after the view, so that the many ``InputSerializer``/``OutputSerializer``
  classes do not collide under one name (``ElectionListApi.OutputSerializer`` →
  ``ElectionListOutput``).
- The voters' authentication classes are documented as security schemes: the session cookie,
  and the CSRF token that every unsafe voter request carries (header ``X-CSRFToken``, equal to
  the ``csrftoken`` cookie set by ``GET …/me/``).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response (config/api_errors.py)."""

    class Detail(serializers.Serializer):
        code = serializers.CharField(help_text="Stable, machine-readable, snake_case.")
        message = serializers.CharField(help_text="Human-readable explanation.")
        details = serializers.JSONField(required=False)

    error = Detail()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for the error statuses an operation may answer with."""
    return {status: OpenApiResponse(ApiErrorSerializer) for status in statuses}


def component_name(cls: type) -> str:
    """``Outer.Inner`` class names joined, without the ``Api`` and ``Serializer`` suffixes."""
    parts = cls.__qualname__.split(".")
    return "".join(part.removesuffix("Serializer").removesuffix("Api") or part for part in parts)


class PnyxAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: str) -> str:
        cls = type(serializer)
        if "." in cls.__qualname__:
            return component_name(cls)
        return super().get_serializer_name(serializer, direction)


CSRF_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-CSRFToken",
    "description": "Unsafe methods only: the value of the csrftoken cookie (GET …/me/ sets it).",
}


class VoterSessionScheme(OpenApiAuthenticationExtension):
    """The session cookie; unsafe methods also need ``csrfToken`` (defined by
    :class:`CsrfProtectedScheme`: one component may have one defining class only)."""

    target_class = "identity.authentication.VoterSessionAuthentication"
    name = "voterSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The voter session started by POST …/login/verify/.",
        }

    def get_security_requirement(self, auto_schema):
        if auto_schema.method in ("GET", "HEAD", "OPTIONS"):
            return {"voterSession": []}
        return {"voterSession": [], "csrfToken": []}


class CsrfProtectedScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.CsrfProtected"
    name = "csrfToken"

    def get_security_definition(self, auto_schema):
        return CSRF_SCHEME
