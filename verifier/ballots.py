"""Check 5 of §12.5, ballots and audits (§7, §11.7–§11.8).

Worker side (:func:`verify_chunk`, in worker processes or Celery tasks): a chunk of board lines
at a time, every ballot and audit entry parsed, its proofs checked in batched multi-scalar
multiplications and the chunk's ballots added into partial encrypted tallies. The lines it does
not handle go back to the main process in order, with the partial sums placed before each of
them, so that a `tally` entry never sees a ballot that follows it.

Main side (:class:`BallotBook`): what must be known across chunks — the trackers seen (no
replay), per credential the offset of its last ballot (revoting), the superseded ballots, the
audits. It grows with the number of credentials and ballots by a few bytes each.
"""

from __future__ import annotations

import array
import re
from dataclasses import dataclass

from crypto.ballot import Ballot, BallotSecrets, ballot_audit, ballot_verify
from crypto.board import BoardEntry, ballot_payload_bytes
from crypto.encoding import expect_object
from crypto.errors import CryptoError
from crypto.hashing import check_digest_hex
from crypto.manifest import Manifest
from crypto.proofs.batch import BatchVerifier
from crypto.tally import Aggregator
from verifier.chain import read_line
from verifier.credentials import CredentialTable
from verifier.facts import Facts
from verifier.report import Report, VerificationFailed, fail
from verifier.states import PAYLOAD_FIELDS

# ballots per multi-scalar multiplication: ≈ 500 points keeps OpenSSL's per-point tables in cache
# (per point: ≈ 12.6 µs at 500 points, ≈ 14 µs at 8,000 on the reference machine)
BALLOTS_PER_BATCH = 16
_KIND = re.compile(rb'"kind":"([a-z-]+)"')


class TrackerSet:
    """The 16-byte tracker keys seen so far, in one bytearray (open addressing, linear probing,
    at most 2/3 full): 24–48 bytes per ballot instead of ≈ 100 for a ``set`` of ``bytes`` objects.
    Slots come from Python's keyed ``hash`` (SipHash, a random key per process), so crafted
    trackers cannot pile up in one run of slots."""

    __slots__ = ("table", "mask", "count", "has_empty")
    _EMPTY = bytes(16)

    def __init__(self, capacity: int = 1024) -> None:
        self.table = bytearray(16 * capacity)
        self.mask = capacity - 1
        self.count = 0
        self.has_empty = False  # the all-zero key, which marks empty slots

    def _find(self, key: bytes) -> tuple[int, bool]:
        table, mask, empty = self.table, self.mask, self._EMPTY
        i = hash(key) & mask
        while True:
            slot = table[16 * i : 16 * i + 16]
            if slot == key:
                return i, True
            if slot == empty:
                return i, False
            i = (i + 1) & mask

    def __contains__(self, key: bytes) -> bool:
        if key == self._EMPTY:
            return self.has_empty
        return self._find(key)[1]

    def __len__(self) -> int:
        return self.count + self.has_empty

    def add(self, key: bytes) -> None:
        self.insert(key)

    def insert(self, key: bytes) -> bool:
        """Add ``key``; False if it was already there (one probe sequence for both)."""
        if len(key) != 16:
            raise ValueError("tracker keys are 16 bytes")
        if key == self._EMPTY:
            new, self.has_empty = not self.has_empty, True
            return new
        i, found = self._find(key)
        if found:
            return False
        self.table[16 * i : 16 * i + 16] = key
        self.count += 1
        if 3 * self.count > 2 * (self.mask + 1):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self.table
        self.table = bytearray(2 * len(old))
        self.mask = 2 * (self.mask + 1) - 1
        empty = self._EMPTY
        for start in range(0, len(old), 16):
            key = bytes(old[start : start + 16])
            if key != empty:
                i, _ = self._find(key)
                self.table[16 * i : 16 * i + 16] = key


# --- Worker side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerContext:
    """What a worker checks ballots against: the verified manifest and the credential list."""

    manifest_json: dict
    credentials: CredentialTable


_WORKER: dict = {}


