"""Participatory-budget rules for approval ballots (docs/protocol.md §16.7–16.8).

A ballot is the set of the positions (0…m−1) of the projects its voter approves; a ballot of
weight ``w`` counts as ``w`` identical voters. Projects are identified by position. ``greedy``
is today's rule (``crypto.tally.funded_projects``, re-exported, not re-implemented); ``mes`` is
the Method of Equal Shares with cost utilities, "add1" completion, then greedy completion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from crypto.rules.common import Result, Round, RuleError, check_weights
from crypto.tally import funded_projects

try:  # GMP's exact rationals: the same numbers as Fraction, several times faster
    from gmpy2 import mpq as _rational
except ImportError:  # pragma: no cover - gmpy2 is in requirements.txt
    _rational = Fraction

__all__ = ["greedy", "mes", "mes_fixed", "approval_counts", "funded_projects"]


def _check_instance(costs: Sequence[int], budget: int) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise RuleError("the budget is a non-negative integer")
    for c in costs:
        if not isinstance(c, int) or isinstance(c, bool) or c < 0:
            raise RuleError("costs are non-negative integers")


def approval_list(
    ballots: Sequence[Iterable[int]], m: int, weights: Sequence[int] | None
) -> tuple[list[tuple[frozenset, int]], int]:
    """The non-blank approval sets with their weights, validated, and the blank weight."""
    weights = check_weights(len(ballots), weights)
    voters: list[tuple[frozenset, int]] = []
    blank = 0
    for ballot, w in zip(ballots, weights, strict=True):
        items = list(ballot)
        approved = frozenset(items)
        if len(approved) != len(items):
            raise RuleError("an approval ballot names a project twice")
        for p in approved:
            if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p < m:
                raise RuleError("an approval ballot names an unknown project")
        if approved:
            voters.append((approved, w))
        else:
            blank += w
    return voters, blank


def approval_groups(
    ballots: Sequence[Iterable[int]], m: int, weights: Sequence[int] | None
) -> tuple[dict[frozenset, int], int]:
    """Identical non-blank approval sets merged (first-seen order), and the blank weight."""
    voters, blank = approval_list(ballots, m, weights)
    groups: dict[frozenset, int] = {}
    for approved, w in voters:
        groups[approved] = groups.get(approved, 0) + w
    return groups, blank


def approval_counts(groups: dict[frozenset, int], m: int) -> list[int]:
    counts = [0] * m
    for approved, w in groups.items():
        for p in approved:
            counts[p] += w
    return counts


def greedy(
    ballots: Sequence[Iterable[int]],
    costs: Sequence[int],
    budget: int,
    *,
    weights: Sequence[int] | None = None,
) -> Result:
    """The greedy rule of §12.4 (Algorithm 16.7) on approval ballots."""
    _check_instance(costs, budget)
    groups, blank = approval_groups(ballots, len(costs), weights)
    counts = approval_counts(groups, len(costs))
    funded = funded_projects(counts, costs, budget)
    details = {"voters": sum(groups.values()), "blank": blank, "counts": counts}
    details["spent"] = sum(costs[p] for p in funded)
    return Result("greedy", tuple(funded), details=details)


class _Electorate:
    """Voters as bits of Python integers: weighted counts are popcounts over weight planes."""

    def __init__(self, voters: Sequence[tuple[frozenset, int]], m: int) -> None:
        self.all = (1 << len(voters)) - 1
        self.supporters = [0] * m
        top = max((w for _, w in voters), default=0)
        self.planes = [0] * top.bit_length()
        for bit, (approved, w) in enumerate(voters):
            for p in approved:
                self.supporters[p] |= 1 << bit
            for j in range(len(self.planes)):
                if w >> j & 1:
                    self.planes[j] |= 1 << bit

        self.unit = top == 1  # every weight 1: a popcount is the weight

    def weight(self, mask: int) -> int:
        if self.unit:
            return mask.bit_count()
        return sum((mask & plane).bit_count() << j for j, plane in enumerate(self.planes))


def mes_fixed(
    people: _Electorate,
    costs: Sequence[int],
    counts: Sequence[int],
    endowment: Fraction,
    preselected: Sequence[int],
    rational=None,
) -> tuple[list[int], list[dict]]:
    """One run of the Method of Equal Shares with every unit of weight endowed ``endowment``
    (Algorithm 16.8, steps 3–6). Returns the funded projects in order and, for each, its ρ and
    the payment α per unit of weight of an uncapped supporter."""
    q = rational or _rational
    endowment = q(endowment.numerator, endowment.denominator)
    classes: dict = {endowment: people.all}  # remaining budget -> voters
    chosen = list(preselected)
    steps: list[dict] = []

    def tiekey(p: int) -> tuple:  # equalshares.net: the cheaper, then the more approved
        return (costs[p], -counts[p], p)

    lower = {
        p: q(1, counts[p])
        for p in range(len(costs))
        if costs[p] > 0 and counts[p] > 0 and p not in preselected
    }
    while lower:
        best = None
        best_rank = None
        for p in sorted(lower, key=lambda p: (lower[p], tiekey(p))):
            if best_rank is not None and (lower[p], tiekey(p)) > best_rank:
                break
            support = people.supporters[p]
            hist = []
            for r, mask in classes.items():
                if r > 0:
                    inside = mask & support
                    if inside:
                        hist.append((r, people.weight(inside)))
            cost = costs[p]
            if sum(r * w for r, w in hist) < cost:
                del lower[p]  # budgets only shrink: never affordable again
                continue
            hist.sort()
            remaining, weight = q(cost), sum(w for _, w in hist)
            for r, w in hist:
                if r * weight >= remaining:
                    alpha = remaining / weight
                    break
                remaining -= r * w
                weight -= w
            rho = alpha / cost
            lower[p] = rho
            rank = (rho, tiekey(p))
            if best_rank is None or rank < best_rank:
                best, best_rank, best_alpha = p, rank, alpha
        if best is None:
            break
        support = people.supporters[best]
        after: dict = {}
        for r, mask in classes.items():
            paying = mask & support
            rest = mask & ~support
            if rest:
                after[r] = after.get(r, 0) | rest
            if paying:
                left = r - min(r, best_alpha)
                after[left] = after.get(left, 0) | paying
        classes = after
        chosen.append(best)
        steps.append(
            {
                "project": best,
                "rho": Fraction(int(best_rank[0].numerator), int(best_rank[0].denominator)),
                "alpha": Fraction(int(best_alpha.numerator), int(best_alpha.denominator)),
            }
        )
        del lower[best]
    return chosen, steps


def mes(
    ballots: Sequence[Iterable[int]],
    costs: Sequence[int],
    budget: int,
    *,
    weights: Sequence[int] | None = None,
    completion: str = "add1+greedy",
) -> Result:
    """Method of Equal Shares, cost utilities (Algorithm 16.8).

    ``completion`` is ``"add1+greedy"`` (Wieliczka 2023: raise every unit of weight's endowment
    to the next whole amount, ⌊B/W⌋ + 1, + 2…, while the outcome stays within the budget and is
    not exhaustive, then fill with the greedy rule), ``"add1"`` (no greedy step), ``"greedy"`` (greedy completion only) or
    ``"none"`` (one run of MES with the endowment budget / voters).
    """
    if completion not in {"add1+greedy", "add1", "greedy", "none"}:
        raise RuleError("completion is 'add1+greedy', 'add1', 'greedy' or 'none'")
    _check_instance(costs, budget)
    m = len(costs)
    groups, blank = approval_groups(ballots, m, weights)
    counts = approval_counts(groups, m)
    voters = sum(groups.values())
    details: dict = {"voters": voters, "blank": blank, "counts": counts}
    if voters == 0:
        details.update(endowment=0, spent=0, mes=[], completion=[])
        return Result("mes", (), details=details)
    # one bit per ballot (not merged): with unit weights a popcount is the weight
    people = _Electorate(approval_list(ballots, m, weights)[0], m)
    free = [p for p in range(m) if costs[p] == 0 and counts[p] > 0]
    endowment = Fraction(budget, voters)
    chosen, steps = mes_fixed(people, costs, counts, endowment, free)
    increments = 0
    stopped = None
    if completion.startswith("add1"):
        while True:
            spent = sum(costs[p] for p in chosen)
            if not any(
                counts[p] > 0 and p not in chosen and costs[p] <= budget - spent for p in range(m)
            ):
                stopped = "exhaustive"
                break
            # equalshares.net's add1: whole amounts per unit of weight, from ⌊B/W⌋ + 1 up
            step = endowment.__floor__() + 1
            trial, trial_steps = mes_fixed(people, costs, counts, Fraction(step), free)
            if sum(costs[p] for p in trial) > budget:
                stopped = "over budget"
                break
            endowment = Fraction(step)
            increments += 1
            chosen, steps = trial, trial_steps
    by_mes = list(chosen)
    spent = sum(costs[p] for p in chosen)
    extra: list[int] = []
    if completion.endswith("greedy"):
        rest = [0 if p in chosen else counts[p] for p in range(m)]
        extra = [p for p in funded_projects(rest, costs, budget - spent)]
        extra.sort(key=lambda p: (-counts[p], costs[p], p))
        chosen = by_mes + extra
        spent += sum(costs[p] for p in extra)
    details.update(
        endowment=endowment,
        increments=increments,
        add1_stopped=stopped,
        spent=spent,
        free=free,
        mes=[dict(s) for s in steps],
        completion=extra,
    )
    rounds = tuple(
        Round(
            i + 1,
            "fund",
            p,
            {},
            extra={"by": "mes" if p in by_mes else "greedy", "cost": costs[p], "votes": counts[p]},
        )
        for i, p in enumerate(chosen)
    )
    return Result("mes", tuple(chosen), rounds=rounds, details=details)
