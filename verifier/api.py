"""The verifier's public interface for programs that embed it.

Everything a server, a trustee or a test needs from the verifier is here; other modules of this
package are its internals and may change. Two uses:

- :func:`verify_board` verifies a whole board from a source (a file, a URL, the server's
  database; :class:`BoardSource` reads a file or a URL) and returns the report; with an ``executor`` the ballot chunks are verified elsewhere
  (``manage.py verify_board --distributed`` sends them to Celery workers).
- On such a worker, a :class:`ChunkWorker` is built from the board's own ``manifest`` entry and
  ``credentials`` entries (never from anything else) and verifies chunks of entries; its result
  travels as JSON (:meth:`ChunkWorker.verify_json`) and is read back with
  :func:`chunk_result_from_json`.
"""

from __future__ import annotations

from collections.abc import Iterable

from crypto.manifest import CredentialListReader
from verifier.ballots import (
    WorkerContext,
    chunk_result_from_json,
    chunk_result_to_json,
    verify_chunk,
    worker_init,
    worker_ready,
)
from verifier.credentials import CredentialTable
from verifier.engine import verify_board
from verifier.mixing import MIX_PAYLOAD_FIELDS, shuffle_signed_message
from verifier.report import Report
from verifier.source import BoardSource, SourceError

__all__ = [
    "MIX_PAYLOAD_FIELDS",
    "shuffle_signed_message",
    "BoardSource",
    "ChunkWorker",
    "Report",
    "SourceError",
    "chunk_result_from_json",
    "verify_board",
]


class ChunkWorker:
    """Verifies chunks of one board's ballot and audit entries in this process.

    ``manifest`` is the payload's ``manifest`` of the board's ``manifest`` entry;
    ``credential_parts`` the payloads of its ``credentials`` entries, in board order.
    """

    def __init__(self, manifest: dict, credential_parts: Iterable[dict]) -> None:
        reader = CredentialListReader()
        table = CredentialTable()
        for payload in credential_parts:
            table.extend(reader.add_part(payload))
        self._context = WorkerContext(manifest, table)
        self._loaded = False

    def verify_json(self, chunk: list[tuple[int, bytes]], check_proofs: bool) -> list:
        """Verify ``chunk`` (``(seq, canonical line with its newline)`` in board order); the
        result in JSON values only, for :func:`chunk_result_from_json` on the other side.

        The process holds one board's context at a time: a worker switching between boards (or
        whose context another worker replaced) reloads it first.
        """
        if not self._loaded or not worker_ready() or _ACTIVE.get("worker") is not self:
            worker_init(self._context)
            _ACTIVE["worker"] = self
            self._loaded = True
        return chunk_result_to_json(verify_chunk(chunk, check_proofs))


_ACTIVE: dict = {}
