"""Check 2 of §12.5, the state machine (§11.2–§11.4): the genesis entry first, every entry's kind
allowed in the current state, `state` entries following the transitions, exact payload fields."""

from __future__ import annotations

import re

from crypto.board import BoardEntry
from crypto.encoding import expect_object
from verifier.facts import Facts
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
    "open": {"manifest", "ballot", "audit", "state"},
    "closed": {"tally", "state"},
    "tallying": {"partial-decryption", "decryption-rejected", "result", "state"},
    "tallied": set(),
}
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
}


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


class StateMachine:
    __slots__ = ("facts", "report")

    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report

    def accept(self, seq: int, kind: str) -> None:
        """Entry ``seq`` of ``kind`` may come now (before its own checks)."""
        state = self.facts.state
        if state is None:
            if kind != "election":
                fail(seq, kind, "genesis", "the board does not start with an election entry")
        elif kind not in ALLOWED[state]:
            fail(seq, kind, "state", f"a {kind} entry is not allowed while the election is {state}")

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
        self.report.title = payload.get("title")
        self._enter("draft")

    def on_state(self, entry: BoardEntry) -> None:
        facts = self.facts
        state = facts.state
        to = entry.payload["to"]
        frm = entry.payload["from"]
        if frm != state or (state, to) not in TRANSITIONS:
            fail(
                entry.seq, entry.kind, "state", f"transition {frm} → {to} not allowed from {state}"
            )
        if to == "open" and facts.manifest is None:
            fail(entry.seq, entry.kind, "state", "opened without a manifest")
        if to == "tallying" and facts.tally is None:
            fail(entry.seq, entry.kind, "state", "tallying without an encrypted tally")
        if to == "tallied" and not facts.result:
            fail(entry.seq, entry.kind, "state", "tallied without a result")
        self._enter(to)

    def _enter(self, state: str) -> None:
        self.facts.state = self.report.state = state
