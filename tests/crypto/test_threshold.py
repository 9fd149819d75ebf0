"""crypto.threshold and crypto.ecies: the trustees' key ceremony, complaints, partial decryption
and combination, and the ECIES that carries the shares."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.dlog import discrete_log
from crypto.ecies import (
    EciesMessage,
    ecies_decrypt,
    ecies_decrypt_with_shared_point,
    ecies_encrypt,
    reveal_shared_point,
    verify_shared_point,
)
from crypto.elgamal import Ciphertext, encrypt
from crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidEncoding,
    InvalidProof,
    InvalidShare,
    InvalidSignature,
)
from crypto.group import G, Point, Q, Scalar, base_mul
from crypto.hashing import Tag, digest_json
from crypto.proofs.batch import BatchVerifier
from crypto.proofs.schnorr import prove_knowledge
from crypto.signatures import Signature, SigningKey, sign, verify_signature
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    PartialDecryption,
    Polynomial,
    TrusteePublicKey,
    TrusteeSecret,
    _coefficient_binding,
    _share_aad,
    combine_partial_decryptions,
    decryption_check_signature,
    decryption_sign,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_complain,
    dkg_confirm,
    dkg_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_new_polynomial,
    dkg_open_share,
    lagrange_coefficients,
    partial_decrypt,
    registration_context,
    trustee_check_signature,
    trustee_sign,
    verify_partial_decryption,
)
from tests.crypto.ceremony import run_dkg
from tests.crypto.tamper import (
    altered_leaf,
    field_mutations,
    is_64_hex,
    is_point_hex,
    json_get,
    json_leaves,
    json_set,
    other_point,
    other_scalar,
    replaced,
    with_item,
)

FINGERPRINT = "fa" * 32
PLAINTEXTS = [0, 1, 2, 7, 42, 1000]


@pytest.fixture(scope="module", params=[(1, 1), (3, 2), (5, 3)], ids=lambda p: f"n{p[0]}t{p[1]}")
def dkg(request):
    return run_dkg(*request.param)


@pytest.fixture(scope="module")
def dkg32():
    return run_dkg(3, 2)


@pytest.fixture(scope="module")
def dkg53():
    return run_dkg(5, 3)


def interpolate_at_zero(points: dict[int, Scalar]) -> Scalar:
    lambdas = lagrange_coefficients(points)
    return Scalar(sum(int(lambdas[j]) * int(points[j]) for j in points) % Q)


# --- The ceremony ----------------------------------------------------------------------------------


def test_dkg_keys_are_consistent(dkg):
    secret = sum(int(p.coefficients[0]) for p in dkg.polynomials.values()) % Q
    assert dkg.key.point == base_mul(secret)
    constant_terms = Point.identity()
    for deal in dkg.deals.values():
        constant_terms = constant_terms + deal.coefficients[0]
    assert dkg.key.point == constant_terms
    for j in range(1, dkg.n + 1):
        assert dkg.verification_keys[j] == base_mul(dkg.shares[j])
        assert dkg.confirmations[j].verification_key == dkg.verification_keys[j]
        assert dkg.shares[j] == Scalar(sum(int(p(j)) for p in dkg.polynomials.values()) % Q)
    # any t shares interpolate to the secret, t − 1 do not
    for subset in itertools.combinations(range(1, dkg.n + 1), dkg.t):
        assert interpolate_at_zero({j: dkg.shares[j] for j in subset}) == Scalar(secret)
        if dkg.t > 1:
            smaller = {j: dkg.shares[j] for j in subset[:-1]}
            assert interpolate_at_zero(smaller) != Scalar(secret)


def test_dkg_messages_round_trip_json(dkg):
    for i in dkg.deals:
        assert DkgDeal.from_json(dkg.deals[i].to_json()) == dkg.deals[i]
        assert DkgCommitment.from_json(dkg.commitments[i].to_json()) == dkg.commitments[i]
        assert (
            TrusteePublicKey.from_json(dkg.ceremony.trustees[i - 1].to_json())
            == (dkg.ceremony.trustees[i - 1])
        )
    for c in dkg.confirmations.values():
        assert DkgConfirmation.from_json(c.to_json()) == c


def test_registration(dkg32):
    ceremony = dkg32.ceremony
    trustee = ceremony.trustees[0]
    trustee.verify(dkg32.election)
    for _, bad_proof in field_mutations(trustee.proof):
        with pytest.raises(InvalidProof):
            replaced(trustee, proof=bad_proof).verify(dkg32.election)
    with pytest.raises(InvalidProof):  # the proof is bound to the index
        replaced(trustee, index=2).verify(dkg32.election)
    with pytest.raises(InvalidProof):  # …and to the election
        trustee.verify(str(uuid.uuid4()))
    with pytest.raises(InvalidProof):
        replaced(trustee, public_key=other_point()).verify(dkg32.election)
    assert registration_context(dkg32.election) == registration_context(dkg32.election.upper())
    assert registration_context(dkg32.election) != ceremony.context


def test_ceremony_validation(dkg32):
    keys = dkg32.ceremony.trustees
    with pytest.raises(InvalidEncoding):
        Ceremony(dkg32.election, 4, keys)
    with pytest.raises(InvalidEncoding):
        Ceremony(dkg32.election, 0, keys)
    with pytest.raises(InvalidEncoding):
        Ceremony(dkg32.election, 1, (keys[1], keys[0], keys[2]))
    with pytest.raises(InvalidEncoding):
        Ceremony(dkg32.election, 1, ())
    # the context binds the election, the threshold and every key
    base = dkg32.ceremony.context
    assert Ceremony(dkg32.election, 3, keys).context != base
    assert Ceremony(str(uuid.uuid4()), 2, keys).context != base
    other_key = replaced(keys[2], public_key=other_point())
    assert Ceremony(dkg32.election, 2, (*keys[:2], other_key)).context != base


def test_dkg_input_checks(dkg32):
    with pytest.raises(CryptoError):
        dkg_deal(dkg_new_polynomial(3), 1, dkg32.ceremony)
    with pytest.raises(InvalidEncoding):
        dkg_deal(dkg_new_polynomial(2), 4, dkg32.ceremony)
    with pytest.raises(CryptoError):
        Polynomial([])
    with pytest.raises(CryptoError):
        dkg_election_key([])
    with pytest.raises(CryptoError):
        dkg_election_key([dkg32.deals[1], dkg32.deals[1]])
    with pytest.raises(InvalidShare):
        TrusteeSecret(Scalar(0))
    poly = Polynomial([Scalar(5), Scalar(3), Scalar(2)])
    assert poly(0) == Scalar(5) and poly(2) == Scalar(5 + 6 + 8)
    assert "redacted" in repr(poly) and "5" not in repr(poly).replace("degree=2", "")
    assert "redacted" in repr(dkg32.secrets[1])


def test_lagrange_coefficients():
    for indices in ([1], [1, 2], [2, 5, 7], [1, 2, 3, 4, 64]):
        lambdas = lagrange_coefficients(indices)
        assert sum(int(v) for v in lambdas.values()) % Q == 1  # interpolates f ≡ 1
        # f(z) = 3 + 5z: Σ λⱼ·f(j) = f(0)
        if len(indices) >= 2:
            assert sum(int(lambdas[j]) * (3 + 5 * j) for j in indices) % Q == 3
    assert lagrange_coefficients([3, 1, 1]) == lagrange_coefficients([1, 3])
    for bad in ([], [0, 1], [-1, 2]):
        with pytest.raises(CryptoError):
            lagrange_coefficients(bad)


# --- Deals --------------------------------------------------------------------------------------------


def test_deal_must_match_its_commitment(dkg32):
    ceremony, deal, commitment = dkg32.ceremony, dkg32.deals[2], dkg32.commitments[2]
    # another coefficient, with a perfectly valid proof for it: the hash gives it away
    a = Scalar.random()
    C = base_mul(a)
    proof = prove_knowledge(
        a, public=C, context=ceremony.context, binding=_coefficient_binding(2, 1)
    )
    swapped = replaced(
        deal,
        coefficients=with_item(deal.coefficients, 1, C),
        proofs=with_item(deal.proofs, 1, proof),
    )
    with pytest.raises(InvalidProof, match="committed hash"):
        dkg_check_deal(commitment, swapped, ceremony)
    dkg_check_deal(DkgCommitment(2, swapped.reveal_digest()), swapped, ceremony)  # control
    with pytest.raises(InvalidProof):
        dkg_check_deal(replaced(commitment, digest="0" * 64), deal, ceremony)
    with pytest.raises(InvalidProof):  # commitment of another dealer
        dkg_check_deal(dkg32.commitments[1], deal, ceremony)
    with pytest.raises(InvalidProof):
        dkg_check_deal(replaced(commitment, dealer=1), deal, ceremony)


def test_deal_sizes_are_checked(dkg32):
    ceremony, deal = dkg32.ceremony, dkg32.deals[1]
    variants = [
        replaced(deal, shares=deal.shares[:-1]),
        replaced(deal, shares=(*deal.shares, deal.shares[0])),
        replaced(deal, coefficients=deal.coefficients[:-1], proofs=deal.proofs[:-1]),
        replaced(deal, proofs=deal.proofs[:-1]),
        replaced(deal, dealer=4),
    ]
    for bad in variants:
        with pytest.raises(InvalidProof):
            dkg_check_deal(DkgCommitment(bad.dealer, bad.reveal_digest()), bad, ceremony)


def test_tampered_coefficient_proofs(dkg32):
    ceremony, deal = dkg32.ceremony, dkg32.deals[3]
    for k, proof in enumerate(deal.proofs):
        for _, bad_proof in field_mutations(proof):
            bad = replaced(deal, proofs=with_item(deal.proofs, k, bad_proof))
            # the commitment is recomputed so that only the proof can fail
            with pytest.raises(InvalidProof, match=f"proof of coefficient {k}"):
                dkg_check_deal(DkgCommitment(3, bad.reveal_digest()), bad, ceremony)
    # proofs are bound to their coefficient index and to their dealer
    swapped = replaced(deal, proofs=deal.proofs[::-1], coefficients=deal.coefficients[::-1])
    with pytest.raises(InvalidProof):
        dkg_check_deal(DkgCommitment(3, swapped.reveal_digest()), swapped, ceremony)
    moved = replaced(deal, dealer=1)
    with pytest.raises(InvalidProof):
        dkg_check_deal(DkgCommitment(1, moved.reveal_digest()), moved, ceremony)
    other_ceremony = Ceremony(str(uuid.uuid4()), 2, ceremony.trustees)
    with pytest.raises(InvalidProof):
        dkg_check_deal(dkg32.commitments[3], deal, other_ceremony)


# --- Signed ceremony messages (docs/protocol.md §8.9) -----------------------------------------------


@pytest.mark.parametrize("kind", ["commitment", "deal"])
def test_signed_ceremony_messages(dkg32, kind):
    ceremony = dkg32.ceremony
    message = (dkg32.commitments if kind == "commitment" else dkg32.deals)[2].to_json()
    signed = trustee_sign(dkg32.secrets[2], message, ceremony)
    assert set(signed) == {*message, "signature"}
    assert trustee_check_signature(signed, 2, ceremony) == message
    decoded = (DkgCommitment if kind == "commitment" else DkgDeal).from_json(
        trustee_check_signature(signed, 2, ceremony)
    )
    assert decoded == (dkg32.commitments if kind == "commitment" else dkg32.deals)[2]
    # a signature on digest(message) with the trustee tag and the ceremony context
    verify_signature(
        Signature.from_json(signed["signature"]),
        public=ceremony.key_of(2),
        message=digest_json(message),
        context=ceremony.context,
        tag=Tag.TRUSTEE_SIGNATURE,
    )
    with pytest.raises(CryptoError):
        trustee_sign(dkg32.secrets[2], signed, ceremony)  # already signed


def test_signed_message_tamper(dkg32):
    ceremony = dkg32.ceremony
    message = dkg32.deals[2].to_json()
    signed = trustee_sign(dkg32.secrets[2], message, ceremony)
    paths = [p for p, v in json_leaves(signed) if is_point_hex(v) or is_64_hex(v)]
    assert ("signature", "commitment") in paths and ("signature", "response") in paths
    for path in paths:
        bad = json_set(signed, path, altered_leaf(json_get(signed, path)))
        with pytest.raises(InvalidSignature):
            trustee_check_signature(bad, 2, ceremony)
    for bad in (
        {**signed, "dealer": 1},
        {**signed, "extra": 1},
        {k: v for k, v in signed.items() if k != "shares"},
    ):
        with pytest.raises(InvalidSignature):
            trustee_check_signature(bad, 2, ceremony)
    # another signer, another trustee's key, another ceremony, another tag
    for bad_signed, trustee in (
        (trustee_sign(dkg32.secrets[1], message, ceremony), 2),  # the server or trustee 1
        (signed, 1),
        (signed, 3),
    ):
        with pytest.raises(InvalidSignature):
            trustee_check_signature(bad_signed, trustee, ceremony)
    other_ceremony = Ceremony(str(uuid.uuid4()), 2, ceremony.trustees)
    with pytest.raises(InvalidSignature):
        trustee_check_signature(signed, 2, other_ceremony)
    as_credential = {
        **message,
        "signature": sign(
            SigningKey(dkg32.secrets[2].y), digest_json(message), context=ceremony.context
        ).to_json(),
    }
    with pytest.raises(InvalidSignature):
        trustee_check_signature(as_credential, 2, ceremony)
    for unsigned, trustee in ((message, 2), ([], 2), (None, 2), (signed, 0), (signed, 4)):
        with pytest.raises(InvalidSignature):
            trustee_check_signature(unsigned, trustee, ceremony)
    for bad_sig in ({"commitment": G.to_hex()}, "sig", {**signed["signature"], "response": "00"}):
        with pytest.raises(InvalidEncoding):
            trustee_check_signature({**message, "signature": bad_sig}, 2, ceremony)


# --- Shares and complaints -------------------------------------------------------------------------


def _with_share(deal: DkgDeal, recipient: int, message: EciesMessage) -> DkgDeal:
    return replaced(deal, shares=with_item(deal.shares, recipient - 1, message))


def _bad_share_deals(dkg):
    """Deals by dealer 2 whose share for trustee 3 is bad in every way the protocol names."""
    ceremony = dkg.ceremony
    deal = dkg.deals[2]
    recipient_key = ceremony.key_of(3)
    aad = _share_aad(ceremony.context, 2, 3)
    good = dkg.polynomials[2](3)
    return {
        "wrong scalar": _with_share(
            deal, 3, ecies_encrypt(recipient_key, (good + 1).to_bytes(), aad)
        ),
        "another trustee's share": _with_share(
            deal, 3, ecies_encrypt(recipient_key, dkg.polynomials[2](2).to_bytes(), aad)
        ),
        "not a scalar (q)": _with_share(
            deal, 3, ecies_encrypt(recipient_key, Q.to_bytes(32, "big"), aad)
        ),
        "not a scalar (31 bytes)": _with_share(
            deal, 3, ecies_encrypt(recipient_key, good.to_bytes()[1:], aad)
        ),
        "wrong associated data": _with_share(
            deal,
            3,
            ecies_encrypt(recipient_key, good.to_bytes(), _share_aad(ceremony.context, 2, 2)),
        ),
        "encrypted to someone else": _with_share(
            deal, 3, ecies_encrypt(ceremony.key_of(1), good.to_bytes(), aad)
        ),
        "altered ciphertext": _with_share(
            deal,
            3,
            replaced(
                deal.shares[2],
                ciphertext=bytes([deal.shares[2].ciphertext[0] ^ 1])
                + deal.shares[2].ciphertext[1:],
            ),
        ),
    }


def test_bad_share_is_detected_and_the_complaint_justified(dkg32):
    ceremony = dkg32.ceremony
    for name, bad in _bad_share_deals(dkg32).items():
        # the public checks cannot see it: shares are not in the committed reveal
        dkg_check_deal(dkg32.commitments[2], bad, ceremony)
        with pytest.raises(InvalidShare):
            dkg_open_share(bad, 3, dkg32.secrets[3], ceremony)
        complaint = dkg_complain(bad, 3, dkg32.secrets[3], ceremony)
        assert DkgComplaint.from_json(complaint.to_json()) == complaint
        assert dkg_judge_complaint(complaint, bad, ceremony) is True, name
        # the other recipients' shares are fine
        assert dkg_open_share(bad, 1, dkg32.secrets[1], ceremony) == dkg32.polynomials[2](1)


def test_false_complaint_is_unjustified(dkg):
    ceremony = dkg.ceremony
    for dealer in dkg.deals:
        for complainer in range(1, dkg.n + 1):
            complaint = dkg_complain(
                dkg.deals[dealer], complainer, dkg.secrets[complainer], ceremony
            )
            assert dkg_judge_complaint(complaint, dkg.deals[dealer], ceremony) is False


def test_tampered_complaints_are_void(dkg32):
    ceremony = dkg32.ceremony
    bad = _bad_share_deals(dkg32)["wrong scalar"]
    complaint = dkg_complain(bad, 3, dkg32.secrets[3], ceremony)
    assert dkg_judge_complaint(complaint, bad, ceremony) is True
    variants = [replaced(complaint, proof=p) for _, p in field_mutations(complaint.proof)]
    variants += [
        replaced(complaint, shared_point=other_point()),
        replaced(complaint, complainer=1),  # the proof is for trustee 3's key and binding
        replaced(complaint, complainer=2),
        replaced(complaint, dealer=1),
        replaced(complaint, complainer=0),
        replaced(complaint, complainer=4),
    ]
    assert len(variants) == 9
    for v in variants:
        with pytest.raises(InvalidProof):
            dkg_judge_complaint(v, bad, ceremony)
    # a complaint cannot be moved to another deal of the same dealer… nor made by another trustee
    with pytest.raises(InvalidProof):
        dkg_judge_complaint(complaint, dkg32.deals[1], ceremony)
    forged = dkg_complain(bad, 3, dkg32.secrets[1], ceremony)  # trustee 1's secret, 3's name
    with pytest.raises(InvalidProof):
        dkg_judge_complaint(forged, bad, ceremony)


def test_disqualified_dealer_does_not_break_decryption():
    """Dealer 2 is disqualified: QUAL = {1, 3}; the key, shares and decryption use QUAL only."""
    dkg = run_dkg(3, 2, qualified=[1, 3])
    qual_deals = [dkg.deals[1], dkg.deals[3]]
    assert dkg.key.point == dkg.deals[1].coefficients[0] + dkg.deals[3].coefficients[0]
    cts = [encrypt(dkg.key, m)[0] for m in PLAINTEXTS]
    partials = {j: partial_decrypt(dkg.shares[j], j, cts, context=FINGERPRINT) for j in range(1, 4)}
    for subset in itertools.combinations(range(1, 4), 2):
        points = combine_partial_decryptions(cts, {j: partials[j] for j in subset}, 2)
        assert [discrete_log(p, 2000) for p in points] == PLAINTEXTS
    # a confirmation computed with another QUAL does not check against these deals
    wrong = dkg_confirm(dkg.shares[1], 1, [1, 2, 3], dkg.ceremony)
    with pytest.raises(InvalidProof):
        dkg_check_confirmation(wrong, qual_deals, dkg.ceremony)


def test_confirmation_tamper(dkg32):
    ceremony = dkg32.ceremony
    deals = list(dkg32.deals.values())
    confirmation = dkg32.confirmations[2]
    variants = [replaced(confirmation, proof=p) for _, p in field_mutations(confirmation.proof)]
    variants += [
        replaced(confirmation, verification_key=other_point()),
        replaced(confirmation, verification_key=dkg32.verification_keys[1]),
        replaced(confirmation, trustee=1),
        replaced(confirmation, qualified=(1, 2)),
    ]
    for v in variants:
        with pytest.raises(InvalidProof):
            dkg_check_confirmation(v, deals, ceremony)
    with pytest.raises(InvalidProof):  # checked against another QUAL
        dkg_check_confirmation(confirmation, deals[:2], ceremony)
    # a trustee that does not know its share cannot confirm
    lying = dkg_confirm(dkg32.shares[2] + 1, 2, [1, 2, 3], ceremony)
    with pytest.raises(InvalidProof):
        dkg_check_confirmation(lying, deals, ceremony)


# --- Partial decryption and combination ---------------------------------------------------------


def _decryption(dkg):
    cts = [encrypt(dkg.key, m)[0] for m in PLAINTEXTS]
    partials = {
        j: partial_decrypt(dkg.shares[j], j, cts, context=FINGERPRINT) for j in range(1, dkg.n + 1)
    }
    return dkg, cts, partials


@pytest.fixture(scope="module")
def decryption(dkg):
    return _decryption(dkg)


@pytest.fixture(scope="module")
def decryption32(dkg32):
    """Three trustees: a decryption can be claimed in another trustee's name."""
    return _decryption(dkg32)


