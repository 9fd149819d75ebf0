"""The tally end to end: real Redis broker, a real Celery worker for the server's tasks, real
``celery`` processes for the worker trustees (their key stores, their queues), PostgreSQL.

* 3 trustees, threshold 2, one offline: the key ceremony and the tally complete, the result
  matches the voters' plaintext choices (weights and revotes included, a budget question with its
  funded projects), the board passes pnyx-verify, and no trustee secret reaches the database,
  the broker, the results or the logs.
* A wrong partial decryption is detected, published with its rejection, excluded.
* With fewer than t valid partial decryptions the tally waits, says who is missing, and completes
  when a trustee's worker comes back (no duplicate entry).
* A server worker killed (SIGKILL) in the middle of an aggregation chunk: restarted, the result
  is the same and nothing is published twice.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import redis
from django.conf import settings
from django.test import Client

from crypto.group import Scalar
from crypto.tally import funded_projects
from crypto.threshold import partial_decrypt
from tally.models import (
    CeremonyPhase,
    DecryptionStatus,
    KeyCeremony,
    PartialDecryptionRecord,
    TallyChunk,
    TallyRun,
)
from tally.services.tally import tally_ciphertexts, tally_start
from tally.trustee_steps import BoardView, decryption_share, envelope
from tests.tally.helpers import (
    WorkerProcess,
    add_voters_and_open,
    expected_counts,
    export_board,
    messages_url,
    pnyx_verify,
    run_offline_ceremony,
    setup_ceremony,
    trustee_worker,
    wait_for,
    worker_env,
)
from tests.voting.factories import EVERY_KIND, SINGLE5, post_json
from voting.models import BoardEntry, Election
from voting.services.elections import election_close, election_start_ceremony

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

CHOICES = [
    [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]],
    [[0, 1], [0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]],
    [[0, 0], [1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 0]],
    [[1, 0], [0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1]],
]


def phase_of(election) -> str:
    return KeyCeremony.objects.get(election=election).phase


def state_of(election) -> str:
    return Election.objects.get(pk=election.pk).state


def kinds(election) -> list[str]:
    return list(
        BoardEntry.objects.filter(election=election).order_by("seq").values_list("kind", flat=True)
    )


def result_payload(election) -> dict:
    line = BoardEntry.objects.get(election=election, kind="result").line
    return json.loads(line)["payload"]


def vote(ce, plan: list[tuple[int, list]]) -> dict[int, tuple[int, list]]:
    """Cast ``plan`` [(voter, choices)…] in order; return each voter's last (weight, choices)."""
    last = {}
    for voter, choices in plan:
        ce.cast(Client(), voter, choices)
        last[voter] = (ce.voters[voter].voter.weight, choices)
    return last


def expected_funded(ce, counts) -> list:
    out = []
    for question, spec, row in zip(
        ce.manifest.data["questions"], ce.manifest.questions, counts, strict=True
    ):
        if question["kind"] == "budget":
            out.append(
                [
                    question["options"][i]["id"]
                    for i in funded_projects(row, spec.costs, spec.budget)
                ]
            )
        else:
            out.append(None)
    return out


def play_offline(ce, trustee, tmp_path, client) -> None:
    """Play an offline trustee's ceremony steps as the phases come."""
    for step, phase in (
        ("commit", CeremonyPhase.COMMIT),
        ("deal", CeremonyPhase.DEAL),
        ("check", CeremonyPhase.CHECK),
        ("confirm", CeremonyPhase.CONFIRM),
    ):
        wait_for(lambda p=phase: phase_of(ce.election) == p, what=f"phase {phase}", timeout=60)
        response = trustee.send(client, step, tmp_path)
        assert response.status_code == 202, (step, response.content)


# --- Workers, one offline trustee; no secret leaks -----------------------------------------


