"""Rules for score ballots (docs/protocol.md §16.5–16.6): score (sum) and STAR.

A score ballot gives every candidate an integer score 0…S (``max_score``), in the candidates'
order. A ballot of weight ``w`` counts ``w`` times.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from crypto.rules.common import Result, Round, RuleError, check_lot, check_weights

__all__ = ["score", "star", "score_groups"]


def score_groups(
    ballots: Sequence[Sequence[int]],
    candidates: Sequence[Hashable],
    max_score: int,
    weights: Sequence[int] | None,
) -> dict[tuple, int]:
    """Identical score ballots merged (first-seen order): ``{scores: total weight}``."""
    if not isinstance(max_score, int) or isinstance(max_score, bool) or max_score < 1:
        raise RuleError("max_score is a positive integer")
    weights = check_weights(len(ballots), weights)
    groups: dict[tuple, int] = {}
    for scores, w in zip(ballots, weights, strict=True):
        scores = tuple(scores)
        if len(scores) != len(candidates):
            raise RuleError("a score ballot has one score per candidate")
        for s in scores:
            if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= max_score:
                raise RuleError(f"scores are integers from 0 to {max_score}")
        groups[scores] = groups.get(scores, 0) + w
    return groups


def _totals(groups: dict[tuple, int], n: int) -> list[int]:
    totals = [0] * n
    for scores, w in groups.items():
        for i, s in enumerate(scores):
            totals[i] += w * s
    return totals


def score(
    ballots: Sequence[Sequence[int]],
    candidates: Sequence[Hashable],
    *,
    max_score: int,
    weights: Sequence[int] | None = None,
    lot: Sequence[Hashable] | None = None,
) -> Result:
    """Score voting (Algorithm 16.5): candidates by decreasing total score, ties by the lot order."""
    pos = check_lot(candidates, lot)
    groups = score_groups(ballots, candidates, max_score, weights)
    totals = _totals(groups, len(candidates))
    order = sorted(range(len(candidates)), key=lambda i: (-totals[i], pos[candidates[i]]))
    ranking = tuple(candidates[i] for i in order)
    by_total: dict[int, list] = {}
    for i in order:
        by_total.setdefault(totals[i], []).append(candidates[i])
    ties = tuple(f"lot ordered the tied group {g!r}" for g in by_total.values() if len(g) > 1)
    tallies = {c: totals[i] for i, c in enumerate(candidates)}
    details = {"ballots": sum(groups.values()), "scores": tallies}
    winners = ranking[:1] if groups else ()
    rounds = (Round(1, "count", None, tallies),) if groups else ()
    return Result("score", winners, ranking=ranking, rounds=rounds, details=details, ties=ties)


def _select(group: list[int], need: int, keys: list[Callable[[int], tuple]]) -> list[int]:
    """``need`` members of ``group``: by the first key (larger first); a tie across the boundary
    is settled by the next key among the tied members only, and so on."""
    key, rest = keys[0], keys[1:]
    values = {i: key(i) for i in group}
    chosen: list[int] = []
    for value in sorted(set(values.values()), reverse=True):
        tier = [i for i in group if values[i] == value]
        if len(chosen) + len(tier) <= need:
            chosen.extend(tier)
        else:
            chosen.extend(_select(tier, need - len(chosen), rest))
        if len(chosen) == need:
            break
    return chosen


def star(
    ballots: Sequence[Sequence[int]],
    candidates: Sequence[Hashable],
    *,
    max_score: int,
    weights: Sequence[int] | None = None,
    lot: Sequence[Hashable] | None = None,
) -> Result:
    """STAR voting (Algorithm 16.6) with the official tie-breaking protocol."""
    pos = check_lot(candidates, lot)
    groups = score_groups(ballots, candidates, max_score, weights)
    n = len(candidates)
    totals = _totals(groups, n)
    tallies = {c: totals[i] for i, c in enumerate(candidates)}
    details: dict = {"ballots": sum(groups.values()), "scores": tallies}
    if not groups or n == 0:
        return Result("star", (), details=details)
    if n == 1:
        rounds = (Round(1, "count", None, tallies, elected=(candidates[0],)),)
        return Result("star", (candidates[0],), rounds=rounds, details=details)
    ties: list[str] = []

    def lot_key(i: int) -> tuple:
        return (-pos[candidates[i]],)

    def top_scores(i: int) -> tuple:
        return (sum(w for scores, w in groups.items() if scores[i] == max_score),)

    # Scoring round: the two highest totals advance; a tie across the boundary goes to the
    # candidates preferred head-to-head (among the tied) by more ballots, then to the most
    # top scores, then to the lot.
    top = max(totals)
    sure = [i for i in range(n) if totals[i] == top]
    if len(sure) >= 2:
        tied, sure = sure, []
    else:
        second = max(totals[i] for i in range(n) if totals[i] != top)
        tied = [i for i in range(n) if totals[i] == second]
    need = 2 - len(sure)
    if len(tied) > need:

        def preferred(i: int) -> tuple:
            won = 0
            for scores, w in groups.items():
                won += w * sum(1 for j in tied if scores[i] > scores[j])
            return (won,)

        picked = _select(tied, need, [preferred, top_scores, lot_key])
        ties.append(
            f"scoring round: {[candidates[i] for i in picked]!r} advanced from the tied "
            f"{[candidates[i] for i in tied]!r} (head-to-head, then top scores, then lot)"
        )
    else:
        picked = tied
    finalists = sure + picked
    a, b = finalists
    prefer_a = sum(w for scores, w in groups.items() if scores[a] > scores[b])
    prefer_b = sum(w for scores, w in groups.items() if scores[b] > scores[a])
    equal = details["ballots"] - prefer_a - prefer_b
    if prefer_a != prefer_b:
        winner = a if prefer_a > prefer_b else b
        tie = None
    else:
        winner = _select([a, b], 1, [lambda i: (totals[i],), top_scores, lot_key])[0]
        tie = "runoff tie: higher total score, then top scores, then lot"
        ties.append(f"{tie}: {candidates[winner]!r}")
    fa, fb, win = candidates[a], candidates[b], candidates[winner]
    details.update(
        finalists=[fa, fb],
        runoff={fa: prefer_a, fb: prefer_b, "no_preference": equal},
    )
    rounds = (
        Round(1, "count", None, tallies, elected=(fa, fb)),
        Round(
            2,
            "runoff",
            None,
            {fa: prefer_a, fb: prefer_b},
            exhausted=equal,
            elected=(win,),
            tie=tie,
        ),
    )
    runner_up = fb if win == fa else fa
    return Result(
        "star", (win,), ranking=(win, runner_up), rounds=rounds, details=details, ties=tuple(ties)
    )
