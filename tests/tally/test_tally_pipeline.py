"""The tally end to end: real Redis broker, a real Celery worker for the server's tasks, real
``celery`` processes for the worker trustees (their key stores, their queues), PostgreSQL.

* 3 trustees, threshold 2, one offline: the key ceremony and the tally complete, the result
  matches the voters' plaintext choices (weights and revotes included, a budget question with its
  funded projects), the board passes pnyx-verify, and no trustee secret reaches the database,
  the broker, the results or the logs.
* A wrong partial decryption is detected, published with its rejection, excluded; its trustee
  may correct it (up to the limit); decryptions not signed by their trustee are refused.
* With fewer than t valid partial decryptions the tally waits, says who is missing, and completes
  when a trustee's worker comes back (no duplicate entry).
* A server worker killed (SIGKILL) in the middle of an aggregation chunk: restarted, the result
  is the same and nothing is published twice.
* A chunk that fails (a corrupt stored ballot): nothing is published, the failure shows to the
  officials, resuming retries it.
"""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from board.models import BoardEntry
from crypto.group import Scalar
from crypto.tally import funded_projects
from crypto.threshold import (
    TrusteeSecret,
    decryption_check_signature,
    decryption_sign,
    partial_decrypt,
)
from tally.models import (
    MAX_DECRYPTION_ATTEMPTS,
    CeremonyPhase,
    DecryptionStatus,
    KeyCeremony,
    PartialDecryptionRecord,
    TallyChunk,
    TallyRun,
)
from tally.services.tally import tally_ciphertexts, tally_start
from tally.trustee_board import NothingToDo
from tally.trustee_steps import BoardView, decrypt_once, decryption_share, envelope
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
from voting.models import AuditEvent, Ballot, Election
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
    tmp_path, celery_worker_real, live_server, caplog
) -> None:
    caplog.set_level("INFO")
    client = Client()
    ce = setup_ceremony(tmp_path, questions=EVERY_KIND, modes=("worker", "worker", "offline"))
    workers = trustee_worker(
        ce.trustees[:2], tmp_path / "trustees.log", tmp_path / "pass", board=live_server.url
    )
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

    fingerprint = ce.election.fingerprint
    cts = tally_ciphertexts(run)

    def secret_of(trustee):
        return TrusteeSecret(Scalar.from_hex(trustee.store().secrets["y"]))

    def wrong_decryption(trustee, index: int, signer=None) -> dict:
        """A partial decryption with a wrong share, signed (by ``signer``, default its own
        trustee) and in the trustee's own signed envelope."""
        wrong = partial_decrypt(Scalar.random(), index, cts, context=fingerprint)
        payload = decryption_sign(
            secret_of(signer or trustee), wrong.to_json(), fingerprint=fingerprint
        )
        return envelope(trustee.store(), trustee.view(tmp_path).params(), "decryption", payload)

    def board_length() -> int:
        return BoardEntry.objects.filter(election=ce.election).count()

    # not attributable to trustee 1 → refused, never published: without the inner signature,
    # signed by trustee 2's key, or with its signature altered
    cheat, other = ce.trustees[0], ce.trustees[1]
    before = board_length()
    wrong = partial_decrypt(Scalar.random(), 1, cts, context=fingerprint)
    params = cheat.view(tmp_path).params()
    unsigned = envelope(cheat.store(), params, "decryption", {"decryption": wrong.to_json()})
    altered = wrong_decryption(cheat, 1)["message"]
    altered["signature"]["response"] = Scalar.random().to_hex()
    for body in (
        unsigned,
        wrong_decryption(cheat, 1, signer=other),
        envelope(cheat.store(), params, "decryption", altered),
    ):
        response = post_json(client, messages_url(ce.election, 1), body)
        assert response.status_code == 400, response.content
        assert "signed by the trustee" in response.json()["error"]["message"]
    assert board_length() == before

    # trustee 1's own wrong decryption: published with its rejection, attributable to it
    response = post_json(client, messages_url(ce.election, 1), wrong_decryption(cheat, 1))
    assert response.status_code == 202 and response.json()["status"] == "rejected"
    assert kinds(ce.election)[-2:] == ["partial-decryption", "decryption-rejected"]
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["decryptions"]["rejected"][0]["trustee"] == 1
    assert status["decryptions"]["needed"] == 2 and status["waiting_for_trustees"]
    assert 1 in [m["index"] for m in status["decryptions"]["missing"]]  # may still send one
    # ... then a corrected one: accepted; after it, any other is a duplicate
    good_one = cheat.message("decrypt", tmp_path)
    response = post_json(client, messages_url(ce.election, 1), good_one)
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    assert post_json(client, messages_url(ce.election, 1), good_one).json()["status"] == "duplicate"
    again = post_json(client, messages_url(ce.election, 1), wrong_decryption(cheat, 1))
    assert again.json()["status"] == "duplicate"

    # trustee 3 is rejected three times; a fourth decryption, even a correct one, is refused
    third = ce.trustees[2]
    for _ in range(MAX_DECRYPTION_ATTEMPTS):
        response = post_json(client, messages_url(ce.election, 3), wrong_decryption(third, 3))
        assert response.json()["status"] == "rejected"
    before = board_length()
    response = post_json(client, messages_url(ce.election, 3), third.message("decrypt", tmp_path))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "decryption_attempts_exhausted"
    assert board_length() == before
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert [m["index"] for m in status["decryptions"]["missing"]] == [2]
    assert [r["trustee"] for r in status["decryptions"]["rejected"]] == [1, 3, 3, 3]

    response = other.send(client, "decrypt", tmp_path)
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    wait_for(lambda: state_of(ce.election) == "tallied", what="the result")
    result = result_payload(ce.election)
    assert result["trustees"] == [1, 2]
    assert result["counts"] == expected_counts(ce.refresh().manifest, last)
    assert result["counts"] == [[0, 3, 0, 0, 1]]
    records = PartialDecryptionRecord.objects.filter(run=run, trustee__index=1)
    assert [r.status for r in records] == [DecryptionStatus.REJECTED, DecryptionStatus.VALID]
    assert "verification equation does not hold" in records[0].reason
    # every partial decryption on the board is signed by the key of the trustee it names
    payloads = [
        json.loads(line)["payload"]
        for line in BoardEntry.objects.filter(election=ce.election, kind="partial-decryption")
        .order_by("seq")
        .values_list("line", flat=True)
    ]
    assert [p["decryption"]["trustee"] for p in payloads] == [1, 1, 3, 3, 3, 2]
    for p in payloads:
        j = p["decryption"]["trustee"]
        decryption_check_signature(
            p, ce.refresh().manifest.trustee_keys[j - 1], fingerprint=fingerprint
        )
    assert pnyx_verify(ce.election, tmp_path) == 0


