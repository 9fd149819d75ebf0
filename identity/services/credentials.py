"""The credential authority (Belenios-style): one secret code per voter, public keys on the board.

Two ways to run it:

* **On the server** (:func:`credentials_issue_request` → Celery → :func:`credentials_issue_run`):
  the worker generates the codes in memory, e-mails each voter its code in batches, then
  publishes the public list. A code exists only in the e-mail being sent: it is never stored,
  logged, returned or passed through the task broker.
* **Offline, by an independent authority** (``manage.py credentials generate`` then
  ``… upload``): :func:`credentials_generate` makes the codes and the public file on the
  authority's machine; :func:`credentials_publish_file` checks and publishes the public file.

The published list is sorted by public key, so its order says nothing about the roll; the board
entry holds it with its digest (crypto.manifest.credentials_digest), count and total weight.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from board.elections import ElectionState
from board.models import BoardEntry
from board.services import board_append
from config.broker import BrokerUnavailable, task_send
from config.email import secret_email_connection
from config.languages import language_or_default
from crypto.credentials import derive_signing_key, format_code, generate_code
from crypto.encoding import PROTOCOL_VERSION, expect_int, expect_list, expect_object
from crypto.errors import CryptoError
from crypto.hashing import parse_json
from crypto.manifest import Credential, credentials_digest, credentials_entries
from identity.errors import (
    CredentialIssuanceInProgress,
    CredentialIssuanceNotStarted,
    CredentialsAlreadyPublished,
    CredentialsInvalid,
    CredentialsNotAllowed,
    NoVoters,
)
from identity.models import CredentialIssuance, IssuanceStatus, PublicCredential, Voter

logger = logging.getLogger("pnyx.credentials")

ISSUABLE_STATES = (ElectionState.DRAFT, ElectionState.KEY_CEREMONY, ElectionState.READY)


class IssuedCredential:
    """A voter's secret code, in memory only, on its way into one e-mail (or the private file)."""

    __slots__ = ("identifier", "email", "weight", "code")

    def __init__(self, identifier: str, email: str, weight: int, code: str) -> None:
        self.identifier, self.email, self.weight, self.code = identifier, email, weight, code

    def __repr__(self) -> str:
        return f"IssuedCredential({self.identifier!r}, code=<redacted>)"


@dataclass(frozen=True)
class RollEntry:
    identifier: str
    email: str
    weight: int


def credentials_generate(
    *, election_uuid: str, roll: Iterable[RollEntry]
) -> tuple[list[IssuedCredential], list[Credential]]:
    """A fresh code per voter and the public credential list (sorted by public key)."""
    issued, public = [], []
    for voter in roll:
        code = generate_code()
        key = derive_signing_key(code, election_uuid)
        issued.append(IssuedCredential(voter.identifier, voter.email, voter.weight, code))
        public.append(Credential(key.public, voter.weight))
    public.sort(key=lambda c: c.public_key.to_hex())
    return issued, public


def public_credentials_file(*, election_uuid: str, credentials: Sequence[Credential]) -> dict:
    """The public file an offline authority hands to the officials (``credentials upload``)."""
    return {
        "version": PROTOCOL_VERSION,
        "election": election_uuid,
        "credentials": [c.to_json() for c in credentials],
        "count": len(credentials),
        "total_weight": sum(c.weight for c in credentials),
        "digest": credentials_digest(list(credentials)),
    }


def public_credentials_parse(*, data: bytes | str, election_uuid: str) -> list[Credential]:
    """Validate a public credential file (strict JSON, every key a curve point, sorted, no
    duplicate, count/total/digest consistent, for this election)."""
    try:
        obj = expect_object(
            parse_json(data),
            ("version", "election", "credentials", "count", "total_weight", "digest"),
            "public credential file",
        )
        if obj["version"] != PROTOCOL_VERSION:
            raise CryptoError(f"unsupported version {obj['version']!r}")
        if obj["election"] != election_uuid:
            raise CryptoError(f"the file is for election {obj['election']!r}, not this one")
        items = expect_list(obj["credentials"], "credentials", min_length=1)
        credentials = [
            Credential.from_json(item, f"credentials[{i}]") for i, item in enumerate(items)
        ]
        digest = credentials_digest(credentials)
        if expect_int(obj["count"], "count") != len(credentials):
            raise CryptoError("count does not match the list")
        if expect_int(obj["total_weight"], "total_weight") != sum(c.weight for c in credentials):
            raise CryptoError("total_weight does not match the list")
        if obj["digest"] != digest:
            raise CryptoError("digest does not match the list")
    except CryptoError as exc:
        raise CredentialsInvalid(f"The public credential file is not valid: {exc}") from exc
    return credentials