def worker_init(context: WorkerContext) -> None:
    """Prepare this process (or thread's interpreter) to verify chunks of ``context``'s board."""
    manifest = Manifest.from_json(context.manifest_json)
    spec = manifest.spec
    _ = spec.key.table  # precompute once per process
    _WORKER.clear()
    _WORKER.update(manifest=manifest, spec=spec, credentials=context.credentials)


def worker_ready() -> bool:
    return _WORKER.get("manifest") is not None


class _CheckError(CryptoError):
    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def _finding(exc: VerificationFailed) -> tuple:
    f = exc.finding
    return f.seq, f.kind, f.check, f.reason


def verify_chunk(chunk: list[tuple[int, bytes]], check_proofs: bool) -> list:
    """Verify the ballot and audit entries of a chunk of ``(offset, line)``, in line order.

    Returns items in line order: ``("other", offset, line)`` for entries the main process
    handles, ``("ballot", …)``/``("audit", …)`` for verified ones, ``("error", offset, seq, kind,
    check, reason)`` for a failure, and ``("agg", exported)`` partial sums of the ballots since
    the previous such item, placed before every "other" item.
    """
    spec = _WORKER["spec"]
    table: CredentialTable = _WORKER["credentials"]
    items: list = []
    batch = BatchVerifier()
    batches: list[tuple[BatchVerifier, list[int]]] = [(batch, [])]
    for offset, line in chunk:
        kind_match = _KIND.search(line, 0, 400)
        kind = kind_match.group(1).decode() if kind_match else None
        if kind not in ("ballot", "audit"):
            items.append(("other", offset, line))
            continue
        try:
            entry = read_line(line)
        except VerificationFailed as exc:
            items.append(("error", offset, *_finding(exc)))
            continue
        if entry.kind != kind:
            items.append(("other", offset, line))
            continue
        head = (offset, entry.seq, entry.kind, entry.prev, entry.hash, entry.time, entry.election)
        try:
            if kind == "ballot":
                record = _check_ballot(entry, line, table, batch if check_proofs else None)
                batches[-1][1].append(len(items))
                items.append(["ballot", head, record])
                if len(batches[-1][1]) == BALLOTS_PER_BATCH:
                    batch = BatchVerifier()
                    batches.append((batch, []))
            else:
                items.append(("audit", *head, _check_audit(entry)))
        except (CryptoError, KeyError, TypeError, ValueError) as exc:
            items.append(
                ("error", offset, entry.seq, kind, getattr(exc, "check", "ballot"), str(exc))
            )
    for batch, members in batches if check_proofs else ():
        try:
            batch.verify()
        except CryptoError:  # find the culprit(s) one by one
            for i in members:
                try:
                    ballot_verify(items[i][2]["ballot"], spec)
                except CryptoError as exc:
                    head = items[i][1]
                    items[i] = ("error", head[0], head[1], "ballot", "ballot-proofs", str(exc))
    out: list = []
    aggregator = Aggregator(spec)
    for item in items:
        if item[0] == "ballot":
            head, record = item[1], item[2]
            aggregator.add(record["ballot"], record["weight"])
            out.append(("ballot", *head, record["tracker"], record["credential"], check_proofs))
            continue
        if item[0] == "other" and aggregator.count:
            out.append(("agg", aggregator.export()))
            aggregator = Aggregator(spec)
        out.append(item)
    if aggregator.count:
        out.append(("agg", aggregator.export()))
    return out


def read_ballot(entry: BoardEntry, line: bytes | None = None) -> tuple[Ballot, str]:
    """The ballot of a ballot entry and its tracker, checked to be the ballot's hash; ``line``,
    if given, is the entry's canonical line (the ballot's digests are then hashed from it)."""
    payload = expect_object(entry.payload, PAYLOAD_FIELDS["ballot"], "ballot entry payload")
    canonical = ballot_payload_bytes(line) if line is not None else None
    ballot = Ballot.from_json(payload["ballot"], canonical=canonical)
    tracker = check_digest_hex(payload["tracker"], "tracker")
    if ballot.tracker() != tracker:
        raise _CheckError("tracker", "the tracker is not the hash of the ballot")
    return ballot, tracker


