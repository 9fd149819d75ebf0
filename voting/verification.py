"""Verifying an election's board from the server's database, locally or spread over Celery workers.

``manage.py verify_board`` runs the observers' verifier (verifier.engine) on the board stored in
the database. With ``--distributed`` the ballots are checked by Celery tasks over ranges of
entries (:func:`voting.tasks.board_verify_chunk`) on as many machines as run workers, and their
results are merged in board order into the same report as a local run. Workers read only board
entries: the manifest and the credential list they check ballots against are rebuilt from the
board's own `manifest` and `credentials` entries, never from the server's convenience tables.
"""

from __future__ import annotations

import threading

from board.models import BoardEntry
from crypto.board import BoardEntry as BoardLine
from crypto.hashing import parse_json
from crypto.manifest import CredentialListReader
from verifier.ballots import (
    WorkerContext,
    chunk_result_from_json,
    chunk_result_to_json,
    worker_init,
    worker_ready,
)
from verifier.ballots import (
    verify_chunk as verifier_chunk,
)
from verifier.credentials import CredentialTable
from verifier.engine import verify_board
from verifier.report import Report
from voting.models import Election

_CHUNK_TIMEOUT_S = 600


class DbBoardSource:
    """The board of one election, read from the database in order (keys are sequence numbers)."""

    url = None
    path = None

    def __init__(self, election: Election) -> None:
        self.election = election
        self.source = f"database:{election.slug} ({election.pk})"

    def lines(self, start: int = 0):
        rows = (
            BoardEntry.objects.filter(election=self.election, seq__gte=start)
            .order_by("seq")
            .values_list("seq", "line")
        )
        for seq, line in rows.iterator(chunk_size=2000):
            yield seq, line.encode("utf-8") + b"\n"

    def read_at(self, seq: int) -> bytes:
        line = BoardEntry.objects.values_list("line", flat=True).get(
            election=self.election, seq=seq
        )
        return line.encode("utf-8") + b"\n"

    def close(self) -> None:
        return None


# --- Worker side ----------------------------------------------------------------------------------

_contexts: dict[str, tuple[int, WorkerContext]] = {}
_lock = threading.Lock()


def worker_context(election_id: str) -> WorkerContext:
    """The manifest and credential list as the board states them (cached per process)."""
    manifest_entry = (
        BoardEntry.objects.filter(election_id=election_id, kind="manifest")
        .values_list("seq", "line")
        .first()
    )
    if manifest_entry is None:
        raise ValueError("the election has no manifest on its board")
    with _lock:
        cached = _contexts.get(election_id)
        if cached is not None and cached[0] == manifest_entry[0]:
            return cached[1]
    reader = CredentialListReader()
    table = CredentialTable()
    parts = (
        BoardEntry.objects.filter(election_id=election_id, kind="credentials")
        .order_by("seq")
        .values_list("line", flat=True)
    )
    for line in parts.iterator(chunk_size=10):
        table.extend(reader.add_part(BoardLine.from_json(parse_json(line)).payload))
    manifest = BoardLine.from_json(parse_json(manifest_entry[1])).payload["manifest"]
    context = WorkerContext(manifest, table)
    with _lock:
        _contexts[election_id] = (manifest_entry[0], context)
    return context


_initialised: dict[int, str] = {}


def verify_chunk(election_id: str, seqs: list[int], check_proofs: bool) -> list:
    """Run the verifier's chunk check on the given board entries; JSON-safe result."""
    context = worker_context(election_id)
    if _initialised.get(threading.get_ident()) != election_id or not worker_ready():
        worker_init(context)
        _initialised[threading.get_ident()] = election_id
    rows = dict(
        BoardEntry.objects.filter(election_id=election_id, seq__in=seqs).values_list("seq", "line")
    )
    chunk = [(seq, rows[seq].encode("utf-8") + b"\n") for seq in seqs]
    return chunk_result_to_json(verifier_chunk(chunk, check_proofs))


# --- Main side --------------------------------------------------------------------------------------


class _CeleryResult:
    __slots__ = ("async_result",)

    def __init__(self, async_result) -> None:
        self.async_result = async_result

    def result(self):
        return chunk_result_from_json(self.async_result.get(timeout=_CHUNK_TIMEOUT_S))


class CeleryChunkExecutor:
    """Sends chunks of board entries (by sequence number) to ``board_verify_chunk`` tasks."""

    def __init__(self, election: Election) -> None:
        self.election_id = str(election.pk)

    def submit(self, chunk, check_proofs: bool) -> _CeleryResult:
        from voting.tasks import board_verify_chunk

        seqs = [seq for seq, _ in chunk]
        return _CeleryResult(board_verify_chunk.delay(self.election_id, seqs, check_proofs))


def board_verify(
    *, election: Election, distributed: bool = False, jobs: int | None = None, since=None
) -> Report:
    """Verify the stored board; the report carries any failure (it does not raise)."""
    source = DbBoardSource(election)
    executor = CeleryChunkExecutor(election) if distributed else None
    report, _ = verify_board(source, jobs=jobs, since=since, executor=executor)
    return report
