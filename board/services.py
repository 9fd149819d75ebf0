"""Appending to an election's bulletin board (envelope and hashing: crypto.board).

Appends are serialised per election by locking the election's ``BoardHead`` row
(``SELECT … FOR UPDATE``), so the chain never forks or gaps; the unique constraints on
(election, seq) and (election, prev) make a fork impossible even for a writer that skipped the
lock. The lock is held from the head read to the commit: callers keep that transaction short and
do expensive work (ballot verification) before it.

Every app appends through these functions, or, for ballots on PostgreSQL, through the database
function ``pnyx_append_ballot`` (voting/migrations), whose lines a test compares byte for byte
with crypto.board's (tests/voting/test_voting_casting.py,
``test_appended_lines_are_the_canonical_entries``): an entry's line and hash are defined once, by
``crypto.board``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from board.keys import board_public_key_hex
from board.models import BoardEntry, BoardHead
from board.tree import board_checkpoint_after_commit, board_db_key, board_tree_create
from config.db import hot_cursor
from crypto.board import ENTRY_KINDS, GENESIS_PREV, format_time
from crypto.board import BoardEntry as ChainEntry
from crypto.hashing import canonical_json


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("board appends run inside the caller's transaction.atomic()")


def board_create(*, election_id: Any, slug: str, title: str) -> BoardEntry:
    """Start an election's board with its genesis entry (``election``, seq 0)."""
    _require_transaction()
    payload = {
        "uuid": str(election_id),
        "slug": slug,
        "title": title,
        "board_key": board_public_key_hex(),
    }
    time = format_time(timezone.now())
    entry = board_entry_build(election_id, 0, "election", time, GENESIS_PREV, payload, None)
    entry.save()
    BoardHead.objects.create(election_id=election_id, seq=0, hash=entry.hash, time=time)
    board_tree_create(election_id=election_id)
    return entry


def board_lock(*, election_id: Any) -> BoardHead:
    """Lock and return the head of the election's board (held until the caller's commit).

    Plain SQL: the ORM's query building cost more than the query itself on the casting path
    (docs/performance-cast.md). Whatever the caller reads after this returns includes what the
    lock's previous holder committed (e.g. a close), when it is read by a new statement.
    """
    _require_transaction()
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with hot_cursor() as cursor:
        row = cursor.execute(
            f"SELECT seq, hash, time FROM {BoardHead._meta.db_table}"  # noqa: S608
            " WHERE election_id = %s" + lock,
            [board_db_key(election_id)],
        ).fetchone()
    if row is None:
        raise BoardHead.DoesNotExist(f"no board for election {election_id}")
    seq, hash_, time = row
    return BoardHead(election_id=election_id, seq=seq, hash=hash_, time=time)


def board_append(
    *, election_id: Any, kind: str, payload: dict, tracker: str | None = None
) -> BoardEntry:
    """Append one entry inside the caller's transaction; return it."""
    return board_append_locked(
        head=board_lock(election_id=election_id), kind=kind, payload=payload, tracker=tracker
    )


def board_time(*, head: BoardHead, now: datetime | None = None) -> str:
    """The time of the next entry: now, but never before the head (board time never goes
    backwards, even if this machine's clock does or another server's lags)."""
    return max(format_time(now or timezone.now()), head.time)


def board_append_locked(
    *,
    head: BoardHead,
    kind: str,
    payload: dict,
    tracker: str | None = None,
    time: str | None = None,
) -> BoardEntry:
    """Append after :func:`board_lock`: one INSERT and one UPDATE of the head. ``time`` (from
    :func:`board_time`) when the caller has checked it against something, e.g. the window."""
    time = time or board_time(head=head)
    entry = board_entry_build(
        head.election_id, head.seq + 1, kind, time, head.hash, payload, tracker
    )
    entry.save()
    board_head_advance(head, entry)
    if kind == "state":  # a checkpoint at every state change (protocol §14.3)
        board_checkpoint_after_commit(election_id=head.election_id)
    return entry


def board_append_many(
    *, head: BoardHead, items: list[tuple[str, dict, str | None]], time: str | None = None
) -> list[BoardEntry]:
    """Append several entries after :func:`board_lock` in one statement and one head update (a
    group commit): ``items`` are ``(kind, payload, tracker)`` in order; each entry chains to the
    one before it exactly as one :func:`board_append_locked` after another would."""
    time = time or board_time(head=head)
    entries = []
    seq, prev = head.seq, head.hash
    for kind, payload, tracker in items:
        seq += 1
        entry = board_entry_build(head.election_id, seq, kind, time, prev, payload, tracker)
        entries.append(entry)
        prev = entry.hash
    if not entries:
        return entries
    _insert_entries(entries)
    board_head_advance(head, entries[-1])
    if any(kind == "state" for kind, _, _ in items):
        board_checkpoint_after_commit(election_id=head.election_id)
    return entries


_INSERT_ENTRY = (
    f"INSERT INTO {BoardEntry._meta.db_table}"  # noqa: S608 - the model's own table
    " (election_id, seq, kind, time, prev, hash, tracker, line)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _insert_entries(entries: list[BoardEntry]) -> None:
    """Insert built entries. On PostgreSQL with server-side parameters in one pipeline: a line's
    kilobytes travel as a parameter instead of being escaped into the query text (the ORM's
    client-side binding spent most of a group commit quoting them)."""
    if connection.vendor != "postgresql":
        BoardEntry.objects.bulk_create(entries)
        return
    key = board_db_key(entries[0].election_id)
    with hot_cursor() as cursor:
        cursor.executemany(
            _INSERT_ENTRY,
            [(key, e.seq, e.kind, e.time, e.prev, e.hash, e.tracker, e.line) for e in entries],
        )


def board_entry_build(election_id, seq, kind, time, prev, payload, tracker) -> BoardEntry:
    """The (unsaved) row of an entry: envelope and hash by crypto.board, stored as its
    canonical line."""
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown board entry kind {kind!r}")
    chained = ChainEntry.create(
        election=str(election_id), seq=seq, kind=kind, time=time, prev=prev, payload=payload
    )
    return BoardEntry(
        election_id=election_id,
        seq=seq,
        kind=kind,
        time=time,
        prev=prev,
        hash=chained.hash,
        tracker=tracker,
        line=canonical_json(chained.to_json()).decode("utf-8"),
    )


def board_head_advance(head: BoardHead, entry: BoardEntry) -> None:
    """Move the (locked) head to ``entry``."""
    BoardHead.objects.filter(pk=head.pk).update(seq=entry.seq, hash=entry.hash, time=entry.time)
    head.seq, head.hash, head.time = entry.seq, entry.hash, entry.time
