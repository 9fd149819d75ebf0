"""Check 6 of §12.5, the encrypted tally (§12.3): the sum of the counted ballots with their
weights, recomputed from the workers' partial sums minus the superseded ballots (re-read from the
board by offset), equal to the `tally` entry."""

from __future__ import annotations

from crypto.board import BoardEntry
from crypto.tally import Aggregator, tally_to_json
from verifier.ballots import BallotBook, read_ballot
from verifier.facts import Facts, TallyFacts
from verifier.report import Report, fail


class TallyChecker:
    def __init__(self, facts: Facts, report: Report, book: BallotBook, source) -> None:
        self.facts = facts
        self.report = report
        self.book = book
        self.source = source  #: re-reads a superseded ballot by its offset (``read_at``)
        self.aggregator: Aggregator | None = None  #: every ballot entry so far

    def open(self) -> None:
        self.aggregator = Aggregator(self.facts.manifest.spec)

    def absorb(self, exported) -> None:
        """A worker's partial sum of the ballots of a run of lines."""
        self.aggregator.absorb(exported)

    def on_tally(self, entry: BoardEntry) -> None:
        facts = self.facts
        if facts.tally is not None:
            fail(entry.seq, entry.kind, "tally", "a second tally")
        # every ballot before this entry is in the aggregator already: chunks are handled in
        # order and a chunk's partial sums come before its next non-ballot entry
        spec = facts.manifest.spec
        table = facts.credentials
        superseded = Aggregator(spec)
        for offset in sorted(self.book.superseded):
            ballot, _ = read_ballot(BoardEntry.from_line(self.source.read_at(offset)))
            superseded.add(ballot, table.weights[table.index(ballot.credential.to_bytes())])
        totals = self.aggregator.totals(minus=superseded)
        counted = self.aggregator.count - superseded.count
        weight = self.aggregator.weight - superseded.weight
        payload = entry.payload
        if (
            payload["counted"] != counted
            or payload["superseded"] != superseded.count
            or payload["weight"] != weight
        ):
            fail(
                entry.seq,
                entry.kind,
                "tally",
                f"expected counted={counted}, superseded={superseded.count}, weight={weight}",
            )
        if payload["ciphertexts"] != tally_to_json(totals, spec.questions):
            fail(
                entry.seq,
                entry.kind,
                "tally",
                "the encrypted tally is not the sum of the counted ballots",
            )
        facts.tally = TallyFacts(totals, counted, superseded.count, weight)
        report = self.report
        report.counted, report.superseded, report.counted_weight = counted, superseded.count, weight
        report.tally_verified = True
