"""Score questions in the voting app: the officials' checks, the manifest, casting (accepted, and
every bad input refused with a clear 4xx and the board unmoved), audits showing the scores."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crypto.ballot import Ballot as CryptoBallot
from crypto.ballot import QuestionSpec
from crypto.elgamal import encrypt
from crypto.group import Q, Scalar
from crypto.hashing import Tag, canonical_json
from crypto.proofs.disjunctive import encrypt_bit_with_proof, prove_membership
from crypto.signatures import sign
from tests.voting.factories import (
    SCORES,
    board_head_of,
    build_election,
    login,
    make_election,
)
from tests.voting.test_voting_casting import assert_rejected, audit, cast
from voting.models import Option, Question, QuestionKind
from voting.services.manifest import (
    ballot_size_estimate,
    question_problems,
    question_spec,
    questions_json,
)

pytestmark = pytest.mark.django_db

GOOD = [[10, 0, 7], [3, 0, 1, 1]]


def resign(election, data: dict, voter: int = 0) -> str:
    unsigned = CryptoBallot.from_json(data)
    data["signature"] = sign(
        election.voters[voter].key, unsigned.content_digest(), context=unsigned.election
    ).to_json()
    return json.dumps(data)


# --- Officials' checks and the manifest ------------------------------------------------------


def _question(kind=QuestionKind.SCORE, n=3, **fields) -> tuple[Question, list[Option]]:
    election = make_election(questions=[])
    question = Question.objects.create(election=election, kind=kind, title="Rate", **fields)
    options = [
        Option.objects.create(question=question, position=i, title=f"O{i}") for i in range(n)
    ]
    return question, options


@pytest.mark.parametrize(
    "fields, n, problem",
    [
        ({}, 3, "set the maximum score"),
        ({"max_score": 11}, 3, "set the maximum score"),
        ({"max_score": 5, "max_selections": 16}, 3, "≤ 15"),
        ({"max_score": 5, "min_selections": 4, "max_selections": 3}, 3, "minimum ≤ maximum"),
        ({"max_score": 5, "max_selections": 0}, 3, "at least 1"),
        ({"max_score": 5}, 1, "at least two options"),
        ({"max_score": 10, "max_selections": 1500}, 200, "below 1024"),
    ],
)
def test_officials_are_told_what_to_fix(fields, n, problem):
    question, options = _question(n=n, **fields)
    problems = question_problems(question, options)
    assert any(problem in p for p in problems), problems


def test_only_score_questions_have_a_maximum_score():
    question, options = _question(kind=QuestionKind.APPROVAL, max_score=3)
    assert any("only score questions" in p for p in question_problems(question, options))


def test_a_score_question_in_the_manifest():
    question, options = _question(max_score=4, max_selections=6)
    assert question_problems(question, options) == []
    assert question_spec(question, options) == QuestionSpec(3, 0, 6, max_score=4)
    (q,) = questions_json(question.election)
    assert (q["kind"], q["min"], q["max"], q["max_score"], q["budget"]) == ("score", 0, 6, 4, None)
    # no limit on the total: max = n·S and no sum proof; 200 options × 10 is allowed
    big, big_options = _question(n=200, max_score=10)
    assert question_problems(big, big_options) == []
    assert question_spec(big, big_options).sum_values is None


def test_other_kinds_have_no_max_score_in_the_manifest():
    question, _ = _question(kind=QuestionKind.APPROVAL)
    (q,) = questions_json(question.election)
    assert "max_score" not in q


# --- Casting ---------------------------------------------------------------------------------


@pytest.fixture
def scored(open_election_factory):
    return open_election_factory(questions=SCORES, voters=2)


def test_a_score_ballot_is_cast_and_audited(client, scored):
    login(client, scored.voters[0])
    assert scored.manifest.data["questions"][0]["max_score"] == 10
    ballot = scored.ballot(0, GOOD)
    response = audit(client, scored, ballot, scored.secrets[ballot.tracker()])
    assert response.status_code == 201, response.content
    plaintexts = response.json()["plaintexts"]
    assert plaintexts[0]["selections"] == [
        {"option": "q1o1", "score": 10},
        {"option": "q1o2", "score": 0},
        {"option": "q1o3", "score": 7},
    ]
    assert [s["score"] for s in plaintexts[1]["selections"]] == [3, 0, 1, 1]
    response = cast(client, scored, scored.ballot(0, GOOD))
    assert response.status_code == 201, response.content


def test_a_proof_with_the_wrong_number_of_branches(client, scored):
    """A 0/1 selection proof where an 11-branch score proof is due: invalid_ballot, named."""
    login(client, scored.voters[0])
    data = scored.ballot(0, GOOD).to_json()
    ct, _, proof = encrypt_bit_with_proof(
        tag=Tag.SELECTION,
        context=scored.manifest.fingerprint,
        key=scored.manifest.key,
        bit=1,
        binding={"credential": scored.voters[0].credential_hex, "option": 1, "question": 0},
    )
    data["answers"][0]["choices"][1] = ct.to_json()
    data["answers"][0]["choice_proofs"][1] = proof.to_json()
    head = board_head_of(scored.election)
    error = assert_rejected(
        cast(client, scored, resign(scored, data)), 400, "invalid_ballot", head, scored
    )
    assert "question 1 option 2" in error["message"] and "11 branches" in error["message"]


@pytest.mark.parametrize("value", [11, -1, 12])
def test_an_out_of_range_score_is_refused(client, scored, value):
    """A ciphertext of S + 1 (or −1, or S + 2) with the honest prover's proof claiming 10: the
    proof does not verify, invalid_proof names the option, the board does not move."""
    login(client, scored.voters[0])
    data = scored.ballot(0, GOOD).to_json()
    r = Scalar.random()
    ct, _ = encrypt(scored.manifest.key, value % Q, r)
    proof = prove_membership(
        tag=Tag.SCORE,
        context=scored.manifest.fingerprint,
        key=scored.manifest.key,
        ciphertexts=(ct,),
        randomness=r,
        plaintext=10,
        values=tuple(range(11)),
        binding={"credential": scored.voters[0].credential_hex, "option": 0, "question": 0},
    )
    data["answers"][0]["choices"][0] = ct.to_json()
    data["answers"][0]["choice_proofs"][0] = proof.to_json()
    head = board_head_of(scored.election)
    error = assert_rejected(
        cast(client, scored, resign(scored, data)), 400, "invalid_proof", head, scored
    )
    assert "question 1 option 1: score proof" in error["message"]


def test_a_total_above_the_maximum_needs_a_sum_proof_that_cannot_exist(client, scored):
    """Question 2 allows a total of 1 to 5: a ballot without its sum proof is refused by shape,
    and one whose sum proof is moved from another ballot fails."""
    login(client, scored.voters[0])
    data = scored.ballot(0, GOOD).to_json()
    data["answers"][1]["sum_proof"] = None
    head = board_head_of(scored.election)
    error = assert_rejected(
        cast(client, scored, resign(scored, data)), 400, "invalid_ballot", head, scored
    )
    assert "question 2: missing or malformed sum proof" in error["message"]
    data = scored.ballot(0, GOOD).to_json()
    data["answers"][1]["sum_proof"] = scored.ballot(0, [[0, 0, 0], [3, 1, 1, 0]]).to_json()[
        "answers"
    ][1]["sum_proof"]
    assert_rejected(cast(client, scored, resign(scored, data)), 400, "invalid_proof", head, scored)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda a: a["choice_proofs"][0].update(responses=["zz"] * 11), id="hex"),
        pytest.param(lambda a: a["choice_proofs"][0]["challenges"].pop(), id="short-list"),
        pytest.param(lambda a: a["choice_proofs"][0].update(commitments=[]), id="no-branch"),
        pytest.param(
            lambda a: a["choice_proofs"][0].update(
                commitments=a["choice_proofs"][0]["commitments"] * 94
            ),
            id="too-many-branches",
        ),
        pytest.param(lambda a: a.update(choice_proofs=a["choice_proofs"][:2]), id="one-missing"),
    ],
)
def test_malformed_score_proofs_are_invalid_ballot(client, scored, mutate):
    login(client, scored.voters[0])
    data = scored.ballot(0, GOOD).to_json()
    mutate(data["answers"][0])
    head = board_head_of(scored.election)
    response = cast(client, scored, json.dumps(data))
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"] in ("invalid_ballot", "payload_too_large")
    assert board_head_of(scored.election) == head


def test_a_score_ballot_fits_the_size_estimate():
    election = build_election(questions=SCORES, voters=1)
    ballot = election.ballot(0, GOOD)
    size = len(canonical_json(ballot.to_json()))
    estimate = ballot_size_estimate(election.manifest.questions)
    assert size <= estimate < 1.5 * size


def test_the_election_api_shows_the_maximum_score(scored):
    data = Client().get(f"{scored.url}/").json()
    assert [q.get("max_score") for q in data["questions"]] == [10, 3]
