"""Officials' admin: naming trustees and the threshold, the ceremony's progress and actions (each
behind a confirmation page), the tally action on the election page, the tally run's page; and
the demo (``seed_demo``) whose key comes from a real ceremony with worker trustees."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from board.models import BoardEntry
from board.tree import board_checkpoint
from board.witnesses import board_witnesses_collect
from tally import keystore
from tally.models import KeyCeremony, TallyRun, Trustee
from tally.trustee_worker import local_board
from tests.tally.helpers import (
    WorkerProcess,
    pnyx_verify,
    run_offline_ceremony,
    setup_ceremony,
    wait_for,
    worker_app,
    worker_env,
)
from tests.voting.factories import SINGLE5, make_election
from voting.models import Election
from witness.server import serve_in_thread
from witness.service import Witness


def inline_data(rows: list[tuple[int, str, str, str]]) -> dict:
    data = {
        "trustees-TOTAL_FORMS": str(len(rows)),
        "trustees-INITIAL_FORMS": "0",
        "trustees-MIN_NUM_FORMS": "0",
        "trustees-MAX_NUM_FORMS": "1000",
    }
    for i, (index, name, email, mode) in enumerate(rows):
        data.update(
            {
                f"trustees-{i}-index": str(index),
                f"trustees-{i}-name": name,
                f"trustees-{i}-email": email,
                f"trustees-{i}-mode": mode,
            }
        )
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_officials_name_the_trustees_and_run_the_ceremony_actions(admin_client, tmp_path) -> None:
    election = make_election(questions=SINGLE5)
    add = reverse("admin:tally_keyceremony_add")
    assert admin_client.get(f"{add}?election={election.pk}").status_code == 200
    rows = [
        (1, "Ada", "ada@example.org", "worker"),
        (2, "Bob", "bob@example.org", "offline"),
        (3, "Cy", "cy@example.org", "offline"),
    ]
    # a threshold above n, and a gap in the numbering, are refused
    for threshold, bad in ((4, rows), (2, [rows[0], (3, "Bob", "bob@example.org", "worker")])):
        response = admin_client.post(
            add, {"election": str(election.pk), "threshold": str(threshold), **inline_data(bad)}
        )
        assert response.status_code == 200 and not KeyCeremony.objects.exists()
    response = admin_client.post(
        add, {"election": str(election.pk), "threshold": "2", **inline_data(rows)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ceremony = KeyCeremony.objects.get(election=election)
    assert [(t.index, t.name, t.mode) for t in ceremony.trustees.order_by("index")] == [
        (1, "Ada", "worker"),
        (2, "Bob", "offline"),
        (3, "Cy", "offline"),
    ]
    page = admin_client.get(reverse("admin:tally_keyceremony_change", args=[ceremony.pk]))
    html = page.content.decode()
    assert "ceremony-progress" in html and ceremony.trustees.get(index=1).queue in html
    invite = reverse("admin:tally_keyceremony_action", args=[ceremony.pk, "invite"])
    confirm = admin_client.get(invite)
    assert confirm.status_code == 200 and "Yes, send them" in confirm.content.decode()
    response = admin_client.post(invite)
    assert response.status_code == 302 and "Enrolment e-mails sent." in messages_of(response)
    assert len(mail.outbox) == 3
    # an action that is not possible now says why, and does nothing
    close = reverse("admin:tally_keyceremony_action", args=[ceremony.pk, "close-deals"])
    html = admin_client.get(close).content.decode()
    assert "not waiting for deals" in html
    # closing writes nothing on the board itself: the ceremony result shows it later
    assert "Nothing is written on the board now" in html and "is published on the" not in html
    french = admin_client.get(close, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Rien n’est écrit sur le tableau maintenant" in french
    response = admin_client.post(close)
    assert any("not waiting for deals" in m for m in messages_of(response))
    for name in ("changelist",):
        assert admin_client.get(reverse(f"admin:tally_keyceremony_{name}")).status_code == 200
        assert admin_client.get(reverse(f"admin:tally_tallyrun_{name}")).status_code == 200
        assert admin_client.get(reverse(f"admin:tally_trustee_{name}")).status_code == 200
    assert Trustee.objects.filter(enrolment_token_hash="").count() == 0


@pytest.mark.django_db
def test_the_election_page_offers_the_tally(admin_client, tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    url = reverse("admin:voting_election_action", args=[ce.election.pk, "tally"])
    assert "key ceremony run on this server" in admin_client.get(url).content.decode()
    run_offline_ceremony(ce, tmp_path, client)
    from tests.tally.helpers import add_voters_and_open

    add_voters_and_open(ce, [1, 1])
    ce.cast(client, 0, [[0, 0, 1, 0, 0]])
    page = admin_client.get(url)
    assert page.status_code == 200 and "Yes, tally" in page.content.decode()
    response = admin_client.post(url)
    assert response.status_code == 302
    ce.election.refresh_from_db()
    assert ce.election.state == "closed"
    run = TallyRun.objects.get(election=ce.election)
    assert run.frozen_seq == BoardEntry.objects.filter(election=ce.election).latest("seq").seq
    page = admin_client.get(reverse("admin:tally_tallyrun_change", args=[run.pk]))
    assert page.status_code == 200 and "tally-progress" in page.content.decode()
    resume = admin_client.get(reverse("admin:tally_tallyrun_resume", args=[run.pk]))
    assert resume.status_code == 200
    dashboard = admin_client.get(f"/admin/voting/election/{ce.election.pk}/dashboard/")
    assert dashboard.status_code == 200 and "Ballots added up" in dashboard.content.decode()
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["status"] == "aggregating" and status["ballots_total"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_demo_key_comes_from_worker_trustees(
    tmp_path, celery_worker_real, live_server, monkeypatch
) -> None:
    """``seed_demo`` (``make run``): a real ceremony with three worker trustees whose key stores
    live under var/demo/ (each verifying the board before each step); the worker ``make run``
    starts for them reads the board from the server and tallies the demo. One local witness
    (which ``make run`` serves) cosigns the demo board's checkpoints: "witnessed by 1 of 1"."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        witness_port = probe.getsockname()[1]
    monkeypatch.setenv("PNYX_DEMO_WITNESS_PORT", str(witness_port))
    with override_settings(
        VAR_DIR=tmp_path,
        EMAIL_FILE_PATH=tmp_path / "mail",
        PNYX_BASE_URL=live_server.url,
        PNYX_DEMO=True,
    ):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
    election = Election.objects.get(slug="demo")
    # the official's account (make run needs no createsuperuser): its password printed only
    (line,) = [x for x in out.getvalue().splitlines() if "DEMO official's account" in x]
    password = line.split("password ")[1].strip()
    assert len(password) >= 16 and line.split("user ")[1].startswith("official ")
    login = Client().post(
        "/admin/login/?next=/admin/", {"username": "official", "password": password}
    )
    assert login.status_code == 302 and login["Location"] == "/admin/"
    stored = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(password.encode() in data for data in stored)
    hashed = User.objects.get(username="official").password
    assert hashed.startswith("pbkdf2_sha256$") and password not in hashed
    assert election.state == "open"
    assert KeyCeremony.objects.get(election=election).phase == "done"
    assert BoardEntry.objects.filter(election=election, kind="dkg-confirmation").count() == 3
    env_file = tmp_path / "demo" / "trustee-worker.env"
    env = dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if line and not line.startswith("#")
    )
    stores = [Path(p) for p in env["PNYX_TRUSTEE_KEYSTORE"].split(os.pathsep)]
    assert len(stores) == 3 and all(s.parent == tmp_path / "demo" / "trustees" for s in stores)
    assert env["PNYX_TRUSTEE_BOARD"] == live_server.url
    for store in stores:  # each verified the board: its copy ends at the head in its key store
        head = keystore.unlock(store, Path(env["PNYX_TRUSTEE_PASSPHRASE_FILE"]).read_text().strip())
        assert head.secrets["board"]["seq"] >= 10 and local_board(store).exists()
    for path in [*stores, env_file, Path(env["PNYX_TRUSTEE_PASSPHRASE_FILE"])]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(stores[0].read_text())["format"] == "pnyx-trustee-keystore"
    assert pnyx_verify(election, tmp_path) == 0

    witness = Witness(tmp_path / "demo" / "witness")
    server, _ = serve_in_thread(witness, port=witness_port)
    try:
        board_checkpoint(election_id=election.pk)
        assert board_witnesses_collect(election_id=election.pk) == 1
    finally:
        server.shutdown()
        server.server_close()
        witness.close()
    page = Client().get(f"/e/{election.slug}/").content.decode()
    assert "witnessed by 1 of 1" in page

    worker = WorkerProcess(
        ["-Q", env["PNYX_TRUSTEE_QUEUES"], "--pool", "solo", "--hostname", "demo-trustees@%h"],
        worker_env(**env),
        tmp_path / "demo-trustees.log",
        app=worker_app(),
    )
    try:
        worker.wait_ready()
        from voting.services.elections import election_close

        election_close(election=election, acting_user=None)
        wait_for(lambda: Election.objects.get(pk=election.pk).state == "tallied", what="result")
    finally:
        worker.stop()
    assert "key store" in worker.output() and "unlocked" in worker.output()
    assert f"reading the board from {live_server.url}/api/elections/" in worker.output()
    assert pnyx_verify(election, tmp_path) == 0


