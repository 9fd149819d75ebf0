"""The verification of a whole board (docs/protocol.md), streamed entry by entry.

The main process reads the board in order, checks the hash chain, the election's state machine and
every non-ballot entry itself. Ballot and audit entries — nearly all of a board — are verified in
worker processes, a chunk of lines at a time (one batched multi-scalar multiplication per chunk),
and each worker also adds its chunk's ballots into a partial encrypted tally. The main process
keeps, per credential, only the offset of its last ballot; when a credential votes again the
earlier ballot's offset goes to a list of superseded ballots, which are re-read (and subtracted)
when the tally entry arrives. Memory therefore grows with the number of credentials, not with the
number of ballots or the size of the board.
"""

from __future__ import annotations

import array
import multiprocessing
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from crypto.ballot import Ballot, BallotSecrets, ballot_audit, ballot_verify
from crypto.board import (
    GENESIS_PREV,
    BoardEntry,
    InvalidChain,
    ballot_payload_bytes,
    entry_hash,
)
from crypto.dlog import DlogTable
from crypto.encoding import expect_list, expect_object
from crypto.errors import CryptoError
from crypto.hashing import check_digest_hex
from crypto.manifest import Credential, CredentialListReader, Manifest
from crypto.proofs.batch import BatchVerifier
from crypto.tally import Aggregator, funded_projects, tally_to_json
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    PartialDecryption,
    TrusteePublicKey,
    combine_partial_decryptions,
    decryption_check_signature,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_verification_key,
    trustee_check_signature,
    verify_partial_decryption,
)
from verifier.report import Finding, Report, VerificationFailed

STATES = ("draft", "key_ceremony", "ready", "open", "closed", "tallying", "tallied")
TRANSITIONS = {
    ("draft", "key_ceremony"),
    ("key_ceremony", "ready"),
    ("ready", "open"),
    ("open", "closed"),
    ("closed", "tallying"),
    ("tallying", "tallied"),
}
ALLOWED = {
    "draft": {"trustee", "credentials", "state"},
    "key_ceremony": {
        "trustee",
        "ceremony",
        "dkg-commitment",
        "dkg-deal",
        "dkg-complaint",
        "dkg-confirmation",
        "ceremony-result",
        "credentials",
        "state",
    },
    "ready": {"credentials", "manifest", "state"},
    "open": {"manifest", "ballot", "audit", "state"},
    "closed": {"tally", "state"},
    "tallying": {"partial-decryption", "decryption-rejected", "result", "state"},
    "tallied": set(),
}
# exact payload fields of the kinds whose payload is not a protocol object with its own decoder
PAYLOAD_FIELDS = {
    "election": ("uuid", "slug", "title", "board_key"),
    "state": ("from", "to", "reason"),
    "trustee": ("name", "key"),
    "ceremony": ("threshold", "trustees", "context"),
    "ceremony-result": ("qualified", "disqualified", "public_key", "verification_keys"),
    "manifest": ("manifest", "fingerprint"),
    "audit": ("ballot", "randomness", "tracker"),
    "tally": ("counted", "superseded", "weight", "ciphertexts"),
    "partial-decryption": ("decryption", "signature"),
    "decryption-rejected": ("trustee", "reason"),
    "result": ("counts", "funded", "trustees", "counted", "weight"),
}
CHUNK_LINES = 256
# ballots per multi-scalar multiplication: ≈ 500 points keeps OpenSSL's per-point tables in cache
# (per point: ≈ 12.6 µs at 500 points, ≈ 14 µs at 8,000 on the reference machine)
BALLOTS_PER_BATCH = 16
_DECLARED_HASH = re.compile(rb'"hash":"([0-9a-f]{64})"')
_KIND = re.compile(rb'"kind":"([a-z-]+)"')
_SEQ = re.compile(rb'"seq":(\d{1,16})[,}]')


# --- Credential lookup that stays small --------------------------------------------------------


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


