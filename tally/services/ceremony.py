"""The t-of-n key ceremony (docs/protocol.md §8, docs/trustees.md), driven by what trustees send.

Phases: **registration** (each trustee registers its long-term key with its one-time enrolment
token: a ``trustee`` entry) → once every trustee is registered and the election is in
``key_ceremony``: the ``ceremony`` entry and **commit** (signed ``dkg-commitment``s) → once all n
committed: **deal** (signed ``dkg-deal``s) → once all dealt: **check** (each trustee checks its
shares: ``dkg-complaint``s, or nothing) → once all checked: **confirm** (``dkg-confirmation``s) →
once all confirmed: ``ceremony-result`` and the election key is installed
(``voting.services.elections.election_install_key``: state ``ready``).

A dealer whose deal fails the public checks, or against whom a complaint is justified, is
disqualified: the ceremony goes on with the others (QUAL); the disqualified trustee still holds a
share of the key made by the qualified dealers and may decrypt (its partial decryptions are
proven like anyone's). Officials can close the deal phase (trustees that did not deal are
disqualified), close the check phase (trustees that did not check are taken to have no
complaint) and finish the ceremony once at least t trustees confirmed. The commit phase cannot be
closed early: the board format requires a commitment from every trustee before any deal.

Each phase change dispatches the next step to the worker trustees' queues once the transaction
commits (offline trustees read the board and upload). Every accepted message is recorded once
(``CeremonyMessage``, unique per trustee and kind) in the transaction that appends its board
entry: a message delivered twice changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from board.models import BoardEntry
from board.services import board_append
from config.email import secret_email_connection
from crypto.encoding import PROTOCOL_VERSION
from crypto.errors import CryptoError
from crypto.threshold import (
    MAX_TRUSTEES,
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    TrusteePublicKey,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_verification_key,
    trustee_check_signature,
)
from tally.errors import (
    AlreadyRegistered,
    CeremonyInvalid,
    CeremonyNotConfigurable,
    CeremonyStepNotAllowed,
    EnrolmentRefused,
    InvalidTrusteeMessage,
    WrongPhase,
)
from tally.models import (
    CeremonyMessage,
    CeremonyPhase,
    KeyCeremony,
    MessageKind,
    Trustee,
    TrusteeMode,
    TrusteeState,
)
from tally.services.common import (
    after_commit,
    audit,
    crypto_ceremony,
    entry_payload,
    lock_ceremony,
    lock_election,
    logger,
    open_envelope,
    trustees_of,
)
from voting.models import Election, ElectionState
from voting.services.elections import election_install_key

S = ElectionState
P = CeremonyPhase
CONFIGURABLE_STATES = (S.DRAFT, S.KEY_CEREMONY)


# --- Set-up by the officials -------------------------------------------------------------------


def ceremony_setup_problems(*, threshold: Any, trustees: Sequence[dict]) -> list[str]:
    """What is wrong with n trustees (dicts with name, email, mode) and a threshold t."""
    problems = []
    n = len(trustees)
    if not 1 <= n <= MAX_TRUSTEES:
        problems.append(_("Name between 1 and %(max)d trustees.") % {"max": MAX_TRUSTEES})
    if not isinstance(threshold, int) or not 1 <= threshold <= max(n, 1):
        problems.append(
            _("The threshold must be between 1 and the number of trustees (%(n)d).") % {"n": n}
        )
    emails = set()
    for i, trustee in enumerate(trustees, start=1):
        name = str(trustee.get("name") or "").strip()
        if not name or len(name) > 200:
            problems.append(_("Trustee %(i)d: a name of 1 to 200 characters.") % {"i": i})
        email = str(trustee.get("email") or "").strip().lower()
        try:
            validate_email(email)
        except Exception:  # noqa: BLE001 - ValidationError: reported below
            problems.append(_("Trustee %(i)d: a valid e-mail address.") % {"i": i})
        if email in emails:
            problems.append(_("Trustee %(i)d: this e-mail address is used twice.") % {"i": i})
        emails.add(email)
        if trustee.get("mode", TrusteeMode.WORKER) not in TrusteeMode.values:
            problems.append(_("Trustee %(i)d: mode worker or offline.") % {"i": i})
    return problems


def ceremony_configurable_problems(*, election: Election) -> list[str]:
    problems = []
    if election.state not in CONFIGURABLE_STATES:
        problems.append(_("Trustees are named before the key ceremony (draft or key ceremony)."))
    if election.key_installed:
        problems.append(_("The election key is installed already."))
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is not None and (
        ceremony.phase != P.REGISTRATION or ceremony.trustees.exclude(public_key="").exists()
    ):
        problems.append(_("A trustee has registered: the trustees can no longer change."))
    return problems


@transaction.atomic
def ceremony_configure(
    *, election: Election, threshold: int, trustees: Sequence[dict], acting_user
) -> KeyCeremony:
    """Name the n trustees (name, e-mail, mode worker|offline; indices 1..n in this order) and the
    threshold t; replaces an earlier set-up as long as no trustee has registered."""
    election = lock_election(election.pk)
    problems = ceremony_configurable_problems(election=election)
    if problems:
        raise CeremonyNotConfigurable(" ".join(problems), details=problems)
    problems = ceremony_setup_problems(threshold=threshold, trustees=trustees)
    if problems:
        raise CeremonyInvalid(" ".join(problems), details=problems)
    ceremony, _created = KeyCeremony.objects.select_for_update().get_or_create(
        election=election, defaults={"threshold": threshold}
    )
    ceremony.threshold = threshold
    ceremony.save(update_fields=["threshold"])
    ceremony.trustees.all().delete()
    for index, trustee in enumerate(trustees, start=1):
        Trustee.objects.create(
            ceremony=ceremony,
            index=index,
            name=str(trustee["name"]).strip(),
            email=str(trustee["email"]).strip().lower(),
            mode=trustee.get("mode", TrusteeMode.WORKER),
        )
    ceremony_setup_recorded(ceremony=ceremony, acting_user=acting_user)
    return ceremony


def ceremony_setup_recorded(*, ceremony: KeyCeremony, acting_user) -> None:
    """After the set-up changed (service or admin form): the audit row."""
    audit(
        ceremony.election,
        "ceremony:configure",
        acting_user,
        threshold=ceremony.threshold,
        trustees=[
            {"index": t.index, "name": t.name, "mode": t.mode} for t in trustees_of(ceremony)
        ],
    )


# --- Enrolment -----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def trustee_enrolment_issue(*, trustee: Trustee, acting_user) -> str:
    """A fresh one-time enrolment token for ``trustee`` (replacing any earlier one). Only its
    hash is stored; the caller gives the token to the trustee (e-mail: :func:`trustee_invite`)."""
    trustee = Trustee.objects.select_for_update().select_related("ceremony").get(pk=trustee.pk)
    if trustee.public_key:
        raise AlreadyRegistered()
    # Hex, not URL-safe base64: a token starting with "-" would read as an option on
    # pnyx-trustee's command line (`--token -x…`), one time in 64.
    token = secrets.token_hex(24)
    trustee.enrolment_token_hash = _token_hash(token)
    trustee.enrolment_sent_at = timezone.now()
    trustee.save(update_fields=["enrolment_token_hash", "enrolment_sent_at"])
    audit(trustee.ceremony.election, "ceremony:enrolment", acting_user, trustee=trustee.index)
    return token


def trustee_invitation(*, trustee: Trustee, token: str) -> EmailMessage:
    election = trustee.ceremony.election
    base = settings.PNYX_BASE_URL
    context = {
        "trustee": trustee,
        "election": election,
        "threshold": trustee.ceremony.threshold,
        "n": trustee.ceremony.trustees.count(),
        "token": token,
        "base_url": base,
        "board_url": f"{base}/api/elections/{election.pk}/board.jsonl",
        "messages_url": f"{base}/api/elections/{election.pk}/trustees/{trustee.index}/messages/",
        "worker": trustee.mode == TrusteeMode.WORKER,
        "queue": trustee.queue,
    }
    return EmailMessage(
        subject=_("You are trustee %(index)s of “%(title)s”")
        % {"index": trustee.index, "title": election.title},
        body=render_to_string("tally/email/trustee_enrolment.txt", context),
        to=[trustee.email],
    )


def trustee_invite(*, trustee: Trustee, acting_user) -> None:
    """E-mail the trustee its enrolment token and instructions (docs/trustees.md)."""
    connection = secret_email_connection(fail_silently=False)  # before a token exists
    token = trustee_enrolment_issue(trustee=trustee, acting_user=acting_user)
    trustee.refresh_from_db()
    message = trustee_invitation(trustee=trustee, token=token)
    message.connection = connection
    message.send(fail_silently=False)


def ceremony_invite_problems(*, election: Election) -> list[str]:
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is None:
        return [_("Name the trustees first (Key ceremonies → Add).")]
    if ceremony.phase != P.REGISTRATION:
        return [_("Every trustee has registered.")]
    if not ceremony.trustees.filter(public_key="").exists():
        return [_("Every trustee has registered.")]
    return []


def ceremony_invite(*, election: Election, acting_user) -> int:
    """(Re-)send the enrolment e-mail to every trustee that has not registered yet."""
    problems = ceremony_invite_problems(election=election)
    if problems:
        raise CeremonyStepNotAllowed(" ".join(problems), details=problems)
    sent = 0
    for trustee in election.key_ceremony.trustees.filter(public_key="").order_by("index"):
        trustee_invite(trustee=trustee, acting_user=acting_user)
        sent += 1
    return sent


# --- Registration ----------------------------------------------------------------------------


def _trustee(ceremony: KeyCeremony, index: Any) -> Trustee:
    from tally.errors import UnknownTrustee

    trustee = (
        Trustee.objects.select_for_update().filter(ceremony=ceremony, index=index).first()
        if isinstance(index, int)
        else None
    )
    if trustee is None:
        raise UnknownTrustee()
    return trustee


def _record(
    ceremony: KeyCeremony,
    trustee: Trustee,
    kind: str,
    entry: BoardEntry | None,
    via: str,
    *,
    dealer: int = 0,
    valid: bool = True,
) -> CeremonyMessage:
    return CeremonyMessage.objects.create(
        ceremony=ceremony,
        trustee=trustee,
        kind=kind,
        dealer=dealer,
        entry=entry,
        valid=valid,
        via=via,
    )


def _received(ceremony: KeyCeremony, trustee: Trustee, kind: str) -> CeremonyMessage | None:
    return CeremonyMessage.objects.filter(ceremony=ceremony, trustee=trustee, kind=kind).first()


@transaction.atomic
def trustee_register(
    *, election: Election, index: int, token: Any, key: Any, via: str = "upload"
) -> dict:
    """Register trustee ``index``'s long-term key (``trustee`` entry), authenticated by its
    one-time enrolment token; the key's proof of knowledge is checked (§8.1)."""
    election = lock_election(election.pk)
    ceremony = lock_ceremony(election)
    trustee = _trustee(ceremony, index)
    try:
        public = TrusteePublicKey.from_json(key)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The registration is malformed: {exc}") from exc
    if trustee.public_key:
        if trustee.public_key == public.public_key.to_hex():
            return {"status": "duplicate", "kind": "registration"}
        raise AlreadyRegistered()
    if ceremony.phase != P.REGISTRATION or election.state not in CONFIGURABLE_STATES:
        raise WrongPhase("Registrations are closed: the key ceremony has started.")
    if (
        not isinstance(token, str)
        or not trustee.enrolment_token_hash
        or not hmac.compare_digest(_token_hash(token), trustee.enrolment_token_hash)
    ):
        raise EnrolmentRefused()
    if public.index != trustee.index:
        raise InvalidTrusteeMessage(f"The key is registered for trustee {public.index}.")
    try:
        public.verify(str(election.pk))
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The key's proof of knowledge fails: {exc}") from exc
    key_hex = public.public_key.to_hex()
    if ceremony.trustees.filter(public_key=key_hex).exists():
        raise InvalidTrusteeMessage("Another trustee registered this key.")
    entry = board_append(
        election_id=election.pk,
        kind="trustee",
        payload={"name": trustee.name, "key": public.to_json()},
    )
    trustee.public_key = key_hex
    trustee.state = TrusteeState.REGISTERED
    trustee.registered_at = timezone.now()
    trustee.enrolment_token_hash = ""  # one-time
    trustee.save(update_fields=["public_key", "state", "registered_at", "enrolment_token_hash"])
    _record(ceremony, trustee, MessageKind.REGISTRATION, entry, via)
    audit(election, "ceremony:register", None, trustee=trustee.index, seq=entry.seq)
    ceremony_start_if_ready(election=election, ceremony=ceremony)
    return {"status": "accepted", "kind": "registration", "entries": [entry.seq]}


