"""A trustee's key store: one file, encrypted with a passphrase, kept on the trustee's machine.

Framework-free (stdlib + ``cryptography``): the offline trustee CLI and the trustee's Celery
worker both use it, and neither needs Django or a database.

File format (JSON, version 1, mode 0600)::

    {"format": "pnyx-trustee-keystore", "version": 1,
     "election": "<uuid>", "index": i, "public_key": "<Yᵢ hex>",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<16 bytes hex>"},
     "cipher": "aes-256-gcm", "nonce": "<12 bytes hex>", "ciphertext": "<hex>"}

The key is ``scrypt(passphrase, salt, n=2¹⁷, r=8, p=1)`` (32 bytes: ≈ 0.3 s and 128 MiB per
derivation); the plaintext is encrypted with AES-256-GCM under a fresh nonce, with the canonical
JSON of every other field as associated data, so the clear header (which election, which trustee,
which public key: what a worker needs to pick the right store) cannot be altered either. The salt
is drawn when the key is derived for writing (a new store, or a store re-saved at new cost
parameters); every save draws a new nonce, and an unlocked store keeps its derived key in memory so
that saving it again costs no second derivation.

Stores written before the cost was raised (``n = 2¹⁵``) are still read; the next save re-derives the
key at ``2¹⁷`` with a new salt (:attr:`KeyStore.outdated`, :func:`upgrade`). No other parameters are
accepted: a file cannot lower its own cost. A new store needs a strong passphrase
(:func:`passphrase_problems`: at least 12 characters and zxcvbn's top score, ≥ 10¹⁰ guesses).

The plaintext holds the long-term secret ``yᵢ`` and, during the key ceremony, the secret polynomial
with the deal prepared from it (the deal must be revealed exactly as committed); the polynomial is
erased once the trustee has confirmed. The trustee's decryption share ``xⱼ`` is not stored: it is
recomputed from the board (the qualified dealers' shares, decrypted with ``yⱼ``). A worker trustee
also keeps here, authenticated by the AEAD, the head of the board it last verified (``board``) and
what it decrypted (``decryption``: the tally entry and its signed partial decryption), so that it
decrypts at most one tally per election and key (tally/trustee_board.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from zxcvbn import zxcvbn

FORMAT = "pnyx-trustee-keystore"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
#: read, and re-saved at SCRYPT_N: stores written before the cost was raised
SCRYPT_N_OUTDATED = frozenset({2**15})
MIN_PASSPHRASE = 12
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters are scored
_SALT_BYTES, _NONCE_BYTES, _KEY_BYTES = 16, 12, 32
_HEADER_FIELDS = ("format", "version", "election", "index", "public_key", "kdf", "cipher")
_MAX_FILE = 16 * 1024 * 1024


class KeyStoreError(Exception):
    """The key store cannot be read or written (missing, malformed, wrong passphrase…).

    Messages never contain secret material.
    """


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise KeyStoreError("the passphrase is empty")
    return Scrypt(salt=salt, length=_KEY_BYTES, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def passphrase_problems(passphrase: str, *, hints: tuple[str, ...] = ()) -> list[str]:
    """Why ``passphrase`` is too weak for a new key store (empty if it is strong enough).

    Rule: at least :data:`MIN_PASSPHRASE` characters and zxcvbn's score 4 (an estimated 10¹⁰
    guesses or more; ``hints`` — election id, trustee name… — count as known words). A stolen key
    store can be attacked offline; at ≈ 0.3 s of scrypt per guess, 10¹⁰ guesses are ≈ 100 CPU-years.
    """
    problems = []
    if len(passphrase) < MIN_PASSPHRASE:
        problems.append(f"it has fewer than {MIN_PASSPHRASE} characters")
    verdict = zxcvbn(passphrase[:_ZXCVBN_MAX], user_inputs=["pnyx", "trustee", *hints])
    if verdict["score"] < 4:
        feedback = verdict["feedback"]
        reason = feedback.get("warning") or "it is too easy to guess"
        problems.append(
            " ".join([reason.rstrip(".") + ".", *feedback.get("suggestions", [])]).strip()
        )
    return problems


class KeyStore:
    """An unlocked key store: the clear header and the secret content (``secrets``).

    ``secrets`` is a plain dict: ``{"y": hex, "ceremony": {...} | None}``. Never printed.
    """

    __slots__ = ("path", "election", "index", "public_key", "secrets", "_passphrase", "_kdf")

    def __init__(
        self,
        path: Path,
        *,
        election: str,
        index: int,
        public_key: str,
        secrets_: dict,
        passphrase: str,
        kdf: tuple[int, bytes, bytes] | None = None,
    ) -> None:
        self.path = Path(path)
        self.election = election
        self.index = index
        self.public_key = public_key
        self.secrets = secrets_
        self._passphrase = passphrase
        self._kdf = kdf  #: (n, salt, derived key) of the file as last read or written

    @property
    def outdated(self) -> bool:
        """The file was written with a lower scrypt cost than :data:`SCRYPT_N`: save it again."""
        return self._kdf is not None and self._kdf[0] != SCRYPT_N

    def __repr__(self) -> str:
        return f"KeyStore({self.path}, election={self.election}, index={self.index}, <redacted>)"

    # --- writing
    def _key(self) -> tuple[bytes, bytes]:
        """(salt, key) at the current cost: the one in memory, or a new salt and derivation."""
        if self._kdf is None or self._kdf[0] != SCRYPT_N:
            salt = secrets.token_bytes(_SALT_BYTES)
            key = _derive(self._passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            self._kdf = (SCRYPT_N, salt, key)
        return self._kdf[1], self._kdf[2]

    def header(self, salt: bytes) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "election": self.election,
            "index": self.index,
            "public_key": self.public_key,
            "kdf": {
                "name": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": salt.hex(),
            },
            "cipher": "aes-256-gcm",
        }

    def encrypted(self) -> dict:
        salt, key = self._key()
        header = self.header(salt)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, _canonical(self.secrets), _canonical(header))
        return {**header, "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}

    def save(self, *, create: bool = False) -> None:
        """Write the file (0600) atomically; ``create`` refuses to replace an existing file."""
        data = (json.dumps(self.encrypted(), indent=1, sort_keys=True) + "\n").encode()
        path = self.path
        if create:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError as exc:
                raise KeyStoreError(f"{path} exists already: it is not overwritten") from exc
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def read_header(path: Path | str) -> dict:
    """The clear header of a key store file (no passphrase needed), validated."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_FILE:
            raise KeyStoreError(f"{path}: not a key store (too large)")
        data = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise KeyStoreError(f"{path}: no such key store") from exc
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"{path}: not a readable key store ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KeyStoreError(f"{path}: not a Pnyx trustee key store")
    if data.get("version") != VERSION:
        raise KeyStoreError(f"{path}: unsupported key store version {data.get('version')!r}")
    expected = {*_HEADER_FIELDS, "nonce", "ciphertext"}
    if set(data) != expected:
        raise KeyStoreError(f"{path}: unexpected or missing fields")
    kdf = data["kdf"]
    if (
        not isinstance(kdf, dict)
        or set(kdf) != {"name", "n", "r", "p", "salt"}
        or kdf["name"] != "scrypt"
        or data["cipher"] != "aes-256-gcm"
    ):
        raise KeyStoreError(f"{path}: unsupported key derivation or cipher")
    # the cost parameters are part of the format: a file cannot lower them (stores written at the
    # earlier cost are read, and re-saved at SCRYPT_N)
    if (kdf["r"], kdf["p"]) != (SCRYPT_R, SCRYPT_P) or (
        kdf["n"] != SCRYPT_N and kdf["n"] not in SCRYPT_N_OUTDATED
    ):
        raise KeyStoreError(f"{path}: unexpected scrypt parameters")
    if not isinstance(data["index"], int) or not isinstance(data["election"], str):
        raise KeyStoreError(f"{path}: malformed header")
    return data


