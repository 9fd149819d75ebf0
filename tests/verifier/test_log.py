"""pnyx-verify checks the transparency log (protocol §14): every published checkpoint against the
export (flat memory: a compact range), the witnesses' cosignatures against the manifest and its
quorum; a signed checkpoint that disagrees with the export, or two of one size, is a fork with
its proof; ``--receipt`` checks one voter's receipt against the latest witnessed checkpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from board.models import BoardEntry
from board.services import board_append
from board.tree import board_checkpoint, board_checkpoint_text, board_log_signer
from board.witnesses import board_witnesses_collect
from crypto.checkpoint import Checkpoint
from crypto.note import sign_note
from crypto.tlog import MemoryHashStore, leaf_hash
from tests.board.test_witnesses import RunningWitness
from tests.voting.factories import build_election, login, post_json
from verifier import cli
from verifier.log import CompactRange, check_log
from voting.models import ElectionWitness
from voting.services.elections import election_open

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_compact_range_gives_every_trees_root() -> None:
    store, compact = MemoryHashStore(), CompactRange()
    for i in range(300):
        data = f"entry {i}".encode()
        store.append(data)
        compact.append(leaf_hash(data))
        assert compact.root() == store.root()


@pytest.fixture
def witnessed(tmp_path):
    """An open election whose one witness (quorum 1) runs; ballots cast; checkpoints cosigned."""
    built = build_election(open_it=False)
    election = built.election
    from board.tree import board_origin

    running = RunningWitness(tmp_path / "witness", "news.example.org")
    running.witness_log(board_origin(election.pk))
    url = running.start()
    ElectionWitness.objects.create(
        election=election, position=1, name="news.example.org", key=running.vkey, url=url
    )
    election.witness_quorum = 1
    election.save()
    election_open(election=election, acting_user=None)
    built.refresh()
    board_checkpoint(election_id=election.pk)
    board_witnesses_collect(election_id=election.pk)
    receipts = []
    for i, voter in enumerate(built.voters):
        response = post_json(
            login(Client(), voter), f"{built.url}/ballots/", built.ballot(i).to_json()
        )
        assert response.status_code == 201
        receipts.append(response.json())
    board_checkpoint(election_id=election.pk)
    board_witnesses_collect(election_id=election.pk)
    yield built, receipts
    running.stop()


def _lines(election) -> list[tuple[int, bytes]]:
    rows = BoardEntry.objects.filter(election=election).order_by("seq").values_list("seq", "line")
    return [(seq, line.encode()) for seq, line in rows]


def _notes(election) -> list[str]:
    from board.models import BoardCheckpoint

    return [
        board_checkpoint_text(c)
        for c in BoardCheckpoint.objects.filter(election=election).order_by("size")
    ]


def test_the_log_of_a_witnessed_board_checks(witnessed) -> None:
    built, _ = witnessed
    report = check_log(_lines(built.election), _notes(built.election))
    assert report.problem is None, report.problem
    assert report.checked == report.checkpoints >= 2
    assert report.largest == len(_lines(built.election))
    assert (report.witnesses, report.quorum, report.cosigned_largest) == (1, 1, 1)


def test_a_checkpoint_that_disagrees_with_the_export_is_a_fork(witnessed) -> None:
    built, _ = witnessed
    lines = _lines(built.election)
    seq, line = lines[3]
    lines[3] = (seq, line.replace(b'"version":1', b'"version":1 '))
    report = check_log(lines, _notes(built.election))
    assert report.problem and report.problem.startswith("fork")
    assert report.fork["kind"] == "export-mismatch"


def test_two_signed_checkpoints_of_one_size_are_a_fork(witnessed) -> None:
    built, _ = witnessed
    notes = _notes(built.election)
    honest = Checkpoint.from_text(notes[-1].split("\n\n")[0] + "\n")
    forged = Checkpoint(honest.origin, honest.size, bytes(32))
    other = sign_note(forged.text(), [board_log_signer(honest.origin)])
    report = check_log(_lines(built.election), [*notes, other])
    assert report.problem and "fork" in report.problem
    assert report.fork["kind"] == "same-size" and len(report.fork["checkpoints"]) == 2


def test_a_checkpoint_signed_by_another_key_and_a_forged_cosignature_fail(witnessed) -> None:
    built, _ = witnessed
    notes = _notes(built.election)
    text = notes[-1].split("\n\n")[0] + "\n"
    from crypto.note import NoteSigner

    impostor = sign_note(text, [NoteSigner.generate(Checkpoint.from_text(text).origin)])
    report = check_log(_lines(built.election), [*notes[:-1], impostor])
    assert report.problem and "board key" in report.problem
    # the witness's cosignature line with one signature byte changed
    head, _, sigs = notes[-1].partition("\n\n")
    log_line, cosig = sigs.strip("\n").split("\n")
    name, blob = cosig[2:].split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1  # the signature's last byte
    tampered = base64.b64encode(bytes(raw)).decode()
    bad = f"{head}\n\n{log_line}\n— {name} {tampered}\n"
    report = check_log(_lines(built.election), [*notes[:-1], bad])
    assert report.problem and "does not verify" in report.problem


def test_the_quorum_on_the_largest_checkpoint(witnessed) -> None:
    built, _ = witnessed
    with transaction.atomic():
        board_append(election_id=built.election.pk, kind="state", payload={"x": 1})
    board_checkpoint(election_id=built.election.pk)  # no witness asked: 0 of 1
    report = check_log(_lines(built.election), _notes(built.election))
    assert report.problem and "quorum is 1" in report.problem


def test_pnyx_verify_checks_the_log_and_a_receipt_over_http(
    witnessed, live_server, tmp_path, capsys
) -> None:
    built, receipts = witnessed
    url = f"{live_server.url}/api/elections/{built.election.pk}/board.jsonl"
    assert cli.main([url, "--jobs", "1", "--require-witnessed", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "witnessed by 1 of 1 (quorum 1)" in out

    seq = receipts[0]["seq"]
    proof = Client().get(f"/api/elections/{built.election.pk}/board/proof/{seq}")
    assert proof.status_code == 200
    path = Path(tmp_path / "receipt.txt")
    path.write_bytes(proof.content)
    assert cli.main(["--receipt", str(path), url, "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["verified"] and verdict["seq"] == seq and verdict["cosigned"] == 1

    text = proof.content.decode()
    tampered = text.replace(text.split("\n")[2], "index 0", 1)  # the proof moved to entry 0
    path.write_text(tampered)
    assert cli.main(["--receipt", str(path), url]) == 1
    assert "NOT verified" in capsys.readouterr().out


def test_a_server_without_checkpoints_still_verifies(live_server, monkeypatch, capsys) -> None:
    """A protocol-version-1 server has no checkpoints endpoint (404): the board alone is verified."""
    import urllib.error

    from tests.voting.factories import make_election

    election = make_election()

    def missing(url, **kwargs):
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)

    monkeypatch.setattr(cli, "load_checkpoints", missing)
    url = f"{live_server.url}/api/elections/{election.pk}/board.jsonl"
    assert cli.main([url, "--jobs", "1", "--no-progress"]) == 0
    assert "publishes no checkpoints" in capsys.readouterr().err
    assert cli.main([url, "--jobs", "1", "--no-progress", "--require-witnessed"]) == 1


# --- --follow: advancing with consistency proofs ------------------------------------------------


def test_follow_advances_with_consistency_proofs_and_catches_a_fork(witnessed, live_server):
    """``pnyx-verify --follow``'s log step: the entries past the largest checkpoint are held back;
    a newer checkpoint from the server is accepted with its consistency proof from the last one
    checked, and its root is then checked against the new entries only. A checkpoint signed by
    the board key that does not extend the last one, a tampered proof, or one that shrinks the
    log is refused with the fork proof."""
    from verifier.log import LogProblem, follow_checkpoint

    built, _ = witnessed
    election = built.election
    api = f"{live_server.url}/api/elections/{election.pk}"
    held: list = []
    report = check_log(_lines(election), _notes(election), hold_back=held)
    assert report.problem is None, report.problem
    checker = report.checker
    first = checker.last[0]
    assert checker.size == first == len(_lines(election)) and held == []

    # nothing newer on the server yet: nothing changes
    assert follow_checkpoint(checker, api, held) == first
    # the board grows (a state entry is checkpointed at once) and the witness cosigns: the
    # follower, given the new entries, advances by a consistency proof
    for x in (1, 2):
        with transaction.atomic():
            board_append(election_id=election.pk, kind="state", payload={"x": x})
    board_witnesses_collect(election_id=election.pk)
    held.extend(_lines(election)[first:])
    checked = checker.report.checked
    assert follow_checkpoint(checker, api, held) == first + 2
    assert checker.size == first + 2 and not held
    assert checker.report.checked == checked + 1

    last_size, last_root, last_text = checker.last
    origin = Checkpoint.from_text(last_text.split("\n\n")[0] + "\n").origin
    signer = board_log_signer(origin)
    store = MemoryHashStore()
    for _, line in _lines(election):
        store.append(line)
    # a signed checkpoint one entry larger whose root is not that of any extension of the last
    forged = sign_note(Checkpoint(origin, last_size + 1, bytes(32)).text(), [signer])
    from crypto.tlog import prove_consistency

    with transaction.atomic():
        board_append(election_id=election.pk, kind="state", payload={"x": 3})
    for _, line in _lines(election)[last_size:]:
        store.append(line)
    proof = prove_consistency(last_size, last_size + 1, store)
    with pytest.raises(LogProblem) as failure:
        checker.advance(forged, proof)
    assert "does not extend" in str(failure.value) and failure.value.fork["kind"]
    # the honest next checkpoint with a tampered proof
    honest = sign_note(Checkpoint(origin, last_size + 1, store.root()).text(), [signer])
    bad_proof = [bytes(32)] + list(proof[1:]) if proof else [bytes(32)]
    with pytest.raises(LogProblem, match="does not extend"):
        checker.advance(honest, bad_proof)
    # a smaller one: the log shrank
    smaller = sign_note(Checkpoint(origin, last_size - 1, bytes(32)).text(), [signer])
    with pytest.raises(LogProblem, match="smaller") as failure:
        checker.advance(smaller, [])
    assert failure.value.fork["kind"] == "shrunk"
    # the honest one with its proof is accepted; its root then checks against the entry
    assert checker.advance(honest, proof) is True
    checker.add(*_lines(election)[-1])
    assert checker.last[0] == last_size + 1
