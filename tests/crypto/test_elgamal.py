"""crypto.elgamal: exponential ElGamal, its homomorphism and its JSON form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.dlog import discrete_log
from crypto.elgamal import (
    Ciphertext,
    ElectionKey,
    SecretKey,
    decrypt_to_point,
    encrypt,
    keygen,
)
from crypto.errors import InvalidEncoding, InvalidPoint
from crypto.group import G, Point, Scalar, base_mul
from tests.strategies import nonzero_scalars, small_plaintexts

BOUND = 10**6


def decrypt(sk: SecretKey, ct: Ciphertext) -> int:
    return discrete_log(decrypt_to_point(sk, ct), BOUND)


@given(small_plaintexts())
@settings(max_examples=50, deadline=None)
def test_encrypt_decrypt_round_trip(keypair, m):
    sk, pk = keypair
    ct, r = encrypt(pk, m)
    assert decrypt_to_point(sk, ct) == base_mul(m)
    assert decrypt(sk, ct) == m
    # the ciphertext is (r·G, m·G + r·K)
    assert ct.alpha == base_mul(r)
    assert ct.beta == base_mul(m) + pk.point * r


@given(st.integers(0, 3), nonzero_scalars())
@settings(max_examples=30, deadline=None)
def test_encrypt_with_given_randomness_is_deterministic(keypair, m, r):
    _, pk = keypair
    ct1, r1 = encrypt(pk, m, r)
    ct2, _ = encrypt(pk, m, rand=lambda: r)
    assert r1 == r
    assert ct1 == ct2
    assert ct1 != encrypt(pk, m + 1, r)[0]


def test_encryption_randomness_is_fresh_and_non_zero(keypair):
    _, pk = keypair
    cts = {encrypt(pk, 1)[0].alpha.to_hex() for _ in range(20)}
    assert len(cts) == 20
    with pytest.raises(InvalidPoint):
        encrypt(pk, 1, Scalar(0))


def test_a_wrong_key_does_not_decrypt(keypair):
    _, pk = keypair
    other, _ = keygen()
    ct, _ = encrypt(pk, 5)
    assert decrypt_to_point(other, ct) != base_mul(5)


@given(small_plaintexts(), small_plaintexts())
@settings(max_examples=40, deadline=None)
def test_addition_is_homomorphic(keypair, a, b):
    sk, pk = keypair
    (ca, ra), (cb, rb) = encrypt(pk, a), encrypt(pk, b)
    total = ca + cb
    assert decrypt(sk, total) == a + b
    assert total.alpha == base_mul(ra + rb)  # randomness adds up too
    assert decrypt(sk, Ciphertext.sum([ca, cb, ca])) == 2 * a + b
    if a >= b:
        assert decrypt(sk, ca - cb) == a - b


@given(st.integers(0, 999), st.integers(0, 999))
@settings(max_examples=40, deadline=None)
def test_scaling_by_a_weight(keypair, m, w):
    sk, pk = keypair
    ct, r = encrypt(pk, m)
    scaled = ct.scale(w)
    assert decrypt(sk, scaled) == w * m
    assert scaled.alpha == base_mul(r * w)
    assert decrypt(sk, ct.scale(Scalar(w))) == w * m


def test_zero_and_empty_sum(keypair):
    sk, pk = keypair
    zero = Ciphertext.zero()
    assert zero.alpha.is_identity() and zero.beta.is_identity()
    assert Ciphertext.sum([]) == zero
    assert decrypt(sk, zero) == 0
    ct, _ = encrypt(pk, 7)
    assert ct + zero == ct
    assert Ciphertext.sum([ct]) == ct
    assert (ct - ct) == zero


# --- keys -----------------------------------------------------------------------------------------------


def test_keys(keypair):
    sk, pk = keypair
    assert pk.point == base_mul(sk.x)
    assert sk.public() == pk
    assert hash(sk.public()) == hash(pk)
    assert pk != ElectionKey(G)
    assert pk != pk.point  # an ElectionKey only equals an ElectionKey
    assert "redacted" in repr(sk) and sk.x.to_hex() not in repr(sk)
    with pytest.raises(InvalidPoint):
        SecretKey(Scalar(0))
    with pytest.raises(InvalidPoint):
        ElectionKey(Point.identity())
    with pytest.raises(InvalidPoint):
        ElectionKey(G.to_hex())
    assert pk.table is pk.table  # built once
    assert pk.table.mul(5) == pk.point * 5


def test_election_key_json(keypair):
    _, pk = keypair
    assert pk.to_json() == pk.point.to_hex()
    assert ElectionKey.from_json(pk.to_json()) == pk
    for bad in ("00", pk.to_json().upper(), pk.to_json()[:-2], 5, None):
        with pytest.raises(InvalidPoint):
            ElectionKey.from_json(bad)


# --- Ciphertext JSON ---------------------------------------------------------------------------------


@given(small_plaintexts())
@settings(max_examples=20, deadline=None)
def test_ciphertext_json_round_trip(keypair, m):
    _, pk = keypair
    ct, _ = encrypt(pk, m)
    data = ct.to_json()
    assert set(data) == {"alpha", "beta"}
    assert Ciphertext.from_json(data) == ct
    assert Ciphertext.from_json(ct.to_json(allow_identity=True)) == ct
    assert ct.to_json(allow_identity=True) == data


def test_ciphertext_identity_handling(keypair):
    _, pk = keypair
    zero = Ciphertext.zero()
    with pytest.raises(InvalidPoint):
        zero.to_json()
    data = zero.to_json(allow_identity=True)
    assert data == {"alpha": "00", "beta": "00"}
    with pytest.raises(InvalidPoint):
        Ciphertext.from_json(data)
    assert Ciphertext.from_json(data, allow_identity=True) == zero
    # a tally of ciphertexts whose α cancel: the identity in one field only
    ct, r = encrypt(pk, 3)
    ct2, _ = encrypt(pk, 4, -r)
    mixed = ct + ct2
    assert mixed.alpha.is_identity() and not mixed.beta.is_identity()
    data = mixed.to_json(allow_identity=True)
    assert data["alpha"] == "00"
    assert Ciphertext.from_json(data, allow_identity=True) == mixed
    with pytest.raises(InvalidPoint):
        Ciphertext.from_json(data)


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        "ct",
        {"alpha": G.to_hex()},
        {"beta": G.to_hex()},
        {"alpha": G.to_hex(), "beta": G.to_hex(), "gamma": G.to_hex()},
    ],
)
def test_ciphertext_from_json_structure(value):
    with pytest.raises(InvalidEncoding):
        Ciphertext.from_json(value)


@pytest.mark.parametrize("field", ["alpha", "beta"])
@pytest.mark.parametrize(
    "bad", [5, None, "", "04", G.to_hex().upper(), G.to_hex()[:-2] + "00", "00"]
)
def test_ciphertext_from_json_points(field, bad):
    value = {"alpha": G.to_hex(), "beta": G.to_hex(), field: bad}
    with pytest.raises(InvalidPoint, match=field):
        Ciphertext.from_json(value)
