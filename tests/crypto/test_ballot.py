"""crypto.ballot: encryption, verification, audit and trackers of ballots, and tamper rejection."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.ballot import (
    Answer,
    Ballot,
    BallotSecrets,
    BudgetProof,
    ElectionSpec,
    QuestionSpec,
    _prove_budget,
    answer_ciphertexts,
    ballot_audit,
    ballot_encrypt,
    ballot_verify,
)
from crypto.dlog import discrete_log
from crypto.elgamal import decrypt_to_point, encrypt
from crypto.errors import (
    InvalidBallot,
    InvalidEncoding,
    InvalidProof,
    InvalidSignature,
)
from crypto.group import G, Q, Scalar, base_mul
from crypto.hashing import Tag, canonical_json, parse_json
from crypto.proofs.batch import BatchVerifier
from crypto.proofs.disjunctive import encrypt_bit_with_proof, prove_membership
from crypto.signatures import Signature, SigningKey, sign
from tests.crypto.tamper import (
    altered_leaf,
    is_64_hex,
    is_point_hex,
    json_get,
    json_leaves,
    json_set,
    replaced,
)
from tests.strategies import question_with_choices, valid_choices

FINGERPRINT = hashlib.sha256(b"pnyx test election").hexdigest()
OTHER_FINGERPRINT = hashlib.sha256(b"another election").hexdigest()

# The question shapes of the brief.
SINGLE = QuestionSpec(5, 1, 1)  # single choice without blank: exact count, implicit last option
REFERENDUM = QuestionSpec(2, 0, 1)  # yes / no with blank allowed
APPROVAL = QuestionSpec(20, 0, 5)
BUDGET = QuestionSpec(5, 0, 5, (10, 20, 30, 40, 50), 60)
BUDGET_MIN = QuestionSpec(4, 1, 2, (3, 5, 7, 9), 12)
BUDGET_ZERO = QuestionSpec(3, 0, 3, (5, 0, 7), 0)

SHAPES = {
    "single": (SINGLE, [[0, 0, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]),
    "referendum": (REFERENDUM, [[1, 0], [0, 1], [0, 0]]),
    "approval": (APPROVAL, [[0] * 20, [1] * 5 + [0] * 15, [0, 1] * 3 + [0] * 14]),
    "budget": (BUDGET, [[0] * 5, [1, 0, 0, 0, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 0]]),  # 60 = exact
    "budget-min": (BUDGET_MIN, [[1, 0, 0, 1], [0, 0, 0, 1], [1, 1, 0, 0]]),  # 12 = exact
    "budget-zero": (BUDGET_ZERO, [[0, 0, 0], [0, 1, 0]]),
}


def spec_for(*questions: QuestionSpec, key, fingerprint: str = FINGERPRINT) -> ElectionSpec:
    return ElectionSpec(fingerprint, key, tuple(questions))


def via_json(ballot: Ballot) -> Ballot:
    return Ballot.from_json(parse_json(ballot.canonical_bytes()))


def decrypt_all(sk, cts) -> list[int]:
    return [discrete_log(decrypt_to_point(sk, ct), 100) for ct in cts]


def resigned(ballot: Ballot, key: SigningKey) -> Ballot:
    """The ballot with ``key``'s credential and a valid signature by it (as a cheater would do)."""
    unsigned = replaced(ballot, credential=key.public)
    return replaced(
        unsigned, signature=sign(key, unsigned.content_digest(), context=ballot.election)
    )


@pytest.fixture(scope="module")
def full_spec(election_key):
    return spec_for(SINGLE, REFERENDUM, APPROVAL, BUDGET, BUDGET_ZERO, key=election_key)


FULL_CHOICES = [[0, 0, 1, 0, 0], [0, 0], [1, 0, 1, 0, 1] + [0] * 15, [1, 1, 1, 0, 0], [0, 1, 0]]


@pytest.fixture(scope="module")
def full_ballot(full_spec, election_uuid):
    from crypto.credentials import derive_signing_key, generate_code

    key = derive_signing_key(generate_code(), election_uuid)
    ballot, secrets = ballot_encrypt(full_spec, key, FULL_CHOICES)
    return ballot, secrets, key


# --- Question shapes --------------------------------------------------------------------------------


