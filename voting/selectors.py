"""Reads of the voting app: elections, their frozen manifest, the board, counted ballots."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from board.models import BoardEntry
from config.db import hot_cursor
from crypto.ballot import Ballot as CryptoBallot
from crypto.hashing import parse_json
from crypto.manifest import Manifest
from voting.models import AuditedAlpha, Ballot, Election, ElectionState
from voting.services.manifest import (
    ballot_size_estimate,
    randomness_size_estimate,
    request_limit,
)

# --- Elections ---------------------------------------------------------------------------------


def election_get(*, election_id: Any) -> Election:
    try:
        return Election.objects.get(pk=election_id)
    except (Election.DoesNotExist, ValueError) as exc:
        raise Http404("No such election.") from exc


def election_db_key(value: Any):
    """An election id as plain SQL parameters need it (native UUID on PostgreSQL, hex text on
    SQLite), for the few hot-path queries written in SQL."""
    return Election._meta.pk.get_db_prep_value(
        value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)), connection
    )


def db_datetime(value: Any) -> datetime | None:
    """A timestamp read by plain SQL: aware already on PostgreSQL; naive UTC text on SQLite."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


_OPEN_ELECTIONS: dict[str, tuple[float, Election]] = {}
OPEN_ELECTION_CACHE_SECONDS = 2.0


def election_get_for_casting(*, election_id: Any) -> Election:
    """The election's state, window and fingerprint in one light query (casting's hot path).
    Other fields are not loaded.

    An open election is remembered for ``OPEN_ELECTION_CACHE_SECONDS`` by each process: its
    window and fingerprint never change, and its state is checked again under the board lock
    before anything is appended, so a stale "open" costs at most a needless verification.
    """
    key = str(election_id)
    cached = _OPEN_ELECTIONS.get(key)
    if cached is not None and time.monotonic() - cached[0] < OPEN_ELECTION_CACHE_SECONDS:
        return cached[1]
    sql = (
        "SELECT state, opens_at, closes_at, fingerprint"  # noqa: S608 - the model's table
        f" FROM {Election._meta.db_table} WHERE id = %s"
    )
    with hot_cursor() as cursor:
        row = cursor.execute(sql, [election_db_key(election_id)]).fetchone()
    if row is None:
        raise Http404("No such election.")
    state, opens_at, closes_at, fingerprint = row
    election = Election(
        id=election_id,
        state=state,
        opens_at=db_datetime(opens_at),
        closes_at=db_datetime(closes_at),
        fingerprint=fingerprint,
    )
    if state == ElectionState.OPEN:
        if len(_OPEN_ELECTIONS) > 256:
            _OPEN_ELECTIONS.clear()
        _OPEN_ELECTIONS[key] = (time.monotonic(), election)
    return election


def election_state_now(*, election_id: Any) -> Election:
    """The election's state and voting window as committed now (one light query; other fields
    are not loaded). Casting reads it right after taking the board lock."""
    with hot_cursor() as cursor:
        row = cursor.execute(
            f"SELECT state, opens_at, closes_at FROM {Election._meta.db_table}"  # noqa: S608
            " WHERE id = %s",
            [election_db_key(election_id)],
        ).fetchone()
    if row is None:
        raise Election.DoesNotExist(f"no election {election_id}")
    state, opens_at, closes_at = row
    return Election(
        id=election_id,
        state=state,
        opens_at=db_datetime(opens_at),
        closes_at=db_datetime(closes_at),
    )


def election_list_public() -> QuerySet[Election]:
    """Elections the public sees listed: every one that has left the draft state."""
    return Election.objects.exclude(state=ElectionState.DRAFT)


@dataclass(frozen=True)
class FrozenManifest:
    """An opened election's parsed manifest and the request limits that follow from it."""

    manifest: Manifest
    ballot_max_bytes: int  #: largest body accepted by POST …/ballots/
    audit_max_bytes: int  #: largest body accepted by POST …/audits/

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint


_MANIFESTS: OrderedDict[tuple[str, str], FrozenManifest] = OrderedDict()
_MANIFESTS_LOCK = threading.Lock()
_MANIFESTS_MAX = 32


