"""The project's own AppConfig: Django's admin with the officials' login (config/officials.py),
plus Pnyx's system checks (config/checks.py)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PnyxAdminConfig(AdminConfig):
    default_site = "config.officials.PnyxAdminSite"

    def ready(self) -> None:
        super().ready()
        from config import checks  # noqa: F401 - registers the checks
