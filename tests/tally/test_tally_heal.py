"""The sweeper (tally.services.heal) on its own: what it drives again, when, how often, what the
officials see, and that two sweepers — or a sweeper and an official's *Resume* — never drive the
same stall twice at once.

Every test here has a private Redis (tests/tally/faults.py) and no worker consumes it: a message
the services send stays in its queue, where the test reads it or deletes it (a lost message).
The steps themselves then run in the test process, as a worker would run them.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from board.models import BoardEntry
from tally.models import (
    CeremonyMessage,
    CeremonyPhase,
    KeyCeremony,
    TallyChunk,
    TallyRun,
    Trustee,
    TrusteeDispatch,
    TrusteeMode,
)
from tally.services.heal import tally_sweep
from tally.services.tally import (
    tally_aggregate_chunk,
    tally_combine,
    tally_plan,
    tally_publish,
    tally_start,
)
from tests.tally.faults import private_broker
from tests.tally.helpers import (
    add_voters_and_open,
    run_offline_ceremony,
    setup_ceremony,
)
from tests.voting.factories import SINGLE5
from voting.models import AuditEvent, Election
from voting.services.elections import election_close, election_start_ceremony

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STALL = 60  #: PNYX_STALL_SECONDS in these tests; time is moved with the sweeper's ``now``


@pytest.fixture
def broker(tmp_path, settings):
    settings.PNYX_STALL_SECONDS = STALL
    settings.PNYX_SWEEP_SECONDS = 5
    settings.PNYX_TRUSTEE_LOOK_SECONDS = 300
    with private_broker(tmp_path / "redis") as server:
        yield server


def queued(broker, queue: str) -> list[dict]:
    """The tasks waiting in ``queue``, oldest first (kombu pushes on the left and takes on the
    right): ``{"task", "args", "kwargs"}`` each."""
    out = []
    for raw in reversed(broker.client().lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append({"task": message["headers"]["task"], "args": body[0], "kwargs": body[1]})
    return out


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def audits(election, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(election=election, action=action).order_by("at", "id"))


def tally_api(election) -> dict:
    return Client().get(f"/api/elections/{election.pk}/tally/").json()


def closed_election(tmp_path, *, voters: int = 5, worker: tuple[int, ...] = ()):
    """A 2-of-3 election whose key comes from a ceremony played offline, ``voters`` ballots, the
    trustees ``worker`` then switched to worker mode (their requests go to their queues), closed."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    Trustee.objects.filter(ceremony__election=ce.election, index__in=worker).update(
        mode=TrusteeMode.WORKER
    )
    add_voters_and_open(ce, [1] * voters)
    for v in range(voters):
        ce.cast(Client(), v, [[1 if i == v % 5 else 0 for i in range(5)]])
    election_close(election=ce.election, acting_user=None)
    return ce


def stalled(run: TallyRun, seconds: float = STALL + 1) -> None:
    """Make ``run`` look as if it had not moved for ``seconds``."""
    TallyRun.objects.filter(pk=run.pk).update(
        progress_at=timezone.now() - timedelta(seconds=seconds)
    )


def aggregate_in_process(run: TallyRun) -> None:
    """What the workers do with the aggregation's messages."""
    for chunk_id in tally_plan(run_id=run.pk) or []:
        tally_aggregate_chunk(chunk_id=chunk_id)
    tally_publish(run_id=run.pk)


# --- The aggregation ---------------------------------------------------------------------------


