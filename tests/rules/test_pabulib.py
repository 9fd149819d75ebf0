"""The .pb reader and writer: round trips, pabulib-checker's verdict, and clear errors."""

from __future__ import annotations

import random

import pytest

from crypto.rules import greedy, mes
from crypto.rules.pabulib import PabulibError, read_pb, write_pb
from tests.rules.generators import budget_instance

META = {
    "description": "Pnyx test budget",
    "country": "Poland",
    "unit": "Wieliczka",
    "instance": "2023",
    "rule": "equalshares/add1",
    "date_begin": "01.05.2023",
    "date_end": "31.05.2023",
}


def _file(seed: int, rule: str = "greedy") -> tuple[str, list, int, list, object]:
    rng = random.Random(seed)
    costs, budget, ballots = budget_instance(rng)
    # pabulib-checker flags a project dearer than the budget, and a budget that funds them all
    while max(costs) > budget or sum(costs) <= budget:
        costs, budget, ballots = budget_instance(rng)
    if rule == "greedy":
        outcome = greedy(ballots, costs, budget)
    else:
        outcome = mes(ballots, costs, budget, completion="add1")  # pabulib's "equalshares/add1"
    ids = [str(i + 1) for i in range(len(costs))]
    meta = {**META, "rule": rule}
    text = write_pb(meta, ids, costs, budget, ballots, selected=list(outcome.winners))
    return text, costs, budget, ballots, outcome


def test_round_trip():
    for seed in range(30):
        text, costs, budget, ballots, outcome = _file(seed)
        pb = read_pb(text)
        assert list(pb.costs) == costs and pb.budget == budget
        assert [list(a) for a in pb.approvals] == ballots
        assert pb.selected() == sorted(outcome.winners) and pb.rule == "greedy"
        assert read_pb(text.encode()) == pb


def test_written_files_pass_pabulib_checker():
    """pabulib-checker validates the format and recomputes the greedy selection (its greedy
    breaks equal counts by file order, ours by cost: compared where counts differ)."""
    from pabulib.checker import Checker

    compared = 0
    for seed in range(200):
        text, costs, budget, ballots, outcome = _file(seed)
        counts = outcome.details["counts"]
        if len(set(counts)) < len(counts):
            continue
        compared += 1
        report = Checker().process_files([text])
        assert report["metadata"] == {"processed": 1, "valid": 1, "invalid": 0}, report
    assert compared > 20
    broken = _file(0)[0].replace("num_votes;", "num_votes;9")
    assert Checker().process_files([broken])["metadata"]["invalid"] == 1


def test_mes_add1_agrees_with_pabulib_checker():
    """pabulib-checker recomputes "equalshares/add1" and compares it with the selected column.
    Its add1 never stops on an exhaustive outcome (ours, pabutools' and equalshares.net's do),
    and it refuses ties that cost and approvals do not settle: we compare where neither matters,
    i.e. where our add1 stopped because the next endowment went over budget."""
    from pabulib.checker import Checker

    compared = 0
    for seed in range(1500):
        text, costs, budget, ballots, outcome = _file(seed, "equalshares/add1")
        if outcome.details["add1_stopped"] != "over budget":
            continue
        report = Checker().process_files([text])
        errors = report[1]["results"]["errors"]
        if any("tie-breaking failed" in str(e) for e in errors.values()):
            continue
        assert report["metadata"]["valid"] == 1, (report, costs, budget, ballots)
        compared += 1
    assert compared > 20


BROKEN = [
    ("", "META section is missing"),
    ("PROJECTS\n", "expected section META"),
    ("META\nkey;value\nbudget;10\n", "PROJECTS section is missing"),
    (
        "META\nbudget;x\nvote_type;approval\nnum_projects;0\nnum_votes;0\nPROJECTS\nproject_id;cost\nVOTES\nvoter_id;vote\n",
        "not a non-negative integer",
    ),
    (
        "META\nbudget;10\nvote_type;ordinal\nnum_projects;0\nnum_votes;0\nPROJECTS\nproject_id;cost\nVOTES\nvoter_id;vote\n",
        "not supported",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;1\nPROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;vote\n1;2\n",
        "unknown project",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;2\nnum_votes;0\nPROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;vote\n",
        "num_projects",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;0\nPROJECTS\nproject_id\n1\nVOTES\nvoter_id;vote\n",
        "lacks 'cost'",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;1\nPROJECTS\nproject_id;cost\n1;5;9\nVOTES\nvoter_id;vote\n1;1\n",
        "cells",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;2\nPROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;vote\n1;1\n1;1\n",
        "repeated",
    ),
    (
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;1\nPROJECTS\nproject_id;cost\n1;-5\nVOTES\nvoter_id;vote\n1;1,1\n",
        "non-negative",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_bad_files_raise_clear_errors(text, message):
    with pytest.raises(PabulibError, match=message):
        read_pb(text)


def test_bad_encoding_and_empty_votes():
    with pytest.raises(PabulibError, match="UTF-8"):
        read_pb(b"\xff\xfe")
    pb = read_pb(
        "META\nbudget;10\nvote_type;approval\nnum_projects;1\nnum_votes;1\n"
        "PROJECTS\nproject_id;cost\n1;0\nVOTES\nvoter_id;vote\n7;\n"
    )
    assert pb.approvals == ((),) and pb.costs == (0,)