def test_question_shapes():
    assert SINGLE.implicit_last and SINGLE.encrypted_options == 4 and SINGLE.sum_values == (0, 1)
    assert not REFERENDUM.implicit_last and REFERENDUM.sum_values == (0, 1)
    assert QuestionSpec(2, 1, 1).implicit_last and QuestionSpec(2, 1, 1).sum_values == (0, 1)
    assert APPROVAL.sum_values == (0, 1, 2, 3, 4, 5) and APPROVAL.encrypted_options == 20
    assert QuestionSpec(4, 0, 4).sum_values is None
    assert QuestionSpec(4, 4, 4).sum_values == (3,)  # all selected: the 3 listed ones sum to 3
    assert QuestionSpec(4, 0, 0).sum_values == (0,)
    assert QuestionSpec(1, 1, 1).sum_values == (1,) and not QuestionSpec(1, 1, 1).implicit_last
    assert QuestionSpec(5, 3, 3).sum_values == (2, 3)
    assert not BUDGET.implicit_last and BUDGET.sum_values is None and BUDGET.budget_bits == 6
    assert not QuestionSpec(3, 1, 1, (1, 2, 3), 3).implicit_last  # costs: never exact-count
    assert BUDGET_ZERO.budget_bits == 1
    assert QuestionSpec(2, 0, 2, (2**40, 0), 2**40).budget_bits == 41


@pytest.mark.parametrize(
    "args",
    [
        (0, 0, 0),
        (3, 2, 1),
        (3, -1, 1),
        (3, 0, 4),
        (501, 0, 1),
        (3, 0, 3, (1, 2, 3), None),
        (3, 0, 3, None, 5),
        (3, 0, 3, (1, 2), 5),
        (3, 0, 3, (1, 2, -1), 5),
        (3, 0, 3, (1, 2, 2**40 + 1), 5),
        (3, 0, 3, (1, 2, 3), 2**40 + 1),
        (3, 0, 3, (1, 2, 3), -1),
        (3, 0, 3, (1, 2, 3.0), 5),
        (3.0, 0, 3),
        (True, 0, 1),
        (2000, 0, 1500),
    ],
)
def test_question_spec_validation(args):
    with pytest.raises(InvalidEncoding):
        QuestionSpec(*args)


def test_election_spec_validation(election_key):
    with pytest.raises(InvalidEncoding):
        ElectionSpec(FINGERPRINT.upper(), election_key, (SINGLE,))
    with pytest.raises(InvalidEncoding):
        ElectionSpec(FINGERPRINT, election_key, ())
    with pytest.raises(InvalidEncoding):
        ElectionSpec(FINGERPRINT, election_key, (SINGLE,) * 101)


# --- Round trips and audit ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_round_trip_audit_and_decryption(shape, keypair, signing_key):
    sk, pk = keypair
    question, all_choices = SHAPES[shape]
    spec = spec_for(question, key=pk)
    for choices in all_choices:
        ballot, secrets = ballot_encrypt(spec, signing_key, [choices])
        ballot_verify(ballot, spec)
        again = via_json(ballot)
        assert again == ballot
        ballot_verify(again, spec)
        assert again.tracker() == ballot.tracker()
        assert ballot_audit(again, spec, BallotSecrets.from_json(secrets.to_json())) == [choices]
        assert decrypt_all(sk, answer_ciphertexts(again.answers[0], question)) == choices
        answer = again.answers[0]
        assert len(answer.choices) == question.encrypted_options
        assert (answer.sum_proof is None) == (question.sum_values is None)
        assert (answer.budget_proof is None) == (question.budget is None)


def test_full_ballot(full_spec, full_ballot, secret_key):
    ballot, secrets, key = full_ballot
    assert ballot.credential == key.public
    assert ballot.election == FINGERPRINT
    ballot_verify(via_json(ballot), full_spec)
    assert ballot_audit(via_json(ballot), full_spec, secrets) == FULL_CHOICES
    for answer, question, choices in zip(
        ballot.answers, full_spec.questions, FULL_CHOICES, strict=True
    ):
        assert decrypt_all(secret_key, answer_ciphertexts(answer, question)) == choices


def test_implicit_last_option_is_derived(keypair, signing_key):
    sk, pk = keypair
    spec = spec_for(SINGLE, QuestionSpec(4, 2, 2), key=pk)
    ballot, secrets = ballot_encrypt(spec, signing_key, [[0, 0, 0, 0, 1], [0, 1, 0, 1]])
    assert [len(a.choices) for a in ballot.answers] == [4, 3]
    derived = answer_ciphertexts(ballot.answers[0], SINGLE)
    assert len(derived) == 5 and derived[:4] == ballot.answers[0].choices
    last = derived[4]
    rs = secrets.choices[0]
    assert last.alpha == -base_mul(sum(int(r) for r in rs))  # randomness −Σ r
    assert decrypt_all(sk, derived) == [0, 0, 0, 0, 1]
    assert decrypt_all(sk, answer_ciphertexts(ballot.answers[1], spec.questions[1])) == [0, 1, 0, 1]
    assert ballot_audit(ballot, spec, secrets) == [[0, 0, 0, 0, 1], [0, 1, 0, 1]]
    # a question that is not exact-count returns its ciphertexts unchanged
    assert answer_ciphertexts(ballot.answers[0], REFERENDUM) is ballot.answers[0].choices


