"""Valid boards verify whatever their size: every alignment of the tally, the result and the
`since` head against the verifier's chunks of lines (CHUNK_LINES) and proof batches
(BALLOTS_PER_BATCH), with one process and with two.

Regression: a board whose `tally` entry fell in the last lines of a 256-line chunk was rejected
("entry 275 (result): sequence: expected entry 272 here"): the tally check drained the pending
chunks re-entrantly, in the middle of the chunk it was called from.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crypto.manifest
from tests.verifier.boardgen import SINGLE5, BoardBuilder
from tests.verifier.boards import OpenElection, write_lines
from verifier import ballots, engine
from verifier.engine import verify_board
from verifier.source import BoardSource

SIZES = range(240, 271)


@pytest.fixture(scope="module")
def election() -> OpenElection:
    return OpenElection(max(SIZES) + 1)


@pytest.fixture(scope="module")
def mixed() -> OpenElection:
    """Few voters, revotes and audits, for the sweeps with small chunks."""
    return OpenElection(24, revoters=8, audits=3, seed=5)


def verify(path, *, jobs: int, since: str | None = None):
    source = BoardSource(str(path))
    try:
        report, _ = verify_board(source, jobs=jobs, since=since)
    finally:
        source.close()
    return report


def check_full(report, b: BoardBuilder, expected) -> None:
    assert report.failure is None, str(report.failure)
    assert report.tally_verified and report.result_verified
    assert report.state == "tallied"
    assert report.head_seq == b.entries[-1].seq and report.head_hash == b.entries[-1].hash
    counts = [list(q["counts"].values()) for q in report.result["questions"]]
    assert counts == expected == b.counts


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_size_around_a_chunk_boundary_verifies(election, tmp_path, jobs):
    """240 … 270 ballots: the tally, its state change, the partial decryptions and the result
    fall on every line of the end of the first 256-line chunk and the start of the next."""
    for n in SIZES:
        b, expected = election.board(election.events(n))
        report = verify(write_lines(tmp_path / f"b{n}.jsonl", b.lines()), jobs=jobs)
        check_full(report, b, expected)
        assert report.ballots == report.ballots_verified == report.counted == n


@pytest.mark.parametrize("jobs", [1, 2])
def test_since_at_every_head_near_the_tally(election, tmp_path, jobs):
    """An incremental run from any earlier head gives the full run's verdict and result; it
    re-checks the proofs of exactly the ballots after that head. Boards whose tally is the last
    line of a chunk, the first of the next, and one in the middle."""
    for n in (250, 253, 254):
        b, expected = election.board(election.events(n))
        path = write_lines(tmp_path / f"s{n}.jsonl", b.lines())
        ballot_seqs = [e.seq for e in b.entries if e.kind == "ballot"]
        tally = next(e.seq for e in b.entries if e.kind == "tally")
        for head in range(tally - 6, len(b.entries)):
            report = verify(path, jobs=jobs, since=b.entries[head].hash)
            check_full(report, b, expected)
            assert report.ballots_verified == sum(1 for s in ballot_seqs if s > head), head


def _small_chunks(monkeypatch, lines: int, batch: int) -> None:
    monkeypatch.setattr(engine, "CHUNK_LINES", lines)
    monkeypatch.setattr(ballots, "BALLOTS_PER_BATCH", batch)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize(("lines", "batch"), [(1, 1), (2, 1), (3, 2), (5, 2), (8, 3)])
def test_small_chunks_every_size_and_head(mixed, tmp_path, monkeypatch, jobs, lines, batch):
    """With chunks of a few lines every alignment of every entry kind occurs on small boards:
    every size from 0 to 12 ballots, with revotes and audits, and `since` at every head."""
    _small_chunks(monkeypatch, lines, batch)
    rng = random.Random(lines * 10 + batch)
    for n in range(0, 13):
        events = mixed.events(n, revotes=min(n, 3), audits=n % 3, shuffle=rng)
        b, expected = mixed.board(events)
        path = write_lines(tmp_path / f"m{n}.jsonl", b.lines())
        check_full(verify(path, jobs=jobs), b, expected)
        head = rng.randrange(len(b.entries))
        check_full(verify(path, jobs=jobs, since=b.entries[head].hash), b, expected)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_boards_verify(mixed, tmp_path, monkeypatch, data):
    """Random sizes, revotes, audits, orders, chunk and batch sizes, jobs and `since` heads."""
    lines = data.draw(st.integers(1, 12), label="CHUNK_LINES")
    batch = data.draw(st.integers(1, 5), label="BALLOTS_PER_BATCH")
    _small_chunks(monkeypatch, lines, batch)
    n = data.draw(st.integers(0, len(mixed.first)), label="ballots")
    revotes = data.draw(st.integers(0, min(n, len(mixed.second))), label="revotes")
    audits = data.draw(st.integers(0, len(mixed.audited)), label="audits")
    order = data.draw(st.randoms(use_true_random=False), label="order")
    jobs = data.draw(st.sampled_from([1, 2]), label="jobs")
    b, expected = mixed.board(mixed.events(n, revotes=revotes, audits=audits, shuffle=order))
    path = write_lines(tmp_path / "h.jsonl", b.lines())
    head = data.draw(st.none() | st.integers(0, len(b.entries) - 1), label="since")
    since = None if head is None else b.entries[head].hash
    check_full(verify(path, jobs=jobs, since=since), b, expected)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(200, 600), jobs=st.sampled_from([1, 2]))
def test_random_sizes_with_the_real_chunks(n, jobs, tmp_path_factory):
    """Random sizes with the real CHUNK_LINES and BALLOTS_PER_BATCH."""
    election = _real_sizes()
    b, expected = election.board(election.events(n))
    path = write_lines(tmp_path_factory.mktemp("real") / "r.jsonl", b.lines())
    check_full(verify(path, jobs=jobs), b, expected)


_REAL: list[OpenElection] = []


def _real_sizes() -> OpenElection:
    if not _REAL:
        _REAL.append(OpenElection(600, seed=9))
    return _REAL[0]


@pytest.mark.parametrize("count", [9_999, 10_000, 10_001, 20_001])
def test_credential_parts_of_ten_thousand(tmp_path, count):
    """Credential lists of one part, exactly one full part, and two and three parts."""
    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(count)
    parts = [e for e in b.entries if e.kind == "credentials"]
    assert len(parts) == -(-count // crypto.manifest.CREDENTIALS_PER_ENTRY)
    b.open()
    b.cast(count - 1, [[0, 0, 1, 0, 0]])
    b.cast(0, [[1, 0, 0, 0, 0]])
    b.close_and_tally()
    b.decrypt((1, 2))
    report = verify(write_lines(tmp_path / "c.jsonl", b.lines()), jobs=1)
    assert report.failure is None, str(report.failure)
    assert report.credentials == count and report.result_verified
