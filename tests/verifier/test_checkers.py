"""Each checker of the verifier on its own, fed the facts an earlier checker would have set
(verifier/facts.py is all they share)."""

from __future__ import annotations

import pytest

from crypto.board import GENESIS_PREV, BoardEntry
from verifier.chain import Chain, read_line
from verifier.completeness import Completeness
from verifier.facts import Expected, Facts
from verifier.report import Report, VerificationFailed
from verifier.states import StateMachine

ELECTION = "3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11"
T0 = "2026-11-25T10:00:00.000Z"


def failure(call, *args, **kwargs):
    with pytest.raises(VerificationFailed) as caught:
        call(*args, **kwargs)
    return caught.value.finding


def entry(seq: int, kind: str, payload: dict, prev: str = GENESIS_PREV) -> BoardEntry:
    return BoardEntry.create(
        election=ELECTION, seq=seq, kind=kind, time=T0, prev=prev, payload=payload
    )


def test_chain_links_entries_in_order():
    chain = Chain(Report(source="-"))
    chain.check(0, "election", GENESIS_PREV, T0, ELECTION)
    chain.advance(0, "election", "a" * 64, T0)
    assert failure(chain.check, 2, "state", "a" * 64, T0, ELECTION).check == "sequence"
    assert failure(chain.check, 1, "state", "b" * 64, T0, ELECTION).check == "chain"
    assert (
        failure(chain.check, 1, "state", "a" * 64, "2000-01-01T00:00:00.000Z", ELECTION).check
        == "time"
    )
    other = "00000000-0000-4000-8000-000000000000"
    assert failure(chain.check, 1, "state", "a" * 64, T0, other).check == "chain"
    chain.check(1, "state", "a" * 64, T0, ELECTION)
    chain.advance(1, "state", "c" * 64, T0)
    assert (chain.seq, chain.report.head_seq, chain.report.entries) == (2, 1, 2)


def test_read_line_accepts_only_the_canonical_line():
    line = entry(
        0, "election", {"uuid": ELECTION, "slug": "s", "title": "t", "board_key": "ab" * 32}
    ).to_line()
    assert read_line(line).kind == "election"
    assert failure(read_line, line[:-1]).check == "canonical"
    assert failure(read_line, line[:-1] + b"\r\n").check == "canonical"
    assert failure(read_line, line.replace(b'"slug":"s"', b'"slug":"\\u0073"')).check == "canonical"
    assert failure(read_line, line.replace(b'"title":"t"', b'"title":"T"')).check == "chain"
    assert failure(read_line, b"{\n").check == "entry"


def test_state_machine_qualifiers():
    facts, report = Facts(), Report(source="-")
    states = StateMachine(facts, report)
    assert failure(states.accept, 0, "state", {}).check == "genesis"
    states.accept(0, "election", {})
    states.on_election(
        entry(0, "election", {"uuid": ELECTION, "slug": "s", "title": "t", "board_key": "ab" * 32})
    )
    assert facts.state == "draft"
    assert failure(states.accept, 1, "manifest", {}).check == "state"  # not in draft
    states.accept(1, "credentials", {})
    states.accept(2, "state", {})
    assert failure(states.accept, 3, "credentials", {}).check == "order"  # not consecutive
    facts.expected = Expected(7, "manifest", "state", {"to": "open"}, "state(ready→open)")
    assert failure(states.accept, 8, "credentials", {}).check == "order"
    states.accept(8, "state", {"from": "ready", "to": "open", "reason": ""})
    assert facts.expected is None


def test_require_ceremony_and_registrations_without_ceremony():
    def ready(states, seq):
        states.accept(seq, "state", {"from": "key_ceremony", "to": "ready", "reason": ""})
        states.on_state(entry(seq, "state", {"from": "key_ceremony", "to": "ready", "reason": ""}))

    facts = Facts(state="key_ceremony")
    ready(StateMachine(facts, Report(source="-")), 3)  # no ceremony, no registration: allowed
    facts = Facts(state="key_ceremony")
    strict = StateMachine(facts, Report(source="-"), require_ceremony=True)
    assert failure(ready, strict, 3).check == "ceremony"
    facts = Facts(state="key_ceremony")
    registered = StateMachine(facts, Report(source="-"))
    registered.accept(2, "trustee", {})
    assert failure(ready, registered, 3).check == "order"


def test_completeness():
    report = Report(source="-", entries=5)
    Completeness(Facts(state="open"), report).finish(since=None, since_seen=True)
    finding = failure(
        Completeness(Facts(state="open"), report, require_result=True).finish,
        since=None,
        since_seen=True,
    )
    assert finding.check == "incomplete" and "open" in finding.reason
    facts = Facts(state="tallying", expected=Expected(9, "partial-decryption", "x", {}, "y"))
    assert failure(Completeness(facts, report).finish, since=None, since_seen=True).seq == 9
    assert (
        failure(Completeness(Facts(), report).finish, since="a" * 64, since_seen=False).check
        == "since"
    )
    assert (
        failure(Completeness(Facts(), Report(source="-")).finish, since=None, since_seen=True).check
        == "board"
    )
