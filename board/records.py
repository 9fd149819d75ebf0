"""Records: append-only, hash-chained logs that belong to no election (docs/protocol.md §17;
envelope and hashing: crypto.record). A participatory process keeps its public record in one.

The app that keeps a record names it by an origin of its own (``process/<uuid>``) and appends
through these functions inside its own transaction; the board imports no app. Appends lock the
log's row (``SELECT … FOR UPDATE``) and the unique constraints on (log, seq) and (log, prev) make
a fork impossible even for a writer that skipped the lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.http import Http404
from django.utils import timezone

from board.models import RecordEntry, RecordLog
from crypto.board import GENESIS_PREV, format_time
from crypto.hashing import canonical_json
from crypto.record import RecordEntry as ChainEntry


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("record appends run inside the caller's transaction.atomic()")


def _entry_row(log: RecordLog, seq: int, kind: str, time: str, prev: str, payload: dict):
    chained = ChainEntry.create(
        log=str(log.pk), seq=seq, kind=kind, time=time, prev=prev, payload=payload
    )
    return RecordEntry(
        log=log,
        seq=seq,
        kind=kind,
        time=time,
        prev=prev,
        hash=chained.hash,
        line=canonical_json(chained.to_json()).decode("utf-8"),
    )


def record_create(*, origin: str, kind: str, payload: dict, log_id: Any = None) -> RecordLog:
    """Start a record with its genesis entry (seq 0). ``payload`` gets the log's ``uuid``."""
    _require_transaction()
    log = RecordLog(id=uuid.UUID(str(log_id)) if log_id else uuid.uuid4(), origin=origin)
    time = format_time(timezone.now())
    entry = _entry_row(log, 0, kind, time, GENESIS_PREV, {"uuid": str(log.pk), **payload})
    log.seq, log.hash, log.time = 0, entry.hash, time
    log.save(force_insert=True)
    entry.save()
    return log


def record_append(*, log_id: Any, kind: str, payload: dict) -> RecordEntry:
    """Append one entry inside the caller's transaction (the log's row locked until its
    commit); time never goes backwards."""
    _require_transaction()
    log = RecordLog.objects.select_for_update().get(pk=log_id)
    time = max(format_time(timezone.now()), log.time)
    entry = _entry_row(log, log.seq + 1, kind, time, log.hash, payload)
    entry.save()
    RecordLog.objects.filter(pk=log.pk).update(seq=entry.seq, hash=entry.hash, time=time)
    return entry


def record_head(*, log_id: Any) -> RecordLog:
    try:
        return RecordLog.objects.get(pk=log_id)
    except (RecordLog.DoesNotExist, ValueError) as exc:
        raise Http404("No such record.") from exc


def record_entries(*, log_id: Any, kind: str | None = None):
    entries = RecordEntry.objects.filter(log_id=log_id).order_by("seq")
    return entries.filter(kind=kind) if kind else entries


def record_lines(*, log_id: Any) -> Iterator[str]:
    """The stored canonical lines in order, streamed from the database."""
    return (
        RecordEntry.objects.filter(log_id=log_id)
        .order_by("seq")
        .values_list("line", flat=True)
        .iterator(chunk_size=500)
    )