# --- What the public sees of the trustees' workers ---------------------------------------------

WORKER_REPORT = "key store /srv/pnyx/trustee-1.json: cannot read the passphrase file"


@pytest.mark.django_db
def test_the_public_ceremony_api_hides_worker_reports_and_queues(admin_client, tmp_path) -> None:
    """A worker trustee's report (``last_error``) may name its host's paths; its queue is the
    broker's business. The public API shows neither; the officials' pages show both."""
    from tally.services.messages import trustee_worker_result

    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("worker", "offline", "offline"))
    worker = Trustee.objects.get(pk=ce.trustees[0].model.pk)
    assert trustee_worker_result(trustee_id=worker.pk, result={"error": WORKER_REPORT}) == "error"

    response = Client().get(f"/api/elections/{ce.election.pk}/ceremony/")
    assert response.status_code == 200
    rows = response.json()["trustees"]
    assert [row["mode"] for row in rows] == ["worker", "offline", "offline"]
    assert all("last_error" not in row and "queue" not in row for row in rows)
    assert WORKER_REPORT not in response.content.decode()
    assert worker.queue not in response.content.decode()

    ceremony = KeyCeremony.objects.get(election=ce.election)
    page = admin_client.get(reverse("admin:tally_keyceremony_change", args=[ceremony.pk]))
    assert WORKER_REPORT in page.content.decode() and worker.queue in page.content.decode()

    # stalled, the ceremony says whom it waits for and why: the worker's report stays private
    from datetime import timedelta

    from django.utils import timezone

    from tally.models import CeremonyMessage
    from tally.selectors import ceremony_status
    from voting.services.elections import election_start_ceremony

    election_start_ceremony(election=ce.election, acting_user=None)  # the commit phase
    an_hour_ago = timezone.now() - timedelta(hours=1)
    KeyCeremony.objects.filter(pk=ceremony.pk).update(phase_started_at=an_hour_ago)
    CeremonyMessage.objects.filter(ceremony=ceremony).update(received_at=an_hour_ago)
    response = Client().get(f"/api/elections/{ce.election.pk}/ceremony/")
    stall = response.json()["stall"]
    assert stall is not None and 1 in [row["index"] for row in stall["waiting_for"]]
    assert WORKER_REPORT not in response.content.decode()
    assert "officials see it in the admin" in json.dumps(stall["waiting_for"])
    officials = ceremony_status(election=ce.election, officials=True)["stall"]
    assert WORKER_REPORT in json.dumps(officials["waiting_for"])


@pytest.mark.django_db
def test_the_public_tally_api_hides_the_missing_trustees_reports(tmp_path) -> None:
    from tally.selectors import tally_status
    from tally.services.messages import trustee_worker_result
    from tests.tally.helpers import add_voters_and_open
    from voting.services.elections import election_close

    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [1, 1])
    ce.cast(client, 0, [[0, 0, 1, 0, 0]])
    election_close(election=ce.election, acting_user=None)
    trustee_worker_result(trustee_id=ce.trustees[1].model.pk, result={"error": WORKER_REPORT})

    response = client.get(f"/api/elections/{ce.election.pk}/tally/")
    missing = response.json()["decryptions"]["missing"]
    assert [row["index"] for row in missing] == [1, 2, 3]
    assert all(set(row) == {"index", "name", "mode"} for row in missing)
    assert WORKER_REPORT not in response.content.decode()

    # the officials' pages (tally run, dashboard) read it with officials=True
    officials = tally_status(election=ce.election, officials=True)["decryptions"]["missing"]
    assert [row["last_error"] for row in officials] == [None, WORKER_REPORT, None]