def test_partial_decryptions_verify(decryption):
    dkg, cts, partials = decryption
    batch = BatchVerifier()
    for j, partial in partials.items():
        verify_partial_decryption(
            partial, verification_key=dkg.verification_keys[j], ciphertexts=cts, context=FINGERPRINT
        )
        verify_partial_decryption(
            partial,
            verification_key=dkg.verification_keys[j],
            ciphertexts=cts,
            context=FINGERPRINT,
            batch=batch,
        )
        assert PartialDecryption.from_json(partial.to_json()) == partial
        assert partial.shares == tuple(ct.alpha * dkg.shares[j] for ct in cts)
    batch.verify()


def test_signed_partial_decryption(decryption32):
    dkg, _, partials = decryption32
    message = partials[2].to_json()
    payload = decryption_sign(dkg.secrets[2], message, fingerprint=FINGERPRINT)
    assert set(payload) == {"decryption", "signature"} and payload["decryption"] == message
    key = dkg.ceremony.key_of(2)
    assert decryption_check_signature(payload, key, fingerprint=FINGERPRINT) == message
    # a signature on digest(d) with the decryption tag and the fingerprint as context
    verify_signature(
        Signature.from_json(payload["signature"]),
        public=key,
        message=digest_json(message),
        context=FINGERPRINT,
        tag=Tag.DECRYPTION_SIGNATURE,
    )
    for path in [p for p, v in json_leaves(payload) if is_point_hex(v) or is_64_hex(v)]:
        bad = json_set(payload, path, altered_leaf(json_get(payload, path)))
        with pytest.raises(InvalidSignature):
            decryption_check_signature(bad, key, fingerprint=FINGERPRINT)
    other = partials[1].to_json()
    for bad, public, fingerprint in (
        ({**payload, "decryption": {**message, "trustee": 1}}, key, FINGERPRINT),
        ({**payload, "decryption": other}, key, FINGERPRINT),  # another trustee's decryption
        (payload, dkg.ceremony.key_of(1), FINGERPRINT),  # claimed for trustee 1
        (payload, key, "ab" * 32),  # another election
        (decryption_sign(dkg.secrets[1], message, fingerprint=FINGERPRINT), key, FINGERPRINT),
    ):
        with pytest.raises(InvalidSignature):
            decryption_check_signature(bad, public, fingerprint=fingerprint)
    # the ceremony-message signature (other tag, other context) does not pass for it
    as_ceremony = trustee_sign(dkg.secrets[2], message, dkg.ceremony)
    forged = {"decryption": message, "signature": as_ceremony["signature"]}
    with pytest.raises(InvalidSignature):
        decryption_check_signature(forged, key, fingerprint=FINGERPRINT)
    for malformed in (
        message,
        {**payload, "extra": 1},
        {"decryption": [], "signature": payload["signature"]},
    ):
        with pytest.raises(CryptoError):
            decryption_check_signature(malformed, key, fingerprint=FINGERPRINT)
    with pytest.raises(CryptoError):
        decryption_sign(dkg.secrets[2], payload, fingerprint=FINGERPRINT)


