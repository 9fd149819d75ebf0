"""OpenAPI helpers shared by the apps' API views (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response (config/api_errors.py)."""

    class Error(serializers.Serializer):
        code = serializers.CharField(help_text="Stable, machine-readable, snake_case.")
        message = serializers.CharField(help_text="Human-readable explanation.")
        details = serializers.JSONField(required=False)

    error = Error()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for the error statuses an operation may answer with."""
    return {status: OpenApiResponse(ApiErrorSerializer) for status in statuses}
