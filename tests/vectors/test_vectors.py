"""The stored test vectors are exactly what the core produces, and every one of them verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crypto.ballot import (
    Ballot,
    BallotSecrets,
    ElectionSpec,
    QuestionSpec,
    ballot_audit,
    ballot_verify,
)
from crypto.credentials import derive_signing_key, normalize_code
from crypto.dlog import DlogTable
from crypto.ecies import EciesMessage, ecies_decrypt
from crypto.elgamal import Ciphertext, ElectionKey, SecretKey, decrypt_to_point
from crypto.errors import CryptoError, InvalidPoint, InvalidProof, InvalidScalar, InvalidSignature
from crypto.group import G, Point, Scalar, base_mul
from crypto.hashing import canonical_json, expand_message_xmd, hash_to_scalar
from crypto.proofs.disjunctive import DisjunctiveProof, verify_membership
from crypto.proofs.dleq import DleqProof, verify_dleq
from crypto.proofs.schnorr import SchnorrProof, verify_knowledge
from crypto.signatures import Signature, verify_signature
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    PartialDecryption,
    TrusteePublicKey,
    TrusteeSecret,
    combine_partial_decryptions,
    decryption_check_signature,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_open_share,
    dkg_verification_key,
    trustee_check_signature,
    verify_partial_decryption,
)
from tests.vectors import generate

HERE = Path(__file__).resolve().parent


def load(name: str) -> dict:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(generate.FILES))
def test_vectors_are_reproduced_byte_for_byte(name):
    assert (HERE / name).read_text(encoding="utf-8") == generate.render(generate.FILES[name])


def test_group_vectors():
    v = load("group.json")
    assert G.to_hex() == v["generator"]
    for case in v["base_mult"]:
        assert base_mul(Scalar.from_hex(case["k"])).to_hex() == case["point"]
    a, b = Point.from_hex(v["addition"]["a"]), Point.from_hex(v["addition"]["b"])
    assert (a + b).to_hex() == v["addition"]["sum"]
    assert (a - b).to_hex() == v["addition"]["difference"]
    assert v["identity_allowed"]["minus_a_plus_a"] == "00"
    for case in v["invalid_points"]:
        with pytest.raises(InvalidPoint):
            Point.from_hex(case["hex"])
    for case in v["invalid_scalars"]:
        with pytest.raises(InvalidScalar):
            Scalar.from_hex(case["hex"])


def test_hashing_vectors():
    v = load("hashing.json")
    for case in v["canonical_json"]:
        assert canonical_json(case["value"]).decode() == case["canonical"]
    for case in v["expand_message_xmd"]:
        out = expand_message_xmd(
            bytes.fromhex(case["msg_hex"]), case["dst"].encode(), case["length"]
        )
        assert out.hex() == case["output"]
    for case in v["hash_to_scalar"]:
        assert canonical_json(case["parts"]).decode() == case["message_jcs"]
        assert hash_to_scalar(case["tag"], *case["parts"]).to_hex() == case["scalar"]


def test_elgamal_vectors():
    v = load("elgamal.json")
    sk = SecretKey(Scalar.from_hex(v["secret_key"]))
    assert sk.public().to_json() == v["public_key"]
    for case in v["encryptions"]:
        ct = Ciphertext.from_json(case["ciphertext"])
        assert ct.alpha == base_mul(Scalar.from_hex(case["r"]))
        assert decrypt_to_point(sk, ct) == (base_mul(case["m"]) if case["m"] else Point.identity())
    assert decrypt_to_point(sk, Ciphertext.from_json(v["sum_of_1_and_1000"])) == base_mul(1001)
    assert decrypt_to_point(sk, Ciphertext.from_json(v["weighted_3_times_m2"])) == base_mul(6)


def test_proof_vectors_verify():
    v = load("proofs.json")
    ctx = v["context"]
    pok = v["pok"]
    verify_knowledge(
        SchnorrProof.from_json(pok["proof"]),
        public=Point.from_hex(pok["public"]),
        context=ctx,
        binding=pok["binding"],
    )
    d = v["dleq"]
    verify_dleq(
        DleqProof.from_json(d["proof"]),
        base1=Point.from_hex(d["base1"]),
        value1=Point.from_hex(d["value1"]),
        base2=Point.from_hex(d["base2"]),
        value2=Point.from_hex(d["value2"]),
        context=ctx,
        binding=d["binding"],
    )
    key = ElectionKey.from_json(v["disjunctive"]["public_key"])
    for case in v["disjunctive"]["cases"]:
        verify_membership(
            DisjunctiveProof.from_json(case["proof"]),
            tag=case["tag"],
            context=ctx,
            key=key,
            ciphertexts=[Ciphertext.from_json(c) for c in case["ciphertexts"]],
            values=case["values"],
            binding=case["binding"],
        )


def test_credential_and_signature_vectors():
    v = load("credentials.json")
    for case in v["valid"]:
        assert normalize_code(case["typed"]) == case["code"]
        key = derive_signing_key(case["typed"], case["election"])
        assert key.secret.to_hex() == case["secret"] and key.public.to_hex() == case["public"]
    for case in v["invalid"]:
        with pytest.raises(CryptoError):
            normalize_code(case["typed"])
    s = load("signatures.json")
    verify_signature(
        Signature.from_json(s["signature"]),
        public=Point.from_hex(s["public"]),
        message=s["message"],
        context=s["context"],
    )


def test_ballot_vector_verifies_and_audits():
    v = load("ballots.json")
    questions = tuple(
        QuestionSpec.from_json({k: q[k] for k in ("options", "min", "max", "costs", "budget")})
        for q in v["spec"]["questions"]
    )
    spec = ElectionSpec(
        v["spec"]["fingerprint"], ElectionKey.from_json(v["spec"]["public_key"]), questions
    )
    ballot = Ballot.from_json(v["ballot"])
    ballot_verify(ballot, spec)
    assert ballot.tracker() == v["tracker"] and ballot.content_digest() == v["content_digest"]
    assert ballot.credential == derive_signing_key(v["credential_code"], v["election_uuid"]).public
    assert ballot_audit(ballot, spec, BallotSecrets.from_json(v["audit"])) == v["choices"]


def test_ecies_vector():
    v = load("ecies.json")
    message = EciesMessage.from_json(v["message"])
    plain = ecies_decrypt(Scalar.from_hex(v["recipient_secret"]), message, v["aad"].encode())
    assert plain.hex() == v["plaintext"]


def test_threshold_vector():
    v = load("threshold.json")
    trustees = tuple(TrusteePublicKey.from_json(t) for t in v["trustees"])
    ceremony = Ceremony(v["election"], v["threshold"], trustees)
    ceremony.verify_registrations()
    assert ceremony.context == v["ceremony_context"]
    deals = [DkgDeal.from_json(d) for d in v["deals"]]
    signed = trustee_check_signature(v["signed_commitment_1"], 1, ceremony)
    assert signed == v["commitments"][0]
    forged = {**v["signed_commitment_1"], "digest": "0" * 64}
    with pytest.raises(InvalidSignature):
        trustee_check_signature(forged, 1, ceremony)
    with pytest.raises(InvalidSignature):  # signed by trustee 1, claimed for trustee 2
        trustee_check_signature(v["signed_commitment_1"], 2, ceremony)
    for c, d in zip(v["commitments"], deals, strict=True):
        dkg_check_deal(DkgCommitment.from_json(c), d, ceremony)
    for j, secret in enumerate(v["trustee_secrets"], start=1):
        total = sum(
            int(dkg_open_share(d, j, TrusteeSecret(Scalar.from_hex(secret)), ceremony))
            for d in deals
        )
        assert Scalar.reduce(total).to_hex() == v["shares"][str(j)]
        assert dkg_verification_key(deals, j).to_hex() == v["verification_keys"][str(j)]
    for c in v["confirmations"]:
        dkg_check_confirmation(DkgConfirmation.from_json(c), deals, ceremony)
    assert (
        dkg_judge_complaint(DkgComplaint.from_json(v["complaint_unjustified"]), deals[0], ceremony)
        is False
    )
    assert dkg_election_key(deals).to_json() == v["election_key"]
    cts = [Ciphertext.from_json(c, allow_identity=True) for c in v["ciphertexts"]]
    partials = {int(j): PartialDecryption.from_json(p) for j, p in v["partial_decryptions"].items()}
    signed = v["signed_decryption_3"]
    key_3 = ceremony.key_of(3)
    assert (
        decryption_check_signature(signed, key_3, fingerprint=v["context"])
        == (v["partial_decryptions"]["3"])
    )
    with pytest.raises(InvalidSignature):  # signed by trustee 3, claimed for trustee 1
        decryption_check_signature(signed, ceremony.key_of(1), fingerprint=v["context"])
    with pytest.raises(InvalidSignature):  # another election
        decryption_check_signature(signed, key_3, fingerprint="0" * 64)
    for j, p in partials.items():
        verify_partial_decryption(
            p,
            verification_key=Point.from_hex(v["verification_keys"][str(j)]),
            ciphertexts=cts,
            context=v["context"],
        )
    points = combine_partial_decryptions(cts, partials, v["threshold"])
    assert [p.to_hex_allow_identity() for p in points] == v["plaintext_points"]
    table = DlogTable(1000)
    assert [table.solve(p) for p in points] == v["plaintexts"]


def test_dlog_vector():
    v = load("dlog.json")
    table = DlogTable(v["bound"])
    for case in v["cases"]:
        point = Point.from_hex(case["point"], allow_identity=True)
        assert table.solve(point) == case["m"]


def test_receipt_vectors():
    """Receipts verify under the genesis entry's board key with the server's own check; every
    altered receipt, and a genesis whose key was replaced, is refused (the browser's tests use
    the same file: frontend/test/receipts.test.mjs)."""
    from crypto.board import BoardEntry, InvalidChain, verify_chain
    from voting.receipts import receipt_message, receipt_signature_valid

    v = load("receipts.json")
    genesis = BoardEntry.from_json(v["genesis"])
    assert list(verify_chain([genesis])) == [genesis]
    assert genesis.payload["board_key"] == v["board_key"]
    for case in v["receipts"]:
        assert receipt_message(case["receipt"]).hex() == case["message"]
        assert receipt_signature_valid(case["receipt"], public_key_hex=v["board_key"])
    for case in v["invalid_receipts"]:
        assert not receipt_signature_valid(case["receipt"], public_key_hex=v["board_key"]), case
    forged = v["invalid_genesis"][0]["entry"]
    with pytest.raises(InvalidChain):
        list(verify_chain([BoardEntry.from_json(forged)]))


def test_pointenc_vectors():
    from crypto.errors import InvalidEncoding
    from crypto.pointenc import BYTES_PER_POINT, decode_bytes, decode_int, encode_bytes, encode_int

    v = load("pointenc.json")
    assert v["bytes_per_point"] == BYTES_PER_POINT
    for case in v["cases"]:
        data = bytes.fromhex(case["data_hex"])
        points = encode_bytes(data, case["points"])
        assert [p.to_hex() for p in points] == case["encoded"]
        assert [p.coordinates()[0] & 0xFF for p in points] == case["counters"]
        assert decode_bytes([Point.from_hex(h) for h in case["encoded"]]) == data
    for case in v["invalid"]:
        with pytest.raises(InvalidEncoding):
            decode_bytes([Point.from_hex(h) for h in case["encoded"]])
    for case in v["small_integers"]:
        assert encode_int(case["m"]).to_hex_allow_identity() == case["point"]
        assert decode_int(Point.from_hex(case["point"], allow_identity=True)) == case["m"]


def test_mix_vectors_verify():
    from crypto.h2c import hash_to_curve
    from crypto.mix.decryption import MixDecryption, mix_combine, verify_mix_decryption
    from crypto.mix.generators import GENERATOR_DST, ShuffleGenerators
    from crypto.mix.rows import CiphertextList
    from crypto.mix.shuffle import ShuffleProof, ShuffleSetting, verify_shuffle
    from crypto.pointenc import decode_bytes, decode_int

    v = load("mix.json")
    fingerprint = v["fingerprint"]
    assert v["generator_dst"] == GENERATOR_DST.decode()
    gens = ShuffleGenerators(fingerprint)
    assert gens.chain_base.to_hex() == v["generators"]["chain_base"]
    assert [p.to_hex() for p in gens.rows(0, 4)] == v["generators"]["rows"]
    assert (
        v["generators"]["rows"][2]
        == hash_to_curve(canonical_json([fingerprint, "row", 2]), GENERATOR_DST).to_hex()
    )
    key = ElectionKey.from_json(v["election_key"])
    setting = ShuffleSetting(
        fingerprint, key, v["mixer"]["index"], Point.from_hex(v["mixer"]["public_key"])
    )
    inputs = CiphertextList.from_json(v["input"])
    outputs = CiphertextList.from_json(v["output"])
    assert inputs.digest() == v["input_digest"] and outputs.digest() == v["output_digest"]
    proof = ShuffleProof.from_json(v["proof"])
    verify_shuffle(setting, inputs, outputs, proof)
    # the recorded permutation and randomness produce the output
    from crypto.elgamal import reencrypt

    for j, (i, rs) in enumerate(zip(v["permutation"], v["reencryption_randomness"], strict=True)):
        for k, r in enumerate(rs):
            assert reencrypt(key, inputs.rows[i][k], Scalar.from_hex(r)) == outputs.rows[j][k]
    decryptions = {}
    for t, case in v["decryptions"].items():
        d = MixDecryption.from_json(case["decryption"])
        assert d.trustee == int(t)
        verify_mix_decryption(
            d,
            verification_key=Point.from_hex(case["verification_key"]),
            ciphertexts=outputs,
            fingerprint=fingerprint,
        )
        decryptions[int(t)] = d
    messages = mix_combine(outputs, decryptions, 2)
    assert [[m.to_hex_allow_identity() for m in row] for row in messages] == v["messages"]
    decoded = [
        {"text_hex": decode_bytes(r[:1]).hex(), "weight": decode_int(r[1])} for r in messages
    ]
    assert decoded == v["decoded"]
    assert sorted((bytes.fromhex(d["text_hex"]), d["weight"]) for d in decoded) == [
        (b"", 0),
        (b"no", 3),
        (b"yes", 1),
    ]


def test_score_vectors_verify_and_decrypt():
    """score.json (§5.5): every range proof verifies for its value, and for no other S; the
    ciphertexts decrypt to their scores; the whole ballot verifies and audits."""
    v = load("score.json")
    x = Scalar.from_hex(v["election_secret"])
    key = ElectionKey.from_json(v["public_key"])
    assert key.point == base_mul(x)
    seen = set()
    for case in v["proofs"]:
        s, m = case["max_score"], case["score"]
        ct = Ciphertext.from_json(case["ciphertext"])
        proof = DisjunctiveProof.from_json(case["proof"], size=s + 1)
        args = dict(
            tag="score",
            context=v["context"],
            key=key,
            ciphertexts=(ct,),
            binding=case["binding"],
        )
        verify_membership(proof, values=tuple(range(s + 1)), **args)
        with pytest.raises(InvalidProof):
            verify_membership(proof, values=tuple(range(1, s + 2)), **args)
        assert ct.beta - ct.alpha * x == (base_mul(m) if m else Point.identity())
        seen.add((s, m))
    assert seen == {(s, m) for s in (3, 10) for m in range(s + 1)}
    b = v["ballot"]
    questions = tuple(
        QuestionSpec.from_json({k: q[k] for k in q if k != "label"}) for q in b["spec"]["questions"]
    )
    spec = ElectionSpec(b["spec"]["fingerprint"], key, questions)
    ballot = Ballot.from_json(b["ballot"])
    ballot_verify(ballot, spec)
    assert ballot.tracker() == b["tracker"] and ballot.content_digest() == b["content_digest"]
    assert ballot_audit(ballot, spec, BallotSecrets.from_json(b["audit"])) == b["choices"]
