"""The width-w shuffle and its Terelius–Wikström proof (crypto/mix, docs/protocol.md §15.4–§15.7).

Completeness for widths 1, 5 and 34 and at chunk boundaries; every field of a proof and every part
of the statement tampered → rejected; mixers that drop, duplicate, replace or re-order rows
without permuting them are caught; a shuffle of a shuffle verifies (Hypothesis); the streaming,
chunked API agrees with the one-call API and refuses chunks out of order.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import decrypt_to_point, encrypt_point, keygen, reencrypt
from crypto.errors import CryptoError, InvalidEncoding, InvalidShuffle
from crypto.group import G, Point, Scalar, base_mul
from crypto.h2c import hash_to_curve
from crypto.hashing import Tag, canonical_json, digest_json, hash_to_scalar
from crypto.mix.generators import GENERATOR_DST, ShuffleGenerators, shuffle_generators
from crypto.mix.rows import CiphertextList, ListDigest, encrypt_row, public_ciphertext
from crypto.mix.shuffle import (
    ShuffleProof,
    ShuffleProofChunk,
    ShuffleProver,
    ShuffleSetting,
    ShuffleTranscript,
    ShuffleWeights,
    ShuffleWitness,
    chunk_bounds,
    diagnose_shuffle_merge,
    prove_shuffle,
    random_permutation,
    shuffle,
    shuffle_rows,
    verify_shuffle,
    verify_shuffle_chunk,
    verify_shuffle_merge,
)
from crypto.pointenc import encode_int
from tests.crypto.tamper import field_mutations, other_point, other_scalar, with_item
from tests.strategies import mix_shapes

FINGERPRINT = digest_json({"test": "mix shuffle"})


@pytest.fixture(scope="module")
def mix_key():
    return keygen()


@pytest.fixture(scope="module")
def setting(mix_key):
    return ShuffleSetting(FINGERPRINT, mix_key[1], 2, base_mul(Scalar.random()))


def make_inputs(key, rows: int, width: int, *, base: int = 1) -> CiphertextList:
    """Row i encrypts the small integers base + 100·i + k (k = 0 … w−1); distinct rows."""
    out = []
    for i in range(rows):
        row, _ = encrypt_row(key, [encode_int(base + 100 * i + k) for k in range(width)])
        out.append(row)
    return CiphertextList(width, tuple(out))


def plaintexts(sk, rows: CiphertextList) -> list[tuple[Point, ...]]:
    return [tuple(decrypt_to_point(sk, ct) for ct in row) for row in rows.rows]


def assert_same_rows(sk, inputs: CiphertextList, outputs: CiphertextList) -> None:
    """The outputs decrypt to the inputs' rows, each row kept whole, in some order."""
    key = lambda row: tuple(p.to_hex_allow_identity() for p in row)  # noqa: E731
    assert Counter(map(key, plaintexts(sk, inputs))) == Counter(map(key, plaintexts(sk, outputs)))


# --- Completeness --------------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "width"), [(1, 1), (2, 1), (9, 1), (5, 5), (3, 34)])
def test_completeness(mix_key, setting, rows, width):
    sk, key = mix_key
    inputs = make_inputs(key, rows, width)
    outputs, witness = shuffle(key, inputs)
    assert_same_rows(sk, inputs, outputs)
    assert all(o != i for o, i in zip(outputs.rows, inputs.rows, strict=True))  # re-encrypted
    proof = prove_shuffle(setting, inputs, outputs, witness)
    verify_shuffle(setting, inputs, outputs, proof)
    assert ShuffleProof.from_json(proof.to_json()) == proof


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3, 4, 7, 8, 100])
def test_chunk_boundaries(mix_key, setting, rows_per_chunk):
    _, key = mix_key
    inputs = make_inputs(key, 7, 2)
    outputs, witness = shuffle(key, inputs)
    proof = prove_shuffle(setting, inputs, outputs, witness, rows_per_chunk=rows_per_chunk)
    assert [len(c) for c in proof.chunks] == [hi - lo for lo, hi in chunk_bounds(7, rows_per_chunk)]
    verify_shuffle(setting, inputs, outputs, proof)
    # chunking is transport only: any other cut verifies, the JSON of the parts does not change
    for size in (1, 3, 7):
        again = proof.rechunked(size)
        verify_shuffle(setting, inputs, outputs, again)
        assert again.rechunked(rows_per_chunk) == proof


