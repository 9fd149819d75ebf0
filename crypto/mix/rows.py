"""Lists of width-w ciphertext rows: what a mixer shuffles (docs/protocol.md §15.3).

A row is a tuple of ``w`` ElGamal ciphertexts that travels as a unit (one ballot's mix-bound
answers and its public weight); a list has ``N ≥ 1`` rows of the same width. Points of a list may
be the identity: a component encrypted with randomness 0 (a public weight, ``(O, m·G)``) has
``α = O``, and an encryption of the integer 0 with randomness 0 is ``(O, O)``.

The digest of a list is SHA-256 over a header and the points in order (§15.3):
``ASCII("PNYX-V1/" ‖ label) ‖ 0x00 ‖ I2OSP(N, 4) ‖ I2OSP(k, 2) ‖ enc(P₁) ‖ enc(P₂) ‖ …`` with ``k``
the number of points per row and ``enc`` the 65-byte SEC1 uncompressed form (``0x00`` for the
identity: the code is prefix-free, so the concatenation is unambiguous).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.elgamal import Ciphertext, ElectionKey, encrypt_point, reencrypt
from crypto.encoding import (
    PROTOCOL_VERSION,
    expect_int,
    expect_list,
    expect_object,
    expect_version,
)
from crypto.errors import CryptoError, InvalidEncoding
from crypto.group import Point, Scalar
from crypto.hashing import DST_PREFIX

__all__ = [
    "MAX_WIDTH",
    "MAX_ROWS",
    "Row",
    "CiphertextList",
    "ListDigest",
    "CIPHERTEXTS_LABEL",
    "public_ciphertext",
    "encrypt_row",
    "reencrypt_row",
]

#: The widest row (ciphertexts per row) the protocol accepts.
MAX_WIDTH = 1024
#: The longest list the protocol accepts.
MAX_ROWS = 100_000_000
#: Digest label of a ciphertext list.
CIPHERTEXTS_LABEL = "mix-ciphertexts"

Row = tuple[Ciphertext, ...]


def _check_width(width: Any, what: str) -> int:
    return expect_int(width, f"{what}.width", 1, MAX_WIDTH)


@dataclass(frozen=True)
class CiphertextList:
    """``N`` rows of ``w`` ciphertexts each."""

    width: int  #: w
    rows: tuple[Row, ...]  #: e₀ … e_{N−1}, each (e_{i,0} … e_{i,w−1})

    def __post_init__(self) -> None:
        _check_width(self.width, "ciphertext list")
        if not isinstance(self.rows, tuple) or len(self.rows) > MAX_ROWS:
            raise InvalidEncoding(f"a ciphertext list is a tuple of at most {MAX_ROWS} rows")
        for i, row in enumerate(self.rows):
            if not isinstance(row, tuple) or len(row) != self.width:
                raise InvalidEncoding(f"ciphertext list: row {i} is not {self.width} ciphertexts")
            for ct in row:
                if not isinstance(ct, Ciphertext):
                    raise InvalidEncoding(f"ciphertext list: row {i} holds a non-ciphertext")

    def __len__(self) -> int:
        return len(self.rows)

    def slice(self, start: int, stop: int) -> CiphertextList:
        return CiphertextList(self.width, self.rows[start:stop])

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "width": self.width,
            "rows": [[ct.to_json(allow_identity=True) for ct in row] for row in self.rows],
        }

    @classmethod
    def from_json(
        cls, value: Any, what: str = "ciphertext list", *, width: int | None = None
    ) -> CiphertextList:
        obj = expect_object(value, ("version", "width", "rows"), what)
        expect_version(obj, what)
        w = _check_width(obj["width"], what)
        if width is not None and w != width:
            raise InvalidEncoding(f"{what}: width {w}, expected {width}")
        rows = expect_list(obj["rows"], f"{what}.rows")
        if len(rows) > MAX_ROWS:
            raise InvalidEncoding(f"{what}: more than {MAX_ROWS} rows")
        return cls(w, tuple(read_row(row, w, f"{what}.rows[{i}]") for i, row in enumerate(rows)))

    def points(self) -> Iterable[Point]:
        """Every point in digest order: row by row, component by component, α then β."""
        for row in self.rows:
            for ct in row:
                yield ct.alpha
                yield ct.beta

    def digest(self) -> str:
        """The list digest (label ``mix-ciphertexts``, ``2w`` points per row)."""
        d = ListDigest(CIPHERTEXTS_LABEL, len(self.rows), 2 * self.width)
        d.update(self.points())
        return d.hexdigest()


def read_row(value: Any, width: int, what: str) -> Row:
    items = expect_list(value, what, width)
    return tuple(
        Ciphertext.from_json(ct, f"{what}[{k}]", allow_identity=True) for k, ct in enumerate(items)
    )


class ListDigest:
    """Incremental digest of a list of ``rows`` rows of ``per_row`` points (§15.3)."""

    __slots__ = ("_hash", "_expected", "_seen")

    def __init__(self, label: str, rows: int, per_row: int) -> None:
        if not 0 <= rows <= MAX_ROWS or not 1 <= per_row <= 2 * MAX_WIDTH:
            raise InvalidEncoding("list digest: row count or width out of range")
        self._hash = hashlib.sha256(
            (DST_PREFIX + label).encode("ascii")
            + b"\x00"
            + rows.to_bytes(4, "big")
            + per_row.to_bytes(2, "big")
        )
        self._expected = rows * per_row
        self._seen = 0

    def update(self, points: Iterable[Point]) -> None:
        encodings = [p.to_bytes() for p in points]
        self._seen += len(encodings)
        self._hash.update(b"".join(encodings))

    def hexdigest(self) -> str:
        if self._seen != self._expected:
            raise CryptoError(f"list digest: {self._seen} points hashed, {self._expected} expected")
        return self._hash.hexdigest()


def public_ciphertext(message: Point) -> Ciphertext:
    """``(O, M)``: ``M`` "encrypted" with randomness 0 — public until a mixer re-encrypts it."""
    return Ciphertext(Point.identity(), message)


def encrypt_row(
    key: ElectionKey, messages: Sequence[Point], *, rand: Callable[[], Scalar] = Scalar.random
) -> tuple[Row, tuple[Scalar, ...]]:
    """Encrypt each message point with its own randomness; returns the row and the randomness."""
    pairs = [encrypt_point(key, m, rand=rand) for m in messages]
    return tuple(ct for ct, _ in pairs), tuple(r for _, r in pairs)


def reencrypt_row(key: ElectionKey, row: Row, randomness: Sequence[Scalar]) -> Row:
    if len(randomness) != len(row):
        raise CryptoError("one re-encryption scalar per ciphertext")
    return tuple(reencrypt(key, ct, r) for ct, r in zip(row, randomness, strict=True))
