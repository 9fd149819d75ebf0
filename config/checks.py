"""Pnyx's own system checks (``manage.py check``; ``migrate`` and ``runserver`` run them too).

Registered by config.apps.PnyxAdminConfig.ready(). Ids: ``pnyx.E…`` errors, ``pnyx.W…`` warnings.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, register

from config.email import secret_email_problem


@register(Tags.security)
def check_secret_email_backend(app_configs, **kwargs) -> list[Error]:
    """pnyx.E001: credentials and login codes must leave the server (config/email.py)."""
    problem = secret_email_problem()
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint="A demo says so with PNYX_DEMO=1 (make run does); production uses "
            "EMAIL_BACKEND=smtp.",
            id="pnyx.E001",
        )
    ]
