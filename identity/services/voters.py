"""The voter roll: CSV import (all or nothing, with a line-by-line report) and turnout marks."""

from __future__ import annotations

import csv
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.models import F, Model
from django.utils import timezone

from board.elections import ElectionState
from board.tree import board_db_key
from crypto.manifest import MAX_WEIGHT
from identity.errors import (
    AuditLimitReached,
    CredentialMismatch,
    CredentialTaken,
    RateLimited,
    RevoteRateLimited,
    RollFrozen,
    RollInvalid,
)
from identity.models import Voter
from identity.services.ratelimit import ratelimit_hit

HEADERS = (["identifier", "email"], ["identifier", "email", "weight"])
MAX_IDENTIFIER = 200
MAX_EMAIL = 254
MAX_REPORTED_ERRORS = 1000
BATCH = 5000
_email_valid = EmailValidator()

# --- Turnout -------------------------------------------------------------------------------------


def voted_day(now: datetime) -> datetime:
    """What is recorded of when a voter voted: the day (UTC). Only the day is kept, and only the
    first time, so that the roll cannot be matched to ballots by their time."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def voter_mark_voted(*, voter_id: int, election_id: Any, now: datetime) -> None:
    """Record that the voter voted (:func:`voted_day`)."""
    day = voted_day(now)
    # Plain SQL: casting's hot path (docs/performance-cast.md).
    sql = (
        f"UPDATE {Voter._meta.db_table} SET voted_at = %s"  # noqa: S608 - the model's table
        " WHERE id = %s AND election_id = %s AND voted_at IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, voter_id, board_db_key(election_id)])


# --- The credential a voter votes with ---------------------------------------------------------
#
# A voter's first ballot binds its login to the ballot's credential (as Belenios does): a later
# ballot or audit of the voter with another credential is refused, and so is a ballot of another
# voter with that credential. The server learns which login casts which ballot anyway; what it
# keeps is a keyed tag of the credential, so that the voter table alone (a backup, a dump) does
# not link the roll to the board. The key is derived from the board's signing key, which stays the
# same for the life of the elections (a new key would make every binding look like another
# credential). Only audits read bindings, and only the casting append writes them, both under
# the board lock (voting.services.casting; the PL/pgSQL append, voting/migrations/0006).


@cache
def _binding_key() -> bytes:
    return hmac.new(
        settings.BOARD_SIGNING_KEY, b"PNYX-V1/credential-binding-key", hashlib.sha256
    ).digest()


def credential_tag(*, election_id: Any, credential: str) -> str:
    """The keyed tag (64 hex) stored for a voter bound to ``credential`` (public key hex)."""
    message = f"{uuid.UUID(str(election_id))}\x00{credential}".encode()
    return hmac.new(_binding_key(), message, hashlib.sha256).hexdigest()


def voter_credential_check(
    *, voter_id: int, election_id: Any, tag: str, bind: bool, now: datetime | None = None
) -> None:
    """Under the board lock: may the voter use the credential of ``tag``? Raise
    :class:`CredentialMismatch` (bound to another) or :class:`CredentialTaken` (another voter is
    bound to it). With ``bind`` (a cast ballot), bind an unbound voter to it and record the day
    of the first ballot (:func:`voted_day`); an audit never binds. (Other databases than
    PostgreSQL; there the append statement does the same.)"""
    bound = Voter.objects.filter(pk=voter_id, election_id=election_id).values_list(
        "credential_tag", flat=True
    )
    bound = bound.get()
    if bound is not None:
        if bound != tag:
            raise CredentialMismatch()
        return
    if Voter.objects.filter(election_id=election_id, credential_tag=tag).exists():
        raise CredentialTaken()
    if bind:
        Voter.objects.filter(pk=voter_id, credential_tag__isnull=True).update(credential_tag=tag)
        voter_mark_voted(voter_id=voter_id, election_id=election_id, now=now or timezone.now())


def voter_revote_count(*, voter_id: int) -> None:
    """Count one more revote (a ballot after the first) of the voter; past
    ``PNYX_REVOTES_PER_VOTER_PER_HOUR`` in the current clock hour, raise
    :class:`RevoteRateLimited` with the seconds left in the hour. Counted once the ballot is
    verified and before it is appended: a revote the append refuses still counts."""
    window = 3600
    try:
        ratelimit_hit(
            scope="revote",
            ident=str(voter_id),
            limit=settings.PNYX_REVOTES_PER_VOTER_PER_HOUR,
            window_seconds=window,
        )
    except RateLimited as exc:
        left = window - int(timezone.now().timestamp()) % window
        raise RevoteRateLimited(retry_after=left) from exc


def voter_audit_count(*, voter_id: int, election_id: Any) -> None:
    """Count one more Benaloh audit for the voter, within ``PNYX_AUDITS_PER_VOTER``."""
    updated = Voter.objects.filter(
        pk=voter_id, election_id=election_id, audits__lt=settings.PNYX_AUDITS_PER_VOTER
    ).update(audits=F("audits") + 1)
    if not updated:
        raise AuditLimitReached()


# --- Roll import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollRow:
    line: int
    identifier: str
    email: str
    weight: int


@dataclass
class RollReport:
    """The outcome of reading a roll: rows when valid, else every problem with its line."""

    lines: int = 0
    rows: list[RollRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, message))

    def as_details(self) -> dict:
        return {
            "lines": self.lines,
            "error_count": self.error_count,
            "errors": [{"line": line, "message": message} for line, message in self.errors],
            "truncated": self.error_count > len(self.errors),
        }


def _decoded_lines(lines: Iterable[bytes], report: RollReport) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(lines, start=1):
        report.lines = number
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            report.error(number, "not valid UTF-8 text")
            continue
        yield number, text.rstrip("\r\n")


def roll_csv_rows(lines: Iterable[bytes], report: RollReport) -> Iterator[tuple[int, list[str]]]:
    """The non-blank lines of a CSV roll as ``(line number, stripped cells)``, one line at a time
    (files of any size stream through); lines that are not UTF-8 or not CSV go to the report."""
    for number, text in _decoded_lines(lines, report):
        if not text.strip():
            continue
        try:
            cells = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            report.error(number, f"not a CSV line ({exc})")
            continue
        yield number, [cell.strip() for cell in cells]


def roll_identifier_problem(identifier: str) -> str | None:
    """What is wrong with an identifier of a roll, or ``None``."""
    if not identifier:
        return "the identifier is empty"
    if len(identifier) > MAX_IDENTIFIER:
        return f"the identifier is longer than {MAX_IDENTIFIER} characters"
    if not identifier.isprintable():
        return "the identifier contains control characters"
    return None


def roll_email_problem(email: str) -> str | None:
    """What is wrong with an e-mail address of a roll (already in lower case), or ``None``."""
    try:
        if len(email) > MAX_EMAIL:
            raise ValidationError("too long")
        _email_valid(email)
    except ValidationError:
        return f"{email!r} is not a valid e-mail address"
    return None


class RollMembers:
    """The members of a roll file being read: each identifier and e-mail address (already in
    lower case) must be valid, stand once in the file and not be on the roll already (``roll``
    names it in the messages: "election's", "process's")."""

    def __init__(self, *, taken_identifiers: set[str], taken_emails: set[str], roll: str) -> None:
        self.taken_identifiers, self.taken_emails, self.roll = (
            taken_identifiers,
            taken_emails,
            roll,
        )
        self.identifiers: dict[str, int] = {}
        self.emails: dict[str, int] = {}

    def problems(self, number: int, identifier: str, email: str) -> list[str]:
        """What is wrong with the member on line ``number`` (nothing: an empty list)."""
        problems = []
        problem = roll_identifier_problem(identifier)
        if problem:
            problems.append(problem)
        elif identifier in self.identifiers:
            problems.append(f"duplicate identifier (also on line {self.identifiers[identifier]})")
        elif identifier in self.taken_identifiers:
            problems.append(f"this identifier is already on the {self.roll} roll")
        problem = roll_email_problem(email)
        if problem:
            problems.append(problem)
        elif email in self.emails:
            problems.append(f"duplicate e-mail address (also on line {self.emails[email]})")
        elif email in self.taken_emails:
            problems.append(f"this e-mail address is already on the {self.roll} roll")
        self.identifiers.setdefault(identifier, number)
        self.emails.setdefault(email, number)
        return problems


def roll_read(
    lines: Iterable[bytes],
    *,
    existing_identifiers: set[str] = frozenset(),
    existing_emails: set[str] = frozenset(),
) -> RollReport:
    """Read a CSV voter roll, one line at a time (files of any size stream through).

    Columns ``identifier,email[,weight]``; an optional first line ``identifier,email[,weight]``
    is a header; blank lines are ignored; the weight defaults to 1. E-mail addresses compare
    case-insensitively and are stored in lower case.
    """
    report = RollReport()
    members = RollMembers(
        taken_identifiers=existing_identifiers, taken_emails=existing_emails, roll="election's"
    )
    first = True
    for number, cells in roll_csv_rows(lines, report):
        if first:
            first = False
            if [cell.lower() for cell in cells] in HEADERS:
                continue
        if len(cells) not in (2, 3):
            report.error(
                number, f"expected 2 or 3 columns (identifier,email[,weight]), found {len(cells)}"
            )
            continue
        identifier, email = cells[0], cells[1].lower()
        weight_text = cells[2] if len(cells) == 3 else ""
        problems = members.problems(number, identifier, email)
        weight = 1
        if weight_text:
            if not weight_text.isdigit() or not 1 <= int(weight_text) <= MAX_WEIGHT:
                problems.append(
                    f"the weight {weight_text!r} is not an integer from 1 to {MAX_WEIGHT}"
                )
            else:
                weight = int(weight_text)
        if problems:
            report.error(number, "; ".join(problems))
        elif report.ok:
            report.rows.append(RollRow(number, identifier, email, weight))
    if report.ok and not report.rows:
        report.error(report.lines or 1, "the file lists no voter")
    if not report.ok:
        report.rows = []
    return report


def roll_editable(election: Model) -> bool:
    """Voters may be added, changed or removed until credentials are issued for them."""
    from identity.models import CredentialIssuance, IssuanceStatus

    if election.credentials_published or election.state not in (
        ElectionState.DRAFT,
        ElectionState.KEY_CEREMONY,
        ElectionState.READY,
    ):
        return False
    return not CredentialIssuance.objects.filter(
        election=election, status__in=(IssuanceStatus.PENDING, IssuanceStatus.RUNNING)
    ).exists()


def _require_roll_editable(election: Model) -> None:
    if not roll_editable(election):
        raise RollFrozen()


@transaction.atomic
def voter_roll_import(*, election: Model, lines: Iterable[bytes], acting_user) -> RollReport:
    """Add the voters of a CSV roll to the election: all of them, or none if any line is bad
    (raises :class:`RollInvalid` whose ``details`` is the report)."""
    election.refresh_from_db(from_queryset=type(election).objects.select_for_update())
    _require_roll_editable(election)
    existing = Voter.objects.filter(election=election)
    report = roll_read(
        lines,
        existing_identifiers=set(existing.values_list("identifier", flat=True)),
        existing_emails=set(existing.values_list("email", flat=True)),
    )
    if not report.ok:
        raise RollInvalid(
            f"The voter roll has {report.error_count} error(s): nothing was imported.",
            details=report.as_details(),
        )
    for start in range(0, len(report.rows), BATCH):
        Voter.objects.bulk_create(
            Voter(election=election, identifier=r.identifier, email=r.email, weight=r.weight)
            for r in report.rows[start : start + BATCH]
        )
    actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
    election.audit_events.create(
        action="roll:import", actor=actor, details={"voters": len(report.rows)}
    )
    return report