def ceremony_start_if_ready(*, election: Election, ceremony: KeyCeremony) -> bool:
    """Inside a transaction holding the election and ceremony locks: once every trustee is
    registered and the election is in ``key_ceremony``, append the ``ceremony`` entry (§12.1) and
    ask the worker trustees to commit."""
    if ceremony.phase != P.REGISTRATION or election.state != S.KEY_CEREMONY:
        return False
    trustees = trustees_of(ceremony)
    if not trustees or any(not t.public_key for t in trustees):
        return False
    context = crypto_ceremony(ceremony, trustees).context
    board_append(
        election_id=election.pk,
        kind="ceremony",
        payload={
            "threshold": ceremony.threshold,
            "trustees": [
                {"index": t.index, "name": t.name, "public_key": t.public_key} for t in trustees
            ],
            "context": context,
        },
    )
    ceremony.context = context
    _enter(ceremony, P.COMMIT)
    return True


def ceremony_on_key_ceremony(*, election: Election) -> None:
    """The election entered ``key_ceremony`` (signal, inside that transaction)."""
    ceremony = KeyCeremony.objects.select_for_update().filter(election=election).first()
    if ceremony is not None:
        ceremony_start_if_ready(election=election, ceremony=ceremony)


def _enter(ceremony: KeyCeremony, phase: str, note: str = "") -> None:
    ceremony.phase = phase
    ceremony.phase_started_at = timezone.now()
    fields = ["phase", "phase_started_at", "context"]
    if note:
        ceremony.note = note
        fields.append("note")
    if phase in (P.DONE, P.FAILED):
        ceremony.finished_at = timezone.now()
        fields.append("finished_at")
    ceremony.save(update_fields=fields)
    if phase in (P.COMMIT, P.DEAL, P.CHECK, P.CONFIRM):
        from tally.services.dispatch import ceremony_dispatch

        ceremony_id = ceremony.pk
        # a broker that refuses it does not fail what was committed; the sweeper
        # (tally.services.heal) asks the trustees again once the phase stalls
        after_commit(lambda: ceremony_dispatch(ceremony_id=ceremony_id))


