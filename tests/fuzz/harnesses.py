"""Coverage-guided fuzzing (atheris, libFuzzer) of the decoders that read bytes from outside.

Each harness feeds the fuzzer's bytes to one decoder and lets only the documented errors pass:
anything else that escapes (``TypeError``, ``KeyError``, ``RecursionError``, an
``AssertionError`` from a broken invariant, …) is a crash, which libFuzzer reports with the
input that caused it. Harnesses (``HARNESSES``):

- ``point_scalar``: ``Point.from_bytes``/``from_hex``/``from_sec1``, ``Scalar.from_bytes``/
  ``from_hex``; a decoded value must re-encode to the same bytes. Errors: ``InvalidEncoding``.
- ``json``: ``parse_json``; a parsed value must canonicalise (``canonical_json`` equal to the
  ``rfc8785`` package's bytes) and parse back to itself. Errors: ``InvalidEncoding``.
- ``ballot``: ``Ballot.from_json``, ``ballot_check_shape`` and ``ballot_verify`` against a small
  election (one single choice, one budget question), on JSON text, or on a valid ballot with one
  leaf replaced; a changed ballot must never verify. Errors: ``CryptoError`` subclasses.
- ``board_line``: ``BoardEntry.from_canonical_line`` and ``from_line``; an accepted canonical line
  re-serialises to itself. Errors: ``InvalidEncoding``, ``InvalidChain``.
- ``tlog``: the transparency log's text formats (protocol §14): ``parse_note``, ``open_note`` and
  ``open_checkpoint`` under the vectors' keys, ``Checkpoint.from_text``, ``TlogProof.from_text``
  with ``verify_entry_proof``, ``AddCheckpoint.from_bytes``, ``NoteVerifier.from_vkey``,
  ``parse_tile_path``; whatever parses re-serialises to the same bytes. Errors: ``CryptoError``.
- ``pointenc``: ``encode_bytes``/``decode_bytes`` (docs/protocol.md §15.2): bytes round-trip, and
  points lifted from arbitrary abscissas either decode to a message that encodes back to exactly
  those points or are refused. Errors: ``InvalidEncoding``.
- ``shuffle``: ``CiphertextList.from_json``, ``ShuffleProof.from_json`` and ``verify_shuffle`` on a
  small valid shuffle (§15.7) with up to three leaves of its JSON replaced; a changed shuffle must
  never verify. Errors: ``CryptoError`` subclasses.

Run one (tests/fuzz/test_fuzz.py does, for a bounded time, inside ``make test``)::

    python -m tests.fuzz.harnesses NAME [libFuzzer flags] NEW_CORPUS_DIR tests/fuzz/corpus/NAME

The seed corpus (tests/fuzz/corpus/) is written by ``python -m tests.fuzz.harnesses --seed``.
"""

from __future__ import annotations

import copy
import hashlib
import sys
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["crypto"]):
    import rfc8785

    from crypto.ballot import (
        Ballot,
        ElectionSpec,
        QuestionSpec,
        ballot_check_shape,
        ballot_encrypt,
        ballot_verify,
    )
    from crypto.board import GENESIS_PREV, BoardEntry, InvalidChain
    from crypto.checkpoint import (
        AddCheckpoint,
        Checkpoint,
        TlogProof,
        WitnessPolicy,
        open_checkpoint,
        verify_entry_proof,
    )
    from crypto.elgamal import ElectionKey
    from crypto.errors import CryptoError, InvalidEncoding
    from crypto.group import Point, Scalar, base_mul
    from crypto.hashing import canonical_json, parse_json
    from crypto.mix.rows import CiphertextList, encrypt_row, public_ciphertext
    from crypto.mix.shuffle import (
        ShuffleProof,
        ShuffleSetting,
        prove_shuffle,
        shuffle,
        verify_shuffle,
    )
    from crypto.note import NoteVerifier, open_note, parse_note
    from crypto.pointenc import decode_bytes, encode_bytes
    from crypto.signatures import SigningKey
    from crypto.tlog import parse_tile_path, tile_path

CORPUS = Path(__file__).parent / "corpus"
ELECTION_UUID = "0f5e2a6c-8d3b-4c1a-9e7f-2b6d4a8c0e11"

