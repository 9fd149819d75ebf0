"""Zero-knowledge proofs (Schnorr, Chaum–Pedersen, disjunctive), signatures and batch verification.

For every proof: honest proofs verify directly and through a BatchVerifier; replacing any single
field by another valid value, or changing any part of the statement, makes verification raise;
a proof of a false statement does not verify.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import Ciphertext, encrypt, keygen
from crypto.errors import CryptoError, InvalidProof, InvalidSignature
from crypto.group import G, Point, Q, Scalar, base_mul
from crypto.hashing import Tag, hash_to_scalar
from crypto.proofs.batch import BatchVerifier, check_equation
from crypto.proofs.disjunctive import (
    DisjunctiveProof,
    encrypt_bit_with_proof,
    prove_membership,
    verify_membership,
)
from crypto.proofs.dleq import DleqProof, prove_dleq, verify_dleq
from crypto.proofs.schnorr import SchnorrProof, prove_knowledge, verify_knowledge
from crypto.signatures import Signature, SigningKey, sign, verify_signature
from tests.crypto.tamper import (
    deterministic_rand,
    field_mutations,
    other_point,
    other_scalar,
    replaced,
)
from tests.strategies import nonzero_scalars

CONTEXT = "c0" * 32
OTHER_CONTEXT = "c1" * 32
BINDING = {"purpose": "test", "trustee": 1}


def both_ways(verify, proof, **kwargs):
    """Verify directly, then through a BatchVerifier (queued, then checked)."""
    verify(proof, **kwargs)
    batch = BatchVerifier()
    verify(proof, batch=batch, **kwargs)
    assert len(batch) > 0
    batch.verify()


def rejected_both_ways(error, verify, proof, **kwargs):
    """Verification must raise ``error`` exactly (not a subclass) directly and through a batch."""
    with pytest.raises(error) as direct:
        verify(proof, **kwargs)
    assert type(direct.value) is error
    with pytest.raises(error) as batched:
        batch = BatchVerifier()
        verify(proof, batch=batch, **kwargs)
        batch.verify()
    assert type(batched.value) is error


# --- Schnorr proof of knowledge ----------------------------------------------------------------------


@given(nonzero_scalars())
@settings(max_examples=20, deadline=None)
def test_schnorr_honest(x):
    public = base_mul(x)
    proof = prove_knowledge(x, context=CONTEXT, binding=BINDING)
    both_ways(verify_knowledge, proof, public=public, context=CONTEXT, binding=BINDING)
    # the public key may be given to the prover
    proof = prove_knowledge(x, public=public, context=CONTEXT, binding=BINDING)
    verify_knowledge(proof, public=public, context=CONTEXT, binding=BINDING)


def test_schnorr_tampered_fields():
    x = Scalar.random()
    public = base_mul(x)
    proof = prove_knowledge(x, context=CONTEXT, binding=BINDING)
    mutations = list(field_mutations(proof))
    assert [name for name, _ in mutations] == ["commitment", "response"]
    for _, bad in mutations:
        rejected_both_ways(
            InvalidProof, verify_knowledge, bad, public=public, context=CONTEXT, binding=BINDING
        )


def test_schnorr_changed_statement():
    x = Scalar.random()
    public = base_mul(x)
    proof = prove_knowledge(x, context=CONTEXT, binding=BINDING)
    for changes in (
        {"public": other_point(public)},
        {"public": -public},
        {"context": OTHER_CONTEXT},
        {"binding": {"purpose": "test", "trustee": 2}},
        {"binding": {"purpose": "other", "trustee": 1}},
        {"binding": {}},
    ):
        kwargs = {"public": public, "context": CONTEXT, "binding": BINDING, **changes}
        rejected_both_ways(InvalidProof, verify_knowledge, proof, **kwargs)


def test_schnorr_false_statement_and_identity():
    x = Scalar.random()
    claimed = base_mul(x + 1)  # the prover does not know log(claimed)
    proof = prove_knowledge(x, public=claimed, context=CONTEXT, binding=BINDING)
    rejected_both_ways(
        InvalidProof, verify_knowledge, proof, public=claimed, context=CONTEXT, binding=BINDING
    )
    with pytest.raises(InvalidProof):
        verify_knowledge(proof, public=Point.identity(), context=CONTEXT, binding=BINDING)


def test_schnorr_nonce_injection_is_deterministic():
    x = Scalar(12345)
    p1 = prove_knowledge(x, context=CONTEXT, binding=BINDING, rand=lambda: Scalar(7))
    p2 = prove_knowledge(x, context=CONTEXT, binding=BINDING, rand=lambda: Scalar(7))
    assert p1 == p2
    assert p1.commitment == base_mul(7)
    assert p1 != prove_knowledge(x, context=CONTEXT, binding=BINDING)


# --- Chaum–Pedersen (DLEQ) -------------------------------------------------------------------------


def _dleq_case(base1_is_g: bool):
    x = Scalar.random()
    base1 = G if base1_is_g else other_point()
    base2 = other_point()
    proof = prove_dleq(x, base1=base1, base2=base2, context=CONTEXT, binding=BINDING)
    statement = {
        "base1": base1,
        "value1": base1 * x,
        "base2": base2,
        "value2": base2 * x,
        "context": CONTEXT,
        "binding": BINDING,
    }
    return proof, statement


@pytest.mark.parametrize("base1_is_g", [True, False])
def test_dleq_honest(base1_is_g):
    proof, statement = _dleq_case(base1_is_g)
    both_ways(verify_dleq, proof, **statement)
    # a base equal to G but not the object G takes the generic path and still verifies
    if base1_is_g:
        verify_dleq(proof, **{**statement, "base1": Point.from_hex(G.to_hex())})


@pytest.mark.parametrize("base1_is_g", [True, False])
def test_dleq_tampered_fields(base1_is_g):
    proof, statement = _dleq_case(base1_is_g)
    mutations = list(field_mutations(proof))
    assert [name for name, _ in mutations] == ["commitment1", "commitment2", "response"]
    for _, bad in mutations:
        rejected_both_ways(InvalidProof, verify_dleq, bad, **statement)
    # the second commitment replaced by the identity (which its encoding allows)
    rejected_both_ways(
        InvalidProof, verify_dleq, replaced(proof, commitment2=Point.identity()), **statement
    )


@pytest.mark.parametrize("base1_is_g", [True, False])
def test_dleq_changed_statement(base1_is_g):
    proof, statement = _dleq_case(base1_is_g)
    for key in ("base1", "value1", "base2", "value2"):
        rejected_both_ways(
            InvalidProof, verify_dleq, proof, **{**statement, key: other_point(statement[key])}
        )
    rejected_both_ways(InvalidProof, verify_dleq, proof, **{**statement, "context": OTHER_CONTEXT})
    rejected_both_ways(
        InvalidProof, verify_dleq, proof, **{**statement, "binding": {**BINDING, "trustee": 2}}
    )
    # swapping the two sides is another statement
    swapped = {
        **statement,
        "base1": statement["base2"],
        "value1": statement["value2"],
        "base2": statement["base1"],
        "value2": statement["value1"],
    }
    rejected_both_ways(InvalidProof, verify_dleq, proof, **swapped)


def test_dleq_false_statement():
    x = Scalar.random()
    base2 = other_point()
    value2 = base2 * (x + 1)  # log_B2 V2 ≠ log_G V1
    proof = prove_dleq(x, base1=G, base2=base2, value2=value2, context=CONTEXT, binding=BINDING)
    rejected_both_ways(
        InvalidProof,
        verify_dleq,
        proof,
        base1=G,
        value1=base_mul(x),
        base2=base2,
        value2=value2,
        context=CONTEXT,
        binding=BINDING,
    )


def test_dleq_identity_second_base():
    """An encrypted tally of no ballots has α = O: then V₂ = a₂ = O and the proof still binds V₁."""
    x = Scalar.random()
    o = Point.identity()
    proof = prove_dleq(x, base1=G, base2=o, context=CONTEXT, binding=BINDING)
    assert proof.commitment2.is_identity()
    statement = dict(
        base1=G, value1=base_mul(x), base2=o, value2=o, context=CONTEXT, binding=BINDING
    )
    both_ways(verify_dleq, proof, **statement)
    assert DleqProof.from_json(proof.to_json()) == proof
    assert proof.to_json()["commitment2"] == "00"
    rejected_both_ways(InvalidProof, verify_dleq, proof, **{**statement, "value2": other_point()})
    rejected_both_ways(InvalidProof, verify_dleq, proof, **{**statement, "value1": other_point()})
    rejected_both_ways(
        InvalidProof, verify_dleq, replaced(proof, response=other_scalar()), **statement
    )
    rejected_both_ways(
        InvalidProof, verify_dleq, replaced(proof, commitment2=other_point()), **statement
    )


def test_dleq_refuses_identity_first_base_or_value():
    x = Scalar.random()
    proof = prove_dleq(x, base1=G, base2=other_point(), context=CONTEXT, binding=BINDING)
    o = Point.identity()
    for base1, value1 in ((o, base_mul(x)), (G, o)):
        with pytest.raises(InvalidProof):
            verify_dleq(
                proof,
                base1=base1,
                value1=value1,
                base2=G,
                value2=base_mul(x),
                context=CONTEXT,
                binding=BINDING,
            )


# --- Disjunctive proofs ---------------------------------------------------------------------------

VALUE_SETS = {
    1: (3,),
    2: (0, 1),
    3: (0, 2, 5),
    4: (1, 2, 3, 4),
    5: (0, 1, 7, 8, 100),
    6: (2, 3, 5, 7, 11, 13),
}
SET_CASES = [(size, pos) for size in VALUE_SETS for pos in range(size)]


@pytest.fixture(scope="module")
def dkey():
    return keygen()[1]


def _membership(key, values, position, *, pieces=1, tag=Tag.SUM):
    """Ciphertexts (``pieces`` of them) whose sum encrypts ``values[position]``, and its proof."""
    m = values[position]
    parts = [m] + [0] * (pieces - 1)
    encs = [encrypt(key, part) for part in parts]
    cts = [c for c, _ in encs]
    r = Scalar(sum(int(r) for _, r in encs) % Q)
    proof = prove_membership(
        tag=tag,
        context=CONTEXT,
        key=key,
        ciphertexts=cts,
        randomness=r,
        plaintext=m,
        values=values,
        binding=BINDING,
    )
    statement = dict(
        tag=tag, context=CONTEXT, key=key, ciphertexts=cts, values=values, binding=BINDING
    )
    return proof, statement


@pytest.mark.parametrize(("size", "position"), SET_CASES)
def test_disjunctive_honest(dkey, size, position):
    values = VALUE_SETS[size]
    for pieces in (1, 3):
        proof, statement = _membership(dkey, values, position, pieces=pieces)
        assert len(proof.commitments) == len(proof.challenges) == len(proof.responses) == size
        both_ways(verify_membership, proof, **statement)
        assert DisjunctiveProof.from_json(proof.to_json(), size=size) == proof


@pytest.mark.parametrize(("size", "position"), SET_CASES)
def test_disjunctive_tampered_fields(dkey, size, position):
    values = VALUE_SETS[size]
    proof, statement = _membership(dkey, values, position, pieces=2)
    mutations = list(field_mutations(proof))
    assert len(mutations) == 4 * size  # aⱼ, bⱼ, cⱼ, vⱼ for every branch
    for _, bad in mutations:
        rejected_both_ways(InvalidProof, verify_membership, bad, **statement)


def test_disjunctive_response_tamper_is_caught_by_the_group_equations(dkey):
    """A changed response leaves the challenge sum intact: only the batched equations catch it,
    and the batch names the proof's label."""
    proof, statement = _membership(dkey, (0, 1, 2), 1)
    for j in range(3):
        responses = list(proof.responses)
        responses[j] = other_scalar(responses[j])
        bad = replaced(proof, responses=tuple(responses))
        batch = BatchVerifier()
        verify_membership(bad, batch=batch, label="the-label", **statement)
        with pytest.raises(InvalidProof, match="the-label"):
            batch.verify()