def test_worker_trustees_one_offline_and_no_secret_leaks(
    tmp_path, celery_worker_real, caplog
) -> None:
    caplog.set_level("INFO")
    client = Client()
    ce = setup_ceremony(tmp_path, questions=EVERY_KIND, modes=("worker", "worker", "offline"))
    workers = trustee_worker(ce.trustees[:2], tmp_path / "trustees.log", tmp_path / "pass")
    secrets: set[str] = set()
    try:
        election_start_ceremony(election=ce.election, acting_user=None)
        offline = ce.trustees[2]
        offline.send(client, "commit", tmp_path)
        wait_for(lambda: phase_of(ce.election) == CeremonyPhase.DEAL, what="commitments")
        # the workers' polynomials, from their key stores, between commitment and deal
        for trustee in ce.trustees:
            secrets.update(trustee.store().secrets["ceremony"]["polynomial"])
        for step, phase in (("deal", "check"), ("check", "confirm"), ("confirm", "done")):
            assert offline.send(client, step, tmp_path).status_code == 202
            wait_for(lambda p=phase: phase_of(ce.election) == p, what=phase)
        add_voters_and_open(ce, [1, 2, 3, 1, 5])
        last = vote(
            ce,
            [(0, CHOICES[0]), (1, CHOICES[1]), (2, CHOICES[2]), (0, CHOICES[3]), (4, CHOICES[1])],
        )
        last.update(vote(ce, [(2, CHOICES[0])]))  # a second revote; voter 3 abstains
        election_close(election=ce.election, acting_user=None)
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result", timeout=90)
    finally:
        workers.stop()
    ce.refresh()
    counts = expected_counts(ce.manifest, last)
    result = result_payload(ce.election)
    assert result["counts"] == counts
    assert result["funded"] == expected_funded(ce, counts)
    assert result["funded"][3] is not None and result["trustees"] == [1, 2]
    assert (result["counted"], result["weight"]) == (4, 1 + 2 + 3 + 5)
    tally = json.loads(BoardEntry.objects.get(election=ce.election, kind="tally").line)["payload"]
    assert (tally["counted"], tally["superseded"], tally["weight"]) == (4, 2, 11)
    assert kinds(ce.election)[-7:] == [
        "state",  # closed
        "tally",
        "state",  # tallying
        "partial-decryption",
        "partial-decryption",
        "result",
        "state",  # tallied
    ]
    assert pnyx_verify(ce.election, tmp_path) == 0

    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["status"] == "done" and status["decryptions"]["valid"] == [1, 2]
    assert status["ballots_aggregated"] == status["ballots_total"] == 6
    assert status["result"]["counts"] == counts
    assert [m["index"] for m in status["decryptions"]["missing"]] == [3]

    # --- no trustee secret anywhere on the server side
    board = BoardView.read(str(export_board(ce.election, tmp_path / "final.jsonl")))
    params = board.params()
    for trustee in ce.trustees:
        store = trustee.store()
        secrets.add(store.secrets["y"])
        share, _ = decryption_share(store, params, board.qualified_deals(params))
        secrets.add(share.to_hex())
        secrets.add(trustee.token)
    assert len(secrets) == 3 * 2 + 3 + 3 + 3
    haystacks = {
        "database": database_dump(),
        "broker and results": redis_dump(),
        "server logs": caplog.text,
        "trustee worker log": workers.output(),
    }
    for where, text in haystacks.items():
        lowered = text.lower()
        for secret in secrets:
            assert secret.lower() not in lowered, f"a trustee secret is in the {where}"
            if len(secret) == 64:  # a scalar: also its decimal form
                assert str(int(secret, 16)) not in text, f"a trustee secret is in the {where}"


def database_dump() -> str:
    db = settings.DATABASES["default"]
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            db.get("HOST") or "127.0.0.1",
            "-p",
            str(db.get("PORT") or 5432),
            "-U",
            db.get("USER") or "postgres",
            db["NAME"],
        ],
        capture_output=True,
        check=True,
    )
    text = dump.stdout.decode("utf-8", "replace")
    assert "COPY public.tally_trustee" in text  # the dump has the tables
    return text


def redis_dump() -> str:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    parts = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key))
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            parts.extend(v for kv in client.hgetall(key).items() for v in kv)
        elif kind in (b"set", b"zset"):
            parts.extend(client.zrange(key, 0, -1) if kind == b"zset" else client.smembers(key))
    assert parts  # results and bindings are there
    return "\n".join(p.decode("utf-8", "replace") for p in parts)


# --- A wrong partial decryption -------------------------------------------------------------


