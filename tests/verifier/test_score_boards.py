"""pnyx-verify on boards with score questions (§5.5, §12.4): a valid election verifies with the
weighted score totals (above the counted weight: the discrete logarithms are bounded by S·W); a
tampered total and a ballot whose score proofs are swapped are rejected, naming the entry."""

from __future__ import annotations

import copy
import json

import pytest

from crypto.board import BoardEntry
from crypto.errors import InvalidEncoding
from crypto.manifest import Manifest
from tests.verifier.boardgen import APPROVAL, SCORE, SCORE_CAPPED, full_election
from tests.verifier.test_verifier import index_of, rechain, run_cli, with_payload, write


@pytest.fixture(scope="module")
def election():
    return full_election(
        voters=6,
        questions=[SCORE, SCORE_CAPPED, APPROVAL],
        revotes=(0,),
        audits=1,
        weights=lambda i: 2 + i,
    )


def verify(tmp_path, entries) -> tuple[int, dict]:
    code, out = run_cli(write(tmp_path, entries), "--json")
    return code, json.loads(out)


def test_a_score_election_verifies_with_its_totals(tmp_path, election):
    code, report = verify(tmp_path, election.entries)
    assert code == 0, report["failure"]
    assert report["result_verified"] and report["counted"] == 6
    counts = [list(q["counts"].values()) for q in report["result"]["questions"]]
    assert counts == election.expected_counts() == election.counts
    assert max(election.counts[0]) > report["counted_weight"]


def test_a_changed_score_total_is_rejected(tmp_path, election):
    def bump(payload):
        payload["counts"][0][1] += 1

    code, report = verify(
        tmp_path, with_payload(election.entries, index_of(election.entries, "result"), bump)
    )
    assert code == 1 and "counts should be" in report["failure"]["reason"], report["failure"]


def test_swapped_score_proofs_are_rejected(tmp_path, election):
    i = index_of(election.entries, "ballot")
    entries = list(election.entries)
    e = entries[i]
    payload = copy.deepcopy(e.payload)
    proofs = payload["ballot"]["answers"][0]["choice_proofs"]
    proofs[0], proofs[1] = proofs[1], proofs[0]
    entries[i] = BoardEntry(e.election, e.seq, e.kind, e.time, e.prev, payload, e.hash)
    code, report = verify(tmp_path, rechain(entries, i))
    assert code == 1 and report["failure"]["seq"] == e.seq, report["failure"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda q: q.pop("max_score"), "only it, has max_score"),
        (lambda q: q.update(max_score=None), "max_score"),
        (lambda q: q.update(max_score=11), "max_score"),
        (lambda q: q.update(max_score=0), "max_score"),
        (lambda q: q.update(max_score="10"), "max_score"),
        (lambda q: q.update(max=31), "max"),
        (lambda q: q.update(kind="approval"), "only it, has max_score"),
        (lambda q: q["options"][0].update(cost=5), "only budget questions have costs"),
    ],
)
def test_manifests_with_bad_score_questions_are_refused(election, change, message):
    data = copy.deepcopy(election.manifest.data)
    assert Manifest.from_json(data).questions[0].max_score == 10
    change(data["questions"][0])
    with pytest.raises(InvalidEncoding, match=message):
        Manifest.from_json(data)


def test_only_score_questions_carry_max_score(election):
    data = copy.deepcopy(election.manifest.data)
    data["questions"][2]["max_score"] = 2  # the approval question
    with pytest.raises(InvalidEncoding, match="only it, has max_score"):
        Manifest.from_json(data)
