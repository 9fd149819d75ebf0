from __future__ import annotations

from django.apps import AppConfig


class OfficialsConfig(AppConfig):
    """The officials' authenticators, seeds sealed at rest. The login itself (lockout, the
    code at login) is config/officials.py; this app holds what it needs in the database."""

    name = "officials"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from officials import checks  # noqa: F401 - registers the checks