@pytest.mark.parametrize(("size", "position"), SET_CASES)
def test_disjunctive_changed_statement(dkey, size, position):
    values = VALUE_SETS[size]
    proof, statement = _membership(dkey, values, position, pieces=2)
    cts = statement["ciphertexts"]
    m = values[position]
    same_plaintext, _ = encrypt(dkey, m)
    changes = [
        {"key": keygen()[1]},
        {"ciphertexts": [same_plaintext, cts[1]]},  # another encryption of the same value
        {"ciphertexts": [cts[1], cts[0]]} if cts[0] != cts[1] else None,  # order
        {"ciphertexts": [cts[0]]},  # one dropped
        {"ciphertexts": [*cts, encrypt(dkey, 0)[0]]},
        {"values": tuple(v + 1 for v in values)},  # same size, other set
        {"values": (*values[:-1], values[-1] + 1)},
        {"binding": {**BINDING, "trustee": 9}},
        {"context": OTHER_CONTEXT},
        {"tag": Tag.SELECTION},
    ]
    for change in filter(None, changes):
        rejected_both_ways(InvalidProof, verify_membership, proof, **{**statement, **change})


@pytest.mark.parametrize("size", sorted(VALUE_SETS))
def test_disjunctive_false_statement(dkey, size):
    """The plaintext is not in the set: the prover lies about it and no branch can be made real."""
    values = VALUE_SETS[size]
    actual = max(values) + 5
    ct, r = encrypt(dkey, actual)
    statement = dict(
        tag=Tag.SUM, context=CONTEXT, key=dkey, ciphertexts=[ct], values=values, binding=BINDING
    )
    for claimed in values:
        proof = prove_membership(
            tag=Tag.SUM,
            context=CONTEXT,
            key=dkey,
            ciphertexts=[ct],
            randomness=r,
            plaintext=claimed,
            values=values,
            binding=BINDING,
        )
        rejected_both_ways(InvalidProof, verify_membership, proof, **statement)


