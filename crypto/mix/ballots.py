"""What a ballot of a mixed question contributes to the mix, and how a decrypted row reads
(docs/protocol.md §15.10).

A question marked ``"mixed": true`` in the manifest (approval or budget, every option listed)
keeps its per-option ciphertexts ``E₀ … E_{n−1}`` with their 0/1 proofs at cast time; its
**mix components** are derived publicly from them, 16 options per ciphertext:
``P_g = Σ_{j<16} 2ʲ·E_{16g+j}`` (``g = 0 … ⌈n/16⌉ − 1``), an encryption of the number whose bit
``j`` is option ``16g + j``'s choice. A ballot's **row** is the components of every mixed question
in manifest order, then its credential's public weight ``(O, w·G)`` (randomness 0: the first
shuffle hides it). Anyone recomputes the rows from the board; validity was proven once, at cast.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.ballot import Ballot
from crypto.dlog import DlogTable
from crypto.elgamal import Ciphertext
from crypto.errors import CryptoError
from crypto.group import Point, multi_mul
from crypto.manifest import MAX_WEIGHT, Manifest
from crypto.mix.rows import Row, public_ciphertext
from crypto.pointenc import encode_int

__all__ = [
    "PACK_BITS",
    "MixLayout",
    "mix_layout",
    "ballot_mix_row",
    "mix_row",
    "MixRowDecoder",
]

#: options packed into one mix component
PACK_BITS = 16
_COEFFICIENTS = tuple(1 << j for j in range(PACK_BITS))


class MixLayout:
    """Which questions of a manifest are mixed and the width of a row (§15.10)."""

    __slots__ = ("questions", "options", "width")

    def __init__(self, manifest: Manifest) -> None:
        questions = tuple(
            q for q, data in enumerate(manifest.data["questions"]) if data.get("mixed") is True
        )
        self._set(questions, tuple(manifest.questions[q].options for q in questions))

    @classmethod
    def of(cls, questions: Sequence[int], options: Sequence[int]) -> MixLayout:
        """The layout of mixed questions ``questions`` (manifest positions) with ``options``."""
        layout = cls.__new__(cls)
        layout._set(tuple(questions), tuple(options))
        return layout

    def _set(self, questions: tuple[int, ...], options: tuple[int, ...]) -> None:
        self.questions, self.options = questions, options
        #: ⌈n/16⌉ components per mixed question, then the weight
        self.width = sum(-(-n // PACK_BITS) for n in options) + 1

    def __bool__(self) -> bool:
        return bool(self.questions)


def mix_layout(manifest: Manifest) -> MixLayout:
    return MixLayout(manifest)


def _pack(choices: Sequence[Ciphertext]) -> Ciphertext:
    coefficients = _COEFFICIENTS[: len(choices)]
    return Ciphertext(
        multi_mul(0, coefficients, [c.alpha for c in choices]),
        multi_mul(0, coefficients, [c.beta for c in choices]),
    )


def ballot_mix_row(layout: MixLayout, ballot: Ballot, weight: int) -> Row:
    """The row of a counted ballot whose credential has weight ``weight``."""
    return mix_row(layout, [ballot.answers[q].choices for q in layout.questions], weight)


def mix_row(layout: MixLayout, answers: Sequence[Sequence[Ciphertext]], weight: int) -> Row:
    """The row of the mixed questions' choice ciphertexts ``answers`` (one list per mixed
    question, in manifest order) and the public ``weight``."""
    if not 1 <= weight <= MAX_WEIGHT:
        raise CryptoError("a credential's weight is 1 … 1,000,000")
    if len(answers) != len(layout.questions):
        raise CryptoError("one answer per mixed question")
    components = []
    for q, n, choices in zip(layout.questions, layout.options, answers, strict=True):
        if len(choices) != n:
            raise CryptoError(f"question {q}: a mixed question lists every option's ciphertext")
        for g in range(0, n, PACK_BITS):
            components.append(_pack(choices[g : g + PACK_BITS]))
    components.append(public_ciphertext(encode_int(weight)))
    return tuple(components)


class MixRowDecoder:
    """Reads a decrypted row (one message point per component): for each mixed question the
    selected options (0-based, ascending), and the weight; ``None`` for a row that does not decode
    (no such row comes from valid ballots)."""

    def __init__(self, layout: MixLayout) -> None:
        self.layout = layout
        self._bits = DlogTable(1 << PACK_BITS)
        self._weights = DlogTable(MAX_WEIGHT + 1)

    def decode(self, messages: Sequence[Point]) -> dict | None:
        layout = self.layout
        if len(messages) != layout.width:
            raise CryptoError(f"a decrypted row has {layout.width} messages")
        position, answers = 0, []
        try:
            for n in layout.options:
                selected = []
                for g in range(0, n, PACK_BITS):
                    value = self._bits.solve(messages[position])
                    position += 1
                    if value >> min(PACK_BITS, n - g):
                        return None  # a bit beyond the last option
                    selected.extend(g + j for j in range(PACK_BITS) if value >> j & 1)
                answers.append(selected)
            weight = self._weights.solve(messages[position])
        except CryptoError:
            return None
        if weight < 1:
            return None
        return {"choices": answers, "weight": weight}
