"""Signed notes, checkpoints, cosignatures, quorums, tlog proofs and fork proofs (protocol §14)."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.board import BoardEntry
from crypto.checkpoint import (
    AddCheckpoint,
    Checkpoint,
    ForkProof,
    TlogProof,
    WitnessPolicy,
    classify_inconsistency,
    format_size_body,
    open_checkpoint,
    parse_pnyx_origin,
    parse_size_body,
    pnyx_origin,
    verify_entry_proof,
    verify_fork_proof,
    verify_tlog_proof,
)
from crypto.errors import (
    CryptoError,
    InvalidEncoding,
    InvalidMerkleProof,
    InvalidNote,
    InvalidProof,
    InvalidSignature,
    QuorumNotMet,
    UnverifiedNote,
)
from crypto.note import (
    MAX_SIGNATURES,
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteSigner,
    NoteVerifier,
    b64decode,
    b64encode,
    check_ed25519_public_key,
    cosignature_message,
    key_id,
    open_note,
    parse_note,
    sign_note,
)
from crypto.tlog import EMPTY_ROOT, MemoryHashStore, prove_consistency, prove_inclusion

ELECTION = "6b1f0c2e-2d4a-4f7e-8a51-9c3d2e1f0a77"
ORIGIN = pnyx_origin("vote.example.org", ELECTION)
LOG = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
WITNESSES = [
    NoteSigner.from_seed(f"w{i}.example/pnyx", bytes([i]) * 32, SIG_COSIGNATURE_V1)
    for i in (1, 2, 3)
]
POLICY = WitnessPolicy(tuple(w.verifier for w in WITNESSES), 2)

# c2sp.org/signed-note's own example (tests/vectors/c2sp/, CC BY 4.0: see its LICENSE-NOTE.md)
_C2SP = json.loads(
    (Path(__file__).parents[1] / "vectors" / "c2sp" / "signed-note-example.json").read_text("utf-8")
)
C2SP_VKEY, C2SP_NOTE = _C2SP["vkey"], _C2SP["note"]


def checkpoint_note(size: int, root: bytes, *, witnesses=(), timestamp=1_700_000_000) -> str:
    text = Checkpoint(ORIGIN, size, root).text()
    lines = [LOG.signature_line(text)]
    lines += [w.signature_line(text, timestamp=timestamp) for w in witnesses]
    return text + "\n" + "".join(lines)


def tree(n: int, *, change: int | None = None) -> MemoryHashStore:
    store = MemoryHashStore()
    for i in range(n):
        store.append(b"changed" if i == change else f"entry {i}".encode())
    return store


# --- signed notes ------------------------------------------------------------------------------


def test_the_c2sp_example_verifies():
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.vkey == C2SP_VKEY and verifier.sig_type == SIG_ED25519
    opened = open_note(C2SP_NOTE, [verifier])
    assert opened.text == _C2SP["text"] and opened.unknown == ()
    assert parse_note(C2SP_NOTE).to_text() == C2SP_NOTE


def test_key_ids_and_key_encodings():
    v = LOG.verifier
    assert v.key_id == key_id(ORIGIN, 1, v.public_key)
    assert NoteVerifier.from_vkey(v.vkey) == v
    assert NoteSigner.from_skey(LOG.to_skey()).verifier == v
    w = WITNESSES[0]
    # the cosignature key ID is computed with type 0x04: the same key under 0x01 has another ID
    assert w.key_id != key_id(w.name, SIG_ED25519, w.verifier.public_key)
    assert b64decode(w.verifier.vkey.split("+")[2], "vkey")[0] == 0x04
    assert "redacted" in repr(LOG) and LOG.to_skey().split("+")[-1] not in repr(LOG)
    good = v.vkey
    name, hex_id, material = good.split("+", 2)
    type2 = b64encode(b"\x02" + v.public_key)
    too_long = b64encode(b"\x01" + v.public_key + b"\x00")
    for bad in [
        f"{name}+{hex_id.upper()}+{material}",
        f"{name}+{int(hex_id, 16) ^ 1:08x}+{material}",
        f"other.example+{hex_id}+{material}",
        f"{name}+{hex_id}+{material[:-1]}",
        f"{name}+{hex_id}+{type2}",
        f"{name}+{hex_id}+{too_long}",
        f"{name} x+{hex_id}+{material}",
        f"{name}+{hex_id}",
        f"+{hex_id}+{material}",
    ]:
        with pytest.raises(InvalidNote):
            NoteVerifier.from_vkey(bad)


def test_weak_ed25519_keys_are_refused():
    identity = (1).to_bytes(32, "little")
    order_two = ((2**255 - 19) - 1).to_bytes(32, "little")  # (0, −1)
    non_canonical = (2**255 - 19 + 1).to_bytes(32, "little")  # y = 1 + p
    off_curve = (2).to_bytes(32, "little")
    # an order-8 point: y = 2707385501144840649318225287225658788936804267575313519463743609750303402022
    order_8 = (
        2707385501144840649318225287225658788936804267575313519463743609750303402022
    ).to_bytes(32, "little")
    torsioned = None
    # a prime-order point plus a small-order one is not in the subgroup
    from crypto.note import _add, _decode_point

    p = _decode_point(LOG.verifier.public_key)
    t = _decode_point(order_8)
    x, y = _add(p, t)
    torsioned = (y | ((x & 1) << 255)).to_bytes(32, "little")
    for raw in (identity, order_two, non_canonical, off_curve, order_8, torsioned, b"\x00" * 31):
        with pytest.raises(InvalidNote):
            check_ed25519_public_key(raw)
    check_ed25519_public_key(LOG.verifier.public_key)


def test_open_note_rules():
    text = Checkpoint(ORIGIN, 1, EMPTY_ROOT[:31] + b"\x01").text()
    other = NoteSigner.from_seed(ORIGIN, b"\x09" * 32)  # same name, another key: another ID
    note = sign_note(text, [LOG, other])
    opened = open_note(note, [LOG.verifier])
    assert opened.signers() == {LOG.verifier} and len(opened.unknown) == 1
    with pytest.raises(UnverifiedNote):
        open_note(note, [WITNESSES[0].verifier])
    # a signature by a known key that fails rejects the whole note
    forged = note.replace(
        LOG.signature_line(text), LOG.signature_line(Checkpoint(ORIGIN, 2, EMPTY_ROOT).text())
    )
    with pytest.raises(InvalidSignature):
        open_note(forged, [LOG.verifier])
    # two trusted keys with the same name and ID are a configuration error
    clash = NoteVerifier.__new__(NoteVerifier)
    object.__setattr__(clash, "name", ORIGIN)
    object.__setattr__(clash, "sig_type", 1)
    object.__setattr__(clash, "public_key", other.verifier.public_key)
    object.__setattr__(clash, "key_id", LOG.key_id)
    with pytest.raises(InvalidNote):
        open_note(note, [LOG.verifier, clash])


def test_malformed_notes_are_refused():
    text = "hello\n"
    good = sign_note(text, [LOG])
    sig = good.split("\n\n", 1)[1]
    b64 = sig.split(" ")[2][:-1]
    raw = base64.b64decode(b64)
    cases = {
        "no blank line": text + sig,
        "no signature": text + "\n",
        "no final newline": good[:-1],
        "carriage return": good.replace("hello", "hel\rlo"),
        "tab": good.replace("hello", "hel\tlo"),
        "NUL": good.replace("hello", "hel\x00lo"),
        "DEL": good.replace("hello", "hel\x7flo"),
        "hyphen instead of em dash": good.replace("— ", "- "),
        "two spaces": good.replace("— ", "—  "),
        "no space before base64": good.replace(f"{ORIGIN} ", ORIGIN),
        "plus in name": good.replace(ORIGIN, ORIGIN + "+x"),
        "unpadded base64": good.replace(b64, b64.rstrip("=")),
        "non-zero padding bits": good.replace(b64, b64[:-2] + chr(ord(b64[-2]) + 1) + "="),
        "short signature": good.replace(b64, b64encode(raw[:4])),
        "trailing space": good[:-1] + " \n",
    }
    for why, note in cases.items():
        with pytest.raises(InvalidNote):
            parse_note(note)
        with pytest.raises(InvalidNote):
            open_note(note, [LOG.verifier])
        assert why
    with pytest.raises(InvalidNote):
        parse_note(good.encode() + b"\xff")
    with pytest.raises(InvalidNote):
        parse_note(text + "\n" + sig * (MAX_SIGNATURES + 1))
    parse_note(text + "\n" + sig * MAX_SIGNATURES)
    with pytest.raises(InvalidNote):
        parse_note("x" * 300_000 + "\n\n" + sig)
    # a signature block after a blank line is text: the last blank line separates
    with pytest.raises(InvalidSignature):
        open_note(good + "\n" + sig, [LOG.verifier])
    # the text may hold empty lines: the last blank line separates it from the signatures
    multi = sign_note("a\n\nb\n", [LOG])
    assert open_note(multi, [LOG.verifier]).text == "a\n\nb\n"


def test_strict_base64():
    assert b64decode("AAAA", "x") == b"\x00" * 3
    for bad in ("AAA", "AA=A", "AAB=", "AAAA\n", " AAAA", "AA==AA==", "AA-_", "ÄAAA"):
        with pytest.raises(InvalidNote):
            b64decode(bad, "x")


# --- cosignatures ------------------------------------------------------------------------------


def test_cosignature_v1_message_and_encoding():
    text = Checkpoint(ORIGIN, 20852163, b"\x0a" * 32).text()
    assert cosignature_message(text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + text.encode()
    )
    w = WITNESSES[0]
    line = w.signature_line(text, timestamp=1679315147)
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[:4], "big") == w.key_id
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    opened = open_note(text + "\n" + LOG.signature_line(text) + line, [LOG.verifier, w.verifier])
    assert [t for _, _, t in opened.verified] == [None, 1679315147]
    # the timestamp is signed: changing it breaks the cosignature
    bumped = raw[:4] + (1679315148).to_bytes(8, "big") + raw[12:]
    tampered = text + "\n" + f"— {w.name} {b64encode(bumped)}\n"
    with pytest.raises(InvalidSignature):
        open_note(tampered, [w.verifier])
    for bad_stamp in (0, 2**63, -1, "1"):
        with pytest.raises(InvalidNote):
            w.sign(text, timestamp=bad_stamp)
    huge = raw[:4] + (2**63).to_bytes(8, "big") + raw[12:]
    with pytest.raises(InvalidSignature):
        open_note(text + "\n" + f"— {w.name} {b64encode(huge)}\n", [w.verifier])
    with pytest.raises(InvalidNote):
        LOG.sign(text, timestamp=5)


# --- checkpoints and quorum ---------------------------------------------------------------------


def test_origin():
    assert ORIGIN == f"vote.example.org/pnyx/{ELECTION}"
    assert parse_pnyx_origin(ORIGIN) == ("vote.example.org", ELECTION)
    assert pnyx_origin("localhost:8000/sub/dir", ELECTION).startswith("localhost:8000/sub/dir/")
    for host, election in [
        ("Vote.example.org", ELECTION),
        ("https://vote.example.org", ELECTION),
        ("vote.example.org/", ELECTION),
        ("vote example", ELECTION),
        ("vote.example.org", ELECTION.upper()),
        ("vote.example.org", str(uuid.uuid4()) + "x"),
    ]:
        with pytest.raises(InvalidNote):
            pnyx_origin(host, election)
    with pytest.raises(InvalidNote):
        parse_pnyx_origin("vote.example.org/" + ELECTION)


def test_checkpoint_text_is_strict():
    cp = Checkpoint(ORIGIN, 20852163, b"\x0a" * 32, ("ext line",))
    root = b64encode(b"\x0a" * 32)
    assert cp.text() == f"{ORIGIN}\n20852163\n{root}\next line\n"
    assert Checkpoint.from_text(cp.text()) == cp
    for bad in [
        f"{ORIGIN}\n020\n{root}\n",
        f"{ORIGIN}\n+20\n{root}\n",
        f"{ORIGIN}\n-1\n{root}\n",
        f"{ORIGIN}\n{2**63}\n{root}\n",
        f"{ORIGIN}\n20\n{b64encode(bytes(31))}\n",
        f"{ORIGIN}\n20\n{root}",
        f"{ORIGIN}\n20\n",
        f"\n20\n{root}\n",
        f"{ORIGIN}\n20\n{root}\n\n",
        f"{ORIGIN}\n 20\n{root}\n",
    ]:
        with pytest.raises(InvalidNote):
            Checkpoint.from_text(bad)


def test_open_checkpoint_and_quorum():
    store = tree(10)
    note = checkpoint_note(10, store.root(), witnesses=WITNESSES[:2])
    checked = open_checkpoint(note, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    assert checked.checkpoint.size == 10 and len(checked.witnesses) == 2
    # one witness is not a quorum of 2, even with its line repeated
    one = checkpoint_note(10, store.root(), witnesses=WITNESSES[:1])
    w0_line = one.splitlines(keepends=True)[-1]
    with pytest.raises(QuorumNotMet):
        open_checkpoint(one + w0_line, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    # a second cosignature by the same witness at another time still counts once
    again = WITNESSES[0].signature_line(Checkpoint(ORIGIN, 10, store.root()).text(), timestamp=5)
    with pytest.raises(QuorumNotMet):
        open_checkpoint(one + again, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    # an unknown witness does not count
    stranger = NoteSigner.generate("stranger.example", SIG_COSIGNATURE_V1)
    text = Checkpoint(ORIGIN, 10, store.root()).text()
    with pytest.raises(QuorumNotMet):
        open_checkpoint(
            one + stranger.signature_line(text, timestamp=9),
            origin=ORIGIN,
            log_key=LOG.verifier,
            policy=POLICY,
        )
    # without a policy the log signature alone is checked
    assert open_checkpoint(one, origin=ORIGIN, log_key=LOG.verifier).witnesses == ()
    # a wrong cosignature by a listed witness rejects the checkpoint
    forged = WITNESSES[1].signature_line(Checkpoint(ORIGIN, 11, store.root()).text(), timestamp=1)
    with pytest.raises(InvalidSignature):
        open_checkpoint(note + forged, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    # signed by the wrong key, for the wrong origin, or not by the log at all
    impostor = NoteSigner.generate(ORIGIN)
    with pytest.raises(UnverifiedNote):
        open_checkpoint(note, origin=ORIGIN, log_key=impostor.verifier, policy=POLICY)
    other_origin = pnyx_origin("vote.example.org", str(uuid.UUID(int=1)))
    with pytest.raises(InvalidNote):
        open_checkpoint(
            note, origin=other_origin, log_key=NoteSigner.generate(other_origin).verifier
        )
    with pytest.raises(InvalidNote):
        open_checkpoint(note, origin=ORIGIN, log_key=WITNESSES[0].verifier)
    only_witnesses = text + "\n" + "".join(w.signature_line(text, timestamp=3) for w in WITNESSES)
    with pytest.raises(UnverifiedNote):
        open_checkpoint(only_witnesses, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)


def test_witness_policy_rules():
    vs = tuple(w.verifier for w in WITNESSES)
    assert WitnessPolicy(vs, 3).quorum == 3 and WitnessPolicy((), 0).quorum == 0
    assert WitnessPolicy.from_vkeys([v.vkey for v in vs], 1).witnesses == vs
    same_key = NoteVerifier("renamed.example", SIG_COSIGNATURE_V1, vs[0].public_key)
    for witnesses, quorum in [
        (vs, 4),
        (vs, -1),
        ((vs[0], vs[0]), 1),
        ((vs[0], same_key), 1),
        ((LOG.verifier,), 1),
    ]:
        with pytest.raises(InvalidNote):
            WitnessPolicy(witnesses, quorum)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_byte_change_of_a_cosigned_checkpoint_is_refused(data):
    store = tree(5)
    note = checkpoint_note(5, store.root(), witnesses=WITNESSES[:2]).encode()
    position = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != note[position]))
    tampered = note[:position] + bytes([value]) + note[position + 1 :]
    try:
        checked = open_checkpoint(tampered, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    except CryptoError:
        return
    # the only survivable change is in a key name or ID byte that turns a line into an unknown
    # key's — which then leaves too few witnesses — so reaching here is a failure
    pytest.fail(f"accepted a tampered checkpoint: {checked.checkpoint}")


# --- tlog proofs ------------------------------------------------------------------------------


def _entries(n: int) -> list[BoardEntry]:
    entries, prev = [], "0" * 64
    for seq in range(n):
        kind = "election" if seq == 0 else "ballot"
        payload = (
            {"uuid": ELECTION, "slug": "s", "title": "t", "board_key": "00" * 32}
            if seq == 0
            else {"ballot": {"n": seq}, "tracker": f"{seq:064x}"}
        )
        entry = BoardEntry.create(
            election=ELECTION,
            seq=seq,
            kind=kind,
            time="2026-11-25T10:00:00.000Z",
            prev=prev,
            payload=payload,
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def test_tlog_proof_round_trip_and_entry_receipts():
    entries = _entries(13)
    store = MemoryHashStore()
    for entry in entries:
        store.append(entry.to_line()[:-1])  # §14.1: the canonical line without its newline
    note = checkpoint_note(13, store.root(), witnesses=WITNESSES[1:])
    leaf = entries[7].to_line()[:-1]
    proof = TlogProof(7, tuple(prove_inclusion(7, 13, store)), note, extra=leaf)
    text = proof.to_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 7\n" in text and text.endswith(note)
    assert TlogProof.from_text(text) == proof
    verify_tlog_proof(text, leaf=leaf, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    entry, checked = verify_entry_proof(
        text, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY, tracker=f"{7:064x}"
    )
    assert entry == entries[7] and checked.checkpoint.size == 13
    with pytest.raises(InvalidMerkleProof):
        verify_entry_proof(
            text, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY, tracker=f"{8:064x}"
        )
    with pytest.raises(InvalidMerkleProof):
        verify_tlog_proof(
            text, leaf=entries[8].to_line()[:-1], origin=ORIGIN, log_key=LOG.verifier, policy=POLICY
        )
    # another index, a tampered proof hash, another entry in extra
    wrong_index = TlogProof(8, proof.proof, note, extra=leaf)
    with pytest.raises(InvalidMerkleProof):
        verify_entry_proof(wrong_index, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    bad_hash = TlogProof(7, (b"\x00" * 32, *proof.proof[1:]), note, extra=leaf)
    with pytest.raises(InvalidMerkleProof):
        verify_entry_proof(bad_hash, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    other = TlogProof(7, proof.proof, note, extra=entries[8].to_line()[:-1])
    with pytest.raises(InvalidMerkleProof):
        verify_entry_proof(other, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    # too few witnesses
    weak = TlogProof(7, proof.proof, checkpoint_note(13, store.root(), witnesses=WITNESSES[:1]))
    with pytest.raises(QuorumNotMet):
        verify_tlog_proof(weak, leaf=leaf, origin=ORIGIN, log_key=LOG.verifier, policy=POLICY)
    # strict text
    for bad in [
        text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        text.replace("\nindex 7\n", "\nindex 07\n"),
        text.replace("\nindex 7\n", "\n"),
        text.replace("extra ", "extra  "),
        "c2sp.org/tlog-proof@v1\nextra \nindex 7\n\n" + note,
        text.replace("\n\n", "\n", 1),
        text.replace("index 7\n", "index 7\n\n", 1),
    ]:
        with pytest.raises(InvalidEncoding):
            TlogProof.from_text(bad)
    no_extra = TlogProof(0, (), checkpoint_note(1, store.root(1)))
    assert no_extra.to_text().startswith("c2sp.org/tlog-proof@v1\nindex 0\n\n")
    assert TlogProof.from_text(no_extra.to_text()) == no_extra
    with pytest.raises(InvalidNote):
        verify_entry_proof(no_extra, origin=ORIGIN, log_key=LOG.verifier, policy=None)


# --- the witness wire format and fork proofs ----------------------------------------------------


def test_add_checkpoint_body():
    store = tree(9)
    note = checkpoint_note(9, store.root()).encode()
    request = AddCheckpoint(4, tuple(prove_consistency(4, 9, store)), note)
    body = request.to_bytes()
    assert body.startswith(b"old 4\n") and body.endswith(b"\n\n" + note)
    assert AddCheckpoint.from_bytes(body) == request
    assert AddCheckpoint.from_bytes(b"old 0\n\n" + note) == AddCheckpoint(0, (), note)
    for bad in [
        b"old 04\n\n" + note,
        b"old -1\n\n" + note,
        b"old  4\n\n" + note,
        b"Old 4\n\n" + note,
        b"old 4\n" + note,
        b"old 4\nAAAA\n\n" + note,
        b"old 4\n" + b"".join(b64encode(b"\x00" * 32).encode() + b"\n" for _ in range(64)) + b"\n",
        b"old 4\r\n\n" + note,
    ]:
        with pytest.raises(InvalidNote):
            AddCheckpoint.from_bytes(bad)
    assert parse_size_body(format_size_body(42)) == 42
    for bad in (b"42", b"042\n", b"4 2\n", b"\n"):
        with pytest.raises(InvalidNote):
            parse_size_body(bad)


def test_fork_classification_and_fork_proofs():
    honest, forked = tree(20), tree(20, change=2)
    cp = lambda store, n: Checkpoint(ORIGIN, n, store.root(n))  # noqa: E731
    assert (
        classify_inconsistency(cp(honest, 6), cp(honest, 20), prove_consistency(6, 20, honest))
        is None
    )
    assert classify_inconsistency(cp(honest, 6), cp(honest, 6), []) is None
    assert classify_inconsistency(cp(honest, 6), cp(forked, 6), []) == "same-size"
    assert (
        classify_inconsistency(cp(honest, 6), cp(forked, 20), prove_consistency(6, 20, forked))
        == "prefix-mismatch"
    )
    # from a power-of-2 size the proof takes the old root as given: nothing more is shown
    assert (
        classify_inconsistency(cp(honest, 4), cp(forked, 20), prove_consistency(4, 20, forked))
        == "bad-proof"
    )
    assert classify_inconsistency(cp(honest, 6), cp(honest, 20), []) == "bad-proof"
    assert classify_inconsistency(cp(honest, 6), cp(honest, 5), []) == "shrunk"
    assert (
        classify_inconsistency(cp(honest, 6), Checkpoint(ORIGIN, 0, b"\x01" * 32), [])
        == "empty-root"
    )

    def signed(store, n):
        return checkpoint_note(n, store.root(n))

    fork = ForkProof(
        ORIGIN,
        "prefix-mismatch",
        signed(honest, 6),
        signed(forked, 20),
        tuple(prove_consistency(6, 20, forked)),
    )
    assert verify_fork_proof(ForkProof.from_json(fork.to_json()), LOG.verifier) == "prefix-mismatch"
    same = ForkProof(ORIGIN, "same-size", signed(honest, 6), signed(forked, 6), ())
    assert verify_fork_proof(same, LOG.verifier) == "same-size"
    for not_a_fork in [
        ForkProof(ORIGIN, "same-size", signed(honest, 6), signed(honest, 6), ()),
        ForkProof(ORIGIN, "prefix-mismatch", signed(honest, 6), signed(honest, 20), ()),
        ForkProof(ORIGIN, "prefix-mismatch", signed(honest, 6), signed(forked, 6), ()),
    ]:
        with pytest.raises(InvalidProof):
            verify_fork_proof(not_a_fork, LOG.verifier)
    # checkpoints the log did not sign prove nothing about it
    impostor = NoteSigner.generate(ORIGIN)
    with pytest.raises(UnverifiedNote):
        verify_fork_proof(same, impostor.verifier)
    for bad in [{**fork.to_json(), "type": "x"}, {**fork.to_json(), "extra": 1}, []]:
        with pytest.raises(InvalidNote):
            ForkProof.from_json(bad)
