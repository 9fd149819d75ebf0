"""RFC 9380 hash_to_curve for P-256 (suite P256_XMD:SHA-256_SSWU_RO_) and the field helpers it
rests on (crypto/group.py): the RFC's own vectors, then edge cases and properties."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, InvalidEncoding, InvalidPoint
from crypto.group import A, B, G, P, Point, curve_rhs, fp_batch_inv, fp_inv, fp_pow, fp_sqrt
from crypto.h2c import SUITE, hash_to_curve, hash_to_curve_many, hash_to_field, map_to_curve

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc9380"
FILE = VECTORS / "P256_XMD-SHA-256_SSWU_RO_.json"
SHA256 = "ce6c446167b91bb926a428059c82e727b80a70e247e0f7ead15a155072be9fa9"
DATA = json.loads(FILE.read_text(encoding="utf-8"))


def _xy(obj: dict) -> tuple[int, int]:
    return int(obj["x"], 16), int(obj["y"], 16)


def test_the_file_is_the_pinned_copy():
    assert hashlib.sha256(FILE.read_bytes()).hexdigest() == SHA256
    assert DATA["ciphersuite"] == SUITE == "P256_XMD:SHA-256_SSWU_RO_"
    assert int(DATA["field"]["p"], 16) == P
    assert int(DATA["Z"], 16) == P - 10
    assert DATA["L"] == "0x30" and DATA["randomOracle"] is True
    assert len(DATA["vectors"]) == 5


@pytest.mark.parametrize("case", DATA["vectors"], ids=lambda c: c["msg"][:12] or "empty")
def test_rfc9380_vectors(case):
    dst = DATA["dst"].encode()
    msg = case["msg"].encode()
    u = hash_to_field(msg, dst, 2)
    assert u == [int(x, 16) for x in case["u"]]
    assert map_to_curve(u[0]).coordinates() == _xy(case["Q0"])
    assert map_to_curve(u[1]).coordinates() == _xy(case["Q1"])
    assert hash_to_curve(msg, dst).coordinates() == _xy(case["P"])


def test_batch_equals_one_by_one():
    dst = DATA["dst"].encode()
    msgs = [c["msg"].encode() for c in DATA["vectors"]] + [b"x" * n for n in range(20)]
    assert hash_to_curve_many(msgs, dst) == [hash_to_curve(m, dst) for m in msgs]
    assert hash_to_curve_many([], dst) == []


def test_domain_separation_and_bad_tags():
    msg = b"pnyx"
    assert hash_to_curve(msg, b"A") != hash_to_curve(msg, b"B")
    for bad in (b"", b"x" * 256, "text"):
        with pytest.raises(InvalidEncoding):
            hash_to_curve(msg, bad)
    with pytest.raises(InvalidEncoding):
        hash_to_curve("text", b"A")


def test_map_edge_inputs():
    # u = 0 is the exceptional case of the map (tv1 = inv0(0) = 0, x1 = B / (Z·A))
    for u in (0, 1, 2, P - 1, P - 2):
        x, y = map_to_curve(u).coordinates()
        assert (y * y - curve_rhs(x)) % P == 0
        assert (y & 1) == (u & 1)  # sgn0(y) = sgn0(u)
    for bad in (-1, P, 1.0, True):
        with pytest.raises(InvalidEncoding):
            map_to_curve(bad)


@settings(max_examples=60)
@given(st.integers(0, P - 1))
def test_map_lands_on_the_curve_with_the_sign_of_u(u):
    x, y = map_to_curve(u).coordinates()
    assert (y * y - x**3 - A * x - B) % P == 0
    assert (y & 1) == (u & 1)


# --- the field helpers of crypto/group.py ------------------------------------------------------


@settings(max_examples=60)
@given(st.integers(0, P - 1), st.integers(0, 2**256 - 1))
def test_fp_pow_matches_python(x, e):
    assert fp_pow(x, e) == pow(x, e, P)


def test_fp_pow_refuses_out_of_range():
    for x, e in ((P, 1), (-1, 1), (1, 2**256), (1, -1), (1.0, 1)):
        with pytest.raises(CryptoError):
            fp_pow(x, e)


@settings(max_examples=60)
@given(st.integers(0, P - 1))
def test_fp_sqrt(x):
    root = fp_sqrt(x)
    is_square = x == 0 or pow(x, (P - 1) // 2, P) == 1
    assert (root is not None) == is_square
    if root is not None:
        assert root * root % P == x


def test_inverses():
    values = [secrets.randbelow(P) for _ in range(30)] + [0, 1, P - 1, P]
    assert fp_batch_inv(values) == [fp_inv(v) for v in values]
    assert fp_inv(0) == 0 and fp_batch_inv([]) == []
    assert all(
        v % P == 0 or v * i % P == 1 for v, i in zip(values, fp_batch_inv(values), strict=True)
    )


def test_affine_round_trip_and_refusals():
    x, y = (G * 12345).coordinates()
    assert Point.from_affine(x, y) == G * 12345
    for bad in ((x, y + 1), (x, P - y + P), (P, y), (-1, y), (x, 1.5)):
        with pytest.raises(InvalidPoint):
            Point.from_affine(*bad)
    with pytest.raises(InvalidPoint):
        Point.identity().coordinates()