def test_public_components_are_shuffled_too(mix_key, setting):
    """A weight rides along with randomness 0 (α = O); the shuffle re-randomises it."""
    sk, key = mix_key
    rows = []
    for i, weight in enumerate([1, 3, 0, 2]):
        ct, _ = encrypt_point(key, encode_int(10 + i))
        rows.append((ct, public_ciphertext(encode_int(weight))))
    inputs = CiphertextList(2, tuple(rows))
    assert inputs.rows[2][1].alpha.is_identity() and inputs.rows[2][1].beta.is_identity()
    outputs, witness = shuffle(key, inputs)
    assert not any(row[1].alpha.is_identity() for row in outputs.rows)
    verify_shuffle(setting, inputs, outputs, prove_shuffle(setting, inputs, outputs, witness))
    assert_same_rows(sk, inputs, outputs)


@settings(max_examples=8, deadline=None)
@given(mix_shapes(5, 3), st.integers(1, 4))
def test_a_shuffle_of_a_shuffle_verifies(mix_key, shape, rows_per_chunk):
    sk, key = mix_key
    rows, width = shape
    first = ShuffleSetting(FINGERPRINT, key, 1, base_mul(Scalar.random()))
    second = ShuffleSetting(FINGERPRINT, key, 2, base_mul(Scalar.random()))
    inputs = make_inputs(key, rows, width)
    middle, w1 = shuffle(key, inputs)
    final, w2 = shuffle(key, middle)
    p1 = prove_shuffle(first, inputs, middle, w1, rows_per_chunk=rows_per_chunk)
    p2 = prove_shuffle(second, middle, final, w2, rows_per_chunk=rows_per_chunk)
    verify_shuffle(first, inputs, middle, p1)
    verify_shuffle(second, middle, final, p2)
    assert_same_rows(sk, inputs, final)
    # a proof made for one step does not verify for another
    with pytest.raises(InvalidShuffle):
        verify_shuffle(second, inputs, middle, p1)
    with pytest.raises(InvalidShuffle):
        verify_shuffle(first, middle, final, p2)


# --- Tampering -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(mix_key, setting):
    _, key = mix_key
    inputs = make_inputs(key, 4, 2)
    outputs, witness = shuffle(key, inputs)
    proof = prove_shuffle(setting, inputs, outputs, witness, rows_per_chunk=3)
    verify_shuffle(setting, inputs, outputs, proof)
    return inputs, outputs, witness, proof


def test_every_head_field_tampered_is_rejected(setting, example):
    inputs, outputs, _, proof = example
    count = 0
    for _name, head in field_mutations(proof.head):
        with pytest.raises(InvalidShuffle):
            verify_shuffle(setting, inputs, outputs, dataclasses.replace(proof, head=head))
        count += 1
    assert count == 3 + 2 * 2 + 3 + 2  # t1 t2 t3, t4 (2 pairs), s1 s2 s3, s4 (2)


def test_every_chunk_field_tampered_is_rejected(setting, example):
    inputs, outputs, _, proof = example
    count = 0
    for index, chunk in enumerate(proof.chunks):
        for name, altered in field_mutations(chunk):
            if name == "offset":
                continue
            chunks = with_item(proof.chunks, index, altered)
            with pytest.raises(InvalidShuffle):
                verify_shuffle(setting, inputs, outputs, dataclasses.replace(proof, chunks=chunks))
            count += 1
    assert count == 5 * 4  # five lists, four rows


def test_swapped_proof_rows_are_rejected(setting, example):
    inputs, outputs, _, proof = example
    flat = proof.rechunked(4).chunks[0]
    for name in (
        "permutation_commitments",
        "chain",
        "chain_commitments",
        "chain_responses",
        "responses",
    ):
        items = getattr(flat, name)
        swapped = (items[1], items[0], *items[2:])
        chunk = dataclasses.replace(flat, **{name: swapped})
        with pytest.raises(InvalidShuffle):
            verify_shuffle(setting, inputs, outputs, dataclasses.replace(proof, chunks=(chunk,)))


def test_the_diagnosis_names_the_failing_equation(setting, example):
    """Responses are not hashed: altering one breaks exactly its equations, which are named."""
    inputs, outputs, _, proof = example
    head = proof.head
    cases = {
        "(1)": dataclasses.replace(head, s1=other_scalar(head.s1)),
        "(2)": dataclasses.replace(head, s2=other_scalar(head.s2)),
        "(3)": dataclasses.replace(head, s3=other_scalar(head.s3)),
        "(4) component 1: α": dataclasses.replace(head, s4=(head.s4[0], other_scalar())),
    }
    for name, altered in cases.items():
        with pytest.raises(InvalidShuffle, match="mixer 2: .*" + re.escape(name)):
            verify_shuffle(setting, inputs, outputs, dataclasses.replace(proof, head=altered))
    chunk = proof.chunks[1]  # rows 3
    bad = dataclasses.replace(chunk, chain_responses=(other_scalar(),))
    with pytest.raises(InvalidShuffle, match="row 3: the commitment-chain equation"):
        verify_shuffle(
            setting, inputs, outputs, dataclasses.replace(proof, chunks=(proof.chunks[0], bad))
        )


