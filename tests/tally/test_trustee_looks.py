"""While an election is open, the sweeper (Celery beat) asks its worker trustees to look at the
board every ``PNYX_TRUSTEE_LOOK_SECONDS``: each one verifies what was appended since its last
look and answers "nothing to do" — quietly, on both sides — so that at the close it verifies only
the tail. Real processes: the server's worker with beat, a trustee's worker reading the board
from the live server, a private Redis.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from django.test import Client

from board.models import BoardHead
from tally.models import Trustee
from tally.trustee_worker import board_location, board_sync, local_board
from tests.tally.faults import fault_env, private_broker, server_worker
from tests.tally.helpers import trustee_worker, wait_for
from tests.tally.test_tally_faults import CHOICES, finish_with_offline_trustees, ready_election
from voting.models import Election
from voting.services.elections import election_close

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]


def head_of(election) -> int:
    return BoardHead.objects.get(election=election).seq


def verified(election, index: int) -> int | None:
    return Trustee.objects.get(ceremony__election=election, index=index).verified_seq


def test_a_worker_trustee_follows_the_open_election_and_verifies_only_the_tail_at_close(
    tmp_path, live_server
) -> None:
    ce, last = ready_election(tmp_path, voters=4, worker=(2,))
    election = ce.election
    looks = {"PNYX_TRUSTEE_LOOK_SECONDS": "1"}
    with private_broker(tmp_path / "redis") as broker:
        server = server_worker(tmp_path, broker, "server", beat=True, **looks)
        trustee = trustee_worker(
            ce.trustees[1:2],
            tmp_path / "trustee.log",
            tmp_path / "passphrase",
            board=live_server.url,
            env=fault_env(broker, **looks),
            app="tests.tally.worker_app",
            wait=False,
        )
        try:
            server.wait_ready()
            trustee.wait_ready()
            # it looks, verifies the board up to its head, and says so
            wait_for(lambda: verified(election, 2) == head_of(election), what="a first look")
            model = Trustee.objects.get(ceremony__election=election, index=2)
            assert model.last_seen_at is not None and model.last_error == ""
            assert ce.trustees[1].store().secrets["board"]["seq"] == head_of(election)
            # the board grows: the next looks follow it
            for voter in (0, 1):
                ce.cast(Client(), voter, CHOICES[voter + 2])
                last[voter] = (1, CHOICES[voter + 2])
            grown = head_of(election)
            wait_for(lambda: verified(election, 2) == grown, what="a look at the new ballots")
            followed = ce.trustees[1].store().secrets["board"]["seq"]
            assert followed == grown
            election_close(election=election, acting_user=None)
            wait_for(lambda: Election.objects.get(pk=election.pk).state == "tallying", what="tally")
            finish_with_offline_trustees(ce, tmp_path, last, indices=(1,))
        finally:
            trustee.stop()
            server.stop()
    result_trustees = Election.objects.get(pk=election.pk).tally_run.decryptions.filter(
        status="valid"
    )
    assert sorted(r.trustee.index for r in result_trustees) == [1, 2]

    # quiet on both sides: the looks leave no warning and no "nothing to do" line at INFO
    trustee_log, server_log = trustee.output(), server.output()
    assert len(re.findall(r"Task tally\.trustee_step\[[^\]]+\] received", trustee_log)) >= 3
    assert "nothing to do" not in trustee_log
    warnings = [
        line
        for line in trustee_log.splitlines()
        if " WARNING " in line and "unlocked" not in line and "reading the board" not in line
    ]
    assert warnings == []
    assert [line for line in server_log.splitlines() if "WARNING pnyx" in line] == []
    assert "has nothing to do" not in server_log


def test_a_look_at_a_board_with_nothing_new_verifies_nothing_again(tmp_path, live_server) -> None:
    """The worker keeps the board it verified last: when the server has appended nothing since,
    a request costs one HTTP request (the very verified board is reused); anything new, or a
    local copy that changed, is verified again."""
    ce, _ = ready_election(tmp_path, voters=3)
    election = ce.election
    trustee = ce.trustees[0]
    location = board_location(str(election.pk), {"PNYX_TRUSTEE_BOARD": live_server.url})
    store = trustee.store()
    first = board_sync(store, location)
    assert first.head[0] == head_of(election) and first.report.failure is None
    assert board_sync(store, location) is first  # nothing new: nothing verified again
    ce.cast(Client(), 0, CHOICES[1])
    second = board_sync(store, location)
    assert second is not first and second.head[0] == head_of(election) == first.head[0] + 1
    assert board_sync(store, location) is second
    copy = local_board(trustee.store_path)
    os.utime(copy, ns=(time.time_ns(), time.time_ns() + 10**9))  # the copy changed on disk
    third = board_sync(store, location)
    assert third is not second and third.head == second.head
    assert store.secrets["board"]["seq"] == head_of(election)