def test_a_wrong_partial_decryption_is_rejected_and_excluded(tmp_path, celery_worker_real) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [1, 1, 2])
    last = vote(ce, [(0, [[0, 1, 0, 0, 0]]), (1, [[0, 0, 0, 0, 1]]), (2, [[0, 1, 0, 0, 0]])])
    election_close(election=ce.election, acting_user=None)
    wait_for(lambda: state_of(ce.election) == "tallying", what="the encrypted tally")
    run = TallyRun.objects.get(election=ce.election)

    # trustee 1 signs a partial decryption made with a wrong share
    cheat = ce.trustees[0]
    store = cheat.store()
    view = cheat.view(tmp_path)
    wrong = partial_decrypt(
        Scalar.random(), 1, tally_ciphertexts(run), context=ce.election.fingerprint
    )
    bad = envelope(store, view.params(), "decryption", wrong.to_json())
    response = post_json(client, messages_url(ce.election, 1), bad)
    assert response.status_code == 202 and response.json()["status"] == "rejected"
    assert kinds(ce.election)[-2:] == ["partial-decryption", "decryption-rejected"]
    # resending it changes nothing; a correct one from trustee 1 is not taken either
    assert post_json(client, messages_url(ce.election, 1), bad).json()["status"] == "duplicate"
    good_one = cheat.message("decrypt", tmp_path)
    assert post_json(client, messages_url(ce.election, 1), good_one).json()["status"] == "duplicate"
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["decryptions"]["rejected"][0]["trustee"] == 1
    assert status["decryptions"]["needed"] == 2 and status["waiting_for_trustees"]

    for trustee in ce.trustees[1:]:
        response = trustee.send(client, "decrypt", tmp_path)
        assert response.status_code == 202 and response.json()["status"] == "accepted"
    wait_for(lambda: state_of(ce.election) == "tallied", what="the result")
    result = result_payload(ce.election)
    assert result["trustees"] == [2, 3]
    assert result["counts"] == expected_counts(ce.refresh().manifest, last)
    assert result["counts"] == [[0, 3, 0, 0, 1]]
    rejected = PartialDecryptionRecord.objects.get(run=run, trustee__index=1)
    assert rejected.status == DecryptionStatus.REJECTED
    assert "verification equation does not hold" in rejected.reason
    assert pnyx_verify(ce.election, tmp_path) == 0


# --- Waiting for trustees ----------------------------------------------------------------------


def test_the_tally_waits_for_missing_trustees_and_completes_when_they_return(
    tmp_path, celery_worker_real, admin_client
) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("offline", "worker", "offline"))
    worker = trustee_worker(ce.trustees[1:2], tmp_path / "trustee2-a.log", tmp_path / "pass")
    try:
        election_start_ceremony(election=ce.election, acting_user=None)
        for step, phase in (
            ("commit", "commit"),
            ("deal", "deal"),
            ("check", "check"),
            ("confirm", "confirm"),
        ):
            wait_for(lambda p=phase: phase_of(ce.election) == p, what=phase)
            for trustee in (ce.trustees[0], ce.trustees[2]):
                assert trustee.send(client, step, tmp_path).status_code == 202
        wait_for(lambda: state_of(ce.election) == "ready", what="the key")
    finally:
        worker.stop()  # trustee 2's worker is down when the election closes
    add_voters_and_open(ce, [1, 1, 1])
    last = vote(ce, [(0, [[1, 0, 0, 0, 0]]), (1, [[1, 0, 0, 0, 0]]), (2, [[0, 0, 1, 0, 0]])])
    election_close(election=ce.election, acting_user=None)
    wait_for(lambda: state_of(ce.election) == "tallying", what="the encrypted tally")
    assert ce.trustees[0].send(client, "decrypt", tmp_path).status_code == 202

    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["status"] == "decrypting" and status["waiting_for_trustees"]
    assert status["decryptions"]["valid"] == [1] and status["decryptions"]["needed"] == 1
    assert [(m["index"], m["mode"]) for m in status["decryptions"]["missing"]] == [
        (2, "worker"),
        (3, "offline"),
    ]
    run = TallyRun.objects.get(election=ce.election)
    page = admin_client.get(f"/admin/tally/tallyrun/{run.pk}/change/").content.decode()
    assert "Waiting for trustees" in page and "Trustee 2" in page and "Trustee 3" in page
    dashboard = admin_client.get(f"/admin/voting/election/{ce.election.pk}/dashboard/")
    assert "Trustee 2" in dashboard.content.decode()
    # the officials resume: the step is queued again for trustee 2 (its worker is still down)
    tally_start(election=ce.election, acting_user=None)
    assert state_of(ce.election) == "tallying"

    worker = trustee_worker(ce.trustees[1:2], tmp_path / "trustee2-b.log", tmp_path / "pass")
    try:
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result", timeout=60)
    finally:
        worker.stop()
    result = result_payload(ce.election)
    assert result["trustees"] == [1, 2]
    assert result["counts"] == expected_counts(ce.refresh().manifest, last)
    # trustee 3 comes late: recorded, not published
    response = ce.trustees[2].send(client, "decrypt", tmp_path)
    assert response.status_code == 200 and response.json()["status"] == "late"
    assert kinds(ce.election).count("partial-decryption") == 2
    assert kinds(ce.election).count("result") == 1
    assert pnyx_verify(ce.election, tmp_path) == 0


