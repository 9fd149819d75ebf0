"""An election's life cycle: draft → key_ceremony → ready → open → closed → tallying → tallied.

Each transition locks the election row, checks that it is allowed, changes the state and appends
a ``state`` entry to the board (plus a private ``AuditEvent`` naming the official), all in one
transaction. Disallowed transitions raise :class:`~voting.errors.TransitionNotAllowed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from board.models import BoardEntry
from board.services import board_append, board_create
from crypto.encoding import read_point
from crypto.errors import CryptoError, InvalidEncoding
from crypto.group import Point, multi_mul
from crypto.hashing import canonical_json, check_digest_hex, parse_json
from crypto.manifest import Manifest
from crypto.threshold import MAX_TRUSTEES, Ceremony, TrusteePublicKey, lagrange_coefficients
from voting.errors import (
    CredentialsNotPublished,
    InvalidCeremonyOutput,
    ManifestInvalid,
    QuestionsInvalid,
    TransitionNotAllowed,
    VotingWindowOver,
)
from voting.models import AuditEvent, Election, ElectionState
from voting.services.manifest import (
    ballot_size_estimate,
    election_question_problems,
    manifest_build,
)
from voting.signals import election_state_changed

S = ElectionState


def _locked(election: Election) -> Election:
    """Re-read the election under a row lock: transitions of one election are serialised."""
    election.refresh_from_db(from_queryset=Election.objects.select_for_update())
    return election


def _audit(election: Election | None, action: str, acting_user, **details: Any) -> None:
    actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
    AuditEvent.objects.create(election=election, action=action, actor=actor, details=details)


def _require_state(election: Election, allowed: Sequence[str], action: str) -> None:
    if election.state not in allowed:
        names = ", ".join(S(s).label.lower() for s in allowed)
        raise TransitionNotAllowed(
            f"Cannot {action}: the election is {S(election.state).label.lower()} "
            f"(this is possible when it is {names}).",
            details={"state": election.state, "allowed": list(allowed)},
        )


def _set_state(election: Election, to: str, acting_user, reason: str = "", **extra: Any) -> None:
    previous = election.state
    election.state = to
    election.save(update_fields=["state", "updated_at"])
    board_append(
        election_id=election.pk,
        kind="state",
        payload={"from": previous, "to": to, "reason": reason},
    )
    _audit(election, f"state:{to}", acting_user, previous=previous, reason=reason, **extra)
    election_state_changed.send(sender=Election, election=election, previous=previous, state=to)


# --- Creation ----------------------------------------------------------------------------------


@transaction.atomic
def election_create(
    *,
    slug: str,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    description: str = "",
    witness_quorum: int = 0,
    acting_user=None,
) -> Election:
    """Create a draft election and its board (genesis entry)."""
    election = Election(
        slug=slug,
        title=title,
        description=description,
        opens_at=opens_at,
        closes_at=closes_at,
        witness_quorum=witness_quorum,
    )
    election.full_clean()
    election.save(force_insert=True)
    board_create(election_id=election.pk, slug=election.slug, title=election.title)
    _audit(election, "create", acting_user, slug=slug)
    return election


# --- Key ceremony ------------------------------------------------------------------------------


@transaction.atomic
def election_start_ceremony(*, election: Election, acting_user) -> Election:
    """draft → key_ceremony: the questions are frozen and the trustees' ceremony may start."""
    _locked(election)
    _require_state(election, [S.DRAFT], "start the key ceremony")
    problems = election_question_problems(election=election)
    if problems:
        raise QuestionsInvalid(" ".join(problems), details=problems)
    _set_state(election, S.KEY_CEREMONY, acting_user)
    return election


def _lagrange_at(indices: Sequence[int], x: int, q: int) -> list[int]:
    """Coefficients λⱼ(x) = Πₘ≠ⱼ (x − m)/(j − m) mod q of the polynomial through ``indices``."""
    out = []
    for j in indices:
        num, den = 1, 1
        for m in indices:
            if m != j:
                num = num * (x - m) % q
                den = den * (j - m) % q
        out.append(num * pow(den, -1, q) % q)
    return out


