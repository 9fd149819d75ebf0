"""Residents log in by the same one-time e-mail code as voters (identity.services.login): the
process's roll is one more :class:`~identity.services.login.LoginRoll`, and the session keeps
residents apart from voters (``pnyx.residents``: process UUID → resident id)."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext

from identity.services.login import LoginRoll, roll_code_request, roll_code_verify
from identity.sessions import client_ip, roll_session_id, roll_session_login, roll_session_logout
from participation.models import Process, Resident, ResidentLoginCode
from participation.selectors import resident_find, resident_get

SESSION_KEY = "pnyx.residents"


def _email(resident: Resident, code: str, minutes: int) -> tuple[str, str]:
    process = resident.process
    text = render_to_string(
        "participation/email/login_code.txt",
        {"process": process, "code": code, "minutes": minutes},
    )
    return gettext("Your login code: %(title)s") % {"title": process.title}, text


def _task():
    from participation.tasks import resident_login_code_send

    return resident_login_code_send


RESIDENT_ROLL = LoginRoll(
    name="resident-login",
    code_model=ResidentLoginCode,
    member_field="resident",
    find=resident_find,
    email=_email,
    task=_task,
)


def resident_login_request(*, request: HttpRequest, process: Process, email: str) -> None:
    roll_code_request(
        roll=RESIDENT_ROLL,
        container_id=process.pk,
        identifier=None,
        email=email,
        client_ip=client_ip(request),
    )


def resident_login_verify(
    *, request: HttpRequest, process: Process, email: str, code: str
) -> Resident:
    resident = roll_code_verify(
        roll=RESIDENT_ROLL,
        container_id=process.pk,
        identifier=None,
        email=email,
        code=code,
        client_ip=client_ip(request),
    )
    roll_session_login(request, SESSION_KEY, process.pk, resident.pk)
    return resident


def resident_logout(*, request: HttpRequest, process: Process) -> None:
    roll_session_logout(request, SESSION_KEY, process.pk)


def resident_current(request: HttpRequest, process: Process) -> Resident | None:
    return resident_get(
        process=process, resident_id=roll_session_id(request, SESSION_KEY, process.pk)
    )
