"""Check 4 of §12.5, first half: the public credential list (§10, §11.5), published in parts of
at most 10,000, its digest, count and total weight; kept as one small sorted table."""

from __future__ import annotations

import array

from crypto.board import BoardEntry
from crypto.errors import CryptoError
from crypto.manifest import Credential, CredentialListReader
from verifier.facts import Expected, Facts
from verifier.report import Report, fail


class CredentialTable:
    """The published credentials as one sorted blob of 65-byte keys plus a weight array."""

    __slots__ = ("blob", "weights", "count")

    def __init__(self, credentials: list[Credential] = ()) -> None:
        self.blob = bytearray()
        self.weights = array.array("I")
        self.count = 0
        self.extend(credentials)

    def extend(self, credentials: list[Credential]) -> None:
        """Append credentials that sort after those already held (parts arrive in order)."""
        for c in credentials:
            self.blob += c.public_key.to_bytes()
            self.weights.append(c.weight)
        self.count += len(credentials)

    def index(self, key: bytes) -> int | None:
        """The position of the credential whose public key encodes as ``key``, or None."""
        lo, hi = 0, self.count
        blob = self.blob
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[mid * 65 : mid * 65 + 65] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.count and blob[lo * 65 : lo * 65 + 65] == key:
            return lo
        return None


class CredentialsChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report
        self.reader: CredentialListReader | None = None
        self.table: CredentialTable | None = None

    def on_credentials(self, entry: BoardEntry) -> None:
        facts = self.facts
        if facts.manifest is not None:
            fail(
                entry.seq,
                entry.kind,
                "credentials",
                "credentials published after the election opened",
            )
        if self.reader is None or self.reader.complete:
            if facts.credentials_meta is not None:
                fail(entry.seq, entry.kind, "credentials", "the credential list is published twice")
            self.reader = CredentialListReader()
            self.table = CredentialTable()
        try:
            part = self.reader.add_part(entry.payload)
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "credentials", str(exc))
        self.table.extend(part)
        if not self.reader.complete:  # §11.5: the next part comes in the very next entry
            following = self.reader.part
            facts.expected = Expected(
                entry.seq,
                entry.kind,
                "credentials",
                {"part": following},
                f"part {following} of the credential list",
            )
        else:
            meta = self.reader.meta
            facts.credentials = self.table
            facts.credentials_meta = {
                "count": meta["count"],
                "digest": meta["digest"],
                "total_weight": meta["total_weight"],
            }
            self.report.credentials = meta["count"]
