"""crypto.group: P-256 scalars and points, strict decoding, and the three multiplication paths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, InvalidEncoding, InvalidPoint, InvalidScalar
from crypto.group import (
    CURVE_NAME,
    FixedBase,
    G,
    P,
    Point,
    Q,
    Scalar,
    base_mul,
    multi_mul,
    random_scalar,
)
from tests.strategies import nonzero_scalars, points, scalar_ints, scalars

REPO = Path(__file__).resolve().parents[2]

# NIST P-256 (FIPS 186-4, D.1.2.3 / SEC 2 secp256r1), written out independently of OpenSSL.
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
P256_GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
P256_GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

# A point with x = 0 and a point with y = 1 (both on P-256): their coordinates plus p still fit
# in 32 bytes, which gives non-canonical encodings of real points (coordinate ≥ p).
X0_Y = 0x66485C780E2F83D72433BD5D84A06BB6541C2AF31DAE871728BF856A174F93F4
Y1_X = 0x6916FAC45E568B6B9E2E2ECD611B282E5FCC40A3067D601057F879CE5A8A73CC


def on_curve(x: int, y: int) -> bool:
    return (y * y - (x * x * x - 3 * x + P256_B)) % P256_P == 0


def uncompressed(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def compressed(point: Point) -> bytes:
    enc = point.to_bytes()
    return bytes([2 + (enc[64] & 1)]) + enc[1:33]


def hybrid(point: Point) -> bytes:
    enc = point.to_bytes()
    return bytes([6 + (enc[64] & 1)]) + enc[1:]


# --- The curve ------------------------------------------------------------------------------------


def test_the_curve_is_p256_not_petlibs_default():
    assert CURVE_NAME == "P-256"
    assert P == P256_P
    assert Q == P256_N
    assert G.to_bytes() == uncompressed(P256_GX, P256_GY)
    assert on_curve(P256_GX, P256_GY)


def test_the_non_canonical_test_points_are_real_points():
    assert on_curve(0, X0_Y)
    assert on_curve(Y1_X, 1)
    assert Point.from_bytes(uncompressed(0, X0_Y)).to_bytes() == uncompressed(0, X0_Y)
    assert Point.from_bytes(uncompressed(Y1_X, 1)).to_bytes() == uncompressed(Y1_X, 1)
    assert 0 + P < 2**256 and 1 + P < 2**256


# --- Scalars ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 2, Q - 1])
def test_scalar_accepts_its_range(value):
    assert int(Scalar(value)) == value


@pytest.mark.parametrize("value", [-1, Q, Q + 1, 2**256, -(2**300)])
def test_scalar_rejects_out_of_range(value):
    with pytest.raises(InvalidScalar):
        Scalar(value)


@pytest.mark.parametrize("value", [True, False, 1.0, 0.0, "1", b"\x01", None, Scalar(1)])
def test_scalar_rejects_non_int(value):
    with pytest.raises(InvalidScalar):
        Scalar(value)


def test_scalar_is_encoded_at_32_bytes():
    assert Scalar(1).to_bytes() == bytes(31) + b"\x01"
    assert Scalar(0).to_hex() == "0" * 64
    assert Scalar(Q - 1).to_hex() == f"{Q - 1:064x}"


@given(scalars())
@settings(max_examples=200, deadline=None)
def test_scalar_hex_and_bytes_round_trip(s):
    assert Scalar.from_hex(s.to_hex()) == s
    assert Scalar.from_bytes(s.to_bytes()) == s
    assert Scalar.from_bytes(bytearray(s.to_bytes())) == s
    assert len(s.to_hex()) == 64 and s.to_hex() == s.to_hex().lower()


@pytest.mark.parametrize(
    "text",
    [
        "AB" * 32,  # uppercase
        "0A" + "0" * 62,  # one uppercase digit
        "0" * 63,
        "0" * 65,
        "",
        "0x" + "0" * 62,
        f"{Q:064x}",  # q itself: not reduced
        f"{2**256 - 1:064x}",
        "g" + "0" * 63,
        " " + "0" * 63,
        "0" * 64 + "\n",  # a `$` anchor would let this through
        "0" * 63 + "\n",
        "+" + "0" * 63,
        "０" * 64,  # fullwidth digits
    ],
)
def test_scalar_from_hex_is_strict(text):
    with pytest.raises(InvalidScalar):
        Scalar.from_hex(text)


@pytest.mark.parametrize("value", [None, 0, 1, True, 1.0, b"00" * 32, ["00" * 32]])
def test_scalar_from_hex_rejects_non_strings(value):
    with pytest.raises(InvalidScalar):
        Scalar.from_hex(value)


@pytest.mark.parametrize(
    "data",
    [b"", bytes(31), bytes(33), Q.to_bytes(32, "big"), (2**256 - 1).to_bytes(32, "big")],
)
def test_scalar_from_bytes_is_strict(data):
    with pytest.raises(InvalidScalar):
        Scalar.from_bytes(data)


@pytest.mark.parametrize("value", ["00" * 32, 0, None, True, 1.5, [0] * 32])
def test_scalar_from_bytes_rejects_non_bytes(value):
    with pytest.raises(InvalidScalar):
        Scalar.from_bytes(value)


def test_scalar_nonzero_flag():
    assert Scalar.from_hex("0" * 64) == Scalar(0)
    with pytest.raises(InvalidScalar):
        Scalar.from_hex("0" * 64, nonzero=True)
    with pytest.raises(InvalidScalar):
        Scalar.from_bytes(bytes(32), nonzero=True)
    assert Scalar.from_hex("0" * 63 + "1", nonzero=True) == Scalar(1)


@given(scalar_ints(), scalar_ints())
@settings(max_examples=200, deadline=None)
def test_scalar_arithmetic_is_mod_q(a, b):
    sa, sb = Scalar(a), Scalar(b)
    assert int(sa + sb) == (a + b) % Q
    assert int(sa - sb) == (a - b) % Q
    assert int(sa * sb) == (a * b) % Q
    assert int(-sa) == (-a) % Q
    # plain ints are reduced
    assert int(sa + b) == (a + b) % Q
    assert int(b + sa) == (a + b) % Q
    assert int(b - sa) == (b - a) % Q
    assert int(sa * (b + Q)) == (a * b) % Q
    assert int(sa - (b + 5 * Q)) == (a - b) % Q


@given(nonzero_scalars())
@settings(max_examples=100, deadline=None)
def test_scalar_inverse(s):
    inv = s.inverse()
    assert s * inv == Scalar(1)
    assert int(inv) == pow(int(s), -1, Q)


def test_zero_has_no_inverse():
    with pytest.raises(InvalidScalar):
        Scalar(0).inverse()


@pytest.mark.parametrize("other", [True, 1.5, "1", None])
def test_scalar_arithmetic_rejects_other_types(other):
    for op in (
        lambda: Scalar(3) + other,
        lambda: Scalar(3) - other,
        lambda: other - Scalar(3),
        lambda: Scalar(3) * other,
    ):
        with pytest.raises(InvalidScalar):
            op()


def test_scalar_reduce_random_equality_and_repr():
    assert Scalar.reduce(-1) == Scalar(Q - 1)
    assert Scalar.reduce(Q + 5) == Scalar(5)
    assert Scalar(5) != Scalar(6)
    assert Scalar(5) != 5  # no silent comparison with ints
    assert hash(Scalar(5)) == hash(Scalar.from_hex(Scalar(5).to_hex()))
    assert Scalar(0).is_zero() and not Scalar(1).is_zero()
    draws = {int(Scalar.random()) for _ in range(50)} | {int(random_scalar()) for _ in range(50)}
    assert len(draws) == 100
    assert all(0 < v < Q for v in draws)


# --- Points: encoding round trips ------------------------------------------------------------------


@given(points())
@settings(max_examples=100, deadline=None)
def test_point_round_trips(pt):
    enc = pt.to_bytes()
    assert len(enc) == 65 and enc[0] == 4
    assert Point.from_bytes(enc) == pt
    assert Point.from_hex(pt.to_hex()) == pt
    assert Point.from_hex(pt.to_hex()).to_bytes() == enc
    assert pt.to_hex() == enc.hex()
    assert Point.from_sec1(enc) == pt
    assert Point.from_sec1(compressed(pt)) == pt
    assert Point.from_sec1(compressed(pt)).to_bytes() == enc
    x, y = int.from_bytes(enc[1:33], "big"), int.from_bytes(enc[33:], "big")
    assert on_curve(x, y)
    assert hash(Point.from_bytes(enc)) == hash(pt)


def test_point_equality_is_group_equality():
    a = base_mul(7)
    b = G * 3 + G * 4
    assert a == b and hash(a) == hash(b)
    assert a != base_mul(8)
    assert (a == 7) is False


# --- Points: strict decoding -----------------------------------------------------------------------


def test_identity_is_refused_unless_allowed():
    with pytest.raises(InvalidPoint):
        Point.from_bytes(b"\x00")
    with pytest.raises(InvalidPoint):
        Point.from_hex("00")
    assert Point.from_bytes(b"\x00", allow_identity=True).is_identity()
    assert Point.from_hex("00", allow_identity=True).is_identity()
    with pytest.raises(InvalidPoint):
        Point.from_sec1(b"\x00")


def test_petlib_trap_one_byte_infinity():
    """petlib decodes the one-byte encoding of infinity without complaint; our decoder refuses it."""
    from petlib.ec import EcGroup, EcPt

    group = EcGroup(415)
    assert EcPt.from_binary(b"\x00", group).is_infinite()
    with pytest.raises(InvalidPoint):
        Point.from_bytes(b"\x00")


def test_petlib_trap_hybrid_encoding():
    """OpenSSL accepts the hybrid form 06/07; our decoders refuse it."""
    from petlib.ec import EcGroup, EcPt

    group = EcGroup(415)
    assert EcPt.from_binary(hybrid(G), group) == group.generator()
    with pytest.raises(InvalidPoint):
        Point.from_bytes(hybrid(G))
    with pytest.raises(InvalidPoint):
        Point.from_sec1(hybrid(G))


@given(points())
@settings(max_examples=30, deadline=None)
def test_wire_decoder_refuses_compressed_and_hybrid(pt):
    for enc in (compressed(pt), hybrid(pt)):
        with pytest.raises(InvalidPoint):
            Point.from_bytes(enc)
        with pytest.raises(InvalidPoint):
            Point.from_hex(enc.hex())
    with pytest.raises(InvalidPoint):
        Point.from_sec1(hybrid(pt))
    # flipping the parity byte of the compressed form gives the negated point, never an error
    flipped = bytes([compressed(pt)[0] ^ 1]) + compressed(pt)[1:]
    assert Point.from_sec1(flipped) == -pt


GOOD = G.to_bytes()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x04",
        b"\x00\x00",
        GOOD[:64],
        GOOD + b"\x00",
        b"\x05" + GOOD[1:],
        b"\x00" + GOOD[1:],
        b"\x01" + GOOD[1:],
        b"\x02" + GOOD[1:33],  # a compressed point
        b"\x03" + GOOD[1:33],
        uncompressed(P256_GX, P256_GY + 1),  # off the curve
        uncompressed(P256_GX + 1, P256_GY),
        uncompressed(0, 0),
        uncompressed(0, P),  # y = p
        uncompressed(P, X0_Y),  # x = p ≡ 0: a real point, non-canonical x
        uncompressed(Y1_X, 1 + P),  # y = 1 + p ≡ 1: a real point, non-canonical y
        uncompressed(P256_GX, 2**256 - 1),
        uncompressed(2**256 - 1, P256_GY),
    ],
)
def test_wire_decoder_refuses(data):
    with pytest.raises(InvalidPoint):
        Point.from_bytes(data)
    with pytest.raises(InvalidPoint):
        Point.from_bytes(data, allow_identity=True)
    if data:
        with pytest.raises(InvalidPoint):
            Point.from_hex(data.hex())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02",
        b"\x02" + bytes(31),
        b"\x04" + GOOD[1:33],  # 33 bytes with the uncompressed tag
        b"\x02" + P.to_bytes(32, "big"),  # x = p ≡ 0 (the real point (0, ±y))
        b"\x03" + (2**256 - 1).to_bytes(32, "big"),
        uncompressed(P, X0_Y),
        uncompressed(Y1_X, 1 + P),
        uncompressed(P256_GX, P256_GY + 1),
    ],
)
def test_sec1_decoder_refuses(data):
    with pytest.raises(InvalidPoint):
        Point.from_sec1(data)


def test_sec1_decoder_refuses_an_x_without_a_point():
    # the first x ≥ 1 for which x³ − 3x + b is a non-residue mod p (Euler's criterion)
    x = next(
        x
        for x in range(1, 100)
        if pow((x**3 - 3 * x + P256_B) % P256_P, (P256_P - 1) // 2, P256_P) == P256_P - 1
    )
    for prefix in (b"\x02", b"\x03"):
        with pytest.raises(InvalidPoint):
            Point.from_sec1(prefix + x.to_bytes(32, "big"))


def test_sec1_decoder_accepts_the_reduced_forms_of_the_edge_points():
    assert Point.from_sec1(b"\x02" + bytes(32)) in (
        Point.from_bytes(uncompressed(0, X0_Y)),
        -Point.from_bytes(uncompressed(0, X0_Y)),
    )
    assert Point.from_sec1(b"\x03" + Y1_X.to_bytes(32, "big")) == Point.from_bytes(
        uncompressed(Y1_X, 1)
    )


@pytest.mark.parametrize(
    "text",
    [
        GOOD.hex().upper(),
        "04" + GOOD.hex()[2:].upper(),
        "0X" + GOOD.hex()[2:],
        GOOD.hex() + "\n",
        " " + GOOD.hex(),
        GOOD.hex()[:-2],
        GOOD.hex() + "00",
        "0",
        "000",
        "",
        compressed(G).hex(),
    ],
)
def test_point_from_hex_is_strict(text):
    with pytest.raises(InvalidPoint):
        Point.from_hex(text)
    with pytest.raises(InvalidPoint):
        Point.from_hex(text, allow_identity=True)


@pytest.mark.parametrize("value", [None, 4, GOOD, list(GOOD), True])
def test_point_from_hex_rejects_non_strings(value):
    with pytest.raises(InvalidPoint):
        Point.from_hex(value)


@pytest.mark.parametrize("value", [None, GOOD.hex(), 4, list(GOOD)])
def test_point_from_bytes_rejects_non_bytes(value):
    with pytest.raises(InvalidPoint):
        Point.from_bytes(value)
    with pytest.raises(InvalidPoint):
        Point.from_sec1(value)


def test_invalid_point_is_an_invalid_encoding():
    assert issubclass(InvalidPoint, InvalidEncoding)
    assert issubclass(InvalidScalar, InvalidEncoding)
    assert issubclass(InvalidEncoding, CryptoError)


def test_checks_survive_python_dash_O():
    """petlib's own checks sit under ``if __debug__``; ours must not vanish under ``python -O``."""
    bad = uncompressed(P256_GX, P256_GY + 1).hex()
    code = textwrap.dedent(
        f"""
        import sys
        assert False, "unreachable under -O"
        from crypto.errors import InvalidPoint, InvalidScalar
        from crypto.group import Point, Scalar
        try:
            Point.from_bytes(bytes.fromhex("{bad}"))
        except InvalidPoint:
            pass
        else:
            sys.exit("off-curve point accepted under -O")
        try:
            Point.from_bytes(b"\\x00")
        except InvalidPoint:
            pass
        else:
            sys.exit("identity accepted under -O")
        try:
            Scalar({Q})
        except InvalidScalar:
            pass
        else:
            sys.exit("scalar q accepted under -O")
        print("checked")
        """
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "checked"


# --- Multiplication paths ------------------------------------------------------------------------


@given(scalars(), nonzero_scalars())
@settings(max_examples=60, deadline=None)
def test_base_fixed_and_variable_multiplication_agree(k, base_k):
    expected = G * k
    assert base_mul(k) == expected
    assert base_mul(int(k)) == expected
    assert k * G == expected
    assert int(k) * G == expected
    assert G * (int(k) + Q) == expected  # ints are reduced mod q
    base = base_mul(base_k)
    table = FixedBase(base)
    assert table.mul(k) == base * k
    assert table.mul(int(k)) == base * k
    assert base * k == base * int(k) == k * base
    # k·(j·G) = (k·j)·G
    assert base * k == base_mul(k * base_k)


@pytest.mark.parametrize("k", [0, 1, 2, Q - 1, Q, 2 * Q + 3, -1])
def test_multiplication_edge_scalars(k):
    expected = G * (k % Q)
    assert base_mul(k) == expected
    assert FixedBase(G).mul(k) == expected
    assert (G * k).is_identity() == (k % Q == 0)


@given(
    scalar_ints(),
    st.lists(st.tuples(scalar_ints(), st.one_of(points(), st.just(Point.identity()))), max_size=6),
)
@settings(max_examples=60, deadline=None)
def test_multi_mul_equals_the_naive_sum(g_scalar, terms):
    scalars_ = [s for s, _ in terms]
    pts = [p for _, p in terms]
    naive = base_mul(g_scalar)
    for s, p in terms:
        naive = naive + p * s
    assert multi_mul(g_scalar, scalars_, pts) == naive
    # negative and unreduced scalars are reduced mod q
    assert multi_mul(g_scalar - Q, [s + Q for s in scalars_], pts) == naive


def test_multi_mul_needs_matching_lengths():
    with pytest.raises(CryptoError):
        multi_mul(1, [1, 2], [G])


def test_multiplication_rejects_non_scalars():
    for k in (1.0, True, "2", None):
        with pytest.raises(InvalidScalar):
            G * k  # noqa: B018
        with pytest.raises(InvalidScalar):
            base_mul(k)
        with pytest.raises(InvalidScalar):
            FixedBase(G).mul(k)
    with pytest.raises(TypeError):
        G * G  # noqa: B018
    with pytest.raises(TypeError):
        G + 1  # noqa: B018


def test_fixed_base_needs_a_real_point():
    with pytest.raises(InvalidPoint):
        FixedBase(Point.identity())
    with pytest.raises(InvalidPoint):
        FixedBase(G.to_hex())


# --- The identity -------------------------------------------------------------------------------------


@given(points(), scalars())
@settings(max_examples=30, deadline=None)
def test_identity_arithmetic(pt, k):
    o = Point.identity()
    assert o.is_identity()
    assert pt + o == pt and o + pt == pt
    assert (pt - pt).is_identity()
    assert pt + (-pt) == o
    assert (o * k).is_identity()
    assert (pt * 0).is_identity()
    assert (pt * Q).is_identity()
    assert (-o).is_identity()
    assert (o + o).is_identity()
    assert not pt.is_identity()
    assert (pt * (Q - 1)) == -pt


def test_identity_encoding():
    o = G - G
    assert o.is_identity()
    assert o == Point.identity() and hash(o) == hash(Point.identity())
    assert o.to_bytes() == b"\x00"
    assert o.to_hex_allow_identity() == "00"
    with pytest.raises(InvalidPoint):
        o.to_hex()
    assert base_mul(0).is_identity() and base_mul(Q).is_identity()
    assert FixedBase(G).mul(0).is_identity()
    assert multi_mul(0, [], []).is_identity()
    assert multi_mul(5, [], []) == base_mul(5)
    assert Point.generator() is G
    assert repr(o) == "Point(identity)"
    assert repr(G).startswith("Point(046b17d1f2")


@pytest.mark.parametrize("n", [0, 1, 4095, 4096, 4097, 8193])
def test_multi_mul_across_its_piece_size(n):
    """Long sums are cut into pieces of 4096 points: the result is the same sum."""
    import secrets

    from crypto.group import _MSM_PIECE, multi_mul

    assert _MSM_PIECE == 4096
    points, acc = [], G
    for _ in range(n):  # i·G for i = 1 … n, by additions
        points.append(acc)
        acc = acc + G
    scalars = [secrets.randbelow(Q) for _ in range(n)]
    expected = sum(s * (i + 1) for i, s in enumerate(scalars)) + 7
    assert multi_mul(7, scalars, points) == base_mul(expected % Q)


def test_an_openssl_that_accepts_invalid_points_is_refused(monkeypatch):
    """``_decode`` leaves validation to ``EC_POINT_oct2point`` alone: the import-time check must
    refuse an OpenSSL whose decoding lets an off-curve or unreduced point through."""
    import crypto.group as group

    group._check_openssl_validates()  # the linked OpenSSL passes
    real = group._oct2point

    def lax(ecg, pt, data, size, ctx):
        if real(ecg, pt, data, size, ctx) == 1:
            return 1
        return group._C.EC_POINT_copy(pt, group.G._pt)  # "decodes" anything

    monkeypatch.setattr(group, "_oct2point", lax)
    with pytest.raises(CryptoError, match="accepts invalid P-256 points"):
        group._check_openssl_validates()
