"""Enrolling an official's authenticator: the seed is made here, sealed at once, and given back
to the caller exactly once (for the QR code); the database never holds it in clear."""

from __future__ import annotations

import secrets

from django.db import transaction

from officials.models import AuthenticatorDevice
from officials.seal import seal_key_id, seal_key_load, seed_seal

#: RFC 4226 asks for at least 128 bits and recommends 160 (the HMAC-SHA1 block it keys)
SEED_BYTES = 20


def authenticator_seed_store(*, device: AuthenticatorDevice, seed: bytes) -> None:
    """Seal ``seed`` into the saved ``device`` (the key file is made on first use)."""
    key = seal_key_load(create=True)
    device.sealed_seed = seed_seal(seed, key=key, device_id=device.pk)
    device.seal_key_id = seal_key_id(key)
    device.save(update_fields=["sealed_seed", "seal_key_id"])


def authenticator_enrol(*, user, name: str) -> tuple[AuthenticatorDevice, bytes]:
    """A new, unconfirmed authenticator of ``user`` and its seed (to show once, then forget).
    It counts at login only once confirmed with a code (:func:`authenticator_confirm`)."""
    seed = secrets.token_bytes(SEED_BYTES)
    with transaction.atomic():
        device = AuthenticatorDevice.objects.create(
            user=user, name=name, confirmed=False, sealed_seed=b"", seal_key_id=""
        )
        authenticator_seed_store(device=device, seed=seed)
    return device, seed


def authenticator_confirm(*, device_id: int, user, token: str) -> bool:
    """Confirm ``user``'s unconfirmed authenticator with a current code from it."""
    with transaction.atomic():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(pk=device_id, user=user, confirmed=False)
            .first()
        )
        if device is None or not device.verify_token(token):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return True
