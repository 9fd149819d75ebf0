"""How the API appears in ``/api/schema/`` (drf-spectacular): component names and the voters'
authentication. ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` names :class:`PnyxAutoSchema`."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class PnyxAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        """A serializer defined inside a view (``LoginRequestApi.InputSerializer``) is named
        after it (``LoginRequestApiInput``): views each have their own ``InputSerializer`` and
        ``OutputSerializer``, which would otherwise share one component."""
        name = super().get_serializer_name(serializer, direction)
        owner = type(serializer).__qualname__.rpartition(".")[0]
        if not owner or "<locals>" in owner:
            return name
        return owner.replace(".", "").replace("Serializer", "") + name


class VoterSessionScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.VoterSessionAuthentication"
    name = "voterSession"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The voter's session, from POST …/login/verify/. Unsafe methods "
            "also need the CSRF token in the X-CSRFToken header.",
        }


class CsrfTokenScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.CsrfProtected"
    name = "csrfToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "No identity, but unsafe methods carry the CSRF token (the "
            f"{settings.CSRF_COOKIE_NAME} cookie, set by GET …/me/).",
        }
