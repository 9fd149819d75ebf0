"""Hashing: canonical JSON (RFC 8785), SHA-256 digests and unbiased hashing to scalars.

Every Fiat–Shamir challenge in the protocol is ``hash_to_scalar(tag, context, statement,
commitments)``: the message is the RFC 8785 canonical JSON of the array of its parts, and the
domain-separation tag is ``"PNYX-V1/" + tag``. The reduction to a scalar follows RFC 9380
``hash_to_field`` for P-256 (``expand_message_xmd`` with SHA-256, 48 bytes, reduced mod q), whose
bias is below 2^-128 (docs/protocol.md §3).
"""

from __future__ import annotations

import hashlib
import json
import re
from itertools import accumulate
from typing import Any

from crypto.errors import InvalidEncoding
from crypto.group import Q, Scalar

__all__ = [
    "DST_PREFIX",
    "MAX_JSON_DEPTH",
    "Tag",
    "canonical_json",
    "parse_json",
    "sha256_hex",
    "digest_json",
    "expand_message_xmd",
    "hash_to_scalar",
    "hash_message_to_scalar",
    "is_plain_json_string",
    "check_digest_hex",
]

DST_PREFIX = "PNYX-V1/"
_L = 48  # ceil((ceil(log2(q)) + 128) / 8) for P-256: RFC 9380 §5 with k = 128
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}\Z")