def test_disjunctive_wrong_randomness(dkey):
    ct, r = encrypt(dkey, 1)
    proof = prove_membership(
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        ciphertexts=[ct],
        randomness=r + 1,
        plaintext=1,
        values=(0, 1),
        binding=BINDING,
    )
    rejected_both_ways(
        InvalidProof,
        verify_membership,
        proof,
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        ciphertexts=[ct],
        values=(0, 1),
        binding=BINDING,
    )


def test_disjunctive_branch_count_must_match(dkey):
    proof, statement = _membership(dkey, (0, 1, 2), 0)
    with pytest.raises(InvalidProof):
        verify_membership(proof, **{**statement, "values": (0, 1)})
    with pytest.raises(InvalidProof):
        verify_membership(proof, **{**statement, "values": (0, 1, 2, 3)})


def test_disjunctive_list_lengths_are_checked(dkey):
    """The three lists must have one entry per value (docs/protocol.md §5.3). An extra challenge
    would otherwise let a forger simulate every branch and balance the sum with it."""
    values = (0, 1)
    ct, _ = encrypt(dkey, 5)  # not in the set
    statement = dict(
        tag=Tag.SUM, context=CONTEXT, key=dkey, ciphertexts=[ct], values=values, binding=BINDING
    )
    # simulate both branches, then pick the extra challenge that balances the Fiat–Shamir sum
    from crypto.proofs.disjunctive import _challenge

    K = dkey.point
    commitments, challenges, responses = [], [], []
    for s in values:
        c, v = Scalar.random(), Scalar.random()
        a = base_mul(v) - ct.alpha * c
        b = K * v - (ct.beta - base_mul(s)) * c
        commitments.append((a, b))
        challenges.append(c)
        responses.append(v)
    total = _challenge(Tag.SUM, CONTEXT, dkey, [ct], values, BINDING, commitments)
    extra = total - sum(int(c) for c in challenges)
    forged = DisjunctiveProof(
        tuple(commitments), (*challenges, extra), (*responses, Scalar.random())
    )
    rejected_both_ways(InvalidProof, verify_membership, forged, **statement)
    honest, honest_statement = _membership(dkey, values, 1)
    for bad in (
        replaced(honest, challenges=honest.challenges[:-1]),
        replaced(honest, responses=honest.responses[:-1]),
        replaced(honest, responses=(*honest.responses, Scalar(0))),
    ):
        rejected_both_ways(InvalidProof, verify_membership, bad, **honest_statement)