# --- Messages of the ceremony ------------------------------------------------------------------

_PHASE_OF_KIND = {
    "commitment": P.COMMIT,
    "deal": P.DEAL,
    "check": P.CHECK,
    "confirmation": P.CONFIRM,
}


@transaction.atomic
def ceremony_message_receive(
    *, election: Election, index: int, envelope: Any, via: str = "upload"
) -> dict:
    """A trustee's signed ceremony message: check it, append its board entries, move the phase."""
    election = lock_election(election.pk)
    ceremony = lock_ceremony(election)
    trustee = _trustee(ceremony, index)
    if ceremony.phase == P.REGISTRATION or not trustee.public_key:
        raise WrongPhase("The key ceremony has not started.")
    trustees = trustees_of(ceremony)
    crypto = crypto_ceremony(ceremony, trustees)
    kind, message = open_envelope(
        envelope=envelope, election=election, trustee=trustee, ceremony=crypto
    )
    if kind not in _PHASE_OF_KIND:
        raise InvalidTrusteeMessage(f"Unknown ceremony message kind {kind!r}.")
    if _received(ceremony, trustee, kind) is not None:
        return {"status": "duplicate", "kind": kind}
    if ceremony.phase != _PHASE_OF_KIND[kind]:
        raise WrongPhase(
            f"A {kind} is not expected now: the ceremony is at the "
            f"{CeremonyPhase(ceremony.phase).label.lower()} step."
        )
    handler = {
        "commitment": _on_commitment,
        "deal": _on_deal,
        "check": _on_check,
        "confirmation": _on_confirmation,
    }[kind]
    seqs = handler(election, ceremony, trustees, trustee, crypto, message, via)
    return {"status": "accepted", "kind": kind, "entries": seqs, "phase": ceremony.phase}


