"""tests/vectors/tlog.json verifies in Python exactly as frontend/test/tlog.test.mjs expects in JS:
every proof verifies, every invalid case fails with the named error (the same class names exist
in frontend/src/errors.mjs). Byte-for-byte regeneration is tests/vectors/test_vectors.py's job."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from crypto import errors
from crypto.checkpoint import (
    AddCheckpoint,
    Checkpoint,
    WitnessPolicy,
    open_checkpoint,
    verify_entry_proof,
)
from crypto.note import NoteVerifier, cosignature_message, open_note
from crypto.tlog import MemoryHashStore, leaf_hash, verify_consistency, verify_inclusion

V = json.loads((Path(__file__).parents[1] / "vectors" / "tlog.json").read_text(encoding="utf-8"))
LOG = NoteVerifier.from_vkey(V["log"]["vkey"])
POLICY = WitnessPolicy.from_vkeys([w["vkey"] for w in V["witnesses"]], V["quorum"])


def b64s(items: list[str]) -> list[bytes]:
    return [base64.b64decode(x) for x in items]


def test_tree():
    store = MemoryHashStore()
    for i, leaf in enumerate(V["leaves"]):
        assert leaf_hash(leaf.encode()).hex() == V["leaf_hashes"][i]
        store.append(leaf.encode())
    assert [store.root(s).hex() for s in range(store.size + 1)] == V["roots"]
    roots = [bytes.fromhex(r) for r in V["roots"]]
    for case in V["inclusion"]:
        i, s = case["index"], case["size"]
        verify_inclusion(bytes.fromhex(V["leaf_hashes"][i]), i, s, b64s(case["proof"]), roots[s])
    for case in V["consistency"]:
        m, s = case["old"], case["new"]
        verify_consistency(m, s, roots[m], roots[s], b64s(case["proof"]))
    for case in V["invalid_inclusion"]:
        with pytest.raises(errors.InvalidMerkleProof):
            verify_inclusion(
                bytes.fromhex(case["leaf"]),
                case["index"],
                case["size"],
                b64s(case["proof"]),
                roots[case["size"]],
            )
    for case in V["invalid_consistency"]:
        m, s = case["old"], case["new"]
        with pytest.raises(errors.InvalidMerkleProof):
            verify_consistency(m, s, roots[min(m, 17)], roots[min(s, 17)], b64s(case["proof"]))


def test_leaves_are_board_lines_without_newline():
    from crypto.board import BoardEntry

    for seq, leaf in enumerate(V["leaves"]):
        entry = BoardEntry.from_canonical_line(leaf.encode() + b"\n")
        assert entry.seq == seq and not leaf.endswith("\n")


def test_checkpoints_and_cosignatures():
    c = V["cosignature"]
    assert cosignature_message(c["text"], c["timestamp"]).decode() == c["message"]
    opened = open_note(c["text"] + "\n" + c["line"], [POLICY.witnesses[0]])
    assert opened.verified[0][2] == c["timestamp"]
    for case in V["checkpoints"]:
        checked = open_checkpoint(case["note"], origin=V["origin"], log_key=LOG, policy=None)
        assert checked.checkpoint.size == case["size"]
        if case["witnesses"] >= V["quorum"]:
            checked = open_checkpoint(case["note"], origin=V["origin"], log_key=LOG, policy=POLICY)
            assert len(checked.witnesses) == case["witnesses"]
        else:
            with pytest.raises(errors.QuorumNotMet):
                open_checkpoint(case["note"], origin=V["origin"], log_key=LOG, policy=POLICY)
    for case in V["invalid_checkpoints"]:
        with pytest.raises(getattr(errors, case["error"])) as caught:
            open_checkpoint(case["note"], origin=V["origin"], log_key=LOG, policy=POLICY)
        # the named class exactly, not a parent or a sibling
        assert type(caught.value).__name__ == case["error"], case["reason"]
    for case in V["invalid_vkeys"]:
        with pytest.raises(errors.InvalidNote):
            NoteVerifier.from_vkey(case["vkey"])


def test_tlog_proofs():
    for case in V["tlog_proofs"]:
        entry, checked = verify_entry_proof(
            case["proof"], origin=V["origin"], log_key=LOG, policy=POLICY, tracker=case["tracker"]
        )
        assert entry.seq == case["index"] and checked.checkpoint.size == 17
    for case in V["invalid_tlog_proofs"]:
        with pytest.raises(errors.CryptoError) as caught:
            verify_entry_proof(case["proof"], origin=V["origin"], log_key=LOG, policy=POLICY)
        assert type(caught.value).__name__ == case["error"], case["reason"]


def test_add_checkpoint_body():
    request = AddCheckpoint.from_bytes(V["add_checkpoint"].encode())
    assert request.old_size == 12
    checked = open_checkpoint(request.checkpoint, origin=V["origin"], log_key=LOG, policy=POLICY)
    roots = [bytes.fromhex(r) for r in V["roots"]]
    cp: Checkpoint = checked.checkpoint
    verify_consistency(12, cp.size, roots[12], cp.root, list(request.proof))
