"""The bulletin board's entries and hash chain (docs/protocol.md §11).

Every election has its own append-only board. An entry is the JSON object

    {"version": 1, "election": UUID, "seq": n, "kind": K, "time": T, "prev": H(n−1),
     "payload": {...}, "hash": H(n)}

with ``H(n) = SHA-256(JCS(entry without "hash"))``, ``seq`` counting from 0 and ``prev`` of the
first entry 64 zeros. The export ``board.jsonl`` is one canonical entry per line, in order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crypto.encoding import PROTOCOL_VERSION, expect_int, expect_object, expect_version
from crypto.errors import CryptoError, InvalidEncoding
from crypto.hashing import (
    MAX_SAFE_INTEGER,
    canonical_json,
    check_digest_hex,
    digest_json,
    parse_json,
)

__all__ = [
    "GENESIS_PREV",
    "ENTRY_KINDS",
    "BoardEntry",
    "InvalidChain",
    "entry_hash",
    "verify_chain",
    "format_time",
]

GENESIS_PREV = "0" * 64
ENTRY_KINDS = (
    "election",  # genesis: the election exists (uuid, slug, title)
    "trustee",  # a trustee registered its long-term key
    "ceremony",  # the key ceremony starts: threshold, trustees, context
    "dkg-commitment",
    "dkg-deal",
    "dkg-complaint",
    "dkg-confirmation",
    "ceremony-result",  # qualified dealers, election key, verification keys
    "credentials",  # the public credential list with weights
    "manifest",  # the frozen manifest and its fingerprint
    "state",  # an election state change
    "ballot",  # a cast ballot
    "audit",  # a Benaloh-audited ballot (never counted)
    "tally",  # the encrypted tally at close
    "partial-decryption",
    "decryption-rejected",  # a partial decryption that failed verification
    "mix-shuffle",  # a part of one mixer's shuffle and its proof (§15.11)
    "mix-skip",  # a mixer that did not answer in time
    "mix-decryption",  # a part of a trustee's decryption of the mix's final list
    "mix-result",  # a part of the mix's decrypted rows
    "result",  # the decrypted counts
)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
_MAX_LINE = 64 * 1024 * 1024


class InvalidChain(CryptoError):
    """The board's hash chain is broken: a gap, a reorder, an altered or inserted entry."""


