"""The transparency log over the board (docs/protocol.md §14), checked against the export.

:class:`LogChecker` is fed the board's canonical lines in order (``add``) and the published
checkpoints (signed notes, each with its cosignatures). It keeps only the compact range of the
Merkle tree (at most log₂ n hashes), so memory stays flat in the board's size. It checks:

- every checkpoint is a c2sp.org/tlog-checkpoint signed by the board key of the genesis entry,
  under the origin ``<host>/pnyx/<election>`` of this election (one origin for all);
- its root is the root of the export's first ``size`` entries — a signed checkpoint that
  disagrees with the export, or two signed checkpoints of one size with different roots, is a
  fork: the checker fails and keeps the fork proof (both signed statements);
- every cosignature by a witness the manifest names verifies, and the largest checkpoint is
  cosigned by at least the manifest's quorum of distinct witnesses.

Checkpoints larger than the export are reported, not checked (fetch the checkpoints before the
export to have none).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from crypto.board import BoardEntry
from crypto.checkpoint import (
    Checkpoint,
    ForkProof,
    WitnessPolicy,
    open_checkpoint,
    parse_pnyx_origin,
)
from crypto.errors import CryptoError, QuorumNotMet
from crypto.manifest import manifest_witnesses
from crypto.note import SIG_ED25519, NoteVerifier, parse_note
from crypto.tlog import EMPTY_ROOT, leaf_hash, node_hash

MAX_CHECKPOINTS = 1_000_000


class LogProblem(Exception):
    """The log does not check; ``fork`` holds the fork proof when that is what it is."""

    def __init__(self, message: str, fork: dict | None = None) -> None:
        super().__init__(message)
        self.fork = fork


class CompactRange:
    """The roots of the complete subtrees covering the leaves so far (RFC 9162 tree shape)."""

    __slots__ = ("size", "_stack")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), left to right

    def append(self, leaf: bytes) -> None:
        node = (0, leaf)
        while self._stack and self._stack[-1][0] == node[0]:
            height, left = self._stack.pop()
            node = (height + 1, node_hash(left, node[1]))
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


@dataclass
class LogReport:
    checkpoints: int = 0
    checked: int = 0
    beyond_export: int = 0
    largest: int = 0
    witnesses: int = 0
    quorum: int = 0
    cosigned_largest: int = 0
    problem: str | None = None
    fork: dict | None = None
    notes: list[str] = field(default_factory=list)
    #: with --follow: the checker, kept to advance (not part of the report)
    checker: object = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        return {
            "checkpoints": self.checkpoints,
            "checked": self.checked,
            "beyond_export": self.beyond_export,
            "largest": self.largest,
            "witnesses": self.witnesses,
            "quorum": self.quorum,
            "cosigned_largest": self.cosigned_largest,
            "problem": self.problem,
            "fork": self.fork,
        }

    def human(self) -> str:
        if self.problem:
            return f"transparency log: FAILED: {self.problem}"
        if not self.checkpoints:
            return "transparency log: no checkpoint published"
        text = (
            f"transparency log: {self.checked} checkpoint(s) match the export, the largest of "
            f"{self.largest} entries"
        )
        if self.witnesses:
            text += (
                f", witnessed by {self.cosigned_largest} of {self.witnesses} (quorum {self.quorum})"
            )
        if self.beyond_export:
            text += f"; {self.beyond_export} beyond the export not checked"
        return text


class LogChecker:
    def __init__(self, notes: list[str]) -> None:
        if len(notes) > MAX_CHECKPOINTS:
            raise LogProblem("too many checkpoints")
        self.report = LogReport(checkpoints=len(notes))
        self._tree = CompactRange()
        self._by_size: dict[int, list[tuple[str, Checkpoint]]] = {}
        origins = set()
        for text in notes:
            try:
                cp = Checkpoint.from_text(parse_note(text).text)
            except CryptoError as exc:
                raise LogProblem(f"a checkpoint is not a signed checkpoint note: {exc}") from None
            origins.add(cp.origin)
            self._by_size.setdefault(cp.size, []).append((text, cp))
        if len(origins) > 1:
            raise LogProblem(f"checkpoints of several logs: {sorted(origins)}")
        self.origin = origins.pop() if origins else None
        self._log_key: NoteVerifier | None = None
        self._policy: WitnessPolicy | None = None
        #: the largest checkpoint checked against the entries so far: (size, root, note)
        self.last: tuple[int, bytes, str] | None = None
        for size, items in self._by_size.items():  # one size, two roots: a fork on its face
            roots = {cp.root for _, cp in items}
            if len(roots) > 1:
                self._pending_fork = (size, items)
                break
        else:
            self._pending_fork = None
        self.report.largest = max(self._by_size, default=0)

    def _open(self, text: str) -> None:
        try:
            open_checkpoint(text, origin=self.origin, log_key=self._log_key)
        except CryptoError as exc:
            raise LogProblem(f"a checkpoint is not signed by the board key: {exc}") from None

    def add(self, seq: int, line: bytes) -> None:
        """Entry ``seq``'s canonical line (without its newline), in board order."""
        if seq == 0 or (self._policy is None and b'"kind":"manifest"' in line[:200]):
            self._read_entry(seq, line)
        self._tree.append(leaf_hash(line))
        items = self._by_size.get(self._tree.size)
        if items:
            self._check(self._tree.size, items)

    def _read_entry(self, seq: int, line: bytes) -> None:
        entry = BoardEntry.from_canonical_line(line + b"\n")
        if seq == 0 and self.origin is not None:
            try:
                _, election = parse_pnyx_origin(self.origin)
            except CryptoError as exc:
                raise LogProblem(f"the checkpoints' origin: {exc}") from None
            if election != entry.election:
                raise LogProblem(
                    f"the checkpoints are of election {election}, the board of {entry.election}"
                )
            key = bytes.fromhex(entry.payload["board_key"])
            self._log_key = NoteVerifier(self.origin, SIG_ED25519, key)
            if self._pending_fork is not None:
                size, items = self._pending_fork
                for text, _ in items:
                    self._open(text)
                self._fail_fork(
                    items[0][0],
                    items[1][0],
                    "same-size",
                    f"two checkpoints of size {size} with different roots",
                )
        elif entry.kind == "manifest":
            witnesses, quorum = manifest_witnesses(entry.payload["manifest"].get("witnesses"))
            self._policy = WitnessPolicy(tuple(w.key for w in witnesses), quorum)
            self.report.witnesses, self.report.quorum = len(witnesses), quorum

    def _fail_fork(self, first: str, second: str, kind: str, message: str) -> None:
        fork = ForkProof(self.origin, kind, first, second, ()).to_json()
        self.report.fork = fork
        raise LogProblem(f"fork: {message}", fork)

    def _check(self, size: int, items: list[tuple[str, Checkpoint]]) -> None:
        root = self._tree.root()
        for text, cp in items:
            self._open(text)
            if cp.root != root:
                self.report.fork = {
                    "type": "pnyx-fork-proof/v1",
                    "origin": self.origin,
                    "kind": "export-mismatch",
                    "checkpoints": [text],
                    "size": size,
                    "export_root": root.hex(),
                }
                raise LogProblem(
                    f"fork: the checkpoint of size {size} (signed by the board key) has root "
                    f"{cp.root.hex()}, the export's first {size} entries have root {root.hex()}",
                    self.report.fork,
                )
            if self._policy is not None and self._policy.witnesses:
                try:
                    checked = open_checkpoint(
                        text,
                        origin=self.origin,
                        log_key=self._log_key,
                        policy=WitnessPolicy(self._policy.witnesses, 0),
                    )
                except CryptoError as exc:
                    raise LogProblem(f"checkpoint of size {size}: {exc}") from None
                if size == self.report.largest:
                    self.report.cosigned_largest = len(checked.witnesses)
            self.report.checked += 1
            self.last = (size, cp.root, text)

    @property
    def size(self) -> int:
        """Entries added so far."""
        return self._tree.size

    def advance(self, text: str, proof: list[bytes]) -> bool:
        """``--follow``: a newer checkpoint from the server (``text``) with the server's
        consistency proof from the last checkpoint checked. Checks the board key's signature,
        the witnesses' cosignatures (the manifest's quorum) and the proof; the checkpoint's root
        is then checked against the entries when :meth:`add` reaches its size, so the entries
        must not be added past it before (the caller holds them back). Returns ``False`` for a
        checkpoint no larger than the last one checked (nothing to do), raises
        :class:`LogProblem` (with the fork proof when two signed checkpoints disagree)."""
        from crypto.checkpoint import classify_inconsistency
        from crypto.tlog import verify_consistency

        old_size, old_root, old_text = self.last or (0, EMPTY_ROOT, None)
        try:
            cp = Checkpoint.from_text(parse_note(text).text)
        except CryptoError as exc:
            raise LogProblem(f"a checkpoint is not a signed checkpoint note: {exc}") from None
        if cp.origin != self.origin:
            raise LogProblem(f"a checkpoint of another log: {cp.origin}")
        self._open(text)
        if old_text is not None and cp.size < old_size:
            self._fail_fork(
                old_text,
                text,
                "shrunk",
                f"the latest checkpoint ({cp.size} entries) is smaller than one checked "
                f"before ({old_size})",
            )
        if cp.size == old_size and cp.root == old_root:
            return False
        if cp.size < self._tree.size:
            raise LogProblem(
                f"the checkpoint of {cp.size} entries is behind the {self._tree.size} entries "
                "already added: it can no longer be checked against them"
            )
        try:
            if old_text is not None:  # the first checkpoint: only its root, checked below
                verify_consistency(old_size, cp.size, old_root, cp.root, proof)
        except CryptoError as exc:
            kind = classify_inconsistency(
                Checkpoint.from_text(parse_note(old_text).text), cp, proof
            )
            fork = ForkProof(self.origin, kind or "bad-proof", old_text, text, tuple(proof))
            self.report.fork = fork.to_json()
            raise LogProblem(
                f"the checkpoint of {cp.size} entries does not extend the one of {old_size} "
                f"({kind or 'bad proof'}): {exc}",
                self.report.fork,
            ) from None
        self._by_size.setdefault(cp.size, []).append((text, cp))
        self.report.checkpoints += 1
        self.report.largest = max(self.report.largest, cp.size)
        if cp.size == self._tree.size:
            self._check(cp.size, self._by_size[cp.size])
        return True

    def finish(self) -> LogReport:
        """After the last line: the quorum on the largest checkpoint, what was beyond the export."""
        self.report.beyond_export = sum(
            len(items) for size, items in self._by_size.items() if size > self._tree.size
        )
        largest = self.report.largest
        if (
            self._policy is not None
            and self._policy.quorum
            and largest <= self._tree.size
            and self.report.cosigned_largest < self._policy.quorum
        ):
            raise LogProblem(
                str(
                    QuorumNotMet(
                        f"the largest checkpoint ({largest} entries) is cosigned by "
                        f"{self.report.cosigned_largest} of the {len(self._policy.witnesses)} "
                        f"witnesses; the quorum is {self._policy.quorum}"
                    )
                )
            )
        return self.report


