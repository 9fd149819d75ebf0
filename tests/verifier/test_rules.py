"""Boards pnyx-verify must reject, one explicit rule of docs/protocol.md each (issue 9 §2).

Every test builds a valid board, breaks exactly one rule, re-chains it where a forger would
(so that only the rule under test can catch it), and checks the failure names the entry and the
check. Each of these boards verified with the engine before issue 9.
"""

from __future__ import annotations

import json

import pytest

from crypto.board import BoardEntry
from tests.verifier.boardgen import full_election
from tests.verifier.test_verifier import index_of, rechain, run_cli, with_payload, write


@pytest.fixture(scope="module")
def election():
    return full_election(voters=4, revotes=(1,), audits=1, weights=lambda i: 1 + i % 2)


def failure_of(tmp_path, lines: list[bytes], name="board.jsonl") -> dict:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 1, f"not rejected: {report.get('summary')}"
    assert report["verified"] is False
    return report["failure"]


def lines_of(entries) -> list[bytes]:
    return [e.to_line() for e in entries]


def test_the_valid_board_verifies(election, tmp_path):
    code, out = run_cli(write(tmp_path, election.entries), "--json")
    assert code == 0, json.loads(out)["failure"]


# --- §11.1, §12.5 step 1: every line is exactly JCS(entry) ‖ "\n" ------------------------------


def _respell(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("state", b'{"election":', b'{ "election":'),  # whitespace
        ("state", b'"payload":{', b'"payload": {'),
        ("tally", b'"kind":"tally"', b'"kind":"t\\u0061lly"'),  # \u0061 for a
        ("manifest", b'"fingerprint":"', b'"fingerprint":\t"'),
        ("ballot", b'"kind":"ballot"', b'"kind":"b\\u0061llot"'),
    ],
)
def test_a_line_spelled_otherwise_is_rejected(election, tmp_path, kind, old, new):
    """The hash covers JCS(entry), so another spelling of the same entry keeps a valid hash:
    only the byte comparison of §11.1 catches it."""
    lines = lines_of(election.entries)
    i = index_of(election.entries, kind)
    lines[i] = _respell(lines[i], old, new)
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_unsorted_keys_are_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    i = index_of(election.entries, "result")
    entry = election.entries[i].to_json()
    reordered = {"version": entry.pop("version"), **entry}  # same members, "version" first
    lines[i] = json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_crlf_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    i = index_of(election.entries, "ceremony")
    lines[i] = lines[i][:-1] + b"\r\n"
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_a_missing_final_newline_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    lines[-1] = lines[-1][:-1]
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (len(lines) - 1, "canonical"), failure


def test_an_empty_line_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    lines.insert(3, b"\n")
    assert failure_of(tmp_path, lines)["check"] == "entry"


# --- §11.3: the genesis entry --------------------------------------------------------------------


@pytest.mark.parametrize("board_key", ["AB" * 32, "ab" * 31, "xy" * 32, 7, "ab" * 32 + "\n"])
def test_board_key_must_be_64_lowercase_hex(election, tmp_path, board_key):
    entries = with_payload(election.entries, 0, lambda p: p.update(board_key=board_key))
    failure = failure_of(tmp_path, lines_of(entries))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure


def test_genesis_title_must_be_a_string(election, tmp_path):
    entries = with_payload(election.entries, 0, lambda p: p.update(title=None))
    failure = failure_of(tmp_path, lines_of(entries))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure


def test_the_election_is_a_lowercase_uuid(election, tmp_path):
    upper = election.election.upper()
    entries = [
        BoardEntry(upper, e.seq, e.kind, e.time, e.prev, e.payload, e.hash)
        for e in election.entries
    ]
    entries[0] = BoardEntry(
        upper,
        0,
        "election",
        entries[0].time,
        entries[0].prev,
        {**entries[0].payload, "uuid": upper},
        "",
    )
    failure = failure_of(tmp_path, lines_of(rechain(entries)))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure
