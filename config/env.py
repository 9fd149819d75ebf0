"""Reading deployment configuration from the environment.

Everything here runs while settings are imported, so it uses the standard
library only and raises ``ImproperlyConfigured`` with a message that says what
to change.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, *, default: bool = False) -> bool:
    """Return the boolean value of ``name``; anything unrecognised is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1 or 0.")


def env_int(name: str, *, default: int, minimum: int | None = None) -> int:
    """Return the integer value of ``name`` (``minimum``: the smallest value allowed)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: at least {minimum}.")
    return value


def env_list(name: str, *, default: list[str]) -> list[str]:
    """Return the comma-separated list in ``name`` (blank items dropped)."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, *, min_length: int) -> str:
    """A shared secret from ``name`` (empty when unset); a short one is an error, not a
    weakness found later."""
    value = os.environ.get(name, "").strip()
    if value and len(value) < min_length:
        raise ImproperlyConfigured(
            f"{name} is too short: use at least {min_length} characters, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    return value


def private_file_load_or_create(*, path: Path, generate: Callable[[], str]) -> str:
    """Return the text stored at ``path``, creating it with ``generate()`` on first use.

    The value is written to a private temporary file and hard-linked into place,
    so concurrent first starts (several gunicorn workers) agree on one value and
    nobody ever reads a half-written file. A file that other users can read is
    refused rather than silently fixed.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(generate())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race; use its value
        finally:
            tmp.unlink()

    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"{path} is accessible by other users (mode {mode:04o}); run: chmod 600 {path}"
        )
    return path.read_text(encoding="ascii").strip()


def secret_key_load_or_create(*, path: Path) -> str:
    """Return the Django secret key stored at ``path``, creating it on first use."""
    key = private_file_load_or_create(path=path, generate=lambda: secrets.token_urlsafe(50))
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable secret key; delete it to regenerate.")
    return key


def ed25519_seed_parse(text: str, *, what: str) -> bytes:
    """A 32-byte Ed25519 seed given as 64 hex digits or as base64 (standard or URL-safe)."""
    return secret32_parse(text, what=what, kind="Ed25519 seed")


def secret32_parse(text: str, *, what: str, kind: str) -> bytes:
    """32 secret bytes (``kind`` names them in the error) given as 64 hex digits or as base64
    (standard or URL-safe)."""
    text = text.strip()
    if len(text) == 64 and all(ch in "0123456789abcdefABCDEF" for ch in text):
        return bytes.fromhex(text)
    try:
        padded = text + "=" * (-len(text) % 4)
        seed = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise ImproperlyConfigured(
            f"{what} must be a 32-byte {kind}: 64 hex digits or 44 base64 characters."
        )
    return seed


def board_signing_seed_load(*, value: str | None, path: Path) -> bytes:
    """The bulletin board's Ed25519 seed: from ``value`` (the environment) if set, else from
    ``path``, generated there (mode 0600) on first use."""
    if value:
        return ed25519_seed_parse(value, what="PNYX_BOARD_SIGNING_KEY")
    text = private_file_load_or_create(path=path, generate=lambda: secrets.token_hex(32))
    return ed25519_seed_parse(text, what=str(path))
