"""The mixnet end to end (protocol §15.11): a worker trustee shuffles through its Celery queue,
an offline trustee stays silent and is skipped after PNYX_MIX_TIMEOUT_SECONDS, another offline
trustee runs ``pnyx-trustee mix`` and ``mix-decrypt`` against the live board and uploads; the
rows and the result are published and the board verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from board.models import BoardEntry
from tally.models import KeyCeremony, MixRun, MixStatus
from tests.tally.helpers import (
    PASSPHRASE,
    ROOT,
    add_voters_and_open,
    pnyx_verify,
    setup_ceremony,
    trustee_worker,
    wait_for,
)
from tests.tally.test_mix import MIXED, _choices
from voting.models import Election
from voting.services.elections import election_close, election_start_ceremony

PNYX_TRUSTEE = Path(sys.executable).parent / "pnyx-trustee"


def _mix(election) -> MixRun | None:
    return MixRun.objects.filter(election=election).first()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.e2e
def test_worker_and_offline_mixers_one_skipped(
    tmp_path, celery_worker_real, live_server, settings
) -> None:
    settings.PNYX_MIX_TIMEOUT_SECONDS = 10
    client = Client()
    ce = setup_ceremony(tmp_path, questions=MIXED, modes=("worker", "offline", "offline"))
    t1, t2, t3 = ce.trustees
    workers = trustee_worker(
        [t1], tmp_path / "trustees.log", tmp_path / "pass", board=live_server.url
    )
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    board = f"{live_server.url}/api/elections/{ce.election.pk}/board.jsonl"

    def cli(step: str) -> dict:
        out = tmp_path / f"{step}-3.json"
        store = str(t3.store_path)
        for cmd in (
            [
                step,
                "--keystore",
                store,
                "--passphrase-file",
                str(passphrase),
                "--board",
                board,
                "--out",
                str(out),
            ],
            ["upload", str(out), "--server", live_server.url],
        ):
            done = subprocess.run(
                [str(PNYX_TRUSTEE), *cmd], capture_output=True, text=True, cwd=ROOT, timeout=120
            )
            assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    try:
        election_start_ceremony(election=ce.election, acting_user=None)
        for step, phase in (
            ("commit", "deal"),
            ("deal", "check"),
            ("check", "confirm"),
            ("confirm", "done"),
        ):
            for offline in (t2, t3):
                assert offline.send(client, step, tmp_path).status_code == 202
            wait_for(
                lambda p=phase: KeyCeremony.objects.get(election=ce.election).phase == p,
                what=phase,
                timeout=60,
            )
        add_voters_and_open(ce, [1, 2, 7])
        cast = [(True, {0, 17}), (False, {5}), (True, set())]
        for voter, (yes, selected) in enumerate(cast):
            ce.cast(Client(), voter, [[1, 0] if yes else [0, 1], _choices(selected)])
        election_close(election=ce.election, acting_user=None)
        # trustee 1's worker shuffles; trustee 2 says nothing and is skipped after the timeout
        wait_for(
            lambda: (m := _mix(ce.election)) is not None and m.next_mixer == 3,
            what="trustee 1's shuffle and trustee 2's skip",
            timeout=90,
        )
        mix = _mix(ce.election)
        assert (mix.shuffled, mix.skipped) == ([1], [2])
        assert cli("mix")["status"] == "accepted"
        wait_for(lambda: _mix(ce.election).status == MixStatus.DECRYPTING, what="decrypting")
        assert cli("mix-decrypt")["status"] == "accepted"
        wait_for(lambda: _mix(ce.election).status == MixStatus.DONE, what="rows", timeout=60)
        assert t3.send(client, "decrypt", tmp_path).status_code == 202
        wait_for(
            lambda: Election.objects.get(pk=ce.election.pk).state == "tallied",
            what="the result",
            timeout=60,
        )
    finally:
        workers.stop()
    mix = _mix(ce.election)
    assert (mix.shuffled, mix.skipped, sorted(mix.decrypted)) == ([1, 3], [2], [1, 3])
    rows = []
    for entry in BoardEntry.objects.filter(election=ce.election, kind="mix-result").order_by("seq"):
        rows.extend(json.loads(entry.line)["payload"]["rows"])
    assert sorted((r["weight"], r["choices"][0]) for r in rows) == [(1, [0, 17]), (2, [5]), (7, [])]
    skip = BoardEntry.objects.get(election=ce.election, kind="mix-skip")
    assert json.loads(skip.line)["payload"]["mixer"] == 2
    status = client.get(f"/api/elections/{ce.election.pk}/tally/").json()
    assert status["mix"]["status"] == "done" and status["mix"]["skipped"] == [2]
    assert pnyx_verify(ce.election, tmp_path) == 0