def test_every_part_of_the_statement_is_bound(mix_key, setting, example):
    _, key = mix_key
    inputs, outputs, _, proof = example
    other_key = keygen()[1]
    settings_ = [
        dataclasses.replace(setting, fingerprint=digest_json({"other": 1})),
        dataclasses.replace(setting, key=other_key),
        dataclasses.replace(setting, mixer=3),
        dataclasses.replace(setting, mixer_key=other_point(setting.mixer_key)),
    ]
    for altered in settings_:
        with pytest.raises(InvalidShuffle):
            verify_shuffle(altered, inputs, outputs, proof)
    for i in range(len(inputs)):
        for k in range(inputs.width):
            for part in ("alpha", "beta"):
                for lst, is_input in ((inputs, True), (outputs, False)):
                    ct = lst.rows[i][k]
                    bad_ct = dataclasses.replace(ct, **{part: other_point()})
                    rows = with_item(lst.rows, i, with_item(lst.rows[i], k, bad_ct))
                    bad = CiphertextList(lst.width, rows)
                    with pytest.raises(InvalidShuffle):
                        if is_input:
                            verify_shuffle(setting, bad, outputs, proof)
                        else:
                            verify_shuffle(setting, inputs, bad, proof)


def test_shape_mismatches_are_rejected(mix_key, setting, example):
    _, key = mix_key
    inputs, outputs, _, proof = example
    with pytest.raises(InvalidShuffle):
        verify_shuffle(setting, inputs.slice(0, 3), outputs, proof)
    with pytest.raises(InvalidShuffle):
        verify_shuffle(setting, inputs, outputs.slice(1, 4), proof)
    wider = make_inputs(key, 4, 3)
    with pytest.raises(InvalidShuffle):
        verify_shuffle(setting, wider, outputs, proof)


# --- Dishonest mixers ----------------------------------------------------------------------------


def _cheat(setting, key, inputs, fake_outputs_rows, witness) -> ShuffleProof:
    """A mixer runs the honest prover with its real witness over altered outputs."""
    fake = CiphertextList(inputs.width, tuple(fake_outputs_rows))
    return fake, prove_shuffle(setting, inputs, fake, witness)


def test_dishonest_mixers_are_caught(mix_key, setting):
    sk, key = mix_key
    inputs = make_inputs(key, 5, 2)
    outputs, witness = shuffle(key, inputs)
    rows = list(outputs.rows)
    perm = witness.permutation
    fresh = lambda row: tuple(reencrypt(key, ct, Scalar.random()) for ct in row)  # noqa: E731
    cheats = {
        # drop row 0 and duplicate row 1 in its place (N unchanged)
        "duplicate": [fresh(rows[1]), *rows[1:]],
        # replace row 2 by an encryption of another ballot
        "replace": [*rows[:2], encrypt_row(key, [encode_int(999), encode_int(1)])[0], *rows[3:]],
        # swap two output rows without saying so in the permutation
        "re-order": [rows[1], rows[0], *rows[2:]],
        # swap one component between two rows (rows must travel whole)
        "split a row": [
            (rows[0][0], rows[1][1]),
            (rows[1][0], rows[0][1]),
            *rows[2:],
        ],
        # re-encrypt under another key
        "other key": [
            tuple(reencrypt(keygen()[1], ct, Scalar.random()) for ct in rows[0]),
            *rows[1:],
        ],
    }
    for _name, fake_rows in cheats.items():
        fake, proof = _cheat(setting, key, inputs, fake_rows, witness)
        with pytest.raises(InvalidShuffle):
            verify_shuffle(setting, inputs, fake, proof)
    # dropping a row outright: the proof is for N rows, the list has N − 1
    proof = prove_shuffle(setting, inputs, outputs, witness)
    with pytest.raises(InvalidShuffle):
        verify_shuffle(setting, inputs, outputs.slice(0, 4), proof)
    # claiming the identity permutation for a permuted list
    if perm != tuple(range(5)):
        identity = ShuffleWitness(range(5), witness.randomness)
        with pytest.raises(InvalidShuffle):
            verify_shuffle(
                setting, inputs, outputs, prove_shuffle(setting, inputs, outputs, identity)
            )
    # but an honest re-encryption without permuting is a valid shuffle
    same = ShuffleWitness(range(5), witness.randomness)
    unpermuted = CiphertextList(2, shuffle_rows(key, inputs, same, 0, 5))
    verify_shuffle(setting, inputs, unpermuted, prove_shuffle(setting, inputs, unpermuted, same))