@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_any_t_partial_decryptions_combine(decryption, data):
    dkg, cts, partials = decryption
    subset = data.draw(
        st.sets(st.integers(1, dkg.n), min_size=dkg.t, max_size=dkg.n), label="trustees"
    )
    points = combine_partial_decryptions(cts, {j: partials[j] for j in subset}, dkg.t)
    assert [discrete_log(p, 2000) for p in points] == PLAINTEXTS


def test_every_t_subset_combines(decryption):
    dkg, cts, partials = decryption
    for subset in itertools.combinations(range(1, dkg.n + 1), dkg.t):
        points = combine_partial_decryptions(cts, {j: partials[j] for j in subset}, dkg.t)
        assert points == [base_mul(m) for m in PLAINTEXTS]


def test_t_minus_1_shares_do_not_decrypt(decryption):
    dkg, cts, partials = decryption
    if dkg.t == 1:  # no share at all
        with pytest.raises(DecryptionError):
            combine_partial_decryptions(cts, {}, 1)
        return
    for subset in itertools.combinations(range(1, dkg.n + 1), dkg.t - 1):
        chosen = {j: partials[j] for j in subset}
        with pytest.raises(DecryptionError):
            combine_partial_decryptions(cts, chosen, dkg.t)
        # combining them anyway, with the Lagrange coefficients of the smaller set
        points = combine_partial_decryptions(cts, chosen, dkg.t - 1)
        for point, m in zip(points, PLAINTEXTS, strict=True):
            assert point != base_mul(m)


