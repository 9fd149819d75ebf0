"""The project's own AppConfig: Django's admin, plus Pnyx's system checks (config/checks.py)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PnyxAdminConfig(AdminConfig):
    def ready(self) -> None:
        super().ready()
        from config import checks  # noqa: F401 - registers the checks