def unlock(path: Path | str, passphrase: str) -> KeyStore:
    """Decrypt a key store; raises :class:`KeyStoreError` (e.g. on a wrong passphrase)."""
    path = Path(path)
    data = read_header(path)
    try:
        salt = bytes.fromhex(data["kdf"]["salt"])
        nonce = bytes.fromhex(data["nonce"])
        ciphertext = bytes.fromhex(data["ciphertext"])
    except (TypeError, ValueError) as exc:
        raise KeyStoreError(f"{path}: malformed hex field") from exc
    if len(salt) != _SALT_BYTES or len(nonce) != _NONCE_BYTES:
        raise KeyStoreError(f"{path}: malformed salt or nonce")
    n = data["kdf"]["n"]
    key = _derive(passphrase, salt, n, SCRYPT_R, SCRYPT_P)
    header = {k: data[k] for k in _HEADER_FIELDS}
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _canonical(header))
    except InvalidTag as exc:
        raise KeyStoreError(
            f"{path}: cannot unlock (wrong passphrase, or the file was altered)"
        ) from exc
    content = json.loads(plaintext)
    if not isinstance(content, dict) or not isinstance(content.get("y"), str):
        raise KeyStoreError(f"{path}: unexpected content")
    return KeyStore(
        path,
        election=data["election"],
        index=data["index"],
        public_key=data["public_key"],
        secrets_=content,
        passphrase=passphrase,
        kdf=(n, salt, key),
    )


