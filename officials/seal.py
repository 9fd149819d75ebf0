"""Officials' TOTP seeds sealed at rest: AES-256-GCM under a key that is not in the database.

The key is ``PNYX_OTP_SEAL_KEY`` (64 hex digits or base64 of 32 bytes) or, when that is unset, the
file ``PNYX_VAR_DIR/otp_seal_key`` (made with mode 0600 the first time a seed is sealed). A sealed
seed is ``version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag``, with the
device's id as associated data: a sealed seed copied into another row does not open there. Each
row also keeps the id of the key that sealed it (:func:`seal_key_id`, a keyed hash that tells
nothing of the key), so a wrong key is named as such instead of looking like tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import private_file_load_or_create, secret32_parse

SEAL_VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_AAD_DOMAIN = b"pnyx/officials/totp-seed/v1\x00"
_KEY_ID_DOMAIN = b"pnyx/officials/totp-seal-key-id/v1"
_KEY_KIND = "key for officials' authenticator seeds"


class SealKeyError(ImproperlyConfigured):
    """The sealing key is missing, malformed, or not the one a seed was sealed with."""


class SealBroken(Exception):
    """A sealed seed does not open in its row: altered, or moved from another row."""


def seal_key_problem() -> str | None:
    """What is wrong with the configured key (None: nothing), creating no file."""
    try:
        seal_key_load(create=False)
    except SealKeyError as error:
        if seal_key_source_exists():
            return str(error)
    return None


def seal_key_source_exists() -> bool:
    """Whether a key is configured: the variable set, or the key file present."""
    return bool(settings.PNYX_OTP_SEAL_KEY) or Path(settings.PNYX_OTP_SEAL_KEY_FILE).exists()


def seal_key_load(*, create: bool) -> bytes:
    """The 32-byte sealing key; ``create``: make the key file if neither source exists yet."""
    if settings.PNYX_OTP_SEAL_KEY:
        try:
            return secret32_parse(
                settings.PNYX_OTP_SEAL_KEY, what="PNYX_OTP_SEAL_KEY", kind=_KEY_KIND
            )
        except ImproperlyConfigured as error:
            raise SealKeyError(str(error)) from None
    path = Path(settings.PNYX_OTP_SEAL_KEY_FILE)
    if not create and not path.exists():
        raise SealKeyError(
            f"No key for officials' authenticator seeds: PNYX_OTP_SEAL_KEY is unset and {path} "
            "does not exist. Restore the key the seeds were sealed with (from the variable or "
            "the file you backed up)."
        )
    try:
        text = private_file_load_or_create(path=path, generate=lambda: secrets.token_hex(32))
        return secret32_parse(text, what=str(path), kind=_KEY_KIND)
    except ImproperlyConfigured as error:
        raise SealKeyError(str(error)) from None


def seal_key_id(key: bytes) -> str:
    """A public name of the key (16 hex digits of a keyed hash): which key sealed a row."""
    return hmac.new(key, _KEY_ID_DOMAIN, hashlib.sha256).hexdigest()[:16]


def _associated_data(device_id: int) -> bytes:
    if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id <= 0:
        raise ValueError("a seed is sealed to a saved device (a positive id)")
    return _AAD_DOMAIN + str(device_id).encode("ascii")


def seed_seal(seed: bytes, *, key: bytes, device_id: int) -> bytes:
    """Seal ``seed`` for the device row ``device_id``."""
    if not seed:
        raise ValueError("an empty seed cannot be sealed")
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, bytes(seed), _associated_data(device_id))
    return bytes([SEAL_VERSION]) + nonce + sealed


def seed_open(sealed: bytes, *, key: bytes, device_id: int) -> bytes:
    """The seed sealed in row ``device_id``; :class:`SealBroken` if it does not open there."""
    sealed = bytes(sealed)
    if len(sealed) <= 1 + _NONCE_BYTES + _TAG_BYTES or sealed[0] != SEAL_VERSION:
        raise SealBroken(f"authenticator {device_id}: no sealed seed of version {SEAL_VERSION}")
    nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, _associated_data(device_id))
    except InvalidTag:
        raise SealBroken(
            f"authenticator {device_id}: its sealed seed does not open in this row "
            "(altered, or copied from another row)"
        ) from None


def seed_open_checked(sealed: bytes, *, sealed_key_id: str, device_id: int) -> bytes:
    """Open a row's seed with the configured key, saying clearly when that key is not the one
    the row was sealed with (:class:`SealKeyError`) rather than reporting tampering."""
    key = seal_key_load(create=False)
    if not hmac.compare_digest(seal_key_id(key), sealed_key_id):
        raise SealKeyError(
            f"Authenticator {device_id} was sealed with the key {sealed_key_id}, but the key "
            f"configured now is {seal_key_id(key)} (PNYX_OTP_SEAL_KEY or "
            f"{settings.PNYX_OTP_SEAL_KEY_FILE}). Restore the original key."
        )
    return seed_open(sealed, key=key, device_id=device_id)
