"""The verification of a whole board (docs/protocol.md §12.5), streamed entry by entry.

One driver composes small checkers, each the authority for one part of §12.5 and testable alone:
:mod:`~verifier.chain` (1), :mod:`~verifier.states` (2), :mod:`~verifier.ceremony` (3),
:mod:`~verifier.credentials` and :mod:`~verifier.manifest` (4), :mod:`~verifier.ballots` (5),
:mod:`~verifier.tally` (6), :mod:`~verifier.decryption` (7) and :mod:`~verifier.completeness`
(the board as a whole). They share only :class:`~verifier.facts.Facts`.

The main process reads the board in order. Until the manifest it handles every line itself; from
then on it hands the lines to workers a chunk at a time (:func:`verifier.ballots.verify_chunk`:
worker processes, or an ``executor`` such as Celery tasks), which verify the ballot and audit
entries and return everything in line order. The main process takes the results back strictly in
submission order and handles every other entry itself, in place: no entry is ever handled before
the ones that precede it on the board.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from crypto.board import BoardEntry
from crypto.errors import CryptoError
from verifier.ballots import (
    BallotBook,
    TrackerSet,
    WorkerContext,
    verify_chunk,
    verify_file_chunk,
    worker_init,
)
from verifier.ceremony import CeremonyChecker
from verifier.chain import Chain
from verifier.completeness import Completeness
from verifier.credentials import CredentialsChecker, CredentialTable
from verifier.decryption import DecryptionChecker
from verifier.facts import Facts
from verifier.manifest import ManifestChecker
from verifier.mixing import MixChecker
from verifier.report import Report, VerificationFailed, fail
from verifier.states import StateMachine
from verifier.tally import TallyChecker

__all__ = [
    "CHUNK_LINES",
    "CredentialTable",
    "Report",
    "TrackerSet",
    "Verifier",
    "WorkerContext",
    "verify_board",
]

#: lines per chunk handed to a worker
CHUNK_LINES = 256
#: the check that names a malformed entry of each kind
CHECK_OF_KIND = {
    "election": "genesis",
    "state": "state",
    "trustee": "ceremony",
    "ceremony": "ceremony",
    "dkg-commitment": "ceremony",
    "dkg-deal": "ceremony",
    "dkg-complaint": "ceremony",
    "dkg-confirmation": "ceremony",
    "ceremony-result": "ceremony",
    "credentials": "credentials",
    "manifest": "manifest",
    "tally": "tally",
    "partial-decryption": "decryption",
    "decryption-rejected": "decryption",
    "result": "result",
    "mix-shuffle": "shuffle",
    "mix-skip": "mix",
    "mix-decryption": "mix-decryption",
    "mix-result": "mix-result",
}
_DECLARED_HASH = re.compile(rb'"hash":"([0-9a-f]{64})"')


class _Done:
    """A finished 'future' for the single-process path."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def result(self):
        return self.value