@pytest.mark.parametrize("values", [(), (1, 0), (0, 0), (-1, 0), (0, 1.0), (0, True)])
def test_disjunctive_value_sets_are_checked(dkey, values):
    ct, r = encrypt(dkey, 0)
    with pytest.raises(CryptoError):
        prove_membership(
            tag=Tag.SUM,
            context=CONTEXT,
            key=dkey,
            ciphertexts=[ct],
            randomness=r,
            plaintext=0,
            values=values,
            binding=BINDING,
        )


def test_prover_refuses_a_plaintext_outside_the_set(dkey):
    ct, r = encrypt(dkey, 3)
    with pytest.raises(CryptoError):
        prove_membership(
            tag=Tag.SUM,
            context=CONTEXT,
            key=dkey,
            ciphertexts=[ct],
            randomness=r,
            plaintext=3,
            values=(0, 1),
            binding=BINDING,
        )


@pytest.mark.parametrize("bit", [0, 1])
def test_encrypt_bit_with_proof_equals_encrypt_then_prove(dkey, bit):
    """The fused hot path produces exactly what the generic path produces from the same nonces."""
    binding = {"credential": "x", "option": 0, "question": 0}
    ct, r, proof = encrypt_bit_with_proof(
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        bit=bit,
        binding=binding,
        rand=deterministic_rand(7),
    )
    rand = deterministic_rand(7)
    ct2, r2 = encrypt(dkey, bit, rand=rand)
    proof2 = prove_membership(
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        ciphertexts=[ct2],
        randomness=r2,
        plaintext=bit,
        values=(0, 1),
        binding=binding,
        rand=rand,
    )
    assert (ct, r, proof) == (ct2, r2, proof2)
    verify_membership(
        proof,
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        ciphertexts=[ct],
        values=(0, 1),
        binding=binding,
    )


