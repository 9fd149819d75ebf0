"""Reads of the bulletin board, by election id: entries, lines, head, one tracker's entry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404

from board.models import BoardEntry, BoardHead
from crypto.hashing import parse_json


def board_exists(*, election_id: Any) -> bool:
    try:
        return BoardHead.objects.filter(election_id=election_id).exists()
    except (ValueError, TypeError):
        return False


def board_get_head(*, election_id: Any) -> BoardHead:
    """The head row, or 404 (no such board)."""
    try:
        return BoardHead.objects.get(election_id=election_id)
    except (BoardHead.DoesNotExist, ValueError) as exc:
        raise Http404("No such election.") from exc


def board_entries(*, election_id: Any, kind: str | None = None) -> QuerySet[BoardEntry]:
    entries = BoardEntry.objects.filter(election_id=election_id).order_by("seq")
    if kind:
        entries = entries.filter(kind=kind)
    return entries


def board_lines(*, election_id: Any, after: int = -1) -> Iterator[str]:
    """The stored canonical lines after seq ``after``, in order, streamed from the database."""
    return (
        BoardEntry.objects.filter(election_id=election_id, seq__gt=after)
        .order_by("seq")
        .values_list("line", flat=True)
        .iterator(chunk_size=500)
    )


def board_head(*, election_id: Any) -> dict:
    head = board_get_head(election_id=election_id)
    kinds = dict(
        BoardEntry.objects.filter(election_id=election_id)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "election": str(head.election_id),
        "seq": head.seq,
        "hash": head.hash,
        "time": head.time,
        "count": head.seq + 1,
        "kinds": kinds,
    }


def board_entry_json(entry: BoardEntry) -> dict:
    return parse_json(entry.line)


def board_genesis(*, election_id: Any) -> dict:
    """The payload of the genesis entry (uuid, slug, title, board_key)."""
    line = (
        BoardEntry.objects.filter(election_id=election_id, seq=0)
        .values_list("line", flat=True)
        .first()
    )
    if line is None:
        raise Http404("No such election.")
    return parse_json(line)["payload"]


def board_ballot_entry(*, election_id: Any, tracker: str) -> BoardEntry:
    """The ``ballot`` or ``audit`` entry of a tracker."""
    try:
        return BoardEntry.objects.get(election_id=election_id, tracker=tracker)
    except BoardEntry.DoesNotExist as exc:
        raise Http404("No ballot with this tracker on the board.") from exc


def board_tracker_kind(*, election_id: Any, tracker: str) -> str | None:
    """``"ballot"``, ``"audit"`` or ``None``: is this tracker on the board already?"""
    return (
        BoardEntry.objects.filter(election_id=election_id, tracker=tracker)
        .values_list("kind", flat=True)
        .first()
    )
