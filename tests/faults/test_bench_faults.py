"""bench/faults.py in its small mode (8 clients, 20 s of faults): gunicorn workers killed every
3 s, Redis restarted during logins, PostgreSQL cut during casting, Redis restarted during the
tally — nothing acknowledged is lost or duplicated, every fault heals without a human, and the
board verifies. The run at ≥ 64 clients and its numbers are in docs/faults.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from bench.cast import drop_database

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


def bench_database_url() -> str:
    """A database of this run's own next to the suite's (the bench drops and re-creates it)."""
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/pnyx"
    parts = urllib.parse.urlsplit(url)
    name = f"{parts.path.lstrip('/')}_faultbench_{os.getpid()}"
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def test_the_small_fault_injection_run_loses_nothing_and_heals() -> None:
    url = bench_database_url()
    if not url.startswith("postgres"):
        pytest.skip("bench/faults.py needs PostgreSQL")
    env = {**os.environ, "PNYX_FAULTS_DATABASE_URL": url}
    try:
        done = subprocess.run(  # noqa: S603 - our own bench
            [sys.executable, "bench/faults.py", "--small", "--drop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        drop_database(url)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    print(json.dumps(result, indent=1))

    assert result["acknowledged"] > 100
    assert (result["lost"], result["duplicated"]) == (0, 0)
    assert result["on_board"] == result["acknowledged"] + result["on_board_not_acknowledged"]
    assert result["verified"] is True
    assert result["server_tracebacks"] == 0
    # the faults were felt by the clients …
    assert result["cast_5xx"] + result["cast_no_answer"] > 0
    faults = result["faults"]
    killed = faults["gunicorn_worker_killed"]
    assert killed["count"] >= 4 and killed["never_healed"] == 0
    redis = faults["redis_restart_login"]
    assert redis["logins_refused_503"] >= 1
    assert redis["worst_login_latency_down_s"] < 2.0
    cut = faults["postgres_cut"]
    assert cut["casts_refused_5xx"] >= 1
    assert cut["log_lines_database_unavailable"] >= cut["casts_refused_5xx"]
    tally = faults["redis_restart_tally"]
    assert tally["queued_chunks_lost"] >= 1 and tally["auto_resumes"] >= 1
    # … and each healed by itself
    for kind in ("redis_restart_login", "postgres_cut", "redis_restart_tally"):
        assert faults[kind]["heal_s"] is not None, kind
    assert killed["heal_s_max"] is not None
    assert tally["result_s"] is not None
