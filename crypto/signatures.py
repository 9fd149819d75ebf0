"""Schnorr signatures on P-256 by voter credentials (docs/protocol.md §6.2).

The same scheme, with the tag ``trustee-signature`` instead of ``credential-signature``, lets a
trustee sign its key-ceremony messages with its registered key (docs/protocol.md §8.9).

Key pair ``(s, S = s·G)``. To sign the message ``m`` (a string, in practice a 64-hex digest):
``k = OS2IP(SHA-512("PNYX-V1/signature-nonce" ‖ s ‖ ρ ‖ context ‖ 0x00 ‖ m)) mod q`` with 32 fresh
random bytes ``ρ`` (a hedged nonce: safe even if the random source is weak; only the signer ever
computes it, so verifiers need not know how it was made), ``R = k·G``,
``c = H_sig(context, {"message": m, "public": S}, {"commitment": R})``, ``z = k + c·s``.
Signature ``(R, z)``; check ``z·G = R + c·S``. The challenge hashes the signer's public key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from crypto.encoding import expect_object, expect_str, read_point, read_scalar
from crypto.errors import InvalidSignature
from crypto.group import Point, Q, Scalar, base_mul
from crypto.hashing import Tag, hash_to_scalar
from crypto.proofs.batch import BatchVerifier, check_equation

__all__ = ["Signature", "SigningKey", "sign", "verify_signature"]

_NONCE_TAG = b"PNYX-V1/signature-nonce"


@dataclass(frozen=True)
class Signature:
    commitment: Point  #: R = k·G
    response: Scalar  #: z = k + c·s

    def to_json(self) -> dict:
        return {"commitment": self.commitment.to_hex(), "response": self.response.to_hex()}

    @classmethod
    def from_json(cls, value: Any, what: str = "signature") -> Signature:
        obj = expect_object(value, ("commitment", "response"), what)
        return cls(
            read_point(obj["commitment"], f"{what}.commitment"),
            read_scalar(obj["response"], f"{what}.response"),
        )


class SigningKey:
    """A credential's secret scalar ``s`` with its public key ``S``. Never printed."""

    __slots__ = ("_s", "public")

    def __init__(self, secret: Scalar) -> None:
        if secret.is_zero():
            raise InvalidSignature("a signing key is non-zero")
        self._s = secret
        self.public: Point = base_mul(secret)

    @property
    def secret(self) -> Scalar:
        return self._s

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public.to_hex()[:18]}…, secret=<redacted>)"


def _challenge(context: str, public: Point, message: str, commitment: Point, tag: str) -> Scalar:
    return hash_to_scalar(
        tag,
        context,
        {"message": message, "public": public.to_hex()},
        {"commitment": commitment.to_hex()},
    )


def sign(
    key: SigningKey,
    message: str,
    *,
    context: str,
    tag: str = Tag.SIGNATURE,
    _random: bytes | None = None,
) -> Signature:
    """Sign ``message``; ``tag`` separates credential signatures from trustee signatures."""
    message = expect_str(message, "message")
    rho = secrets.token_bytes(32) if _random is None else _random
    wide = hashlib.sha512(
        _NONCE_TAG
        + key.secret.to_bytes()
        + rho
        + context.encode("utf-8")
        + b"\x00"
        + message.encode("utf-8")
    ).digest()
    k = Scalar(int.from_bytes(wide, "big") % Q)
    if k.is_zero():  # pragma: no cover - probability 2^-256
        raise InvalidSignature("degenerate nonce")
    commitment = base_mul(k)
    c = _challenge(context, key.public, message, commitment, tag)
    return Signature(commitment, k + c * key.secret)


def verify_signature(
    signature: Signature,
    *,
    public: Point,
    message: str,
    context: str,
    batch: BatchVerifier | None = None,
    label: str = "signature",
    tag: str = Tag.SIGNATURE,
) -> None:
    if public.is_identity():
        raise InvalidSignature(f"{label}: the public key is the identity")
    c = int(_challenge(context, public, message, signature.commitment, tag))
    terms = [(-c, public), (-1, signature.commitment)]
    if batch is None:
        check_equation(label, int(signature.response), terms, InvalidSignature)
    else:
        batch.add(label, int(signature.response), terms, InvalidSignature)
