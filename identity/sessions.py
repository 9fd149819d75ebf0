"""Voter sessions: which voter of which election this browser session has logged in as.

The session maps election UUIDs to voter ids (``"pnyx.voters"``), so one browser may be logged in
to several elections, and an official's admin session is unaffected.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import rotate_token

from identity.models import Voter

SESSION_KEY = "pnyx.voters"


def roll_session_login(request: HttpRequest, key: str, container_id: Any, member_id: int) -> None:
    """Log this browser in as ``member_id`` of ``container_id`` (an election, a process) in the
    session map ``key``, keeping the other entries."""
    members = dict(request.session.get(key) or {})
    members[str(container_id)] = member_id
    request.session.cycle_key()  # a new session id at login: no session fixation
    request.session[key] = members
    request.session.set_expiry(settings.PNYX_VOTER_SESSION_SECONDS)
    rotate_token(request)


def roll_session_id(request: HttpRequest, key: str, container_id: Any) -> int | None:
    members = request.session.get(key) or {}
    return members.get(str(container_id))


def roll_session_logout(request: HttpRequest, key: str, container_id: Any) -> None:
    members = dict(request.session.get(key) or {})
    if members.pop(str(container_id), None) is not None:
        request.session[key] = members
        request.session.cycle_key()


def voter_session_login(request: HttpRequest, voter: Voter) -> None:
    roll_session_login(request, SESSION_KEY, voter.election_id, voter.pk)


def voter_session_id(request: HttpRequest, election_id: Any) -> int | None:
    return roll_session_id(request, SESSION_KEY, election_id)


def voter_session_logout(request: HttpRequest, election_id: Any) -> None:
    roll_session_logout(request, SESSION_KEY, election_id)


def client_ip(request: HttpRequest) -> str:
    """The client's address for rate limits: ``PNYX_CLIENT_IP_HEADER`` when a reverse proxy sets
    it (the last address of a list: the one our proxy added), else REMOTE_ADDR."""
    header = settings.PNYX_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    if value:
        return value.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
