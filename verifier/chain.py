"""Check 1 of §12.5, the hash chain (§11.1): every line exactly the canonical JSON of its entry
followed by "\n", sequence numbers 0, 1, 2 … without gaps, each `prev` the previous entry's
`hash`, each `hash` recomputed, one election throughout, times never decreasing."""

from __future__ import annotations

import re

from crypto.board import GENESIS_PREV, BoardEntry, InvalidChain
from crypto.errors import CryptoError
from verifier.report import Report, fail

_SEQ = re.compile(rb'"seq":(\d{1,16})[,}]')
_KIND = re.compile(rb'"kind":"([a-z-]{1,40})"')


def line_head(line: bytes) -> tuple[int | None, str | None]:
    """The sequence number and kind a line claims, to name it in an error (best effort)."""
    seq, kind = _SEQ.search(line), _KIND.search(line)
    return (
        int(seq.group(1)) if seq else None,
        kind.group(1).decode() if kind else None,
    )


def read_line(line: bytes) -> BoardEntry:
    """The entry of an exported line, which must be exactly ``JCS(entry) ‖ "\n"`` (§11.1) and
    carry its own hash; raises :class:`~verifier.report.VerificationFailed` naming the check
    (``canonical`` for any other spelling, ``entry`` for malformed JSON or fields, ``chain`` for
    a wrong hash)."""
    if not line.endswith(b"\n"):
        seq, kind = line_head(line)
        fail(seq, kind, "canonical", "the last line does not end with a newline (\\n)")
    if line.endswith(b"\r\n"):
        seq, kind = line_head(line)
        fail(seq, kind, "canonical", "a line ends with CR LF: lines end with \\n alone")
    try:
        return BoardEntry.from_canonical_line(line)
    except InvalidChain as exc:
        seq, kind = line_head(line)
        fail(seq, kind, "chain", str(exc))
    except CryptoError as exc:
        seq, kind = line_head(line)
        check = "canonical" if "not the canonical JSON" in str(exc) else "entry"
        fail(seq, kind, check, str(exc))


class Chain:
    __slots__ = ("report", "prev", "seq", "last_time", "election")

    def __init__(self, report: Report) -> None:
        self.report = report
        self.prev = GENESIS_PREV  #: the hash the next entry's `prev` must hold
        self.seq = 0  #: the next entry's sequence number
        self.last_time = ""
        self.election: str | None = None  #: every entry's `election` (the first entry's)

    def parse(self, line: bytes) -> BoardEntry:
        """An entry from its canonical line, its hash checked (before its place in the chain)."""
        return read_line(line)

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