def format_time(dt) -> str:
    """UTC with milliseconds, as on the board: ``2026-11-25T10:00:00.000Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def entry_hash(body: dict) -> str:
    """SHA-256 of the canonical entry without its ``hash`` field."""
    return digest_json({k: v for k, v in body.items() if k != "hash"})


@dataclass(frozen=True)
class BoardEntry:
    election: str
    seq: int
    kind: str
    time: str
    prev: str
    payload: dict
    hash: str

    def body(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "election": self.election,
            "seq": self.seq,
            "kind": self.kind,
            "time": self.time,
            "prev": self.prev,
            "payload": self.payload,
        }

    def to_json(self) -> dict:
        body = self.body()
        body["hash"] = self.hash
        return body

    def to_line(self) -> bytes:
        return canonical_json(self.to_json()) + b"\n"

    @classmethod
    def create(
        cls, *, election: str, seq: int, kind: str, time: str, prev: str, payload: dict
    ) -> BoardEntry:
        entry = cls(election, seq, kind, time, prev, payload, "")
        return cls(election, seq, kind, time, prev, payload, entry_hash(entry.body()))

    @classmethod
    def from_json(cls, value: Any) -> BoardEntry:
        obj = expect_object(
            value,
            ("version", "election", "seq", "kind", "time", "prev", "payload", "hash"),
            "board entry",
        )
        expect_version(obj, "board entry")
        if not isinstance(obj["election"], str) or len(obj["election"]) != 36:
            raise InvalidEncoding("board entry.election: expected a UUID")
        return cls(obj["election"], *chained_fields(obj, "board entry", ENTRY_KINDS))

    @classmethod
    def from_line(cls, line: bytes | str) -> BoardEntry:
        if len(line) > _MAX_LINE:
            raise InvalidEncoding("board entry line too long")
        return cls.from_json(parse_json(line))

    @classmethod
    def from_canonical_line(cls, line: bytes) -> BoardEntry:
        """Parse an exported line that must be exactly ``JCS(entry) + "\n"`` and check its hash.

        Faster than :meth:`from_line` + :func:`entry_hash` for the hot path of verification: the
        entry is serialised once, and that one serialisation both proves the line canonical (so the
        C parser without hooks was safe: duplicate keys or other spellings would not re-serialise
        to the same bytes) and gives the hash. Raises :class:`InvalidEncoding` or :class:`InvalidChain`.
        """
        if len(line) > _MAX_LINE:
            raise InvalidEncoding("board entry line too long")
        try:
            obj = json.loads(
                line, parse_float=_refuse_number, parse_constant=_refuse_number, parse_int=_safe_int
            )
        except (ValueError, RecursionError) as exc:
            raise InvalidEncoding(f"board entry: malformed JSON ({exc})") from None
        entry = cls.from_json(obj)
        body = canonical_json(entry.body())
        digest = hashlib.sha256(body).hexdigest()
        if digest != entry.hash:
            raise InvalidChain(f"entry {entry.seq}: its hash does not match its content")
        # JCS(entry) is JCS(body) with the "hash" member inserted after "election" (sorted keys)
        cut = len('{"election":"') + 36 + 1
        canonical = body[:cut] + b',"hash":"' + digest.encode() + b'"' + body[cut:] + b"\n"
        if canonical != line:
            raise InvalidEncoding(
                f"entry {entry.seq}: the line is not the canonical JSON of its entry"
            )
        return entry


def chained_fields(obj: dict, what: str, kinds: tuple[str, ...]) -> tuple:
    """The members every hash-chained entry has (a board entry, §11.1; a record entry, §17.1),
    checked: ``(seq, kind, time, prev, payload, hash)``."""
    seq = expect_int(obj["seq"], f"{what}.seq", 0, 2**53 - 1)
    if obj["kind"] not in kinds:
        raise InvalidEncoding(f"{what} {seq}: unknown kind {obj['kind']!r}")
    if not isinstance(obj["time"], str) or not _TIME.match(obj["time"]):
        raise InvalidEncoding(f"{what} {seq}: time must be YYYY-MM-DDTHH:MM:SS.mmmZ")
    if not isinstance(obj["payload"], dict):
        raise InvalidEncoding(f"{what} {seq}: payload must be an object")
    return (
        seq,
        obj["kind"],
        obj["time"],
        check_digest_hex(obj["prev"], f"{what} {seq}.prev"),
        obj["payload"],
        check_digest_hex(obj["hash"], f"{what} {seq}.hash"),
    )


def _refuse_number(text: str):
    raise InvalidEncoding(f"numbers other than integers are not allowed ({text[:20]})")


def _safe_int(text: str) -> int:
    if len(text) > 17 or abs(int(text)) > MAX_SAFE_INTEGER:
        raise InvalidEncoding("integer too large")
    return int(text)


def ballot_payload_bytes(line: bytes) -> bytes:
    """In a canonical ``ballot`` entry line, the exact ``JCS(payload["ballot"])`` bytes."""
    start = line.index(b'"payload":{"ballot":') + len(b'"payload":{"ballot":')
    return line[start : line.rindex(b',"tracker":"')]


def verify_chain(
    entries: Iterable[BoardEntry], *, start_prev: str = GENESIS_PREV, start_seq: int = 0
) -> Iterator[BoardEntry]:
    """Yield each entry after checking its place in the chain; raise :class:`InvalidChain`.

    Streams: memory does not grow with the board. ``start_prev``/``start_seq`` continue a chain
    verified earlier (``--since``).
    """
    prev, seq, election, last_time = start_prev, start_seq, None, ""
    for entry in entries:
        if entry.seq != seq:
            raise InvalidChain(f"entry {entry.seq}: expected sequence number {seq}")
        if entry.prev != prev:
            raise InvalidChain(f"entry {entry.seq}: 'prev' is not the hash of entry {seq - 1}")
        if entry_hash(entry.body()) != entry.hash:
            raise InvalidChain(f"entry {entry.seq}: its hash does not match its content")
        if election is None:
            election = entry.election
        elif entry.election != election:
            raise InvalidChain(f"entry {entry.seq}: belongs to another election")
        if entry.time < last_time:
            raise InvalidChain(f"entry {entry.seq}: time goes backwards")
        last_time = entry.time
        yield entry
        prev, seq = entry.hash, seq + 1
