"""C2SP signed notes with Ed25519 signatures and ``cosignature/v1`` cosignatures (protocol §14.3–§14.5).

A signed note is a text ending in ``"\\n"``, a blank line, and one or more signature lines
``"— " ‖ key name ‖ " " ‖ base64(key ID ‖ signature) ‖ "\\n"`` (c2sp.org/signed-note). The key ID
is ``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]``; Pnyx uses two signature types:

- ``0x01`` — Ed25519 over the note text: the log's (the board's) signature on a checkpoint;
- ``0x04`` — ``cosignature/v1`` (c2sp.org/tlog-cosignature): a witness's Ed25519 signature over
  ``"cosignature/v1\\n" ‖ "time " ‖ decimal(t) ‖ "\\n" ‖ note text``, carried as
  ``u64be(t) ‖ signature`` after the key ID.

A verifier key ("vkey") is ``name ‖ "+" ‖ hex(key ID) ‖ "+" ‖ base64(type ‖ public key)``.

Parsing is strict: a note that is not valid UTF-8, holds a control character other than
``"\\n"``, has a malformed signature line, non-canonical base64, or more than
:data:`MAX_SIGNATURES` signatures raises :class:`~crypto.errors.InvalidNote`. Verification follows
the spec: signatures by unknown keys (name *and* ID not both matching) are ignored, a signature by
a known key must verify (else :class:`~crypto.errors.InvalidSignature`), and a note with no
verified signature raises :class:`~crypto.errors.UnverifiedNote`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from crypto.errors import InvalidNote, InvalidSignature, UnverifiedNote

__all__ = [
    "SIG_ED25519",
    "SIG_COSIGNATURE_V1",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "MAX_TIMESTAMP",
    "b64encode",
    "b64decode",
    "check_key_name",
    "key_id",
    "check_ed25519_public_key",
    "cosignature_message",
    "NoteVerifier",
    "NoteSigner",
    "NoteSignature",
    "Note",
    "VerifiedNote",
    "parse_note",
    "open_note",
    "sign_note",
    "signature_line",
    "parse_signature_lines",
]

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
_TYPES = {SIG_ED25519: "Ed25519", SIG_COSIGNATURE_V1: "cosignature/v1"}
#: A note (text and signatures) is at most 256 KiB, with at most 100 signature lines (the spec
#: asks for at least 16; Go's note package also stops at 100).
MAX_NOTE_BYTES = 256 * 1024
MAX_SIGNATURES = 100
#: A cosignature's timestamp is a u64 that must not exceed 2^63 − 1.
MAX_TIMESTAMP = 2**63 - 1
_EM_DASH_SPACE = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_HEX8 = re.compile(r"[0-9a-f]{8}\Z")
#: Unicode's White_Space characters, spelled out so that every implementation refuses the same
#: key names (Python's str.isspace and JavaScript's \s disagree on U+0085 and U+FEFF).
_SPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Decode standard padded base64, accepting only its one canonical spelling."""
    if not isinstance(text, str) or not text.isascii():
        raise InvalidNote(f"{what}: not base64")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidNote(f"{what}: not base64") from None
    if b64encode(data) != text:  # non-zero padding bits, or missing padding
        raise InvalidNote(f"{what}: not the canonical base64 spelling")
    return data


def check_key_name(name: str) -> str:
    """A key name is non-empty and has no Unicode space, no ``+`` and no control character."""
    if not isinstance(name, str) or not name:
        raise InvalidNote("a key name is a non-empty string")
    if "+" in name or _CONTROL.search(name) or _SPACE.search(name):
        raise InvalidNote(f"key name {name[:60]!r} has a space, a '+' or a control character")
    if len(name.encode("utf-8")) > 1024:
        raise InvalidNote("a key name is at most 1024 bytes")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`` as a big-endian uint32."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([sig_type]) + bytes(public_key)
    ).digest()
    return int.from_bytes(digest[:4], "big")


