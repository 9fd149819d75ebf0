"""The board's Ed25519 key: it signs receipts and, with the transparency log, checkpoints.

The private key comes from settings (``PNYX_BOARD_SIGNING_KEY``, or var/board_signing_key); its
public key is in every board's genesis entry and at ``GET /api/board-key``.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings


@cache
def board_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.BOARD_SIGNING_KEY)


@cache
def board_public_key_hex() -> str:
    return board_signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
