"""Check 1 of §12.5, the hash chain (§11.1): canonical lines, sequence numbers 0, 1, 2 … without
gaps, each `prev` the previous entry's `hash`, each `hash` recomputed, one election throughout,
times never decreasing."""

from __future__ import annotations

from crypto.board import GENESIS_PREV, BoardEntry, entry_hash
from crypto.errors import CryptoError
from verifier.report import Report, fail


class Chain:
    __slots__ = ("report", "prev", "seq", "last_time", "election")

    def __init__(self, report: Report) -> None:
        self.report = report
        self.prev = GENESIS_PREV  #: the hash the next entry's `prev` must hold
        self.seq = 0  #: the next entry's sequence number
        self.last_time = ""
        self.election: str | None = None  #: every entry's `election` (the first entry's)

    def parse(self, line: bytes) -> BoardEntry:
        """An entry from its line, its hash checked (before its place in the chain)."""
        try:
            entry = BoardEntry.from_line(line)
        except CryptoError as exc:
            fail(self.seq, None, "entry", str(exc))
        if entry_hash(entry.body()) != entry.hash:
            fail(entry.seq, entry.kind, "chain", "its hash does not match its content")
        return entry

    def check(self, seq: int, kind: str, prev: str, time: str, election: str) -> None:
        """The entry (its hash already checked) may come next in the chain."""
        if seq != self.seq:
            fail(seq, kind, "sequence", f"expected entry {self.seq} here")
        if prev != self.prev:
            fail(seq, kind, "chain", f"'prev' is not the hash of entry {self.seq - 1}")
        if election != self.election:
            if self.election is not None:
                fail(seq, kind, "chain", "belongs to another election")
            self.election = self.report.election = election
        if time < self.last_time:
            fail(seq, kind, "time", "time goes backwards")

    def advance(self, seq: int, kind: str, digest: str, time: str) -> None:
        """The entry checked by :meth:`check` passed every check: the chain moves on."""
        self.prev, self.seq, self.last_time = digest, seq + 1, time
        report = self.report
        report.entries += 1
        report.kinds[kind] = report.kinds.get(kind, 0) + 1
        report.head_seq, report.head_hash = seq, digest
