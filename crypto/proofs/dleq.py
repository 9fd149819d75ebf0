"""Chaum–Pedersen proof of equality of discrete logarithms (docs/protocol.md §5.2).

Statement: ``V₁ = x·B₁`` and ``V₂ = x·B₂``. Proof ``(a₁, a₂, z)``: ``a₁ = w·B₁``, ``a₂ = w·B₂``,
``c = H_dleq(context, {"base1","base2","binding","value1","value2"}, {"commitment1","commitment2"})``,
``z = w + c·x``. Checks: ``z·B₁ = a₁ + c·V₁`` and ``z·B₂ = a₂ + c·V₂``.

The second base may be the identity (an encrypted tally of no ballots): then ``V₂`` and ``a₂`` are
the identity too, encoded ``"00"``, and the proof still binds ``V₁``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crypto.encoding import expect_object, read_point, read_scalar
from crypto.errors import InvalidProof
from crypto.group import G, Point, Scalar, base_mul
from crypto.hashing import Tag, hash_to_scalar
from crypto.proofs.batch import BatchVerifier, check_equation

__all__ = ["DleqProof", "prove_dleq", "verify_dleq"]


@dataclass(frozen=True)
class DleqProof:
    commitment1: Point  #: a₁ = w·B₁
    commitment2: Point  #: a₂ = w·B₂
    response: Scalar  #: z = w + c·x

    def to_json(self) -> dict:
        return {
            "commitment1": self.commitment1.to_hex(),
            "commitment2": self.commitment2.to_hex_allow_identity(),
            "response": self.response.to_hex(),
        }

    @classmethod
    def from_json(cls, value: Any, what: str = "proof") -> DleqProof:
        obj = expect_object(value, ("commitment1", "commitment2", "response"), what)
        return cls(
            read_point(obj["commitment1"], f"{what}.commitment1"),
            read_point(obj["commitment2"], f"{what}.commitment2", allow_identity=True),
            read_scalar(obj["response"], f"{what}.response"),
        )


def _challenge(context, base1, value1, base2, value2, binding, a1, a2) -> Scalar:
    statement = {
        "base1": base1.to_hex(),
        "base2": base2.to_hex_allow_identity(),
        "binding": binding,
        "value1": value1.to_hex(),
        "value2": value2.to_hex_allow_identity(),
    }
    commitments = {"commitment1": a1.to_hex(), "commitment2": a2.to_hex_allow_identity()}
    return hash_to_scalar(Tag.DLEQ, context, statement, commitments)


def _mul(base: Point, k: Scalar) -> Point:
    return base_mul(k) if base is G else base * k


def prove_dleq(
    secret: Scalar,
    *,
    base1: Point,
    base2: Point,
    context: str,
    binding: dict,
    value1: Point | None = None,
    value2: Point | None = None,
    rand: Callable[[], Scalar] = Scalar.random,
) -> DleqProof:
    if value1 is None:
        value1 = _mul(base1, secret)
    if value2 is None:
        value2 = base2 * secret
    w = rand()
    a1, a2 = _mul(base1, w), base2 * w
    c = _challenge(context, base1, value1, base2, value2, binding, a1, a2)
    return DleqProof(a1, a2, w + c * secret)


def verify_dleq(
    proof: DleqProof,
    *,
    base1: Point,
    value1: Point,
    base2: Point,
    value2: Point,
    context: str,
    binding: dict,
    batch: BatchVerifier | None = None,
    label: str = "equality proof",
) -> None:
    if base1.is_identity() or value1.is_identity():
        raise InvalidProof(f"{label}: the first base and value must be real points")
    c = int(
        _challenge(
            context, base1, value1, base2, value2, binding, proof.commitment1, proof.commitment2
        )
    )
    z = int(proof.response)
    if base1 is G or base1 == G:
        eq1 = (z, [(-c, value1), (-1, proof.commitment1)])
    else:
        eq1 = (0, [(z, base1), (-c, value1), (-1, proof.commitment1)])
    eq2 = (0, [(z, base2), (-c, value2), (-1, proof.commitment2)])
    for g, terms in (eq1, eq2):
        if batch is None:
            check_equation(label, g, terms)
        else:
            batch.add(label, g, terms)
