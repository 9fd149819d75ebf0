"""Worker trustees act only on a board they verified (issue 9 §1): real ``celery`` processes for
the trustees, real Redis, PostgreSQL, and real HTTP servers for the board (pytest-django's
``live_server``, and in front of it a small proxy that serves a tampered board when told to).

* The decryption-oracle attack: ``tally.trustee_step`` requests sent through the broker with a
  ballot's ciphertexts — the old task's shape and the new one's with inputs added — and a plain
  "decrypt" while the election is open are refused and logged; nothing is decrypted, published
  or recorded in the key store. The honest tally still completes; a repeated request for the
  same tally gets the same signed decryption.
* A tampered board served to the trustee — a modified ballot, a forged tally entry (a ballot's
  ciphertexts as the tally), a rewritten earlier entry after a verified head (with and without
  the local copy) — is refused with the verifier's reason, and nothing is sent; served honestly
  again, the same request succeeds.
* A second decryption for a different (validly forked) tally is refused and logged, through the
  offline command too.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone
from kombu import Queue

from board.models import BoardEntry as BoardRow
from crypto.tally import ballot_option_ciphertexts
from tally.models import PartialDecryptionRecord, TallyRun, Trustee
from tally.services.dispatch import tally_dispatch_decryptions
from tally.tasks import trustee_message, trustee_step
from tally.trustee_steps import DecryptionRefused, decrypt_once
from tally.trustee_worker import local_board
from tests.tally.boards import (
    BoardProxy,
    drop_ballot,
    entries_of,
    forge_tally,
    modify_ballot,
    rechain,
)
from tests.tally.helpers import (
    add_voters_and_open,
    expected_counts,
    pnyx_verify,
    setup_ceremony,
    trustee_worker,
    wait_for,
)
from tests.tally.test_tally_cli import PNYX_TRUSTEE
from tests.tally.test_tally_cli import run as run_command
from tests.tally.test_tally_pipeline import (
    kinds,
    phase_of,
    result_payload,
    state_of,
    vote,
)
from tests.voting.factories import SINGLE5
from voting.services.elections import election_close, election_start_ceremony

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

A, B, C = [[1, 0, 0, 0, 0]], [[0, 1, 0, 0, 0]], [[0, 0, 1, 0, 0]]


# --- Helpers ------------------------------------------------------------------------------------


def run_ceremony(ce, client, tmp_path) -> None:
    """Trustee 1 is a worker; trustees 2 and 3 play their steps offline as the phases come."""
    election_start_ceremony(election=ce.election, acting_user=None)
    for step in ("commit", "deal", "check", "confirm"):
        wait_for(lambda s=step: phase_of(ce.election) == s, what=f"phase {step}")
        for trustee in ce.trustees[1:]:
            assert trustee.send(client, step, tmp_path).status_code == 202, step
    wait_for(lambda: state_of(ce.election) == "ready", what="the election key")


def send_request(to, **kwargs) -> None:
    """What anyone who can write to the broker can send to a trustee's queue (``to``)."""
    trustee_step.apply_async(
        kwargs=kwargs,
        queue=Queue(to.model.queue, routing_key=to.model.queue),
        link=trustee_message.s(to.model.pk).set(queue="tally"),
    )


def answered_with_error(trustee, since) -> str:
    """Wait for the trustee's worker to report an error after ``since``; return it."""

    def reported() -> bool:
        row = Trustee.objects.get(pk=trustee.model.pk)
        return row.last_error_at is not None and row.last_error_at > since

    wait_for(reported, what="the trustee worker's answer", timeout=60)
    return Trustee.objects.get(pk=trustee.model.pk).last_error


def ask(to, **kwargs) -> str:
    since = timezone.now()
    send_request(to, **kwargs)
    return answered_with_error(to, since)


def redispatch(ce, trustee) -> str:
    since = timezone.now()
    run = TallyRun.objects.get(election=ce.election)
    assert tally_dispatch_decryptions(run_id=run.pk) == 1
    return answered_with_error(trustee, since)


def board_lines_of(election) -> list[bytes]:
    return [
        line.encode() + b"\n"
        for line in BoardRow.objects.filter(election=election)
        .order_by("seq")
        .values_list("line", flat=True)
    ]


def partials_of(election, index: int) -> int:
    return PartialDecryptionRecord.objects.filter(
        run__election=election, trustee__index=index
    ).count()


# --- The oracle attack ----------------------------------------------------------------------------