def ceremony_output_check(
    *,
    election_uuid: str,
    public_key: str,
    verification_keys: Sequence[str],
    trustees: Sequence[dict],
    threshold: int,
    ceremony_context: str,
) -> tuple[list[dict], Point, list[Point]]:
    """Validate the public output of a key ceremony; return normalised trustees and the points.

    Checks every point, the sizes, that ``ceremony_context`` is the context of (election,
    threshold, trustee keys) as crypto.threshold.Ceremony computes it, and that the election key
    and all n verification keys lie on one polynomial of degree t−1 (K = Σ λⱼ·Xⱼ at 0).
    """
    from crypto.group import Q

    try:
        n = len(trustees)
        if not 1 <= n <= MAX_TRUSTEES:
            raise InvalidEncoding(f"a ceremony has 1 to {MAX_TRUSTEES} trustees")
        if type(threshold) is not int or not 1 <= threshold <= n:
            raise InvalidEncoding(f"the threshold must be between 1 and {n}")
        if len(verification_keys) != n:
            raise InvalidEncoding("one verification key per trustee")
        key = read_point(public_key, "public_key")
        vkeys = [read_point(v, f"verification_keys[{i}]") for i, v in enumerate(verification_keys)]
        normalised = []
        for i, trustee in enumerate(trustees, start=1):
            name = str(trustee.get("name", "")).strip()
            if not name or len(name) > 200:
                raise InvalidEncoding(f"trustee {i}: a name of 1 to 200 characters")
            if trustee.get("index", i) != i:
                raise InvalidEncoding("trustees are indexed 1..n in order")
            point = read_point(trustee.get("public_key"), f"trustees[{i - 1}].public_key")
            normalised.append({"index": i, "name": name, "public_key": point.to_hex()})
        check_digest_hex(ceremony_context, "ceremony_context")
        # Ceremony.context hashes (election, threshold, trustee indices and keys) only; the
        # registration proofs are not part of it and are not needed here.
        ceremony = Ceremony(
            election_uuid,
            threshold,
            tuple(
                TrusteePublicKey(t["index"], read_point(t["public_key"], "key"), None)
                for t in normalised
            ),
        )
        if ceremony.context != ceremony_context:
            raise InvalidEncoding("the ceremony context does not match this election and trustees")
        first = list(range(1, threshold + 1))
        lambdas = lagrange_coefficients(first)
        at_zero = multi_mul(0, [int(lambdas[j]) for j in first], vkeys[:threshold])
        if at_zero != key:
            raise InvalidEncoding("the election key does not match the verification keys")
        for x in range(threshold + 1, n + 1):
            coefficients = _lagrange_at(first, x, Q)
            if multi_mul(0, coefficients, vkeys[:threshold]) != vkeys[x - 1]:
                raise InvalidEncoding(
                    f"verification key {x} is not consistent with the others (degree t−1)"
                )
    except (CryptoError, AttributeError, TypeError) as exc:
        raise InvalidCeremonyOutput(f"Invalid key ceremony output: {exc}") from exc
    return normalised, key, vkeys


@transaction.atomic
def election_install_key(
    *,
    election: Election,
    public_key: str,
    verification_keys: Sequence[str],
    trustees: Sequence[dict],
    threshold: int,
    ceremony_context: str,
    acting_user,
) -> Election:
    """key_ceremony → ready with the ceremony's PUBLIC output (no secret ever reaches the server).

    ``trustees`` is ``[{"name": …, "public_key": hex}, …]`` in index order (1..n).
    """
    _locked(election)
    _require_state(election, [S.KEY_CEREMONY], "install the election key")
    normalised, key, vkeys = ceremony_output_check(
        election_uuid=str(election.pk),
        public_key=public_key,
        verification_keys=verification_keys,
        trustees=trustees,
        threshold=threshold,
        ceremony_context=ceremony_context,
    )
    _check_against_transcript(
        election,
        key=key.to_hex(),
        vkeys=[v.to_hex() for v in vkeys],
        trustees=normalised,
        threshold=threshold,
        context=ceremony_context,
    )
    election.public_key = key.to_hex()
    election.verification_keys = [v.to_hex() for v in vkeys]
    election.trustees = normalised
    election.threshold = threshold
    election.ceremony_context = ceremony_context
    election.save(
        update_fields=[
            "public_key",
            "verification_keys",
            "trustees",
            "threshold",
            "ceremony_context",
            "updated_at",
        ]
    )
    _set_state(election, S.READY, acting_user, ceremony=ceremony_context)
    return election


def _board_payload(election: Election, kind: str) -> dict | None:
    line = (
        BoardEntry.objects.filter(election=election, kind=kind)
        .order_by("-seq")
        .values_list("line", flat=True)
        .first()
    )
    return parse_json(line)["payload"] if line is not None else None