def follow_checkpoint(
    checker: LogChecker, election_api: str, held: list, *, timeout: float = 60.0
) -> int:
    """``--follow``, one poll of the log: fetch the latest checkpoint and, if it is newer than
    the last one checked, the consistency proof from that one (checked by
    :meth:`LogChecker.advance`); then add the held-back entries up to it, so that its root is
    checked against them. ``held`` is the list of ``(seq, line)`` not added yet (the caller
    appends the new entries it verified). Returns the size of the last checkpoint checked."""
    from crypto.note import b64decode

    api = election_api.rstrip("/")
    text = _get_text(f"{api}/checkpoint", timeout)
    cp = Checkpoint.from_text(parse_note(text).text)
    old = checker.last[0] if checker.last else 0
    if cp.size > old and cp.size <= checker.size + len(held):
        proof = []
        if old:
            answer = _get_json(f"{api}/board/proof/consistency?old={old}&new={cp.size}", timeout)
            proof = [b64decode(h, "consistency proof") for h in answer["proof"]]
        # the entries up to the checkpoint's size, then the checkpoint, whose root they give
        while held and checker.size < cp.size:
            seq, line = held.pop(0)
            checker.add(seq, line)
        checker.advance(text, proof)
    elif cp.size < old:
        checker.advance(text, [])  # raises: the log shrank
    return checker.last[0] if checker.last else 0