class TrackerSet:
    """The 16-byte tracker keys seen so far, in one bytearray (open addressing, linear probing,
    at most 2/3 full): 24–48 bytes per ballot instead of ≈ 100 for a ``set`` of ``bytes`` objects.
    This and the credential table are all the verifier keeps that grows with the board. Slots
    come from Python's keyed ``hash`` (SipHash, a random key per process), so crafted trackers
    cannot pile up in one run of slots."""

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
    manifest_json: dict
    credentials: CredentialTable
    audited_only: bool = False


_WORKER: dict = {}


def _worker_init(context: WorkerContext) -> None:
    manifest = Manifest.from_json(context.manifest_json)
    spec = manifest.spec
    _ = spec.key.table  # precompute once per process
    _WORKER.clear()
    _WORKER.update(manifest=manifest, spec=spec, credentials=context.credentials)


def _verify_chunk(chunk: list[tuple[int, bytes]], check_proofs: bool) -> list:
    """Verify the ballot and audit entries of a chunk of lines, in line order.

    Returns items in line order: ``("other", offset, line)`` for entries the main process handles,
    ``("ballot", …)``/``("audit", …)`` for verified ones, ``("error", …)`` for a failure, and
    ``("agg", exported)`` checkpoints holding the sum of the ballots since the previous checkpoint,
    placed before every "other" entry so that a tally entry never sees ballots that follow it.
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
            entry = BoardEntry.from_canonical_line(line)
        except InvalidChain as exc:
            items.append(("error", offset, _line_seq(line), kind, "chain", str(exc)))
            continue
        except CryptoError as exc:
            items.append(("error", offset, _line_seq(line), kind, "entry", str(exc)))
            continue
        if entry.kind != kind:
            items.append(("other", offset, line))
            continue
        head = (offset, entry.seq, entry.kind, entry.prev, entry.hash, entry.time)
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


def _line_seq(line: bytes) -> int | None:
    match = _SEQ.search(line)
    return int(match.group(1)) if match else None


class _CheckError(CryptoError):
    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def _read_ballot_payload(entry: BoardEntry, line: bytes | None = None) -> tuple[Ballot, str]:
    """The ballot of a ballot entry; ``line``, if given, is the entry's verified canonical line."""
    payload = expect_object(entry.payload, ("ballot", "tracker"), "ballot entry payload")
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
    ballot, tracker = _read_ballot_payload(entry, line)
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