# --- Ed25519 public keys: canonical, on the curve, in the prime-order subgroup -------------------

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_L = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P:
        x = x * _SQRT_M1 % _P
        if (v * x * x - u) % _P:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    return (
        (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P,
    )


def _mul(k: int, point: tuple[int, int]) -> tuple[int, int]:
    result = (0, 1)
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def check_ed25519_public_key(raw: bytes, what: str = "Ed25519 public key") -> bytes:
    """``raw`` is the canonical encoding of an Ed25519 point of prime order ``L``.

    Refuses non-canonical encodings, points off the curve, the identity and every point with a
    small-order component, so that a key is accepted or refused alike here, by OpenSSL and by the
    browser (``frontend/src/tlog.mjs``).
    """
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise InvalidNote(f"{what}: 32 bytes expected")
    problem = _key_problem(raw)
    if problem:
        raise InvalidNote(f"{what}: {problem}")
    return raw


@functools.lru_cache(maxsize=1024)
def _key_problem(raw: bytes) -> str | None:
    """Memoised: a deployment checks the same few keys (log, witnesses) over and over."""
    point = _decode_point(raw)
    if point is None:
        return "not a canonical point encoding"
    if point == (0, 1) or _mul(_L, point) != (0, 1):
        return "not a point of the prime-order subgroup"
    return None


# --- keys --------------------------------------------------------------------------------


def cosignature_message(text: str, timestamp: int) -> bytes:
    """The message a ``cosignature/v1`` signs (c2sp.org/tlog-cosignature)."""
    return f"cosignature/v1\ntime {timestamp:d}\n{text}".encode()


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key: its name, signature type and raw Ed25519 public key."""

    name: str
    sig_type: int
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.sig_type not in _TYPES:
            raise InvalidNote(f"signature type 0x{self.sig_type:02x} is not supported")
        check_ed25519_public_key(self.public_key, f"the public key of {self.name}")
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))

    @property
    def vkey(self) -> str:
        """``name+hex(key ID)+base64(type ‖ public key)``."""
        material = b64encode(bytes([self.sig_type]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key; the key ID must match the name, type and key."""
        if not isinstance(vkey, str):
            raise InvalidNote("a verifier key is a string")
        parts = vkey.split("+", 2)  # the base64 key may hold "+"
        if len(parts) != 3:
            raise InvalidNote("a verifier key is name+keyid+key")
        name, hex_id, material = parts
        check_key_name(name)
        if not _HEX8.match(hex_id):
            raise InvalidNote("a verifier key's ID is 8 lowercase hex digits")
        raw = b64decode(material, "verifier key")
        if len(raw) != 33:
            raise InvalidNote("a verifier key holds a type byte and a 32-byte Ed25519 key")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != int(hex_id, 16):
            raise InvalidNote(f"the verifier key's ID {hex_id} does not match its name and key")
        return verifier

    def verify(self, text: str, signature: bytes) -> int | None:
        """Check ``signature`` (the bytes after the key ID) on the note ``text``; return the
        cosignature's timestamp (``None`` for a plain Ed25519 signature). Raises
        :class:`~crypto.errors.InvalidSignature`."""
        timestamp = None
        if self.sig_type == SIG_COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                raise InvalidSignature(f"a cosignature by {self.name} is 72 bytes after its key ID")
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                raise InvalidSignature(f"the cosignature by {self.name} has a timestamp ≥ 2^63")
            message, signature = cosignature_message(text, timestamp), signature[8:]
        else:
            if len(signature) != 64:
                raise InvalidSignature(f"an Ed25519 signature by {self.name} is 64 bytes")
            message = text.encode("utf-8")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except _CryptographyInvalidSignature:
            kind = "cosignature" if timestamp is not None else "signature"
            raise InvalidSignature(f"the {kind} by {self.name} does not verify") from None
        return timestamp


class NoteSigner:
    """An Ed25519 private key with its key name and signature type. Never printed."""

    __slots__ = ("_key", "verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey, sig_type: int = SIG_ED25519):
        self._key = private_key
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = NoteVerifier(name, sig_type, public)

    @classmethod
    def generate(cls, name: str, sig_type: int = SIG_ED25519) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, sig_type: int = SIG_ED25519) -> NoteSigner:
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise InvalidNote("an Ed25519 seed is 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), sig_type)

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    def seed(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def to_skey(self) -> str:
        """``PRIVATE+KEY+name+hex(key ID)+base64(type ‖ seed)`` (the key file's one line)."""
        material = b64encode(bytes([self.verifier.sig_type]) + self.seed())
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        parts = skey.strip("\n").split("+", 4) if isinstance(skey, str) else []
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX8.match(parts[3]):
            raise InvalidNote("a private key is PRIVATE+KEY+name+keyid+key")
        raw = b64decode(parts[4], "private key")
        if len(raw) != 33:
            raise InvalidNote("a private key holds a type byte and a 32-byte seed")
        signer = cls.from_seed(check_key_name(parts[2]), raw[1:], raw[0])
        if signer.key_id != int(parts[3], 16):
            raise InvalidNote("the private key's ID does not match its name and key")
        return signer

    def sign(self, text: str, *, timestamp: int | None = None) -> bytes:
        """The signature line's bytes after the key ID: an Ed25519 signature on ``text``, or for a
        cosigner ``u64be(timestamp) ‖`` Ed25519 on the ``cosignature/v1`` message."""
        _check_text(text)
        if self.verifier.sig_type == SIG_COSIGNATURE_V1:
            if type(timestamp) is not int or not 0 < timestamp <= MAX_TIMESTAMP:
                raise InvalidNote("a cosignature's timestamp is an integer in [1, 2^63 − 1]")
            message = cosignature_message(text, timestamp)
            return timestamp.to_bytes(8, "big") + self._key.sign(message)
        if timestamp is not None:
            raise InvalidNote("only cosignatures carry a timestamp")
        return self._key.sign(text.encode("utf-8"))

    def signature_line(self, text: str, *, timestamp: int | None = None) -> str:
        return signature_line(self.name, self.key_id, self.sign(text, timestamp=timestamp))

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier.vkey!r}, private key=<redacted>)"


# --- notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        return signature_line(self.name, self.key_id, self.signature)


@dataclass(frozen=True)
class Note:
    """A parsed (not yet verified) signed note."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        return self.text + "\n" + "".join(sig.line for sig in self.signatures)

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")


@dataclass(frozen=True)
class VerifiedNote:
    """A note with at least one verified signature by a trusted key.

    ``verified`` are the signatures by trusted keys, each checked (pairs of the key and, for
    cosignatures, the timestamp); ``unknown`` the lines by keys not trusted, kept unverified.
    """

    text: str
    verified: tuple[tuple[NoteVerifier, NoteSignature, int | None], ...]
    unknown: tuple[NoteSignature, ...]

    def signers(self) -> set[NoteVerifier]:
        return {verifier for verifier, _, _ in self.verified}


def signature_line(name: str, key: int, signature: bytes) -> str:
    check_key_name(name)
    return f"{_EM_DASH_SPACE}{name} {b64encode(key.to_bytes(4, 'big') + signature)}\n"


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise InvalidNote("a note's text ends with a newline")
    if _CONTROL.search(text):
        raise InvalidNote("a note holds no control character other than newline")
    if not _is_utf8(text):
        raise InvalidNote("a note is UTF-8 (no lone surrogate)")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode(data: bytes | str, what: str) -> str:
    if isinstance(data, str):
        if not _is_utf8(data):
            raise InvalidNote(f"{what} is not valid UTF-8")
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise InvalidNote(f"{what} is bytes or text")
    if len(data) > MAX_NOTE_BYTES:
        raise InvalidNote(f"{what} is longer than {MAX_NOTE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidNote(f"{what} is not valid UTF-8") from None
    if _CONTROL.search(text):
        raise InvalidNote(f"{what} holds a control character other than newline")
    return text


def parse_signature_lines(block: str) -> tuple[NoteSignature, ...]:
    """Parse one or more complete signature lines (each ``"— name base64\\n"``)."""
    if not block or not block.endswith("\n"):
        raise InvalidNote("signature lines end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNote(f"more than {MAX_SIGNATURES} signatures")
    out = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_EM_DASH_SPACE):
            raise InvalidNote(f"signature line {number} does not start with '— '")
        name, sep, b64 = line[len(_EM_DASH_SPACE) :].partition(" ")
        if not sep:
            raise InvalidNote(f"signature line {number} has no signature")
        check_key_name(name)
        raw = b64decode(b64, f"signature line {number}")
        if len(raw) < 5:
            raise InvalidNote(f"signature line {number} is too short")
        out.append(NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return tuple(out)


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into its text and signature lines, strictly (see the module doc)."""
    message = _decode(data, "the note")
    split = message.rfind("\n\n")
    if split < 0:
        raise InvalidNote("a note has a blank line between its text and its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    return Note(text, parse_signature_lines(block))


def _index(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        if not isinstance(verifier, NoteVerifier):
            raise InvalidNote("trusted keys are NoteVerifier values")
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] != verifier:
            raise InvalidNote(
                f"two trusted keys share the name and ID {verifier.name}+{slot[1]:08x}"
            )
        known[slot] = verifier
    return known


def open_note(data: bytes | str | Note, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse and verify a note against trusted keys (c2sp.org/signed-note §Signatures).

    Lines whose name and ID match no trusted key are kept apart, unverified. Every line whose name
    and ID match one must verify, else :class:`~crypto.errors.InvalidSignature`; with no verified
    line, :class:`~crypto.errors.UnverifiedNote`.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known = _index(verifiers)
    verified, unknown = [], []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unknown.append(sig)
            continue
        timestamp = verifier.verify(note.text, sig.signature)
        verified.append((verifier, sig, timestamp))
    if not verified:
        raise UnverifiedNote("the note has no signature by a trusted key")
    return VerifiedNote(note.text, tuple(verified), tuple(unknown))


def sign_note(text: str, signers: Iterable[NoteSigner], *, timestamp: int | None = None) -> str:
    """``text ‖ "\\n" ‖`` one signature line per signer (cosigners take ``timestamp``)."""
    _check_text(text)
    lines = []
    for signer in signers:
        stamp = timestamp if signer.verifier.sig_type == SIG_COSIGNATURE_V1 else None
        lines.append(signer.signature_line(text, timestamp=stamp))
    if not lines:
        raise InvalidNote("a signed note has at least one signature")
    return text + "\n" + "".join(lines)
