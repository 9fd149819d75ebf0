"""Score questions (docs/protocol.md §5.5): each option encrypts a score in [0, S] with a range
proof (a disjunctive Chaum–Pedersen proof over S + 1 values, tag ``score``), an optional bound on
the total score (a sum proof), homomorphic totals decoded with the bound S·W (§12.4)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.ballot import (
    MAX_SCORE,
    Ballot,
    ElectionSpec,
    QuestionSpec,
    answer_ciphertexts,
    ballot_audit,
    ballot_encrypt,
    ballot_verify,
    encrypt_score_with_proof,
)
from crypto.dlog import DlogTable
from crypto.elgamal import Ciphertext, decrypt_to_point, encrypt
from crypto.errors import CryptoError, InvalidBallot, InvalidEncoding, InvalidProof
from crypto.group import Q, Scalar
from crypto.hashing import Tag
from crypto.proofs.disjunctive import DisjunctiveProof, prove_membership, verify_membership
from crypto.tally import Aggregator, result_bound
from tests.crypto.tamper import field_mutations, other_point, replaced
from tests.strategies import score_question_with_scores

FINGERPRINT = hashlib.sha256(b"pnyx score election").hexdigest()
OTHER = hashlib.sha256(b"another election").hexdigest()
BINDING = {"credential": "04ab", "option": 2, "question": 1}


def values(s: int) -> tuple[int, ...]:
    return tuple(range(s + 1))


def check(proof, key, ct, s, *, tag=Tag.SCORE, context=FINGERPRINT, binding=BINDING, vals=None):
    verify_membership(
        proof,
        tag=tag,
        context=context,
        key=key,
        ciphertexts=(ct,),
        values=values(s) if vals is None else vals,
        binding=binding,
    )


# --- The range proof --------------------------------------------------------------------------


@pytest.mark.parametrize("s", range(1, MAX_SCORE + 1))
def test_every_score_from_0_to_s_proves_and_verifies(election_key, secret_key, s):
    question = QuestionSpec(3, 0, 3 * s, max_score=s)
    for m in range(s + 1):
        ct, r, proof = encrypt_score_with_proof(question, election_key, FINGERPRINT, m, BINDING)
        assert len(proof.commitments) == s + 1
        check(proof, election_key, ct, s)
        assert DlogTable(s + 1).solve(decrypt_to_point(secret_key, ct)) == m


def test_every_field_of_a_score_proof_is_bound(election_key):
    s = 4
    question = QuestionSpec(2, 0, 8, max_score=s)
    ct, _, proof = encrypt_score_with_proof(question, election_key, FINGERPRINT, 3, BINDING)
    mutations = list(field_mutations(proof))
    assert len(mutations) == 4 * (s + 1)  # 2 commitments, 1 challenge, 1 response per branch
    for _path, bad in mutations:
        with pytest.raises(InvalidProof):
            check(bad, election_key, ct, s)


def test_the_statement_is_bound(election_key):
    """Another ciphertext, context, binding, tag, value set or key: the challenge changes."""
    s = 5
    question = QuestionSpec(2, 0, 10, max_score=s)
    ct, _, proof = encrypt_score_with_proof(question, election_key, FINGERPRINT, 2, BINDING)
    check(proof, election_key, ct, s)
    with pytest.raises(InvalidProof):
        check(proof, election_key, Ciphertext(ct.alpha, other_point(ct.beta)), s)
    with pytest.raises(InvalidProof):
        check(proof, election_key, Ciphertext(other_point(ct.alpha), ct.beta), s)
    with pytest.raises(InvalidProof):
        check(proof, election_key, ct, s, context=OTHER)
    for field, value in (("option", 3), ("question", 0), ("credential", "04cd")):
        with pytest.raises(InvalidProof):
            check(proof, election_key, ct, s, binding={**BINDING, field: value})
    for tag in (Tag.SELECTION, Tag.SUM, Tag.BUDGET_BIT):
        with pytest.raises(InvalidProof):
            check(proof, election_key, ct, s, tag=tag)
    with pytest.raises(InvalidProof):  # same branch count, other values
        check(proof, election_key, ct, s, vals=tuple(range(1, s + 2)))
    with pytest.raises(InvalidProof):  # another S: wrong number of branches
        check(proof, election_key, ct, s + 1)
    from crypto.elgamal import keygen

    with pytest.raises(InvalidProof):
        check(proof, keygen()[1], ct, s)


@pytest.mark.parametrize("s", [1, 3, 10])
@pytest.mark.parametrize("outside", ["above", "negative", "far"])
def test_an_out_of_range_score_has_no_verifying_proof(election_key, s, outside):
    """A ciphertext of S + 1, of −1 (q − 1) or of a large value: the honest prover's algorithm,
    claiming any value of [0, S], gives a proof that fails; the API refuses to start."""
    m = {"above": s + 1, "negative": Q - 1, "far": 1000}[outside]
    r = Scalar.random()
    ct, _ = encrypt(election_key, m, r)
    for claimed in range(s + 1):
        proof = prove_membership(
            tag=Tag.SCORE,
            context=FINGERPRINT,
            key=election_key,
            ciphertexts=(ct,),
            randomness=r,
            plaintext=claimed,
            values=values(s),
            binding=BINDING,
        )
        with pytest.raises(InvalidProof):
            check(proof, election_key, ct, s)
    question = QuestionSpec(1, 0, s, max_score=s)
    for bad in (s + 1, -1):
        with pytest.raises(InvalidBallot):
            encrypt_score_with_proof(question, election_key, FINGERPRINT, bad, BINDING)
    with pytest.raises(CryptoError):
        prove_membership(
            tag=Tag.SCORE,
            context=FINGERPRINT,
            key=election_key,
            ciphertexts=(ct,),
            randomness=r,
            plaintext=s + 1,
            values=values(s),
            binding=BINDING,
        )


@settings(max_examples=25, deadline=None)
@given(s=st.integers(1, MAX_SCORE), data=st.data())
def test_property_score_proofs_complete_and_bound_to_their_ciphertext(
    election_key, secret_key, s, data
):
    m = data.draw(st.integers(0, s))
    other = data.draw(st.integers(0, s).filter(lambda x: x != m) if s else st.nothing())
    question = QuestionSpec(1, 0, s, max_score=s)
    ct, _, proof = encrypt_score_with_proof(question, election_key, FINGERPRINT, m, BINDING)
    check(proof, election_key, ct, s)
    ct2, _, proof2 = encrypt_score_with_proof(question, election_key, FINGERPRINT, other, BINDING)
    with pytest.raises(InvalidProof):  # a valid proof of another ciphertext
        check(proof2, election_key, ct, s)
    assert DisjunctiveProof.from_json(proof.to_json(), size=s + 1) == proof


# --- Question shape ---------------------------------------------------------------------------


def test_score_question_shape():
    q = QuestionSpec(4, 0, 20, max_score=5)
    assert q.choice_values == (0, 1, 2, 3, 4, 5)
    assert q.choice_tag == Tag.SCORE
    assert q.sum_values is None and not q.implicit_last and q.encrypted_options == 4
    capped = QuestionSpec(4, 0, 7, max_score=5)  # a max total score
    assert capped.sum_values == tuple(range(8))
    exact = QuestionSpec(3, 6, 6, max_score=2)  # never exact-count: every option is listed
    assert not exact.implicit_last and exact.encrypted_options == 3 and exact.sum_values == (6,)
    assert QuestionSpec.from_json(capped.to_json()) == capped
    assert "max_score" not in QuestionSpec(3, 0, 3).to_json()


@pytest.mark.parametrize(
    "args",
    [
        dict(options=3, min_selections=0, max_selections=3, max_score=0),
        dict(options=3, min_selections=0, max_selections=33, max_score=11),
        dict(options=3, min_selections=0, max_selections=16, max_score=5),  # > n·S
        dict(options=3, min_selections=4, max_selections=3, max_score=5),
        dict(options=3, min_selections=0, max_selections=15, max_score=2.5),
        dict(options=2, min_selections=0, max_selections=2, max_score=1, costs=(1, 2), budget=3),
    ],
)
def test_bad_score_shapes_are_refused(args):
    with pytest.raises(InvalidEncoding):
        QuestionSpec(**args)


def test_spec_json_refuses_null_max_score():
    with pytest.raises(InvalidEncoding):
        QuestionSpec.from_json(
            {"options": 2, "min": 0, "max": 2, "costs": None, "budget": None, "max_score": None}
        )


# --- Ballots ----------------------------------------------------------------------------------


def spec_with(election_key, *questions) -> ElectionSpec:
    return ElectionSpec(FINGERPRINT, election_key, tuple(questions))


def test_a_score_ballot_verifies_and_audits(election_key, voter_key):
    score = QuestionSpec(4, 0, 40, max_score=10)
    approval = QuestionSpec(3, 0, 2)
    spec = spec_with(election_key, score, approval)
    ballot, secrets = ballot_encrypt(spec, voter_key, [[0, 10, 7, 3], [1, 0, 1]])
    ballot_verify(ballot, spec)
    ballot_verify(Ballot.from_json(ballot.to_json()), spec)
    assert ballot_audit(ballot, spec, secrets) == [[0, 10, 7, 3], [1, 0, 1]]
    assert [len(p.commitments) for p in ballot.answers[0].choice_proofs] == [11] * 4
    assert ballot.answers[0].sum_proof is None


@pytest.mark.parametrize(
    "scores, message",
    [
        ([0, 6, 0], "each from 0 to 5"),
        ([0, -1, 0], "each from 0 to 5"),
        ([1, 2], "expected 3 scores"),
        ([5, 5, 1], "add up to between 1 and 10"),
        ([0, 0, 0], "add up to between 1 and 10"),
    ],
)
def test_invalid_scores_are_refused_before_encryption(election_key, voter_key, scores, message):
    spec = spec_with(election_key, QuestionSpec(3, 1, 10, max_score=5))
    with pytest.raises(InvalidBallot, match=message):
        ballot_encrypt(spec, voter_key, [scores])


def test_max_total_score_is_proven(election_key, voter_key):
    capped = QuestionSpec(3, 0, 6, max_score=5)
    spec = spec_with(election_key, capped)
    ballot, _ = ballot_encrypt(spec, voter_key, [[5, 0, 1]])
    ballot_verify(ballot, spec)
    assert len(ballot.answers[0].sum_proof.commitments) == 7
    # the same ballot under an uncapped question (no sum proof expected) is refused by shape
    loose = spec_with(election_key, QuestionSpec(3, 0, 15, max_score=5))
    with pytest.raises(InvalidBallot, match="unexpected sum proof"):
        ballot_verify(ballot, loose)


def test_score_ballot_with_the_wrong_proof_kind_is_refused(election_key, voter_key):
    """A selection proof (2 branches) where a score proof is due, a score proof of another S, and
    a score ballot presented for an approval question: refused."""
    score = QuestionSpec(2, 0, 2, max_score=1)
    approval = QuestionSpec(2, 0, 2)
    ballot_s, _ = ballot_encrypt(spec_with(election_key, score), voter_key, [[1, 0]])
    ballot_a, _ = ballot_encrypt(spec_with(election_key, approval), voter_key, [[1, 0]])
    # S = 1 and approval have the same value set: only the tag tells them apart
    with pytest.raises(InvalidProof):
        ballot_verify(ballot_s, spec_with(election_key, approval))
    with pytest.raises(InvalidProof):
        ballot_verify(ballot_a, spec_with(election_key, score))
    with pytest.raises(InvalidBallot, match="3 branches"):
        ballot_verify(ballot_s, spec_with(election_key, QuestionSpec(2, 0, 4, max_score=2)))


def test_a_swapped_score_ciphertext_is_refused(election_key, voter_key):
    spec = spec_with(election_key, QuestionSpec(3, 0, 9, max_score=3))
    ballot, _ = ballot_encrypt(spec, voter_key, [[3, 0, 1]])
    answer = ballot.answers[0]
    swapped = replaced(
        answer,
        choices=(answer.choices[1], answer.choices[0], answer.choices[2]),
        choice_proofs=(answer.choice_proofs[1], answer.choice_proofs[0], answer.choice_proofs[2]),
    )
    with pytest.raises(InvalidProof):  # the proofs name their option
        ballot_verify(replaced(ballot, answers=(swapped,)), spec)


def test_audit_refuses_an_out_of_range_opening(election_key, voter_key):
    spec = spec_with(election_key, QuestionSpec(2, 0, 4, max_score=2))
    ballot, secrets = ballot_encrypt(spec, voter_key, [[2, 1]])
    r = Scalar.random()
    bad_ct, _ = encrypt(election_key, 3, r)
    answer = replaced(ballot.answers[0], choices=(bad_ct, ballot.answers[0].choices[1]))
    from crypto.ballot import BallotSecrets

    forged = BallotSecrets([[r, secrets.choices[0][1]]], [None])
    with pytest.raises(InvalidProof, match="score from 0 to 2"):
        ballot_audit(replaced(ballot, answers=(answer,)), spec, forged)


@settings(max_examples=15, deadline=None)
@given(shape=score_question_with_scores(), weights=st.lists(st.integers(1, 5), min_size=1))
def test_property_score_ballots_verify_audit_and_sum(
    election_key, secret_key, voter_key, shape, weights
):
    """Any score question and valid scores: the ballot verifies, its audit opens the scores, and
    the weighted homomorphic totals decrypt (bound S·W) to the weighted sums."""
    question, scores = shape
    spec = spec_with(election_key, question)
    ballot, secrets = ballot_encrypt(spec, voter_key, [scores])
    ballot_verify(ballot, spec)
    assert ballot_audit(ballot, spec, secrets) == [scores]
    assert list(answer_ciphertexts(ballot.answers[0], question)) == list(ballot.answers[0].choices)
    weights = weights[:4]
    agg = Aggregator(spec)
    for w in weights:
        agg.add(ballot, w)
    bound = result_bound(spec.questions, sum(weights))
    assert bound == question.max_score * sum(weights) + 1
    table = DlogTable(bound)
    totals = [table.solve(decrypt_to_point(secret_key, ct)) for ct in agg.totals()]
    assert totals == [x * sum(weights) for x in scores]


def test_result_bound_without_score_questions():
    assert result_bound((QuestionSpec(3, 0, 3),), 7) == 8
    assert result_bound((QuestionSpec(3, 0, 3), QuestionSpec(2, 0, 4, max_score=2)), 7) == 15


@settings(max_examples=20, deadline=None)
@given(
    s=st.integers(1, MAX_SCORE),
    k=st.integers(1, 50),
    above=st.booleans(),
    data=st.data(),
)
def test_property_no_out_of_range_score_verifies(election_key, s, k, above, data):
    """Any ciphertext of S + k or of −k (q − k): the honest prover's algorithm claiming any value
    of [0, S] yields a proof that fails."""
    m = s + k if above else Q - k
    claimed = data.draw(st.integers(0, s))
    r = Scalar.random()
    ct, _ = encrypt(election_key, m, r)
    proof = prove_membership(
        tag=Tag.SCORE,
        context=FINGERPRINT,
        key=election_key,
        ciphertexts=(ct,),
        randomness=r,
        plaintext=claimed,
        values=values(s),
        binding=BINDING,
    )
    with pytest.raises(InvalidProof):
        check(proof, election_key, ct, s)
