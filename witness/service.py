"""The witness's decisions (c2sp.org/tlog-witness), independent of HTTP.

:meth:`Witness.add_checkpoint` takes a request body and returns ``(status, content type, body)``
exactly as the spec fixes them:

====  =====================================================================================
200   cosigned: one ``cosignature/v1`` signature line
400   malformed request, or an old size larger than the checkpoint's size
403   no valid signature by the log's key (or a signature by its key that fails)
404   the origin is not a log this witness witnesses
409   the old size is not the size we last cosigned; the body is that size (text/x.tlog.size)
422   a size-0 checkpoint without the empty root, a proof from size 0, a consistency proof
      that does not verify, or the same size with another root
====  =====================================================================================

The check of the old size and the update of the stored checkpoint happen in one SQLite
``BEGIN IMMEDIATE`` transaction under a process lock, so two concurrent requests can never roll
the log back. A checkpoint signed by the log that contradicts the one we cosigned is refused and
kept as evidence (both signed checkpoints and the proof), whatever status it got.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from crypto.checkpoint import (
    AddCheckpoint,
    Checkpoint,
    ForkProof,
    classify_inconsistency,
    format_size_body,
)
from crypto.errors import InvalidEncoding, InvalidMerkleProof, InvalidSignature
from crypto.note import b64decode, b64encode, open_note, parse_note
from crypto.tlog import EMPTY_ROOT, verify_consistency
from witness.state import (
    CONFIG_FILE,
    KEY_FILE,
    MAX_EVIDENCE_PER_LOG,
    STATE_FILE,
    WitnessConfig,
    WitnessSetupError,
    connect,
    now,
    read_private_key,
)

TEXT = "text/plain; charset=utf-8"
SIZE = "text/x.tlog.size"


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def _error(status: int, message: str) -> Response:
    return Response(status, TEXT, (message.rstrip("\n") + "\n").encode("utf-8"))


@dataclass(frozen=True)
class Evidence:
    id: int
    origin: str
    kind: str
    detected_at: int
    old_size: int
    new_size: int
    fork: ForkProof


class Witness:
    """One witness: its key, its configuration file and its state database, in ``directory``."""

    def __init__(self, directory: Path, *, clock=now) -> None:
        self.directory = Path(directory)
        self.signer = read_private_key(self.directory / KEY_FILE)
        self._config_path = self.directory / CONFIG_FILE
        self._config = WitnessConfig.load(self._config_path)
        self._config_mtime = self._config_path.stat().st_mtime_ns
        if self._config.name != self.signer.name:
            raise WitnessSetupError(
                f"{CONFIG_FILE} names {self._config.name!r} but the key is {self.signer.name!r}"
            )
        self._db = connect(self.directory / STATE_FILE)
        self._lock = threading.Lock()
        self._clock = clock

    @property
    def config(self) -> WitnessConfig:
        """The configuration, re-read when ``witness.json`` changed (``add-log`` while serving)."""
        mtime = self._config_path.stat().st_mtime_ns
        if mtime != self._config_mtime:
            self._config = WitnessConfig.load(self._config_path)
            self._config_mtime = mtime
        return self._config

    def close(self) -> None:
        self._db.close()

    # --- add-checkpoint ------------------------------------------------------------------

    def add_checkpoint(self, body: bytes) -> Response:
        try:
            request = AddCheckpoint.from_bytes(body)
            note = parse_note(request.checkpoint)
            checkpoint = Checkpoint.from_text(note.text)
        except InvalidEncoding as exc:
            return _error(400, f"malformed request: {exc}")
        log = self.config.logs.get(checkpoint.origin)
        if log is None:
            return _error(404, f"unknown log {checkpoint.origin[:200]!r}")
        try:
            opened = open_note(note, [log.key])
        except InvalidSignature as exc:  # UnverifiedNote included
            return _error(403, f"the checkpoint is not signed by the log's key: {exc}")
        if request.old_size > checkpoint.size:
            return _error(400, "the old size is larger than the checkpoint's size")
        log_lines = "".join(sig.line for _, sig, _ in opened.verified)
        signed = note.text + "\n" + log_lines  # the checkpoint with the log's signature(s) only
        with self._lock:
            return self._decide(request, checkpoint, signed)

    def _decide(self, request: AddCheckpoint, checkpoint: Checkpoint, signed: str) -> Response:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT size, root, note FROM checkpoints WHERE origin = ?", (checkpoint.origin,)
            ).fetchone()
            response = self._check(request, checkpoint, signed, row)
            if response.status == 200:
                line = response.body.decode("utf-8")
                db.execute(
                    "INSERT INTO checkpoints (origin, size, root, note, cosigned_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                    "root = excluded.root, note = excluded.note, cosigned_at = excluded.cosigned_at",
                    (
                        checkpoint.origin,
                        checkpoint.size,
                        checkpoint.root,
                        signed + line,
                        self._clock(),
                    ),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return response

    def _check(self, request, checkpoint, signed, row) -> Response:
        stored = None
        if row is not None:
            stored = Checkpoint.from_text(parse_note(row[2]).text)
            # same size, another root: a fork shown by two signed checkpoints alone
            if checkpoint.size == stored.size and checkpoint.root != stored.root:
                self._keep(stored, row[2], checkpoint, signed, request.proof)
        stored_size = 0 if stored is None else stored.size
        if request.old_size != stored_size:
            return Response(409, SIZE, format_size_body(stored_size))
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            if stored is not None:
                self._keep(stored, row[2], checkpoint, signed, request.proof)
            return _error(422, 'a checkpoint of size 0 has the root SHA-256("")')
        if request.old_size == 0:
            if request.proof:
                return _error(422, "the consistency proof from size 0 is empty")
        else:
            try:
                verify_consistency(
                    stored.size, checkpoint.size, stored.root, checkpoint.root, list(request.proof)
                )
            except (InvalidMerkleProof, InvalidEncoding) as exc:
                self._keep(stored, row[2], checkpoint, signed, request.proof)
                return _error(
                    422, f"the checkpoint is not consistent with size {stored.size}: {exc}"
                )
        timestamp = self._clock()
        line = self.signer.signature_line(checkpoint.text(), timestamp=timestamp)
        return Response(200, TEXT, line.encode("utf-8"))

    def _keep(self, old: Checkpoint, old_note: str, new: Checkpoint, new_note: str, proof) -> None:
        kind = classify_inconsistency(old, new, proof)
        if kind is None:  # pragma: no cover - only called on an inconsistency
            return
        (count,) = self._db.execute(
            "SELECT count(*) FROM evidence WHERE origin = ?", (old.origin,)
        ).fetchone()
        if count >= MAX_EVIDENCE_PER_LOG:
            return
        self._db.execute(
            "INSERT OR IGNORE INTO evidence (origin, kind, detected_at, old_size, new_size, "
            "old_note, new_note, proof) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                old.origin,
                kind,
                self._clock(),
                old.size,
                new.size,
                old_note,
                new_note,
                "".join(b64encode(h) + "\n" for h in proof),
            ),
        )

    # --- monitoring and evidence ---------------------------------------------------------------

    def latest(self, origin_hash: str) -> Response:
        """``GET /<hex SHA-256 of origin>/checkpoint``: the latest cosigned checkpoint."""
        for origin in self.config.logs:
            if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
                with self._lock:  # one connection: never read inside a writer's transaction
                    row = self._db.execute(
                        "SELECT note FROM checkpoints WHERE origin = ?", (origin,)
                    ).fetchone()
                if row is not None:
                    return Response(200, TEXT, row[0].encode("utf-8"))
        return _error(404, "no checkpoint cosigned for that log")

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        query = (
            "SELECT id, origin, kind, detected_at, old_size, new_size, old_note, new_note, proof "
            "FROM evidence"
        )
        args: tuple = ()
        if origin is not None:
            query += " WHERE origin = ?"
            args = (origin,)
        out = []
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        for row in rows:
            ident, origin_, kind, at, old_size, new_size, old_note, new_note, proof = row
            proof_hashes = tuple(b64decode(line, "stored proof") for line in proof.splitlines())
            fork = ForkProof(origin_, kind, old_note, new_note, proof_hashes)
            out.append(Evidence(ident, origin_, kind, at, old_size, new_size, fork))
        return out