def _check_ballot(
    entry: BoardEntry, line: bytes, table: CredentialTable, batch: BatchVerifier | None
) -> dict:
    spec = _WORKER["spec"]
    ballot, tracker = read_ballot(entry, line)
    index = table.index(ballot.credential.to_bytes())
    if index is None:
        raise _CheckError("credential", "signed by a credential that is not on the published list")
    if batch is not None:
        ballot_verify(ballot, spec, batch=batch)
    elif ballot.election != spec.fingerprint:
        raise _CheckError("ballot-proofs", "the ballot is for another election")
    return {
        "ballot": ballot,
        "tracker": tracker,
        "credential": index,
        "weight": table.weights[index],
    }


def _check_audit(entry: BoardEntry) -> dict:
    spec = _WORKER["spec"]
    payload = expect_object(entry.payload, PAYLOAD_FIELDS["audit"], "audit payload")
    ballot = Ballot.from_json(payload.get("ballot"))
    tracker = ballot.tracker()
    if payload.get("tracker") != tracker:
        raise _CheckError("tracker", "the tracker is not the hash of the audited ballot")
    ballot_verify(ballot, spec)
    plaintexts = ballot_audit(ballot, spec, BallotSecrets.from_json(payload.get("randomness")))
    return {"tracker": tracker, "plaintexts": plaintexts}


# --- Main side ---------------------------------------------------------------------------------


class BallotBook:
    """Per credential its last ballot; the trackers seen; the superseded ballots; the audits."""

    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report
        self.last_ballot: array.array | None = None  # per credential: offset of its last ballot
        self.superseded: array.array = array.array("q")
        self.trackers = TrackerSet()
        self.audited = TrackerSet(16)
        self._opens = self._closes = ""

    def open(self) -> None:
        """The manifest is verified: ballots may come."""
        manifest = self.facts.manifest
        election = manifest.data["election"]
        self._opens = election["opens_at"][:19] + ".000Z"
        self._closes = election["closes_at"][:19] + ".000Z"
        self.last_ballot = array.array("q", [-1]) * self.facts.credentials.count

    def on_ballot(self, seq, offset, tracker, credential, checked, when) -> None:
        # opens_at ≤ time < closes_at, board times having milliseconds ("…:SS.mmmZ")
        if not self._opens <= when < self._closes:
            fail(seq, "ballot", "window", "cast outside the voting window")
        key = bytes.fromhex(tracker[:32])
        if key in self.audited or not self.trackers.insert(key):
            fail(seq, "ballot", "replay", f"tracker {tracker[:16]}… already on the board")
        previous = self.last_ballot[credential]
        if previous >= 0:
            self.superseded.append(previous)
        self.last_ballot[credential] = offset
        self.report.ballots += 1
        if checked:
            self.report.ballots_verified += 1

    def on_audit(self, seq, audit: dict) -> None:
        key = bytes.fromhex(audit["tracker"][:32])
        if key in self.trackers or key in self.audited:
            fail(seq, "audit", "replay", "this ballot was already on the board")
        self.audited.add(key)
        self.report.audits.append(
            {"seq": seq, "tracker": audit["tracker"], "plaintexts": audit["plaintexts"]}
        )


# --- Chunk results as JSON (Celery's serializer) -------------------------------------------------


def chunk_result_to_json(items: list) -> list:
    """:func:`verify_chunk`'s result in JSON values only (bytes as ``{"b": hex}``, dicts as
    ``{"d": [[key, value], …]}``, tuples as lists); :func:`chunk_result_from_json` inverts it."""

    def enc(value):
        if isinstance(value, bytes):
            return {"b": value.hex()}
        if isinstance(value, (list, tuple)):
            return [enc(v) for v in value]
        if isinstance(value, dict):
            return {"d": [[k, enc(v)] for k, v in value.items()]}
        return value

    return [enc(item) for item in items]


def chunk_result_from_json(items: list) -> list:
    def dec(value):
        if isinstance(value, dict):
            if "b" in value:
                return bytes.fromhex(value["b"])
            return {k: dec(v) for k, v in value["d"]}
        if isinstance(value, list):
            return tuple(dec(v) for v in value)
        return value

    out = []
    for item in items:
        item = dec(item)
        if item[0] == "agg":  # exports are lists of (weight, [bytes | None]) pairs
            item = ("agg", [(w, list(points)) for w, points in item[1]])
        out.append(item)
    return out