# --- Waiting for trustees ----------------------------------------------------------------------


def test_the_tally_waits_for_missing_trustees_and_completes_when_they_return(
    tmp_path, celery_worker_real, live_server, admin_client
) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("offline", "worker", "offline"))
    board = live_server.url
    worker = trustee_worker(
        ce.trustees[1:2], tmp_path / "trustee2-a.log", tmp_path / "pass", board=board
    )
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

    worker = trustee_worker(
        ce.trustees[1:2], tmp_path / "trustee2-b.log", tmp_path / "pass", board=board
    )
    try:
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result", timeout=60)
    finally:
        worker.stop()
    result = result_payload(ce.election)
    assert result["trustees"] == [1, 2]
    assert result["counts"] == expected_counts(ce.refresh().manifest, last)
    # trustee 3 comes late: its own tool sees the result on the board and does nothing; a
    # decryption sent anyway is recorded, not published
    late = ce.trustees[2]
    with pytest.raises(NothingToDo, match="the result is already published"):
        late.message("decrypt", tmp_path)
    message = decrypt_once(late.store(), late.view(tmp_path))
    response = post_json(client, messages_url(ce.election, 3), message)
    assert response.status_code == 200 and response.json()["status"] == "late"
    assert kinds(ce.election).count("partial-decryption") == 2
    assert kinds(ce.election).count("result") == 1
    assert pnyx_verify(ce.election, tmp_path) == 0


# --- A failing aggregation chunk ---------------------------------------------------------------