class Verifier:
    """Feed it the board's lines in order (``feed``), then call ``finish``."""

    def __init__(
        self,
        source,
        report: Report,
        *,
        jobs: int = 1,
        since: str | None = None,
        progress=None,
        executor=None,
    ) -> None:
        """``executor``, if given, replaces the local process pool: an object whose
        ``submit(chunk, check_proofs)`` returns something with ``result()`` giving what
        :func:`_verify_chunk` returns (e.g. Celery tasks on other machines)."""
        self.source = source
        self.report = report
        self.jobs = max(1, jobs)
        self.executor = executor
        self.since = since
        self._since_seen = since is None
        self.progress = progress
        # chain
        self.prev = GENESIS_PREV
        self.seq = 0
        self.last_time = ""
        self.election: str | None = None
        self.state: str | None = None
        self.bytes_done = 0
        # ceremony
        self.registered: dict[int, TrusteePublicKey] = {}
        self.names: dict[int, str] = {}
        self.ceremony: Ceremony | None = None
        self.commitments: dict[int, DkgCommitment] = {}
        self.deals: dict[int, DkgDeal] = {}
        self.invalid_deals: dict[int, str] = {}
        self.justified: dict[int, str] = {}
        self.ceremony_result: dict | None = None
        # voting
        self.credentials: CredentialTable | None = None
        self.credential_reader: CredentialListReader | None = None
        self.credentials_meta: dict | None = None
        self.manifest: Manifest | None = None
        self.last_ballot: array.array | None = (
            None  # per credential: offset of its last ballot, or −1
        )
        self.superseded: array.array = array.array("q")
        self.trackers = TrackerSet()
        self.audited = TrackerSet(16)
        self.aggregator: Aggregator | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.pending: list = []
        # tally
        self.tally_cts = None
        self.partials: dict[int, PartialDecryption] = {}
        self.bad_partials: dict[int, int] = {}  # trustee → invalid decryptions not yet rejected
        self.result_seen = False

    # --- errors
    def fail(self, seq, kind, check: str, reason: str):
        raise VerificationFailed(Finding(seq, kind, check, reason))

    # --- driving
    def feed(self, lines: Iterator[tuple[int, bytes]]) -> None:
        """Process lines in order; afterwards ``bytes_done`` is the offset after the last line."""
        chunk: list[tuple[int, bytes]] = []
        for offset, line in lines:
            self.bytes_done = offset + len(line)
            if self.progress is not None:
                self.progress(self.bytes_done)
            if self.manifest is None:
                self._flush(chunk)
                chunk = []
                self._handle_line(offset, line)
                continue
            chunk.append((offset, line))
            if len(chunk) >= CHUNK_LINES:
                self._dispatch(chunk)
                chunk = []
        self._flush(chunk)
        self._drain(0)

    def _flush(self, chunk) -> None:
        if chunk:
            self._dispatch(chunk)
        self._drain(0)

    def _dispatch(self, chunk) -> None:
        if not self._since_seen:
            # --since: entries up to the earlier head had their proofs checked before; split the
            # chunk there (the chain, tally and result are still checked over everything)
            for i, (_, line) in enumerate(chunk):
                m = _DECLARED_HASH.search(line, 0, 400)
                if m and m.group(1).decode() == self.since:
                    self._since_seen = True
                    self._submit(chunk[: i + 1], False)
                    if chunk[i + 1 :]:
                        self._submit(chunk[i + 1 :], True)
                    return
            self._submit(chunk, False)
            return
        self._submit(chunk, True)

    def _submit(self, chunk, check: bool) -> None:
        if self.executor is not None:
            self.pending.append(self.executor.submit(chunk, check))
            self._drain(2 * self.jobs)
            return
        if self.jobs == 1:
            self.pending.append(_Done(_verify_chunk(chunk, check)))
        else:
            if self.pool is None:
                self._start_pool()
            self.pending.append(self.pool.submit(_verify_chunk, chunk, check))
        self._drain(2 * self.jobs)

    def _start_pool(self) -> None:
        context = WorkerContext(self.manifest.data, self.credentials)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self.pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(context,),
        )

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            for item in self.pending.pop(0).result():
                if item[0] == "agg":
                    self.aggregator.absorb(item[1])
                else:
                    self._handle_worker_item(item)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    # --- chain and state machine
    def _chain(
        self, entry: BoardEntry | None, seq, prev, digest, when, kind, offset, line_len=None
    ) -> None:
        if seq != self.seq:
            self.fail(seq, kind, "sequence", f"expected entry {self.seq} here")
        if prev != self.prev:
            self.fail(seq, kind, "chain", f"'prev' is not the hash of entry {self.seq - 1}")
        if when < self.last_time:
            self.fail(seq, kind, "time", "time goes backwards")
        if self.state is not None and kind not in ALLOWED[self.state]:
            self.fail(
                seq,
                kind,
                "state",
                f"a {kind} entry is not allowed while the election is {self.state}",
            )
        self.prev, self.seq, self.last_time = digest, seq + 1, when
        self.report.entries += 1
        self.report.kinds[kind] = self.report.kinds.get(kind, 0) + 1
        self.report.head_seq, self.report.head_hash = seq, digest

    def _handle_line(self, offset: int, line: bytes) -> None:
        try:
            entry = BoardEntry.from_line(line)
        except CryptoError as exc:
            self.fail(self.seq, None, "entry", str(exc))
        if entry_hash(entry.body()) != entry.hash:
            self.fail(entry.seq, entry.kind, "chain", "its hash does not match its content")
        if not self._since_seen and entry.hash == self.since:
            self._since_seen = True
        if self.election is None:
            self.election = entry.election
            self.report.election = entry.election
        elif entry.election != self.election:
            self.fail(entry.seq, entry.kind, "chain", "belongs to another election")
        self._chain(entry, entry.seq, entry.prev, entry.hash, entry.time, entry.kind, offset)
        try:
            fields = PAYLOAD_FIELDS.get(entry.kind)
            if fields is not None:
                expect_object(entry.payload, fields, f"{entry.kind} payload")
            getattr(self, "on_" + entry.kind.replace("-", "_"))(entry, offset)
        except VerificationFailed:
            raise
        except (CryptoError, KeyError, TypeError, ValueError, AttributeError) as exc:
            self.fail(entry.seq, entry.kind, entry.kind, f"{type(exc).__name__}: {exc}")

    def _handle_worker_item(self, item) -> None:
        tag = item[0]
        if tag == "other":
            _, offset, line = item
            self._handle_line(offset, line)
            return
        if tag == "error":
            _, offset, seq, kind, check, reason = item
            self.fail(seq, kind, check, reason)
        _, offset, seq, kind, prev, digest, when, *rest = item
        self._chain(None, seq, prev, digest, when, kind, offset)
        if kind == "ballot":
            tracker, credential, checked = rest
            self._on_ballot(seq, offset, tracker, credential, checked, when)
        else:
            (audit,) = rest
            self._on_audit(seq, audit)

    # --- handlers of non-ballot entries
    def on_election(self, entry: BoardEntry, offset: int) -> None:
        if entry.seq != 0:
            self.fail(entry.seq, entry.kind, "genesis", "the election entry must be entry 0")
        payload = entry.payload
        if payload.get("uuid") != entry.election:
            self.fail(entry.seq, entry.kind, "genesis", "the genesis entry names another election")
        self.report.title = payload.get("title")
        self.state = "draft"

    def _require_genesis(self, entry: BoardEntry) -> None:
        if self.state is None:
            self.fail(
                entry.seq, entry.kind, "genesis", "the board does not start with an election entry"
            )

    def on_state(self, entry: BoardEntry, offset: int) -> None:
        self._require_genesis(entry)
        to = entry.payload.get("to")
        frm = entry.payload.get("from", self.state)
        if frm != self.state or (self.state, to) not in TRANSITIONS:
            self.fail(
                entry.seq,
                entry.kind,
                "state",
                f"transition {frm} → {to} not allowed from {self.state}",
            )
        if to == "open" and self.manifest is None:
            self.fail(entry.seq, entry.kind, "state", "opened without a manifest")
        if to == "tallying" and self.tally_cts is None:
            self.fail(entry.seq, entry.kind, "state", "tallying without an encrypted tally")
        if to == "tallied" and not self.result_seen:
            self.fail(entry.seq, entry.kind, "state", "tallied without a result")
        self.state = to
        self.report.state = to

    def on_trustee(self, entry: BoardEntry, offset: int) -> None:
        self._require_genesis(entry)
        if self.ceremony is not None:
            self.fail(
                entry.seq, entry.kind, "ceremony", "a trustee registered after the ceremony started"
            )
        key = TrusteePublicKey.from_json(entry.payload["key"])
        key.verify(self.election)
        if key.index in self.registered:
            self.fail(entry.seq, entry.kind, "ceremony", f"trustee {key.index} registered twice")
        self.registered[key.index] = key
        self.names[key.index] = str(entry.payload.get("name", ""))

    def on_ceremony(self, entry: BoardEntry, offset: int) -> None:
        payload = entry.payload
        if self.ceremony is not None:
            self.fail(entry.seq, entry.kind, "ceremony", "a second ceremony")
        n = len(self.registered)
        listed = expect_list(payload["trustees"], "ceremony.trustees", n)
        for item in listed:
            reg = self.registered.get(item["index"])
            if reg is None or reg.public_key.to_hex() != item["public_key"]:
                self.fail(
                    entry.seq,
                    entry.kind,
                    "ceremony",
                    f"trustee {item.get('index')} is not the registered one",
                )
        ceremony = Ceremony(
            self.election, payload["threshold"], tuple(self.registered[i] for i in range(1, n + 1))
        )
        if ceremony.context != payload["context"]:
            self.fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "the ceremony context is not the digest of its parameters",
            )
        self.ceremony = ceremony
        self.report.trustees, self.report.threshold = n, ceremony.threshold

    def _need_ceremony(self, entry) -> Ceremony:
        if self.ceremony is None:
            self.fail(entry.seq, entry.kind, "ceremony", "no ceremony started")
        return self.ceremony

    def on_dkg_commitment(self, entry: BoardEntry, offset: int) -> None:
        ceremony = self._need_ceremony(entry)
        dealer = entry.payload.get("dealer")
        try:
            message = trustee_check_signature(entry.payload, dealer, ceremony)
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "signature", str(exc))
        commitment = DkgCommitment.from_json(message)
        if commitment.dealer > ceremony.n or commitment.dealer in self.commitments:
            self.fail(
                entry.seq,
                entry.kind,
                "ceremony",
                f"unexpected commitment from dealer {commitment.dealer}",
            )
        if self.deals:
            self.fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "a commitment after a reveal (the key could be biased)",
            )
        self.commitments[commitment.dealer] = commitment

    def on_dkg_deal(self, entry: BoardEntry, offset: int) -> None:
        ceremony = self._need_ceremony(entry)
        dealer = entry.payload.get("dealer")
        try:
            message = trustee_check_signature(entry.payload, dealer, ceremony)
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "signature", str(exc))
        deal = DkgDeal.from_json(message)
        if len(self.commitments) != ceremony.n:
            self.fail(entry.seq, entry.kind, "ceremony", "a reveal before every trustee committed")
        if deal.dealer in self.deals or deal.dealer in self.invalid_deals:
            self.fail(entry.seq, entry.kind, "ceremony", f"dealer {deal.dealer} dealt twice")
        commitment = self.commitments.get(deal.dealer)
        if commitment is None:
            self.fail(entry.seq, entry.kind, "ceremony", f"no commitment from dealer {deal.dealer}")
        try:
            dkg_check_deal(commitment, deal, ceremony)
        except CryptoError as exc:
            self.invalid_deals[deal.dealer] = str(exc)  # disqualified, not a board failure
            return
        self.deals[deal.dealer] = deal

    def on_dkg_complaint(self, entry: BoardEntry, offset: int) -> None:
        ceremony = self._need_ceremony(entry)
        complaint = DkgComplaint.from_json(entry.payload)
        deal = self.deals.get(complaint.dealer)
        if deal is None:
            return  # against a dealer already out: moot
        try:
            if dkg_judge_complaint(complaint, deal, ceremony):
                self.justified[complaint.dealer] = (
                    f"justified complaint by trustee {complaint.complainer}"
                )
        except CryptoError:
            return  # a complaint with an invalid proof is void

    def _qualified(self) -> list[DkgDeal]:
        return [d for i, d in sorted(self.deals.items()) if i not in self.justified]

    def on_dkg_confirmation(self, entry: BoardEntry, offset: int) -> None:
        ceremony = self._need_ceremony(entry)
        try:
            message = trustee_check_signature(entry.payload, entry.payload.get("trustee"), ceremony)
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "signature", str(exc))
        confirmation = DkgConfirmation.from_json(message)
        try:
            dkg_check_confirmation(confirmation, self._qualified(), ceremony)
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "ceremony", str(exc))

    def on_ceremony_result(self, entry: BoardEntry, offset: int) -> None:
        ceremony = self._need_ceremony(entry)
        qualified = self._qualified()
        payload = entry.payload
        mine = [d.dealer for d in qualified]
        if payload["qualified"] != mine:
            self.fail(entry.seq, entry.kind, "ceremony", f"qualified dealers should be {mine}")
        key = dkg_election_key(qualified)
        if payload["public_key"] != key.to_json():
            self.fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "the election key is not the sum of the qualified commitments",
            )
        vkeys = [dkg_verification_key(qualified, j).to_hex() for j in range(1, ceremony.n + 1)]
        if payload["verification_keys"] != vkeys:
            self.fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "a verification key does not match the commitments",
            )
        out = sorted(
            set(self.invalid_deals)
            | set(self.justified)
            | (set(range(1, ceremony.n + 1)) - set(self.deals))
        )
        listed = sorted(int(d["dealer"]) for d in payload.get("disqualified", []))
        if listed != out:
            self.fail(entry.seq, entry.kind, "ceremony", f"disqualified dealers should be {out}")
        self.ceremony_result = {
            "public_key": key.to_json(),
            "verification_keys": vkeys,
            "qualified": mine,
        }
        self.report.qualified = mine

    def on_credentials(self, entry: BoardEntry, offset: int) -> None:
        self._require_genesis(entry)
        if self.manifest is not None:
            self.fail(
                entry.seq,
                entry.kind,
                "credentials",
                "credentials published after the election opened",
            )
        if self.credential_reader is None or self.credential_reader.complete:
            if self.credentials_meta is not None:
                self.fail(
                    entry.seq, entry.kind, "credentials", "the credential list is published twice"
                )
            self.credential_reader = CredentialListReader()
            self.credentials = CredentialTable()
        try:
            part = self.credential_reader.add_part(entry.payload)
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "credentials", str(exc))
        self.credentials.extend(part)
        if self.credential_reader.complete:
            meta = self.credential_reader.meta
            self.credentials_meta = {
                "count": meta["count"],
                "digest": meta["digest"],
                "total_weight": meta["total_weight"],
            }
            self.report.credentials = meta["count"]

    def on_manifest(self, entry: BoardEntry, offset: int) -> None:
        if self.manifest is not None:
            self.fail(entry.seq, entry.kind, "manifest", "a second manifest")
        manifest = Manifest.from_json(entry.payload["manifest"])
        if entry.payload.get("fingerprint") != manifest.fingerprint:
            self.fail(
                entry.seq, entry.kind, "manifest", "the fingerprint is not the hash of the manifest"
            )
        if manifest.election_uuid != self.election:
            self.fail(entry.seq, entry.kind, "manifest", "the manifest is for another election")
        meta = self.credentials_meta
        creds = manifest.data["credentials"]
        if meta is None or creds != meta:
            self.fail(
                entry.seq,
                entry.kind,
                "manifest",
                "the credential list digest does not match the published list",
            )
        if self.ceremony is not None:
            result = self.ceremony_result
            data = manifest.data
            if (
                result is None
                or data["public_key"] != result["public_key"]
                or data["verification_keys"] != result["verification_keys"]
                or data["threshold"] != self.ceremony.threshold
                or data["ceremony"] != self.ceremony.context
                or [t["public_key"] for t in data["trustees"]]
                != [k.public_key.to_hex() for k in self.ceremony.trustees]
            ):
                self.fail(
                    entry.seq,
                    entry.kind,
                    "manifest",
                    "key, trustees or threshold differ from the key ceremony",
                )
        self.manifest = manifest
        self._opens = manifest.data["election"]["opens_at"][:19] + ".000Z"
        self._closes = manifest.data["election"]["closes_at"][:19] + ".000Z"
        self.report.fingerprint = manifest.fingerprint
        self.report.threshold = manifest.threshold
        self.report.trustees = len(manifest.trustee_keys)
        self.last_ballot = array.array("q", [-1]) * self.credentials.count
        self.aggregator = Aggregator(manifest.spec)
        if self.jobs == 1:
            _worker_init(WorkerContext(manifest.data, self.credentials))

    def _on_ballot(self, seq, offset, tracker, credential, checked, when) -> None:
        if self.manifest is None:
            self.fail(seq, "ballot", "state", "a ballot before the manifest")
        # opens_at ≤ time < closes_at, board times having milliseconds ("…:SS.mmmZ")
        if not self._opens <= when < self._closes:
            self.fail(seq, "ballot", "window", "cast outside the voting window")
        key = bytes.fromhex(tracker[:32])
        if key in self.audited or not self.trackers.insert(key):
            self.fail(seq, "ballot", "replay", f"tracker {tracker[:16]}… already on the board")
        previous = self.last_ballot[credential]
        if previous >= 0:
            self.superseded.append(previous)
        self.last_ballot[credential] = offset
        self.report.ballots += 1
        if checked:
            self.report.ballots_verified += 1

    def _on_audit(self, seq, audit: dict) -> None:
        key = bytes.fromhex(audit["tracker"][:32])
        if key in self.trackers or key in self.audited:
            self.fail(seq, "audit", "replay", "this ballot was already on the board")
        self.audited.add(key)
        self.report.audits.append(
            {"seq": seq, "tracker": audit["tracker"], "plaintexts": audit["plaintexts"]}
        )

    def on_ballot(self, entry: BoardEntry, offset: int) -> None:  # only reached before the manifest
        self.fail(entry.seq, entry.kind, "state", "a ballot before the manifest")

    def on_audit(self, entry: BoardEntry, offset: int) -> None:
        self.fail(entry.seq, entry.kind, "state", "an audit before the manifest")

    def on_tally(self, entry: BoardEntry, offset: int) -> None:
        if self.tally_cts is not None:
            self.fail(entry.seq, entry.kind, "tally", "a second tally")
        # every ballot before this entry is in the aggregator already: chunks are handled in
        # order and a chunk's partial sums come before its next non-ballot entry
        spec = self.manifest.spec
        superseded = Aggregator(spec)
        for off in sorted(self.superseded):
            other = BoardEntry.from_line(self.source.read_at(off))
            ballot, _ = _read_ballot_payload(other)
            index = self.credentials.index(ballot.credential.to_bytes())
            superseded.add(ballot, self.credentials.weights[index])
        totals = self.aggregator.totals(minus=superseded)
        counted = self.aggregator.count - superseded.count
        weight = self.aggregator.weight - superseded.weight
        payload = entry.payload
        if (
            payload.get("counted") != counted
            or payload.get("superseded") != superseded.count
            or payload.get("weight") != weight
        ):
            self.fail(
                entry.seq,
                entry.kind,
                "tally",
                f"expected counted={counted}, superseded={superseded.count}, weight={weight}",
            )
        if payload.get("ciphertexts") != tally_to_json(totals, spec.questions):
            self.fail(
                entry.seq,
                entry.kind,
                "tally",
                "the encrypted tally is not the sum of the counted ballots",
            )
        self.tally_cts = totals
        self.report.counted, self.report.superseded, self.report.counted_weight = (
            counted,
            superseded.count,
            weight,
        )
        self.report.tally_verified = True

    def on_partial_decryption(self, entry: BoardEntry, offset: int) -> None:
        if self.tally_cts is None:
            self.fail(entry.seq, entry.kind, "decryption", "a partial decryption before the tally")
        manifest = self.manifest
        j = entry.payload["decryption"].get("trustee")
        if type(j) is not int or not 1 <= j <= len(manifest.trustee_keys):
            self.fail(entry.seq, entry.kind, "decryption", f"trustee {j!r} does not exist")
        try:  # signed by trustee j's registered key (§12.4): attributable to j
            decryption_check_signature(
                entry.payload, manifest.trustee_keys[j - 1], fingerprint=manifest.fingerprint
            )
        except CryptoError as exc:
            self.fail(entry.seq, entry.kind, "signature", f"trustee {j}: {exc}")
        partial = PartialDecryption.from_json(entry.payload["decryption"])
        if j in self.partials:
            self.fail(
                entry.seq, entry.kind, "decryption", f"trustee {j} has a valid decryption already"
            )
        if any(self.bad_partials.values()):
            self.fail(entry.seq, entry.kind, "decryption", "an invalid decryption was not rejected")
        try:
            verify_partial_decryption(
                partial,
                verification_key=manifest.verification_keys[j - 1],
                ciphertexts=self.tally_cts,
                context=manifest.fingerprint,
            )
        except CryptoError:
            self.bad_partials[j] = self.bad_partials.get(j, 0) + 1
            return
        self.partials[j] = partial
        self.report.decryptions_valid.append(j)

    def on_decryption_rejected(self, entry: BoardEntry, offset: int) -> None:
        j = entry.payload.get("trustee")
        if type(j) is not int or not self.bad_partials.get(j):
            self.fail(
                entry.seq,
                entry.kind,
                "decryption",
                f"trustee {j}'s decryption was rejected but is valid or absent",
            )
        self.bad_partials[j] -= 1
        self.report.decryptions_rejected.append(j)

    def on_result(self, entry: BoardEntry, offset: int) -> None:
        if self.tally_cts is None or self.result_seen:
            self.fail(
                entry.seq, entry.kind, "result", "a result without a tally, or a second result"
            )
        if any(self.bad_partials.values()):
            self.fail(entry.seq, entry.kind, "decryption", "an invalid decryption was not rejected")
        manifest = self.manifest
        payload = entry.payload
        used = payload["trustees"]
        if (
            sorted(used) != used
            or len(used) != manifest.threshold
            or any(j not in self.partials for j in used)
        ):
            self.fail(
                entry.seq,
                entry.kind,
                "result",
                f"the result must combine {manifest.threshold} valid partial decryptions",
            )
        points = combine_partial_decryptions(
            self.tally_cts, {j: self.partials[j] for j in used}, manifest.threshold
        )
        weight = self.report.counted_weight
        table = DlogTable(weight + 1)
        counts = [table.solve(p) for p in points]
        questions = manifest.data["questions"]
        expected_counts, expected_funded, it = [], [], iter(counts)
        for q, spec in zip(questions, manifest.questions, strict=True):
            mine = [next(it) for _ in range(spec.options)]
            expected_counts.append(mine)
            if q["kind"] == "budget":
                funded = funded_projects(mine, spec.costs, spec.budget)
                expected_funded.append([q["options"][i]["id"] for i in funded])
            else:
                expected_funded.append(None)
        if payload["counts"] != expected_counts:
            self.fail(entry.seq, entry.kind, "result", f"the counts should be {expected_counts}")
        if payload.get("funded") != expected_funded:
            self.fail(
                entry.seq, entry.kind, "result", "the funded projects do not follow the budget rule"
            )
        if payload.get("counted") != self.report.counted or payload.get("weight") != weight:
            self.fail(
                entry.seq, entry.kind, "result", "counted ballots or weight differ from the tally"
            )
        self.result_seen = True
        self.report.result_verified = True
        self.report.result = {
            "questions": [
                {
                    "id": q["id"],
                    "title": q["title"],
                    "counts": {o["title"]: c for o, c in zip(q["options"], mine, strict=True)},
                    "funded": None
                    if f is None
                    else [next(o["title"] for o in q["options"] if o["id"] == fid) for fid in f],
                }
                for q, mine, f in zip(questions, expected_counts, expected_funded, strict=True)
            ]
        }

    def finish(self) -> None:
        self._drain(0)
        if self.report.entries == 0:
            self.fail(None, None, "board", "the board is empty")
        if self.since is not None and not self._since_seen:
            self.fail(None, None, "since", f"no entry with hash {self.since} on this board")
        if self.state == "tallied" and not self.result_seen:
            self.fail(None, None, "result", "the election is tallied but has no result")
        if any(self.bad_partials.values()):
            self.fail(None, None, "decryption", "an invalid decryption was not rejected")
        self.report.state = self.state


class _Done:
    """A finished 'future' for the single-process path."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def result(self):
        return self.value


def verify_board(
    source,
    *,
    jobs: int | None = None,
    since: str | None = None,
    progress=None,
    keep_open: bool = False,
    executor=None,
) -> tuple[Report, Verifier]:
    """Verify a board from a :class:`~verifier.source.BoardSource`. A verification failure does not
    raise: the report carries it. With ``keep_open`` the verifier (and its worker pool) stays alive
    so that ``--follow`` can feed it what the board appends later."""
    jobs = jobs or os.cpu_count() or 1
    report = Report(source=source.source, since=since)
    started = time.perf_counter()
    verifier = Verifier(
        source, report, jobs=jobs, since=since, progress=progress, executor=executor
    )
    try:
        verifier.feed(source.lines())
        verifier.finish()
    except VerificationFailed as exc:
        report.failure = exc.finding
    finally:
        if not keep_open or report.failure is not None:
            verifier.close()
        report.seconds = time.perf_counter() - started
    return report, verifier
