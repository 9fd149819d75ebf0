"""Seeded generators of random elections for the oracle tests (deterministic per seed)."""

from __future__ import annotations

import random


def ranked_profile(rng: random.Random, *, max_candidates: int = 6, max_voters: int = 30):
    """(candidates, rankings, weights): truncated rankings, some blank-free, small weights."""
    n = rng.randint(1, max_candidates)
    candidates = list(range(n))
    voters = rng.randint(1, max_voters)
    # a few ballot "types" repeated make profiles with structure (and rarer exact ties)
    types = []
    for _ in range(rng.randint(1, 8)):
        order = candidates[:]
        rng.shuffle(order)
        types.append(order[: rng.randint(1, n)])
    rankings = [list(rng.choice(types)) for _ in range(voters)]
    weights = [rng.choice((1, 1, 1, 2, 3, 7)) for _ in rankings]
    return candidates, rankings, weights


def score_profile(rng: random.Random, *, max_candidates: int = 5, max_voters: int = 25, s: int = 5):
    n = rng.randint(2, max_candidates)
    voters = rng.randint(1, max_voters)
    ballots = [[rng.randint(0, s) for _ in range(n)] for _ in range(voters)]
    return [f"c{i}" for i in range(n)], ballots


def budget_instance(rng: random.Random, *, max_projects: int = 8, max_voters: int = 40):
    m = rng.randint(1, max_projects)
    costs = [rng.choice((1, 2, 5, 10, 20, 50, 100)) * rng.randint(1, 9) for _ in range(m)]
    budget = rng.randint(0, sum(costs))
    voters = rng.randint(1, max_voters)
    ballots = []
    for _ in range(voters):
        k = rng.randint(1, m)
        ballots.append(sorted(rng.sample(range(m), k)))
    return costs, budget, ballots
