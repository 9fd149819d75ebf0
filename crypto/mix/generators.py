"""The independent generators of the proof of shuffle (docs/protocol.md §15.4).

For an election with manifest fingerprint ``F``:

- the row generators ``Hᵢ = hash_to_curve(JCS([F, "row", i]), DST)`` for rows ``i = 0, 1, …``;
- the chain base ``H = hash_to_curve(JCS([F, "chain"]), DST)``;

with ``DST = "PNYX-V1/mix-generator/P256_XMD:SHA-256_SSWU_RO_"`` and ``hash_to_curve`` of RFC 9380
(:mod:`crypto.h2c`). In the random-oracle model nobody — the mixers included — knows a discrete
logarithm relation between ``G``, ``H`` and the ``Hᵢ``, which is what makes the proof's Pedersen
commitments binding. They do not depend on the mixer or on ``N`` (the first ``N`` are used), so a
process derives them once per election and reuses them for every shuffle it proves or checks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from crypto.errors import CryptoError
from crypto.group import FixedBase, Point
from crypto.h2c import SUITE, hash_to_curve, hash_to_curve_many
from crypto.hashing import DST_PREFIX, canonical_json, check_digest_hex

__all__ = ["GENERATOR_DST", "ShuffleGenerators", "shuffle_generators"]

GENERATOR_DST = (DST_PREFIX + "mix-generator/" + SUITE).encode("ascii")
_BATCH = 256  # generators derived together (one shared inversion)


class ShuffleGenerators:
    """The generators of one election, derived on demand and kept (thread-safe)."""

    __slots__ = ("fingerprint", "_rows", "_chain", "_table", "_lock")

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = check_digest_hex(fingerprint, "fingerprint")
        self._rows: list[Point] = []
        self._chain: Point | None = None
        self._table: FixedBase | None = None
        self._lock = threading.Lock()

    @property
    def chain_base(self) -> Point:
        """``H``, the first element ``ĉ₋₁`` of every commitment chain."""
        if self._chain is None:
            self._chain = hash_to_curve(canonical_json([self.fingerprint, "chain"]), GENERATOR_DST)
        return self._chain

    @property
    def chain_table(self) -> FixedBase:
        """A fixed-base table for ``H`` (the prover's commitment chain uses it)."""
        if self._table is None:
            self._table = FixedBase(self.chain_base)
        return self._table

    def rows(self, start: int, stop: int) -> list[Point]:
        """``[H_start, …, H_{stop−1}]``."""
        if not 0 <= start <= stop:
            raise CryptoError("generator range must be 0 ≤ start ≤ stop")
        self._extend(stop)
        return self._rows[start:stop]

    def row(self, index: int) -> Point:
        self._extend(index + 1)
        return self._rows[index]

    def _extend(self, count: int) -> None:
        if count <= len(self._rows):
            return
        with self._lock:
            while len(self._rows) < count:
                first = len(self._rows)
                last = min(count, first + _BATCH)
                msgs = [canonical_json([self.fingerprint, "row", i]) for i in range(first, last)]
                self._rows.extend(hash_to_curve_many(msgs, GENERATOR_DST))


_cache: OrderedDict[str, ShuffleGenerators] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 4


def shuffle_generators(fingerprint: str) -> ShuffleGenerators:
    """The (per-process, cached) generators of the election with fingerprint ``fingerprint``."""
    with _cache_lock:
        gens = _cache.get(fingerprint)
        if gens is None:
            gens = _cache[fingerprint] = ShuffleGenerators(fingerprint)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(fingerprint)
        return gens
