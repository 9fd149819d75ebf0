"""Batch verification of group equations (docs/protocol.md §5.4).

Every verification equation of the protocol has the form ``g·G + Σ cₖ·Pₖ = O``. A
:class:`BatchVerifier` collects such equations, weights the i-th by a fresh random 128-bit
``ρᵢ`` from the OS CSPRNG and checks the single sum ``Σ ρᵢ·(equationᵢ) = O`` with one OpenSSL
multi-scalar multiplication, merging the terms of points that occur in several equations (the
election key, a ciphertext's α and β…). If any equation is false the sum is the identity with
probability at most 2⁻¹²⁸ (the group has prime order). When the sum fails, equations are checked
one by one so that the error names the proof that failed.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence

from crypto.errors import InvalidProof
from crypto.group import Point, Q, multi_mul

__all__ = ["BatchVerifier", "check_equation", "draw_weight"]

Term = tuple[int, Point]


_RHO_BUFFER = 4096  # bytes of OS randomness fetched at a time (256 weights)
_rho_state = threading.local()


def _next_rho() -> int:
    """A weight uniform in [1, 2^128) from the OS CSPRNG, read in bulk (one syscall per 256)."""
    state = _rho_state.__dict__
    buf, pos = state.get("buf", b""), state.get("pos", 0)
    while True:
        if pos + 16 > len(buf):
            buf, pos = secrets.token_bytes(_RHO_BUFFER), 0
        rho = int.from_bytes(buf[pos : pos + 16], "big")
        pos += 16
        if rho:  # zero is skipped: the rest of [1, 2^128) stays uniform
            state["buf"], state["pos"] = buf, pos
            return rho


def draw_weight() -> int:
    """A fresh verifier weight, uniform in ``[1, 2^128)`` from the OS CSPRNG (§5.4)."""
    return _next_rho()


class BatchVerifier:
    __slots__ = ("_g", "_acc", "_equations")

    def __init__(self) -> None:
        self._g = 0
        self._acc: dict[int, list] = {}
        self._equations: list[tuple[str, int, Sequence[Term], type[InvalidProof]]] = []

    def __len__(self) -> int:
        return len(self._equations)

    def add(
        self,
        label: str,
        g_coeff: int,
        terms: Sequence[Term],
        error: type[InvalidProof] = InvalidProof,
    ) -> None:
        """Queue the equation ``g_coeff·G + Σ c·P = O``; ``label`` names it in the error."""
        self._equations.append((label, g_coeff, terms, error))
        rho = _next_rho()  # uniform in [1, 2^128)
        self._g += rho * g_coeff
        acc = self._acc
        for c, point in terms:
            slot = acc.get(id(point))
            if slot is None:
                acc[id(point)] = [rho * c, point]
            else:
                slot[0] += rho * c

    def verify(self) -> None:
        """Raise the error of a failing equation, or return ``None`` if all hold."""
        if not self._equations:
            return
        slots = list(self._acc.values())
        total = multi_mul(self._g % Q, [c % Q for c, _ in slots], [p for _, p in slots])
        if total.is_identity():
            return
        for label, g_coeff, terms, error in self._equations:
            check_equation(label, g_coeff, terms, error)
        raise InvalidProof("batch verification failed")  # pragma: no cover - probability 2^-128

    def verify_and_reset(self) -> None:
        try:
            self.verify()
        finally:
            self.__init__()


def check_equation(
    label: str, g_coeff: int, terms: Sequence[Term], error: type[InvalidProof] = InvalidProof
) -> None:
    """Check one equation on its own."""
    total = multi_mul(g_coeff % Q, [c % Q for c, _ in terms], [p for _, p in terms])
    if not total.is_identity():
        raise error(f"{label}: verification equation does not hold")
