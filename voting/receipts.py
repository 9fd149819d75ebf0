"""The receipts the board key signs (the key itself: board.keys).

A receipt proves that the server accepted a ballot (or an audit) at a given place on the board.
The signed message is::

    b"PNYX-V1/board-receipt" || 0x00 || JCS({"election", "entry_hash", "head": {"hash", "seq"},
                                            "kind", "seq", "tracker"})

signed with the board key (``PNYX_BOARD_SIGNING_KEY``, or var/board_signing_key). Its public key is
in every board's genesis entry and at ``GET /api/board-key``; docs/protocol.md §11 shows how to
check a receipt offline.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from board.keys import board_public_key_hex, board_signing_key
from crypto.errors import CryptoError
from crypto.hashing import canonical_json

RECEIPT_TAG = "PNYX-V1/board-receipt"
RECEIPT_DOMAIN = RECEIPT_TAG.encode("ascii") + b"\x00"
RECEIPT_FIELDS = ("election", "entry_hash", "head", "kind", "seq", "tracker")


def receipt_message(fields: dict[str, Any]) -> bytes:
    return RECEIPT_DOMAIN + canonical_json({name: fields[name] for name in RECEIPT_FIELDS})


def receipt_sign(fields: dict[str, Any]) -> dict[str, Any]:
    """The receipt: ``fields`` plus ``signature`` (128 hex digits)."""
    signature = board_signing_key().sign(receipt_message(fields)).hex()
    return {**{name: fields[name] for name in RECEIPT_FIELDS}, "signature": signature}


def receipt_signature_valid(receipt: dict[str, Any], *, public_key_hex: str | None = None) -> bool:
    """Does ``receipt["signature"]`` verify under the board key (or ``public_key_hex``)?"""
    try:
        public = Ed25519PublicKey.from_public_bytes(
            bytes.fromhex(public_key_hex or board_public_key_hex())
        )
        public.verify(bytes.fromhex(receipt["signature"]), receipt_message(receipt))
    except (InvalidSignature, CryptoError, ValueError, KeyError, TypeError):
        return False
    return True
