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
import gc
import re
import threading
from dataclasses import dataclass

from crypto.ballot import Ballot, BallotSecrets, ballot_audit, ballot_verify
from crypto.board import BoardEntry, ballot_payload_bytes
from crypto.encoding import expect_object
from crypto.errors import CryptoError
from crypto.group import PointArena
from crypto.hashing import check_digest_hex
from crypto.manifest import Manifest
from crypto.tally import Aggregator
from verifier.chain import read_line
from verifier.credentials import CredentialTable
from verifier.facts import Facts
from verifier.fastballot import BallotBatch, FastBallot, Rho, Unrecognised
from verifier.report import Report, VerificationFailed, fail
from verifier.states import PAYLOAD_FIELDS

# ballots per multi-scalar multiplication: ≈ 500 points keeps OpenSSL's per-point tables in cache
# (per point: ≈ 12.6 µs at 500 points, ≈ 14 µs at 8,000 on the reference machine)
BALLOTS_PER_BATCH = 16
_KIND = re.compile(rb'"kind":"([a-z-]+)"')


class TrackerSet:
    """16-byte keys (the trackers' first 16 bytes) in one bytearray (open addressing, linear
    probing, at most 2/3 full): 24–48 bytes per ballot instead of ≈ 100 for a ``set`` of
    ``bytes`` objects. A key already present only says that the whole tracker *may* have been
    seen: :class:`BallotBook` then compares whole trackers. Slots come from Python's keyed
    ``hash`` (SipHash, a random key per process), so crafted trackers cannot pile up in one run
    of slots."""

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
    election = manifest.data["election"]
    _WORKER.clear()
    _WORKER.update(
        manifest=manifest,
        spec=spec,
        credentials=context.credentials,
        # opens_at ≤ time < closes_at, board times having milliseconds ("…:SS.mmmZ")
        window=(election["opens_at"][:19] + ".000Z", election["closes_at"][:19] + ".000Z"),
        election=manifest.election_uuid,
    )


def worker_ready() -> bool:
    return _WORKER.get("manifest") is not None


class _CheckError(CryptoError):
    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def _finding(exc: VerificationFailed) -> tuple:
    f = exc.finding
    return f.seq, f.kind, f.check, f.reason


_THREAD = threading.local()


def _arena() -> PointArena:
    """This thread's arena for commitments, emptied for a new chunk (verify_chunk may run in
    several threads of one Celery worker; each has its own)."""
    try:
        arena = _THREAD.arena
    except AttributeError:
        arena = _THREAD.arena = PointArena()
    arena.reset()
    return arena


def verify_chunk(chunk: list[tuple[int, bytes]], check_proofs: bool) -> list:
    """Verify the ballot and audit entries of a chunk of ``(offset, line)``, in line order.

    Returns items in line order: ``("other", offset, line)`` for entries the main process
    handles; ``("ballot", offset, seq, kind, prev, hash, time, election, tracker, credential,
    checked, alpha_keys)`` and ``("audit", offset, seq, kind, prev, hash, time, election,
    {"tracker", "plaintexts", "alphas"})`` for verified ones; ``("error", offset, seq, kind,
    check, reason[, head])`` for a failure (``head`` as in a verified item, once the line was
    read: the main process checks the entry's place in the chain first); and ``("agg",
    exported)``, the partial sums of the ballots since the previous such item, placed before
    every "other" item.
    """
    # The chunk's objects (parsed JSON, points) form no reference cycles and are freed by
    # reference counting when the chunk is done; the cyclic collector, which would otherwise
    # walk the heap again and again while they are allocated, is paused meanwhile (≈ 4 % of
    # the time). Memory stays flat: nothing outlives the chunk.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _verify_chunk(chunk, check_proofs)
    finally:
        if paused:
            gc.enable()