def test_a_lost_aggregation_is_shown_stalled_and_driven_again_once_per_stall_period(
    tmp_path, broker, admin_client
) -> None:
    ce = closed_election(tmp_path)
    election = ce.election
    run = TallyRun.objects.get(election=election)
    assert [t["task"] for t in queued(broker, "tally")] == ["tally.tasks.tally_aggregate"]
    broker.client().delete("tally")  # the broker lost it (a restart without persistence)

    # while it is young, nothing is stalled and the sweeper leaves it alone
    assert tally_api(election)["status"] == "aggregating"
    assert tally_api(election)["stall"] is None
    assert tally_sweep()["tallies"] == {}
    assert queued(broker, "tally") == []

    # no progress for longer than PNYX_STALL_SECONDS: the officials see it, before the sweeper
    stalled(run)
    status = tally_api(election)
    assert status["status"] == "stalled" and status["stage"] == "aggregating"
    assert status["failure"] is None
    assert status["stall"]["attempts"] == 0 and status["stall"]["resuming"]
    assert "it will be resumed automatically within 5 seconds" in status["stall"]["message"]
    stalled(run, STALL + 60)  # … and much longer without a sweep: is beat running?
    assert "is Celery beat running" in tally_api(election)["stall"]["message"]

    report = tally_sweep()
    assert report["tallies"] == {run.pk: "aggregate"}
    assert [t["task"] for t in queued(broker, "tally")] == ["tally.tasks.tally_aggregate"]
    (event,) = audits(election, "tally:auto-resume")
    assert event.details["attempt"] == 1 and event.details["step"] == "aggregate"
    status = tally_api(election)
    assert status["status"] == "stalled" and status["stall"]["attempts"] == 1
    assert "resuming automatically (attempt 1," in status["stall"]["message"]
    page = admin_client.get(f"/admin/tally/tallyrun/{run.pk}/change/").content.decode()
    assert "resuming automatically (attempt 1," in page
    dashboard = admin_client.get(f"/admin/voting/election/{election.pk}/dashboard/").content
    assert "resuming automatically (attempt 1," in dashboard.decode()

    # the next sweeps within the stall period drive nothing more; after it, attempt 2
    assert tally_sweep()["tallies"] == {}
    assert tally_sweep(now=later(STALL / 2))["tallies"] == {}
    assert len(queued(broker, "tally")) == 1
    assert tally_sweep(now=later(STALL + 1))["tallies"] == {run.pk: "aggregate"}
    assert [e.details["attempt"] for e in audits(election, "tally:auto-resume")] == [1, 2]

    # the workers run what was sent: the tally moves, the stall is over
    aggregate_in_process(run)
    run.refresh_from_db()
    assert run.tally_entry_id is not None
    status = tally_api(election)
    assert status["status"] == "decrypting" and status["stall"] is None