@given(question_with_choices(max_options=6))
@settings(max_examples=40, deadline=None)
def test_any_valid_answer_round_trips(keypair, voter_key, question_and_choices):
    sk, pk = keypair
    question, choices = question_and_choices
    spec = spec_for(question, key=pk)
    ballot, secrets = ballot_encrypt(spec, voter_key, [choices])
    again = via_json(ballot)
    ballot_verify(again, spec)
    assert ballot_audit(again, spec, secrets) == [choices]
    assert decrypt_all(sk, answer_ciphertexts(again.answers[0], question)) == choices


@given(st.sampled_from(sorted(SHAPES)), st.data())
@settings(max_examples=40, deadline=None)
def test_random_valid_choices_for_each_shape(keypair, voter_key, shape, data):
    sk, pk = keypair
    question = SHAPES[shape][0]
    choices = data.draw(valid_choices(question), label="choices")
    question.check_choices(choices)
    spec = spec_for(question, key=pk)
    ballot, secrets = ballot_encrypt(spec, voter_key, [choices])
    ballot_verify(via_json(ballot), spec)
    assert ballot_audit(ballot, spec, secrets) == [choices]
    assert decrypt_all(sk, answer_ciphertexts(ballot.answers[0], question)) == choices


# --- Invalid choices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "choices"),
    [
        (SINGLE, [0, 0, 0, 0, 0]),  # min 1
        (SINGLE, [1, 0, 0, 0, 1]),  # max 1
        (SINGLE, [1, 0, 0, 0]),  # too short
        (SINGLE, [1, 0, 0, 0, 0, 0]),  # too long
        (SINGLE, [2, 0, 0, 0, 0]),
        (SINGLE, [-1, 1, 1, 0, 0]),
        (REFERENDUM, [1, 1]),
        (APPROVAL, [1] * 6 + [0] * 14),
        (BUDGET, [0, 0, 0, 1, 1]),  # 90 > 60
        (BUDGET, [0, 0, 1, 1, 0]),  # 70 > 60
        (BUDGET_MIN, [0, 0, 0, 0]),  # min 1
        (BUDGET_MIN, [0, 0, 1, 1]),  # 16 > 12
        (BUDGET_ZERO, [1, 0, 0]),  # 5 > 0
        (BUDGET_ZERO, [0, 1, 1]),
        (REFERENDUM, [0.5, 0]),  # not an integer: never truncated to 0
        (REFERENDUM, [1.0, 0]),
        (REFERENDUM, ["1", 0]),
        (REFERENDUM, [None, 0]),
    ],
)
def test_invalid_choices_are_refused(question, choices, election_key, signing_key):
    spec = spec_for(question, key=election_key)
    with pytest.raises(InvalidBallot):
        ballot_encrypt(spec, signing_key, [choices])


def test_wrong_number_of_answers_is_refused(full_spec, signing_key):
    with pytest.raises(InvalidBallot):
        ballot_encrypt(full_spec, signing_key, FULL_CHOICES[:-1])
    with pytest.raises(InvalidBallot):
        ballot_encrypt(full_spec, signing_key, [*FULL_CHOICES, [0, 0]])


# --- Tampering ---------------------------------------------------------------------------------------


def expected_failure(path) -> tuple[type, str]:
    """The error and label ballot_verify must report when the leaf at ``path`` is altered."""
    if path[0] == "signature":
        return InvalidSignature, "credential signature"
    if path[0] == "credential":
        return InvalidProof, "question 1 option 1: selection proof"
    assert path[0] == "answers"
    q = path[1] + 1
    if path[2] in ("choices", "choice_proofs"):
        return InvalidProof, f"question {q} option {path[3] + 1}: selection proof"
    if path[2] == "sum_proof":
        return InvalidProof, f"question {q}: sum proof"
    assert path[2] == "budget_proof"
    return InvalidProof, f"question {q}: budget proof bit {path[4]}"