def upgrade(store: KeyStore) -> bool:
    """Save an :attr:`~KeyStore.outdated` store again at the current cost (new salt); True if it
    was. Hold :func:`locked` around it when another process may write the same store."""
    if not store.outdated:
        return False
    store.save()
    return True


def create(
    path: Path | str, *, election: str, index: int, public_key: str, y_hex: str, passphrase: str
) -> KeyStore:
    """A new key store file holding ``y`` (refuses to overwrite an existing file, and a weak
    passphrase: :func:`passphrase_problems`)."""
    problems = passphrase_problems(passphrase, hints=(election, f"trustee{index}"))
    if problems:
        raise KeyStoreError("choose a stronger passphrase: " + " ".join(problems))
    store = KeyStore(
        Path(path),
        election=election,
        index=index,
        public_key=public_key,
        secrets_={"y": y_hex, "ceremony": None},
        passphrase=passphrase,
    )
    store.save(create=True)
    return store


@contextlib.contextmanager
def locked(path: Path | str) -> Iterator[None]:
    """An exclusive advisory lock on ``<path>.lock`` around a read-modify-write of the store
    (a worker with several processes may run two steps of one trustee at once)."""
    lock_path = Path(f"{path}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def passphrase_from_environment(env: dict | None = None) -> str:
    """``PNYX_TRUSTEE_PASSPHRASE_FILE`` (first line of the file) or ``PNYX_TRUSTEE_PASSPHRASE``."""
    env = os.environ if env is None else env
    path = env.get("PNYX_TRUSTEE_PASSPHRASE_FILE")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyStoreError(
                f"cannot read PNYX_TRUSTEE_PASSPHRASE_FILE ({exc.strerror})"
            ) from exc
        lines = text.splitlines()
        passphrase = lines[0] if lines else ""
    else:
        passphrase = env.get("PNYX_TRUSTEE_PASSPHRASE", "")
    if not passphrase:
        raise KeyStoreError(
            "no passphrase: set PNYX_TRUSTEE_PASSPHRASE_FILE (or PNYX_TRUSTEE_PASSPHRASE)"
        )
    return passphrase


def keystore_paths_from_environment(env: dict | None = None) -> list[Path]:
    """``PNYX_TRUSTEE_KEYSTORE``: one path, or several separated by ``os.pathsep`` (one worker
    may serve several trustees, e.g. the demo's)."""
    env = os.environ if env is None else env
    value = env.get("PNYX_TRUSTEE_KEYSTORE", "")
    paths = [Path(p) for p in value.split(os.pathsep) if p.strip()]
    if not paths:
        raise KeyStoreError("no key store: set PNYX_TRUSTEE_KEYSTORE to the key store file")
    return paths