def test_the_decryption_oracle_is_closed(tmp_path, celery_worker_real, live_server, caplog) -> None:
    caplog.set_level("INFO")
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("worker", "offline", "offline"))
    one = ce.trustees[0]
    worker = trustee_worker(
        [one], tmp_path / "worker.log", tmp_path / "pass", board=live_server.url
    )
    try:
        run_ceremony(ce, client, tmp_path)
        add_voters_and_open(ce, [1, 1, 2])
        victim = ce.cast(Client(), 0, A)
        last = vote(ce, [(1, B), (2, C)])
        last[0] = (1, A)
        cts = [c.to_json() for c in ballot_option_ciphertexts(victim, ce.manifest.spec)]
        before = BoardRow.objects.filter(election=ce.election).count()
        head = one.store().secrets.get("board")

        # the old task's shape, with everything a decryption needed — refused, nothing read
        board = one.view(tmp_path)
        params = board.params()
        old_style = {
            "step": "decrypt",
            "params": params.to_json(),
            "index": 1,
            "inputs": {
                "deals": board.qualified_deals(params),
                "fingerprint": board.fingerprint(),
                "ciphertexts": cts,
                "verification_key": board.verification_key(1),
            },
        }
        error = ask(one, **old_style)
        assert error.startswith("refused: the request carries 'index', 'inputs', 'params'")
        # the new task's shape with the ciphertexts added — refused likewise
        error = ask(one, election=str(ce.election.pk), trustee=1, step="decrypt", ciphertexts=cts)
        assert error.startswith("refused: the request carries 'ciphertexts'")
        assert one.store().secrets.get("board") == head  # not even the board was read
        # a plain request to decrypt while the election is open — the verified board says no
        error = ask(one, election=str(ce.election.pk), trustee=1, step="decrypt")
        assert "the election is open" in error and "only the tally entry" in error
        store = one.store()
        assert "decryption" not in store.secrets  # nothing decrypted, nothing recorded
        assert store.secrets["board"]["seq"] == before - 1  # the board it verified, up to its head
        assert BoardRow.objects.filter(election=ce.election).count() == before
        assert "partial-decryption" not in kinds(ce.election) and partials_of(ce.election, 1) == 0
        log = worker.output()
        assert log.count("REFUSED") == 3
        assert "REFUSED a tally.trustee_step request: the request carries 'index'" in log
        assert cts[0]["alpha"] not in log  # the refusal names fields, never their content

        # the honest path: close, the worker decrypts the verified tally, trustee 2 uploads
        election_close(election=ce.election, acting_user=None)
        wait_for(lambda: partials_of(ce.election, 1) == 1, what="trustee 1's decryption")
        store = one.store()
        tally = BoardRow.objects.get(election=ce.election, kind="tally")
        assert store.secrets["decryption"]["tally_hash"] == tally.hash
        recorded = store.secrets["decryption"]["envelope"]
        # asked again for the same tally: the same signed decryption (a duplicate for the server)
        answered = worker.output().count("succeeded")
        errors = Trustee.objects.get(pk=one.model.pk).last_error_at
        send_request(one, election=str(ce.election.pk), trustee=1, step="decrypt")
        wait_for(lambda: worker.output().count("succeeded") > answered, what="the repeat")
        assert worker.output().count("REFUSED") == 3  # no new refusal
        assert one.store().secrets["decryption"]["envelope"] == recorded
        assert partials_of(ce.election, 1) == 1
        wait_for(lambda: "'duplicate'" in caplog.text, what="the server's answer")
        assert Trustee.objects.get(pk=one.model.pk).last_error_at == errors
        assert ce.trustees[1].send(client, "decrypt", tmp_path).status_code == 202
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result")
    finally:
        worker.stop()
    result = result_payload(ce.election)
    assert result["counts"] == expected_counts(ce.refresh().manifest, last) == [[1, 1, 2, 0, 0]]
    decryption = json.loads(
        BoardRow.objects.filter(election=ce.election, kind="partial-decryption")
        .order_by("seq")
        .first()
        .line
    )["payload"]
    assert decryption == recorded["message"]
    assert pnyx_verify(ce.election, tmp_path) == 0


# --- Tampered boards ------------------------------------------------------------------------------


