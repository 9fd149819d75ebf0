"""Faults during a tally, healed without a human: real ``celery`` processes for the server (with
Celery beat, i.e. the sweeper, inside one of them) and for a worker trustee, a private Redis the
test kills and restarts (tests/tally/faults.py), PostgreSQL. Nobody presses *Resume*.

* the server's worker instance killed (SIGKILL, the whole worker) in the middle of an aggregation
  chunk — the chunk it held is not delivered again (visibility timeout: an hour);
* a trustee's worker killed between its decryption and its answer, then started again;
* Redis restarted (no persistence) in the middle of the aggregation: queued chunks lost;
* Redis restarted while a decryption request waits for a stopped trustee worker.

Each test asserts what the officials see meanwhile (``GET …/tally/``: ``stalled``, since when,
the automatic attempts, whom it waits for) and prints the time the fault took to heal
(``HEAL …``; run with ``-s`` to read it). The sweeper runs every second and calls a run that has
not moved for 3 s stalled (``PNYX_SWEEP_SECONDS``, ``PNYX_STALL_SECONDS``).
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from board.models import BoardEntry
from tally.models import TallyChunk, TallyRun, Trustee, TrusteeMode
from tests.tally.faults import (
    STALL_SECONDS,
    SWEEP_SECONDS,
    fault_env,
    private_broker,
    server_worker,
)
from tests.tally.helpers import (
    add_voters_and_open,
    expected_counts,
    pnyx_verify,
    run_offline_ceremony,
    setup_ceremony,
    trustee_worker,
    wait_for,
)
from tests.voting.factories import SINGLE5
from voting.models import AuditEvent, Election
from voting.services.elections import election_close

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

CHOICES = [[[1 if i == v % 5 else 0 for i in range(5)]] for v in range(8)]


@pytest.fixture(autouse=True)
def _sweeper_settings(settings):
    """What the officials' pages compute with: the sweeper's settings of the workers."""
    settings.PNYX_STALL_SECONDS = STALL_SECONDS
    settings.PNYX_SWEEP_SECONDS = SWEEP_SECONDS


def state_of(election) -> str:
    return Election.objects.get(pk=election.pk).state


def kinds(election) -> list[str]:
    return list(
        BoardEntry.objects.filter(election=election).order_by("seq").values_list("kind", flat=True)
    )


def tally_api(election) -> dict:
    return Client().get(f"/api/elections/{election.pk}/tally/").json()


class Watch:
    """What the officials see, polled while the test waits (``GET …/tally/``)."""

    def __init__(self, election) -> None:
        self.election = election
        self.seen: list[dict] = []

    def until(self, predicate, *, timeout: float, what: str) -> None:
        def check() -> bool:
            self.seen.append(tally_api(self.election))
            return predicate()

        wait_for(check, timeout=timeout, what=what)

    def stalls(self) -> list[dict]:
        return [s["stall"] for s in self.seen if s["status"] == "stalled"]


def ready_election(tmp_path, *, voters: int, worker: tuple[int, ...] = ()):
    """A 2-of-3 election (key ceremony played offline), trustees ``worker`` then in worker mode,
    ``voters`` ballots, still open."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    Trustee.objects.filter(ceremony__election=ce.election, index__in=worker).update(
        mode=TrusteeMode.WORKER
    )
    add_voters_and_open(ce, [1] * voters)
    last = {}
    for v in range(voters):
        ce.cast(Client(), v, CHOICES[v])
        last[v] = (1, CHOICES[v])
    return ce, last


def report(fault: str, seconds: float) -> None:
    print(f"\nHEAL {fault}: {seconds:.1f} s without a human")


def finish_with_offline_trustees(ce, tmp_path, last, indices=(1, 3)) -> None:
    for index in indices:
        response = ce.trustees[index - 1].send(Client(), "decrypt", tmp_path)
        assert response.status_code == 202, response.content
    wait_for(lambda: state_of(ce.election) == "tallied", what="the result", timeout=30)
    result = json.loads(BoardEntry.objects.get(election=ce.election, kind="result").line)
    assert result["payload"]["counts"] == expected_counts(ce.refresh().manifest, last)