def _signed_by(
    message: Any, trustee: Trustee, crypto: Ceremony, what: str, field: str = "dealer"
) -> dict:
    if not isinstance(message, dict) or message.get(field) != trustee.index:
        raise InvalidTrusteeMessage(f"The {what} is not trustee {trustee.index}'s.")
    try:
        return trustee_check_signature(message, trustee.index, crypto)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The {what}'s signature (§8.9) fails: {exc}") from exc


def _all_sent(ceremony: KeyCeremony, kind: str, n: int) -> bool:
    return CeremonyMessage.objects.filter(ceremony=ceremony, kind=kind).count() == n


def _set_state(trustee: Trustee, state: str) -> None:
    trustee.state = state
    trustee.last_error = ""
    trustee.save(update_fields=["state", "last_error"])


def _on_commitment(election, ceremony, trustees, trustee, crypto, message, via) -> list[int]:
    inner = _signed_by(message, trustee, crypto, "commitment")
    try:
        DkgCommitment.from_json(inner)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The commitment is malformed: {exc}") from exc
    entry = board_append(election_id=election.pk, kind="dkg-commitment", payload=message)
    _record(ceremony, trustee, MessageKind.COMMITMENT, entry, via)
    _set_state(trustee, TrusteeState.COMMITTED)
    if _all_sent(ceremony, MessageKind.COMMITMENT, len(trustees)):
        _enter(ceremony, P.DEAL)
    return [entry.seq]


