"""Messages as points of P-256, for ElGamal on point messages (docs/protocol.md §15.2).

**Byte strings** (text answers, ranked lists, anything a homomorphic tally cannot add up) are
encoded into a fixed number ``n`` of points, 30 bytes per point:

1. ``padded = data ‖ 0x80 ‖ 0x00…`` up to ``30·n`` bytes (ISO/IEC 7816-4 padding: the length is
   where the last ``0x80`` is), so ``len(data) ≤ 30·n − 1``;
2. block ``i`` (``bᵢ = padded[30i : 30i+30]``) becomes the point whose abscissa is
   ``x = OS2IP(bᵢ ‖ I2OSP(k, 1))`` for the smallest counter ``k ∈ [0, 255]`` such that
   ``x³ − 3x + b`` is a square modulo p, and whose ordinate is the **even** square root.

``x < 2²⁴⁸ < p`` always. About half the abscissas are on the curve, so a block fails all 256
counters with probability ≈ 2⁻²⁵⁶; no such block is known (over all 2²⁴⁰ blocks the expected
number is ≈ 2⁻¹⁶), and encoding one raises :class:`~crypto.errors.InvalidEncoding`.

Decoding is strict, so that every message has exactly one encoding (a voter cannot mark a ballot
with a distinctive but equivalent encoding): a point decodes only if its abscissa is below
``2²⁴⁸``, its ordinate even, and no smaller counter gives a point; the blocks' concatenation must
end with ``0x80`` followed by zero bytes only.

**Small integers** ``0 ≤ m < bound`` are encoded as ``m·G`` (``0`` is the identity) and decoded
with the bounded discrete logarithm of :mod:`crypto.dlog`.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.dlog import DEFAULT_BOUND, discrete_log
from crypto.errors import DiscreteLogNotFound, InvalidEncoding, InvalidScalar
from crypto.group import P, Point, base_mul, curve_rhs, fp_pow, fp_sqrt

__all__ = [
    "BYTES_PER_POINT",
    "MAX_POINTS",
    "points_needed",
    "encode_bytes",
    "decode_bytes",
    "encode_block",
    "decode_block",
    "encode_int",
    "decode_int",
]

#: Bytes of message carried by one point.
BYTES_PER_POINT = 30
#: The largest number of points one message may take (≈ 30 KiB).
MAX_POINTS = 1024
_PAD = 0x80
_COUNTERS = 256
_X_LIMIT = 1 << 248
_EULER = (P - 1) // 2


def points_needed(length: int) -> int:
    """The fewest points that carry ``length`` bytes (the padding byte included)."""
    if type(length) is not int or length < 0:
        raise InvalidEncoding("a length is a non-negative integer")
    return length // BYTES_PER_POINT + 1


def encode_block(block: bytes) -> Point:
    """One 30-byte block as a point (try-and-increment on the counter byte, even ordinate)."""
    if not isinstance(block, (bytes, bytearray)) or len(block) != BYTES_PER_POINT:
        raise InvalidEncoding(f"a block is exactly {BYTES_PER_POINT} bytes")
    base = int.from_bytes(block, "big") << 8
    for counter in range(_COUNTERS):
        x = base | counter
        y = fp_sqrt(curve_rhs(x))
        if y is not None:
            if y & 1:
                y = P - y
            return Point.from_affine(x, y)
    raise InvalidEncoding("no counter maps this block to a point of P-256")  # pragma: no cover


def decode_block(point: Point) -> bytes:
    """The 30-byte block of a canonically encoded point; raises :class:`InvalidEncoding`."""
    if not isinstance(point, Point) or point.is_identity():
        raise InvalidEncoding("the point at infinity encodes no block")
    x, y = point.coordinates()
    if x >= _X_LIMIT:
        raise InvalidEncoding("not an encoded block: the abscissa is 2^248 or more")
    if y & 1:
        raise InvalidEncoding("not an encoded block: the ordinate is odd")
    base = x & ~0xFF
    for counter in range(x & 0xFF):
        rhs = curve_rhs(base | counter)
        # a smaller counter must give no point: x³ − 3x + b is not a square there (never 0:
        # P-256 has no point of order 2)
        if fp_pow(rhs, _EULER) == 1:
            raise InvalidEncoding("not an encoded block: a smaller counter gives a point")
    return (x >> 8).to_bytes(BYTES_PER_POINT, "big")


def encode_bytes(data: bytes, points: int | None = None) -> tuple[Point, ...]:
    """``data`` as exactly ``points`` points (by default the fewest, :func:`points_needed`)."""
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidEncoding("only bytes are encoded as points")
    needed = points_needed(len(data))
    if points is None:
        points = needed
    if type(points) is not int or not 1 <= points <= MAX_POINTS:
        raise InvalidEncoding(f"a message takes 1 to {MAX_POINTS} points")
    if points < needed:
        raise InvalidEncoding(
            f"{len(data)} bytes do not fit in {points} point(s) "
            f"(at most {BYTES_PER_POINT * points - 1} bytes)"
        )
    padded = bytes(data) + bytes([_PAD]) + bytes(BYTES_PER_POINT * points - len(data) - 1)
    return tuple(
        encode_block(padded[i : i + BYTES_PER_POINT])
        for i in range(0, len(padded), BYTES_PER_POINT)
    )


def decode_bytes(points: Sequence[Point]) -> bytes:
    """The message of :func:`encode_bytes`; raises :class:`InvalidEncoding` for anything else."""
    if not 1 <= len(points) <= MAX_POINTS:
        raise InvalidEncoding(f"a message takes 1 to {MAX_POINTS} points")
    padded = b"".join(decode_block(p) for p in points)
    end = len(padded.rstrip(b"\x00"))
    if end == 0 or padded[end - 1] != _PAD:
        raise InvalidEncoding("not an encoded message: the padding byte 0x80 is missing")
    return padded[: end - 1]


def encode_int(m: int, bound: int = DEFAULT_BOUND) -> Point:
    """``m·G`` for ``0 ≤ m < bound`` (the identity for 0)."""
    if type(m) is not int or not 0 <= m < bound:
        raise InvalidScalar(f"a small integer message is in [0, {bound})")
    return Point.identity() if m == 0 else base_mul(m)


def decode_int(point: Point, bound: int = DEFAULT_BOUND) -> int:
    """``m`` with ``m·G = point`` and ``0 ≤ m < bound``; raises :class:`InvalidEncoding` if none."""
    try:
        return discrete_log(point, bound)
    except DiscreteLogNotFound as exc:
        raise InvalidEncoding(f"not a small integer message (none below {bound})") from exc