#: The small election of the ballot harness: a fixed key, so that the seed ballot stays valid.
SPEC = ElectionSpec(
    hashlib.sha256(b"pnyx fuzz election").hexdigest(),
    ElectionKey(base_mul(Scalar(0x5EED_F022))),
    (QuestionSpec(3, 1, 1), QuestionSpec(3, 0, 3, (1, 2, 3), 4)),
)
SEED_BALLOT = CORPUS / "ballot" / "valid-ballot.json"
#: The shuffle harness's statement: a fixed key, mixer and input list (the seed proof stays valid).
MIX_SETTING = ShuffleSetting(SPEC.fingerprint, SPEC.key, 1, base_mul(Scalar(0x5EED_313)))
MIX_INPUT = CiphertextList(
    2,
    (
        encrypt_row(SPEC.key, [base_mul(5), base_mul(6)], rand=lambda: Scalar(0x5EED))[0],
        (public_ciphertext(base_mul(1)), public_ciphertext(Point.identity())),
    ),
)
SEED_SHUFFLE = CORPUS / "shuffle" / "valid-shuffle.json"


# --- point_scalar -------------------------------------------------------------------------------


def fuzz_point_scalar(data: bytes) -> None:
    text = data.decode("latin-1")  # every byte a character: hex digits, junk and all
    for allow_identity in (False, True):
        try:
            point = Point.from_bytes(data, allow_identity=allow_identity)
        except InvalidEncoding:
            pass
        else:
            assert (point.to_bytes() if data != b"\x00" else b"\x00") == data
        try:
            point = Point.from_hex(text, allow_identity=allow_identity)
        except InvalidEncoding:
            pass
        else:
            assert (point.to_hex() if text != "00" else "00") == text
    try:
        point = Point.from_sec1(data)
    except InvalidEncoding:
        pass
    else:
        assert Point.from_bytes(point.to_bytes()) == point
    for nonzero in (False, True):
        for decode, encoded, encode in (
            (Scalar.from_bytes, data, Scalar.to_bytes),
            (Scalar.from_hex, text, Scalar.to_hex),
        ):
            try:
                scalar = decode(encoded, nonzero=nonzero)
            except InvalidEncoding:
                continue
            assert encode(scalar) == encoded


# --- json ---------------------------------------------------------------------------------------


def fuzz_json(data: bytes) -> None:
    try:
        value = parse_json(data)
    except InvalidEncoding:
        return
    canonical = canonical_json(value)  # a parsed value always has a canonical form
    assert canonical == rfc8785.dumps(value)
    assert parse_json(canonical) == value
    assert canonical_json(parse_json(canonical)) == canonical


# --- ballot -------------------------------------------------------------------------------------


