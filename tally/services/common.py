"""Helpers shared by the ceremony and tally services: locks, audit rows, envelopes, board reads.

Lock order, everywhere: the election row, then the ceremony or tally row, then the board head
(``board_append``). Voting's services lock the election first too, so the orders never cross.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from board.models import BoardEntry
from config.broker import BrokerUnavailable
from crypto.encoding import PROTOCOL_VERSION
from crypto.errors import CryptoError
from crypto.group import Point
from crypto.hashing import parse_json
from crypto.threshold import Ceremony, TrusteePublicKey, trustee_check_signature
from tally.errors import InvalidTrusteeMessage, InvalidTrusteeSignature, NoCeremony
from tally.models import KeyCeremony, Trustee
from voting.models import AuditEvent, Election

logger = logging.getLogger("pnyx.tally")

ENVELOPE_FIELDS = {"version", "election", "trustee", "kind", "message", "signature"}


def after_commit(func) -> None:
    """Send a task once the transaction commits. A broker that refuses it (down, restarting) is
    logged in one line (config/broker.py) and does not undo or fail what was committed: the
    sweeper (tally.services.heal) sends the step again once the tally or the ceremony has not
    moved for ``PNYX_STALL_SECONDS``."""

    def send() -> None:
        try:
            func()
        except BrokerUnavailable:
            pass  # logged by task_send; healed by the sweeper

    transaction.on_commit(send, robust=True)


def lock_election(election_id: Any) -> Election:
    return Election.objects.select_for_update().get(pk=election_id)


def lock_ceremony(election: Election) -> KeyCeremony:
    try:
        return KeyCeremony.objects.select_for_update().get(election=election)
    except KeyCeremony.DoesNotExist as exc:
        raise NoCeremony() from exc


def audit(election: Election | None, action: str, acting_user, **details: Any) -> None:
    actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
    AuditEvent.objects.create(election=election, action=action, actor=actor, details=details)


def entry_payload(entry: BoardEntry) -> dict:
    return parse_json(entry.line)["payload"]


def trustees_of(ceremony: KeyCeremony) -> list[Trustee]:
    return list(ceremony.trustees.order_by("index"))


def crypto_ceremony(ceremony: KeyCeremony, trustees: list[Trustee] | None = None) -> Ceremony:
    """The crypto parameters of a started ceremony (registered keys, threshold, context)."""
    trustees = trustees if trustees is not None else trustees_of(ceremony)
    return Ceremony(
        str(ceremony.election_id),
        ceremony.threshold,
        tuple(TrusteePublicKey(t.index, Point.from_hex(t.public_key), None) for t in trustees),
    )


def open_envelope(
    *, envelope: Any, election: Election, trustee: Trustee, ceremony: Ceremony
) -> tuple[str, Any]:
    """Check a trustee's signed envelope (tally/trustee_steps.py); return (kind, message)."""
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_FIELDS:
        raise InvalidTrusteeMessage(
            "A trustee message is a JSON object with the fields "
            + ", ".join(sorted(ENVELOPE_FIELDS))
            + "."
        )
    if envelope["version"] != PROTOCOL_VERSION:
        raise InvalidTrusteeMessage(f"Unsupported message version {envelope['version']!r}.")
    if envelope["election"] != str(election.pk):
        raise InvalidTrusteeMessage("The message is for another election.")
    if envelope["trustee"] != trustee.index:
        raise InvalidTrusteeMessage(f"The message is from trustee {envelope['trustee']!r}.")
    try:
        trustee_check_signature(envelope, trustee.index, ceremony)
    except CryptoError as exc:
        raise InvalidTrusteeSignature(
            f"The message is not signed by trustee {trustee.index}'s registered key."
        ) from exc
    return envelope["kind"], envelope["message"]
