"""Voter credentials: human-typeable codes and the keys derived from them (docs/protocol.md §6.1).

A code is 20 characters of Crockford's base-32 alphabet, shown in four groups of five
(``7KD2M-Q0XHA-9TZ4E-RW3CB``): 18 random characters (90 bits from the OS CSPRNG) and two check
characters holding ``N mod 1021`` where ``N`` is the integer the 18 characters spell in base 32 —
any single wrong character or swap of two neighbours is caught. Typing is forgiving: case, spaces
and hyphens are ignored, ``O`` reads as ``0`` and ``I``/``L`` as ``1``.

The credential's secret is ``s = OS2IP(PBKDF2-HMAC-SHA256(code, "pnyx/v1/credential/" + election,
1000 iterations, 48 bytes)) mod q`` where ``code`` is the normalised 20 characters and ``election``
the election's UUID in lowercase hyphenated form; its public key is ``S = s·G``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

from crypto.errors import InvalidCredential
from crypto.group import Q, Scalar
from crypto.signatures import SigningKey

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "generate_code",
    "normalize_code",
    "format_code",
    "derive_signing_key",
    "PBKDF2_ITERATIONS",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
DATA_LENGTH = 18
CODE_LENGTH = 20
CHECK_MODULUS = 1021
PBKDF2_ITERATIONS = 1000
_SEPARATORS = re.compile(r"[\s\-]+")


def _checksum(data: str) -> str:
    n = 0
    for ch in data:
        n = n * 32 + _INDEX[ch]
    check = n % CHECK_MODULUS
    return ALPHABET[check // 32] + ALPHABET[check % 32]


def generate_code() -> str:
    """A fresh credential code (normalised, without separators)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + _checksum(data)


def normalize_code(text: str) -> str:
    """Canonical 20-character form of a typed code; raises :class:`InvalidCredential`."""
    if not isinstance(text, str) or len(text) > 64 or not text.isascii():
        raise InvalidCredential("a credential is a 20-character code of letters and digits")
    code = _SEPARATORS.sub("", text).upper().translate(_ALIASES)
    if len(code) != CODE_LENGTH:
        raise InvalidCredential(
            f"a credential has {CODE_LENGTH} characters (ignoring hyphens), got {len(code)}"
        )
    bad = sorted({ch for ch in code if ch not in _INDEX})
    if bad:
        raise InvalidCredential(f"a credential cannot contain {''.join(bad)!r}")
    if _checksum(code[:DATA_LENGTH]) != code[DATA_LENGTH:]:
        raise InvalidCredential(
            "the credential's check characters do not match: a character is mistyped"
        )
    return code


def format_code(code: str) -> str:
    """``XXXXX-XXXXX-XXXXX-XXXXX`` for display and printing."""
    code = normalize_code(code)
    return "-".join(code[i : i + 5] for i in range(0, CODE_LENGTH, 5))


def derive_signing_key(code: str, election_uuid: str | uuid.UUID) -> SigningKey:
    code = normalize_code(code)
    try:
        election = str(uuid.UUID(str(election_uuid)))
    except ValueError as exc:
        raise InvalidCredential("the election identifier is not a UUID") from exc
    if str(election_uuid) != election and not isinstance(election_uuid, uuid.UUID):
        raise InvalidCredential("the election UUID must be in lowercase hyphenated form")
    seed = hashlib.pbkdf2_hmac(
        "sha256",
        code.encode("ascii"),
        ("pnyx/v1/credential/" + election).encode("ascii"),
        PBKDF2_ITERATIONS,
        48,
    )
    s = int.from_bytes(seed, "big") % Q
    if s == 0:  # pragma: no cover - probability 2^-256
        raise InvalidCredential("degenerate credential")
    return SigningKey(Scalar(s))