def tamper_sites(ballot_json):
    sites = [
        path
        for path, value in json_leaves(ballot_json)
        if (is_point_hex(value) or is_64_hex(value)) and path[0] != "election"
    ]
    return sites


def test_every_field_is_covered_by_the_tamper_sites(full_ballot):
    ballot, _, _ = full_ballot
    sites = tamper_sites(ballot.to_json())
    kinds = {tuple(str(p) for p in path if isinstance(p, str)) for path in sites}
    for expected in [
        ("answers", "choices", "alpha"),
        ("answers", "choices", "beta"),
        ("answers", "choice_proofs", "commitments"),
        ("answers", "choice_proofs", "challenges"),
        ("answers", "choice_proofs", "responses"),
        ("answers", "sum_proof", "commitments"),
        ("answers", "sum_proof", "challenges"),
        ("answers", "sum_proof", "responses"),
        ("answers", "budget_proof", "bits", "alpha"),
        ("answers", "budget_proof", "bits", "beta"),
        ("answers", "budget_proof", "bit_proofs", "commitments"),
        ("answers", "budget_proof", "bit_proofs", "challenges"),
        ("answers", "budget_proof", "bit_proofs", "responses"),
        ("credential",),
        ("signature", "commitment"),
        ("signature", "response"),
    ]:
        assert expected in kinds
    # every leaf that is not a point or a scalar is structure: version, election, nulls
    others = {
        path
        for path, value in json_leaves(ballot.to_json())
        if not (is_point_hex(value) or is_64_hex(value))
    }
    assert {p for p in others if len(p) == 1} == {("version",)}
    assert all(json_get(ballot.to_json(), p) is None for p in others if len(p) > 1)


@pytest.mark.slow
def test_altering_any_single_field_is_caught(full_spec, full_ballot):
    """Every point and scalar of the ballot, replaced by another valid value: verification fails
    with the error of the proof that covers it (the signature is then wrong too, but the proofs
    are checked first)."""
    ballot, _, _ = full_ballot
    original = ballot.to_json()
    sites = tamper_sites(original)
    assert len(sites) > 400
    for path in sites:
        bad_json = json_set(original, path, altered_leaf(json_get(original, path)))
        bad = Ballot.from_json(bad_json)
        error, label = expected_failure(path)
        with pytest.raises(error, match=re.escape(label)) as info:
            ballot_verify(bad, full_spec)
        assert type(info.value) is error, path
        assert bad.tracker() != ballot.tracker()


@pytest.mark.slow
def test_altering_any_proof_field_is_caught_even_when_re_signed(full_spec, full_ballot):
    """The voter (or a compromised booth) re-signs the altered ballot: the proofs alone catch it."""
    ballot, _, key = full_ballot
    original = ballot.to_json()
    for path in tamper_sites(original):
        if path[0] in ("signature", "credential"):
            continue
        bad = Ballot.from_json(json_set(original, path, altered_leaf(json_get(original, path))))
        bad = resigned(bad, key)
        _, label = expected_failure(path)
        with pytest.raises(InvalidProof, match=re.escape(label)) as info:
            ballot_verify(bad, full_spec)
        assert type(info.value) is InvalidProof, path


def test_election_fingerprint(full_spec, full_ballot):
    ballot, _, key = full_ballot
    with pytest.raises(InvalidBallot):
        ballot_verify(replaced(ballot, election=OTHER_FINGERPRINT), full_spec)
    # the same ballot checked against another election's manifest
    other_spec = replaced(full_spec, fingerprint=OTHER_FINGERPRINT)
    with pytest.raises(InvalidBallot):
        ballot_verify(ballot, other_spec)
    # relabelled for the other election and re-signed there: the proofs are bound to the fingerprint
    moved = replaced(ballot, election=OTHER_FINGERPRINT)
    moved = replaced(moved, signature=sign(key, moved.content_digest(), context=OTHER_FINGERPRINT))
    with pytest.raises(InvalidProof, match="selection proof") as info:
        ballot_verify(moved, other_spec)
    assert type(info.value) is InvalidProof


def test_another_election_key(full_ballot, full_spec):
    ballot, _, _ = full_ballot
    from crypto.elgamal import keygen

    with pytest.raises(InvalidProof):
        ballot_verify(ballot, replaced(full_spec, key=keygen()[1]))