def test_partial_decryption_tamper(dkg53):
    dkg = dkg53
    cts = [encrypt(dkg.key, m)[0] for m in PLAINTEXTS[:3]]
    partial = partial_decrypt(dkg.shares[2], 2, cts, context=FINGERPRINT)
    statement = dict(
        verification_key=dkg.verification_keys[2], ciphertexts=cts, context=FINGERPRINT
    )
    verify_partial_decryption(partial, **statement)
    variants = []
    for i in range(len(cts)):
        variants.append(replaced(partial, shares=with_item(partial.shares, i, other_point())))
        variants.append(
            replaced(partial, shares=with_item(partial.shares, i, partial.shares[i] + G))
        )
        for _, bad_proof in field_mutations(partial.proofs[i]):
            variants.append(replaced(partial, proofs=with_item(partial.proofs, i, bad_proof)))
    variants += [
        replaced(partial, trustee=3),  # bound to the trustee index
        replaced(partial, shares=partial.shares[::-1], proofs=partial.proofs[::-1]),  # positions
        replaced(partial, shares=partial.shares[:-1], proofs=partial.proofs[:-1]),
        replaced(partial, proofs=partial.proofs[:-1]),
        replaced(partial, shares=(*partial.shares, partial.shares[0])),
    ]
    for v in variants:
        with pytest.raises(InvalidProof):
            verify_partial_decryption(v, **statement)
        with pytest.raises(InvalidProof):
            batch = BatchVerifier()
            verify_partial_decryption(v, batch=batch, **statement)
            batch.verify()
    for changed in (
        {"verification_key": dkg.verification_keys[1]},
        {"context": "fb" * 32},
        {"ciphertexts": [encrypt(dkg.key, 0)[0], *cts[1:]]},
        {"ciphertexts": cts[::-1]},
    ):
        with pytest.raises(InvalidProof):
            verify_partial_decryption(partial, **{**statement, **changed})
    # a trustee that uses a wrong share cannot prove it
    lying = partial_decrypt(dkg.shares[2] + 1, 2, cts, context=FINGERPRINT)
    with pytest.raises(InvalidProof):
        verify_partial_decryption(lying, **statement)


