"""Schnorr proof of knowledge of a discrete logarithm (docs/protocol.md §5.1).

Statement: ``X = x·G``. Proof ``(R, z)``: ``R = w·G``,
``c = H_pok(context, {"binding": b, "public": X}, {"commitment": R})``, ``z = w + c·x``.
Check: ``z·G = R + c·X``. The challenge hashes the public key itself (Belenios' fix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crypto.encoding import expect_object, read_point, read_scalar
from crypto.errors import InvalidProof
from crypto.group import Point, Scalar, base_mul
from crypto.hashing import Tag, hash_to_scalar
from crypto.proofs.batch import BatchVerifier, check_equation

__all__ = ["SchnorrProof", "prove_knowledge", "verify_knowledge"]


@dataclass(frozen=True)
class SchnorrProof:
    commitment: Point  #: R = w·G
    response: Scalar  #: z = w + c·x

    def to_json(self) -> dict:
        return {"commitment": self.commitment.to_hex(), "response": self.response.to_hex()}

    @classmethod
    def from_json(cls, value: Any, what: str = "proof") -> SchnorrProof:
        obj = expect_object(value, ("commitment", "response"), what)
        return cls(
            read_point(obj["commitment"], f"{what}.commitment"),
            read_scalar(obj["response"], f"{what}.response"),
        )


def _challenge(context: str, public: Point, binding: dict, commitment: Point) -> Scalar:
    return hash_to_scalar(
        Tag.POK,
        context,
        {"binding": binding, "public": public.to_hex()},
        {"commitment": commitment.to_hex()},
    )


def prove_knowledge(
    secret: Scalar,
    *,
    context: str,
    binding: dict,
    public: Point | None = None,
    rand: Callable[[], Scalar] = Scalar.random,
) -> SchnorrProof:
    """Prove knowledge of ``secret`` for ``public = secret·G``."""
    if public is None:
        public = base_mul(secret)
    w = rand()
    commitment = base_mul(w)
    c = _challenge(context, public, binding, commitment)
    return SchnorrProof(commitment, w + c * secret)


def verify_knowledge(
    proof: SchnorrProof,
    *,
    public: Point,
    context: str,
    binding: dict,
    batch: BatchVerifier | None = None,
    label: str = "proof of knowledge",
) -> None:
    if public.is_identity():
        raise InvalidProof(f"{label}: the public value is the identity")
    c = int(_challenge(context, public, binding, proof.commitment))
    terms = [(-c, public), (-1, proof.commitment)]
    if batch is None:
        check_equation(label, int(proof.response), terms)
    else:
        batch.add(label, int(proof.response), terms)
