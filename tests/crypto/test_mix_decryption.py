"""Verified decryption of the mixnet's final list (crypto/mix/decryption.py, protocol §15.8):
trustees' partial decryptions with Chaum–Pedersen proofs, checked in one batch a chunk, combined
with Lagrange by any t of them, decoded to bytes and small integers."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import ElectionKey
from crypto.errors import DecryptionError, InvalidEncoding, InvalidProof
from crypto.group import Point, Scalar, base_mul
from crypto.hashing import digest_json
from crypto.mix.decryption import (
    MixDecryption,
    mix_combine,
    mix_decryption_binding,
    mix_partial_decrypt,
    verify_mix_decryption,
)
from crypto.mix.rows import CiphertextList, encrypt_row, public_ciphertext
from crypto.mix.shuffle import ShuffleSetting, prove_shuffle, shuffle, verify_shuffle
from crypto.pointenc import decode_bytes, decode_int, encode_bytes, encode_int
from crypto.proofs.dleq import DleqProof
from crypto.threshold import Polynomial
from tests.crypto.tamper import other_point, other_scalar, with_item
from tests.strategies import message_bytes

FINGERPRINT = digest_json({"test": "mix decryption"})
TEXT_POINTS = 2  # a text answer of up to 59 bytes, then a weight


@pytest.fixture(scope="module")
def trustees():
    """Three trustees, threshold 2: the polynomial's shares and the election key."""
    poly = Polynomial([Scalar.random(), Scalar.random()])
    key = ElectionKey(base_mul(poly.coefficients[0]))
    shares = {t: poly(t) for t in (1, 2, 3)}
    return key, shares


def ballots(key, texts: list[bytes], weights: list[int]) -> CiphertextList:
    rows = []
    for text, weight in zip(texts, weights, strict=True):
        row, _ = encrypt_row(key, list(encode_bytes(text, TEXT_POINTS)))
        rows.append((*row, public_ciphertext(encode_int(weight))))
    return CiphertextList(TEXT_POINTS + 1, tuple(rows))


def decode_rows(messages) -> list[tuple[bytes, int]]:
    return [(decode_bytes(row[:TEXT_POINTS]), decode_int(row[TEXT_POINTS])) for row in messages]


@pytest.fixture(scope="module")
def final_list(trustees):
    key, _ = trustees
    texts = [b"", b"Ada", b"x" * 59, "Jérôme \u2028".encode(), b"\x80\x00"]
    inputs = ballots(key, texts, [1, 2, 0, 5, 1])
    outputs, witness = shuffle(key, inputs)
    setting = ShuffleSetting(FINGERPRINT, key, 1, base_mul(Scalar.random()))
    verify_shuffle(setting, inputs, outputs, prove_shuffle(setting, inputs, outputs, witness))
    return outputs, sorted(zip(texts, [1, 2, 0, 5, 1], strict=True))


def test_any_threshold_of_trustees_decrypts_the_mixed_list(trustees, final_list):
    _, shares = trustees
    outputs, expected = final_list
    decryptions = {}
    for t, share in shares.items():
        d = mix_partial_decrypt(share, t, outputs, 0, fingerprint=FINGERPRINT)
        verify_mix_decryption(
            d, verification_key=base_mul(share), ciphertexts=outputs, fingerprint=FINGERPRINT
        )
        assert MixDecryption.from_json(d.to_json()) == d
        decryptions[t] = d
    for pair in itertools.combinations(shares, 2):
        messages = mix_combine(outputs, {t: decryptions[t] for t in pair}, 2)
        assert sorted(decode_rows(messages)) == expected
    # more than t given: the t lowest are used, same result
    assert mix_combine(outputs, decryptions, 2) == mix_combine(
        outputs, {1: decryptions[1], 2: decryptions[2]}, 2
    )


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_chunks_decrypt_independently(trustees, final_list, chunk):
    _, shares = trustees
    outputs, expected = final_list
    messages = []
    for lo in range(0, len(outputs), chunk):
        part = outputs.slice(lo, lo + chunk)
        ds = {}
        for t in (2, 3):
            d = mix_partial_decrypt(shares[t], t, part, lo, fingerprint=FINGERPRINT)
            verify_mix_decryption(
                d, verification_key=base_mul(shares[t]), ciphertexts=part, fingerprint=FINGERPRINT
            )
            ds[t] = d
        messages.extend(mix_combine(part, ds, 2))
    assert sorted(decode_rows(messages)) == expected


def test_identity_alpha_decrypts(trustees):
    """A component never re-randomised (α = O) decrypts to β; its share is the identity."""
    key, shares = trustees
    rows = CiphertextList(1, ((public_ciphertext(encode_int(4)),),))
    d = mix_partial_decrypt(shares[1], 1, rows, 0, fingerprint=FINGERPRINT)
    assert d.shares[0][0].is_identity()
    verify_mix_decryption(
        d, verification_key=base_mul(shares[1]), ciphertexts=rows, fingerprint=FINGERPRINT
    )
    d3 = mix_partial_decrypt(shares[3], 3, rows, 0, fingerprint=FINGERPRINT)
    assert decode_int(mix_combine(rows, {1: d, 3: d3}, 2)[0][0]) == 4