class Tag:
    """Every domain-separation tag of the protocol (docs/protocol.md §3.3). One per purpose."""

    POK = "pok"  # Schnorr proof of knowledge of a discrete log
    DLEQ = "dleq"  # Chaum–Pedersen equality of discrete logs
    SELECTION = "selection"  # a ballot option encrypts 0 or 1
    SCORE = "score"  # a score question's option encrypts a value in [0, S]
    SUM = "sum"  # the options of a question add up to a value in [min, max]
    BUDGET_BIT = "budget-bit"  # one bit of a budget range proof encrypts 0 or 1
    SIGNATURE = "credential-signature"  # a voter credential signs a ballot
    TRUSTEE_SIGNATURE = "trustee-signature"  # a trustee signs a key-ceremony message
    DECRYPTION_SIGNATURE = "decryption-signature"  # a trustee signs its partial decryption
    SHUFFLE_PERMUTATION = "shuffle-permutation"  # the mixnet's per-row challenges uᵢ (§15.6)
    SHUFFLE = "shuffle"  # the challenge of a proof of shuffle (§15.6)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical UTF-8 JSON of a protocol value.

    Every JSON value of the protocol lies in the subset where RFC 8785 is exactly "keys sorted,
    no whitespace, UTF-8, minimal escapes": strings, booleans, null, integers of magnitude below
    2^53, arrays and objects with ASCII keys — no floats (docs/protocol.md §3.1). On that subset
    the standard library's C encoder produces the RFC 8785 bytes about 3× faster than a generic
    JCS implementation; tests/crypto check byte equality against the ``rfc8785`` package. Values
    from outside pass through :func:`parse_json`, which refuses anything beyond the subset.
    """
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidEncoding(f"value cannot be canonicalised: {exc}") from exc
    except RecursionError:
        # Only a value built in memory can get here (parse_json refuses deep text): refuse it
        # as what it is, an encoding error, instead of letting the interpreter's error escape.
        raise InvalidEncoding(
            f"value nested too deeply to canonicalise (the protocol allows {MAX_JSON_DEPTH} levels)"
        ) from None


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
MAX_SAFE_INTEGER = 2**53 - 1
#: The deepest nesting of arrays and objects a JSON value from outside may have (request bodies,
#: board lines, key stores). The deepest protocol value, a board entry carrying an audited ballot,
#: nests 10 levels; the limit leaves room for growth and keeps every recursive walk of a value
#: (parsing, canonicalisation, validation) far below Python's recursion limit (1,000 frames), so
#: that depth is refused as an encoding error, never as a RecursionError (docs/protocol.md §3.1).
MAX_JSON_DEPTH = 32
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: a JSON string (with its escapes), and anything but a bracket: removed before counting depth
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def parse_json(data: bytes | str) -> Any:
    """Parse JSON from outside, refusing what canonical JSON cannot represent exactly.

    Refused: floats and the constants NaN/Infinity, integers of magnitude ≥ 2^53, duplicate object
    keys, non-ASCII object keys, ``\\u`` escapes of UTF-16 surrogates, text that is not UTF-8, and
    arrays and objects nested more than :data:`MAX_JSON_DEPTH` levels deep.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEncoding("JSON must be UTF-8") from exc
    if _SURROGATE_ESCAPE.search(data):
        # canonical JSON never escapes non-ASCII text, and a lone surrogate is not a character
        raise InvalidEncoding("JSON must not contain \\u escapes of UTF-16 surrogates")
    try:
        value = json.loads(
            data,
            parse_float=_refuse_float,
            parse_int=_parse_int,
            parse_constant=_refuse_float,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise InvalidEncoding(f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
    except RecursionError:
        raise InvalidEncoding(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    if _nested_too_deep(data):
        raise InvalidEncoding(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _nested_too_deep(text: str) -> bool:
    """Whether well-formed JSON ``text`` nests arrays and objects more than
    :data:`MAX_JSON_DEPTH` levels, counted on the text without recursion: strings are removed,
    then the brackets left are counted. (Well-formed only: on an unterminated string the string
    pattern would retry from every later quote, in quadratic time.)"""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # too few brackets to be too deep: no scan (most small bodies)
    if "\\" in text:
        outside_strings = _JSON_STRING.sub("", text)
    else:  # no escapes (protocol values: hex, ids): strings are what lies between two quotes
        outside_strings = "".join(text.split('"')[0::2])
    brackets = _NOT_BRACKET.sub("", outside_strings)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _refuse_float(text: str) -> Any:
    raise InvalidEncoding(f"numbers other than integers are not allowed ({text[:20]})")


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise InvalidEncoding("integer too large")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidEncoding("integer too large")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InvalidEncoding("duplicate key in a JSON object")
    for key in obj:
        if not key.isascii():
            raise InvalidEncoding("object keys must be ASCII")
    return obj


def is_plain_json_string(value: Any) -> bool:
    """True for ASCII letters and digits only: such a string is its own JCS body (no escapes)."""
    return type(value) is str and value.isascii() and (value.isalnum() or value == "")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value``, as 64 lowercase hex digits."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def check_digest_hex(text: Any, what: str = "digest") -> str:
    if not isinstance(text, str) or not _HEX_DIGEST.match(text):
        raise InvalidEncoding(f"{what} must be 64 lowercase hex digits")
    return text


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 ``expand_message_xmd`` with SHA-256."""
    ell = -(-length // 32)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise InvalidEncoding("expand_message_xmd: length or DST too long")
    dst_prime = dst + bytes([len(dst)])
    h0 = _Z_PAD_STATE.copy()  # SHA-256 state after Z_pad = 64 zero bytes
    h0.update(msg + length.to_bytes(2, "big") + b"\x00" + dst_prime)
    b0 = h0.digest()
    bi = hashlib.sha256(b0 + b"\x01" + dst_prime).digest()
    out = [bi]
    b0_int = int.from_bytes(b0, "big")
    for i in range(2, ell + 1):
        mixed = (b0_int ^ int.from_bytes(bi, "big")).to_bytes(32, "big")
        bi = hashlib.sha256(mixed + bytes([i]) + dst_prime).digest()
        out.append(bi)
    return b"".join(out)[:length]


_Z_PAD_STATE = hashlib.sha256(bytes(64))


def hash_to_scalar(tag: str, *parts: Any) -> Scalar:
    """``OS2IP(expand_message_xmd(JCS([parts…]), "PNYX-V1/" + tag, 48)) mod q``."""
    return hash_message_to_scalar(tag, canonical_json(list(parts)))


def hash_message_to_scalar(tag: str, msg: bytes) -> Scalar:
    """:func:`hash_to_scalar` for a message already serialised as ``JCS([parts…])``."""
    return Scalar._trusted(hash_message_to_value(tag, msg))


def hash_message_to_value(tag: str, msg: bytes) -> int:
    """The value of :func:`hash_message_to_scalar` as a plain int in ``[0, q)``.

    ``expand_message_xmd(msg, DST, 48)`` unrolled (ℓ = 2), with the parts that depend only on
    the tag prepared once: ``I2OSP(48, 2) ‖ 0x00 ‖ DST′``, ``0x01 ‖ DST′`` and ``0x02 ‖ DST′``
    (tests/crypto/test_hashing.py compares it with the general function)."""
    suffixes = _XMD48.get(tag)
    if suffixes is None:
        dst = (DST_PREFIX + tag).encode("ascii")
        if len(dst) > 255:
            raise InvalidEncoding("expand_message_xmd: length or DST too long")
        dst_prime = dst + bytes([len(dst)])
        suffixes = _XMD48[tag] = (
            _L.to_bytes(2, "big") + b"\x00" + dst_prime,
            b"\x01" + dst_prime,
            b"\x02" + dst_prime,
        )
    h0 = _Z_PAD_STATE.copy()
    h0.update(msg)
    h0.update(suffixes[0])
    b0 = h0.digest()
    b1 = _sha256(b0 + suffixes[1]).digest()
    mixed = (int.from_bytes(b0, "big") ^ int.from_bytes(b1, "big")).to_bytes(32, "big")
    b2 = _sha256(mixed + suffixes[2]).digest()
    return int.from_bytes(b1 + b2[:16], "big") % Q


_sha256 = hashlib.sha256
_XMD48: dict[str, tuple[bytes, bytes, bytes]] = {}