class Verifier:
    """Feed it the board's lines in order (``feed``), then call ``finish``; ``feed`` may be
    called again with what the board appended since (``--follow``)."""

    def __init__(
        self,
        source,
        report: Report,
        *,
        jobs: int = 1,
        since: str | None = None,
        progress=None,
        executor=None,
        require_result: bool = False,
        require_ceremony: bool = False,
    ) -> None:
        """``executor``, if given, replaces the local process pool: an object whose
        ``submit(chunk, check_proofs)`` returns something with ``result()`` giving what
        :func:`verifier.ballots.verify_chunk` returns (e.g. Celery tasks on other machines).
        ``require_result``: a board without a verified result fails (at :meth:`finish`);
        ``require_ceremony``: an election key installed without a ceremony on the board fails."""
        self.source = source
        self.report = report
        self.jobs = max(1, jobs)
        self.executor = executor
        self.since = since
        self._since_seen = since is None
        self.progress = progress
        self.bytes_done = 0
        self.pool: ProcessPoolExecutor | None = None
        self.pending: list = []
        facts = self.facts = Facts()
        self.chain = Chain(report)
        self.states = StateMachine(facts, report, require_ceremony=require_ceremony)
        self.ceremony = CeremonyChecker(facts, report)
        self.credentials = CredentialsChecker(facts, report)
        self.manifest = ManifestChecker(facts, report)
        self.book = BallotBook(facts, report, source)
        self.tally = TallyChecker(facts, report, self.book, source)
        self.decryption = DecryptionChecker(facts, report)
        self.mix = MixChecker(facts, report, self.book, source)
        self.mix.jobs = self.jobs
        self.completeness = Completeness(facts, report, require_result=require_result)
        self.handlers = {
            "election": self.states.on_election,
            "state": self.states.on_state,
            "trustee": self.ceremony.on_trustee,
            "ceremony": self.ceremony.on_ceremony,
            "dkg-commitment": self.ceremony.on_dkg_commitment,
            "dkg-deal": self.ceremony.on_dkg_deal,
            "dkg-complaint": self.ceremony.on_dkg_complaint,
            "dkg-confirmation": self.ceremony.on_dkg_confirmation,
            "ceremony-result": self.ceremony.on_ceremony_result,
            "credentials": self.credentials.on_credentials,
            "manifest": self._on_manifest,
            "ballot": self._before_manifest,
            "audit": self._before_manifest,
            "tally": self._on_tally,
            "partial-decryption": self.decryption.on_partial_decryption,
            "decryption-rejected": self.decryption.on_decryption_rejected,
            "mix-shuffle": self.mix.on_shuffle,
            "mix-skip": self.mix.on_skip,
            "mix-decryption": self.mix.on_decryption,
            "mix-result": self.mix.on_result_rows,
            "result": self._on_result,
        }

    @property
    def seq(self) -> int:
        """The sequence number the next entry must have (= entries verified so far)."""
        return self.chain.seq

    # --- driving
    def feed(self, lines: Iterator[tuple[int, bytes]]) -> None:
        """Process lines in order; afterwards ``bytes_done`` is the offset after the last line."""
        chunk: list[tuple[int, bytes]] = []
        for offset, line in lines:
            self.bytes_done = offset + len(line)
            if self.progress is not None:
                self.progress(self.bytes_done)
            if self.facts.manifest is None:
                if chunk:
                    self._dispatch(chunk)
                    chunk = []
                self._drain(0)
                self._handle_line(offset, line)
                continue
            chunk.append((offset, line))
            if len(chunk) >= CHUNK_LINES:
                self._dispatch(chunk)
                chunk = []
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
        elif self.jobs == 1:
            self.pending.append(_Done(verify_chunk(chunk, check)))
        else:
            if self.pool is None:
                self._start_pool()
            path = getattr(self.source, "path", None)
            if path is not None:  # a file: the worker reads the same bytes itself
                start, (last, line) = chunk[0][0], chunk[-1]
                future = self.pool.submit(
                    verify_file_chunk, str(path), start, last + len(line), check
                )
            else:
                future = self.pool.submit(verify_chunk, chunk, check)
            self.pending.append(future)
        self._drain(2 * self.jobs)

    def _start_pool(self) -> None:
        context = WorkerContext(self.facts.manifest.data, self.facts.credentials)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self.pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=worker_init,
            initargs=(context,),
        )

    def _drain(self, keep: int) -> None:
        """Handle the results of the oldest chunks until ``keep`` remain in flight. Never called
        while a chunk's results are being handled: the driver is the only caller."""
        while len(self.pending) > keep:
            for item in self.pending.pop(0).result():
                tag = item[0]
                if tag == "agg":
                    self.tally.absorb(item[1])
                elif tag == "other":
                    self._handle_line(item[1], item[2])
                elif tag == "error":
                    self._worker_failure(*item[1:])
                else:
                    self._handle_checked(item)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    # --- one entry
    def _handle_line(self, offset: int, line: bytes) -> None:
        entry = self.chain.parse(line)
        if not self._since_seen and entry.hash == self.since:
            self._since_seen = True
        self.chain.check(entry.seq, entry.kind, entry.prev, entry.time, entry.election)
        self.states.accept(entry.seq, entry.kind, entry.payload)
        try:
            self.states.payload(entry)
            self.mix.offset = offset
            self.handlers[entry.kind](entry)
        except VerificationFailed:
            raise
        except (CryptoError, KeyError, TypeError, ValueError, AttributeError) as exc:
            # malformed: the check of the entry's kind names it (§12.5 steps 2–7)
            check = CHECK_OF_KIND.get(entry.kind, entry.kind)
            fail(entry.seq, entry.kind, check, f"{type(exc).__name__}: {exc}")
        self.chain.advance(entry.seq, entry.kind, entry.hash, entry.time)

    def _handle_checked(self, item) -> None:
        """A ballot or audit entry a worker verified."""
        tag, offset, seq, kind, prev, digest, when, election, *rest = item
        self.chain.check(seq, kind, prev, when, election)
        self.states.accept(seq, kind)
        if kind == "ballot":
            tracker, credential, checked, keys = rest
            self.book.on_ballot(seq, offset, tracker, credential, checked, keys)
        else:
            (audit,) = rest
            self.book.on_audit(seq, offset, audit)
        self.chain.advance(seq, kind, digest, when)

    def _worker_failure(self, offset, seq, kind, check, reason, head=None) -> None:
        """A ballot or audit a worker refused: its place in the chain and the state machine come
        first (§12.5 checks 1 and 2), then the worker's finding."""
        if head is not None:
            _, _, kind, prev, _, when, election = head
            self.chain.check(seq, kind, prev, when, election)
            self.states.accept(seq, kind)
        fail(seq, kind, check, reason)

    def _on_manifest(self, entry: BoardEntry) -> None:
        self.manifest.on_manifest(entry)
        self.book.open()
        self.tally.open()
        if self.executor is None and self.jobs == 1:
            worker_init(WorkerContext(self.facts.manifest.data, self.facts.credentials))

    def _on_tally(self, entry: BoardEntry) -> None:
        self.tally.on_tally(entry)
        self.mix.on_tally(entry)

    def _on_result(self, entry: BoardEntry) -> None:
        if self.mix.needed and not self.mix.done:
            fail(entry.seq, entry.kind, "mix", "the result comes after the mix's published rows")
        self.decryption.on_result(entry)

    def _before_manifest(self, entry: BoardEntry) -> None:
        what = "a ballot" if entry.kind == "ballot" else "an audit"
        fail(entry.seq, entry.kind, "state", f"{what} before the manifest")

    def finish(self) -> None:
        self._drain(0)
        if self.mix.pending is not None or self.mix.decrypting is not None:
            fail(None, None, "mix", "a shuffle's or a decryption's parts end the board unfinished")
        self.completeness.finish(since=self.since, since_seen=self._since_seen)


def verify_board(
    source,
    *,
    jobs: int | None = None,
    since: str | None = None,
    progress=None,
    keep_open: bool = False,
    executor=None,
    require_result: bool = False,
    require_ceremony: bool = False,
) -> tuple[Report, Verifier]:
    """Verify a board from a :class:`~verifier.source.BoardSource`. A verification failure does not
    raise: the report carries it. With ``keep_open`` the verifier (and its worker pool) stays alive
    so that ``--follow`` can feed it what the board appends later. ``require_result`` and
    ``require_ceremony``: see :class:`Verifier` (``report.required`` lists them)."""
    jobs = jobs or os.cpu_count() or 1
    report = Report(source=source.source, since=since)
    report.required = [
        name for name, on in (("result", require_result), ("ceremony", require_ceremony)) if on
    ]
    started = time.perf_counter()
    verifier = Verifier(
        source,
        report,
        jobs=jobs,
        since=since,
        progress=progress,
        executor=executor,
        require_result=require_result,
        require_ceremony=require_ceremony,
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
