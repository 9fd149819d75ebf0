"""Check 2 of §12.5, the state machine and the order of entries (§11.2–§11.4): the genesis entry
first, every kind allowed in the current state, `state` entries following the transitions, the
qualifiers of the §11.2 table (once, right before a `state` entry, consecutive parts, before the
`ceremony`), what must immediately follow an entry, and exact payload fields."""

from __future__ import annotations

import re

from crypto.board import BoardEntry
from crypto.encoding import expect_object
from verifier.facts import Expected, Facts
from verifier.report import Report, fail

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
    "open": {"ballot", "audit", "state"},
    "closed": {"tally", "state"},
    "tallying": {
        "partial-decryption",
        "decryption-rejected",
        "mix-shuffle",
        "mix-skip",
        "mix-decryption",
        "mix-result",
        "result",
        "state",
    },
    "tallied": set(),
}
#: kinds that appear at most once on a board (`election` too: it is entry 0 and only entry 0)
ONCE = ("ceremony", "ceremony-result", "manifest", "tally", "result")
#: kind → the state entry (from, to) that must come right after it, and conversely
RIGHT_BEFORE = {
    "ceremony-result": ("key_ceremony", "ready"),
    "manifest": ("ready", "open"),
    "tally": ("closed", "tallying"),
    "result": ("tallying", "tallied"),
}
RIGHT_AFTER = {to: kind for kind, (_, to) in RIGHT_BEFORE.items()}
#: exact payload fields of the kinds whose payload is not a protocol object with its own decoder
PAYLOAD_FIELDS = {
    "election": ("uuid", "slug", "title", "board_key"),
    "state": ("from", "to", "reason"),
    "trustee": ("name", "key"),
    "ceremony": ("threshold", "trustees", "context"),
    "ceremony-result": ("qualified", "disqualified", "public_key", "verification_keys"),
    "manifest": ("manifest", "fingerprint"),
    "ballot": ("ballot", "tracker"),
    "audit": ("ballot", "randomness", "tracker"),
    "tally": ("counted", "superseded", "weight", "ciphertexts"),
    "partial-decryption": ("decryption", "signature"),
    "decryption-rejected": ("trustee", "reason"),
    "result": ("counts", "funded", "trustees", "counted", "weight"),
    # §15.11
    "mix-shuffle": (
        "mixer",
        "part",
        "parts",
        "offset",
        "rows",
        "width",
        "ciphertexts",
        "proof",
        "head",
        "signature",
    ),
    "mix-skip": ("mixer", "reason"),
    "mix-decryption": ("part", "parts", "decryption", "signature"),
    "mix-result": ("part", "parts", "offset", "trustees", "rows"),
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


class StateMachine:
    __slots__ = ("facts", "report", "seen", "previous", "before", "require_ceremony")

    def __init__(self, facts: Facts, report: Report, *, require_ceremony: bool = False) -> None:
        self.facts = facts
        self.report = report
        self.require_ceremony = require_ceremony
        self.seen: set[str] = set()  #: kinds seen so far
        self.previous: str | None = None  #: the kind of the entry accepted last
        self.before: str | None = None  #: the kind of the entry before that one

    def accept(self, seq: int, kind: str, payload: dict | None = None) -> None:
        """Entry ``seq`` of ``kind`` may come now (before its own checks); ``payload`` is None
        only for ballots and audits, which nothing ever expects."""
        facts = self.facts
        state = facts.state
        if state is None:
            if kind != "election":
                fail(seq, kind, "genesis", "the board does not start with an election entry")
        elif kind not in ALLOWED[state]:
            fail(seq, kind, "state", f"a {kind} entry is not allowed while the election is {state}")
        expected = facts.expected
        if expected is not None:
            if (
                kind != expected.next_kind
                or payload is None
                or any(payload.get(k) != v for k, v in expected.fields.items())
            ):
                fail(
                    seq,
                    kind,
                    "order",
                    f"entry {expected.seq} ({expected.kind}) must be immediately followed by "
                    f"{expected.what}",
                )
            facts.expected = None
        seen = self.seen
        if kind in ONCE and kind in seen:
            fail(seq, kind, "order", f"a second {kind} entry (there is one at most)")
        if kind == "trustee" and "ceremony" in seen:
            fail(seq, kind, "order", "a trustee registered after the ceremony started")
        if kind == "credentials" and kind in seen and self.previous != kind:
            fail(
                seq,
                kind,
                "order",
                "the credential list is published once, its parts in consecutive entries",
            )
        if kind in RIGHT_BEFORE:
            frm, to = RIGHT_BEFORE[kind]
            facts.expected = Expected(
                seq, kind, "state", {"from": frm, "to": to}, f"state({frm}→{to})"
            )
        seen.add(kind)
        self.before, self.previous = self.previous, kind

    def payload(self, entry: BoardEntry) -> None:
        fields = PAYLOAD_FIELDS.get(entry.kind)
        if fields is not None:
            expect_object(entry.payload, fields, f"{entry.kind} payload")

    def on_election(self, entry: BoardEntry) -> None:
        if entry.seq != 0:
            fail(entry.seq, entry.kind, "genesis", "the election entry must be entry 0")
        payload = entry.payload
        if payload["uuid"] != entry.election:
            fail(entry.seq, entry.kind, "genesis", "the genesis entry names another election")
        if not _UUID.match(entry.election):
            fail(
                entry.seq, entry.kind, "genesis", "the election is not a lowercase hyphenated UUID"
            )
        if type(payload["slug"]) is not str or type(payload["title"]) is not str:
            fail(entry.seq, entry.kind, "genesis", "slug and title are strings")
        board_key = payload["board_key"]
        if type(board_key) is not str or not _HEX64.match(board_key):
            fail(entry.seq, entry.kind, "genesis", "board_key is not 64 lowercase hex digits")
        self.facts.election = entry.election
        self.report.title = payload["title"]
        self._enter("draft")

    def on_state(self, entry: BoardEntry) -> None:
        state = self.facts.state
        frm, to, reason = entry.payload["from"], entry.payload["to"], entry.payload["reason"]
        if frm != state or (state, to) not in TRANSITIONS:
            fail(
                entry.seq, entry.kind, "state", f"transition {frm} → {to} not allowed from {state}"
            )
        if type(reason) is not str:
            fail(entry.seq, entry.kind, "state", "the reason is a string")
        before = RIGHT_AFTER.get(to)  # the entry this state change must follow at once
        if before is not None and self.before != before:
            if to != "ready" or "ceremony" in self.seen:  # ready: only after a ceremony
                fail(
                    entry.seq,
                    entry.kind,
                    "order",
                    f"state → {to} must come right after the {before} entry",
                )
        if to == "ready" and "ceremony" not in self.seen:
            if "trustee" in self.seen:
                fail(
                    entry.seq,
                    entry.kind,
                    "order",
                    "trustees registered on this board but the key comes without its ceremony",
                )
            if self.require_ceremony:
                fail(
                    entry.seq,
                    entry.kind,
                    "ceremony",
                    "the election key was installed without a key ceremony on this board: the "
                    "server could know it (--require-ceremony)",
                )
        self._enter(to)

    def _enter(self, state: str) -> None:
        self.facts.state = self.report.state = state