def checkpoints_url(export_url: str) -> str:
    """``…/api/elections/<id>/board.jsonl`` → ``…/api/elections/<id>/checkpoints/``."""
    parts = urllib.parse.urlsplit(export_url)
    path = parts.path.rsplit("/", 1)[0] + "/checkpoints/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def load_checkpoints(where: str, *, timeout: float = 60.0) -> list[str]:
    """Checkpoint notes from the API (following its pages) or from a file: a JSON array of notes,
    or a saved page (``{"results": [{"note": …}, …]}``)."""
    notes: list[str] = []
    if where.startswith(("http://", "https://")):
        url: str | None = where
        while url:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                page = json.loads(response.read(64 * 1024 * 1024))
            notes.extend(row["note"] for row in page["results"])
            nxt = page.get("next")
            url = urllib.parse.urljoin(url, nxt) if nxt else None
            if len(notes) > MAX_CHECKPOINTS:
                raise LogProblem("too many checkpoints")
        return notes
    data = json.loads(Path(where).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [row["note"] for row in data["results"]]
    if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
        raise LogProblem("a checkpoints file is a JSON array of checkpoint notes")
    return data


def check_log(lines, notes: list[str], *, hold_back: list | None = None) -> LogReport:
    """Run the checker over ``(seq, line)`` pairs (lines without their newline); the report
    carries the problem instead of raising. With ``hold_back`` (a list, for ``--follow``), the
    lines past the largest checkpoint are not added but appended there, and the checker is
    ``report.checker``, to be advanced later (:meth:`LogChecker.advance`)."""
    try:
        checker = LogChecker(notes)
    except LogProblem as exc:
        return LogReport(checkpoints=len(notes), problem=str(exc), fork=exc.fork)
    try:
        for seq, line in lines:
            if hold_back is not None and checker.size >= checker.report.largest:
                hold_back.append((seq, line))
            else:
                checker.add(seq, line)
        report = checker.finish()
        if hold_back is not None:
            report.checker = checker
        return report
    except LogProblem as exc:
        checker.report.problem = str(exc)
        checker.report.fork = exc.fork or checker.report.fork
        return checker.report


# --- One voter's receipt, with O(log n) downloads -------------------------------------------------


def _get_json(url: str, timeout: float) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read(16 * 1024 * 1024))