def test_partial_decryption_of_the_identity_ciphertext(dkg32):
    """An option nobody voted for, or a question without ballots, has α = O (maybe β = O too)."""
    dkg = dkg32
    zero = Ciphertext.zero()
    c1, r = encrypt(dkg.key, 3)
    c2, _ = encrypt(dkg.key, 4, -r)
    alpha_identity = c1 + c2  # (O, 7·G)
    assert alpha_identity.alpha.is_identity()
    cts = [zero, alpha_identity, encrypt(dkg.key, 5)[0]]
    partials = {}
    for j in (1, 2, 3):
        partial = partial_decrypt(dkg.shares[j], j, cts, context=FINGERPRINT)
        assert partial.shares[0].is_identity() and partial.shares[1].is_identity()
        data = partial.to_json()
        assert data["shares"][0] == "00" and data["proofs"][0]["commitment2"] == "00"
        assert PartialDecryption.from_json(data) == partial
        verify_partial_decryption(
            partial, verification_key=dkg.verification_keys[j], ciphertexts=cts, context=FINGERPRINT
        )
        partials[j] = partial
    points = combine_partial_decryptions(cts, {1: partials[1], 3: partials[3]}, 2)
    assert points[0].is_identity()
    assert [discrete_log(p, 100) for p in points] == [0, 7, 5]
    # a non-identity share for α = O cannot be proven
    bad = replaced(partials[2], shares=with_item(partials[2].shares, 0, other_point()))
    with pytest.raises(InvalidProof):
        verify_partial_decryption(
            bad, verification_key=dkg.verification_keys[2], ciphertexts=cts, context=FINGERPRINT
        )


