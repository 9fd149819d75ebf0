"""Pnyx's own system checks (``manage.py check``; ``migrate`` and ``runserver`` run them too).

Registered by config.apps.PnyxAdminConfig.ready(). Ids: ``pnyx.E…`` errors, ``pnyx.W…`` warnings.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

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


@register(Tags.security, deploy=True)
def check_deployment(app_configs, **kwargs) -> list[Warning]:
    """``manage.py check --deploy``: what a production instance must not be (README, Deployment)."""
    found = []
    if settings.PNYX_DEMO:
        found.append(
            Warning(
                "PNYX_DEMO=1: e-mails with credentials may stay on this server and seed_demo may "
                "make an official's account whose password it prints.",
                hint="Unset PNYX_DEMO in production.",
                id="pnyx.W001",
            )
        )
    if not settings.AXES_ENABLED:
        found.append(
            Warning(
                "Officials' logins are not locked out after failures (PNYX_LOGIN_LOCKOUT=0).",
                hint="Unset PNYX_LOGIN_LOCKOUT (on by default in production).",
                id="pnyx.W002",
            )
        )
    if not settings.PNYX_OFFICIAL_OTP:
        found.append(
            Warning(
                "Officials' authenticator codes are not asked for (PNYX_OFFICIAL_OTP=0).",
                hint="Unset PNYX_OFFICIAL_OTP (on by default in production).",
                id="pnyx.W003",
            )
        )
    if not settings.PNYX_BASE_URL.startswith("https://"):
        found.append(
            Warning(
                f"PNYX_BASE_URL is {settings.PNYX_BASE_URL}: the links in voters' e-mails "
                "(the booth, with the credential in the fragment) would not use HTTPS.",
                hint="Set PNYX_BASE_URL=https://<your host>.",
                id="pnyx.W004",
            )
        )
    return found