def _commitment_of(ceremony: KeyCeremony, trustee: Trustee) -> DkgCommitment:
    record = _received(ceremony, trustee, MessageKind.COMMITMENT)
    payload = {k: v for k, v in entry_payload(record.entry).items() if k != "signature"}
    return DkgCommitment.from_json(payload)


def _on_deal(election, ceremony, trustees, trustee, crypto, message, via) -> list[int]:
    inner = _signed_by(message, trustee, crypto, "deal")
    try:
        deal = DkgDeal.from_json(inner)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The deal is malformed: {exc}") from exc
    valid = True
    try:
        dkg_check_deal(_commitment_of(ceremony, trustee), deal, crypto)
    except CryptoError as exc:
        valid = False
        trustee.disqualified = f"invalid deal: {exc}"[:500]
        trustee.save(update_fields=["disqualified"])
    entry = board_append(election_id=election.pk, kind="dkg-deal", payload=message)
    _record(ceremony, trustee, MessageKind.DEAL, entry, via, valid=valid)
    _set_state(trustee, TrusteeState.DEALT)
    if _all_sent(ceremony, MessageKind.DEAL, len(trustees)):
        _enter(ceremony, P.CHECK)
    return [entry.seq]


def valid_deals(ceremony: KeyCeremony) -> dict[int, tuple[DkgDeal, dict]]:
    """dealer → (deal, signed board payload) for every deal that passed the public checks."""
    out = {}
    records = CeremonyMessage.objects.filter(
        ceremony=ceremony, kind=MessageKind.DEAL, valid=True
    ).select_related("trustee", "entry")
    for record in records:
        payload = entry_payload(record.entry)
        inner = {k: v for k, v in payload.items() if k != "signature"}
        out[record.trustee.index] = (DkgDeal.from_json(inner), payload)
    return dict(sorted(out.items()))


def qualified_deals(ceremony: KeyCeremony) -> dict[int, tuple[DkgDeal, dict]]:
    """QUAL (§8.7): valid deals of dealers that are not disqualified."""
    disqualified = set(ceremony.trustees.exclude(disqualified="").values_list("index", flat=True))
    return {i: d for i, d in valid_deals(ceremony).items() if i not in disqualified}