# --- A worker killed in the middle of the aggregation -------------------------------------


def test_a_worker_killed_during_aggregation(tmp_path, celery_worker_real) -> None:
    """Aggregation chunks of 2 ballots, each slowed to 1.5 s; the only server worker is killed with
    SIGKILL while one is running, then started again: the chunk it held (unacknowledged) is
    delivered again, and the result is the same, with one tally and one result entry."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [1, 2, 1, 3, 1, 1, 2])
    last = vote(
        ce,
        [
            (0, [[1, 0, 0, 0, 0]]),
            (1, [[0, 1, 0, 0, 0]]),
            (2, [[0, 0, 1, 0, 0]]),
            (3, [[0, 0, 0, 1, 0]]),
            (4, [[0, 0, 0, 0, 1]]),
            (1, [[0, 0, 0, 0, 1]]),  # a revote
            (5, [[1, 0, 0, 0, 0]]),
            (6, [[0, 1, 0, 0, 0]]),
        ],
    )
    control = celery_worker_real.app.control
    me = [celery_worker_real.hostname]
    for queue in ("tally", "celery"):  # the test's own worker processes do the work
        control.cancel_consumer(queue, destination=me, reply=True)
    env = worker_env(
        PNYX_TALLY_CHUNK_BALLOTS="2",
        PNYX_TEST_CHUNK_DELAY="1.5",
        PNYX_TEST_VISIBILITY_TIMEOUT="3",
    )
    args = ["-Q", "tally,celery", "--pool", "solo", "--without-mingle", "--without-gossip"]
    first = WorkerProcess(
        [*args, "--hostname", "killed@%h"], env, tmp_path / "w1.log", app="tests.tally.worker_app"
    )
    second = None
    try:
        first.wait_ready()
        election_close(election=ce.election, acting_user=None)
        wait_for(
            lambda: TallyChunk.objects.filter(attempts=1, done=False).exists(),
            what="a chunk in progress",
            timeout=30,
        )
        first.kill()
        running = TallyChunk.objects.filter(done=False, attempts=1).order_by("number").first()
        assert running is not None
        assert TallyRun.objects.get(election=ce.election).tally_entry is None
        second = WorkerProcess(
            [*args, "--hostname", "restarted@%h"],
            env,
            tmp_path / "w2.log",
            app="tests.tally.worker_app",
        )
        second.wait_ready()
        wait_for(lambda: state_of(ce.election) == "tallying", what="the tally", timeout=60)
        for trustee in ce.trustees[:2]:
            assert trustee.send(client, "decrypt", tmp_path).status_code == 202
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result", timeout=30)
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        for queue in ("tally", "celery"):
            control.add_consumer(queue, destination=me, reply=True)
    running.refresh_from_db()
    assert running.done and running.attempts == 2 and running.worker.startswith("restarted")
    run = TallyRun.objects.get(election=ce.election)
    assert run.chunks_total == 4 and run.chunks_done == 4 and run.ballots_aggregated == 8
    assert kinds(ce.election).count("tally") == 1 and kinds(ce.election).count("result") == 1
    result = result_payload(ce.election)
    assert result["counts"] == expected_counts(ce.refresh().manifest, last)
    assert result["counts"] == [[2, 2, 1, 3, 3]]
    assert pnyx_verify(ce.election, tmp_path) == 0