def test_a_shuffle_dropping_and_adding_a_row_of_its_own_is_caught(mix_key, setting):
    """The mixer replaces a voter's row by one of its own and proves the rest honestly: the
    proof over the claimed permutation fails."""
    sk, key = mix_key
    inputs = make_inputs(key, 4, 1)
    outputs, witness = shuffle(key, inputs)
    mine, _ = encrypt_row(key, [encode_int(7777)])
    j = witness.permutation.index(0)  # the output row that carries input row 0
    fake = CiphertextList(1, with_item(outputs.rows, j, mine))
    with pytest.raises(InvalidShuffle):
        verify_shuffle(setting, inputs, fake, prove_shuffle(setting, inputs, fake, witness))


# --- The chunked API -------------------------------------------------------------------------------


def test_staged_prover_in_any_chunking(mix_key, setting):
    _, key = mix_key
    inputs = make_inputs(key, 6, 2)
    outputs, witness = shuffle(key, inputs)
    prover = ShuffleProver(setting, inputs, outputs, witness)
    assert "redacted" in repr(prover) and "redacted" in repr(witness)
    commitments = prover.commit_permutation(0, 4) + prover.commit_permutation(4, 6)
    with pytest.raises(CryptoError):
        prover.set_permutation_commitments(commitments[:5])
    prover.set_permutation_commitments(commitments)
    parts = [prover.commit_chain(4, 6), prover.commit_chain(0, 1), prover.commit_chain(1, 4)]
    with pytest.raises(CryptoError):
        prover.finish(parts[:2])
    proof = prover.finish(parts, rows_per_chunk=5)
    assert [len(c) for c in proof.chunks] == [5, 1]
    verify_shuffle(setting, inputs, outputs, proof)


def test_streaming_verification_matches(mix_key, setting):
    _, key = mix_key
    inputs = make_inputs(key, 5, 1)
    outputs, witness = shuffle(key, inputs)
    proof = prove_shuffle(setting, inputs, outputs, witness, rows_per_chunk=2)
    gens = shuffle_generators(FINGERPRINT)
    parts = [
        (inputs.slice(c.offset, c.stop), outputs.slice(c.offset, c.stop), c) for c in proof.chunks
    ]

    transcript = ShuffleTranscript(setting, proof.head)
    for i, o, c in parts:
        transcript.absorb(i, o, c)
    challenge = transcript.challenge()
    weights = ShuffleWeights.draw(1)
    assert "redacted" in repr(weights)
    checks, previous = [], gens.chain_base
    for i, o, c in parts:
        checks.append(
            verify_shuffle_chunk(challenge, weights, i, o, c, previous, gens.rows(c.offset, c.stop))
        )
        previous = c.chain[-1]
    verify_shuffle_merge(challenge, weights, gens.chain_base, list(reversed(checks)))  # any order

    # a chunk missing, or checked with the wrong previous ĉ, or the wrong base
    with pytest.raises(InvalidShuffle):
        verify_shuffle_merge(challenge, weights, gens.chain_base, checks[:-1])
    wrong = verify_shuffle_chunk(
        challenge, weights, *parts[1][:2], parts[1][2], gens.chain_base, gens.rows(2, 4)
    )
    with pytest.raises(InvalidShuffle, match="previous"):
        verify_shuffle_merge(challenge, weights, gens.chain_base, [checks[0], wrong, checks[2]])
    with pytest.raises(InvalidShuffle):
        verify_shuffle_merge(challenge, weights, other_point(), checks)
    with pytest.raises(CryptoError):
        verify_shuffle_merge(challenge, ShuffleWeights.draw(2), gens.chain_base, checks)
    with pytest.raises(CryptoError):
        diagnose_shuffle_merge(challenge, gens.chain_base, checks)  # made without diagnose

    # chunks absorbed out of order, too few, or of the wrong size
    t = ShuffleTranscript(setting, proof.head)
    with pytest.raises(InvalidShuffle):
        t.absorb(*parts[1])
    t.absorb(*parts[0])
    with pytest.raises(InvalidShuffle):
        t.challenge()
    with pytest.raises(InvalidShuffle):
        t.absorb(inputs.slice(2, 3), outputs.slice(2, 4), parts[1][2])