def test_signature_and_credential(full_spec, full_ballot):
    ballot, _, key = full_ballot
    other = SigningKey(Scalar.random())
    # signed by someone else
    forged = replaced(ballot, signature=sign(other, ballot.content_digest(), context=FINGERPRINT))
    with pytest.raises(InvalidSignature):
        ballot_verify(forged, full_spec)
    # signature over another message or context
    for sig in (
        sign(key, ballot.content_digest()[::-1], context=FINGERPRINT),
        sign(key, ballot.content_digest(), context=OTHER_FINGERPRINT),
    ):
        with pytest.raises(InvalidSignature):
            ballot_verify(replaced(ballot, signature=sig), full_spec)
    # someone else's credential, signing validly: the proofs are bound to the original credential
    with pytest.raises(InvalidProof, match="question 1 option 1") as info:
        ballot_verify(resigned(ballot, other), full_spec)
    assert type(info.value) is InvalidProof


def test_structure_changes_are_refused(full_spec, full_ballot):
    ballot, _, key = full_ballot
    answers = ballot.answers
    a0 = answers[0]
    budget = answers[3]
    variants = {
        "drop a choice": replaced(a0, choices=a0.choices[:-1], choice_proofs=a0.choice_proofs[:-1]),
        "add a choice": replaced(
            a0,
            choices=(*a0.choices, a0.choices[0]),
            choice_proofs=(*a0.choice_proofs, a0.choice_proofs[0]),
        ),
        "drop a choice ciphertext only": replaced(a0, choices=a0.choices[:-1]),
        "drop a choice proof only": replaced(a0, choice_proofs=a0.choice_proofs[:-1]),
        "add a choice proof only": replaced(
            a0, choice_proofs=(*a0.choice_proofs, a0.choice_proofs[0])
        ),
        "drop the sum proof": replaced(a0, sum_proof=None),
        "sum proof with a branch less": replaced(
            a0,
            sum_proof=replaced(
                a0.sum_proof,
                commitments=a0.sum_proof.commitments[:-1],
                challenges=a0.sum_proof.challenges[:-1],
                responses=a0.sum_proof.responses[:-1],
            ),
        ),
        "add a budget proof": replaced(a0, budget_proof=budget.budget_proof),
    }
    budget_variants = {
        "drop the budget proof": replaced(budget, budget_proof=None),
        "drop a budget bit": replaced(
            budget,
            budget_proof=BudgetProof(
                budget.budget_proof.bits[:-1], budget.budget_proof.bit_proofs[:-1]
            ),
        ),
        "add a budget bit": replaced(
            budget,
            budget_proof=BudgetProof(
                (*budget.budget_proof.bits, budget.budget_proof.bits[0]),
                (*budget.budget_proof.bit_proofs, budget.budget_proof.bit_proofs[0]),
            ),
        ),
        "drop a budget bit proof only": replaced(
            budget,
            budget_proof=BudgetProof(budget.budget_proof.bits, budget.budget_proof.bit_proofs[:-1]),
        ),
        "add a sum proof": replaced(budget, sum_proof=a0.sum_proof),
    }
    cases = {name: (0, answer) for name, answer in variants.items()}
    cases.update({name: (3, answer) for name, answer in budget_variants.items()})
    for _name, (index, answer) in cases.items():
        bad = replaced(ballot, answers=(*answers[:index], answer, *answers[index + 1 :]))
        with pytest.raises(InvalidBallot):
            ballot_verify(resigned(bad, key), full_spec)
        with pytest.raises(InvalidBallot):
            ballot_audit(bad, full_spec, full_ballot[1])
    for bad_answers in (answers[:-1], (*answers, answers[0]), answers[::-1]):
        with pytest.raises(InvalidBallot):
            ballot_verify(resigned(replaced(ballot, answers=bad_answers), key), full_spec)


def test_swapping_two_options_is_caught(full_spec, full_ballot):
    ballot, _, key = full_ballot
    a = ballot.answers[2]  # approval: options 1 and 2 differ (1, 0)
    swapped = replaced(
        a,
        choices=(a.choices[0], a.choices[2], a.choices[1], *a.choices[3:]),
        choice_proofs=(
            a.choice_proofs[0],
            a.choice_proofs[2],
            a.choice_proofs[1],
            *a.choice_proofs[3:],
        ),
    )
    bad = replaced(ballot, answers=(*ballot.answers[:2], swapped, *ballot.answers[3:]))
    with pytest.raises(InvalidProof, match="question 3 option 2"):
        ballot_verify(resigned(bad, key), full_spec)