def _seed_ballot() -> dict:
    return parse_json(SEED_BALLOT.read_bytes())


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every node of a JSON value (containers included)."""
    paths = [path]
    if isinstance(value, dict):
        for key in sorted(value):
            paths += _leaves(value[key], (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _leaves(item, (*path, index))
    return paths


def _replacement(fdp: atheris.FuzzedDataProvider, original: Any) -> Any:
    """A value of any JSON type, often close to the original (hex with one digit changed)."""
    choice = fdp.ConsumeIntInRange(0, 9)
    if choice == 0:
        return None
    if choice == 1:
        return fdp.ConsumeBool()
    if choice == 2:
        return fdp.ConsumeIntInRange(-(2**53) + 1, 2**53 - 1)
    if choice == 3:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 140))
    if choice == 4:
        return []
    if choice == 5:
        return {}
    if choice == 6 and isinstance(original, str) and original:
        at = fdp.ConsumeIntInRange(0, len(original) - 1)
        digit = "0123456789abcdef"[fdp.ConsumeIntInRange(0, 15)]
        return original[:at] + digit + original[at + 1 :]
    if choice == 7 and isinstance(original, list) and original:
        return original[: fdp.ConsumeIntInRange(0, len(original) - 1)]
    if choice == 8 and isinstance(original, list) and original:
        return [*original, copy.deepcopy(original[-1])]
    if choice == 9 and isinstance(original, str):
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 70)).hex()
    return fdp.ConsumeIntInRange(0, 3)


def _tampered(data: bytes, seed: Any = None) -> Any:
    fdp = atheris.FuzzedDataProvider(data)
    value = _seed_ballot() if seed is None else seed
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        paths = _leaves(value)
        path = paths[fdp.ConsumeIntInRange(0, len(paths) - 1)]
        if not path:
            value = _replacement(fdp, value)
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and fdp.ConsumeIntInRange(0, 7) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = _replacement(fdp, parent[path[-1]])
    return value


def fuzz_ballot(data: bytes) -> None:
    if not data:
        return
    if data[0] % 2:
        value = _tampered(data[1:])
    else:
        try:
            value = parse_json(data[1:])
        except InvalidEncoding:
            return
    try:
        canonical = canonical_json(value)
        ballot = Ballot.from_json(value, canonical=canonical)
        ballot_check_shape(ballot, SPEC)
        ballot_verify(ballot, SPEC)
    except CryptoError:
        return
    # Only the seed ballot itself verifies: any change is caught by a proof or the signature.
    assert canonical == canonical_json(_seed_ballot()), "a changed ballot verified"


# --- board_line ---------------------------------------------------------------------------------


def fuzz_board_line(data: bytes) -> None:
    try:
        entry = BoardEntry.from_canonical_line(data)
    except (InvalidEncoding, InvalidChain):
        pass
    else:
        assert entry.to_line() == data
        assert BoardEntry.from_line(data[:-1]) == entry
    try:
        BoardEntry.from_line(data)
    except InvalidEncoding:
        pass


# --- tlog ---------------------------------------------------------------------------------------

TLOG = parse_json((Path(__file__).parents[1] / "vectors" / "tlog.json").read_bytes())
TLOG_LOG = NoteVerifier.from_vkey(TLOG["log"]["vkey"])
TLOG_POLICY = WitnessPolicy.from_vkeys([w["vkey"] for w in TLOG["witnesses"]], TLOG["quorum"])


def fuzz_tlog(data: bytes) -> None:
    try:
        note = parse_note(data)
    except CryptoError:
        pass
    else:
        assert note.to_bytes() == data
        try:
            open_note(note, [TLOG_LOG, *TLOG_POLICY.witnesses])
            open_checkpoint(note, origin=TLOG["origin"], log_key=TLOG_LOG, policy=TLOG_POLICY)
        except CryptoError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        try:
            assert Checkpoint.from_text(text).text() == text
        except CryptoError:
            pass
        try:
            assert NoteVerifier.from_vkey(text).vkey == text
        except CryptoError:
            pass
        try:
            level, index, width = parse_tile_path(text)
            if level is not None:
                assert tile_path(level, index, width) == text
        except CryptoError:
            pass
    try:
        proof = TlogProof.from_text(data)
    except CryptoError:
        pass
    else:
        assert proof.to_text().encode() == data
        try:
            verify_entry_proof(proof, origin=TLOG["origin"], log_key=TLOG_LOG, policy=TLOG_POLICY)
        except CryptoError:
            pass
    try:
        request = AddCheckpoint.from_bytes(data)
    except CryptoError:
        pass
    else:
        assert request.to_bytes() == data


# --- pointenc -----------------------------------------------------------------------------------


def fuzz_pointenc(data: bytes) -> None:
    if not data:
        return
    message = data[1 : 1 + data[0]]
    extra = data[0] % 3
    points = encode_bytes(message, len(message) // 30 + 1 + extra)
    assert decode_bytes(points) == message
    lifted = []
    for i in range(1 + data[0] // 64, len(data) - 32, 33):
        try:  # a point whose abscissa is any 32 bytes: 02/03 ‖ x
            lifted.append(Point.from_sec1(bytes([2 + (data[i] & 1)]) + data[i + 1 : i + 33]))
        except InvalidEncoding:
            continue
    if not lifted:
        return
    try:
        decoded = decode_bytes(lifted)
    except InvalidEncoding:
        return
    assert encode_bytes(decoded, len(lifted)) == tuple(lifted)


# --- shuffle ------------------------------------------------------------------------------------


def _seed_shuffle() -> dict:
    return parse_json(SEED_SHUFFLE.read_bytes())


def fuzz_shuffle(data: bytes) -> None:
    if not data:
        return
    value = _tampered(data[1:], _seed_shuffle()) if data[0] % 2 else None
    if value is None:
        try:
            value = parse_json(data[1:])
        except InvalidEncoding:
            return
    try:
        if not isinstance(value, dict) or set(value) != {"output", "proof"}:
            raise InvalidEncoding("not a shuffle")
        outputs = CiphertextList.from_json(value["output"])
        proof = ShuffleProof.from_json(value["proof"])
        verify_shuffle(MIX_SETTING, MIX_INPUT, outputs, proof)
    except CryptoError:
        return
    # Only the seed shuffle verifies (with any cut into chunks): any other change is caught.
    seed = _seed_shuffle()
    assert canonical_json(value["output"]) == canonical_json(seed["output"]), "a changed list"
    assert proof.rechunked(2) == ShuffleProof.from_json(seed["proof"]).rechunked(2), (
        "a changed proof"
    )


HARNESSES = {
    "point_scalar": fuzz_point_scalar,
    "json": fuzz_json,
    "ballot": fuzz_ballot,
    "board_line": fuzz_board_line,
    "tlog": fuzz_tlog,
    "pointenc": fuzz_pointenc,
    "shuffle": fuzz_shuffle,
}


# --- Seed corpus --------------------------------------------------------------------------------


def _write(name: str, file: str, data: bytes) -> None:
    folder = CORPUS / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(data)


def write_seed_corpus() -> None:
    """Small, valid and near-valid inputs of each decoder (committed under tests/fuzz/corpus/)."""
    g = base_mul(1)
    _write("point_scalar", "generator-sec1", g.to_bytes())
    _write("point_scalar", "generator-hex", g.to_hex().encode())
    _write("point_scalar", "generator-compressed", bytes.fromhex("03" + g.to_hex()[2:66]))
    _write("point_scalar", "identity", b"\x00")
    _write("point_scalar", "scalar-one-hex", Scalar(1).to_hex().encode())
    _write("point_scalar", "scalar-max", Scalar.reduce(-1).to_bytes())
    _write("json", "object", b'{"a":[1,-2,true,false,null],"b":{"c":"\\u0000\\n\xc3\xa9"}}')
    _write("json", "nested", b"[" * 32 + b"]" * 32)
    _write("json", "escapes", b'["\\"[{", "\\\\", "\\ud83d\\ude00", 9007199254740991]')
    key = SigningKey(Scalar(0xC0DE_F022))
    ballot, _ = ballot_encrypt(SPEC, key, [[0, 1, 0], [1, 0, 1]])
    _write("ballot", SEED_BALLOT.name, ballot.canonical_bytes())
    _write("ballot", "text-mode", b"\x00" + ballot.canonical_bytes())
    _write("ballot", "tamper-mode", b"\x01" + bytes(range(64)))
    genesis = BoardEntry.create(
        election=ELECTION_UUID,
        seq=0,
        kind="election",
        time="2026-01-01T00:00:00.000Z",
        prev=GENESIS_PREV,
        payload={"uuid": ELECTION_UUID, "slug": "fuzz", "title": "Fuzz"},
    )
    cast = BoardEntry.create(
        election=ELECTION_UUID,
        seq=1,
        kind="ballot",
        time="2026-01-01T00:00:01.000Z",
        prev=genesis.hash,
        payload={"ballot": ballot.to_json(), "tracker": ballot.tracker()},
    )
    _write("board_line", "genesis", genesis.to_line())
    _write("board_line", "ballot", cast.to_line())
    _write("tlog", "checkpoint", TLOG["checkpoints"][1]["note"].encode())
    _write("tlog", "checkpoint-extension", TLOG["checkpoints"][-1]["note"].encode())
    _write("tlog", "receipt-proof", TLOG["tlog_proofs"][0]["proof"].encode())
    _write("tlog", "add-checkpoint", TLOG["add_checkpoint"].encode())
    _write("tlog", "vkey", TLOG["witnesses"][0]["vkey"].encode())
    _write("tlog", "tile", b"tile/1/x001/x234/067.p/17")
    _write("pointenc", "text", bytes([11]) + b"hello world" + bytes(range(70)))
    _write("pointenc", "empty", b"\x00")
    outputs, witness = shuffle(
        SPEC.key, MIX_INPUT, rand=lambda: Scalar(0x5EED_2), randbelow=lambda n: n - 1
    )
    proof = prove_shuffle(MIX_SETTING, MIX_INPUT, outputs, witness, rows_per_chunk=1)
    seed = {"output": outputs.to_json(), "proof": proof.to_json()}
    _write("shuffle", SEED_SHUFFLE.name, canonical_json(seed))
    _write("shuffle", "text-mode", b"\x00" + canonical_json(seed))
    _write("shuffle", "tamper-mode", b"\x01" + bytes(range(64)))


def main(argv: list[str]) -> None:
    if argv[1:2] == ["--seed"]:
        write_seed_corpus()
        return
    harness = HARNESSES[argv[1]]

    def test_one_input(data: bytes) -> None:
        harness(data)

    atheris.Setup([argv[0], *argv[2:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