def test_encrypt_bit_with_proof_checks_its_input(dkey):
    for bit in (2, -1, True + 1):
        with pytest.raises(CryptoError):
            encrypt_bit_with_proof(
                tag=Tag.SELECTION, context=CONTEXT, key=dkey, bit=bit, binding={}
            )
    with pytest.raises(CryptoError):
        encrypt_bit_with_proof(
            tag=Tag.SELECTION,
            context=CONTEXT,
            key=dkey,
            bit=1,
            binding={},
            randomness=Scalar(0),
        )


# --- Signatures --------------------------------------------------------------------------------------


@pytest.fixture
def signer():
    return SigningKey(Scalar.random())


def test_signature_honest(signer):
    sig = sign(signer, "m" * 64, context=CONTEXT)
    both_ways(verify_signature, sig, public=signer.public, message="m" * 64, context=CONTEXT)
    assert Signature.from_json(sig.to_json()) == sig


def test_signature_tampered_fields(signer):
    sig = sign(signer, "message", context=CONTEXT)
    mutations = list(field_mutations(sig))
    assert [name for name, _ in mutations] == ["commitment", "response"]
    for _, bad in mutations:
        rejected_both_ways(
            InvalidSignature,
            verify_signature,
            bad,
            public=signer.public,
            message="message",
            context=CONTEXT,
        )


def test_signature_changed_statement(signer):
    sig = sign(signer, "message", context=CONTEXT)
    for changes in (
        {"public": SigningKey(Scalar.random()).public},
        {"message": "messagf"},
        {"message": "message "},
        {"message": ""},
        {"context": OTHER_CONTEXT},
    ):
        kwargs = {"public": signer.public, "message": "message", "context": CONTEXT, **changes}
        rejected_both_ways(InvalidSignature, verify_signature, sig, **kwargs)
    with pytest.raises(InvalidSignature):
        verify_signature(sig, public=Point.identity(), message="message", context=CONTEXT)


def test_signature_is_not_a_proof_of_knowledge(signer):
    """Domain separation: a signature does not verify as a Schnorr proof and vice versa."""
    sig = sign(signer, "message", context=CONTEXT)
    as_proof = SchnorrProof(sig.commitment, sig.response)
    with pytest.raises(InvalidProof):
        verify_knowledge(as_proof, public=signer.public, context=CONTEXT, binding={})
    proof = prove_knowledge(signer.secret, context=CONTEXT, binding={})
    with pytest.raises(InvalidSignature):
        verify_signature(
            Signature(proof.commitment, proof.response),
            public=signer.public,
            message="message",
            context=CONTEXT,
        )