def test_json_level_structure_changes_are_refused(full_ballot):
    ballot, _, _ = full_ballot
    data = ballot.to_json()
    answer = data["answers"][0]
    for bad_answer in (
        {**answer, "choices": answer["choices"][:-1]},  # fewer choices than proofs
        {**answer, "choice_proofs": answer["choice_proofs"][:-1]},
        {**answer, "choices": []},
    ):
        bad = {**data, "answers": [bad_answer, *data["answers"][1:]]}
        with pytest.raises(InvalidEncoding):
            Ballot.from_json(bad)


def test_cross_ballot_proof_copy_fails(full_spec, full_ballot, election_uuid):
    """Copying another voter's choice ciphertext and proof into one's own ballot (own credential,
    own valid signature) fails: selection proofs are bound to the credential."""
    from crypto.credentials import derive_signing_key, generate_code

    mine, _, my_key = full_ballot
    other_key = derive_signing_key(generate_code(), election_uuid)
    theirs, _ = ballot_encrypt(full_spec, other_key, FULL_CHOICES)
    ballot_verify(theirs, full_spec)
    q = 2  # approval
    a = mine.answers[q]
    t = theirs.answers[q]
    copied_option = replaced(
        a,
        choices=(t.choices[0], *a.choices[1:]),
        choice_proofs=(t.choice_proofs[0], *a.choice_proofs[1:]),
    )
    copied_answer = t  # the whole answer, sum proof included
    for answer, label in (
        (copied_option, "question 3 option 1"),
        (copied_answer, "question 3 option 1"),
    ):
        bad = replaced(mine, answers=(*mine.answers[:q], answer, *mine.answers[q + 1 :]))
        bad = resigned(bad, my_key)
        with pytest.raises(InvalidProof, match=label) as info:
            ballot_verify(bad, full_spec)
        assert type(info.value) is InvalidProof
    # the whole content of their ballot under my credential
    with pytest.raises(InvalidProof):
        ballot_verify(resigned(theirs, my_key), full_spec)


# --- Budget soundness ------------------------------------------------------------------------------


def test_exceeded_budget_cannot_be_proven(election_key, signing_key):
    spec = spec_for(BUDGET, key=election_key)
    picks = [0, 0, 0, 1, 1]  # 90 > 60
    with pytest.raises(InvalidBallot):
        ballot_encrypt(spec, signing_key, [picks])
    rs = [Scalar.random() for _ in picks]
    with pytest.raises(InvalidBallot):  # the prover itself refuses, even without check_choices
        _prove_budget(
            BUDGET,
            election_key,
            FINGERPRINT,
            signing_key.public.to_hex(),
            0,
            picks,
            rs,
            Scalar.random,
        )


def _forged_budget_ballot(spec, key, signing_key, picks, bit_values, bit_plaintexts=None):
    """A ballot for the single budget question ``spec.questions[0]`` with chosen bit plaintexts.

    ``bit_values`` are the bits the proofs claim; ``bit_plaintexts`` (default: the same) are what
    the bit ciphertexts really encrypt. The bit randomness makes the α equation hold exactly.
    """
    question = spec.questions[0]
    credential_hex = signing_key.public.to_hex()
    cts, rs, proofs = [], [], []
    for oi, m in enumerate(picks):
        ct, r, proof = encrypt_bit_with_proof(
            tag=Tag.SELECTION,
            context=FINGERPRINT,
            key=key,
            bit=m,
            binding={"credential": credential_hex, "option": oi, "question": 0},
        )
        cts.append(ct)
        rs.append(r)
        proofs.append(proof)
    k = question.budget_bits
    plaintexts = bit_plaintexts or bit_values
    cost_r = sum(c * int(r) for c, r in zip(question.costs, rs, strict=True))
    rhos = [0] + [int(Scalar.random()) for _ in range(1, k)]
    rhos[0] = (-(cost_r + sum((1 << j) * rhos[j] for j in range(1, k)))) % Q
    bits, bit_proofs = [], []
    for j in range(k):
        binding = {"bit": j, "credential": credential_hex, "question": 0}
        ct, r = encrypt(key, plaintexts[j] % Q, Scalar(rhos[j]))
        proof = prove_membership(  # lies if plaintexts[j] ∉ {0, 1}
            tag=Tag.BUDGET_BIT,
            context=FINGERPRINT,
            key=key,
            ciphertexts=[ct],
            randomness=r,
            plaintext=bit_values[j],
            values=(0, 1),
            binding=binding,
        )
        bits.append(ct)
        bit_proofs.append(proof)
    answer = Answer(tuple(cts), tuple(proofs), None, BudgetProof(tuple(bits), tuple(bit_proofs)))
    unsigned = Ballot(FINGERPRINT, signing_key.public, (answer,), Signature(G, Scalar(0)))
    return replaced(
        unsigned, signature=sign(signing_key, unsigned.content_digest(), context=FINGERPRINT)
    )