def _get_text(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        return response.read(1024 * 1024).decode("utf-8")


@dataclass
class ReceiptVerdict:
    seq: int
    kind: str
    tracker: str | None
    receipt_size: int
    latest_size: int
    witnesses: int
    quorum: int
    cosigned: int

    def human(self) -> str:
        what = f"{self.kind} entry #{self.seq}" + (
            f" (tracker {self.tracker})" if self.tracker else ""
        )
        return (
            f"receipt verified: {what} is in the board's tree of {self.receipt_size} entries, "
            f"which the latest checkpoint ({self.latest_size} entries) extends; the latest "
            f"checkpoint is cosigned by {self.cosigned} of {self.witnesses} witnesses "
            f"(quorum {self.quorum})"
        )

    def to_json(self) -> dict:
        return dict(self.__dict__, verified=True)


def check_receipt(receipt: bytes, election_api: str, *, timeout: float = 60.0) -> ReceiptVerdict:
    """Check a receipt (a c2sp.org/tlog-proof with the entry's line as extra data, protocol
    §14.6) against the election's latest checkpoint: the receipt's inclusion proof under its own
    checkpoint, the consistency of that checkpoint with the latest one, and the latest one's
    witness quorum from the manifest. Downloads the genesis and manifest entries, the latest
    checkpoint and one consistency proof. Raises :class:`LogProblem` (or ``CryptoError``)."""
    from crypto.checkpoint import TlogProof, verify_entry_proof
    from crypto.note import b64decode
    from crypto.tlog import verify_consistency

    proof = TlogProof.from_text(receipt)
    api = election_api.rstrip("/")
    genesis = _get_json(f"{api}/board/?kind=election&limit=1", timeout)["results"][0]
    manifests = _get_json(f"{api}/board/?kind=manifest&limit=1", timeout)["results"]
    if not manifests:
        raise LogProblem("the election has no manifest on its board yet")
    witnesses, quorum = manifest_witnesses(manifests[0]["payload"]["manifest"].get("witnesses"))
    policy = WitnessPolicy(tuple(w.key for w in witnesses), quorum)
    receipt_cp = Checkpoint.from_text(parse_note(proof.checkpoint).text)
    origin = receipt_cp.origin
    _, election = parse_pnyx_origin(origin)
    if election != genesis["election"]:
        raise LogProblem("the receipt is for another election than this board's")
    log_key = NoteVerifier(origin, SIG_ED25519, bytes.fromhex(genesis["payload"]["board_key"]))
    entry, _ = verify_entry_proof(
        proof, origin=origin, log_key=log_key, policy=WitnessPolicy(policy.witnesses, 0)
    )
    latest_text = _get_text(f"{api}/checkpoint", timeout)
    latest = open_checkpoint(latest_text, origin=origin, log_key=log_key, policy=policy)
    new = latest.checkpoint
    if new.size < receipt_cp.size:
        raise LogProblem(
            f"fork: the latest checkpoint ({new.size} entries) is smaller than the receipt's "
            f"({receipt_cp.size})",
            ForkProof(origin, "shrunk", proof.checkpoint, latest_text, ()).to_json(),
        )
    answer = _get_json(
        f"{api}/board/proof/consistency?old={receipt_cp.size}&new={new.size}", timeout
    )
    hashes = [b64decode(h, "consistency proof") for h in answer["proof"]]
    try:
        verify_consistency(receipt_cp.size, new.size, receipt_cp.root, new.root, hashes)
    except CryptoError as exc:
        from crypto.checkpoint import classify_inconsistency

        kind = classify_inconsistency(receipt_cp, new, hashes) or "bad-proof"
        fork = ForkProof(origin, kind, proof.checkpoint, latest_text, tuple(hashes)).to_json()
        raise LogProblem(
            f"the latest checkpoint does not extend the receipt's ({kind}): {exc}", fork
        ) from None
    return ReceiptVerdict(
        seq=entry.seq,
        kind=entry.kind,
        tracker=entry.payload.get("tracker") if isinstance(entry.payload, dict) else None,
        receipt_size=receipt_cp.size,
        latest_size=new.size,
        witnesses=len(policy.witnesses),
        quorum=policy.quorum,
        cosigned=len(latest.witnesses),
    )
