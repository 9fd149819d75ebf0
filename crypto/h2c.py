"""Hashing to P-256: RFC 9380 ``hash_to_curve`` with the suite ``P256_XMD:SHA-256_SSWU_RO_``.

``hash_to_curve(msg, dst)`` (RFC 9380 §3, §8.2):

1. ``(u₀, u₁) = hash_to_field(msg, 2)``: ``expand_message_xmd(msg, dst, 96)`` with SHA-256, each
   48-byte half read big-endian and reduced modulo p (§5.2, ``k = 128``, ``L = 48``);
2. ``Q₀ = map_to_curve(u₀)``, ``Q₁ = map_to_curve(u₁)`` by the simplified SWU map (§6.6.2) with
   ``Z = −10``;
3. ``P = Q₀ + Q₁`` (P-256 has cofactor 1: ``clear_cofactor`` is the identity map).

The result is indistinguishable from a random point (a random oracle to the group), and nobody
knows its discrete logarithm to any other point: this is how the mixnet derives its independent
generators (docs/protocol.md §15). The inputs are public, so the map is not constant-time; each
map costs one exponentiation modulo p (done by OpenSSL) and the inversions of a batch of maps are
shared (Montgomery's trick), which matters when deriving many generators at once.

Tested against the suite's vectors of RFC 9380 Appendix J.1.1 (tests/vectors/rfc9380/).
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.errors import CryptoError, InvalidEncoding
from crypto.group import (
    A,
    B,
    P,
    Point,
    curve_rhs,
    fp_batch_inv,
    fp_pow,
    fp_sqrt,
)
from crypto.hashing import expand_message_xmd

__all__ = [
    "SUITE",
    "hash_to_field",
    "map_to_curve",
    "hash_to_curve",
    "hash_to_curve_many",
]

SUITE = "P256_XMD:SHA-256_SSWU_RO_"
_L = 48  # ceil((ceil(log2(p)) + k) / 8) with k = 128
_Z = P - 10  # Z = −10 (RFC 9380 §8.2)
_SQRT_EXP = (P + 1) // 4
_MINUS_B_OVER_A = (-B) * pow(A, -1, P) % P
_B_OVER_ZA = B * pow(_Z * A % P, -1, P) % P
# A fixed square root of −Z³ (a square, since −1 and Z are not): turns √(−g(x₁)) into √(g(x₂)).
_C2 = fp_sqrt((-_Z * _Z * _Z) % P)
if _C2 is None:  # pragma: no cover - arithmetic broken
    raise CryptoError("−Z³ is not a square modulo p")


def _check_dst(dst: bytes) -> bytes:
    if not isinstance(dst, (bytes, bytearray)) or not 1 <= len(dst) <= 255:
        raise InvalidEncoding("a domain-separation tag is 1 to 255 bytes")
    return bytes(dst)


def hash_to_field(msg: bytes, dst: bytes, count: int = 2) -> list[int]:
    """RFC 9380 §5.2 for P-256 (m = 1): ``count`` field elements from ``msg``."""
    if not isinstance(msg, (bytes, bytearray)):
        raise InvalidEncoding("hash_to_field hashes bytes")
    uniform = expand_message_xmd(bytes(msg), _check_dst(dst), count * _L)
    return [int.from_bytes(uniform[i * _L : (i + 1) * _L], "big") % P for i in range(count)]


def _denominators(u: int) -> int:
    u2 = u * u % P
    return (_Z * _Z % P * u2 % P * u2 + _Z * u2) % P  # Z²·u⁴ + Z·u²


def _map_with_inverse(u: int, tv1: int) -> tuple[int, int]:
    """Simplified SWU (RFC 9380 §6.6.2) given ``tv1 = inv0(Z²·u⁴ + Z·u²)``; returns ``(x, y)``."""
    x1 = _B_OVER_ZA if tv1 == 0 else _MINUS_B_OVER_A * (1 + tv1) % P
    gx1 = curve_rhs(x1)
    y1 = fp_pow(gx1, _SQRT_EXP)
    if y1 * y1 % P == gx1:
        x, y = x1, y1
    else:
        # g(x₁) is not a square, so y₁² = −g(x₁), and g(x₂) = Z³·u⁶·g(x₁) has the root u³·c₂·y₁.
        x = _Z * (u * u % P) % P * x1 % P
        y = u * u % P * u % P * _C2 % P * y1 % P
        if y * y % P != curve_rhs(x):  # pragma: no cover - the map's identity failed
            raise CryptoError("simplified SWU: g(x2) has no square root")
    if (u & 1) != (y & 1):  # sgn0(u) ≠ sgn0(y): take the other root
        y = (P - y) % P
    return x, y


def map_to_curve(u: int) -> Point:
    """The simplified SWU map of the field element ``u`` (``0 ≤ u < p``) to a point of P-256."""
    if type(u) is not int or not 0 <= u < P:
        raise InvalidEncoding("map_to_curve takes a field element in [0, p)")
    (tv1,) = fp_batch_inv([_denominators(u)])
    return Point.from_affine(*_map_with_inverse(u, tv1))


def hash_to_curve(msg: bytes, dst: bytes) -> Point:
    """RFC 9380 ``hash_to_curve`` for ``P256_XMD:SHA-256_SSWU_RO_``."""
    return hash_to_curve_many([msg], dst)[0]


def hash_to_curve_many(msgs: Sequence[bytes], dst: bytes) -> list[Point]:
    """``[hash_to_curve(m, dst) for m in msgs]``, sharing one modular inversion among all maps."""
    dst = _check_dst(dst)
    us: list[int] = []
    for msg in msgs:
        us.extend(hash_to_field(msg, dst, 2))
    inverses = fp_batch_inv([_denominators(u) for u in us])
    out = []
    for i in range(0, len(us), 2):
        q0 = Point.from_affine(*_map_with_inverse(us[i], inverses[i]))
        q1 = Point.from_affine(*_map_with_inverse(us[i + 1], inverses[i + 1]))
        point = q0 + q1
        if point.is_identity():  # pragma: no cover - probability 2^-256
            raise CryptoError("hash_to_curve reached the point at infinity")
        out.append(point)
    return out
