"""What every counting rule shares: the result types, the error, weights and the lot order."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from crypto.errors import CryptoError

__all__ = ["Result", "Round", "RuleError", "lot_order", "LOT_DOMAIN"]

LOT_DOMAIN = b"pnyx/rules/lot/v1"


class RuleError(CryptoError):
    """The input of a counting rule is malformed (unknown candidate, bad score, bad weight…)."""


def number_json(value: int | Fraction) -> int | str:
    """An exact number for JSON: an int, or the string ``"p/q"`` of a non-integral fraction."""
    if isinstance(value, Fraction):
        return (
            value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        )
    return value


def _json(value: Any) -> Any:
    if isinstance(value, int | Fraction) and not isinstance(value, bool):
        return number_json(value)
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Round:
    """One round (stage) of a count, as the results page shows it.

    ``action`` says what the round did (``"count"``, ``"surplus"``, ``"exclude"``, ``"elect"``,
    ``"fund"``…) and ``subject`` to whom; ``tallies`` are the candidates' totals at its end;
    ``tie`` names the tie-break used to choose ``subject`` (``None`` when there was no tie).
    """

    number: int
    action: str
    subject: Hashable | None
    tallies: Mapping[Hashable, int | Fraction]
    exhausted: int | Fraction = 0
    elected: tuple = ()
    excluded: tuple = ()
    tie: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return _json(
            {
                "number": self.number,
                "action": self.action,
                "subject": self.subject,
                "tallies": dict(self.tallies),
                "exhausted": self.exhausted,
                "elected": list(self.elected),
                "excluded": list(self.excluded),
                "tie": self.tie,
                **({"extra": dict(self.extra)} if self.extra else {}),
            }
        )


@dataclass(frozen=True)
class Result:
    """The outcome of a rule: ``winners`` (elected candidates or funded projects, in the order
    the rule chose them), ``ranking`` (a full order when the rule gives one), ``rounds`` and
    rule-specific ``details`` (quota, pairwise matrix, scores, payments…)."""

    rule: str
    winners: tuple
    ranking: tuple = ()
    rounds: tuple[Round, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    ties: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return _json(
            {
                "rule": self.rule,
                "winners": list(self.winners),
                "ranking": list(self.ranking),
                "rounds": [r.to_json() for r in self.rounds],
                "details": dict(self.details),
                "ties": list(self.ties),
            }
        )


def lot_order(candidates: Sequence[Hashable], seed: bytes | None = None) -> tuple:
    """The order in which "lots" are drawn: the candidates as given when ``seed`` is ``None``,
    else sorted by ``SHA-256(LOT_DOMAIN ‖ len(seed) as 4 bytes ‖ seed ‖ i as 4 bytes)`` of
    their position ``i`` (ties impossible: the digests differ). Earlier means favoured."""
    check_candidates(candidates)
    if seed is None:
        return tuple(candidates)
    if not isinstance(seed, bytes):
        raise RuleError("the lot seed is bytes")
    prefix = LOT_DOMAIN + len(seed).to_bytes(4, "big") + seed
    keyed = sorted(
        range(len(candidates)),
        key=lambda i: hashlib.sha256(prefix + i.to_bytes(4, "big")).digest(),
    )
    return tuple(candidates[i] for i in keyed)


def check_candidates(candidates: Sequence[Hashable]) -> None:
    if len(set(candidates)) != len(candidates):
        raise RuleError("candidates must be distinct")


def check_lot(candidates: Sequence[Hashable], lot: Sequence[Hashable] | None) -> dict:
    """Position of every candidate in the lot order (the candidates' order by default)."""
    check_candidates(candidates)
    order = tuple(candidates) if lot is None else tuple(lot)
    if len(order) != len(candidates) or set(order) != set(candidates):
        raise RuleError("the lot order must be a permutation of the candidates")
    return {c: i for i, c in enumerate(order)}


def check_weights(count: int, weights: Sequence[int] | None) -> list[int]:
    """One positive integer weight per ballot (1 each when ``weights`` is ``None``)."""
    if weights is None:
        return [1] * count
    weights = list(weights)
    if len(weights) != count:
        raise RuleError("one weight per ballot")
    for w in weights:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise RuleError("weights are positive integers")
    return weights


def backward_pick(
    tied: Sequence[Hashable], history: Sequence[Mapping[Hashable, Any]], highest: bool
) -> tuple[list, bool]:
    """The statute's look-back: walk ``history`` from the most recent stage backwards and, at
    each stage where the tied candidates' totals are unequal, keep those with the highest (or
    lowest) total; stop when one is left. Returns the survivors and whether any stage helped."""
    group = list(tied)
    helped = False
    for stage in reversed(history):
        values = [stage.get(c, 0) for c in group]
        best = max(values) if highest else min(values)
        narrowed = [c for c, v in zip(group, values, strict=True) if v == best]
        if len(narrowed) < len(group):
            group, helped = narrowed, True
            if len(group) == 1:
                break
    return group, helped