def test_a_tampered_board_is_refused_with_the_verifiers_reason(
    tmp_path, celery_worker_real, live_server
) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5, modes=("worker", "offline", "offline"))
    one = ce.trustees[0]
    proxy = BoardProxy(live_server.url, None)
    worker = trustee_worker([one], tmp_path / "worker.log", tmp_path / "pass", board=proxy.url)
    try:
        run_ceremony(ce, client, tmp_path)
        add_voters_and_open(ce, [1, 2, 1, 1])
        proxy.spec = ce.manifest.spec
        ballots = [ce.cast(Client(), v, choices) for v, choices in ((0, A), (1, B), (2, C))]
        # the trustee verifies the open board (and refuses to decrypt): its head is now there
        assert "the election is open" in ask(
            one, election=str(ce.election.pk), trustee=1, step="decrypt"
        )
        head = dict(one.store().secrets["board"])
        assert head["seq"] == BoardRow.objects.filter(election=ce.election).count() - 1
        late = ce.cast(Client(), 3, B)  # cast after that head
        last = {0: (1, A), 1: (2, B), 2: (1, C), 3: (1, B)}

        def refused_without_trace(error: str, *reasons: str) -> None:
            assert error.startswith("refused: the board does not verify: "), error
            for reason in reasons:
                assert reason in error, (reason, error)
            store = one.store()
            assert "decryption" not in store.secrets and store.secrets["board"] == head
            assert partials_of(ce.election, 1) == 0

        # a ballot modified after the verified head: its proofs fail
        proxy.transform = modify_ballot(late.tracker())
        since = timezone.now()
        election_close(election=ce.election, acting_user=None)
        wait_for(lambda: state_of(ce.election) == "tallying", what="the encrypted tally")
        error = answered_with_error(one, since)
        late_seq = BoardRow.objects.get(
            election=ce.election, kind="ballot", seq__gt=head["seq"]
        ).seq
        refused_without_trace(error, f"entry {late_seq} (ballot)")
        # a forged tally entry: the first ballot's ciphertexts
        proxy.transform = forge_tally(ballots[0].tracker())
        tally_seq = BoardRow.objects.get(election=ce.election, kind="tally").seq
        refused_without_trace(redispatch(ce, one), f"entry {tally_seq} (tally)")
        # an earlier entry rewritten (a counted ballot dropped, the tally recomputed, the chain
        # rebuilt: a board that verifies on its own) does not extend the verified head ...
        fork = drop_ballot(ballots[1].tracker(), 2)
        proxy.transform = fork
        refused_without_trace(
            redispatch(ce, one), "chain", f"verified the board up to entry #{head['seq']}"
        )
        # ... nor when the trustee has lost its local copy and reads the whole board again
        local_board(one.store_path).unlink()
        refused_without_trace(redispatch(ce, one), "since", head["hash"])
        assert "does not end at the verified head" in worker.output()

        # served honestly again: the same request succeeds
        proxy.transform = None
        redispatch_since = timezone.now()
        run = TallyRun.objects.get(election=ce.election)
        tally_dispatch_decryptions(run_id=run.pk)
        wait_for(lambda: partials_of(ce.election, 1) == 1, what="trustee 1's decryption")
        assert Trustee.objects.get(pk=one.model.pk).last_error_at < redispatch_since
        assert ce.trustees[1].send(client, "decrypt", tmp_path).status_code == 202
        wait_for(lambda: state_of(ce.election) == "tallied", what="the result")
    finally:
        worker.stop()
        proxy.close()
    assert result_payload(ce.election)["counts"] == expected_counts(ce.refresh().manifest, last)
    assert pnyx_verify(ce.election, tmp_path) == 0

    # --- a second decryption for a different tally: the fork up to `tallying` is a valid board
    # (pnyx-verify passes it), but trustee 1 decrypted this election's tally already
    lines = board_lines_of(ce.election)
    upto = next(i for i, line in enumerate(lines) if b'"to":"tallying"' in line)
    forked = tmp_path / "forked.jsonl"
    forked.write_bytes(b"".join(rechain(fork(entries_of(lines[: upto + 1]), ce.manifest.spec))))
    from verifier.cli import main as verify_main

    assert verify_main([str(forked), "--jobs", "1", "--no-progress"]) == 0
    recorded = dict(one.store().secrets["decryption"])
    refused = run_command(
        [
            str(PNYX_TRUSTEE),
            "decrypt",
            "--keystore",
            str(one.store_path),
            "--passphrase-file",
            str(tmp_path / "pass"),
            "--board",
            str(forked),
        ],
        ok=False,
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"already decrypted the tally entry #{recorded['tally_seq']}" in refused.stderr
    assert "refuses the tally entry" in refused.stderr
    assert one.store().secrets["decryption"] == recorded
    # the same rule in the trustee's own code, whatever calls it
    with pytest.raises(DecryptionRefused, match="decrypts one tally per election and key"):
        from tally.trustee_board import verify_file

        decrypt_once(one.store(), verify_file(forked).view)
