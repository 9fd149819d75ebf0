"""The .pb reader and writer: round trips, pabulib-checker's verdict, and clear errors."""

from __future__ import annotations

import random

import pytest

from crypto.rules import mes
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


def _file(seed: int) -> tuple[str, list, int, list, list]:
    rng = random.Random(seed)
    costs, budget, ballots = budget_instance(rng)
    while max(costs) > budget:  # pabulib-checker flags a project dearer than the budget
        costs, budget, ballots = budget_instance(rng)
    outcome = mes(ballots, costs, budget)
    ids = [str(i + 1) for i in range(len(costs))]
    text = write_pb(META, ids, costs, budget, ballots, selected=list(outcome.winners))
    return text, costs, budget, ballots, list(outcome.winners)


def test_round_trip():
    for seed in range(30):
        text, costs, budget, ballots, winners = _file(seed)
        pb = read_pb(text)
        assert list(pb.costs) == costs and pb.budget == budget
        assert [list(a) for a in pb.approvals] == ballots
        assert pb.selected() == sorted(winners) and pb.rule == "equalshares/add1"
        assert read_pb(text.encode()) == pb


def test_written_files_pass_pabulib_checker():
    from pabulib.checker import Checker

    for seed in range(5):
        text, *_ = _file(seed)
        report = Checker().process_files([text])
        assert report["metadata"] == {"processed": 1, "valid": 1, "invalid": 0}, report
    broken = _file(0)[0].replace("num_votes;", "num_votes;9")
    assert Checker().process_files([broken])["metadata"]["invalid"] == 1


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
