"""ECIES on P-256: how key-ceremony shares travel to their recipient (docs/protocol.md §8.3).

To encrypt ``plaintext`` to a trustee key ``Y`` with associated data ``aad``: pick ``e``, send
``E = e·G``; the shared point is ``Z = e·Y`` (the recipient computes ``y·E``);
``key ‖ nonce = HKDF-SHA256(ikm = x(Z), salt = "", info = "PNYX-V1/ecies" ‖ E ‖ Y, 44 bytes)``;
the ciphertext is ``AES-256-GCM(key, nonce, plaintext, aad)`` (tag appended). The key is fresh
for every message, so the derived nonce is never reused.

A recipient who cannot decrypt, or receives a bad share, can publish ``Z`` with a Chaum–Pedersen
proof that ``log_G Y = log_E Z`` (:func:`reveal_shared_point`); anyone can then decrypt that one
message and judge the complaint without any secret key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.encoding import expect_object, read_point
from crypto.errors import DecryptionError, InvalidEncoding
from crypto.group import G, Point, Scalar, base_mul
from crypto.proofs.dleq import DleqProof, prove_dleq, verify_dleq

__all__ = [
    "EciesMessage",
    "ecies_encrypt",
    "ecies_decrypt",
    "ecies_decrypt_with_shared_point",
    "reveal_shared_point",
    "verify_shared_point",
]

_INFO = b"PNYX-V1/ecies"
MAX_PLAINTEXT = 4096


#: strictly lowercase hex digits (``bytes.fromhex`` alone would skip whitespace)
_LOWER_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True)
class EciesMessage:
    ephemeral: Point  #: E = e·G
    ciphertext: bytes  #: AES-256-GCM output (ciphertext ‖ 16-byte tag)

    def to_json(self) -> dict:
        return {"ephemeral": self.ephemeral.to_hex(), "ciphertext": self.ciphertext.hex()}

    @classmethod
    def from_json(cls, value: Any, what: str = "encrypted message") -> EciesMessage:
        obj = expect_object(value, ("ephemeral", "ciphertext"), what)
        text = obj["ciphertext"]
        if (
            not isinstance(text, str)
            or len(text) % 2
            or len(text) < 32
            or len(text) > 2 * (MAX_PLAINTEXT + 16)
            or not _LOWER_HEX.fullmatch(text)
        ):
            raise InvalidEncoding(
                f"{what}.ciphertext: expected lowercase hex of 16 to {MAX_PLAINTEXT + 16} bytes"
            )
        try:
            data = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidEncoding(f"{what}.ciphertext: not hex") from exc
        return cls(read_point(obj["ephemeral"], f"{what}.ephemeral"), data)


def _key_nonce(shared: Point, ephemeral: Point, recipient: Point) -> tuple[bytes, bytes]:
    if shared.is_identity():
        raise DecryptionError("degenerate shared point")
    x = shared.to_bytes()[1:33]
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=44,
        salt=None,
        info=_INFO + ephemeral.to_bytes() + recipient.to_bytes(),
    ).derive(x)
    return okm[:32], okm[32:]


def ecies_encrypt(
    recipient: Point, plaintext: bytes, aad: bytes, *, _ephemeral: Scalar | None = None
) -> EciesMessage:
    if recipient.is_identity():
        raise InvalidEncoding("cannot encrypt to the identity")
    if len(plaintext) > MAX_PLAINTEXT:
        raise InvalidEncoding("plaintext too long")
    e = _ephemeral if _ephemeral is not None else Scalar.random()
    ephemeral = base_mul(e)
    key, nonce = _key_nonce(recipient * e, ephemeral, recipient)
    return EciesMessage(ephemeral, AESGCM(key).encrypt(nonce, plaintext, aad))


def ecies_decrypt_with_shared_point(
    message: EciesMessage, shared: Point, recipient: Point, aad: bytes
) -> bytes:
    key, nonce = _key_nonce(shared, message.ephemeral, recipient)
    try:
        return AESGCM(key).decrypt(nonce, message.ciphertext, aad)
    except InvalidTag as exc:
        raise DecryptionError("the encrypted message does not authenticate") from exc


def ecies_decrypt(secret: Scalar, message: EciesMessage, aad: bytes) -> bytes:
    recipient = base_mul(secret)
    return ecies_decrypt_with_shared_point(message, message.ephemeral * secret, recipient, aad)


def reveal_shared_point(
    secret: Scalar,
    message: EciesMessage,
    *,
    context: str,
    binding: dict,
    rand: Callable[[], Scalar] = Scalar.random,
) -> tuple[Point, DleqProof]:
    """The recipient's ``Z = y·E`` with a proof ``log_G Y = log_E Z`` (for a public complaint)."""
    shared = message.ephemeral * secret
    proof = prove_dleq(
        secret,
        base1=G,
        base2=message.ephemeral,
        value2=shared,
        context=context,
        binding=binding,
        rand=rand,
    )
    return shared, proof


def verify_shared_point(
    proof: DleqProof,
    *,
    recipient: Point,
    message: EciesMessage,
    shared: Point,
    context: str,
    binding: dict,
) -> None:
    verify_dleq(
        proof,
        base1=G,
        value1=recipient,
        base2=message.ephemeral,
        value2=shared,
        context=context,
        binding=binding,
        label="revealed shared key",
    )