def _on_check(election, ceremony, trustees, trustee, crypto, message, via) -> list[int]:
    if (
        not isinstance(message, dict)
        or set(message) != {"version", "complaints"}
        or message["version"] != PROTOCOL_VERSION
        or not isinstance(message["complaints"], list)
    ):
        raise InvalidTrusteeMessage('A share check is {"version": 1, "complaints": [...]}.')
    deals = valid_deals(ceremony)
    judged: list[tuple[DkgComplaint, dict, bool]] = []
    seen = set()
    for i, raw in enumerate(message["complaints"]):
        try:
            complaint = DkgComplaint.from_json(raw)
        except CryptoError as exc:
            raise InvalidTrusteeMessage(f"Complaint {i} is malformed: {exc}") from exc
        if complaint.complainer != trustee.index or complaint.dealer in seen:
            raise InvalidTrusteeMessage(f"Complaint {i} is not this trustee's, or a repeat.")
        seen.add(complaint.dealer)
        found = deals.get(complaint.dealer)
        if found is None:
            continue  # against a dealer already out: moot (and no board entry)
        try:
            justified = dkg_judge_complaint(complaint, found[0], crypto)
        except CryptoError as exc:
            raise InvalidTrusteeMessage(f"Complaint {i} has an invalid proof: {exc}") from exc
        judged.append((complaint, raw, justified))
    _record(ceremony, trustee, MessageKind.CHECK, None, via)
    seqs = []
    by_index = {t.index: t for t in trustees}
    for complaint, raw, justified in judged:
        entry = board_append(election_id=election.pk, kind="dkg-complaint", payload=raw)
        _record(ceremony, trustee, MessageKind.COMPLAINT, entry, via, dealer=complaint.dealer)
        seqs.append(entry.seq)
        dealer = by_index[complaint.dealer]
        if justified and not dealer.disqualified:
            dealer.disqualified = f"justified complaint by trustee {trustee.index}"
            dealer.save(update_fields=["disqualified"])
        logger.info(
            "ceremony of %s: trustee %d complained about dealer %d (%s)",
            election.pk,
            trustee.index,
            complaint.dealer,
            "justified" if justified else "unjustified",
        )
    _set_state(trustee, TrusteeState.CHECKED)
    if _all_sent(ceremony, MessageKind.CHECK, len(trustees)):
        _enter_confirm(ceremony)
    return seqs


def _enter_confirm(ceremony: KeyCeremony) -> None:
    if not qualified_deals(ceremony):
        _enter(ceremony, P.FAILED, note="No dealer is qualified: the ceremony failed.")
        return
    _enter(ceremony, P.CONFIRM)


def _on_confirmation(election, ceremony, trustees, trustee, crypto, message, via) -> list[int]:
    inner = _signed_by(message, trustee, crypto, "confirmation", field="trustee")
    try:
        confirmation = DkgConfirmation.from_json(inner)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The confirmation is malformed: {exc}") from exc
    if confirmation.trustee != trustee.index:
        raise InvalidTrusteeMessage(f"The confirmation is trustee {confirmation.trustee}'s.")
    qualified = [deal for deal, _ in qualified_deals(ceremony).values()]
    try:
        dkg_check_confirmation(confirmation, qualified, crypto)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The confirmation does not check: {exc}") from exc
    entry = board_append(election_id=election.pk, kind="dkg-confirmation", payload=message)
    _record(ceremony, trustee, MessageKind.CONFIRMATION, entry, via)
    _set_state(trustee, TrusteeState.CONFIRMED)
    if _all_sent(ceremony, MessageKind.CONFIRMATION, len(trustees)):
        _finish(election, ceremony, trustees, crypto, acting_user=None)
    return [entry.seq]


def _finish(
    election: Election, ceremony: KeyCeremony, trustees: list[Trustee], crypto, acting_user
) -> None:
    """``ceremony-result`` (§12.1), then the election key is installed: state ``ready``."""
    qualified = [deal for deal, _ in qualified_deals(ceremony).values()]
    key = dkg_election_key(qualified)
    vkeys = [dkg_verification_key(qualified, t.index).to_hex() for t in trustees]
    disqualified = [
        {"dealer": t.index, "reason": t.disqualified} for t in trustees if t.disqualified
    ]
    board_append(
        election_id=election.pk,
        kind="ceremony-result",
        payload={
            "qualified": [d.dealer for d in qualified],
            "disqualified": disqualified,
            "public_key": key.to_json(),
            "verification_keys": vkeys,
        },
    )
    election_install_key(
        election=election,
        public_key=key.to_json(),
        verification_keys=vkeys,
        trustees=[{"name": t.name, "public_key": t.public_key} for t in trustees],
        threshold=ceremony.threshold,
        ceremony_context=crypto.context,
        acting_user=acting_user,
    )
    _enter(ceremony, P.DONE)
    logger.info("ceremony of %s done: qualified %s", election.pk, [d.dealer for d in qualified])


# --- Officials' interventions ------------------------------------------------------------------


