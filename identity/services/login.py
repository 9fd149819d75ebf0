"""Voter login by a one-time code sent by e-mail.

A stolen credential alone cannot vote: casting also needs a voter session, which this login
gives. Codes are 8 random digits, valid ``PNYX_LOGIN_CODE_TTL_SECONDS``, single use, at most
``PNYX_LOGIN_CODE_MAX_ATTEMPTS`` guesses each, stored as a keyed hash and compared in constant
time. Requests and checks are rate-limited per client (an IPv4 address, an IPv6 /64) and per
election (answered with 429), and codes per voter (silently, so that the answer never says
whether a voter exists). The request endpoint does no voter-specific work at all: the Celery
task looks the voter up and sends the code. The check does the same work whether or not the
voter exists (:func:`login_code_verify`).
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
from django.db.models import F, Model, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.broker import BrokerUnavailable, task_send
from config.email import secret_email_connection
from identity.errors import InvalidLoginCode, LoginCodeUnavailable
from identity.models import LoginCode, Voter
from identity.selectors import voter_find
from identity.services.ratelimit import ratelimit_client, ratelimit_hit

logger = logging.getLogger("pnyx.login")

CODE_DIGITS = 8
_CODE = re.compile(r"\d{8}\Z")
_SEPARATORS = re.compile(r"[\s\-]+")
#: no voter has this id (ids start at 1): the checks of an unknown voter run on it and find nothing
NO_VOTER = 0


def _code_hash(voter_id: int, code: str) -> str:
    return salted_hmac("pnyx.login-code", f"{voter_id}:{code}", algorithm="sha256").hexdigest()


def login_code_request(
    *, election: Model, identifier: str | None, email: str | None, client_ip: str
) -> None:
    """Ask for a login code. Answers the same whether or not the voter exists: queued, or
    :class:`LoginCodeUnavailable` when the broker cannot take the task now."""
    from identity.tasks import login_code_send

    _ratelimit(
        "login-request",
        election=election,
        client_ip=client_ip,
        per_client=settings.PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR,
        per_election=settings.PNYX_LOGIN_REQUESTS_PER_ELECTION,
    )
    election_id = str(election.pk)

    def send() -> None:
        try:
            task_send(login_code_send, election_id, identifier=identifier, email=email)
        except BrokerUnavailable as exc:
            raise LoginCodeUnavailable() from exc

    # Outside a transaction (the view) this runs at once, so that a broker that is down or
    # restarting is answered 503 within its time bound (config/broker.py), never a silent 202.
    transaction.on_commit(send)


def login_code_send(*, election_id: Any, identifier: str | None, email: str | None) -> bool:
    """Create a code for the voter (if on the roll and under its hourly limit) and e-mail it.
    Returns whether a code was sent (for tests; callers never tell the client). Raises
    :class:`~config.email.LocalEmailRefused`, whoever asks, when the e-mail would stay on this
    server outside a demo."""
    connection = secret_email_connection()
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
        connection=connection,
    )
    return True


def _ratelimit(
    scope: str, *, election: Model, client_ip: str, per_client: int, per_election: int
) -> None:
    """One hit per client per hour and one per election per ``PNYX_LOGIN_ELECTION_WINDOW_SECONDS``
    (many addresses together guessing codes or flooding one election's voters with e-mails)."""
    ratelimit_hit(scope=scope, ident=ratelimit_client(client_ip) or client_ip, limit=per_client)
    ratelimit_hit(
        scope=f"{scope}-election",
        ident=str(election.pk),
        limit=per_election,
        window_seconds=settings.PNYX_LOGIN_ELECTION_WINDOW_SECONDS,
    )


def login_code_verify(
    *,
    election: Model,
    identifier: str | None,
    email: str | None,
    code: str,
    client_ip: str,
) -> Voter:
    """Check a login code; return the voter, or raise :class:`InvalidLoginCode` (the same error
    for an unknown voter, a wrong, expired or used code).

    The same work whether or not the voter exists, so that its duration says nothing either:
    an unknown voter, or a code that is not 8 digits, is checked as voter :data:`NO_VOTER`,
    which has no codes. Every failed check therefore runs the same statements in one transaction
    (the two rate limits, the voter's row, the voter's live codes locked, their attempts counted)
    and one keyed hash; that transaction always writes (the rate-limit counts), so its commit
    costs the same too. Only the number of rows those statements find differs: the voter's live
    codes, none unless someone asked for one — which e-mails the real voter — and at most
    ``PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR``, each gone after ``PNYX_LOGIN_CODE_MAX_ATTEMPTS``
    wrong guesses (tests/identity/test_identity_login.py::test_a_check_does_the_same_work_for_anyone).
    """
    code = _SEPARATORS.sub("", code or "")
    with transaction.atomic():
        # past a limit the transaction rolls back: refused checks are not counted, nothing else
        # happened yet
        _ratelimit(
            "login-verify",
            election=election,
            client_ip=client_ip,
            per_client=settings.PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR,
            per_election=settings.PNYX_LOGIN_VERIFY_PER_ELECTION,
        )
        voter = voter_find(election_id=election.pk, identifier=identifier, email=email)
        voter_id = voter.pk if voter is not None and _CODE.match(code) else NO_VOTER
        given = _code_hash(voter_id, code)
        now = timezone.now()
        live = Q(
            voter_id=voter_id,
            used_at__isnull=True,
            expires_at__gt=now,
            attempts__lt=settings.PNYX_LOGIN_CODE_MAX_ATTEMPTS,
        )
        stored = LoginCode.objects.select_for_update().filter(live).values_list("code_hash")
        matched = False
        for (code_hash,) in stored:
            matched |= hmac.compare_digest(code_hash, given)  # every one compared, no early exit
        if matched:
            # Single use; any other code sent earlier is spent too.
            LoginCode.objects.filter(voter_id=voter_id, used_at__isnull=True).update(used_at=now)
        else:
            LoginCode.objects.filter(live).update(attempts=F("attempts") + 1)
    if not matched:
        raise InvalidLoginCode()
    return voter
