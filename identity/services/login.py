"""Voter login by a one-time code sent by e-mail.

A stolen credential alone cannot vote: casting also needs a voter session, which this login
gives. Codes are 8 random digits, valid ``PNYX_LOGIN_CODE_TTL_SECONDS``, single use, at most
``PNYX_LOGIN_CODE_MAX_ATTEMPTS`` guesses each, stored as a keyed hash and compared in constant
time. Requests are rate-limited per client address (answered with 429) and per voter (silently,
so that the answer never says whether a voter exists). The request endpoint does no
voter-specific work at all: the Celery task looks the voter up and sends the code.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from identity.errors import InvalidLoginCode
from identity.models import LoginCode, Voter
from identity.selectors import voter_find
from identity.services.ratelimit import ratelimit_hit
from voting.models import Election

logger = logging.getLogger("pnyx.login")

CODE_DIGITS = 8
_CODE = re.compile(r"\d{8}\Z")
_SEPARATORS = re.compile(r"[\s\-]+")


def _code_hash(voter_id: int, code: str) -> str:
    return salted_hmac("pnyx.login-code", f"{voter_id}:{code}", algorithm="sha256").hexdigest()


def login_code_request(
    *, election: Election, identifier: str | None, email: str | None, client_ip: str
) -> None:
    """Ask for a login code. Answers the same whether or not the voter exists."""
    from identity.tasks import login_code_send

    ratelimit_hit(
        scope="login-request",
        ident=client_ip,
        limit=settings.PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR,
    )
    election_id = str(election.pk)
    transaction.on_commit(
        lambda: login_code_send.delay(election_id, identifier=identifier, email=email)
    )


def login_code_send(*, election_id: Any, identifier: str | None, email: str | None) -> bool:
    """Create a code for the voter (if on the roll and under its hourly limit) and e-mail it.
    Returns whether a code was sent (for tests; callers never tell the client)."""
    voter = voter_find(election_id=election_id, identifier=identifier, email=email)
    if voter is None:
        return False
    now = timezone.now()
    recent = LoginCode.objects.filter(voter=voter, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= settings.PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR:
        logger.info("login code not sent: voter %s is over its hourly limit", voter.pk)
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ttl = settings.PNYX_LOGIN_CODE_TTL_SECONDS
    LoginCode.objects.create(
        voter=voter, code_hash=_code_hash(voter.pk, code), expires_at=now + timedelta(seconds=ttl)
    )
    election = voter.election
    send_mail(
        subject=f"Your login code: {election.title}",
        message=render_to_string(
            "identity/email/login_code.txt",
            {"election": election, "code": code, "minutes": ttl // 60, "voter": voter},
        ),
        from_email=None,
        recipient_list=[voter.email],
    )
    return True


def login_code_verify(
    *,
    election: Election,
    identifier: str | None,
    email: str | None,
    code: str,
    client_ip: str,
) -> Voter:
    """Check a login code; return the voter, or raise :class:`InvalidLoginCode` (the same error
    for an unknown voter, a wrong, expired or used code)."""
    ratelimit_hit(
        scope="login-verify", ident=client_ip, limit=settings.PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR
    )
    code = _SEPARATORS.sub("", code or "")
    voter = voter_find(election_id=election.pk, identifier=identifier, email=email)
    if voter is None or not _CODE.match(code):
        hmac.compare_digest(_code_hash(0, "0" * CODE_DIGITS), "0" * 64)  # same work either way
        raise InvalidLoginCode()
    given = _code_hash(voter.pk, code)
    now = timezone.now()
    with transaction.atomic():
        active = list(
            LoginCode.objects.select_for_update().filter(
                voter=voter,
                used_at__isnull=True,
                expires_at__gt=now,
                attempts__lt=settings.PNYX_LOGIN_CODE_MAX_ATTEMPTS,
            )
        )
        match = None
        for candidate in active:
            if hmac.compare_digest(candidate.code_hash, given):
                match = candidate
        if match is not None:
            # Single use; any other code sent earlier is spent too.
            LoginCode.objects.filter(voter=voter, used_at__isnull=True).update(used_at=now)
        else:
            LoginCode.objects.filter(pk__in=[c.pk for c in active]).update(
                attempts=F("attempts") + 1
            )
    if match is None:
        raise InvalidLoginCode()
    return voter
