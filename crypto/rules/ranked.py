"""Rules for ranked ballots (docs/protocol.md §16.2–16.4): instant-runoff, Scottish STV, Schulze.

A ranked ballot is a sequence of distinct candidates, most preferred first; it may rank only some
of them (the rest are unranked, below every ranked one). An empty ranking is *blank*: it is
reported, and counts for no rule.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction

from crypto.rules.common import Result, Round, RuleError, backward_pick, check_lot, check_weights

__all__ = ["irv", "stv", "schulze", "ranked_groups", "STV_SCALE"]

# The Scottish rules compute transfer values "to five decimal places (any remainder being
# ignored)": every value of §16.3 is an integer number of 1/100000 of a vote.
STV_SCALE = 10**5


def ranked_groups(
    ballots: Sequence[Sequence[Hashable]],
    candidates: Sequence[Hashable],
    weights: Sequence[int] | None,
) -> tuple[dict[tuple, int], int]:
    """Identical rankings merged (first-seen order): ``{ranking: total weight}``, blank weight."""
    weights = check_weights(len(ballots), weights)
    known = set(candidates)
    groups: dict[tuple, int] = {}
    blank = 0
    for ranking, w in zip(ballots, weights, strict=True):
        ranking = tuple(ranking)
        if len(set(ranking)) != len(ranking):
            raise RuleError("a ranking names a candidate twice")
        if not known.issuperset(ranking):
            raise RuleError("a ranking names an unknown candidate")
        if not ranking:
            blank += w
            continue
        groups[ranking] = groups.get(ranking, 0) + w
    return groups, blank


def _first_continuing(ranking: tuple, start: int, continuing: set) -> int:
    """Index of the first candidate of ``ranking`` at or after ``start`` still continuing, or -1."""
    for j in range(start, len(ranking)):
        if ranking[j] in continuing:
            return j
    return -1


def irv(
    ballots: Sequence[Sequence[Hashable]],
    candidates: Sequence[Hashable],
    *,
    weights: Sequence[int] | None = None,
    lot: Sequence[Hashable] | None = None,
) -> Result:
    """Instant-runoff (Algorithm 16.2): one winner, eliminations one at a time."""
    pos = check_lot(candidates, lot)
    groups, blank = ranked_groups(ballots, candidates, weights)
    details = {"valid": sum(groups.values()), "blank": blank}
    if not groups:
        return Result("irv", (), details=details)
    continuing = list(candidates)
    history: list[dict] = []
    rounds: list[Round] = []
    ties: list[str] = []
    while True:
        alive = set(continuing)
        tallies = dict.fromkeys(continuing, 0)
        exhausted = 0
        for ranking, w in groups.items():
            j = _first_continuing(ranking, 0, alive)
            if j < 0:
                exhausted += w
            else:
                tallies[ranking[j]] += w
        active = sum(tallies.values())
        top = max(tallies.values())
        leaders = [c for c in continuing if tallies[c] == top]
        if len(continuing) == 1 or 2 * top > active:
            winner = leaders[0]  # a strict majority is unique; one continuing candidate is alone
            rounds.append(
                Round(len(rounds) + 1, "elect", winner, tallies, exhausted, elected=(winner,))
            )
            return Result("irv", (winner,), rounds=tuple(rounds), details=details, ties=tuple(ties))
        low = min(tallies.values())
        tied = [c for c in continuing if tallies[c] == low]
        tie = None
        if len(tied) > 1:
            group, helped = backward_pick(tied, history, highest=False)
            tie = "previous-round" if len(group) == 1 else "lot"
            loser = group[0] if len(group) == 1 else max(group, key=pos.__getitem__)
            ties.append(f"round {len(rounds) + 1}: {tie} excluded {loser!r} of {tied!r}")
        else:
            loser = tied[0]
        history.append(tallies)
        rounds.append(
            Round(len(rounds) + 1, "exclude", loser, tallies, exhausted, excluded=(loser,), tie=tie)
        )
        continuing.remove(loser)


def stv(
    ballots: Sequence[Sequence[Hashable]],
    candidates: Sequence[Hashable],
    seats: int,
    *,
    weights: Sequence[int] | None = None,
    lot: Sequence[Hashable] | None = None,
) -> Result:
    """Single transferable vote by the Scottish rules (SSI 2007/42, rules 45–52; Algorithm 16.3).

    A ballot of weight ``w`` counts as ``w`` identical ballot papers. Values are integers in units
    of 1/100000 of a vote; the rounds report them as exact fractions of a vote.
    """
    if not isinstance(seats, int) or isinstance(seats, bool) or seats < 1:
        raise RuleError("seats is a positive integer")
    pos = check_lot(candidates, lot)
    groups, blank = ranked_groups(ballots, candidates, weights)
    valid = sum(groups.values())
    quota = valid // (seats + 1) + 1
    details = {"valid": valid, "blank": blank, "seats": seats, "quota": quota}
    if not groups:
        return Result("stv-scottish", (), details=details)
    big_q = quota * STV_SCALE
    # A parcel: [ranking, number of papers, value of each paper, index of its current preference]
    piles: dict = {c: [] for c in candidates}
    totals = dict.fromkeys(candidates, 0)
    for ranking, w in groups.items():
        piles[ranking[0]].append([ranking, w, STV_SCALE, 0])
        totals[ranking[0]] += w * STV_SCALE
    continuing = set(candidates)
    elected: list = []
    pending: list = []  # deemed elected, surplus not yet transferred
    history: list[dict] = []
    rounds: list[Round] = []
    ties: list[str] = []
    exhausted = 0
    lost = 0

    def by_votes(cands):
        return sorted(cands, key=lambda c: (-totals[c], pos[c]))

    def end_stage(action, subject, tie=None, extra=None):
        newly = by_votes(c for c in continuing if totals[c] >= big_q)  # rule 47
        for c in newly:
            continuing.discard(c)
            elected.append(c)
            if totals[c] > big_q:
                pending.append(c)
        history.append(dict(totals))
        rounds.append(
            Round(
                len(rounds) + 1,
                action,
                subject,
                {c: Fraction(totals[c], STV_SCALE) for c in candidates},
                Fraction(exhausted, STV_SCALE),
                elected=tuple(newly),
                excluded=(subject,) if action == "exclude" else (),
                tie=tie,
                extra={"lost": Fraction(lost, STV_SCALE), **(extra or {})},
            )
        )

    def choose(tied, highest, what):
        if len(tied) == 1:
            return tied[0], None
        group, _ = backward_pick(tied, history[:-1], highest=highest)
        tie = "previous-stage" if len(group) == 1 else "lot"
        if len(group) == 1:
            chosen = group[0]
        else:  # the lot favours the candidate earliest in the lot order
            chosen = min(group, key=pos.__getitem__) if highest else max(group, key=pos.__getitem__)
        ties.append(f"stage {len(rounds) + 1}: {tie} chose {chosen!r} to {what} among {tied!r}")
        return chosen, tie

    end_stage("count", None)
    while len(elected) < seats:
        vacancies = seats - len(elected)
        if len(continuing) <= vacancies:  # rule 52: the last vacancies, no further transfer
            rest = by_votes(continuing)
            continuing.clear()
            elected.extend(rest)
            history.append(dict(totals))
            rounds.append(
                Round(
                    len(rounds) + 1,
                    "elect",
                    None,
                    {c: Fraction(totals[c], STV_SCALE) for c in candidates},
                    Fraction(exhausted, STV_SCALE),
                    elected=tuple(rest),
                    extra={"lost": Fraction(lost, STV_SCALE)},
                )
            )
            break
        if pending:  # rules 48–49: the largest surplus first
            top = max(totals[c] for c in pending)
            source, tie = choose([c for c in pending if totals[c] == top], True, "transfer")
            pending.remove(source)
            surplus, total = totals[source] - big_q, totals[source]
            kept, moved, gone = [], 0, 0
            for parcel in piles[source]:
                ranking, w, value, j = parcel
                tv = surplus * value // total  # rule 48(3), truncated to 5 decimals
                nxt = _first_continuing(ranking, j + 1, continuing)
                if nxt < 0:
                    kept.append(parcel)
                    gone += w * tv
                else:
                    parcel[2], parcel[3] = tv, nxt
                    piles[ranking[nxt]].append(parcel)
                    totals[ranking[nxt]] += w * tv
                    moved += w * tv
            piles[source] = kept
            totals[source] = big_q
            exhausted += gone
            lost += surplus - moved - gone
            end_stage(
                "surplus",
                source,
                tie,
                {"surplus": Fraction(surplus, STV_SCALE), "moved": Fraction(moved, STV_SCALE)},
            )
            continue
        low = min(totals[c] for c in continuing)  # rules 50–51
        loser, tie = choose(
            [c for c in candidates if c in continuing and totals[c] == low], False, "exclude"
        )
        continuing.discard(loser)
        for parcel in piles[loser]:
            ranking, w, value, j = parcel
            nxt = _first_continuing(ranking, j + 1, continuing)
            if nxt < 0:
                exhausted += w * value
            else:
                parcel[3] = nxt
                piles[ranking[nxt]].append(parcel)
                totals[ranking[nxt]] += w * value
        piles[loser] = []
        totals[loser] = 0
        end_stage("exclude", loser, tie)
    details["exhausted"] = Fraction(exhausted, STV_SCALE)
    details["lost"] = Fraction(lost, STV_SCALE)
    return Result(
        "stv-scottish", tuple(elected), rounds=tuple(rounds), details=details, ties=tuple(ties)
    )


def schulze(
    ballots: Sequence[Sequence[Hashable]],
    candidates: Sequence[Hashable],
    *,
    weights: Sequence[int] | None = None,
    lot: Sequence[Hashable] | None = None,
) -> Result:
    """Condorcet–Schulze with margins (Algorithm 16.4): a full ranking, ties by the lot order."""
    pos = check_lot(candidates, lot)
    groups, blank = ranked_groups(ballots, candidates, weights)
    n = len(candidates)
    index = {c: i for i, c in enumerate(candidates)}
    d = [[0] * n for _ in range(n)]
    for ranking, w in groups.items():
        ranked = [index[c] for c in ranking]
        unranked = [i for i in range(n) if candidates[i] not in set(ranking)]
        for k, x in enumerate(ranked):
            row = d[x]
            for y in ranked[k + 1 :]:
                row[y] += w
            for y in unranked:
                row[y] += w
    p = [[max(d[x][y] - d[y][x], 0) if x != y else 0 for y in range(n)] for x in range(n)]
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            pji = p[j][i]
            if pji == 0:
                continue
            row = p[j]
            for k in range(n):
                if k != i and k != j:
                    via = min(pji, p[i][k])
                    if via > row[k]:
                        row[k] = via
    wins = [sum(1 for y in range(n) if p[x][y] > p[y][x]) for x in range(n)]
    order = sorted(range(n), key=lambda x: (-wins[x], pos[candidates[x]]))
    ranking = tuple(candidates[x] for x in order)
    unbeaten = [candidates[x] for x in order if not any(p[y][x] > p[x][y] for y in range(n))]
    tied = [[candidates[x] for x in order if wins[x] == k] for k in sorted(set(wins), reverse=True)]
    ties = tuple(f"lot ordered the tied group {g!r}" for g in tied if len(g) > 1)
    details = {
        "valid": sum(groups.values()),
        "blank": blank,
        "pairwise": {a: {b: d[index[a]][index[b]] for b in candidates} for a in candidates},
        "strongest_paths": {a: {b: p[index[a]][index[b]] for b in candidates} for a in candidates},
        "unbeaten": unbeaten,
        "groups": tied,
    }
    winners = ranking[:1] if groups else ()
    return Result("schulze", winners, ranking=ranking, details=details, ties=ties)