def test_the_permutation_challenges_are_the_documented_hash(mix_key, setting, example):
    inputs, outputs, _, proof = example
    transcript = ShuffleTranscript(setting, proof.head)
    for c in proof.chunks:
        transcript.absorb(inputs.slice(c.offset, c.stop), outputs.slice(c.offset, c.stop), c)
    ch = transcript.challenge()
    statement = setting.statement(4, 2, inputs.digest(), outputs.digest())
    assert ch.statement == statement
    pc = {"permutation_commitments": ch.digests["permutation_commitments"]}
    expected = [
        int(hash_to_scalar(Tag.SHUFFLE_PERMUTATION, FINGERPRINT, statement, pc, i))
        for i in range(4)
    ]
    assert ch.permutation_challenges(0, 4) == expected
    assert ch.permutation_challenges(2, 4) == expected[2:]
    commitments = proof.head.commitments_json()
    c = hash_to_scalar(Tag.SHUFFLE, FINGERPRINT, statement, {**ch.digests, **commitments})
    assert ch.c == int(c)
    digest = ListDigest("shuffle-chain", 4, 1)
    digest.update([p for chunk in proof.chunks for p in chunk.chain])
    assert ch.digests["chain"] == digest.hexdigest()


# --- Generators, permutations, witnesses, digests ------------------------------------------------------


def test_generators_are_the_documented_hashes():
    gens = ShuffleGenerators(FINGERPRINT)
    first = gens.rows(0, 3)
    assert first[1] == hash_to_curve(canonical_json([FINGERPRINT, "row", 1]), GENERATOR_DST)
    assert gens.chain_base == hash_to_curve(canonical_json([FINGERPRINT, "chain"]), GENERATOR_DST)
    assert GENERATOR_DST == b"PNYX-V1/mix-generator/P256_XMD:SHA-256_SSWU_RO_"
    assert len({p.to_hex() for p in [*gens.rows(0, 300), gens.chain_base, G]}) == 302
    assert ShuffleGenerators(FINGERPRINT).rows(250, 260) == gens.rows(250, 260)
    assert ShuffleGenerators(digest_json({"x": 2})).row(0) != gens.row(0)
    assert shuffle_generators(FINGERPRINT) is shuffle_generators(FINGERPRINT)
    with pytest.raises(CryptoError):
        gens.rows(3, 2)
    with pytest.raises(InvalidEncoding):
        ShuffleGenerators("not a digest")


@settings(max_examples=30)
@given(st.integers(0, 40), st.randoms(use_true_random=False))
def test_random_permutation_is_a_permutation(n, rnd):
    perm = random_permutation(n, randbelow=rnd.randrange)
    assert sorted(perm) == list(range(n))


def test_witness_and_setting_validation(mix_key):
    _, key = mix_key
    with pytest.raises(CryptoError):
        ShuffleWitness([0, 0], [[Scalar(1)], [Scalar(2)]])
    with pytest.raises(CryptoError):
        ShuffleWitness([1, 0], [[Scalar(1)]])
    with pytest.raises(InvalidEncoding):
        ShuffleSetting("x", key, 1, G)
    with pytest.raises(InvalidEncoding):
        ShuffleSetting(FINGERPRINT, key, 0, G)
    with pytest.raises(Exception):  # noqa: B017 - InvalidPoint
        ShuffleSetting(FINGERPRINT, key, 1, Point.identity())
    with pytest.raises(CryptoError):
        shuffle(key, CiphertextList(1, ()))


def test_list_digest_counts_and_separates():
    a = ListDigest("x", 2, 1)
    a.update([G])
    with pytest.raises(CryptoError):
        a.hexdigest()
    a.update([G])
    b = ListDigest("y", 2, 1)
    b.update([G, G])
    c = ListDigest("x", 1, 2)
    c.update([G, G])
    assert len({a.hexdigest(), b.hexdigest(), c.hexdigest()}) == 3
    identity = ListDigest("x", 1, 1)
    identity.update([Point.identity()])
    identity.hexdigest()


def test_chunk_objects_validate():
    with pytest.raises(InvalidEncoding):
        ShuffleProofChunk(0, (G,), (G, G), (G,), (Scalar(1),), (Scalar(1),))
    with pytest.raises(InvalidEncoding):
        ShuffleProofChunk(0, (), (), (), (), ())
    with pytest.raises(CryptoError):
        chunk_bounds(5, 0)