def ceremony_close_deals_problems(*, election: Election) -> list[str]:
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is None or ceremony.phase != P.DEAL:
        return [_("The ceremony is not waiting for deals.")]
    if not CeremonyMessage.objects.filter(ceremony=ceremony, kind=MessageKind.DEAL).exists():
        return [_("No trustee has dealt yet.")]
    return []


@transaction.atomic
def ceremony_close_deals(*, election: Election, acting_user) -> KeyCeremony:
    """Stop waiting for deals: the trustees that did not deal are disqualified as dealers."""
    election = lock_election(election.pk)
    ceremony = lock_ceremony(election)
    problems = ceremony_close_deals_problems(election=election)
    if problems:
        raise CeremonyStepNotAllowed(" ".join(problems), details=problems)
    dealt = set(
        CeremonyMessage.objects.filter(ceremony=ceremony, kind=MessageKind.DEAL).values_list(
            "trustee_id", flat=True
        )
    )
    missing = []
    for trustee in trustees_of(ceremony):
        if trustee.pk not in dealt:
            trustee.disqualified = "no deal before the deal phase was closed"
            trustee.save(update_fields=["disqualified"])
            missing.append(trustee.index)
    audit(election, "ceremony:close-deals", acting_user, disqualified=missing)
    _enter(ceremony, P.CHECK)
    return ceremony


def ceremony_close_checks_problems(*, election: Election) -> list[str]:
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is None or ceremony.phase != P.CHECK:
        return [_("The ceremony is not waiting for share checks.")]
    return []


@transaction.atomic
def ceremony_close_checks(*, election: Election, acting_user) -> KeyCeremony:
    """Stop waiting for share checks: a trustee that did not check is taken to have no complaint
    (it may then hold an unusable share; the election needs t trustees with good ones)."""
    election = lock_election(election.pk)
    ceremony = lock_ceremony(election)
    problems = ceremony_close_checks_problems(election=election)
    if problems:
        raise CeremonyStepNotAllowed(" ".join(problems), details=problems)
    checked = set(
        CeremonyMessage.objects.filter(ceremony=ceremony, kind=MessageKind.CHECK).values_list(
            "trustee__index", flat=True
        )
    )
    missing = [t.index for t in trustees_of(ceremony) if t.index not in checked]
    audit(election, "ceremony:close-checks", acting_user, unchecked=missing)
    _enter_confirm(ceremony)
    return ceremony


def ceremony_finish_problems(*, election: Election) -> list[str]:
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is None or ceremony.phase != P.CONFIRM:
        return [_("The ceremony is not waiting for confirmations.")]
    confirmed = CeremonyMessage.objects.filter(
        ceremony=ceremony, kind=MessageKind.CONFIRMATION
    ).count()
    if confirmed < ceremony.threshold:
        return [
            _("%(c)d trustees confirmed; at least the threshold (%(t)d) must.")
            % {"c": confirmed, "t": ceremony.threshold}
        ]
    return []


@transaction.atomic
def ceremony_finish(*, election: Election, acting_user) -> KeyCeremony:
    """Finish with the confirmations received (at least t): publish the result, install the key."""
    election = lock_election(election.pk)
    ceremony = lock_ceremony(election)
    problems = ceremony_finish_problems(election=election)
    if problems:
        raise CeremonyStepNotAllowed(" ".join(problems), details=problems)
    trustees = trustees_of(ceremony)
    audit(election, "ceremony:finish", acting_user)
    _finish(election, ceremony, trustees, crypto_ceremony(ceremony, trustees), acting_user)
    return ceremony


def ceremony_resume_problems(*, election: Election) -> list[str]:
    ceremony = KeyCeremony.objects.filter(election=election).first()
    if ceremony is None or ceremony.phase not in (P.COMMIT, P.DEAL, P.CHECK, P.CONFIRM):
        return [_("The ceremony is not waiting for trustees.")]
    return []


def ceremony_resume(*, election: Election, acting_user) -> int:
    """Send the current step again to the worker trustees that have not answered it."""
    from tally.services.dispatch import ceremony_dispatch

    problems = ceremony_resume_problems(election=election)
    if problems:
        raise CeremonyStepNotAllowed(" ".join(problems), details=problems)
    audit(election, "ceremony:resume", acting_user)
    return ceremony_dispatch(ceremony_id=election.key_ceremony.pk)
