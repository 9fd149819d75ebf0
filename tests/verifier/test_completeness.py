"""How far a board is verified (issue 9 §2, gap 13): a board that stops before its result verifies
"up to state X, no result yet" — said plainly, never with the words of a verified result — and
--require-result makes anything less than a verified result exit 1, in JSON too; a key installed
without a ceremony verifies with a warning, and --require-ceremony makes it exit 1."""

from __future__ import annotations

import json

import pytest

from tests.verifier.boardgen import full_election
from tests.verifier.test_rules import no_ceremony_board
from tests.verifier.test_verifier import run_cli, write


@pytest.fixture(scope="module")
def election():
    return full_election(voters=3, audits=1, bad_trustee=3)


def _last_state_cut(entries):
    """For each state, the board cut right after the entry that entered it."""
    cuts = {"draft": 1}
    for i, e in enumerate(entries):
        if e.kind == "state":
            cuts[e.payload["to"]] = i + 1
    return cuts


def test_a_complete_board_says_result_verified(election, tmp_path):
    path = write(tmp_path, election.entries)
    code, out = run_cli(path, "--json", "--require-result")
    report = json.loads(out)
    assert code == 0 and report["summary"] == "result verified" and report["complete"]
    assert report["required"] == ["result"]
    code, human = run_cli(path)
    assert code == 0 and human.rstrip().splitlines()[-1].startswith("RESULT VERIFIED")


@pytest.mark.parametrize("state", ["draft", "key_ceremony", "ready", "open", "closed", "tallying"])
def test_a_board_without_its_result_says_how_far_it_is_verified(election, tmp_path, state):
    cut = _last_state_cut(election.entries)[state]
    path = write(tmp_path, election.entries[:cut])
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 0, report["failure"]
    assert report["summary"] == f"verified up to state {state}, no result yet"
    assert report["verified"] and not report["complete"] and not report["result_verified"]
    code, human = run_cli(path)
    last = human.rstrip().splitlines()[-1]
    assert code == 0 and last.startswith(f"VERIFIED UP TO STATE {state}, NO RESULT YET")
    assert "RESULT VERIFIED" not in human and "every check passed" not in human

    code, out = run_cli(path, "--json", "--require-result")
    report = json.loads(out)
    assert code == 1 and not report["verified"] and not report["complete"]
    assert report["failure"]["check"] == "incomplete" and state in report["failure"]["reason"]
    assert report["summary"].startswith("verification failed")
    code, human = run_cli(path, "--require-result")
    assert code == 1 and "VERIFICATION FAILED" in human


def test_mid_tally_boards_are_incomplete_too(election, tmp_path):
    """The tally and some partial decryptions, no result: still 'no result yet'."""
    e = election.entries
    first = next(i for i, x in enumerate(e) if x.kind == "partial-decryption")
    code, out = run_cli(write(tmp_path, e[: first + 1]), "--json")
    report = json.loads(out)
    assert code == 0 and report["tally_verified"] and not report["result_verified"]
    assert report["summary"] == "verified up to state tallying, no result yet"


def test_require_ceremony(tmp_path):
    board = no_ceremony_board()
    path = write(tmp_path, board.entries)
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 0 and report["key_from_ceremony"] is False and report["warnings"]
    code, out = run_cli(path, "--json", "--require-ceremony")
    failure = json.loads(out)["failure"]
    ready = next(
        i for i, e in enumerate(board.entries) if e.kind == "state" and e.payload["to"] == "ready"
    )
    assert code == 1 and failure["check"] == "ceremony" and failure["seq"] == ready


def test_require_ceremony_accepts_a_ceremony_board(election, tmp_path):
    code, out = run_cli(write(tmp_path, election.entries), "--json", "--require-ceremony")
    report = json.loads(out)
    assert code == 0 and report["key_from_ceremony"] is True and report["warnings"] == []
    assert report["required"] == ["ceremony"]