def _require_issuable(election: Model) -> None:
    if election.credentials_published:
        raise CredentialsAlreadyPublished()
    if election.state not in ISSUABLE_STATES:
        raise CredentialsNotAllowed()


@transaction.atomic
def credentials_publish(
    *, election: Model, credentials: Sequence[Credential], acting_user, source: str
) -> BoardEntry:
    """Publish the public credential list: the ``credentials`` board entry, the lookup table used
    when casting, and the digest the manifest will carry. The list must match the roll: one
    credential per voter with the same weights."""
    election.refresh_from_db(from_queryset=type(election).objects.select_for_update())
    _require_issuable(election)
    weights = sorted(Voter.objects.filter(election=election).values_list("weight", flat=True))
    if not weights:
        raise NoVoters()
    try:
        digest = credentials_digest(list(credentials))
    except CryptoError as exc:
        raise CredentialsInvalid(f"The credential list is not valid: {exc}") from exc
    if sorted(c.weight for c in credentials) != weights:
        raise CredentialsInvalid(
            f"The list has {len(credentials)} credentials; the roll has {len(weights)} voters. "
            "There must be one credential per voter, with the same weights."
        )
    listed = [c.to_json() for c in credentials]
    total = sum(weights)
    PublicCredential.objects.bulk_create(
        (
            PublicCredential(election=election, public_key=c["public_key"], weight=c["weight"])
            for c in listed
        ),
        batch_size=5000,
    )
    election.credentials_digest = digest
    election.credentials_count = len(listed)
    election.credentials_total_weight = total
    election.save(
        update_fields=[
            "credentials_digest",
            "credentials_count",
            "credentials_total_weight",
            "updated_at",
        ]
    )
    # parts of ≤ 10,000 credentials each (docs/protocol.md §10): no board line grows with the roll
    for payload in credentials_entries(list(credentials)):
        entry = board_append(election_id=election.pk, kind="credentials", payload=payload)
    actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
    election.audit_events.create(
        action="credentials:publish",
        actor=actor,
        details={"source": source, "count": len(listed), "digest": digest},
    )
    return entry


def credentials_publish_file(*, election: Model, data: bytes | str, acting_user) -> BoardEntry:
    """Check and publish the public file of an offline credential authority."""
    credentials = public_credentials_parse(data=data, election_uuid=str(election.pk))
    return credentials_publish(
        election=election, credentials=credentials, acting_user=acting_user, source="upload"
    )


# --- The server-side authority -----------------------------------------------------------------


def booth_url(*, election: Model, code: str) -> str:
    """The voting booth link of an e-mail; the code travels in the fragment, which browsers
    never send to the server."""
    return f"{settings.PNYX_BASE_URL}/e/{election.slug}/vote#credential={format_code(code)}"


def credential_email(*, election: Model, issued: IssuedCredential) -> EmailMessage:
    context = {
        "election": election,
        "identifier": issued.identifier,
        "weight": issued.weight,
        "code": format_code(issued.code),
        "booth_url": booth_url(election=election, code=issued.code),
        "base_url": settings.PNYX_BASE_URL,
    }
    return EmailMessage(
        subject=gettext("Your voting credential: %(title)s") % {"title": election.title},
        body=render_to_string("identity/email/credential.txt", context),
        to=[issued.email],
    )


@transaction.atomic
def credentials_issue_request(*, election: Model, acting_user) -> CredentialIssuance:
    """Start the server-side credential authority for ``election`` (runs in a Celery worker)."""
    from identity.tasks import credentials_issue

    election.refresh_from_db(from_queryset=type(election).objects.select_for_update())
    _require_issuable(election)
    secret_email_connection()  # refuses at once when the codes could not leave this server
    voters = Voter.objects.filter(election=election).count()
    if not voters:
        raise NoVoters()
    if (
        CredentialIssuance.objects.filter(election=election)
        .exclude(status=IssuanceStatus.FAILED)
        .exists()
    ):
        raise CredentialIssuanceInProgress()
    issuance = CredentialIssuance.objects.create(
        election=election,
        requested_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        voters=voters,
        language=language_or_default(translation.get_language()),
    )
    actor = issuance.requested_by
    election.audit_events.create(
        action="credentials:issue", actor=actor, details={"voters": voters}
    )
    issuance_id = issuance.pk

    def send() -> None:
        try:
            task_send(credentials_issue, issuance_id)
        except BrokerUnavailable as exc:
            # Nothing was generated or sent: the run is marked failed at once (officials may
            # start another) and the official is told now rather than finding it stuck.
            CredentialIssuance.objects.filter(pk=issuance_id, status=IssuanceStatus.PENDING).update(
                status=IssuanceStatus.FAILED,
                finished_at=timezone.now(),
                error=CredentialIssuanceNotStarted.message,
            )
            raise CredentialIssuanceNotStarted() from exc

    transaction.on_commit(send)
    return issuance


def _issuance_update(issuance: CredentialIssuance, **fields: Any) -> None:
    CredentialIssuance.objects.filter(pk=issuance.pk).update(**fields)
    for name, value in fields.items():
        setattr(issuance, name, value)


def credentials_issue_run(*, issuance_id: int) -> CredentialIssuance:
    """Generate, e-mail and publish (the body of the Celery task; safe to run twice).

    A run that was interrupted before publishing starts over with fresh codes: nothing of the
    earlier codes was published, and every e-mail says that it replaces any earlier one. Once
    published, running again does nothing. A failure (SMTP…) marks the run failed and publishes
    nothing; officials may then start a new run.
    """
    with transaction.atomic():
        issuance = (
            CredentialIssuance.objects.select_for_update(of=("self",))
            .select_related("election", "requested_by")
            .get(pk=issuance_id)
        )
        if issuance.status in (IssuanceStatus.PUBLISHED, IssuanceStatus.FAILED):
            return issuance
        _issuance_update(
            issuance,
            status=IssuanceStatus.RUNNING,
            started_at=timezone.now(),
            attempts=issuance.attempts + 1,
            emails_sent=0,
        )
    election = issuance.election
    issued: list[IssuedCredential] = []
    try:
        election.refresh_from_db()
        _require_issuable(election)
        roll = [
            RollEntry(identifier, email, weight)
            for identifier, email, weight in Voter.objects.filter(election=election)
            .order_by("pk")
            .values_list("identifier", "email", "weight")
        ]
        if not roll:
            raise NoVoters()
        issued, public = credentials_generate(election_uuid=str(election.pk), roll=roll)
        batch = max(1, settings.PNYX_CREDENTIAL_EMAIL_BATCH)
        sent = 0
        for start in range(0, len(issued), batch):
            with translation.override(language_or_default(issuance.language)):
                messages = [
                    credential_email(election=election, issued=item)
                    for item in issued[start : start + batch]
                ]
            with secret_email_connection(fail_silently=False) as connection:
                sent += connection.send_messages(messages) or 0
            _issuance_update(issuance, emails_sent=sent)
        issued.clear()
        credentials_publish(
            election=election,
            credentials=public,
            acting_user=issuance.requested_by,
            source="authority",
        )
        _issuance_update(issuance, status=IssuanceStatus.PUBLISHED, finished_at=timezone.now())
        logger.info("credentials published for election %s: %d voters", election.pk, len(public))
    except Exception as exc:
        issued.clear()
        message = getattr(exc, "message", None) or type(exc).__name__
        logger.exception("credential issuance %s failed: %s", issuance.pk, type(exc).__name__)
        _issuance_update(
            issuance, status=IssuanceStatus.FAILED, finished_at=timezone.now(), error=message
        )
    return issuance
