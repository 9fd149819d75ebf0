"""Celery tasks of the participation app (take ids, idempotent, call one service)."""

from __future__ import annotations

from celery import shared_task

from identity.services.login import roll_code_send


@shared_task(name="participation.tasks.resident_login_code_send")
def resident_login_code_send(
    process_id: str,
    *,
    identifier: str | None = None,
    email: str | None = None,
    language: str | None = None,
) -> None:
    """Look the resident up and e-mail a login code, in ``language`` (the page's). Returns
    nothing."""
    from participation.login import RESIDENT_ROLL

    roll_code_send(
        roll=RESIDENT_ROLL,
        container_id=process_id,
        identifier=identifier,
        email=email,
        language=language,
    )