def test_the_server_worker_killed_mid_aggregation_heals_without_a_human(
    tmp_path, admin_client
) -> None:
    """Two server worker instances; chunks of 2 ballots that take 1 s each; the instance that
    holds a chunk is killed (SIGKILL to the whole worker). Its chunk is not delivered again (the
    visibility timeout is an hour), so the tally stops moving; the sweeper (beat, in the other
    instance) finds it stalled, plans again and sends only the missing chunk."""
    ce, last = ready_election(tmp_path, voters=6)
    election = ce.election
    slow = {"PNYX_TALLY_CHUNK_BALLOTS": "2", "PNYX_TEST_CHUNK_DELAY": "1"}
    with private_broker(tmp_path / "redis") as broker:
        doomed = server_worker(tmp_path, broker, "doomed", beat=False, **slow)
        survivor = server_worker(tmp_path, broker, "survivor", beat=True, **slow)
        try:
            doomed.wait_ready()
            survivor.wait_ready()
            election_close(election=election, acting_user=None)
            held = lambda: TallyChunk.objects.filter(  # noqa: E731
                run__election=election, worker__startswith="doomed", done=False
            ).first()
            wait_for(lambda: held() is not None, what="a chunk held by the doomed worker")
            chunk = held()
            doomed.kill()
            killed_at = time.monotonic()
            watch = Watch(election)
            watch.until(
                lambda: state_of(election) == "tallying", timeout=30, what="the encrypted tally"
            )
            healed = time.monotonic() - killed_at
            finish_with_offline_trustees(ce, tmp_path, last)
        finally:
            doomed.stop()
            survivor.stop()
    report("server worker killed mid-aggregation (kill → tally published)", healed)
    chunk.refresh_from_db()
    assert chunk.done and chunk.attempts == 2 and chunk.worker.startswith("survivor")
    run = TallyRun.objects.get(election=election)
    assert (run.chunks_done, run.chunks_total, run.ballots_aggregated) == (3, 3, 6)
    # the officials saw a stall being resumed, without anyone pressing a button
    stalls = watch.stalls()
    assert stalls, "the stall never showed"
    assert any("resuming automatically (attempt 1," in s["message"] for s in stalls)
    assert all(s["resuming"] and not s["waiting_for"] for s in stalls)
    (event,) = AuditEvent.objects.filter(election=election, action="tally:auto-resume")
    assert event.details["step"] == "aggregate" and event.actor is None
    assert not AuditEvent.objects.filter(election=election, action="tally:resume").exists()
    status = tally_api(election)
    assert status["status"] == "done" and status["stall"] is None
    page = admin_client.get(f"/admin/tally/tallyrun/{run.pk}/change/").content.decode()
    assert 'id="tally-stall"' not in page
    assert kinds(election).count("tally") == 1 and kinds(election).count("result") == 1
    assert pnyx_verify(election, tmp_path) == 0


def test_a_trustee_worker_killed_mid_step_heals_once_it_is_started_again(
    tmp_path, live_server, admin_client
) -> None:
    """Trustee 2's worker makes its decryption (recorded in its key store) and is killed before
    it answers. The tally waits; the officials see for whom. The sweeper asks trustee 2 again
    (its queue is empty: the request it had taken died with it); its worker, started again,
    answers with the same signed message (a trustee decrypts once) and the result comes out."""
    ce, last = ready_election(tmp_path, voters=4, worker=(2,))
    election = ce.election
    pause = tmp_path / "paused"
    with private_broker(tmp_path / "redis") as broker:
        server = server_worker(tmp_path, broker, "server", beat=True)
        env = fault_env(broker, PNYX_TEST_TRUSTEE_PAUSE=str(pause))
        start = dict(board=live_server.url, env=env, app="tests.tally.worker_app")
        passphrase = tmp_path / "passphrase"
        first = trustee_worker(
            ce.trustees[1:2], tmp_path / "trustee-a.log", passphrase, wait=False, **start
        )
        second = None
        try:
            server.wait_ready()
            first.wait_ready()
            election_close(election=election, acting_user=None)
            wait_for(lambda: state_of(election) == "tallying", what="the encrypted tally")
            response = ce.trustees[0].send(Client(), "decrypt", tmp_path)
            assert response.status_code == 202
            wait_for(
                lambda: "PNYX-TEST: step done, answer not sent" in first.output(),
                what="trustee 2's decryption",
            )
            recorded = ce.trustees[1].store().secrets["decryption"]["envelope"]
            first.kill()
            killed_at = time.monotonic()
            # the officials see the tally stalled, waiting for trustees 2 and 3, and the sweeper
            # asking trustee 2 again
            watch = Watch(election)
            watch.until(
                lambda: any(
                    "asked again automatically (attempt 1," in s["message"] for s in watch.stalls()
                ),
                timeout=20,
                what="the stall shown to the officials",
            )
            stall = watch.stalls()[-1]
            assert not stall["resuming"]
            assert [(w["index"], w["mode"]) for w in stall["waiting_for"]] == [
                (2, "worker"),
                (3, "offline"),
            ]
            assert "is its worker running" in stall["waiting_for"][0]["reason"]
            run = TallyRun.objects.get(election=election)
            page = admin_client.get(f"/admin/tally/tallyrun/{run.pk}/change/").content.decode()
            assert "waiting for trustees 2. Trustee 2 (worker: asked 2 times" in page
            restarted_at = time.monotonic()
            second = trustee_worker(
                ce.trustees[1:2], tmp_path / "trustee-b.log", passphrase, **start
            )
            wait_for(lambda: state_of(election) == "tallied", what="the result", timeout=30)
            done_at = time.monotonic()
        finally:
            for worker in (first, second, server):
                if worker is not None:
                    worker.stop()
    report("trustee worker killed mid-step (worker started again → result)", done_at - restarted_at)
    report(
        "trustee worker killed mid-step (kill → result, restart after the stall)",
        done_at - killed_at,
    )
    result = json.loads(BoardEntry.objects.get(election=election, kind="result").line)
    assert result["payload"]["trustees"] == [1, 2]
    assert result["payload"]["counts"] == expected_counts(ce.refresh().manifest, last)
    published = [
        json.loads(line)["payload"]
        for line in BoardEntry.objects.filter(
            election=election, kind="partial-decryption"
        ).values_list("line", flat=True)
    ]
    assert recorded["message"] in published  # the very message made before the kill
    assert AuditEvent.objects.filter(election=election, action="tally:auto-resume").exists()
    assert not AuditEvent.objects.filter(election=election, action="tally:resume").exists()
    assert pnyx_verify(election, tmp_path) == 0


