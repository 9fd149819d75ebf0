"""The checks that look at the board as a whole once it has been read: not empty, the `since`
head found on it, no loose end (an entry still waiting for the one that must follow it, a
tallied election without a result), and what the caller requires (``--require-result``)."""

from __future__ import annotations

from verifier.facts import Facts
from verifier.report import Report, fail


class Completeness:
    def __init__(self, facts: Facts, report: Report, *, require_result: bool = False) -> None:
        self.facts = facts
        self.report = report
        self.require_result = require_result

    def finish(self, *, since: str | None, since_seen: bool) -> None:
        report, facts = self.report, self.facts
        if report.entries == 0:
            fail(None, None, "board", "the board is empty")
        expected = facts.expected
        if expected is not None:
            fail(
                expected.seq,
                expected.kind,
                "order",
                f"must be immediately followed by {expected.what}, but the board ends here",
            )
        if since is not None and not since_seen:
            fail(None, None, "since", f"no entry with hash {since} on this board")
        if facts.state == "tallied" and not facts.result:
            fail(None, None, "result", "the election is tallied but has no result")
        if self.require_result and not facts.result:
            fail(
                None,
                None,
                "incomplete",
                f"no result yet: the board is verified up to state {facts.state} "
                "(--require-result)",
            )