def test_only_the_chunks_not_added_up_are_sent_again_and_a_chunk_counts_once(
    tmp_path, broker, settings
) -> None:
    settings.PNYX_TALLY_CHUNK_BALLOTS = 2
    ce = closed_election(tmp_path, voters=7)
    run = TallyRun.objects.get(election=ce.election)
    broker.client().delete("tally")
    chunk_ids = tally_plan(run_id=run.pk)
    assert len(chunk_ids) == 4  # 7 ballots: 2 + 2 + 2 + 1
    # two chunks are added up; the messages of the other two are lost
    for chunk_id in chunk_ids[:2]:
        assert tally_aggregate_chunk(chunk_id=chunk_id)["added"]
    assert tally_aggregate_chunk(chunk_id=chunk_ids[0]) == {"chunk": 0, "added": False}
    run.refresh_from_db()
    assert (run.chunks_done, run.ballots_aggregated) == (2, 4)
    assert tally_plan(run_id=run.pk) == chunk_ids[2:]  # planning again keeps what was done
    run.refresh_from_db()
    assert (run.chunks_done, run.ballots_aggregated) == (2, 4)
    for chunk_id in chunk_ids[2:]:
        tally_aggregate_chunk(chunk_id=chunk_id)
    # the last chunk queued the publication
    assert [t["task"] for t in queued(broker, "tally")] == ["tally.tasks.tally_publish"]
    # a late duplicate of a chunk changes nothing
    assert not tally_aggregate_chunk(chunk_id=chunk_ids[3])["added"]
    run.refresh_from_db()
    assert (run.chunks_done, run.chunks_total, run.ballots_aggregated) == (4, 4, 7)
    assert all(c.export for c in TallyChunk.objects.filter(run=run))
    tally_publish(run_id=run.pk)
    assert tally_publish(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.counted == 7
    assert BoardEntry.objects.filter(election=ce.election, kind="tally").count() == 1


# --- Races ----------------------------------------------------------------------------------


def concurrently(*calls) -> list:
    """Run ``calls`` in threads released together; each on its own database connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_sweepers_and_a_sweeper_with_an_official_never_drive_one_stall_twice(
    tmp_path, broker
) -> None:
    ce = closed_election(tmp_path)
    election = ce.election
    run = TallyRun.objects.get(election=election)
    broker.client().delete("tally")
    stalled(run)

    for _round in range(3):  # two sweepers at once, three times: one re-drive only
        concurrently(tally_sweep, tally_sweep)
    assert len(audits(election, "tally:auto-resume")) == 1
    assert [t["task"] for t in queued(broker, "tally")] == ["tally.tasks.tally_aggregate"]

    # a stall period later, a sweeper and an official's resume at once: the official's always
    # drives; the sweeper either waited for it (and then sees it) or went first (one each)
    broker.client().delete("tally")
    concurrently(
        lambda: tally_sweep(now=later(STALL + 1)),
        lambda: tally_start(election=Election.objects.get(pk=election.pk), acting_user=None),
    )
    autos = len(audits(election, "tally:auto-resume"))
    assert autos in (1, 2)
    assert len(audits(election, "tally:resume")) == 1
    sent = [t["task"] for t in queued(broker, "tally")]
    assert sent == ["tally.tasks.tally_aggregate"] * (1 + (autos - 1))

    # an official's resume restarts the stall period: the sweeper waits a whole period again
    tally_start(election=Election.objects.get(pk=election.pk), acting_user=None)
    stalled(run)
    assert tally_sweep()["tallies"] == {}

    # both drives executed: nothing is added up twice, one tally entry
    aggregate_in_process(run)
    aggregate_in_process(run)
    run.refresh_from_db()
    assert run.counted == 5 and run.ballots_aggregated == run.ballots_total == 5
    assert BoardEntry.objects.filter(election=election, kind="tally").count() == 1


def test_the_sweeper_skips_a_tally_another_transaction_is_moving(tmp_path, broker) -> None:
    """While another transaction holds the election (publishing, an official resuming) the
    sweeper does not wait for it and drives nothing: that one is moving the tally."""
    ce = closed_election(tmp_path)
    run = TallyRun.objects.get(election=ce.election)
    stalled(run)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Election.objects.select_for_update().get(pk=ce.election.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        started = timezone.now()
        assert tally_sweep()["tallies"] == {}
        assert (timezone.now() - started).total_seconds() < 5
    finally:
        release.set()
        thread.join(timeout=30)
    assert tally_sweep()["tallies"] == {run.pk: "aggregate"}


# --- Decryptions ---------------------------------------------------------------------------


def test_a_decryption_stall_asks_worker_trustees_again_only_when_their_queue_is_empty(
    tmp_path, broker, admin_client
) -> None:
    """Trustee 2 is a worker trustee whose worker is not running; trustee 3 is offline; trustee
    1 decrypted: the tally waits, and only trustees can move it. The officials see whom it waits
    for and why. The sweeper keeps one request in trustee 2's queue — never a pile — and sends it
    again if the broker lost it."""
    ce = closed_election(tmp_path, worker=(2,))
    election = ce.election
    run = TallyRun.objects.get(election=election)
    broker.client().delete("tally")
    aggregate_in_process(run)
    queue = Trustee.objects.get(ceremony__election=election, index=2).queue
    requests = queued(broker, queue)
    assert [(r["task"], r["kwargs"]) for r in requests] == [
        ("tally.trustee_step", {"election": str(election.pk), "trustee": 2, "step": "decrypt"})
    ]
    assert ce.trustees[0].send(Client(), "decrypt", tmp_path).status_code == 202
    run.refresh_from_db()
    stalled(run)

    status = tally_api(election)
    assert status["status"] == "stalled" and status["stage"] == "decrypting"
    stall = status["stall"]
    assert not stall["resuming"] and stall["attempts"] == 0
    assert [(w["index"], w["mode"]) for w in stall["waiting_for"]] == [
        (2, "worker"),
        (3, "offline"),
    ]
    assert "asked 1 times" in stall["waiting_for"][0]["reason"]
    assert "is its worker running" in stall["waiting_for"][0]["reason"]
    assert "offline" in stall["waiting_for"][1]["reason"]
    assert "waiting for trustees 2. Trustee 2 (worker: asked 1 times" in stall["message"]

    # its request still waits in its queue: nothing to send, nothing audited
    assert tally_sweep(now=later(STALL + 1))["tallies"] == {}
    assert len(queued(broker, queue)) == 1 and audits(election, "tally:auto-resume") == []

    # the broker lost it: sent again, once
    broker.client().delete(queue)
    assert tally_sweep()["tallies"] == {run.pk: "decrypt"}
    assert [r["kwargs"]["step"] for r in queued(broker, queue)] == ["decrypt"]
    broker.client().delete(queue)
    assert tally_sweep()["tallies"] == {}  # within the stall period
    assert tally_sweep(now=later(STALL + 1))["tallies"] == {run.pk: "decrypt"}
    assert TrusteeDispatch.objects.get(trustee__index=2, step="decrypt").count == 3
    message = tally_api(election)["stall"]["message"]
    assert "asked again automatically (attempt 2," in message
    page = admin_client.get(f"/admin/voting/election/{election.pk}/dashboard/").content.decode()
    assert "Worker trustees are asked again automatically (attempt 2," in page

    # the offline trustee decrypts; the combination runs (as a worker would): the result, and
    # nothing is stalled or sent any more
    assert ce.trustees[2].send(Client(), "decrypt", tmp_path).status_code == 202
    tally_combine(run_id=run.pk)
    assert Election.objects.get(pk=election.pk).state == "tallied"
    assert tally_api(election)["status"] == "done" and tally_api(election)["stall"] is None
    assert tally_sweep(now=later(3 * STALL))["tallies"] == {}


def test_a_tally_with_enough_decryptions_whose_combination_was_lost_is_combined(
    tmp_path, broker
) -> None:
    ce = closed_election(tmp_path)
    run = TallyRun.objects.get(election=ce.election)
    broker.client().delete("tally")
    aggregate_in_process(run)
    for trustee in ce.trustees[:2]:
        assert trustee.send(Client(), "decrypt", tmp_path).status_code == 202
    assert "tally.tasks.tally_combine" in [t["task"] for t in queued(broker, "tally")]
    broker.client().delete("tally")
    stalled(run)
    assert tally_api(ce.election)["stall"]["resuming"]
    assert tally_sweep()["tallies"] == {run.pk: "combine"}
    assert [t["task"] for t in queued(broker, "tally")] == ["tally.tasks.tally_combine"]


# --- The key ceremony ---------------------------------------------------------------------------


def test_a_ceremony_phase_waiting_for_a_worker_trustee_is_asked_again(tmp_path, broker) -> None:
    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("offline", "worker", "offline"))
    election_start_ceremony(election=ce.election, acting_user=None)
    queue = Trustee.objects.get(ceremony__election=ce.election, index=2).queue
    assert [r["kwargs"]["step"] for r in queued(broker, queue)] == ["commit"]
    for trustee in (ce.trustees[0], ce.trustees[2]):
        assert trustee.send(Client(), "commit", tmp_path).status_code == 202
    ceremony = KeyCeremony.objects.get(election=ce.election)
    assert ceremony.phase == CeremonyPhase.COMMIT
    url = f"/api/elections/{ce.election.pk}/ceremony/"
    assert Client().get(url).json()["stall"] is None

    # its request waits in its queue: nothing is sent; lost: sent again, once per stall period
    assert tally_sweep(now=later(STALL + 1))["ceremonies"] == {}
    broker.client().delete(queue)
    assert tally_sweep(now=later(STALL + 1))["ceremonies"] == {ceremony.pk: 1}
    assert tally_sweep(now=later(STALL + 2))["ceremonies"] == {}
    assert [r["kwargs"]["step"] for r in queued(broker, queue)] == ["commit"]
    (event,) = audits(ce.election, "ceremony:auto-resume")
    assert event.details["trustees"] == [2] and event.details["phase"] == "commit"

    # what the officials see once the phase has not moved for a stall period
    past = timezone.now() - timedelta(seconds=STALL + 5)
    KeyCeremony.objects.filter(pk=ceremony.pk).update(phase_started_at=past)
    CeremonyMessage.objects.filter(ceremony=ceremony).update(received_at=past)
    stall = Client().get(url).json()["stall"]
    assert [(w["index"], w["mode"]) for w in stall["waiting_for"]] == [(2, "worker")]
    assert "asked 2 times" in stall["waiting_for"][0]["reason"]
    assert "Worker trustees are asked again automatically (attempt 1," in stall["message"]

    # the trustee commits (as its worker would): the deal phase starts, and the sweeper leaves
    # its deal request alone while it waits in its queue
    assert ce.trustees[1].send(Client(), "commit", tmp_path).status_code == 202
    assert [r["kwargs"]["step"] for r in queued(broker, queue)] == ["commit", "deal"]
    assert Client().get(url).json()["stall"] is None
    assert tally_sweep(now=later(STALL + 1))["ceremonies"] == {}


# --- Looking at the board while the election is open -----------------------------------------


def test_worker_trustees_are_asked_to_look_while_the_election_is_open(
    tmp_path, broker, settings
) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    Trustee.objects.filter(ceremony__election=ce.election, index__in=(1, 3)).update(
        mode=TrusteeMode.WORKER
    )
    queues = {t.index: t.queue for t in Trustee.objects.filter(ceremony__election=ce.election)}
    assert tally_sweep()["looks"] == 0  # not open yet
    add_voters_and_open(ce, [1, 1])
    assert tally_sweep()["looks"] == 2
    for index in (1, 3):
        (request,) = queued(broker, queues[index])
        assert request["kwargs"] == {
            "election": str(ce.election.pk),
            "trustee": index,
            "step": None,
        }
    assert queued(broker, queues[2]) == []  # offline
    assert tally_sweep()["looks"] == 0  # one look per PNYX_TRUSTEE_LOOK_SECONDS
    # a period later, trustee 1's worker took its request, trustee 3's did not (stopped): only
    # trustee 1 is asked again — a stopped worker finds one request, not a pile
    broker.client().delete(queues[1])
    assert tally_sweep(now=later(301))["looks"] == 1
    assert len(queued(broker, queues[1])) == 1 and len(queued(broker, queues[3])) == 1
    # two sweepers at once: one look each period
    broker.client().delete(queues[1])
    broker.client().delete(queues[3])
    assert sum(r["looks"] for r in concurrently(*[lambda: tally_sweep(now=later(602))] * 2)) == 2
    assert len(queued(broker, queues[1])) == 1 and len(queued(broker, queues[3])) == 1
    settings.PNYX_TRUSTEE_LOOK_SECONDS = 0  # off
    broker.client().delete(queues[1])
    assert tally_sweep(now=later(1000))["looks"] == 0
    # closed: no more looks
    settings.PNYX_TRUSTEE_LOOK_SECONDS = 300
    election_close(election=ce.election, acting_user=None)
    broker.client().delete(queues[1])
    broker.client().delete(queues[3])
    assert tally_sweep(now=later(2000))["looks"] == 0
