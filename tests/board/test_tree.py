"""The board's transparency log in the database: the stored tree equals a naive recomputation over
the exported lines at every size and across batch boundaries, checkpoints are signed notes of the
board key that open under the election's origin, proofs served by the API verify, hostile
parameters get a 4xx, and the log's tables are append-only."""

from __future__ import annotations

import base64

import pytest
from django.db import transaction

from board import tree as board_tree
from board.keys import board_public_key_hex
from board.models import AppendOnlyViolation, BoardCheckpoint, BoardEntry, BoardTree, BoardTreeHash
from board.services import board_append
from board.tasks import board_checkpoints
from board.tree import (
    board_checkpoint,
    board_checkpoints_due,
    board_origin,
    board_root,
    board_tree_extend,
)
from crypto.checkpoint import open_checkpoint, verify_entry_proof
from crypto.errors import InvalidMerkleProof, UnverifiedNote
from crypto.note import SIG_ED25519, NoteSigner, NoteVerifier
from crypto.tlog import MemoryHashStore, leaf_hash, verify_consistency, verify_inclusion
from tests.voting.factories import make_election

pytestmark = pytest.mark.django_db


def _append(election, n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            board_append(election_id=election.pk, kind="tally", payload={"i": i})


def _naive_root(election, size: int) -> bytes:
    store = MemoryHashStore()
    lines = (
        BoardEntry.objects.filter(election=election).order_by("seq").values_list("line", flat=True)
    )
    for line in list(lines)[:size]:
        store.append(line.encode("utf-8"))
    return store.root(size)


def _log_key(election) -> NoteVerifier:
    return NoteVerifier(
        board_origin(election.pk), SIG_ED25519, bytes.fromhex(board_public_key_hex())
    )


def test_the_tree_follows_the_board_one_entry_at_a_time() -> None:
    election = make_election()
    store = MemoryHashStore()
    store.append(BoardEntry.objects.get(election=election, seq=0).line.encode())
    assert board_tree_extend(election_id=election.pk) == 1
    for size in range(2, 40):
        _append(election, 1)
        store.append(BoardEntry.objects.get(election=election, seq=size - 1).line.encode())
        assert board_tree_extend(election_id=election.pk) == size
        assert board_root(election_id=election.pk, size=size) == store.root()
    # every earlier size's root is still readable from the stored hashes
    for size in range(1, 40):
        assert board_root(election_id=election.pk, size=size) == store.root(size)
    assert BoardTreeHash.objects.filter(election=election).count() == 2 * 39 - bin(39).count("1")


@pytest.mark.parametrize("batch", [1, 2, 7, 64])
def test_catching_up_in_batches_across_their_boundaries(monkeypatch, batch: int) -> None:
    monkeypatch.setattr(board_tree, "EXTEND_BATCH", batch)
    election = make_election()
    _append(election, 129)  # 130 entries: boundaries of 2, 64 and 128 leaves on the way
    assert board_tree_extend(election_id=election.pk, upto=65) == 65
    assert board_root(election_id=election.pk, size=65) == _naive_root(election, 65)
    assert board_tree_extend(election_id=election.pk) == 130
    for size in (1, 2, 63, 64, 65, 127, 128, 129, 130):
        assert board_root(election_id=election.pk, size=size) == _naive_root(election, size)


def test_a_checkpoint_is_the_board_keys_signed_note_under_the_elections_origin() -> None:
    election = make_election()
    _append(election, 4)
    checkpoint = board_checkpoint(election_id=election.pk)
    assert checkpoint.size == 5 and checkpoint.root == _naive_root(election, 5).hex()
    checked = open_checkpoint(
        checkpoint.note, origin=board_origin(election.pk), log_key=_log_key(election)
    )
    assert checked.checkpoint.size == 5
    assert board_origin(election.pk).endswith(f"/pnyx/{election.pk}")
    # nothing new: no new checkpoint
    assert board_checkpoint(election_id=election.pk).pk == checkpoint.pk
    _append(election, 1)
    assert board_checkpoint(election_id=election.pk).size == 6
    # a log signature by another key does not open
    other = NoteSigner.generate(board_origin(election.pk)).verifier
    with pytest.raises(UnverifiedNote):
        open_checkpoint(checkpoint.note, origin=board_origin(election.pk), log_key=other)


def test_a_state_change_checkpoints_after_its_commit(django_capture_on_commit_callbacks) -> None:
    election = make_election()
    _append(election, 2)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            board_append(election_id=election.pk, kind="state", payload={"to": "x"})
    latest = BoardCheckpoint.objects.filter(election=election).order_by("-size").first()
    assert latest is not None and latest.size == 4


def test_the_periodic_task_checkpoints_only_boards_with_new_entries() -> None:
    first, second = make_election(), make_election()
    _append(first, 3)
    assert {first.pk, second.pk} <= set(board_checkpoints_due())
    board_checkpoints()
    assert first.pk not in board_checkpoints_due() and second.pk not in board_checkpoints_due()
    _append(second, 1)
    assert second.pk in board_checkpoints_due()
    assert BoardCheckpoint.objects.filter(election=first).count() == 1


def test_proofs_from_the_api_verify(client) -> None:
    election = make_election()
    _append(election, 9)
    old = board_checkpoint(election_id=election.pk)
    _append(election, 20)
    new = board_checkpoint(election_id=election.pk)
    base = f"/api/elections/{election.pk}"
    response = client.get(f"{base}/checkpoint")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == new.note
    for index in (0, 9, 29):
        answer = client.get(f"{base}/board/proof/inclusion", {"index": index, "size": new.size})
        assert answer.status_code == 200, answer.content
        proof = [base64.b64decode(h) for h in answer.json()["proof"]]
        line = BoardEntry.objects.get(election=election, seq=index).line.encode()
        verify_inclusion(leaf_hash(line), index, new.size, proof, bytes.fromhex(new.root))
        with pytest.raises(InvalidMerkleProof):
            verify_inclusion(
                leaf_hash(line + b" "), index, new.size, proof, bytes.fromhex(new.root)
            )
    answer = client.get(f"{base}/board/proof/consistency", {"old": old.size, "new": new.size})
    assert answer.status_code == 200
    proof = [base64.b64decode(h) for h in answer.json()["proof"]]
    verify_consistency(old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), proof)
    listing = client.get(f"{base}/checkpoints/").json()["results"]
    assert [row["size"] for row in listing] == [old.size, new.size]


