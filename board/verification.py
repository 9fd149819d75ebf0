"""Verifying an election's board from the server's database, locally or spread over Celery workers.

``manage.py verify_board`` runs the observers' verifier (``verifier.api``) on the board stored in
the database. With ``--distributed`` the ballots are checked by Celery tasks over ranges of
entries (:func:`board.tasks.board_verify_chunk`) on as many machines as run workers, and their
results are merged in board order into the same report as a local run. Workers read only board
entries: the manifest and the credential list they check ballots against are rebuilt from the
board's own ``manifest`` and ``credentials`` entries, never from the server's convenience tables.
"""

from __future__ import annotations

import threading
from typing import Any

from board.models import BoardEntry
from crypto.board import BoardEntry as BoardLine
from crypto.hashing import parse_json
from verifier.api import ChunkWorker, Report, chunk_result_from_json, verify_board

_CHUNK_TIMEOUT_S = 600


class DbBoardSource:
    """The board of one election, read from the database in order (keys are sequence numbers)."""

    url = None
    path = None

    def __init__(self, election_id: Any, label: str = "") -> None:
        self.election_id = election_id
        self.source = f"database:{label} ({election_id})" if label else f"database:{election_id}"

    def lines(self, start: int = 0):
        rows = (
            BoardEntry.objects.filter(election_id=self.election_id, seq__gte=start)
            .order_by("seq")
            .values_list("seq", "line")
        )
        for seq, line in rows.iterator(chunk_size=2000):
            yield seq, line.encode("utf-8") + b"\n"

    def read_at(self, seq: int) -> bytes:
        line = BoardEntry.objects.values_list("line", flat=True).get(
            election_id=self.election_id, seq=seq
        )
        return line.encode("utf-8") + b"\n"

    def close(self) -> None:
        return None


# --- Worker side ----------------------------------------------------------------------------------

_workers: dict[str, tuple[int, ChunkWorker]] = {}
_lock = threading.Lock()


def _payload(line: str) -> dict:
    return BoardLine.from_json(parse_json(line)).payload


def chunk_worker(election_id: str) -> ChunkWorker:
    """A verifier chunk worker for the board's manifest and credential list, as the board states
    them (cached per process, per manifest entry)."""
    manifest_entry = (
        BoardEntry.objects.filter(election_id=election_id, kind="manifest")
        .values_list("seq", "line")
        .first()
    )
    if manifest_entry is None:
        raise ValueError("the election has no manifest on its board")
    with _lock:
        cached = _workers.get(election_id)
        if cached is not None and cached[0] == manifest_entry[0]:
            return cached[1]
    parts = (
        BoardEntry.objects.filter(election_id=election_id, kind="credentials")
        .order_by("seq")
        .values_list("line", flat=True)
    )
    worker = ChunkWorker(
        _payload(manifest_entry[1])["manifest"],
        (_payload(line) for line in parts.iterator(chunk_size=10)),
    )
    with _lock:
        _workers[election_id] = (manifest_entry[0], worker)
    return worker


def verify_chunk(election_id: str, seqs: list[int], check_proofs: bool) -> list:
    """Run the verifier's chunk check on the given board entries; JSON-safe result."""
    worker = chunk_worker(election_id)
    rows = dict(
        BoardEntry.objects.filter(election_id=election_id, seq__in=seqs).values_list("seq", "line")
    )
    chunk = [(seq, rows[seq].encode("utf-8") + b"\n") for seq in seqs]
    return worker.verify_json(chunk, check_proofs)


# --- Main side --------------------------------------------------------------------------------------


class _CeleryResult:
    __slots__ = ("async_result",)

    def __init__(self, async_result) -> None:
        self.async_result = async_result

    def result(self):
        return chunk_result_from_json(self.async_result.get(timeout=_CHUNK_TIMEOUT_S))


class CeleryChunkExecutor:
    """Sends chunks of board entries (by sequence number) to ``board_verify_chunk`` tasks."""

    def __init__(self, election_id: Any) -> None:
        self.election_id = str(election_id)

    def submit(self, chunk, check_proofs: bool) -> _CeleryResult:
        from board.tasks import board_verify_chunk

        seqs = [seq for seq, _ in chunk]
        return _CeleryResult(board_verify_chunk.delay(self.election_id, seqs, check_proofs))


def board_verify(
    *,
    election_id: Any,
    label: str = "",
    distributed: bool = False,
    jobs: int | None = None,
    since=None,
) -> Report:
    """Verify the stored board; the report carries any failure (it does not raise)."""
    source = DbBoardSource(election_id, label)
    executor = CeleryChunkExecutor(election_id) if distributed else None
    report, _ = verify_board(source, jobs=jobs, since=since, executor=executor)
    return report
