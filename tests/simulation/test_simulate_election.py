"""``manage.py simulate_election`` end to end (PostgreSQL, Redis, a real Celery worker) and the
observers' verifier on the boards it produces:

* a simulated election (every question kind, weights, revotes, audits, a trustee who never
  decrypts) publishes the plaintext totals of the voters' choices; pnyx-verify verifies its board
  and its --json report reproduces those totals and the audited plaintexts exactly;
* the same board tampered (a changed count, a wrong partial decryption, a dropped ballot) exits 1
  naming the entry and the check;
* ``--since`` on the growing board (after opening, after some ballots, after the result) gives the
  verdict of a full run;
* ``pnyx-verify --follow`` on a live server while the voters cast (their requests over HTTP to
  that server, ``--url``) verifies entries as they arrive and exits 0 once the result is
  published;
* the command's own checks: bad options exit 2 with a clear message.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from board.selectors import board_lines
from crypto.board import BoardEntry
from crypto.group import Scalar, base_mul
from operations.simulation import Simulation, SimulationOptions
from tests.verifier.test_verifier import rechain
from verifier.cli import main as verify_main
from voting.models import Election

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = "referendum:blank,single:4,approval:5:1-3,budget:4:cap=100:costs=60/25/15/40"


def run_verify(path: Path, *extra: str) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = verify_main([str(path), "--json", "--no-progress", "--jobs", "1", *extra])
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def export(election_id: str, path: Path) -> Path:
    election = Election.objects.get(pk=election_id)
    path.write_bytes(
        b"".join(line.encode() + b"\n" for line in board_lines(election_id=election.pk))
    )
    return path


def totals_from_report(report: dict) -> list[list[int]]:
    return [list(q["counts"].values()) for q in report["result"]["questions"]]


# --- A whole election ---------------------------------------------------------------------------


@pytest.fixture
def simulated(tmp_path, celery_worker_real):
    """30 voters with weights 1–5, revotes, audits; 3 trustees, t = 2, one never decrypts."""
    options = SimulationOptions(
        voters=30,
        trustees=3,
        threshold=2,
        questions=QUESTIONS,
        revote_rate=0.3,
        audit_rate=0.15,
        offline_trustees=1,
        weights="1-5",
        seed=20261125,
        out=str(tmp_path / "board.jsonl"),
        worker="existing",
        timeout=120,
    )
    simulation = Simulation(options)
    return simulation, simulation.run()


def test_simulated_election_matches_and_verifies(simulated, tmp_path) -> None:
    simulation, result = simulated
    # the plan really exercised what it claims
    assert result.voted == 30 and result.ballots_cast > 30 and result.audits >= 1
    assert len(result.trustees_decrypting) == 2
    assert result.weight > 30  # weights other than 1
    assert result.matches, (result.expected, result.published)
    assert result.published["counts"] == result.expected
    assert result.published["funded"][3] == result.expected_funded[3] is not None

    code, report = run_verify(Path(result.board_path))
    assert code == 0, report["failure"]
    assert report["state"] == "tallied" and report["result_verified"]
    assert totals_from_report(report) == result.expected
    assert (report["counted"], report["counted_weight"]) == (result.voted, result.weight)
    assert report["superseded"] == result.ballots_cast - result.voted
    assert [a["plaintexts"] for a in report["audits"]] == simulation.audited
    assert report["decryptions_valid"] == result.trustees_decrypting
    funded = report["result"]["questions"][3]["funded"]
    titles = {o["id"]: o["title"] for o in simulation.manifest.data["questions"][3]["options"]}
    assert funded == [titles[i] for i in result.expected_funded[3]]


def _entries(path: Path) -> list[BoardEntry]:
    return [BoardEntry.from_line(line) for line in path.read_bytes().splitlines()]


def _write(path: Path, entries: list[BoardEntry]) -> Path:
    path.write_bytes(b"".join(e.to_line() for e in entries))
    return path


def _mutated(entries, kind: str, mutate) -> tuple[list[BoardEntry], int]:
    i = next(i for i, e in enumerate(entries) if e.kind == kind)
    e = entries[i]
    payload = json.loads(json.dumps(e.payload))
    mutate(payload)
    entries = list(entries)
    entries[i] = BoardEntry(e.election, e.seq, e.kind, e.time, e.prev, payload, e.hash)
    return rechain(entries, i), e.seq


def test_tampered_simulated_boards_are_rejected(simulated, tmp_path) -> None:
    _, result = simulated
    entries = _entries(Path(result.board_path))

    def count(p):
        p["counts"][1][0] += 1

    def wrong_partial(p):
        p["decryption"]["shares"][0] = base_mul(Scalar.random()).to_hex()

    cases = {
        "changed count": (*_mutated(entries, "result", count), "result"),
        "wrong partial decryption": (
            *_mutated(entries, "partial-decryption", wrong_partial),
            "signature",  # altered: no longer what its trustee signed (§12.4)
        ),
    }
    dropped = next(i for i, e in enumerate(entries) if e.kind == "ballot")
    cases["dropped ballot"] = (
        rechain(entries[:dropped] + entries[dropped + 1 :], dropped),
        entries[dropped].seq,
        "tally",  # the published tally no longer matches the ballots on the board
    )
    for name, (tampered, seq, check) in cases.items():
        path = _write(tmp_path / f"{name.replace(' ', '-')}.jsonl", tampered)
        code, report = run_verify(path)
        failure = report["failure"]
        assert code == 1, f"{name}: not detected"
        assert failure is not None and failure["seq"] is not None, (name, failure)
        assert check == failure["check"] or check in failure["reason"], (name, failure)
        assert failure["seq"] >= seq, (name, failure)
        human = io.StringIO()
        with contextlib.redirect_stdout(human):
            assert verify_main([str(path), "--no-progress", "--jobs", "1"]) == 1
        assert (
            f"entry {failure['seq']}" in human.getvalue() and failure["check"] in human.getvalue()
        )


# --- A growing board: --since --------------------------------------------------------------------


def test_since_on_a_growing_board_gives_the_full_verdict(tmp_path, celery_worker_real) -> None:
    snapshots: list[Path] = []
    state: dict = {}

    def hook(event: str, **details) -> None:
        if event == "opened" or (event == "cast" and details["ballots"] == 8):
            snapshots.append(export(state["id"], tmp_path / f"board-{len(snapshots)}.jsonl"))

    options = SimulationOptions(
        voters=14,
        questions="single:3,approval:4:0-2",
        revote_rate=0.2,
        audit_rate=0.1,
        weights="1-3",
        seed=7,
        worker="existing",
        timeout=120,
    )
    simulation = Simulation(options, hook=hook)
    original = simulation._create_election

    def create():
        election = original()
        state["id"] = str(election.pk)
        return election

    simulation._create_election = create
    result = simulation.run()
    assert result.matches
    snapshots.append(export(state["id"], tmp_path / "board-final.jsonl"))
    assert len(snapshots) == 3

    head, previous = None, None
    for path in snapshots:
        full_code, full = run_verify(path)
        assert full_code == 0, full["failure"]
        if head is not None:
            code, incremental = run_verify(path, "--since", head)
            assert code == full_code == 0, incremental["failure"]
            for key in ("state", "head", "counted", "superseded", "counted_weight", "result"):
                assert incremental[key] == full[key], key
            # proofs re-checked only for what was appended after the earlier head
            assert incremental["ballots_verified"] == (
                full["ballots_verified"] - previous["ballots_verified"]
            )
        head, previous = full["head"]["hash"], full
    assert totals_from_report(full) == result.expected


# --- --follow on a live server ------------------------------------------------------------------


def test_follow_a_live_board_until_the_result(tmp_path, live_server, celery_worker_real) -> None:
    follower: dict = {}

    def hook(event: str, **details) -> None:
        if event == "opened":
            url = f"{live_server.url}/api/elections/{simulation.election.pk}/board.jsonl"
            follower["out"] = open(tmp_path / "follow.out", "wb")  # noqa: SIM115
            follower["proc"] = subprocess.Popen(
                [
                    *(sys.executable, "-m", "verifier", url, "--follow"),
                    *("--interval", "0.2", "--jobs", "1", "--no-progress"),
                ],
                cwd=ROOT,
                stdout=follower["out"],
                stderr=subprocess.STDOUT,
            )
            time.sleep(1.5)  # the first verification of the opened board
        elif event == "cast":
            time.sleep(0.3)  # let polls see the board grow ballot by ballot

    options = SimulationOptions(
        voters=8,
        questions="referendum,single:3",
        revote_rate=0.25,
        audit_rate=0.0,
        seed=11,
        url=live_server.url,
        worker="existing",
        timeout=120,
    )
    simulation = Simulation(options, hook=hook)
    try:
        result = simulation.run()
        assert result.matches
        code = follower["proc"].wait(timeout=60)
    finally:
        if follower.get("proc") is not None and follower["proc"].poll() is None:
            follower["proc"].kill()
            follower["proc"].wait()
        if follower.get("out"):
            follower["out"].close()
    output = (tmp_path / "follow.out").read_text()
    assert code == 0, output
    updates = [line for line in output.splitlines() if "new entries verified" in line]
    assert len(updates) >= 3, output  # entries verified as they arrived, not all at the end
    assert "state tallied" in updates[-1], output


# --- The command ----------------------------------------------------------------------------


def test_the_command_prints_expected_and_published_totals(tmp_path, celery_worker_real) -> None:
    out = io.StringIO()
    board = tmp_path / "cmd.jsonl"
    call_command(
        "simulate_election",
        "--voters=5",
        "--questions=single:3,budget:3:cap=50",
        "--offline-trustees=1",
        "--seed=3",
        f"--out={board}",
        "--verify",
        "--worker=existing",
        "--json",
        stdout=out,
    )
    outcome = json.loads(out.getvalue())
    assert outcome["matches"] and outcome["verify_exit"] == 0
    assert outcome["published"]["counts"] == outcome["expected"]["counts"]
    assert totals_from_report(outcome["verify_report"]) == outcome["expected"]["counts"]
    assert board.is_file()


@pytest.mark.skipif(
    bool(os.environ.get("PYTEST_XDIST_WORKER")),
    reason="under pytest-xdist the test broker keys are prefixed; a plain worker would not see them",
)
def test_the_command_starts_and_stops_its_own_worker(tmp_path) -> None:
    """``--worker start``: a ``celery -A config worker -Q celery,tally`` subprocess runs the login
    e-mails and the tally, and is gone afterwards."""
    simulation = Simulation(
        SimulationOptions(
            voters=4, questions="single:3", offline_trustees=1, seed=5, worker="start", timeout=120
        )
    )
    result = simulation.run()
    assert result.matches and result.voted == 4
    assert simulation.worker_pid
    with pytest.raises(ProcessLookupError):
        os.kill(simulation.worker_pid, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trustees=3", "--threshold=2", "--offline-trustees=2"], "--offline-trustees"),
        (["--threshold=4"], "--threshold"),
        (["--questions=ranked:3"], "cannot read 'ranked:3'"),
        (["--questions=budget:3"], "a budget needs cap=B"),
        (["--questions=approval:3:2-5"], "selections must satisfy"),
        (["--weights=0-3"], "--weights"),
    ],
)
def test_bad_options_are_refused_clearly(args, message) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        call_command("simulate_election", *args, "--worker=existing")
    assert caught.value.returncode == 2