@pytest.mark.parametrize("budget", [0, 1, 2, 100])
def test_budget_question_with_only_zero_costs_is_refused(budget):
    """Every cost 0 makes the budget meaningless, and with κ = 1 no budget proof can exist (the bit
    randomness ρ₀ = −Σ costᵢ·rᵢ would always be 0): such a question is not a valid shape."""
    with pytest.raises(InvalidEncoding):
        QuestionSpec(3, 0, 3, (0, 0, 0), budget)


def test_budget_question_with_some_zero_costs(election_key, signing_key):
    spec = spec_for(QuestionSpec(3, 0, 3, (0, 0, 5), 1), key=election_key)
    ballot, secrets = ballot_encrypt(spec, signing_key, [[1, 1, 0]])
    ballot_verify(via_json(ballot), spec)
    assert ballot_audit(ballot, spec, secrets) == [[1, 1, 0]]


def test_forged_budget_proofs_fail(election_key, signing_key):
    spec = spec_for(BUDGET, key=election_key)
    k = BUDGET.budget_bits  # 6
    # control: the honest decomposition of the slack built by the same helper verifies
    honest_picks = [1, 0, 1, 0, 0]  # 40, slack 20
    honest = _forged_budget_ballot(
        spec, election_key, signing_key, honest_picks, [(20 >> j) & 1 for j in range(k)]
    )
    ballot_verify(via_json(honest), spec)
    # over budget: 90 > 60, slack −30
    picks = [0, 0, 0, 1, 1]
    # (a) the bits of (−30 mod 2^k) = 34: each bit honest, the sum off by 2^k
    wrapped = [((-30) % (1 << k) >> j) & 1 for j in range(k)]
    forged = _forged_budget_ballot(spec, election_key, signing_key, picks, wrapped)
    with pytest.raises(InvalidProof, match="budget proof \\(total cost within the budget\\)"):
        ballot_verify(via_json(forged), spec)
    # (b) bit 0 secretly encrypts −30 (so the sums match) with a lying bit proof
    lying = _forged_budget_ballot(
        spec, election_key, signing_key, picks, [0] * k, [-30] + [0] * (k - 1)
    )
    with pytest.raises(InvalidProof, match="budget proof bit 0"):
        ballot_verify(via_json(lying), spec)


# --- Tracker --------------------------------------------------------------------------------------------


def test_tracker(full_ballot):
    ballot, _, _ = full_ballot
    tracker = ballot.tracker()
    assert re.fullmatch(r"[0-9a-f]{64}", tracker)
    assert tracker == hashlib.sha256(canonical_json(ballot.to_json())).hexdigest()
    assert tracker == hashlib.sha256(ballot.canonical_bytes()).hexdigest()
    assert via_json(ballot).tracker() == tracker
    assert via_json(via_json(ballot)).tracker() == tracker
    assert (
        ballot.content_digest() == hashlib.sha256(canonical_json(ballot.content_json())).hexdigest()
    )
    assert "signature" not in ballot.content_json()
    assert ballot.content_digest() != tracker


def test_tracker_changes_with_every_field(full_ballot):
    ballot, _, _ = full_ballot
    original = ballot.to_json()
    trackers = {ballot.tracker()}
    paths = [p for p, v in json_leaves(original) if is_point_hex(v) or is_64_hex(v)]
    assert any(p == ("election",) for p in paths)
    for path in paths:
        bad = Ballot.from_json(json_set(original, path, altered_leaf(json_get(original, path))))
        trackers.add(bad.tracker())
    assert len(trackers) == len(paths) + 1


def test_derived_copies_do_not_reuse_cached_digests(full_spec, full_ballot):
    """``dataclasses.replace`` gives a new ballot: its tracker and signed digest are its own."""
    ballot, _, key = full_ballot
    assert ballot.tracker() and ballot.content_digest()  # the original's digests are cached
    copy = replaced(ballot, signature=sign(key, "x" * 64, context=FINGERPRINT))
    assert copy.tracker() == hashlib.sha256(copy.canonical_bytes()).hexdigest()
    assert copy.tracker() != ballot.tracker()
    with pytest.raises(InvalidSignature):
        ballot_verify(copy, full_spec)
    moved = replaced(ballot, election=OTHER_FINGERPRINT)
    assert (
        moved.content_digest() == hashlib.sha256(canonical_json(moved.content_json())).hexdigest()
    )
    assert moved.content_digest() != ballot.content_digest()
    # decoding with the canonical bytes gives the same digests as computing them
    data = ballot.to_json()
    fast = Ballot.from_json(data, canonical=canonical_json(data))
    assert (fast.tracker(), fast.content_digest()) == (ballot.tracker(), ballot.content_digest())
    assert fast == ballot