def _verify_chunk(chunk: list[tuple[int, bytes]], check_proofs: bool) -> list:
    spec = _WORKER["spec"]
    table: CredentialTable = _WORKER["credentials"]
    opens, closes = _WORKER["window"]
    rho = Rho()  # this call's own: verify_chunk may run in several threads (Celery)
    arena = _arena()
    items: list = []
    batch = BallotBatch(spec, rho, arena)
    batches: list[tuple[BallotBatch, list[int]]] = [(batch, [])]
    election = _WORKER["election"]
    for offset, line in chunk:
        kind_match = _KIND.search(line, 0, 400)
        kind = kind_match.group(1).decode() if kind_match else None
        if kind == "ballot":
            try:  # the common case, proven canonical and valid without re-encoding the line
                seq, prev, digest, when, payload = batch.read_line(line, election)
                if not opens <= when < closes:
                    raise Unrecognised
                if check_proofs:
                    canonical = ballot_payload_bytes(line)
                    fast, tracker, equations = batch.prepare(payload["ballot"], canonical)
                    if payload["tracker"] != tracker:
                        raise Unrecognised
                else:  # --since, verified by an earlier run: only what later checks need
                    canonical, equations = b"", None
                    fast, tracker = batch.known(payload)
                index = table.index(fast.credential)
                if index is None:
                    raise Unrecognised
            except (Unrecognised, CryptoError, KeyError, TypeError, ValueError, AttributeError):
                pass  # the general way below decides, and names what is wrong
            else:
                if equations is not None:  # None: --since, checked in an earlier run
                    batch.queue(equations)
                    batches[-1][1].append(len(items))
                    if batch.ballots == BALLOTS_PER_BATCH:
                        batch = BallotBatch(spec, rho, arena)
                        batches.append((batch, []))
                head = (offset, seq, kind, prev, digest, when, election)
                record = (
                    fast,
                    bytes.fromhex(tracker),
                    index,
                    table.weights[index],
                    payload["ballot"],
                )
                items.append(["ballot", head, record, canonical])
                continue
        elif kind != "audit":
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
            if not opens <= entry.time < closes:
                raise _CheckError("window", f"{kind} outside the voting window")
            if kind == "audit":
                items.append(("audit", *head, _check_audit(entry, table)))
                continue
            payload = expect_object(entry.payload, PAYLOAD_FIELDS["ballot"], "ballot payload")
            canonical = ballot_payload_bytes(line)
            fast, tracker = _reference_ballot(payload["ballot"], canonical, check_proofs)
            if payload["tracker"] != tracker:
                check_digest_hex(payload["tracker"], "tracker")
                raise _CheckError("tracker", "the tracker is not the hash of the ballot")
            index = table.index(fast.credential)
            if index is None:
                raise _CheckError(
                    "credential", "signed by a credential that is not on the published list"
                )
            # verified on its own by the reference code: no batch needed
            record = (fast, bytes.fromhex(tracker), index, table.weights[index], payload["ballot"])
            items.append(["ballot", head, record, canonical])
        except (CryptoError, KeyError, TypeError, ValueError) as exc:
            check = getattr(exc, "check", "ballot")
            items.append(("error", offset, entry.seq, kind, check, str(exc), head))
    for batch, members in batches:
        if members and not batch.verify():  # find the culprit(s) one by one
            for i in members:
                head, record, canonical = items[i][1], items[i][2], items[i][3]
                try:
                    _reference_ballot(record[4], canonical, True)
                except CryptoError as exc:
                    items[i] = ("error", head[0], head[1], "ballot", "ballot", str(exc), head)
    out: list = []
    aggregator = Aggregator(spec)
    for item in items:
        if item[0] == "ballot":
            head, (fast, tracker, index, weight, _) = item[1], item[2]
            aggregator.add_raw(fast.points, weight)
            out.append(("ballot", *head, tracker, index, check_proofs, fast.alpha_keys))
            continue
        if item[0] == "other" and aggregator.count:
            out.append(("agg", aggregator.export()))
            aggregator = Aggregator(spec)
        out.append(item)
    if aggregator.count:
        out.append(("agg", aggregator.export()))
    return out