def test_credential_and_trustee_signatures_are_separated(signer):
    sig = sign(signer, "message", context=CONTEXT)
    trustee_sig = sign(signer, "message", context=CONTEXT, tag=Tag.TRUSTEE_SIGNATURE)
    kwargs = {"public": signer.public, "message": "message", "context": CONTEXT}
    verify_signature(sig, **kwargs)
    verify_signature(trustee_sig, tag=Tag.TRUSTEE_SIGNATURE, **kwargs)
    with pytest.raises(InvalidSignature):
        verify_signature(trustee_sig, **kwargs)
    with pytest.raises(InvalidSignature):
        verify_signature(sig, tag=Tag.TRUSTEE_SIGNATURE, **kwargs)


def test_signature_nonce_is_hedged(signer):
    fixed = bytes(32)
    s1 = sign(signer, "message", context=CONTEXT, _random=fixed)
    s2 = sign(signer, "message", context=CONTEXT, _random=fixed)
    assert s1 == s2  # deterministic given ρ
    assert sign(signer, "message", context=CONTEXT, _random=b"\x01" * 32) != s1
    assert sign(signer, "message2", context=CONTEXT, _random=fixed).commitment != s1.commitment
    assert sign(signer, "message", context=OTHER_CONTEXT, _random=fixed).commitment != s1.commitment
    other = SigningKey(Scalar.random())
    assert sign(other, "message", context=CONTEXT, _random=fixed).commitment != s1.commitment
    fresh = {sign(signer, "message", context=CONTEXT).commitment.to_hex() for _ in range(10)}
    assert len(fresh) == 10


def test_signing_key(signer):
    assert signer.public == base_mul(signer.secret)
    assert signer.secret.to_hex() not in repr(signer) and "redacted" in repr(signer)
    with pytest.raises(InvalidSignature):
        SigningKey(Scalar(0))
    with pytest.raises(CryptoError):
        sign(signer, 5, context=CONTEXT)


# --- Batch verification --------------------------------------------------------------------------


def _schnorr_equations(n):
    out = []
    for i in range(n):
        x = Scalar.random()
        binding = {"i": i}
        out.append((prove_knowledge(x, context=CONTEXT, binding=binding), base_mul(x), binding))
    return out


def test_batch_of_many_valid_equations_passes():
    batch = BatchVerifier()
    for i, (proof, public, binding) in enumerate(_schnorr_equations(60)):
        verify_knowledge(
            proof, public=public, context=CONTEXT, binding=binding, batch=batch, label=f"eq {i}"
        )
    assert len(batch) == 60
    batch.verify()
    batch.verify_and_reset()
    assert len(batch) == 0
    BatchVerifier().verify()  # an empty batch holds


@pytest.mark.parametrize("bad_index", [0, 17, 39])
def test_one_bad_equation_among_many_is_named(bad_index):
    batch = BatchVerifier()
    for i, (proof, public, binding) in enumerate(_schnorr_equations(40)):
        if i == bad_index:
            proof = replaced(proof, response=proof.response + 1)
        verify_knowledge(
            proof, public=public, context=CONTEXT, binding=binding, batch=batch, label=f"eq #{i}:"
        )
    with pytest.raises(InvalidProof, match=re.escape(f"eq #{bad_index}:")) as info:
        batch.verify()
    assert type(info.value) is InvalidProof


def test_batch_reports_the_error_type_of_the_failing_equation(signer):
    batch = BatchVerifier()
    for proof, public, binding in _schnorr_equations(5):
        verify_knowledge(proof, public=public, context=CONTEXT, binding=binding, batch=batch)
    sig = sign(signer, "m", context=CONTEXT)
    verify_signature(
        replaced(sig, response=sig.response + 1),
        public=signer.public,
        message="m",
        context=CONTEXT,
        batch=batch,
        label="the signature",
    )
    with pytest.raises(InvalidSignature, match="the signature"):
        batch.verify()


