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


def voter_session_login(request: HttpRequest, voter: Voter) -> None:
    voters = dict(request.session.get(SESSION_KEY) or {})
    voters[str(voter.election_id)] = voter.pk
    request.session.cycle_key()  # a new session id at login: no session fixation
    request.session[SESSION_KEY] = voters
    request.session.set_expiry(settings.PNYX_VOTER_SESSION_SECONDS)
    rotate_token(request)


def voter_session_id(request: HttpRequest, election_id: Any) -> int | None:
    voters = request.session.get(SESSION_KEY) or {}
    return voters.get(str(election_id))


def voter_session_logout(request: HttpRequest, election_id: Any) -> None:
    voters = dict(request.session.get(SESSION_KEY) or {})
    if voters.pop(str(election_id), None) is not None:
        request.session[SESSION_KEY] = voters
        request.session.cycle_key()


def client_ip(request: HttpRequest) -> str:
    """The client's address for rate limits: ``PNYX_CLIENT_IP_HEADER`` when a reverse proxy sets
    it (the last address of a list: the one our proxy added), else REMOTE_ADDR."""
    header = settings.PNYX_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    if value:
        return value.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