def test_an_entry_proof_is_a_receipt_checkable_offline(client) -> None:
    election = make_election()
    _append(election, 5)
    base = f"/api/elections/{election.pk}"
    waiting = client.get(f"{base}/board/proof/3")
    assert waiting.status_code == 404 and waiting["Retry-After"]
    assert waiting.json()["error"]["code"] == "not_checkpointed_yet"
    board_checkpoint(election_id=election.pk)
    answer = client.get(f"{base}/board/proof/3")
    assert answer.status_code == 200
    entry, checked = verify_entry_proof(
        answer.content, origin=board_origin(election.pk), log_key=_log_key(election), policy=None
    )
    assert entry.seq == 3 and checked.checkpoint.size == 6
    assert client.get(f"{base}/board/proof/6").status_code == 404  # beyond the head


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("board/proof/inclusion", {"index": "x", "size": "3"}),
        ("board/proof/inclusion", {"index": "3", "size": "3"}),
        ("board/proof/inclusion", {"index": "-1", "size": "3"}),
        ("board/proof/inclusion", {"size": "3"}),
        ("board/proof/inclusion", {"index": "0", "size": "0"}),
        ("board/proof/inclusion", {"index": "0", "size": "99999999999999999999"}),
        ("board/proof/inclusion", {"index": "٣", "size": "3"}),
        ("board/proof/consistency", {"old": "4", "new": "3"}),
        ("board/proof/consistency", {"old": "1"}),
        ("checkpoints/", {"after": "1e3"}),
    ],
)
def test_hostile_parameters_get_a_400(client, path: str, params: dict) -> None:
    election = make_election()
    _append(election, 3)
    board_checkpoint(election_id=election.pk)
    response = client.get(f"/api/elections/{election.pk}/{path}", params)
    assert response.status_code == 400, response.content


def test_sizes_beyond_the_tree_and_unknown_boards_are_404(client) -> None:
    election = make_election()
    board_checkpoint(election_id=election.pk)
    base = f"/api/elections/{election.pk}"
    assert client.get(f"{base}/board/proof/inclusion", {"index": 0, "size": 5}).status_code == 404
    assert client.get(f"{base}/board/proof/consistency", {"old": 0, "new": 5}).status_code == 404
    unknown = "/api/elections/00000000-0000-4000-8000-000000000000"
    for path in ("checkpoint", "checkpoints/", "board/proof/0"):
        assert client.get(f"{unknown}/{path}").status_code == 404


def test_the_logs_rows_are_append_only() -> None:
    election = make_election()
    board_checkpoint(election_id=election.pk)
    with pytest.raises(AppendOnlyViolation):
        BoardTreeHash.objects.filter(election=election).update(hash=bytes(32))
    with pytest.raises(AppendOnlyViolation):
        BoardCheckpoint.objects.filter(election=election).delete()
    assert BoardTree.objects.get(election=election).size == 1
