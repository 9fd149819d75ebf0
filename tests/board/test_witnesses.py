"""Witnesses cosign the board's checkpoints: the manifest names them, the server asks a real
``pnyx-witness`` over HTTP, checks and stores the cosignature, catches up after a 409, and a witness
that is down or answers with another key never blocks anything (the error is kept)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from board.keys import board_public_key_hex
from board.models import BoardCosignature, BoardWitness
from board.services import board_append
from board.tree import board_checkpoint, board_checkpoint_text, board_origin
from board.witnesses import (
    board_witness_status,
    board_witnesses_collect,
    board_witnesses_due,
    board_witnesses_sync,
)
from crypto.checkpoint import open_checkpoint
from crypto.errors import QuorumNotMet
from crypto.manifest import Manifest
from crypto.note import SIG_ED25519, NoteVerifier
from tests.voting.factories import build_election
from voting.errors import ManifestInvalid
from voting.models import ElectionWitness
from voting.services.elections import election_open
from witness import cli
from witness.server import serve_in_thread
from witness.service import Witness

pytestmark = pytest.mark.django_db


class RunningWitness:
    def __init__(self, directory: Path, name: str) -> None:
        assert cli.main(["--dir", str(directory), "init", "--name", name]) == 0
        self.directory = directory
        self.vkey = Witness(directory).signer.verifier.vkey

    def witness_log(self, origin: str) -> None:
        log_key = NoteVerifier(origin, SIG_ED25519, bytes.fromhex(board_public_key_hex()))
        args = ["--dir", str(self.directory), "add-log", "--origin", origin, "--vkey"]
        assert cli.main([*args, log_key.vkey]) == 0

    def start(self) -> str:
        self.witness = Witness(self.directory)
        self.server, self.thread = serve_in_thread(self.witness)
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.witness.close()


@pytest.fixture
def witnessed(tmp_path):
    """An open election with two witnesses (quorum 2): one running, one whose URL answers
    nothing."""
    election = build_election(open_it=False).election
    origin = board_origin(election.pk)
    running = RunningWitness(tmp_path / "w1", "news.example.org")
    running.witness_log(origin)
    url = running.start()
    ElectionWitness.objects.create(
        election=election, position=1, name="news.example.org", key=running.vkey, url=url
    )
    silent = RunningWitness(tmp_path / "w2", "uni.example.org")
    ElectionWitness.objects.create(
        election=election,
        position=2,
        name="uni.example.org",
        key=silent.vkey,
        url="http://127.0.0.1:9",  # discard port: nothing answers
    )
    election.witness_quorum = 1
    election.save()
    election_open(election=election, acting_user=None)
    yield election, running
    running.stop()


def _append(election, n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            board_append(election_id=election.pk, kind="tally", payload={"i": i})


def _policy(election):
    election.refresh_from_db()
    return Manifest.from_json(json.loads(election.manifest_json)).witness_policy


def _log_key(election) -> NoteVerifier:
    origin = board_origin(election.pk)
    return NoteVerifier(origin, SIG_ED25519, bytes.fromhex(board_public_key_hex()))


def test_the_manifest_names_the_witnesses_and_the_board_asks_them(witnessed) -> None:
    election, _ = witnessed
    election.refresh_from_db()
    manifest = Manifest.from_json(json.loads(election.manifest_json))
    assert [w.name for w in manifest.witnesses] == ["news.example.org", "uni.example.org"]
    assert manifest.witness_quorum == 1
    rows = board_witnesses_sync(election_id=election.pk)
    assert [(r.name, r.position) for r in rows] == [("news.example.org", 1), ("uni.example.org", 2)]

    first = board_checkpoint(election_id=election.pk)
    assert election.pk in board_witnesses_due()
    assert board_witnesses_collect(election_id=election.pk) == 1
    text = board_checkpoint_text(first)
    checked = open_checkpoint(
        text, origin=board_origin(election.pk), log_key=_log_key(election), policy=_policy(election)
    )
    assert [w.name for w, _ in checked.witnesses] == ["news.example.org"]
    down = BoardWitness.objects.get(election=election, name="uni.example.org")
    assert down.last_error and down.cosigned_size == 0
    status = board_witness_status(election_id=election.pk)
    assert status == {
        "size": first.size,
        "cosigned": 1,
        "witnesses": 2,
        "quorum": 1,
        "witnessed_size": first.size,
    }

    # the board grows: the next checkpoint is cosigned with a consistency proof from the first
    _append(election, 17)
    second = board_checkpoint(election_id=election.pk)
    assert board_witnesses_collect(election_id=election.pk) == 1
    assert BoardWitness.objects.get(election=election, position=1).cosigned_size == second.size
    # asked again: nothing to do for the witness that cosigned
    assert board_witnesses_collect(election_id=election.pk) == 0
    assert BoardCosignature.objects.filter(checkpoint__election=election).count() == 2


def test_a_witness_that_knows_a_later_size_is_caught_up_after_its_409(witnessed) -> None:
    election, _ = witnessed
    board_checkpoint(election_id=election.pk)
    board_witnesses_collect(election_id=election.pk)
    BoardWitness.objects.filter(election=election, position=1).update(cosigned_size=0)
    _append(election, 5)
    latest = board_checkpoint(election_id=election.pk)
    assert board_witnesses_collect(election_id=election.pk) == 1
    assert BoardWitness.objects.get(election=election, position=1).cosigned_size == latest.size


def test_a_quorum_of_two_is_not_met_by_one_witness(witnessed) -> None:
    election, _ = witnessed
    checkpoint = board_checkpoint(election_id=election.pk)
    board_witnesses_collect(election_id=election.pk)
    policy = _policy(election)
    stricter = type(policy)(policy.witnesses, 2)
    with pytest.raises(QuorumNotMet):
        open_checkpoint(
            board_checkpoint_text(checkpoint),
            origin=board_origin(election.pk),
            log_key=_log_key(election),
            policy=stricter,
        )


def test_a_witness_answering_with_another_key_is_not_stored(tmp_path, witnessed) -> None:
    election, running = witnessed
    impostor = RunningWitness(tmp_path / "w3", "news.example.org")
    impostor.witness_log(board_origin(election.pk))
    url = impostor.start()
    try:
        board_witnesses_sync(election_id=election.pk)
        assert BoardWitness.objects.filter(election=election, position=1).update(url=url) == 1
        board_checkpoint(election_id=election.pk)
        assert board_witnesses_collect(election_id=election.pk) == 0
        row = BoardWitness.objects.get(election=election, position=1)
        assert "cosignature" in row.last_error or "verify" in row.last_error
        assert not BoardCosignature.objects.filter(witness=row).exists()
    finally:
        impostor.stop()


def test_a_quorum_larger_than_the_witnesses_cannot_open(tmp_path) -> None:
    election = build_election(open_it=False).election
    election.witness_quorum = 1
    election.save()
    with pytest.raises(ManifestInvalid):
        election_open(election=election, acting_user=None)
