"""Celery tasks of the identity app.

Tasks take primary keys, are idempotent, call one service and are enqueued
with ``transaction.on_commit``.
"""

from __future__ import annotations

from celery import shared_task

from identity.services.credentials import credentials_issue_run
from identity.services.login import login_code_send as login_code_send_service


@shared_task(name="identity.tasks.credentials_issue")
def credentials_issue(issuance_id: int) -> str:
    """Generate, e-mail and publish an election's credentials (no-op once published)."""
    return credentials_issue_run(issuance_id=issuance_id).status


@shared_task(name="identity.tasks.login_code_send")
def login_code_send(
    election_id: str,
    *,
    identifier: str | None = None,
    email: str | None = None,
    language: str | None = None,
) -> None:
    """Look the voter up and e-mail a login code (a redelivery sends one more valid code,
    within the voter's hourly limit), in ``language`` (the page's). Returns nothing: the result
    backend learns nothing."""
    login_code_send_service(
        election_id=election_id, identifier=identifier, email=email, language=language
    )