def election_manifest(*, election: Election) -> FrozenManifest:
    """The frozen manifest of an opened election, parsed once per process (it never changes)."""
    if not election.fingerprint:
        raise ValueError("the election has no manifest yet")
    key = (str(election.pk), election.fingerprint)
    with _MANIFESTS_LOCK:
        found = _MANIFESTS.get(key)
        if found is not None:
            _MANIFESTS.move_to_end(key)
            return found
    text = Election.objects.filter(pk=election.pk).values_list("manifest_json", flat=True).get()
    manifest = Manifest.from_json(parse_json(text))
    if manifest.fingerprint != election.fingerprint:  # pragma: no cover - stored data altered
        raise ValueError("the stored manifest does not match its fingerprint")
    ballot = ballot_size_estimate(manifest.questions)
    cap = settings.PNYX_BALLOT_MAX_BYTES
    frozen = FrozenManifest(
        manifest=manifest,
        ballot_max_bytes=min(request_limit(ballot), cap),
        audit_max_bytes=min(
            request_limit(ballot + randomness_size_estimate(manifest.questions)), 2 * cap
        ),
    )
    with _MANIFESTS_LOCK:
        _MANIFESTS[key] = frozen
        while len(_MANIFESTS) > _MANIFESTS_MAX:
            _MANIFESTS.popitem(last=False)
    return frozen


@dataclass(frozen=True)
class BallotPrecheck:
    published: bool  #: the ballot's credential is on the published list
    on_board: str | None  #: its tracker is on the board already: ``"ballot"``, ``"audit"``
    bound_tag: str | None  #: the casting voter's credential tag, once bound (first ballot)


def ballot_precheck(
    *, election_id: Any, credential: str, tracker: str, voter_id: int
) -> BallotPrecheck:
    """One query before verifying a ballot: is its credential published, is its tracker on the
    board already, and which credential is the voter bound to? (Plain SQL: casting's hot path,
    docs/performance-cast.md.)"""
    from identity.models import PublicCredential, Voter

    sql = (
        f"SELECT (SELECT kind FROM {BoardEntry._meta.db_table}"  # noqa: S608 - model tables
        "         WHERE election_id = %s AND tracker = %s LIMIT 1),"
        f"       (SELECT credential_tag FROM {Voter._meta.db_table} WHERE id = %s)"
        f" FROM {PublicCredential._meta.db_table} WHERE election_id = %s AND public_key = %s"
    )
    election = election_db_key(election_id)
    with hot_cursor() as cursor:
        row = cursor.execute(sql, [election, tracker, voter_id, election, credential]).fetchone()
    if row is None:
        return BallotPrecheck(published=False, on_board=None, bound_tag=None)
    return BallotPrecheck(published=True, on_board=row[0], bound_tag=row[1])


def audited_alpha_reused(*, election_id: Any, alphas: list[bytes]) -> bool:
    """Is one of ``alphas`` the α of a ciphertext of an audit entry of the election?"""
    return AuditedAlpha.objects.filter(election_id=election_id, alpha__in=alphas).exists()


# --- Ballots -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BallotOnBoard:
    seq: int
    hash: str  #: its board entry's hash
    superseded: bool  #: a later ballot of its credential replaced it


def ballot_entry_on_board(*, election_id: Any, tracker: str) -> BallotOnBoard | None:
    """The cast ballot with this tracker: its entry and whether it is superseded."""
    row = (
        Ballot.objects.filter(election_id=election_id, tracker=tracker)
        .annotate(superseded=Exists(Ballot.objects.filter(supersedes=OuterRef("pk"))))
        .values_list("seq", "entry__hash", "superseded")
        .first()
    )
    return None if row is None else BallotOnBoard(*row)


def ballot_superseded_by(*, ballot: Ballot) -> str | None:
    later = Ballot.objects.filter(supersedes=ballot).values_list("tracker", flat=True).first()
    return later


def ballots_counted(*, election: Election) -> QuerySet[Ballot]:
    """The ballots the tally counts: the last one of every credential, each annotated with its
    credential's public ``weight``, in board order."""
    from identity.models import PublicCredential

    weight = PublicCredential.objects.filter(
        election_id=OuterRef("election_id"), public_key=OuterRef("credential")
    ).values("weight")[:1]
    return (
        Ballot.objects.filter(election=election, superseded_by__isnull=True)
        .annotate(weight=Subquery(weight))
        .order_by("seq")
    )


def ballots_counted_with_weights(*, election: Election) -> Iterator[tuple[CryptoBallot, int]]:
    """(ballot, weight) for every counted ballot, parsed from the board (for the tally)."""
    rows = ballots_counted(election=election).select_related("entry")
    for row in rows.iterator(chunk_size=500):
        payload = parse_json(row.entry.line)["payload"]
        yield CryptoBallot.from_json(payload["ballot"]), row.weight


def election_turnout(*, election: Election) -> dict:
    """Voters who voted out of all voters; ballots cast, counted, superseded; audits."""
    from identity.models import Voter

    voters = Voter.objects.filter(election=election)
    cast = Ballot.objects.filter(election=election).count()
    counted = Ballot.objects.filter(election=election, superseded_by__isnull=True).count()
    return {
        "voters": voters.count(),
        "voted": voters.filter(voted_at__isnull=False).count(),
        "ballots": cast,
        "counted": counted,
        "revotes": cast - counted,
        "audits": BoardEntry.objects.filter(election=election, kind="audit").count(),
    }
