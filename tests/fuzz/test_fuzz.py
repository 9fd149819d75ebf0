"""Run each atheris harness (tests/fuzz/harnesses.py) for a bounded time in ``make test``.

Each harness runs in its own process (libFuzzer owns the process: it exits on a crash), from
the committed seed corpus, with a fixed seed, for at most ``SECONDS`` seconds or ``RUNS``
inputs, whichever comes first. The test fails when the fuzzer reports a crash (an exception
other than the documented ones, a broken invariant, or one input running over ``-timeout``);
the crashing input is in the test's temporary folder and the fuzzer's output is printed.
Longer runs: ``PNYX_FUZZ_SECONDS=600 pytest tests/fuzz``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import harnesses

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("PNYX_FUZZ_SECONDS", "4"))
RUNS = int(os.environ.get("PNYX_FUZZ_RUNS", "2000000"))
EXECUTED = re.compile(r"stat::number_of_executed_units: (\d+)")


@pytest.mark.parametrize("name", sorted(harnesses.HARNESSES))
def test_fuzz_harness_finds_no_crash(name: str, tmp_path: Path) -> None:
    new_inputs, artifacts = tmp_path / "corpus", tmp_path / "crashes"
    new_inputs.mkdir()
    artifacts.mkdir()
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.harnesses",
        name,
        "-seed=1",
        f"-runs={RUNS}",
        f"-max_total_time={SECONDS}",
        "-timeout=20",  # one input taking longer is a finding (e.g. quadratic parsing)
        "-rss_limit_mb=2048",
        "-max_len=16384",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        str(new_inputs),  # libFuzzer writes new inputs to the first folder only
        str(harnesses.CORPUS / name),
    ]
    result = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120, check=False
    )
    output = result.stdout + result.stderr
    crashes = sorted(p.name for p in artifacts.iterdir())
    assert result.returncode == 0 and not crashes, (
        f"fuzzer {name} found a crash (inputs in {artifacts}: {crashes}):\n{output[-6000:]}"
    )
    executed = EXECUTED.search(output)
    assert executed, output[-3000:]
    print(f"\nfuzz {name}: {int(executed.group(1))} inputs in ≤ {SECONDS} s")
    assert int(executed.group(1)) >= 100, "the harness barely ran"


def test_seed_corpus_is_valid() -> None:
    """The seeds are what the harnesses start from: the ballot verifies against the harness's
    election (so mutations start from a valid ballot), the board lines are canonical."""
    ballot = harnesses.Ballot.from_json(harnesses.parse_json(harnesses.SEED_BALLOT.read_bytes()))
    harnesses.ballot_verify(ballot, harnesses.SPEC)
    for line in (harnesses.CORPUS / "board_line").iterdir():
        assert harnesses.BoardEntry.from_canonical_line(line.read_bytes()).to_line()


def test_an_undocumented_error_escapes_the_harness(monkeypatch) -> None:
    """A decoder raising anything but its documented errors is not swallowed: the fuzzer would
    report it as a crash."""

    def broken(data):
        raise TypeError("not a documented error")

    monkeypatch.setattr(harnesses, "parse_json", broken)
    with pytest.raises(TypeError):
        harnesses.fuzz_json(b"[]")
    monkeypatch.setattr(harnesses.Point, "from_sec1", broken)
    with pytest.raises(TypeError):
        harnesses.fuzz_point_scalar(b"\x04")