def _check_against_transcript(
    election: Election,
    *,
    key: str,
    vkeys: list[str],
    trustees: list[dict],
    threshold: int,
    context: str,
) -> None:
    """When the key ceremony ran on this board (``ceremony`` and ``ceremony-result`` entries, see
    docs/protocol.md §11.2), the installed output must be exactly what it produced; a ceremony
    that started on the board (``trustee`` or ``ceremony`` entries) must also have finished there:
    a board with registrations but no ceremony, or a ceremony without its result, before
    ``state(key_ceremony→ready)`` is invalid (§11.2)."""
    ceremony = _board_payload(election, "ceremony")
    result = _board_payload(election, "ceremony-result")
    if ceremony is None and BoardEntry.objects.filter(election=election, kind="trustee").exists():
        raise InvalidCeremonyOutput(
            "Trustees registered on this election's board but its key ceremony never started: "
            "run the ceremony here, or create a new election for a key made elsewhere."
        )
    if ceremony is not None and result is None:
        raise InvalidCeremonyOutput(
            "The key ceremony started on this election's board and has not finished: its "
            "result must be on the board before a key is installed."
        )
    if ceremony is not None and (
        ceremony.get("context") != context
        or ceremony.get("threshold") != threshold
        or [t.get("public_key") for t in ceremony.get("trustees", [])]
        != [t["public_key"] for t in trustees]
    ):
        raise InvalidCeremonyOutput(
            "The key ceremony output differs from the ceremony on the board (context, "
            "threshold or trustees)."
        )
    if result is not None and (
        result.get("public_key") != key or result.get("verification_keys") != vkeys
    ):
        raise InvalidCeremonyOutput(
            "The election key or verification keys differ from the ceremony result on the board."
        )


# --- Opening and closing -----------------------------------------------------------------------


@transaction.atomic
def election_open(*, election: Election, acting_user) -> Election:
    """ready → open: freeze the manifest (board ``manifest`` entry) and open the ballot box."""
    from django.conf import settings

    _locked(election)
    _require_state(election, [S.READY], "open the election")
    if not election.key_installed:  # pragma: no cover - ready implies it
        raise TransitionNotAllowed("The election key is not installed.")
    problems = election_question_problems(election=election)
    if problems:
        raise QuestionsInvalid(" ".join(problems), details=problems)
    if not election.credentials_published:
        raise CredentialsNotPublished(
            "Publish the voters' public credentials before opening the election."
        )
    if election.closes_at <= timezone.now():
        raise VotingWindowOver()

    if election.witness_quorum > election.witnesses.count():
        raise ManifestInvalid(
            f"The witness quorum ({election.witness_quorum}) is larger than the number of "
            "witnesses: add witnesses or lower the quorum."
        )
    data = manifest_build(election=election)
    try:
        manifest = Manifest.from_json(data)
    except CryptoError as exc:
        raise ManifestInvalid(f"The manifest is not valid: {exc}") from exc
    if ballot_size_estimate(manifest.questions) > settings.PNYX_BALLOT_MAX_BYTES:
        raise ManifestInvalid(
            "Ballots of this election would be larger than PNYX_BALLOT_MAX_BYTES "
            f"({settings.PNYX_BALLOT_MAX_BYTES} bytes): fewer options or questions."
        )
    election.manifest_json = canonical_json(data).decode("utf-8")
    election.fingerprint = manifest.fingerprint
    election.save(update_fields=["manifest_json", "fingerprint", "updated_at"])
    board_append(
        election_id=election.pk,
        kind="manifest",
        payload={"manifest": data, "fingerprint": manifest.fingerprint},
    )
    _set_state(election, S.OPEN, acting_user, fingerprint=manifest.fingerprint)
    return election


@transaction.atomic
def election_close(*, election: Election, acting_user, reason: str = "") -> Election:
    """open → closed: no ballot is accepted afterwards (casting re-checks under the board lock).
    ``reason`` is published with the state entry (e.g. why an election closed early)."""
    _locked(election)
    _require_state(election, [S.OPEN], "close the election")
    _set_state(election, S.CLOSED, acting_user, reason=reason)
    return election


@transaction.atomic
def election_start_tally(*, election: Election, acting_user) -> Election:
    """closed → tallying (the tally app computes and decrypts the tally)."""
    _locked(election)
    _require_state(election, [S.CLOSED], "start the tally")
    _set_state(election, S.TALLYING, acting_user)
    return election


@transaction.atomic
def election_finish_tally(*, election: Election, acting_user) -> Election:
    """tallying → tallied (after the tally app has put the ``result`` entry on the board)."""
    _locked(election)
    _require_state(election, [S.TALLYING], "record the tally as done")
    _set_state(election, S.TALLIED, acting_user)
    return election
