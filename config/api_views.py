"""Base classes shared by the apps' API views."""

from __future__ import annotations

from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class PublicApiView(APIView):
    """Anyone may read: no session lookup, no CSRF."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