def test_batch_weights_defeat_cancelling_equations():
    """Two false equations whose plain sum is true (E and −E): the random weights still catch it."""
    P = other_point()
    for _ in range(20):
        batch = BatchVerifier()
        batch.add("first", 1, [(-1, P)])  # G − P = O   (false)
        batch.add("second", -1, [(1, P)])  # −G + P = O (false)
        with pytest.raises(InvalidProof, match="first"):
            batch.verify()
    # …while the merged single equation of their sum holds
    check_equation("sum", 0, [(-1, P), (1, P)])


def test_batch_merges_shared_points():
    P, Q_ = other_point(), other_point()
    x = Scalar.random()
    X = base_mul(x)
    batch = BatchVerifier()
    for k in range(1, 6):  # (k·x)·G − k·X = O, sharing the object X
        batch.add(f"k={k}", int(x) * k, [(-k, X), (0, P), (5, Q_), (-5, Q_)])
    batch.verify()
    batch.add("bad", int(x), [(-1, X), (1, P)])
    with pytest.raises(InvalidProof, match="bad"):
        batch.verify()


@given(st.lists(st.integers(0, 2**128), min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_check_equation(coeffs):
    g = -sum(c * i for c, i in zip(coeffs, range(1, len(coeffs) + 1), strict=True))
    # choose points with known logs: P_i = i·G, so Σ c_i·i + g = 0
    pts = [base_mul(i) for i in range(1, len(coeffs) + 1)]
    check_equation("ok", g, list(zip(coeffs, pts, strict=True)))
    with pytest.raises(InvalidProof, match="not ok"):
        check_equation("not ok", g + 1, list(zip(coeffs, pts, strict=True)))


def test_all_combinations_of_one_bad_proof_kind_in_a_mixed_batch(dkey, signer):
    """A batch mixing every proof kind; corrupting each one in turn is detected and named."""
    x = Scalar.random()
    schnorr = prove_knowledge(x, context=CONTEXT, binding=BINDING)
    base2 = other_point()
    dleq = prove_dleq(x, base1=G, base2=base2, context=CONTEXT, binding=BINDING)
    member, member_statement = _membership(dkey, (0, 1, 2), 2)
    sig = sign(signer, "m", context=CONTEXT)

    def fill(batch, corrupt):
        def maybe(name, proof, field):
            if name == corrupt:
                return replaced(proof, **{field: getattr(proof, field) + 1})
            return proof

        verify_knowledge(
            maybe("pok", schnorr, "response"),
            public=base_mul(x),
            context=CONTEXT,
            binding=BINDING,
            batch=batch,
            label="pok",
        )
        verify_dleq(
            maybe("dleq", dleq, "response"),
            base1=G,
            value1=base_mul(x),
            base2=base2,
            value2=base2 * x,
            context=CONTEXT,
            binding=BINDING,
            batch=batch,
            label="dleq",
        )
        bad_member = member
        if corrupt == "member":
            bad_member = replaced(
                member, responses=(member.responses[0] + 1, *member.responses[1:])
            )
        verify_membership(bad_member, batch=batch, label="member", **member_statement)
        verify_signature(
            maybe("sig", sig, "response"),
            public=signer.public,
            message="m",
            context=CONTEXT,
            batch=batch,
            label="sig",
        )

    good = BatchVerifier()
    fill(good, None)
    good.verify()
    for name in ("pok", "dleq", "member", "sig"):
        batch = BatchVerifier()
        fill(batch, name)
        expected = InvalidSignature if name == "sig" else InvalidProof
        with pytest.raises(expected, match=name) as info:
            batch.verify()
        assert type(info.value) is expected


# --- Strong Fiat–Shamir: the challenge covers the whole statement --------------------------------
# Each forgery below works against a "weak" Fiat–Shamir hash that omits part of the statement: the
# prover fixes its commitments and response first and solves for the omitted statement part
# afterwards. The real challenge hashes every part, so each forgery must fail.


def test_schnorr_public_key_chosen_after_the_proof_fails():
    R, z = other_point(), Scalar.random()
    c = hash_to_scalar(Tag.POK, CONTEXT, {"binding": BINDING}, {"commitment": R.to_hex()})
    X = (base_mul(z) - R) * c.inverse()  # z·G = R + c·X, with log X unknown to the forger
    proof = SchnorrProof(R, z)
    rejected_both_ways(
        InvalidProof, verify_knowledge, proof, public=X, context=CONTEXT, binding=BINDING
    )


def test_signature_public_key_chosen_after_the_signature_fails():
    R, z = other_point(), Scalar.random()
    c = hash_to_scalar(Tag.SIGNATURE, CONTEXT, {"message": "m"}, {"commitment": R.to_hex()})
    S = (base_mul(z) - R) * c.inverse()
    rejected_both_ways(
        InvalidSignature,
        verify_signature,
        Signature(R, z),
        public=S,
        message="m",
        context=CONTEXT,
    )


@pytest.mark.parametrize("omitted", ["value1", "value2"])
def test_dleq_value_chosen_after_the_proof_fails(omitted):
    """The forger knows x for one side; the other side's commitment is random (its log unknown)
    and that side's value is solved for afterwards, so its log is not x."""
    x, w = Scalar.random(), Scalar.random()
    base2 = other_point()
    values = {"value1": base_mul(x), "value2": base2 * x}
    a1, a2 = base_mul(w), base2 * w
    if omitted == "value1":
        a1 = other_point()
    else:
        a2 = other_point()
    statement = {
        "base1": G.to_hex(),
        "base2": base2.to_hex(),
        "binding": BINDING,
        **{k: v.to_hex() for k, v in values.items() if k != omitted},
    }
    commitments = {"commitment1": a1.to_hex(), "commitment2": a2.to_hex()}
    c = hash_to_scalar(Tag.DLEQ, CONTEXT, statement, commitments)
    z = w + c * x
    if omitted == "value1":
        values["value1"] = (base_mul(z) - a1) * c.inverse()
    else:
        values["value2"] = (base2 * z - a2) * c.inverse()
    rejected_both_ways(
        InvalidProof,
        verify_dleq,
        DleqProof(a1, a2, z),
        base1=G,
        base2=base2,
        context=CONTEXT,
        binding=BINDING,
        **values,
    )


def test_disjunctive_ciphertext_chosen_after_the_proof_fails(dkey):
    """One branch, S = {1}: commitments and response first, then the ciphertext that fits them."""
    K = dkey.point
    alpha_log, beta_log = Scalar.random(), Scalar.random()  # a = α·G, b = β·K with α ≠ β
    a, b, v = base_mul(alpha_log), K * beta_log, Scalar.random()
    statement = {"binding": BINDING, "public_key": K.to_hex(), "values": [1]}
    c = hash_to_scalar(
        Tag.SELECTION, CONTEXT, statement, {"commitments": [[a.to_hex(), b.to_hex()]]}
    )
    inv = c.inverse()
    A = (base_mul(v) - a) * inv
    B = (K * v - b) * inv + G
    forged = DisjunctiveProof(((a, b),), (c,), (v,))
    rejected_both_ways(
        InvalidProof,
        verify_membership,
        forged,
        tag=Tag.SELECTION,
        context=CONTEXT,
        key=dkey,
        ciphertexts=[Ciphertext(A, B)],
        values=(1,),
        binding=BINDING,
    )


@settings(max_examples=60, deadline=None)
@given(
    binding=st.dictionaries(
        st.one_of(
            st.sampled_from(["credential", "option", "question", "bit"]), st.text(max_size=6)
        ),
        st.one_of(st.integers(-(2**60), 2**60), st.text(max_size=8), st.sampled_from(["04ab", ""])),
        max_size=4,
    ),
    n=st.integers(1, 3),
    values=st.lists(st.integers(0, 2**60), min_size=1, max_size=4, unique=True).map(sorted),
    context=st.one_of(st.just(CONTEXT), st.text(max_size=5)),
)
def test_challenge_message_is_the_canonical_json(dkey, binding, n, values, context):
    """The directly written challenge message (the fast path) is byte for byte JCS."""
    from crypto.hashing import canonical_json
    from crypto.proofs.disjunctive import _challenge_message, _statement

    cts = [encrypt(dkey, 1)[0] for _ in range(n)]
    commitments = [(c.alpha, c.beta) for c in cts]
    expected = canonical_json(
        [
            context,
            _statement(dkey, cts, values, binding),
            {"commitments": [[a.to_hex(), b.to_hex()] for a, b in commitments]},
        ]
    )
    assert _challenge_message(context, dkey, cts, values, binding, commitments) == expected
