"""ElGamal on P-256: exponential (docs/protocol.md §4) and on point messages (§15.2).

``Enc(m; r) = (α, β) = (r·G, m·G + r·K)`` under the election key ``K = x·G``. Ciphertexts add
homomorphically, ``Enc(a; r) + Enc(b; s) = Enc(a + b; r + s)``, and multiply by a public weight,
``w·Enc(m; r) = Enc(w·m; w·r)``. Decryption gives ``m·G``; :mod:`crypto.dlog` recovers ``m``.

The mixnet encrypts points: ``Enc(M; r) = (r·G, M + r·K)`` for a message point ``M``
(:mod:`crypto.pointenc` maps bytes and small integers to points), and re-encrypts,
``ReEnc((α, β); r′) = (α + r′·G, β + r′·K)``, an encryption of the same message with randomness
``r + r′``. Both kinds share :class:`Ciphertext`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crypto.encoding import expect_object, read_point
from crypto.errors import InvalidPoint
from crypto.group import FixedBase, G, Point, Scalar, base_mul

__all__ = [
    "ElectionKey",
    "SecretKey",
    "Ciphertext",
    "keygen",
    "encrypt",
    "encrypt_point",
    "reencrypt",
    "decrypt_to_point",
]


@dataclass(frozen=True, eq=False)
class ElectionKey:
    """The election public key ``K`` (derived from the trustees' key ceremony)."""

    point: Point  #: K = x·G
    _table: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.point, Point) or self.point.is_identity():
            raise InvalidPoint("the election key must be a real point")

    @property
    def table(self) -> FixedBase:
        """Fixed-base table for ``K`` (built on first use, ≈ 20 ms)."""
        if not self._table:
            self._table.append(FixedBase(self.point))
        return self._table[0]

    def to_json(self) -> str:
        return self.point.to_hex()

    @classmethod
    def from_json(cls, value: Any) -> ElectionKey:
        return cls(read_point(value, "election key"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ElectionKey) and self.point == other.point

    def __hash__(self) -> int:
        return hash(self.point)


class SecretKey:
    """A full ElGamal secret ``x`` — only for tests and single-authority tools; elections use shares."""

    __slots__ = ("x",)

    def __init__(self, x: Scalar) -> None:
        if x.is_zero():
            raise InvalidPoint("a secret key is non-zero")
        self.x = x

    def public(self) -> ElectionKey:
        return ElectionKey(base_mul(self.x))

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"


def keygen() -> tuple[SecretKey, ElectionKey]:
    sk = SecretKey(Scalar.random())
    return sk, sk.public()


@dataclass(frozen=True)
class Ciphertext:
    """An exponential ElGamal ciphertext ``(α, β)``."""

    alpha: Point  #: α = r·G
    beta: Point  #: β = m·G + r·K

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def __sub__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha - other.alpha, self.beta - other.beta)

    def scale(self, weight: Scalar | int) -> Ciphertext:
        """``w·(α, β)`` = an encryption of ``w·m``."""
        return Ciphertext(self.alpha * weight, self.beta * weight)

    @classmethod
    def zero(cls) -> Ciphertext:
        """The neutral element ``(O, O)`` (the empty sum)."""
        o = Point.identity()
        return cls(o, o)

    @classmethod
    def sum(cls, items: Iterable[Ciphertext]) -> Ciphertext:
        acc = None
        for c in items:
            acc = c if acc is None else acc + c
        return acc if acc is not None else cls.zero()

    def to_json(self, *, allow_identity: bool = False) -> dict:
        if allow_identity:
            return {
                "alpha": self.alpha.to_hex_allow_identity(),
                "beta": self.beta.to_hex_allow_identity(),
            }
        return {"alpha": self.alpha.to_hex(), "beta": self.beta.to_hex()}

    @classmethod
    def from_json(
        cls, value: Any, what: str = "ciphertext", *, allow_identity: bool = False
    ) -> Ciphertext:
        if type(value) is dict and len(value) == 2 and "alpha" in value and "beta" in value:
            try:  # fast path: no labels unless something is wrong
                return cls(
                    Point.from_hex(value["alpha"], allow_identity=allow_identity),
                    Point.from_hex(value["beta"], allow_identity=allow_identity),
                )
            except InvalidPoint:
                pass
        obj = expect_object(value, ("alpha", "beta"), what)
        return cls(
            read_point(obj["alpha"], f"{what}.alpha", allow_identity=allow_identity),
            read_point(obj["beta"], f"{what}.beta", allow_identity=allow_identity),
        )


def encrypt(
    key: ElectionKey, m: int, r: Scalar | None = None, *, rand: Callable[[], Scalar] = Scalar.random
) -> tuple[Ciphertext, Scalar]:
    """Encrypt the small integer ``m`` (≥ 0); returns the ciphertext and its randomness ``r``."""
    if r is None:
        r = rand()
    if r.is_zero():
        raise InvalidPoint("encryption randomness must be non-zero")
    alpha = base_mul(r)
    beta = key.table.mul(r)
    if m == 1:
        beta = beta + G
    elif m:
        beta = beta + base_mul(m)
    return Ciphertext(alpha, beta), r


def encrypt_point(
    key: ElectionKey,
    message: Point,
    r: Scalar | None = None,
    *,
    rand: Callable[[], Scalar] = Scalar.random,
) -> tuple[Ciphertext, Scalar]:
    """``(r·G, M + r·K)`` for the message point ``M`` (the identity encrypts the integer 0)."""
    if not isinstance(message, Point):
        raise InvalidPoint("the message of a point encryption is a point")
    if r is None:
        r = rand()
    if r.is_zero():
        raise InvalidPoint("encryption randomness must be non-zero")
    return Ciphertext(base_mul(r), message + key.table.mul(r)), r


def reencrypt(key: ElectionKey, ct: Ciphertext, r: Scalar) -> Ciphertext:
    """``(α + r·G, β + r·K)``: the same message under fresh randomness (``r`` non-zero)."""
    if r.is_zero():
        raise InvalidPoint("re-encryption randomness must be non-zero")
    return Ciphertext(ct.alpha + base_mul(r), ct.beta + key.table.mul(r))


def decrypt_to_point(sk: SecretKey, ct: Ciphertext) -> Point:
    """``β − x·α = m·G``."""
    return ct.beta - ct.alpha * sk.x