# --- ECIES --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipient():
    y = Scalar.random()
    return y, base_mul(y)


@given(st.binary(max_size=200), st.binary(max_size=50))
@settings(max_examples=30, deadline=None)
def test_ecies_round_trip(recipient, plaintext, aad):
    y, Y = recipient
    message = ecies_encrypt(Y, plaintext, aad)
    assert len(message.ciphertext) == len(plaintext) + 16
    assert ecies_decrypt(y, message, aad) == plaintext
    assert EciesMessage.from_json(message.to_json()) == message


def test_ecies_tamper(recipient):
    y, Y = recipient
    aad = b"associated data"
    message = ecies_encrypt(Y, b"a share of 32 bytes, more or les", aad)
    n = len(message.ciphertext)
    for i in range(n):  # every byte, the tag included
        altered = bytearray(message.ciphertext)
        altered[i] ^= 0x80
        with pytest.raises(DecryptionError):
            ecies_decrypt(y, replaced(message, ciphertext=bytes(altered)), aad)
    for bad in (
        replaced(message, ciphertext=message.ciphertext[:-1]),
        replaced(message, ciphertext=message.ciphertext + b"\x00"),
        replaced(message, ciphertext=b""),
        replaced(message, ephemeral=other_point()),
        replaced(message, ephemeral=-message.ephemeral),
    ):
        with pytest.raises(DecryptionError):
            ecies_decrypt(y, bad, aad)
    for bad_aad in (b"", b"associated dat", b"associated data\x00", b"Associated data"):
        with pytest.raises(DecryptionError):
            ecies_decrypt(y, message, bad_aad)
    with pytest.raises(DecryptionError):
        ecies_decrypt(other_scalar(y), message, aad)
    with pytest.raises(DecryptionError):  # the degenerate shared point
        ecies_decrypt(y, replaced(message, ephemeral=Point.identity()), aad)


