"""Voter login by a one-time code sent by e-mail.

A stolen credential alone cannot vote: casting also needs a voter session, which this login
gives. Codes are 8 random digits, valid ``PNYX_LOGIN_CODE_TTL_SECONDS``, single use, at most
``PNYX_LOGIN_CODE_MAX_ATTEMPTS`` guesses each, stored as a keyed hash and compared in constant
time. Requests and checks are rate-limited per client (an IPv4 address, an IPv6 /64) and per
election (answered with 429), and codes per voter (silently, so that the answer never says
whether a voter exists). The request endpoint does no voter-specific work at all: the Celery
task looks the voter up and sends the code. The check does the same work whether or not the
voter exists (:func:`login_code_verify`).

The same login serves every roll whose members log in by code: a :class:`LoginRoll` names the
roll's code table, how a member is found and what the e-mail says; the voters' roll
(:data:`VOTER_ROLL`) is one, a participatory process's residents (participation/) another.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Model, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from config.broker import BrokerUnavailable, task_send
from config.email import secret_email_connection
from config.languages import language_or_default
from identity.errors import InvalidLoginCode, LoginCodeUnavailable
from identity.models import LoginCode, OneTimeLoginCode, Voter
from identity.selectors import voter_find
from identity.services.ratelimit import ratelimit_client, ratelimit_hit

logger = logging.getLogger("pnyx.login")

CODE_DIGITS = 8
_CODE = re.compile(r"\d{8}\Z")
_SEPARATORS = re.compile(r"[\s\-]+")
#: no member has this id (ids start at 1): the checks of an unknown member run on it and find nothing
NO_VOTER = 0


@dataclass(frozen=True)
class LoginRoll:
    """A roll whose members log in by a one-time code e-mailed to them, within a container (an
    election, a process): everything the login needs to know about it."""

    #: the rate-limit scopes (``<name>-request``, ``<name>-verify`` and their per-container
    #: ``…-election`` twins) and the key of the codes' keyed hash
    name: str
    #: the roll's code table (a subclass of OneTimeLoginCode) and its foreign key to the member
    code_model: type[OneTimeLoginCode]
    member_field: str
    #: ``find(container_id=, identifier=, email=)``: the member, or None
    find: Callable[..., Any]
    #: ``email(member, code, minutes)``: the e-mail's subject and text, in the active language
    email: Callable[[Any, str, int], tuple[str, str]]
    #: the Celery task ``(container_id, *, identifier, email, language)`` that calls
    #: :func:`roll_code_send`
    task: Callable[[], Any]

    def code_hash(self, member_id: int, code: str) -> str:
        return salted_hmac(self.salt, f"{member_id}:{code}", algorithm="sha256").hexdigest()

    @property
    def salt(self) -> str:
        return "pnyx.login-code" if self.name == "login" else f"pnyx.{self.name}-code"


def _voter_email(voter: Voter, code: str, minutes: int) -> tuple[str, str]:
    election = voter.election
    text = render_to_string(
        "identity/email/login_code.txt",
        {"election": election, "code": code, "minutes": minutes, "voter": voter},
    )
    return gettext("Your login code: %(title)s") % {"title": election.title}, text


def _voter_find(*, container_id: Any, identifier: str | None, email: str | None) -> Voter | None:
    return voter_find(election_id=container_id, identifier=identifier, email=email)


def _voter_task():
    from identity.tasks import login_code_send

    return login_code_send


VOTER_ROLL = LoginRoll(
    name="login",
    code_model=LoginCode,
    member_field="voter",
    find=_voter_find,
    email=_voter_email,
    task=_voter_task,
)


def roll_code_request(
    *, roll: LoginRoll, container_id: Any, identifier: str | None, email: str | None, client_ip: str
) -> None:
    """Ask for a login code. Answers the same whether or not the member exists: queued, or
    :class:`LoginCodeUnavailable` when the broker cannot take the task now."""
    _ratelimit(
        f"{roll.name}-request",
        container_id=container_id,
        client_ip=client_ip,
        per_client=settings.PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR,
        per_election=settings.PNYX_LOGIN_REQUESTS_PER_ELECTION,
    )
    container = str(container_id)
    language = translation.get_language()  # the page's: the e-mail is written in it

    def send() -> None:
        try:
            task_send(roll.task(), container, identifier=identifier, email=email, language=language)
        except BrokerUnavailable as exc:
            raise LoginCodeUnavailable() from exc

    # Outside a transaction (the view) this runs at once, so that a broker that is down or
    # restarting is answered 503 within its time bound (config/broker.py), never a silent 202.
    transaction.on_commit(send)


def roll_code_send(
    *,
    roll: LoginRoll,
    container_id: Any,
    identifier: str | None,
    email: str | None,
    language: str | None = None,
) -> bool:
    """Create a code for the member (if on the roll and under its hourly limit) and e-mail it,
    in ``language`` (the page's where the code was asked for; the default language otherwise).
    Returns whether a code was sent (for tests; callers never tell the client). Raises
    :class:`~config.email.LocalEmailRefused`, whoever asks, when the e-mail would stay on this
    server outside a demo."""
    connection = secret_email_connection()
    member = roll.find(container_id=container_id, identifier=identifier, email=email)
    if member is None:
        return False
    now = timezone.now()
    codes = roll.code_model.objects
    recent = codes.filter(
        **{roll.member_field: member, "created_at__gte": now - timedelta(hours=1)}
    )
    if recent.count() >= settings.PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR:
        logger.info("login code not sent: %s %s is over its hourly limit", roll.name, member.pk)
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ttl = settings.PNYX_LOGIN_CODE_TTL_SECONDS
    codes.create(
        **{roll.member_field: member},
        code_hash=roll.code_hash(member.pk, code),
        expires_at=now + timedelta(seconds=ttl),
    )
    with translation.override(language_or_default(language)):
        subject, text = roll.email(member, code, ttl // 60)
        send_mail(
            subject=subject,
            message=text,
            from_email=None,
            recipient_list=[member.email],
            connection=connection,
        )
    return True


def _ratelimit(
    scope: str, *, container_id: Any, client_ip: str, per_client: int, per_election: int
) -> None:
    """One hit per client per hour and one per container per ``PNYX_LOGIN_ELECTION_WINDOW_SECONDS``
    (many addresses together guessing codes or flooding one election's voters with e-mails)."""
    ratelimit_hit(scope=scope, ident=ratelimit_client(client_ip) or client_ip, limit=per_client)
    ratelimit_hit(
        scope=f"{scope}-election",
        ident=str(container_id),
        limit=per_election,
        window_seconds=settings.PNYX_LOGIN_ELECTION_WINDOW_SECONDS,
    )


def roll_code_verify(
    *,
    roll: LoginRoll,
    container_id: Any,
    identifier: str | None,
    email: str | None,
    code: str,
    client_ip: str,
):
    """Check a login code; return the member, or raise :class:`InvalidLoginCode` (the same error
    for an unknown member, a wrong, expired or used code).

    The same work whether or not the member exists, so that its duration says nothing either:
    an unknown member, or a code that is not 8 digits, is checked as member :data:`NO_VOTER`,
    which has no codes. Every failed check therefore runs the same statements in one transaction
    (the two rate limits, the member's row, the member's live codes locked, their attempts
    counted) and one keyed hash; that transaction always writes (the rate-limit counts), so its
    commit costs the same too. Only the number of rows those statements find differs: the
    member's live codes, none unless someone asked for one — which e-mails the real member — and
    at most ``PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR``, each gone after
    ``PNYX_LOGIN_CODE_MAX_ATTEMPTS`` wrong guesses
    (tests/identity/test_identity_login.py::test_a_check_does_the_same_work_for_anyone).
    """
    code = _SEPARATORS.sub("", code or "")
    member_id_field = f"{roll.member_field}_id"
    codes = roll.code_model.objects
    with transaction.atomic():
        # past a limit the transaction rolls back: refused checks are not counted, nothing else
        # happened yet
        _ratelimit(
            f"{roll.name}-verify",
            container_id=container_id,
            client_ip=client_ip,
            per_client=settings.PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR,
            per_election=settings.PNYX_LOGIN_VERIFY_PER_ELECTION,
        )
        member = roll.find(container_id=container_id, identifier=identifier, email=email)
        member_id = member.pk if member is not None and _CODE.match(code) else NO_VOTER
        given = roll.code_hash(member_id, code)
        now = timezone.now()
        live = Q(
            **{member_id_field: member_id},
            used_at__isnull=True,
            expires_at__gt=now,
            attempts__lt=settings.PNYX_LOGIN_CODE_MAX_ATTEMPTS,
        )
        stored = codes.select_for_update().filter(live).values_list("code_hash")
        matched = False
        for (code_hash,) in stored:
            matched |= hmac.compare_digest(code_hash, given)  # every one compared, no early exit
        if matched:
            # Single use; any other code sent earlier is spent too.
            codes.filter(**{member_id_field: member_id}, used_at__isnull=True).update(used_at=now)
        else:
            codes.filter(live).update(attempts=F("attempts") + 1)
    if not matched:
        raise InvalidLoginCode()
    return member


# --- Voters ---------------------------------------------------------------------------------------


def login_code_request(
    *, election: Model, identifier: str | None, email: str | None, client_ip: str
) -> None:
    """A voter asks for a login code (:func:`roll_code_request`)."""
    roll_code_request(
        roll=VOTER_ROLL,
        container_id=election.pk,
        identifier=identifier,
        email=email,
        client_ip=client_ip,
    )


def login_code_send(
    *, election_id: Any, identifier: str | None, email: str | None, language: str | None = None
) -> bool:
    """E-mail a voter a login code (:func:`roll_code_send`)."""
    return roll_code_send(
        roll=VOTER_ROLL,
        container_id=election_id,
        identifier=identifier,
        email=email,
        language=language,
    )


def login_code_verify(
    *,
    election: Model,
    identifier: str | None,
    email: str | None,
    code: str,
    client_ip: str,
) -> Voter:
    """Check a voter's login code (:func:`roll_code_verify`)."""
    return roll_code_verify(
        roll=VOTER_ROLL,
        container_id=election.pk,
        identifier=identifier,
        email=email,
        code=code,
        client_ip=client_ip,
    )