def test_a_redis_restart_mid_aggregation_heals_without_a_human(tmp_path) -> None:
    """Redis (no persistence) restarted while chunks wait in the queue and one is running: the
    queued chunks, the running one's delivery and every result are gone. The workers reconnect;
    the sweeper sends the chunks not added up again; the tally is published once."""
    ce, last = ready_election(tmp_path, voters=8)
    election = ce.election
    slow = {"PNYX_TALLY_CHUNK_BALLOTS": "2", "PNYX_TEST_CHUNK_DELAY": "1"}
    with private_broker(tmp_path / "redis") as broker:
        server = server_worker(tmp_path, broker, "server", beat=True, **slow)
        try:
            server.wait_ready()
            election_close(election=election, acting_user=None)
            run = TallyRun.objects.get(election=election)
            wait_for(
                lambda: TallyRun.objects.get(pk=run.pk).chunks_done >= 1,
                what="a first chunk added up",
            )
            assert broker.queue_length("tally") >= 1  # chunks still waiting
            broker.restart()
            restarted_at = time.monotonic()
            assert broker.queue_length("tally") == 0
            watch = Watch(election)
            watch.until(
                lambda: state_of(election) == "tallying", timeout=30, what="the encrypted tally"
            )
            healed = time.monotonic() - restarted_at
            finish_with_offline_trustees(ce, tmp_path, last)
        finally:
            server.stop()
    report("Redis restarted mid-aggregation (restart → tally published)", healed)
    assert any("resuming automatically" in s["message"] for s in watch.stalls())
    run.refresh_from_db()
    assert (run.chunks_done, run.chunks_total, run.ballots_aggregated) == (4, 4, 8)
    events = AuditEvent.objects.filter(election=election, action="tally:auto-resume")
    assert {e.details["step"] for e in events} == {"aggregate"}
    assert kinds(election).count("tally") == 1 and kinds(election).count("result") == 1
    assert pnyx_verify(election, tmp_path) == 0


def test_a_redis_restart_loses_a_stopped_trustees_request_and_the_sweeper_sends_it_again(
    tmp_path, live_server
) -> None:
    """docs/trustees.md: a returning worker trustee picks up the decryption step still queued for
    it — after a broker restart too. Trustee 2's worker is stopped when the tally is published;
    its request waits in its queue; Redis restarts and loses it. When the worker comes back its
    queue is empty: the sweeper sends the request again and the result comes out."""
    ce, last = ready_election(tmp_path, voters=3, worker=(2,))
    election = ce.election
    queue = Trustee.objects.get(ceremony__election=election, index=2).queue
    with private_broker(tmp_path / "redis") as broker:
        server = server_worker(tmp_path, broker, "server", beat=True)
        trustee = None
        try:
            server.wait_ready()
            election_close(election=election, acting_user=None)
            wait_for(lambda: state_of(election) == "tallying", what="the encrypted tally")
            assert ce.trustees[0].send(Client(), "decrypt", tmp_path).status_code == 202
            wait_for(lambda: broker.queue_length(queue) == 1, what="trustee 2's request")
            # the officials see the stall: trustee 2's worker does not take its request
            watch = Watch(election)
            watch.until(lambda: bool(watch.stalls()), timeout=20, what="the stall")
            assert "asked 1 times" in watch.stalls()[-1]["waiting_for"][0]["reason"]
            assert broker.queue_length(queue) == 1  # one request waits, not a pile
            broker.restart()
            assert broker.queue_length(queue) == 0
            started_at = time.monotonic()
            trustee = trustee_worker(
                ce.trustees[1:2],
                tmp_path / "trustee.log",
                tmp_path / "passphrase",
                board=live_server.url,
                env=fault_env(broker),
                app="tests.tally.worker_app",
            )
            wait_for(lambda: state_of(election) == "tallied", what="the result", timeout=30)
            healed = time.monotonic() - started_at
        finally:
            for worker in (trustee, server):
                if worker is not None:
                    worker.stop()
    report("Redis restarted with a stopped trustee's request queued (worker back → result)", healed)
    result = json.loads(BoardEntry.objects.get(election=election, kind="result").line)
    assert result["payload"]["trustees"] == [1, 2]
    assert result["payload"]["counts"] == expected_counts(ce.refresh().manifest, last)
    events = AuditEvent.objects.filter(election=election, action="tally:auto-resume")
    assert events and {e.details["step"] for e in events} == {"decrypt"}
    assert pnyx_verify(election, tmp_path) == 0