def test_ecies_is_bound_to_the_recipient_key(recipient):
    """The KDF hashes E and Y: the same shared x-coordinate under another Y does not decrypt."""
    y, Y = recipient
    message = ecies_encrypt(Y, b"secret", b"")
    shared = message.ephemeral * y
    assert ecies_decrypt_with_shared_point(message, shared, Y, b"") == b"secret"
    with pytest.raises(DecryptionError):
        ecies_decrypt_with_shared_point(message, shared, other_point(), b"")
    with pytest.raises(DecryptionError):
        ecies_decrypt_with_shared_point(message, -shared, Y, b"x")


def test_ecies_deterministic_ephemeral_and_limits(recipient):
    _, Y = recipient
    e = Scalar.random()
    m1 = ecies_encrypt(Y, b"x", b"", _ephemeral=e)
    m2 = ecies_encrypt(Y, b"x", b"", _ephemeral=e)
    assert m1 == m2 and m1.ephemeral == base_mul(e)
    assert ecies_encrypt(Y, b"x", b"").ephemeral != ecies_encrypt(Y, b"x", b"").ephemeral
    with pytest.raises(InvalidEncoding):
        ecies_encrypt(Point.identity(), b"x", b"")
    with pytest.raises(InvalidEncoding):
        ecies_encrypt(Y, b"x" * 4097, b"")
    ecies_encrypt(Y, b"x" * 4096, b"")