@pytest.fixture(scope="module")
def one_decryption(trustees, final_list):
    _, shares = trustees
    outputs, _ = final_list
    part = outputs.slice(1, 3)
    d = mix_partial_decrypt(shares[2], 2, part, 1, fingerprint=FINGERPRINT)
    return part, d, base_mul(shares[2])


def _check(part, d, vk, fingerprint=FINGERPRINT):
    verify_mix_decryption(d, verification_key=vk, ciphertexts=part, fingerprint=fingerprint)


def test_every_field_tampered_is_rejected(one_decryption):
    part, d, vk = one_decryption
    _check(part, d, vk)
    count = 0
    for i in range(len(d)):
        for k in range(d.width):
            position = f"row {1 + i}, component {k}"
            share = other_point(d.shares[i][k])
            shares = with_item(d.shares, i, with_item(d.shares[i], k, share))
            with pytest.raises(InvalidProof, match=position):
                _check(part, dataclasses.replace(d, shares=shares), vk)
            proof = d.proofs[i][k]
            for altered in (
                DleqProof(other_point(), proof.commitment2, proof.response),
                DleqProof(proof.commitment1, other_point(), proof.response),
                DleqProof(proof.commitment1, proof.commitment2, other_scalar(proof.response)),
            ):
                proofs = with_item(d.proofs, i, with_item(d.proofs[i], k, altered))
                with pytest.raises(InvalidProof, match=position):
                    _check(part, dataclasses.replace(d, proofs=proofs), vk)
                count += 1
    assert count == 3 * len(d) * d.width


def test_the_statement_is_bound(trustees, one_decryption):
    part, d, vk = one_decryption
    with pytest.raises(InvalidProof):
        _check(part, d, base_mul(trustees[1][1]))  # another trustee's key
    with pytest.raises(InvalidProof):
        _check(part, d, vk, digest_json({"other": "election"}))
    with pytest.raises(InvalidProof):
        _check(part, dataclasses.replace(d, trustee=1), vk)  # claimed by another trustee
    with pytest.raises(InvalidProof):
        _check(part, dataclasses.replace(d, offset=0), vk)  # for other rows
    swapped = CiphertextList(part.width, (part.rows[1], part.rows[0]))
    with pytest.raises(InvalidProof):
        _check(swapped, d, vk)
    with pytest.raises(InvalidProof, match="expected"):
        _check(part.slice(0, 1), d, vk)
    with pytest.raises(InvalidProof):
        _check(part, d, Point.identity())


def test_a_share_for_the_right_alpha_but_the_wrong_secret_is_caught(trustees, one_decryption):
    """A trustee publishing D = x′·α with a valid-looking proof for x′ ≠ xₜ is refused."""
    part, d, vk = one_decryption
    wrong = mix_partial_decrypt(Scalar.random(), 2, part, 1, fingerprint=FINGERPRINT)
    with pytest.raises(InvalidProof):
        _check(part, wrong, vk)


def test_combine_refusals(trustees, one_decryption):
    _, shares = trustees
    part, d, _ = one_decryption
    with pytest.raises(DecryptionError):
        mix_combine(part, {2: d}, 2)
    other = mix_partial_decrypt(shares[3], 3, part.slice(0, 1), 1, fingerprint=FINGERPRINT)
    with pytest.raises(DecryptionError):
        mix_combine(part, {2: d, 3: other}, 2)
    shifted = mix_partial_decrypt(shares[3], 3, part, 0, fingerprint=FINGERPRINT)
    with pytest.raises(DecryptionError):
        mix_combine(part, {2: d, 3: shifted}, 2)
    with pytest.raises(DecryptionError):
        mix_combine(part, {1: d, 3: shifted}, 2)  # filed under the wrong trustee


def test_object_validation():
    g = base_mul(5)
    proof = DleqProof(g, g, Scalar(1))
    with pytest.raises(InvalidEncoding):
        MixDecryption(1, 0, 2, ((g,),), ((proof,),))
    with pytest.raises(InvalidEncoding):
        MixDecryption(1, 0, 1, (), ())
    with pytest.raises(InvalidEncoding):
        MixDecryption(0, 0, 1, ((g,),), ((proof,),))
    assert mix_decryption_binding(2, 7, 1) == {
        "component": 1,
        "purpose": "mix-decryption",
        "row": 7,
        "trustee": 2,
    }


@settings(max_examples=10, deadline=None)
@given(st.lists(message_bytes(2 * 30 - 1), min_size=1, max_size=4), st.integers(0, 10**6))
def test_mix_and_decrypt_round_trip(trustees, texts, weight):
    key, shares = trustees
    inputs = ballots(key, texts, [weight] * len(texts))
    outputs, witness = shuffle(key, inputs)
    ds = {t: mix_partial_decrypt(shares[t], t, outputs, 0, fingerprint=FINGERPRINT) for t in (1, 3)}
    for t, d in ds.items():
        _check(outputs, d, base_mul(shares[t]))
    assert sorted(decode_rows(mix_combine(outputs, ds, 2))) == sorted((t, weight) for t in texts)
