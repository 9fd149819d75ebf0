"""Casting and auditing ballots.

The checks run in a fixed order, each with its own error (voting.errors): election open and
inside its window, body size, JSON, fingerprint, credential published, not already on the board,
structure, signature, proofs; then the voter's credential (a voter bound to another credential by
an earlier ballot is refused) and, for a revote, the voter's revote rate. (A replay is recognised
by its tracker, the hash of the canonical ballot, before the costly verification: it is byte for
byte a ballot that passed every check.) Nothing is said about a credential's binding before the
ballot has proved, by its signature, that the sender holds the credential.

Everything expensive happens before the board lock. On PostgreSQL the append is then one
prepared statement, ``pnyx_append_ballot`` (voting/migrations/0006_append_ballot_binding.py), its
own transaction: lock the head, re-check the election's state and that the entry's board time is
before the close, refuse a ciphertext of an audited ballot (§12.2) and a credential that is not
the voter's (binding it at the voter's first ballot), hash the entry, append it, advance the head,
record the ballot (and the one it supersedes), commit. The head is locked for that statement and
its commit only, with no round trip to the application in between (docs/performance-cast.md).
Other databases take the same steps in a Django transaction.

Audits take the board lock too, check the voter's credential without binding it, and record the
α of every ciphertext of the audited ballot (``AuditedAlpha``) in the audit entry's transaction,
so a ballot that reuses one is refused under the same lock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone

from board.models import BoardEntry, BoardHead
from board.selectors import board_tracker_kind
from board.services import (
    board_append_locked,
    board_entry_build,
    board_head_advance,
    board_lock,
    board_time,
)
from config.api_errors import ApplicationError
from config.api_parsers import InvalidJson, api_json_load
from config.db import hot_cursor
from crypto.ballot import Ballot as CryptoBallot
from crypto.ballot import BallotSecrets, ballot_audit, ballot_check_shape, ballot_verify
from crypto.board import format_time
from crypto.encoding import PROTOCOL_VERSION
from crypto.errors import CryptoError, InvalidBallot, InvalidProof, InvalidSignature
from crypto.hashing import canonical_json, sha256_hex
from crypto.proofs.batch import BatchVerifier
from crypto.signatures import verify_signature
from identity.selectors import voter_bound_tag
from identity.services.voters import (
    credential_tag,
    voted_day,
    voter_audit_count,
    voter_credential_check,
    voter_revote_count,
)
from voting.errors import (
    BallotWasAudited,
    CredentialMismatch,
    CredentialTaken,
    DuplicateBallot,
    ElectionNotOpen,
    InvalidAuditRandomness,
    InvalidBallotData,
    InvalidBallotProof,
    InvalidBallotSignature,
    OutsideVotingWindow,
    PayloadTooLarge,
    UnknownCredential,
    WrongElection,
)
from voting.models import AuditedAlpha, Ballot, Election, ElectionState
from voting.receipts import receipt_sign
from voting.selectors import (
    BallotPrecheck,
    FrozenManifest,
    audited_alpha_reused,
    ballot_entry_on_board,
    ballot_precheck,
    election_manifest,
    election_state_now,
)
from voting.services.cast_batch import BatchJob, LeaderFollowerBatcher

#: reads the request body, at most the given number of bytes
BodyReader = Callable[[int], bytes]


def _board_lock(*, election_id) -> BoardHead:
    """Lock the election's board head; ``head.election`` holds the election's state and voting
    window as they are now (read by a statement after the lock is granted, so it includes what
    the lock's previous holder committed, e.g. a close)."""
    head = board_lock(election_id=election_id)
    head.election = election_state_now(election_id=election_id)
    return head


def _check_open(election: Election, now: datetime, entry_time: str | None = None) -> None:
    """Open, and ``now`` (and the board time of the entry to append) inside the window."""
    if election.state != ElectionState.OPEN:
        raise ElectionNotOpen(
            f"The election is not open for voting (it is {ElectionState(election.state).label.lower()})."
        )
    if not election.opens_at <= now < election.closes_at or (
        entry_time is not None and entry_time >= format_time(election.closes_at)
    ):
        raise OutsideVotingWindow(
            "Voting is open from "
            f"{election.opens_at:%Y-%m-%d %H:%M:%S} to {election.closes_at:%Y-%m-%d %H:%M:%S} UTC."
        )


def _read_json(*, limit: int, content_length: int | None, read_body: BodyReader) -> Any:
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(
            f"The body has {content_length} bytes; a ballot of this election has at most {limit}."
        )
    body = read_body(limit)
    if len(body) > limit:
        raise PayloadTooLarge(f"A ballot of this election has at most {limit} bytes.")
    try:
        return api_json_load(body)
    except InvalidJson as exc:
        raise InvalidBallotData(f"The body is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class VerifiedBallot:
    ballot: CryptoBallot
    canonical: bytes  #: its canonical JSON, as the board entry will contain it
    credential: str  #: its credential, public key hex
    tag: str  #: the credential's keyed tag (identity.services.voters.credential_tag)
    bound_tag: str | None  #: the tag the voter is bound to, if any (read before the lock)


@dataclass(frozen=True)
class PrecheckedBallot:
    raw: dict
    canonical: bytes  #: its canonical JSON
    tracker: str  #: SHA-256 of ``canonical``
    credential: str
    precheck: BallotPrecheck


def _prechecked_ballot(
    *, frozen: FrozenManifest, election: Election, raw: Any, voter_id: int
) -> PrecheckedBallot:
    """Fingerprint, credential published; then (one query) whether the tracker is on the board
    and which credential the voter is bound to."""
    if not isinstance(raw, dict):
        raise InvalidBallotData("A ballot is a JSON object.")
    if raw.get("election") != frozen.fingerprint:
        raise WrongElection()
    credential = raw.get("credential")
    if not isinstance(credential, str):
        raise UnknownCredential()
    canonical = canonical_json(raw)
    tracker = sha256_hex(canonical)
    precheck = ballot_precheck(
        election_id=election.pk, credential=credential, tracker=tracker, voter_id=voter_id
    )
    if not precheck.published:
        raise UnknownCredential()
    return PrecheckedBallot(raw, canonical, tracker, credential, precheck)


def _verified_ballot(
    *, frozen: FrozenManifest, election: Election, raw: Any, voter_id: int
) -> VerifiedBallot:
    """Fingerprint, credential, replay, structure, signature, proofs — in that order; then
    whether the voter, if bound already, is bound to this credential.

    A replay is recognised by its tracker, the hash of the canonical ballot, before the expensive
    verification: a ballot with the tracker of one on the board is byte for byte that ballot,
    which passed every check, so only the answer's cost changes.
    """
    prechecked = _prechecked_ballot(frozen=frozen, election=election, raw=raw, voter_id=voter_id)
    _refuse_replay(prechecked.precheck.on_board)
    return _verified(frozen=frozen, election=election, prechecked=prechecked)


def _verified(
    *, frozen: FrozenManifest, election: Election, prechecked: PrecheckedBallot
) -> VerifiedBallot:
    """Structure, signature, proofs; then whether the voter, if bound already, is bound to this
    credential."""
    spec = frozen.manifest.spec
    ballot = _parsed(spec=spec, prechecked=prechecked)
    _verify_proofs(ballot, spec)
    return _credential_checked(election=election, prechecked=prechecked, ballot=ballot)


def _parsed(*, spec, prechecked: PrecheckedBallot) -> CryptoBallot:
    """The ballot decoded and its structure checked against the election."""
    try:
        # The canonical bytes give the tracker and the signed digest in one go (and, the ballot
        # being validated strictly, they are what the board entry will contain).
        ballot = CryptoBallot.from_json(prechecked.raw, canonical=prechecked.canonical)
        ballot_check_shape(ballot, spec)
    except (CryptoError, InvalidBallot) as exc:
        raise InvalidBallotData(f"The ballot is malformed: {exc}") from exc
    return ballot


def _verify_proofs(ballot: CryptoBallot, spec) -> None:
    """Every proof and the signature of one ballot, in one batch; on failure, say whether the
    signature is at fault first."""
    try:
        ballot_verify(ballot, spec)
    except InvalidProof as exc:
        try:
            verify_signature(
                ballot.signature,
                public=ballot.credential,
                message=ballot.content_digest(),
                context=spec.fingerprint,
            )
        except InvalidSignature as sig:
            raise InvalidBallotSignature() from sig
        raise InvalidBallotProof(f"The ballot's proofs do not verify: {exc}") from exc


def _credential_checked(
    *, election: Election, prechecked: PrecheckedBallot, ballot: CryptoBallot
) -> VerifiedBallot:
    """Only once the sender has proved, by its signature, that it holds the credential: is it
    the voter's?"""
    tag = credential_tag(election_id=election.pk, credential=prechecked.credential)
    bound = prechecked.precheck.bound_tag
    if bound is not None and bound != tag:
        raise CredentialMismatch()
    return VerifiedBallot(ballot, prechecked.canonical, prechecked.credential, tag, bound)


def _refuse_replay(kind: str | None) -> None:
    if kind == "audit":
        raise BallotWasAudited()
    if kind is not None:
        raise DuplicateBallot()


def _refuse_if_on_board(*, election_id: Any, tracker: str) -> None:
    _refuse_replay(board_tracker_kind(election_id=election_id, tracker=tracker))


def _replayed_receipt(*, election: Election, tracker: str, credential: str, voter_id: int) -> dict:
    """The voter sends again, byte for byte, a ballot already on the board (its answer was lost:
    a worker or the connection died after the commit): the receipt of that entry, exactly the
    one first given (docs/protocol.md §11.9). Only for the voter that cast it (bound to its
    credential) and while it is the last ballot of its credential: another voter, or a ballot a
    later one superseded, is refused ``duplicate_ballot`` as before, and nothing is appended."""
    tag = credential_tag(election_id=election.pk, credential=credential)
    if voter_bound_tag(voter_id=voter_id) != tag:
        raise DuplicateBallot()
    entry = ballot_entry_on_board(election_id=election.pk, tracker=tracker)
    if entry is None:  # pragma: no cover - the caller saw the tracker as a ballot's
        raise DuplicateBallot()
    if entry.superseded:
        raise DuplicateBallot(
            "This ballot is on the board, but a later ballot of the same credential replaced "
            "it: sending it again would not make it count. Cast a new ballot instead."
        )
    return _receipt(
        election=election, seq=entry.seq, entry_hash=entry.hash, tracker=tracker, kind="ballot"
    )


def _audited_refusal() -> BallotWasAudited:
    return BallotWasAudited(
        "A ciphertext of this ballot is one of an audited ballot, whose randomness is public: "
        "it can never be cast."
    )


def ballot_alphas(ballot: CryptoBallot) -> list[bytes]:
    """The α of every choice and budget-bit ciphertext of the ballot (65 bytes each): what an
    audit records and what a cast ballot may not reuse (docs/protocol.md §12.2)."""
    alphas = []
    for answer in ballot.answers:
        alphas.extend(ct.alpha.to_bytes() for ct in answer.choices)
        if answer.budget_proof is not None:
            alphas.extend(ct.alpha.to_bytes() for ct in answer.budget_proof.bits)
    return alphas


def _receipt(*, election: Election, seq: int, entry_hash: str, tracker: str, kind: str) -> dict:
    return receipt_sign(
        {
            "election": str(election.pk),
            "kind": kind,
            "tracker": tracker,
            "seq": seq,
            "entry_hash": entry_hash,
            # The entry is the head when the transaction commits (appends are serialised).
            "head": {"seq": seq, "hash": entry_hash},
        }
    )


@dataclass(frozen=True)
class CastReceipt:
    receipt: dict
    appended: bool  #: False: the ballot was on the board already (a re-post), nothing appended


def ballot_cast(
    *,
    election: Election,
    voter_id: int,
    content_length: int | None,
    read_body: BodyReader,
) -> CastReceipt:
    """Verify the ballot in the request body and append it to the board; return the receipt.

    Idempotent for the voter who cast it: the same ballot sent again, byte for byte (same
    tracker), answers the receipt of the entry already on the board and appends nothing
    (:func:`_replayed_receipt`)."""
    _check_open(election, timezone.now())
    frozen = election_manifest(election=election)
    raw = _read_json(
        limit=frozen.ballot_max_bytes, content_length=content_length, read_body=read_body
    )
    prechecked = _prechecked_ballot(frozen=frozen, election=election, raw=raw, voter_id=voter_id)
    if prechecked.precheck.on_board == "ballot":
        receipt = _replayed_receipt(
            election=election,
            tracker=prechecked.tracker,
            credential=prechecked.credential,
            voter_id=voter_id,
        )
        return CastReceipt(receipt, appended=False)
    _refuse_replay(prechecked.precheck.on_board)  # an audited ballot is never cast
    tracker = prechecked.tracker
    try:
        if _single_statement():
            # Verified with the ballots that arrive with it, appended in their transaction.
            entry = cast_batcher().submit(
                _CastJob(
                    election=election,
                    spec=frozen.manifest.spec,
                    prechecked=prechecked,
                    ballot=_parsed(spec=frozen.manifest.spec, prechecked=prechecked),
                    voter_id=voter_id,
                )
            )
        else:
            verified = _verified(frozen=frozen, election=election, prechecked=prechecked)
            if verified.bound_tag is not None:
                voter_revote_count(voter_id=voter_id)
            with transaction.atomic():
                head = _board_lock(election_id=election.pk)
                entry = _ballot_entry(head=head, payload={"ballot": raw, "tracker": tracker})
                _append_ballot(
                    head=head,
                    entry=entry,
                    credential=verified.credential,
                    voter_id=voter_id,
                    points=ballot_points(verified.ballot),
                    tag=verified.tag,
                    alphas=ballot_alphas(verified.ballot),
                )
    except IntegrityError:
        # A concurrent request put the same ballot on the board first (the voter's browser sent
        # it again while the first request was still running): its receipt, as for a re-post.
        if board_tracker_kind(election_id=election.pk, tracker=tracker) == "ballot":
            receipt = _replayed_receipt(
                election=election,
                tracker=tracker,
                credential=prechecked.credential,
                voter_id=voter_id,
            )
            return CastReceipt(receipt, appended=False)
        _refuse_if_on_board(election_id=election.pk, tracker=tracker)
        raise
    receipt = _receipt(
        election=election, seq=entry.seq, entry_hash=entry.hash, tracker=tracker, kind="ballot"
    )
    return CastReceipt(receipt, appended=True)


def ballot_points(ballot: CryptoBallot) -> bytes:
    """The listed ciphertexts' points, raw (``Ballot.points``): the tally adds them up without
    decoding the entry's JSON. Encoding is free: the points keep the bytes they were read from."""
    return b"".join(
        ct.alpha.to_bytes() + ct.beta.to_bytes()
        for answer in ballot.answers
        for ct in answer.choices
    )


def _ballot_entry(*, head: BoardHead, payload: dict) -> BoardEntry:
    """Under the board lock: check that the election is still open and the entry's time inside
    the window; return the (unsaved) entry that extends the chain."""
    now = timezone.now()
    time = board_time(head=head, now=now)
    _check_open(head.election, now, time)
    return board_entry_build(
        head.election_id, head.seq + 1, "ballot", time, head.hash, payload, payload["tracker"]
    )


def _single_statement() -> bool:
    """PostgreSQL appends a ballot in one statement (``pnyx_append_ballot``)."""
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class AppendedBallot:
    seq: int
    hash: str


# Its own transaction in autocommit mode (the head is locked while it runs and commits), part of
# the caller's otherwise. voting/migrations/0006_append_ballot_binding.py.
_APPEND_BALLOT_CALL = (
    "SELECT status, seq, hash, time FROM pnyx_append_ballot(%s::uuid, %s::text, %s::integer,"
    " %s::varchar, %s::varchar, %s::varchar, %s::varchar, %s::bigint, %s::timestamptz, %s::bytea,"
    " %s::varchar, %s::bytea[])"
)


def _append_ballot_statement(
    *,
    election: Election,
    canonical: bytes,
    tracker: str,
    credential: str,
    voter_id: int,
    points: bytes,
    tag: str,
    alphas: list[bytes],
    savepoint: bool = True,
) -> AppendedBallot:
    """PostgreSQL: append the ballot's entry, advance the head, record the ballot (and the
    earlier ballot of its credential it supersedes) and bind the voter at its first ballot, in
    one statement.

    The statement locks the head, re-checks the election's state and that the entry's board time
    (now, or the head's if later) is before the close, refuses an audited ciphertext and a
    credential that is not the voter's, and hashes the entry. Here the canonical
    entry is prepared up to its ``prev`` (keys sorted: election, kind, payload come first; the
    payload's keys ballot, tracker); the ballot is in it byte for byte as verified, and a tracker
    is hex, so the JSON needs no escaping.
    """
    now = timezone.now()
    _check_open(election, now)
    election_text = str(uuid.UUID(str(election.pk)))
    prefix = (
        f'{{"election":"{election_text}","kind":"ballot","payload":{{"ballot":'
        f'{canonical.decode("utf-8")},"tracker":"{tracker}"}},"prev":"'
    )
    params = [
        election_text,
        prefix,
        PROTOCOL_VERSION,
        format_time(now),
        format_time(election.closes_at),
        tracker,
        credential,
        voter_id,
        voted_day(now),
        points,
        tag,
        alphas,
    ]
    # Inside a caller's transaction, a savepoint: a refused append leaves that transaction usable
    # (a batch's transaction goes without, and retries its ballots one by one on a conflict).
    with transaction.atomic() if savepoint and connection.in_atomic_block else nullcontext():
        with hot_cursor() as cursor:
            status, seq, hash_, time = cursor.execute(_APPEND_BALLOT_CALL, params).fetchone()
    if status == "closed":
        _check_open(Election(state=hash_), now)
    elif status == "window":
        _check_open(election, now, time)
    elif status == "audited":
        raise _audited_refusal()
    elif status == "mismatch":
        raise CredentialMismatch()
    elif status == "taken":
        raise CredentialTaken()
    elif status != "ok":  # pragma: no cover - the function returns one of the six
        raise RuntimeError(f"pnyx_append_ballot: unexpected status {status!r}")
    return AppendedBallot(seq=seq, hash=hash_)


@dataclass(frozen=True)
class _CastJob:
    election: Election
    spec: Any  #: the election's crypto.manifest.ElectionSpec
    prechecked: PrecheckedBallot
    ballot: CryptoBallot  #: decoded, structure checked
    voter_id: int


def _cast_batch_process(jobs: Sequence[BatchJob]) -> None:
    """The leader's work for a batch of ballots (PostgreSQL): verify all of them in one
    multi-scalar multiplication, and if that fails, each on its own to name the bad ones; check
    each voter's credential and revote rate; append the good ones in one transaction (the head is
    locked once, by the first append, and the transaction commits once). A job's outcome is an
    entry only once that transaction committed; a refused ballot gets its own error."""
    batch = BatchVerifier()
    alone = set()
    for index, job in enumerate(jobs):
        cast: _CastJob = job.payload
        try:
            ballot_verify(cast.ballot, cast.spec, batch=batch)
        except (InvalidProof, InvalidBallot):
            alone.add(index)
    try:
        batch.verify()
    except InvalidProof:
        alone = set(range(len(jobs)))  # one ballot or more is bad: find which, one by one
    ready = []
    for index, job in enumerate(jobs):
        cast = job.payload
        try:
            if index in alone:
                _verify_proofs(cast.ballot, cast.spec)
            verified = _credential_checked(
                election=cast.election, prechecked=cast.prechecked, ballot=cast.ballot
            )
            if verified.bound_tag is not None:
                # A revote (the first ballot is never limited). A race between two first ballots
                # lets both through unlimited: one of them binds, the other is a revote or is
                # refused.
                voter_revote_count(voter_id=cast.voter_id)
        except ApplicationError as exc:
            job.fail(exc)
        else:
            ready.append((job, verified))
    # One transaction, no savepoints (each would cost two more round trips per ballot): a
    # refusal under the lock is a status, not an error, and leaves the transaction usable. One
    # ballot alone needs no transaction block: the statement is its own transaction (or, inside a
    # caller's transaction, its own savepoint, as before).
    alone = len(ready) == 1
    # A batch may hold ballots of several elections: their heads are locked in one order
    # (election id), in every process, so that two batches never wait for each other.
    ready.sort(key=lambda item: str(item[0].payload.election.pk))
    try:
        with nullcontext() if alone else transaction.atomic():
            outcomes = [_append_verified(job, verified, savepoint=alone) for job, verified in ready]
    except IntegrityError:
        # A ballot of the batch reached the board meanwhile (a re-post racing its first post:
        # the unique tracker), and the whole transaction rolled back. Append each on its own,
        # its own transaction, so that only that one is refused (as a re-post, by the caller).
        outcomes = [_append_verified(job, verified, savepoint=True) for job, verified in ready]
    # Committed: now, and only now, the outcomes.
    for job, entry, error in outcomes:
        if error is None:
            job.succeed(entry)
        else:
            job.fail(error)


def _append_verified(job: BatchJob, verified: VerifiedBallot, *, savepoint: bool) -> tuple:
    """Append one verified ballot of a batch: ``(job, entry, None)`` or ``(job, None, error)``
    for a refusal; without ``savepoint``, an ``IntegrityError`` is left to the caller."""
    cast: _CastJob = job.payload
    try:
        entry = _append_ballot_statement(
            election=cast.election,
            canonical=verified.canonical,
            tracker=cast.prechecked.tracker,
            credential=verified.credential,
            voter_id=cast.voter_id,
            points=ballot_points(verified.ballot),
            tag=verified.tag,
            alphas=ballot_alphas(verified.ballot),
            savepoint=savepoint,
        )
    except ApplicationError as exc:
        return job, None, exc
    except IntegrityError as exc:
        if not savepoint:
            raise
        return job, None, exc
    return job, entry, None


_batcher: LeaderFollowerBatcher | None = None
_batcher_lock = threading.Lock()


def cast_batcher() -> LeaderFollowerBatcher:
    """This process's casting batcher (``PNYX_CAST_BATCH_MAX`` ballots at most, gathered for
    ``PNYX_CAST_BATCH_WINDOW_MS`` by a fresh leader)."""
    global _batcher
    if _batcher is None:
        with _batcher_lock:
            if _batcher is None:
                _batcher = LeaderFollowerBatcher(
                    _cast_batch_process,
                    max_batch=settings.PNYX_CAST_BATCH_MAX,
                    window=settings.PNYX_CAST_BATCH_WINDOW_MS / 1000,
                )
    return _batcher


def _append_ballot(
    *,
    head: BoardHead,
    entry: BoardEntry,
    credential: str,
    voter_id: int,
    tag: str,
    alphas: list[bytes],
    points: bytes | None = None,
) -> None:
    """Other databases than PostgreSQL: inside the caller's transaction, under the board lock,
    refuse an audited ciphertext and a credential that is not the voter's (binding it at the
    voter's first ballot), append the entry, advance the head, and record the ballot (and which
    earlier ballot of its credential it supersedes)."""
    if audited_alpha_reused(election_id=entry.election_id, alphas=alphas):
        raise _audited_refusal()
    voter_credential_check(
        voter_id=voter_id, election_id=entry.election_id, tag=tag, bind=True, now=timezone.now()
    )
    entry.save()
    board_head_advance(head, entry)
    previous = (
        Ballot.objects.filter(election_id=entry.election_id, credential=credential)
        .order_by("-seq")
        .values("pk")[:1]
    )
    Ballot.objects.create(
        election_id=entry.election_id,
        entry=entry,
        tracker=entry.tracker,
        credential=credential,
        seq=entry.seq,
        supersedes_id=Subquery(previous),
        points=points,
    )


def ballot_audit_submit(
    *,
    election: Election,
    voter_id: int,
    content_length: int | None,
    read_body: BodyReader,
) -> dict:
    """Benaloh audit: verify the ballot and that the revealed randomness reproduces it, append an
    ``audit`` entry (never counted; the ballot can never be cast) and return the plaintexts."""
    _check_open(election, timezone.now())
    frozen = election_manifest(election=election)
    raw = _read_json(
        limit=frozen.audit_max_bytes, content_length=content_length, read_body=read_body
    )
    if not isinstance(raw, dict) or set(raw) != {"ballot", "randomness"}:
        raise InvalidBallotData('An audit is a JSON object {"ballot": …, "randomness": …}.')
    verified = _verified_ballot(
        frozen=frozen, election=election, raw=raw["ballot"], voter_id=voter_id
    )
    ballot = verified.ballot
    try:
        secrets = BallotSecrets.from_json(raw["randomness"])
        plaintexts = ballot_audit(ballot, frozen.manifest.spec, secrets)
    except (CryptoError, InvalidBallot) as exc:
        raise InvalidAuditRandomness(f"The randomness does not open the ballot: {exc}") from exc
    tracker = ballot.tracker()
    try:
        with transaction.atomic():
            # The head first, then the voter's row: the order of the casting append.
            head = _board_lock(election_id=election.pk)
            now = timezone.now()
            time = board_time(head=head, now=now)
            _check_open(head.election, now, time)
            # An audit never binds the voter (it is not a vote), but it may only use the
            # credential the voter could cast with.
            voter_credential_check(
                voter_id=voter_id, election_id=election.pk, tag=verified.tag, bind=False
            )
            voter_audit_count(voter_id=voter_id, election_id=election.pk)
            entry = board_append_locked(
                head=head,
                kind="audit",
                payload={
                    "ballot": raw["ballot"],
                    "randomness": secrets.to_json(),
                    "tracker": tracker,
                },
                tracker=tracker,
                time=time,
            )
            AuditedAlpha.objects.bulk_create(
                (
                    AuditedAlpha(election_id=election.pk, alpha=alpha, entry=entry)
                    for alpha in ballot_alphas(ballot)
                ),
                ignore_conflicts=True,  # already audited (a ballot of the same ciphertexts)
            )
    except IntegrityError:
        _refuse_if_on_board(election_id=election.pk, tracker=tracker)
        raise
    receipt = _receipt(
        election=election, seq=entry.seq, entry_hash=entry.hash, tracker=tracker, kind="audit"
    )
    questions = frozen.manifest.data["questions"]
    return {
        "receipt": receipt,
        "plaintexts": [
            {
                "question": question["id"],
                "selections": [
                    {"option": option["id"], "score": value}
                    if question["kind"] == "score"
                    else {"option": option["id"], "selected": bool(value)}
                    for option, value in zip(question["options"], values, strict=True)
                ],
            }
            for question, values in zip(questions, plaintexts, strict=True)
        ],
    }
