"""Checkpoints, witness quorums, tlog proofs, the witness wire format and fork proofs (protocol §14).

- **Checkpoint** (c2sp.org/tlog-checkpoint): the note text ``origin ‖ "\\n" ‖ decimal(size) ‖
  "\\n" ‖ base64(root) ‖ "\\n"`` (plus optional non-empty extension lines), signed by the log.
  Pnyx's origin is ``<host>/pnyx/<election UUID>`` (:func:`pnyx_origin`) and the log key is the
  board key of the election's genesis entry, named by the origin.
- **Witness quorum** (:class:`WitnessPolicy`): ``k`` of the ``m`` witnesses named in the manifest,
  each counted once per distinct witness key with a valid ``cosignature/v1`` on the checkpoint.
- **tlog proof** (c2sp.org/tlog-proof): ``c2sp.org/tlog-proof@v1``, optional ``extra``, ``index``,
  the inclusion proof, a blank line and the checkpoint; Pnyx's receipts put the board entry's leaf
  bytes in ``extra`` so that the receipt is checkable with nothing else (:func:`verify_entry_proof`).
- **add-checkpoint** (c2sp.org/tlog-witness): the request body ``old N``, consistency proof lines,
  a blank line and the checkpoint; and the ``409`` body ``N\\n``.
- **Fork proof**: two checkpoints signed by one log key that cannot both be true, with the
  consistency proof the log gave between them (:func:`classify_inconsistency`,
  :func:`verify_fork_proof`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.errors import (
    InvalidEncoding,
    InvalidMerkleProof,
    InvalidNote,
    InvalidProof,
    QuorumNotMet,
    UnverifiedNote,
)
from crypto.note import (
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    Note,
    NoteVerifier,
    VerifiedNote,
    b64decode,
    b64encode,
    open_note,
    parse_note,
)
from crypto.tlog import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    consistency_roots,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "Checkpoint",
    "WitnessPolicy",
    "CheckedCheckpoint",
    "pnyx_origin",
    "parse_pnyx_origin",
    "open_checkpoint",
    "TlogProof",
    "verify_tlog_proof",
    "verify_entry_proof",
    "AddCheckpoint",
    "MAX_WITNESS_PROOF_LINES",
    "format_size_body",
    "parse_size_body",
    "classify_inconsistency",
    "ForkProof",
    "verify_fork_proof",
]

_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,18})\Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*\Z")
#: c2sp.org/tlog-witness: a client sends at most 63 consistency proof lines.
MAX_WITNESS_PROOF_LINES = 63
PROOF_HEADER = "c2sp.org/tlog-proof@v1"


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.match(text) or int(text) > MAX_TREE_SIZE:
        raise InvalidNote(f"{what}: a decimal in [0, 2^63 − 1] without leading zeros")
    return int(text)


def _hash_line(text: str, what: str) -> bytes:
    raw = b64decode(text, what)
    if len(raw) != HASH_SIZE:
        raise InvalidNote(f"{what}: a base64 SHA-256 hash (32 bytes)")
    return raw


# --- origin ----------------------------------------------------------------------------------


def pnyx_origin(host: str, election: str) -> str:
    """``<host>/pnyx/<election>``: ``host`` is the server's scheme-less base URL (lowercase host,
    optional port and path, no trailing slash), ``election`` the lowercase UUID."""
    if not isinstance(host, str) or not _HOST.match(host):
        raise InvalidNote("an origin's host is a lowercase scheme-less host[:port][/path]")
    if not isinstance(election, str) or not _UUID.match(election):
        raise InvalidNote("an origin names the election by its lowercase UUID")
    return f"{host}/pnyx/{election}"


def parse_pnyx_origin(origin: str) -> tuple[str, str]:
    """``(host, election UUID)`` of a Pnyx origin line, or :class:`~crypto.errors.InvalidNote`."""
    host, sep, election = origin.rpartition("/pnyx/") if isinstance(origin, str) else ("", "", "")
    if not sep:
        raise InvalidNote("a Pnyx origin is <host>/pnyx/<election UUID>")
    if pnyx_origin(host, election) != origin:  # pragma: no cover - rpartition round-trips
        raise InvalidNote("a Pnyx origin is <host>/pnyx/<election UUID>")
    return host, election


# --- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size, root hash, extension lines (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise InvalidNote("a checkpoint's origin is a non-empty line")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidNote("a checkpoint's size is an integer in [0, 2^63 − 1]")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise InvalidNote("a checkpoint's root is a 32-byte hash")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line:
                raise InvalidNote("a checkpoint's extension lines are non-empty lines")

    def text(self) -> str:
        """The note text that the log signs."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly (at least three non-empty lines)."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise InvalidNote("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidNote("a checkpoint has an origin, a size and a root hash line")
        if any(not line for line in lines):
            raise InvalidNote("a checkpoint's lines are non-empty")
        checkpoint = cls(
            lines[0],
            _decimal(lines[1], "checkpoint size"),
            _hash_line(lines[2], "checkpoint root hash"),
            tuple(lines[3:]),
        )
        if checkpoint.text() != text:  # pragma: no cover - each field is canonical
            raise InvalidNote("the checkpoint is not in canonical form")
        return checkpoint


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses an election trusts (``cosignature/v1`` keys) and the quorum ``k`` of them."""

    witnesses: tuple[NoteVerifier, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not isinstance(self.witnesses, tuple):
            raise InvalidNote("a witness policy lists its witnesses in a tuple")
        names, keys = set(), set()
        for witness in self.witnesses:
            if not isinstance(witness, NoteVerifier) or witness.sig_type != SIG_COSIGNATURE_V1:
                raise InvalidNote("witnesses are cosignature/v1 (type 0x04) verifier keys")
            if witness.name in names or witness.public_key in keys:
                raise InvalidNote(f"witness {witness.name} is listed twice (by name or by key)")
            names.add(witness.name)
            keys.add(witness.public_key)
        if type(self.quorum) is not int or not 0 <= self.quorum <= len(self.witnesses):
            raise InvalidNote("the witness quorum k is an integer with 0 ≤ k ≤ m")

    @classmethod
    def from_vkeys(cls, vkeys: Iterable[str], quorum: int) -> WitnessPolicy:
        return cls(tuple(NoteVerifier.from_vkey(v) for v in vkeys), quorum)


@dataclass(frozen=True)
class CheckedCheckpoint:
    """A checkpoint whose log signature verified, with the witnesses whose cosignatures verified
    (``(witness, timestamp)``, one per distinct witness key, in note order)."""

    checkpoint: Checkpoint
    note: VerifiedNote
    witnesses: tuple[tuple[NoteVerifier, int], ...]


def open_checkpoint(
    data: bytes | str | Note,
    *,
    origin: str,
    log_key: NoteVerifier,
    policy: WitnessPolicy | None = None,
) -> CheckedCheckpoint:
    """Verify a signed checkpoint: its origin, the log's signature and (with ``policy``) a quorum
    of witness cosignatures.

    Raises :class:`~crypto.errors.InvalidNote` (malformed, or another origin),
    :class:`~crypto.errors.UnverifiedNote` (no signature by the log key),
    :class:`~crypto.errors.InvalidSignature` (a trusted key's signature fails) or
    :class:`~crypto.errors.QuorumNotMet`.
    """
    if not isinstance(log_key, NoteVerifier) or log_key.sig_type != SIG_ED25519:
        raise InvalidNote("the log key is an Ed25519 (type 0x01) verifier key")
    if log_key.name != origin:
        raise InvalidNote("the log key's name is the checkpoint origin")
    note = data if isinstance(data, Note) else parse_note(data)
    checkpoint = Checkpoint.from_text(note.text)
    if checkpoint.origin != origin:
        raise InvalidNote(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    witnesses = policy.witnesses if policy is not None else ()
    opened = open_note(note, (log_key, *witnesses))
    if log_key not in opened.signers():
        raise UnverifiedNote("the checkpoint is not signed by the log key")
    seen: dict[bytes, tuple[NoteVerifier, int]] = {}
    for verifier, _, timestamp in opened.verified:
        if verifier.sig_type == SIG_COSIGNATURE_V1 and verifier.public_key not in seen:
            seen[verifier.public_key] = (verifier, timestamp)
    if policy is not None and len(seen) < policy.quorum:
        raise QuorumNotMet(
            f"the checkpoint is cosigned by {len(seen)} of the {len(policy.witnesses)} witnesses; "
            f"the quorum is {policy.quorum}"
        )
    return CheckedCheckpoint(checkpoint, opened, tuple(seen.values()))


# --- tlog-proof ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlogProof:
    """c2sp.org/tlog-proof@v1: leaf index, inclusion proof, checkpoint note, optional extra data."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if type(self.index) is not int or not 0 <= self.index < MAX_TREE_SIZE:
            raise InvalidNote("a tlog proof's index is an integer in [0, 2^63 − 1)")
        if len(self.proof) > MAX_WITNESS_PROOF_LINES:
            raise InvalidNote("an inclusion proof has at most 63 hashes")
        for h in self.proof:
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise InvalidNote("an inclusion proof is 32-byte hashes")
        if self.extra is not None and (not isinstance(self.extra, bytes) or not self.extra):
            raise InvalidNote("a tlog proof's extra data is non-empty bytes (or absent)")
        Checkpoint.from_text(parse_note(self.checkpoint).text)

    def to_text(self) -> str:
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append("extra " + b64encode(self.extra))
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.proof)
        return "".join(line + "\n" for line in lines) + "\n" + self.checkpoint

    @classmethod
    def from_text(cls, data: bytes | str) -> TlogProof:
        """Parse a tlog proof strictly: every line canonical, the checkpoint a well-formed note."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidNote("a tlog proof is UTF-8") from None
        if not isinstance(data, str):
            raise InvalidNote("a tlog proof is text")
        head, sep, checkpoint = data.partition("\n\n")
        if not sep:
            raise InvalidNote("a tlog proof has a blank line before its checkpoint")
        lines = head.split("\n")
        if lines[0] != PROOF_HEADER:
            raise InvalidNote(f"a tlog proof starts with {PROOF_HEADER!r}")
        at, extra = 1, None
        if len(lines) > at and lines[at].startswith("extra "):
            extra = b64decode(lines[at][len("extra ") :], "tlog proof extra data")
            if not extra:
                raise InvalidNote("a tlog proof's extra line is omitted when there is no data")
            at += 1
        if len(lines) <= at or not lines[at].startswith("index "):
            raise InvalidNote("a tlog proof has an 'index N' line")
        index = _decimal(lines[at][len("index ") :], "tlog proof index")
        proof = tuple(_hash_line(line, "inclusion proof line") for line in lines[at + 1 :])
        return cls(index, proof, checkpoint, extra)


def verify_tlog_proof(
    data: bytes | str | TlogProof,
    *,
    leaf: bytes,
    origin: str,
    log_key: NoteVerifier,
    policy: WitnessPolicy | None,
) -> CheckedCheckpoint:
    """c2sp.org/tlog-proof §Verifying: the checkpoint is the log's for ``origin``, cosigned by a
    quorum of ``policy``'s witnesses, and the inclusion proof binds ``leaf`` (the leaf's bytes) at
    the proof's index to the checkpoint's root. Raises (see :func:`open_checkpoint`,
    :func:`~crypto.tlog.verify_inclusion`)."""
    proof = data if isinstance(data, TlogProof) else TlogProof.from_text(data)
    if not isinstance(leaf, bytes):
        raise InvalidEncoding("the leaf is bytes")
    checked = open_checkpoint(proof.checkpoint, origin=origin, log_key=log_key, policy=policy)
    cp = checked.checkpoint
    verify_inclusion(leaf_hash(leaf), proof.index, cp.size, list(proof.proof), cp.root)
    return checked


def verify_entry_proof(
    data: bytes | str | TlogProof,
    *,
    origin: str,
    log_key: NoteVerifier,
    policy: WitnessPolicy | None,
    tracker: str | None = None,
) -> tuple[Any, CheckedCheckpoint]:
    """A Pnyx receipt proof (§14.6): ``extra`` holds the board entry's leaf bytes (its canonical
    line without the newline); the entry is well formed and hash-correct, its ``seq`` is the proof's
    index, it belongs to the origin's election, and it is included under a witnessed checkpoint.
    With ``tracker``, it must be the ``ballot`` or ``audit`` entry of that tracker."""
    # imported here: the rest of this module (and pnyx-witness) needs no P-256 group (petlib)
    from crypto.board import BoardEntry

    proof = data if isinstance(data, TlogProof) else TlogProof.from_text(data)
    if proof.extra is None:
        raise InvalidNote("a Pnyx receipt proof carries the entry in its extra line")
    entry = BoardEntry.from_canonical_line(proof.extra + b"\n")
    if entry.seq != proof.index:
        raise InvalidMerkleProof(f"the entry is number {entry.seq}, the proof is for {proof.index}")
    _, election = parse_pnyx_origin(origin)
    if entry.election != election:
        raise InvalidMerkleProof("the entry belongs to another election than the log's")
    if tracker is not None and (
        entry.kind not in ("ballot", "audit") or entry.payload.get("tracker") != tracker
    ):
        raise InvalidMerkleProof("the entry is not the ballot with this tracker")
    checked = verify_tlog_proof(
        proof, leaf=proof.extra, origin=origin, log_key=log_key, policy=policy
    )
    return entry, checked


# --- c2sp.org/tlog-witness wire format ----------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpoint:
    """The body of ``POST <prefix>/add-checkpoint``: old size, consistency proof, checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def to_bytes(self) -> bytes:
        head = f"old {self.old_size}\n" + "".join(b64encode(h) + "\n" for h in self.proof)
        return head.encode("ascii") + b"\n" + self.checkpoint

    @classmethod
    def from_bytes(cls, body: bytes) -> AddCheckpoint:
        """Parse the request body strictly; the checkpoint is returned as bytes, unparsed."""
        if not isinstance(body, bytes):
            raise InvalidNote("the request body is bytes")
        head, sep, checkpoint = body.partition(b"\n\n")
        if not sep:
            raise InvalidNote("the request has a blank line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise InvalidNote("the old size and proof lines are ASCII") from None
        if not lines[0].startswith("old "):
            raise InvalidNote("the request starts with an 'old N' line")
        old_size = _decimal(lines[0][4:], "old size")
        if len(lines) - 1 > MAX_WITNESS_PROOF_LINES:
            raise InvalidNote("at most 63 consistency proof lines")
        proof = tuple(_hash_line(line, "consistency proof line") for line in lines[1:])
        return cls(old_size, proof, checkpoint)


def format_size_body(size: int) -> bytes:
    """The ``409 Conflict`` body (``text/x.tlog.size``): the witness's latest size and a newline."""
    return f"{size:d}\n".encode("ascii")


def parse_size_body(body: bytes) -> int:
    try:
        text = body.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        raise InvalidNote("a tree size body is ASCII") from None
    if not text.endswith("\n"):
        raise InvalidNote("a tree size body ends with a newline")
    return _decimal(text[:-1], "tree size")


# --- fork proofs ------------------------------------------------------------------------------

FORK_PROOF_TYPE = "pnyx-fork-proof/v1"


def classify_inconsistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> str | None:
    """Whether ``new`` (with ``proof`` from ``old.size``) extends ``old``: ``None`` if it does;
    otherwise why not, as one of

    - ``"same-size"``: equal sizes, different roots — proof of a fork on its own;
    - ``"prefix-mismatch"``: the proof leads to ``new``'s root and, from the proof alone, to
      another root for the first ``old.size`` leaves — proof of a fork (the log signed a tree
      whose prefix is not the tree it signed before);
    - ``"empty-root"``: a size-0 checkpoint whose root is not SHA-256("") — a malformed head;
    - ``"bad-proof"``: the proof does not verify and shows nothing more (the log may have sent a
      wrong proof): evidence to keep, not a fork proof;
    - ``"shrunk"``: ``new`` is smaller than ``old`` (a rollback unless another proof shows a
      fork).
    """
    if old.origin != new.origin:
        raise InvalidNote("checkpoints of two different logs")
    for cp in (old, new):
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            return "empty-root"
    if new.size < old.size:
        return "shrunk"
    if new.size == old.size:
        return (
            None
            if new.root == old.root and not proof
            else ("same-size" if new.root != old.root else "bad-proof")
        )
    try:
        verify_consistency(old.size, new.size, old.root, new.root, list(proof))
        return None
    except (InvalidMerkleProof, InvalidEncoding):
        pass
    if old.size == 0 or old.size & (old.size - 1) == 0:
        return "bad-proof"  # the proof then takes the old root as given: it shows nothing more
    try:
        fr, sr = consistency_roots(old.size, new.size, list(proof), old.root)
    except (InvalidMerkleProof, InvalidEncoding):
        return "bad-proof"
    return "prefix-mismatch" if sr == new.root and fr != old.root else "bad-proof"


@dataclass(frozen=True)
class ForkProof:
    """Two signed checkpoints of one log that cannot both be honest, with the log's proof."""

    origin: str
    kind: str
    old_checkpoint: str
    new_checkpoint: str
    proof: tuple[bytes, ...]

    def to_json(self) -> dict:
        return {
            "type": FORK_PROOF_TYPE,
            "origin": self.origin,
            "kind": self.kind,
            "checkpoints": [self.old_checkpoint, self.new_checkpoint],
            "proof": [b64encode(h) for h in self.proof],
        }

    @classmethod
    def from_json(cls, value: Any) -> ForkProof:
        if not isinstance(value, dict) or set(value) != {
            "type",
            "origin",
            "kind",
            "checkpoints",
            "proof",
        }:
            raise InvalidNote("a fork proof has type, origin, kind, checkpoints and proof")
        if value["type"] != FORK_PROOF_TYPE:
            raise InvalidNote(f"a fork proof's type is {FORK_PROOF_TYPE!r}")
        pair, proof = value["checkpoints"], value["proof"]
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(c, str) for c in pair)
        ):
            raise InvalidNote("a fork proof holds two checkpoints")
        if not isinstance(proof, list) or len(proof) > MAX_WITNESS_PROOF_LINES + 1:
            raise InvalidNote("a fork proof's proof is a list of base64 hashes")
        if not all(isinstance(h, str) for h in proof):
            raise InvalidNote("a fork proof's proof is a list of base64 hashes")
        if not isinstance(value["origin"], str) or not isinstance(value["kind"], str):
            raise InvalidNote("a fork proof's origin and kind are strings")
        return cls(
            value["origin"],
            value["kind"],
            pair[0],
            pair[1],
            tuple(_hash_line(h, "fork proof hash") for h in proof),
        )

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def verify_fork_proof(fork: ForkProof, log_key: NoteVerifier) -> str:
    """Check that ``fork`` proves the log of ``fork.origin`` (key ``log_key``) signed two
    inconsistent checkpoints; return the kind (``same-size`` or ``prefix-mismatch``). Raises
    :class:`~crypto.errors.InvalidProof` (or a subclass) when it proves nothing."""
    old = open_checkpoint(fork.old_checkpoint, origin=fork.origin, log_key=log_key).checkpoint
    new = open_checkpoint(fork.new_checkpoint, origin=fork.origin, log_key=log_key).checkpoint
    kind = classify_inconsistency(old, new, fork.proof)
    if kind not in ("same-size", "prefix-mismatch"):
        raise InvalidProof(
            f"these checkpoints do not prove a fork ({kind or 'they are consistent'})"
        )
    if kind != fork.kind:
        raise InvalidProof(f"the fork proof says {fork.kind!r} but shows {kind!r}")
    return kind
