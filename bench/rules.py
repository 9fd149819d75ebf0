"""Counting-rules benchmark: prints JSON comparing our Method of Equal Shares with pabutools'.

A realistic participatory budget (the shape of Wieliczka's 2023 green budget, synthetic): V voters
(default 10,000), P projects (default 60) a budget of 300 per voter, projects costing
2/300 to 28/300 of it (about three budgets in all), each voter approving 1–10 projects drawn with skewed popularity (seeded).
Timed in the same run, on the same instance:

- ``mes_add1_greedy_s``: ``crypto.rules.mes`` (cost utilities, add1, greedy completion);
- ``pabutools_mes_add1_s``: pabutools' ``method_of_equal_shares(Cost_Sat, voter_budget_increment=1)``
  then its greedy completion, on the same instance with the budget rounded down to a multiple of V
  (where pabutools' add1 and equalshares.net's coincide), with our tie-break;
- ``ratio``: pabutools' time / ours (goal: ≥ 1, ours no slower), and whether the outcomes agree.

Also ``irv_s``, ``stv_s`` and ``schulze_s`` on 10,000 ranked ballots of 10 candidates, for scale.

    python bench/rules.py [--voters 10000] [--projects 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crypto.rules import irv, mes, schulze, stv  # noqa: E402


def instance(voters: int, projects: int, seed: int):
    rng = random.Random(seed)
    # Wieliczka 2023 (green budget): about 300 zł per voter, projects worth three budgets
    budget = 300 * voters
    costs = [rng.randint(2, 28) * budget // (5 * projects) for _ in range(projects)]
    popularity = [rng.paretovariate(1.2) for _ in range(projects)]
    ballots = []
    for _ in range(voters):
        k = rng.randint(1, 10)
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(rng.choices(range(projects), weights=popularity)[0])
        ballots.append(sorted(chosen))
    return costs, budget, ballots


def pabutools_mes(costs, budget, ballots):
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
    from pabutools.tiebreaking import TieBreakingRule

    counts = [0] * len(costs)
    for b in ballots:
        for p in b:
            counts[p] += 1
    projects = [Project(str(i), c) for i, c in enumerate(costs)]
    inst = Instance(projects, budget_limit=budget)
    profile = ApprovalProfile([ApprovalBallot([projects[p] for p in b]) for b in ballots])
    tie = TieBreakingRule(lambda i, pr, p: (p.cost, -counts[int(p.name)], int(p.name)))
    start = time.perf_counter()
    outcome = method_of_equal_shares(
        inst, profile, sat_class=Cost_Sat, tie_breaking=tie, voter_budget_increment=1
    )
    outcome = greedy_utilitarian_welfare(
        inst, profile, sat_class=Cost_Sat, tie_breaking=tie, initial_budget_allocation=list(outcome)
    )
    return time.perf_counter() - start, {int(p.name) for p in outcome if counts[int(p.name)] > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    costs, budget, ballots = instance(args.voters, args.projects, args.seed)

    start = time.perf_counter()
    ours = mes(ballots, costs, budget)
    ours_s = time.perf_counter() - start
    theirs_s, theirs = pabutools_mes(costs, budget, ballots)

    rng = random.Random(args.seed)
    ranked = []
    for _ in range(10_000):
        order = list(range(10))
        rng.shuffle(order)
        ranked.append(order[: rng.randint(1, 10)])
    timings = {}
    for name, run in (
        ("irv_s", lambda: irv(ranked, list(range(10)))),
        ("stv_s", lambda: stv(ranked, list(range(10)), 3)),
        ("schulze_s", lambda: schulze(ranked, list(range(10)))),
    ):
        start = time.perf_counter()
        run()
        timings[name] = round(time.perf_counter() - start, 3)

    print(
        json.dumps(
            {
                "voters": args.voters,
                "projects": args.projects,
                "budget": budget,
                "funded": len(ours.winners),
                "add1_increments": ours.details["increments"],
                "mes_add1_greedy_s": round(ours_s, 3),
                "pabutools_mes_add1_s": round(theirs_s, 3),
                "ratio": round(theirs_s / ours_s, 2),
                "same_outcome": set(ours.winners) == theirs,
                **timings,
            }
        )
    )


if __name__ == "__main__":
    main()