def test_ecies_revealed_shared_point(recipient):
    y, Y = recipient
    message = ecies_encrypt(Y, b"share", b"aad")
    binding = {"purpose": "test"}
    shared, proof = reveal_shared_point(y, message, context=FINGERPRINT, binding=binding)
    verify_shared_point(
        proof, recipient=Y, message=message, shared=shared, context=FINGERPRINT, binding=binding
    )
    assert ecies_decrypt_with_shared_point(message, shared, Y, b"aad") == b"share"
    for kwargs in (
        {"shared": other_point()},
        {"recipient": other_point()},
        {"message": ecies_encrypt(Y, b"share", b"aad")},
        {"context": "fb" * 32},
        {"binding": {"purpose": "other"}},
    ):
        args = dict(
            recipient=Y, message=message, shared=shared, context=FINGERPRINT, binding=binding
        )
        with pytest.raises(InvalidProof):
            verify_shared_point(proof, **{**args, **kwargs})


@pytest.mark.parametrize(
    "ciphertext",
    [
        "AB" * 16,  # uppercase
        "ab" * 15,  # shorter than a tag
        "abc" + "ab" * 16,  # odd length
        "zz" * 16,  # not hex
        "ab" * 16 + "  ",  # whitespace, which bytes.fromhex skips
        "ab " * 16 + "ab",  # even length with spaces inside
        "ab" * 16 + "\n\n",  # newlines
        "ab" * (4096 + 17),  # too long
        5,
        None,
        ["ab" * 16],
    ],
)
def test_ecies_message_json_is_strict(ciphertext):
    with pytest.raises(InvalidEncoding):
        EciesMessage.from_json({"ephemeral": G.to_hex(), "ciphertext": ciphertext})