def test_re_encryption_gives_another_tracker(full_spec, full_ballot):
    ballot, _, key = full_ballot
    again, _ = ballot_encrypt(full_spec, key, FULL_CHOICES)
    assert again.tracker() != ballot.tracker()


# --- Audit ------------------------------------------------------------------------------------------------


def test_audit_refuses_wrong_randomness(full_spec, full_ballot):
    ballot, secrets, key = full_ballot
    other, other_secrets = ballot_encrypt(full_spec, key, FULL_CHOICES)
    with pytest.raises(InvalidProof):
        ballot_audit(ballot, full_spec, other_secrets)
    data = secrets.to_json()
    for qi, item in enumerate(data["randomness"]):
        for field in ("choices", "bits"):
            if item[field] is None:
                continue
            for i in range(len(item[field])):
                path = ("randomness", qi, field, i)
                bad = BallotSecrets.from_json(json_set(data, path, altered_leaf(item[field][i])))
                with pytest.raises(InvalidProof):
                    ballot_audit(ballot, full_spec, bad)
    with pytest.raises(InvalidProof):
        ballot_audit(ballot, full_spec, BallotSecrets(secrets.choices[:-1], secrets.bits[:-1]))
    short = [list(c) for c in secrets.choices]
    short[2] = short[2][:-1]
    with pytest.raises(InvalidProof):
        ballot_audit(ballot, full_spec, BallotSecrets(short, secrets.bits))
    bits = list(secrets.bits)
    bits[3] = None
    with pytest.raises(InvalidProof):
        ballot_audit(ballot, full_spec, BallotSecrets(secrets.choices, bits))


def test_audit_refuses_a_ciphertext_of_two(election_key, signing_key):
    spec = spec_for(REFERENDUM, key=election_key)
    ballot, secrets = ballot_encrypt(spec, signing_key, [[1, 0]])
    r = secrets.choices[0][0]
    two, _ = encrypt(election_key, 2, r)
    bad = replaced(
        ballot, answers=(replaced(ballot.answers[0], choices=(two, ballot.answers[0].choices[1])),)
    )
    with pytest.raises(InvalidProof, match="does not encrypt 0 or 1"):
        ballot_audit(bad, spec, secrets)


def test_ballot_secrets(full_ballot):
    _, secrets, _ = full_ballot
    data = secrets.to_json()
    assert data["version"] == 1
    assert BallotSecrets.from_json(data).to_json() == data
    assert parse_json(canonical_json(data)) == data
    assert "redacted" in repr(secrets)
    assert secrets.choices[0][0].to_hex() not in repr(secrets)


def test_batch_over_many_ballots(full_spec, full_ballot, election_uuid):
    from crypto.credentials import derive_signing_key, generate_code

    ballots = [
        ballot_encrypt(full_spec, derive_signing_key(generate_code(), election_uuid), FULL_CHOICES)[
            0
        ]
        for _ in range(4)
    ]
    batch = BatchVerifier()
    for b in ballots:
        ballot_verify(b, full_spec, batch=batch)
    batch.verify()
    # one altered response in the third ballot, detected in the shared batch
    b = ballots[2]
    a = b.answers[4]
    proof = a.choice_proofs[1]
    bad_answer = replaced(
        a,
        choice_proofs=(
            a.choice_proofs[0],
            replaced(proof, responses=(proof.responses[0] + 1, proof.responses[1])),
            a.choice_proofs[2],
        ),
    )
    ballots[2] = replaced(b, answers=(*b.answers[:4], bad_answer))
    batch = BatchVerifier()
    for b in ballots:
        ballot_verify(b, full_spec, batch=batch)
    with pytest.raises(InvalidProof, match="question 5 option 2: selection proof"):
        batch.verify()


def test_ciphertexts_are_fresh(full_ballot, election_key):
    ballot, _, _ = full_ballot
    alphas = [ct.alpha for a in ballot.answers for ct in a.choices]
    assert len({a.to_hex() for a in alphas}) == len(alphas)