@contextlib.contextmanager
def append_only_lifted():
    """What only a database owner can do: lift the append-only trigger of the ballots table (to
    corrupt a stored row, or to repair it). The application never does this."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE voting_ballot DISABLE TRIGGER voting_ballot_append_only")
        try:
            yield cursor
        finally:
            cursor.execute("ALTER TABLE voting_ballot ENABLE TRIGGER voting_ballot_append_only")


def test_a_corrupt_stored_ballot_stops_its_chunk_visibly(
    tmp_path, celery_worker_real, admin_client, settings
) -> None:
    """A ballot's stored points corrupted in the database (one coordinate byte changed: not a
    point of the curve) make its chunk fail for real: nothing wrong is added up, no tally is
    published, the failure (which chunk, which ballot, when) shows in the API, on the tally run's
    page and on the dashboard, and resuming retries it (failing again while the row is corrupt).
    Once the row is repaired, resuming completes the tally, and the board verifies."""
    settings.PNYX_TALLY_CHUNK_BALLOTS = 2
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [1, 2, 1, 1, 3])
    last = vote(ce, [(v, [[0] * v + [1] + [0] * (4 - v)]) for v in range(5)])
    victim = Ballot.objects.filter(election=ce.election).order_by("seq")[2]
    good = bytes(victim.points)
    corrupt = bytearray(good)
    corrupt[64] ^= 1  # the last byte of the first point's y: off the curve
    with append_only_lifted() as cursor:
        cursor.execute(
            "UPDATE voting_ballot SET points = %s WHERE id = %s", [bytes(corrupt), victim.pk]
        )

    election_close(election=ce.election, acting_user=None)
    run = TallyRun.objects.get(election=ce.election)
    wait_for(lambda: TallyRun.objects.get(pk=run.pk).last_error != "", what="the failure")
    run.refresh_from_db()
    chunk = TallyChunk.objects.get(run=run, first_seq__lte=victim.seq, last_seq__gte=victim.seq)
    assert chunk.error and chunk.failed_at is not None and not chunk.done
    assert f"board position {victim.seq}" in chunk.error and "invalid stored point" in chunk.error
    assert run.last_error.startswith(f"chunk {chunk.number} (board positions")
    assert run.status == "aggregating" and run.tally_entry_id is None
    assert state_of(ce.election) == "closed" and "tally" not in kinds(ce.election)
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["status"] == "aggregating"
    assert status["failure"]["error"] == run.last_error and status["failure"]["at"]
    assert status["chunks_failed"] == [
        {"number": chunk.number, "error": chunk.error, "at": status["chunks_failed"][0]["at"]}
    ]
    page = admin_client.get(f"/admin/tally/tallyrun/{run.pk}/change/").content.decode()
    assert "Adding up the ballots failed" in page and f"board position {victim.seq}" in page
    dashboard = admin_client.get(f"/admin/voting/election/{ce.election.pk}/dashboard/")
    assert f"board position {victim.seq}" in dashboard.content.decode()
    assert AuditEvent.objects.filter(election=ce.election, action="tally:failed").exists()

    # "Start or resume the tally" retries: the row is still corrupt, so the chunk fails again
    resume = reverse("admin:tally_tallyrun_resume", args=[run.pk])
    assert admin_client.post(resume).status_code == 302
    wait_for(
        lambda: (
            TallyChunk.objects.get(pk=chunk.pk).attempts >= 2
            and TallyRun.objects.get(pk=run.pk).last_error != ""
        ),
        what="the second failure",
    )
    assert "tally" not in kinds(ce.election)

    # the database owner restores the row from the board entry; resuming completes the tally
    with append_only_lifted() as cursor:
        cursor.execute("UPDATE voting_ballot SET points = %s WHERE id = %s", [good, victim.pk])
    assert admin_client.post(resume).status_code == 302
    wait_for(lambda: state_of(ce.election) == "tallying", what="the encrypted tally")
    run.refresh_from_db()
    assert run.last_error == "" and not TallyChunk.objects.filter(run=run).exclude(error="")
    assert client.get(f"/api/elections/{ce.election.pk}/tally/").json()["failure"] is None
    for trustee in ce.trustees[:2]:
        assert trustee.send(client, "decrypt", tmp_path).status_code == 202
    wait_for(lambda: state_of(ce.election) == "tallied", what="the result")
    assert result_payload(ce.election)["counts"] == expected_counts(ce.refresh().manifest, last)
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
        PNYX_BROKER_VISIBILITY_TIMEOUT="3",
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
