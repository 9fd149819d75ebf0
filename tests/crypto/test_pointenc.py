"""Messages as points (crypto/pointenc.py, docs/protocol.md §15.2) and ElGamal on point messages."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import Ciphertext, decrypt_to_point, encrypt_point, reencrypt
from crypto.errors import InvalidEncoding, InvalidPoint, InvalidScalar
from crypto.group import G, P, Point, Scalar, base_mul, curve_rhs, fp_sqrt
from crypto.pointenc import (
    BYTES_PER_POINT,
    MAX_POINTS,
    decode_block,
    decode_bytes,
    decode_int,
    encode_block,
    encode_bytes,
    encode_int,
    points_needed,
)
from tests.strategies import message_bytes, points

B = BYTES_PER_POINT


def _point_with(x: int, *, odd: bool = False) -> Point:
    y = fp_sqrt(curve_rhs(x))
    assert y is not None
    if (y & 1) != odd:
        y = P - y
    return Point.from_affine(x, y)


def test_every_length_round_trips_through_the_fewest_points():
    for length in range(0, 4 * B + 2):
        data = os.urandom(length)
        pts = encode_bytes(data)
        assert len(pts) == points_needed(length) == length // B + 1
        assert decode_bytes(pts) == data


@pytest.mark.parametrize(
    ("length", "count"),
    [(0, 1), (1, 1), (B - 2, 1), (B - 1, 1), (B, 2), (B + 1, 2), (2 * B - 1, 2), (2 * B, 3)],
)
def test_boundaries(length, count):
    data = bytes(range(256))[:length] if length < 256 else os.urandom(length)
    assert points_needed(length) == count
    assert len(encode_bytes(data)) == count
    assert decode_bytes(encode_bytes(data)) == data
    # in a fixed, larger number of points (a question's width): same message
    wide = encode_bytes(data, count + 2)
    assert len(wide) == count + 2 and decode_bytes(wide) == data
    with pytest.raises(InvalidEncoding, match="do not fit"):
        encode_bytes(data + bytes(B * count - length), count)  # one byte too many


@settings(max_examples=60)
@given(message_bytes(200), st.integers(0, 3))
def test_round_trip_property(data, extra):
    pts = encode_bytes(data, points_needed(len(data)) + extra)
    assert decode_bytes(pts) == data
    # every point is canonical: it is what its own block encodes to
    for p in pts:
        assert encode_block(decode_block(p)) == p


@settings(max_examples=15)
@given(st.integers(0, B * MAX_POINTS - 1), st.binary(min_size=1, max_size=64))
def test_any_length_up_to_the_largest_message(length, pattern):
    data = (pattern * (length // len(pattern) + 1))[:length]
    pts = encode_bytes(data)
    assert len(pts) == length // B + 1 <= MAX_POINTS
    assert decode_bytes(pts) == data


def test_padding_bytes_inside_the_message_survive():
    for data in (
        b"\x80",
        b"\x80" * B,
        b"\x00" * (B - 1),
        b"a\x80\x00",
        b"\x80\x00" * 40,
        b"\xff" * 89,
    ):
        assert decode_bytes(encode_bytes(data)) == data


def test_encoding_is_deterministic_and_even():
    data = b"The same text gives the same points."
    first, second = encode_bytes(data), encode_bytes(data)
    assert first == second
    for p in first:
        x, y = p.coordinates()
        assert y % 2 == 0 and x < 2**248


def test_counts_and_types_refused():
    with pytest.raises(InvalidEncoding):
        encode_bytes("text")
    for bad in (0, -1, MAX_POINTS + 1, 1.0, True):
        with pytest.raises(InvalidEncoding):
            encode_bytes(b"", bad)
    with pytest.raises(InvalidEncoding):
        encode_bytes(bytes(B * MAX_POINTS))
    assert len(encode_bytes(bytes(B * MAX_POINTS - 1))) == MAX_POINTS
    for bad in (b"", bytes(B - 1), bytes(B + 1), "x" * B):
        with pytest.raises(InvalidEncoding):
            encode_block(bad)
    with pytest.raises(InvalidEncoding):
        points_needed(-1)
    with pytest.raises(InvalidEncoding):
        decode_bytes([])
    with pytest.raises(InvalidEncoding):
        decode_bytes([encode_block(bytes(B))] * (MAX_POINTS + 1))


def test_non_canonical_points_are_refused():
    block = b"non-canonical test block......"
    good = encode_block(block)
    x, y = good.coordinates()
    # the other root (odd ordinate)
    with pytest.raises(InvalidEncoding, match="odd"):
        decode_block(-good)
    # a larger counter that also gives a point
    base = x & ~0xFF
    later = next(c for c in range((x & 0xFF) + 1, 256) if fp_sqrt(curve_rhs(base | c)) is not None)
    with pytest.raises(InvalidEncoding, match="smaller counter"):
        decode_block(_point_with(base | later))
    # an abscissa of 2^248 or more (G's, for one)
    assert G.coordinates()[0] >= 2**248
    with pytest.raises(InvalidEncoding, match="2\\^248"):
        decode_block(G)
    with pytest.raises(InvalidEncoding):
        decode_block(Point.identity())
    with pytest.raises(InvalidEncoding):
        decode_bytes([good, Point.identity()])


def test_messages_without_padding_are_refused():
    no_marker = [encode_block(b"x" * B)]
    only_zeros = [encode_block(bytes(B))]
    junk_after_marker = [encode_block(b"ab\x80" + b"\x00" * (B - 4) + b"\x01")]
    for pts in (no_marker, only_zeros, junk_after_marker):
        with pytest.raises(InvalidEncoding, match="padding"):
            decode_bytes(pts)
    # the marker may sit in an earlier point, followed by all-zero blocks
    assert decode_bytes([encode_block(b"ab\x80" + bytes(B - 3)), encode_block(bytes(B))]) == b"ab"


@settings(max_examples=25)
@given(points())
def test_random_points_rarely_decode_and_never_crash(point):
    try:
        data = decode_bytes([point])
    except InvalidEncoding:
        return
    assert encode_bytes(data) == (point,)


# --- Small integers ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [0, 1, 2, 999, 10**6])
def test_small_integers(m):
    point = encode_int(m)
    assert point == (Point.identity() if m == 0 else base_mul(m))
    assert decode_int(point) == m


def test_small_integer_bounds():
    assert decode_int(encode_int(99, 100), 100) == 99
    for bad in (-1, 100, 1.0, True):
        with pytest.raises(InvalidScalar):
            encode_int(bad, 100)
    with pytest.raises(InvalidEncoding, match="small integer"):
        decode_int(base_mul(100), 100)
    with pytest.raises(InvalidEncoding):
        decode_int(encode_bytes(b"text")[0], 1000)


# --- ElGamal on point messages -----------------------------------------------------------------


def test_point_encryption_round_trip_and_reencryption(keypair):
    sk, key = keypair
    for message in (*encode_bytes(b"a text answer"), encode_int(0), encode_int(42)):
        ct, r = encrypt_point(key, message)
        assert ct.alpha == base_mul(r)
        assert decrypt_to_point(sk, ct) == message
        again = reencrypt(key, ct, Scalar.random())
        assert again != ct and decrypt_to_point(sk, again) == message
    public = Ciphertext(Point.identity(), encode_int(7))  # randomness 0 (a public weight)
    assert decrypt_to_point(sk, reencrypt(key, public, Scalar(5))) == encode_int(7)


def test_point_encryption_refusals(keypair):
    _, key = keypair
    with pytest.raises(InvalidPoint):
        encrypt_point(key, G, Scalar(0))
    with pytest.raises(InvalidPoint):
        reencrypt(key, encrypt_point(key, G)[0], Scalar(0))
    with pytest.raises(InvalidPoint):
        encrypt_point(key, b"not a point")
    ct, r = encrypt_point(key, G, Scalar(9))
    assert ct == encrypt_point(key, G, Scalar(9))[0] and r == Scalar(9)