def verify_file_chunk(path: str, start: int, end: int, check_proofs: bool) -> list:
    """:func:`verify_chunk` on the lines of the board file ``path`` between byte offsets
    ``start`` and ``end`` (whole lines): the main process sends offsets, not the lines' bytes.
    Bytes before the last complete line of a board file never change (a live download only
    appends), so these are the bytes the main process read."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    parts = data.split(b"\n")  # lines end at "\n" only, as BoardSource.lines reads them
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])  # a last line without its newline (rejected as such)
    chunk, offset = [], start
    for line in lines:
        chunk.append((offset, line))
        offset += len(line)
    return verify_chunk(chunk, check_proofs)


def _reference_ballot(value, canonical: bytes, check_proofs: bool) -> tuple[FastBallot, str]:
    """A ballot decoded and, with ``check_proofs``, verified by ``crypto.ballot`` alone; raises
    the error that names the problem."""
    spec = _WORKER["spec"]
    ballot = Ballot.from_json(value, canonical=canonical)
    if check_proofs:
        ballot_verify(ballot, spec)
    elif ballot.election != spec.fingerprint:
        raise _CheckError("ballot", "the ballot is for another election")
    points = [
        p.raw for answer in ballot.answers for ct in answer.choices for p in (ct.alpha, ct.beta)
    ]
    fast = FastBallot(ballot.credential.to_bytes(), points, alpha_keys(ballot))
    return fast, ballot.tracker()


def ballot_alphas(ballot: Ballot) -> list[bytes]:
    """The α of every choice and budget-bit ciphertext of a ballot, encoded (65 bytes each)."""
    out = []
    for answer in ballot.answers:
        out.extend(ct.alpha.to_bytes() for ct in answer.choices)
        if answer.budget_proof is not None:
            out.extend(ct.alpha.to_bytes() for ct in answer.budget_proof.bits)
    return out


def alpha_keys(ballot: Ballot) -> bytes:
    """8 bytes of each α's x coordinate, concatenated: enough to find the ballots that may reuse
    an audited α (the whole α is then compared, :meth:`BallotBook.on_ballot`)."""
    return b"".join(alpha[1:9] for alpha in ballot_alphas(ballot))


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


def _check_audit(entry: BoardEntry, table: CredentialTable) -> dict:
    """§11.8: an audited ballot passed the same checks as a cast one (§11.7) — its credential on
    the list included — and its randomness opens every ciphertext (§7.8)."""
    spec = _WORKER["spec"]
    payload = expect_object(entry.payload, PAYLOAD_FIELDS["audit"], "audit payload")
    ballot = Ballot.from_json(payload["ballot"])
    tracker = check_digest_hex(payload["tracker"], "tracker")
    if ballot.tracker() != tracker:
        raise _CheckError("tracker", "the tracker is not the hash of the audited ballot")
    if table.index(ballot.credential.to_bytes()) is None:
        raise _CheckError("credential", "signed by a credential that is not on the published list")
    ballot_verify(ballot, spec)
    try:
        plaintexts = ballot_audit(ballot, spec, BallotSecrets.from_json(payload["randomness"]))
    except CryptoError as exc:
        raise _CheckError("audit", str(exc)) from None
    return {"tracker": tracker, "plaintexts": plaintexts, "alphas": b"".join(ballot_alphas(ballot))}


# --- Main side ---------------------------------------------------------------------------------


class BallotBook:
    """Per credential its last ballot; the trackers seen; the superseded ballots; the audits
    and the α of their ciphertexts."""

    def __init__(self, facts: Facts, report: Report, source) -> None:
        self.facts = facts
        self.report = report
        self.source = source  #: re-reads a ballot by its offset (``read_at``)
        self.last_ballot: array.array | None = None  # per credential: offset of its last ballot
        self.superseded: array.array = array.array("q")
        self.trackers = TrackerSet()  #: the first 16 bytes of every ballot's and audit's tracker
        self.audited_alphas: dict[bytes, int] = {}  #: α (65 bytes) of an audit → its seq
        self.audited_keys: set[bytes] = set()  #: their 8-byte keys (:func:`alpha_keys`)

    def open(self) -> None:
        """The manifest is verified: ballots may come."""
        self.last_ballot = array.array("q", [-1]) * self.facts.credentials.count

    def _replayed(self, tracker: bytes, offset: int) -> bool:
        """Whether an entry before ``offset`` carries this whole tracker (§12.2). The 16-byte
        table answers for every new tracker; a key already there is confirmed or refuted by
        reading the board up to ``offset`` again (a replay — the board fails — or two trackers
        sharing 128 bits, which takes ≈ 2⁶⁴ work to make): memory stays at 16 bytes a tracker."""
        if self.trackers.insert(tracker[:16]):
            return False
        needle = b'"tracker":"' + tracker.hex().encode() + b'"'  # only in ballot and audit entries
        for earlier, line in self.source.lines():
            if earlier >= offset:
                return False
            if needle in line:
                return True
        return False

    def on_ballot(self, seq, offset, tracker: bytes, credential, checked, keys: bytes) -> None:
        if self._replayed(tracker, offset):
            fail(seq, "ballot", "replay", f"tracker {tracker.hex()[:16]}… already on the board")
        if self.audited_keys and any(
            keys[i : i + 8] in self.audited_keys for i in range(0, len(keys), 8)
        ):
            self._audited_alpha(seq, offset)
        previous = self.last_ballot[credential]
        if previous >= 0:
            self.superseded.append(previous)
        self.last_ballot[credential] = offset
        self.report.ballots += 1
        if checked:
            self.report.ballots_verified += 1

    def _audited_alpha(self, seq: int, offset: int) -> None:
        """§12.2: no ballot reuses, as an α, the α of an earlier audit's ciphertexts (whose
        plaintexts are public). Re-read to compare whole points: the 8-byte keys only hinted."""
        ballot, _ = read_ballot(BoardEntry.from_line(self.source.read_at(offset)))
        for alpha in ballot_alphas(ballot):
            audit = self.audited_alphas.get(alpha)
            if audit is not None:
                fail(
                    seq,
                    "ballot",
                    "audited",
                    f"reuses a ciphertext of the ballot audited in entry {audit}: its plaintext is "
                    "public, it must never be counted",
                )

    def on_audit(self, seq, offset, audit: dict) -> None:
        tracker = audit["tracker"]
        if self._replayed(bytes.fromhex(tracker), offset):
            fail(seq, "audit", "replay", "this ballot was already on the board")
        alphas = audit["alphas"]
        for i in range(0, len(alphas), 65):
            alpha = alphas[i : i + 65]
            self.audited_alphas.setdefault(alpha, seq)
            self.audited_keys.add(alpha[1:9])
        self.report.audits.append(
            {"seq": seq, "tracker": tracker, "plaintexts": audit["plaintexts"]}
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
