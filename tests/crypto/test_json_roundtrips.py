"""JSON forms of every protocol object: round trips, and strict rejection of everything else.

Round trips run over Hypothesis-built objects (structurally valid, random points and scalars).
Rejection runs over real objects: every object of the tree loses each field in turn and gains an
extra one; every node gets values of the wrong type; every point and scalar gets each malformed
encoding — each must raise the right subclass of InvalidEncoding.
"""

from __future__ import annotations

import hashlib
from typing import Any

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
    ballot_encrypt,
)
from crypto.credentials import derive_signing_key, generate_code
from crypto.ecies import EciesMessage
from crypto.elgamal import Ciphertext, ElectionKey, encrypt, keygen
from crypto.errors import InvalidEncoding, InvalidPoint, InvalidScalar
from crypto.group import G, P, Point, Q
from crypto.hashing import canonical_json, parse_json
from crypto.mix.decryption import MixDecryption, mix_partial_decrypt
from crypto.mix.rows import CiphertextList, encrypt_row, public_ciphertext
from crypto.mix.shuffle import (
    ShuffleProof,
    ShuffleProofChunk,
    ShuffleProofHead,
    ShuffleSetting,
    prove_shuffle,
    shuffle,
)
from crypto.proofs.disjunctive import DisjunctiveProof
from crypto.proofs.dleq import DleqProof
from crypto.proofs.schnorr import SchnorrProof
from crypto.signatures import Signature
from crypto.threshold import (
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    PartialDecryption,
    TrusteePublicKey,
    partial_decrypt,
)
from tests import strategies as S
from tests.crypto.ceremony import run_dkg
from tests.crypto.tamper import (
    is_64_hex,
    is_point_hex,
    json_delete,
    json_leaves,
    json_nodes,
    json_set,
)

# from_json callables (some types take a required "what" argument)
DECODERS = {
    "ElectionKey": ElectionKey.from_json,
    "Ciphertext": Ciphertext.from_json,
    "SchnorrProof": SchnorrProof.from_json,
    "DleqProof": DleqProof.from_json,
    "DisjunctiveProof": DisjunctiveProof.from_json,
    "Signature": Signature.from_json,
    "QuestionSpec": QuestionSpec.from_json,
    "BudgetProof": lambda v: BudgetProof.from_json(v, "budget proof"),
    "Answer": lambda v: Answer.from_json(v, "answer"),
    "Ballot": Ballot.from_json,
    "BallotSecrets": BallotSecrets.from_json,
    "TrusteePublicKey": TrusteePublicKey.from_json,
    "DkgCommitment": DkgCommitment.from_json,
    "DkgDeal": DkgDeal.from_json,
    "DkgComplaint": DkgComplaint.from_json,
    "DkgConfirmation": DkgConfirmation.from_json,
    "PartialDecryption": PartialDecryption.from_json,
    "EciesMessage": EciesMessage.from_json,
    "CiphertextList": CiphertextList.from_json,
    "ShuffleProofHead": ShuffleProofHead.from_json,
    "ShuffleProofChunk": ShuffleProofChunk.from_json,
    "ShuffleProof": ShuffleProof.from_json,
    "MixDecryption": MixDecryption.from_json,
}

STRATEGIES = {
    "ElectionKey": S.points().map(ElectionKey),
    "Ciphertext": S.ciphertexts(),
    "SchnorrProof": S.schnorr_proofs(),
    "DleqProof": S.dleq_proofs(),
    "DisjunctiveProof": S.disjunctive_proofs(),
    "Signature": S.signatures(),
    "QuestionSpec": S.question_specs(),
    "BudgetProof": S.budget_proofs(),
    "Answer": S.answers(),
    "Ballot": S.ballots(),
    "BallotSecrets": S.ballot_secrets(),
    "TrusteePublicKey": S.trustee_public_keys(),
    "DkgCommitment": S.dkg_commitments(),
    "DkgDeal": S.dkg_deals(),
    "DkgComplaint": S.dkg_complaints(),
    "DkgConfirmation": S.dkg_confirmations(),
    "PartialDecryption": S.partial_decryptions(),
    "EciesMessage": S.ecies_messages(),
    "CiphertextList": S.ciphertext_lists(),
    "ShuffleProofHead": S.shuffle_proof_heads(),
    "ShuffleProofChunk": S.shuffle_proof_chunks(),
    "ShuffleProof": S.shuffle_proofs(),
    "MixDecryption": S.mix_decryptions(),
}

VERSIONED = {
    "Ballot",
    "BallotSecrets",
    "TrusteePublicKey",
    "DkgCommitment",
    "DkgDeal",
    "DkgComplaint",
    "DkgConfirmation",
    "PartialDecryption",
    "CiphertextList",
    "ShuffleProofHead",
    "ShuffleProofChunk",
    "ShuffleProof",
    "MixDecryption",
}

#: 64-hex leaves that are digests, not scalars (any 256-bit value is a valid digest)
DIGEST_KEYS = frozenset({"election", "digest"})


def test_every_type_is_covered():
    assert set(DECODERS) == set(STRATEGIES)
    assert VERSIONED <= set(DECODERS)


# --- Round trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_round_trip(name):
    decode = DECODERS[name]

    @given(STRATEGIES[name])
    @settings(max_examples=15, deadline=None)
    def check(obj):
        data = obj.to_json()
        decoded = decode(data)
        if name == "BallotSecrets":  # a plain class (secrets are not compared): compare the JSON
            assert decoded.to_json() == data
        else:
            assert decoded == obj
        # through canonical bytes and the strict parser, as from the network
        wire = canonical_json(data)
        again = decode(parse_json(wire))
        assert canonical_json(again.to_json()) == wire
        if name in VERSIONED:
            assert data["version"] == 1

    check()


# --- Real objects for the rejection tests --------------------------------------------------------


def _samples() -> dict[str, Any]:
    """One real JSON value per type (small, so that walking every node stays fast)."""
    sk, pk = keygen()
    election = "3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11"
    spec = ElectionSpec(
        hashlib.sha256(b"sample").hexdigest(),
        pk,
        (QuestionSpec(3, 1, 1), QuestionSpec(2, 0, 1), QuestionSpec(2, 0, 2, (3, 4), 5)),
    )
    key = derive_signing_key(generate_code(), election)
    ballot, secrets = ballot_encrypt(spec, key, [[0, 1, 0], [1, 0], [0, 1]])
    dkg = run_dkg(3, 2)
    from crypto.threshold import dkg_complain

    complaint = dkg_complain(dkg.deals[1], 2, dkg.secrets[2], dkg.ceremony)
    ct, _ = encrypt(dkg.key, 5)
    partial = partial_decrypt(dkg.shares[1], 1, [ct, Ciphertext.zero()], context="ab" * 32)
    answer = ballot.answers[2]
    fingerprint = hashlib.sha256(b"mix sample").hexdigest()
    rows = (
        encrypt_row(dkg.key, [G, G + G])[0],
        (public_ciphertext(G), public_ciphertext(Point.identity())),
    )
    mix_in = CiphertextList(2, rows)
    mix_out, witness = shuffle(dkg.key, mix_in)
    setting = ShuffleSetting(fingerprint, dkg.key, 1, dkg.ceremony.key_of(1))
    proof = prove_shuffle(setting, mix_in, mix_out, witness, rows_per_chunk=1)
    mix_decryption = mix_partial_decrypt(dkg.shares[1], 1, mix_in, 0, fingerprint=fingerprint)
    return {
        "ElectionKey": pk.to_json(),
        "Ciphertext": ct.to_json(),
        "SchnorrProof": dkg.deals[1].proofs[0].to_json(),
        "DleqProof": complaint.proof.to_json(),
        "DisjunctiveProof": ballot.answers[1].sum_proof.to_json(),
        "Signature": ballot.signature.to_json(),
        "QuestionSpec": spec.questions[2].to_json(),
        "BudgetProof": answer.budget_proof.to_json(),
        "Answer": answer.to_json(),
        "Ballot": ballot.to_json(),
        "BallotSecrets": secrets.to_json(),
        "TrusteePublicKey": dkg.ceremony.trustees[0].to_json(),
        "DkgCommitment": dkg.commitments[1].to_json(),
        "DkgDeal": dkg.deals[1].to_json(),
        "DkgComplaint": complaint.to_json(),
        "DkgConfirmation": dkg.confirmations[1].to_json(),
        "PartialDecryption": partial.to_json(),
        "EciesMessage": dkg.deals[1].shares[0].to_json(),
        "CiphertextList": mix_in.to_json(),
        "ShuffleProofHead": proof.head.to_json(),
        "ShuffleProofChunk": proof.chunks[1].to_json(),
        "ShuffleProof": proof.to_json(),
        "MixDecryption": mix_decryption.to_json(),
    }


SAMPLES = _samples()
NAMES = sorted(SAMPLES)


def test_samples_decode():
    assert set(SAMPLES) == set(DECODERS)
    for name, data in SAMPLES.items():
        assert DECODERS[name](data).to_json() == data


def identity_allowed(name: str, path: tuple) -> bool:
    return (
        path[-1] == "commitment2"
        or (name in ("PartialDecryption", "MixDecryption") and path[0] == "shares")
        or (name == "CiphertextList" and path[0] == "rows")
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [None, [], "x", 5, True, 1.5])
def test_not_an_object(name, value):
    if name == "ElectionKey":
        with pytest.raises(InvalidPoint):
            DECODERS[name](value)
        return
    with pytest.raises(InvalidEncoding):
        DECODERS[name](value)


def _objects(data):
    """Paths of every JSON object in the tree, the root included."""
    if isinstance(data, dict):
        yield ()
    for path, node in json_nodes(data):
        if isinstance(node, dict):
            yield path


@pytest.mark.parametrize("name", [n for n in NAMES if n != "ElectionKey"])
def test_missing_and_extra_fields(name):
    data = SAMPLES[name]
    decode = DECODERS[name]
    count = 0
    for obj_path in _objects(data):
        obj = data if not obj_path else _get(data, obj_path)
        for key in obj:
            with pytest.raises(InvalidEncoding, match="missing"):
                decode(json_delete(data, (*obj_path, key)))
            count += 1
        with pytest.raises(InvalidEncoding, match="unexpected"):
            decode(json_set(data, obj_path, {**obj, "extra": 1}))
        with pytest.raises(InvalidEncoding, match="unexpected"):
            decode(json_set(data, obj_path, {**obj, "Version": 1}))
    assert count > 0


def _get(data, path):
    for step in path:
        data = data[step]
    return data


@pytest.mark.parametrize("name", sorted(VERSIONED))
@pytest.mark.parametrize("version", [0, 2, -1, "1", 1.0, True, None, [1], 2**53])
def test_wrong_version(name, version):
    data = {**SAMPLES[name], "version": version}
    with pytest.raises(InvalidEncoding, match="version"):
        DECODERS[name](data)


def _wrong_types(node) -> list:
    if isinstance(node, bool):
        return ["true", 1.0, None]
    if isinstance(node, int):
        return [str(node), float(node), True, [node], None]
    if isinstance(node, str):
        return [5, [node], {"x": node}]
    if isinstance(node, list):
        return [{}, "x", 5, {str(i): v for i, v in enumerate(node)}]
    if isinstance(node, dict):
        return [[], "x", 5, list(node.values())]
    if node is None:
        return [5, "x", True]
    raise AssertionError(node)


#: fields where null is a valid value (then "wrong types" exclude null)
NULLABLE = {"sum_proof", "budget_proof", "costs", "budget", "bits"}


@pytest.mark.parametrize("name", NAMES)
def test_wrong_types(name):
    data = SAMPLES[name]
    decode = DECODERS[name]
    paths = list(json_nodes(data)) if not isinstance(data, str) else []
    for path, node in paths:
        for bad in _wrong_types(node):
            if bad is None and isinstance(path[-1], str) and path[-1] in NULLABLE:
                continue
            altered = json_set(data, path, bad)
            if is_point_hex(node):
                expected = InvalidPoint
            elif is_64_hex(node) and path[-1] not in DIGEST_KEYS:
                expected = InvalidScalar
            else:
                expected = InvalidEncoding
            try:
                decode(altered)
            except expected:
                continue
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"{name} {path} = {bad!r}: {type(exc).__name__}: {exc}")
            pytest.fail(f"{name} {path} = {bad!r}: accepted")


def _bad_points(good: str) -> list[str]:
    pt = Point.from_hex(good)
    enc = pt.to_bytes()
    x = int.from_bytes(enc[1:33], "big")
    y = int.from_bytes(enc[33:], "big")
    off_curve = "04" + enc[1:33].hex() + f"{(y + 1) % P:064x}"
    return [
        good.upper(),
        "04" + good[2:].upper(),
        bytes([2 + (y & 1)]).hex() + enc[1:33].hex(),  # compressed
        bytes([6 + (y & 1)]).hex() + enc[1:].hex(),  # hybrid
        off_curve,
        good[:-2],
        good + "00",
        "",
        "0",
        "04",
        "0000",
        " " + good[1:],
        good[:-1] + "g",
        f"04{x:064x}{y + P:064x}" if y + P < 2**256 else "05" + good[2:],
    ]


def _bad_scalars(good: str) -> list[str]:
    return [
        good.upper() if good.upper() != good else "A" + good[1:],
        f"{Q:064x}",
        f"{2**256 - 1:064x}",
        good[:-1],
        good + "0",
        "",
        "0x" + good[2:],
        good[:-1] + "g",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_malformed_points_and_scalars(name):
    data = SAMPLES[name]
    decode = DECODERS[name]
    leaves = [(p, v) for p, v in json_leaves(data)] if not isinstance(data, str) else [((), data)]
    checked = 0
    for path, value in leaves:
        if is_point_hex(value) or (value == "00" and path):
            good = value if value != "00" else G.to_hex()
            for bad in _bad_points(good):
                altered = json_set(data, path, bad) if path else bad
                with pytest.raises(InvalidPoint):
                    decode(altered)
            identity = json_set(data, path, "00") if path else "00"
            if path and identity_allowed(name, path):
                decode(identity)  # the fields that explicitly allow the identity
            else:
                with pytest.raises(InvalidPoint):
                    decode(identity)
            checked += 1
        elif is_64_hex(value) and path[-1] not in DIGEST_KEYS:
            for bad in _bad_scalars(value):
                with pytest.raises(InvalidScalar):
                    decode(json_set(data, path, bad))
            checked += 1
        elif is_64_hex(value):  # a digest: strict hex, any value
            for bad in (value.upper() if value.upper() != value else "A" + value[1:], value[:-1]):
                with pytest.raises(InvalidEncoding):
                    decode(json_set(data, path, bad))
            decode(json_set(data, path, f"{Q:064x}"))
    if name not in ("QuestionSpec", "DkgCommitment"):
        assert checked > 0


def test_identity_fields_are_exactly_the_documented_ones():
    """``"00"`` is accepted only in an equality proof's second commitment and in partial
    decryption shares (docs/protocol.md §2.2)."""
    data = SAMPLES["PartialDecryption"]
    assert data["shares"][1] == "00"
    assert data["proofs"][1]["commitment2"] == "00"
    assert PartialDecryption.from_json(data).shares[1].is_identity()
    for path in (("proofs", 1, "commitment1"),):
        with pytest.raises(InvalidPoint):
            PartialDecryption.from_json(json_set(data, path, "00"))


# --- Sizes and ranges ----------------------------------------------------------------------------


def _repeat(items: list, n: int) -> list:
    return [items[i % len(items)] for i in range(n)]


def test_length_rules():
    ballot = SAMPLES["Ballot"]
    answer = SAMPLES["Answer"]
    proof = SAMPLES["DisjunctiveProof"]
    budget = SAMPLES["BudgetProof"]
    deal = SAMPLES["DkgDeal"]
    partial = SAMPLES["PartialDecryption"]
    confirmation = SAMPLES["DkgConfirmation"]
    cases = [
        (Ballot.from_json, {**ballot, "answers": []}),
        (Ballot.from_json, {**ballot, "answers": _repeat(ballot["answers"], 101)}),
        (DECODERS["Answer"], {**answer, "choices": [], "choice_proofs": []}),
        (
            DECODERS["Answer"],
            {
                **answer,
                "choices": _repeat(answer["choices"], 501),
                "choice_proofs": _repeat(answer["choice_proofs"], 501),
            },
        ),
        (DECODERS["Answer"], {**answer, "choice_proofs": answer["choice_proofs"][:-1]}),
        (DisjunctiveProof.from_json, {**proof, "commitments": []}),
        (DisjunctiveProof.from_json, {**proof, "challenges": proof["challenges"][:-1]}),
        (
            DisjunctiveProof.from_json,
            {**proof, "responses": [*proof["responses"], proof["responses"][0]]},
        ),
        (DisjunctiveProof.from_json, {**proof, "commitments": [proof["commitments"][0][:1]] * 2}),
        (
            DisjunctiveProof.from_json,
            {**proof, "commitments": [[*proof["commitments"][0], proof["commitments"][0][0]]] * 2},
        ),
        (
            DisjunctiveProof.from_json,
            {
                "commitments": _repeat(proof["commitments"], 1025),
                "challenges": _repeat(proof["challenges"], 1025),
                "responses": _repeat(proof["responses"], 1025),
            },
        ),
        (DECODERS["BudgetProof"], {**budget, "bits": [], "bit_proofs": []}),
        (DECODERS["BudgetProof"], {**budget, "bit_proofs": budget["bit_proofs"][:-1]}),
        (
            DECODERS["BudgetProof"],
            {"bits": _repeat(budget["bits"], 42), "bit_proofs": _repeat(budget["bit_proofs"], 42)},
        ),
        (DkgDeal.from_json, {**deal, "coefficients": [], "proofs": []}),
        (DkgDeal.from_json, {**deal, "proofs": deal["proofs"][:-1]}),
        (DkgDeal.from_json, {**deal, "shares": []}),
        (DkgDeal.from_json, {**deal, "shares": _repeat(deal["shares"], 65)}),
        (
            DkgDeal.from_json,
            {
                **deal,
                "coefficients": _repeat(deal["coefficients"], 65),
                "proofs": _repeat(deal["proofs"], 65),
            },
        ),
        (PartialDecryption.from_json, {**partial, "shares": [], "proofs": []}),
        (PartialDecryption.from_json, {**partial, "proofs": partial["proofs"][:-1]}),
        (DkgConfirmation.from_json, {**confirmation, "qualified": []}),
        (DkgConfirmation.from_json, {**confirmation, "qualified": [2, 1, 3]}),
        (DkgConfirmation.from_json, {**confirmation, "qualified": [1, 1, 2]}),
        (DkgConfirmation.from_json, {**confirmation, "qualified": [0, 1]}),
        (DkgConfirmation.from_json, {**confirmation, "qualified": [1, 65]}),
    ]
    for decode, data in cases:
        with pytest.raises(InvalidEncoding):
            decode(data)
    # a choice proof has 2 branches, or S + 1 for a score question (§5.5): the decoder takes any
    # count, the shape check (tests/crypto/test_score.py) holds it to the question
    three = {
        "commitments": _repeat(proof["commitments"], 3),
        "challenges": _repeat(proof["challenges"], 3),
        "responses": _repeat(proof["responses"], 3),
    }
    decoded = DECODERS["Answer"]({**answer, "choice_proofs": [three] * len(answer["choices"])})
    assert {len(p.commitments) for p in decoded.choice_proofs} == {3}
    uneven = {**three, "responses": three["responses"][:2]}
    with pytest.raises(InvalidEncoding):
        DECODERS["Answer"]({**answer, "choice_proofs": [uneven] * len(answer["choices"])})
    with pytest.raises(InvalidEncoding):
        DisjunctiveProof.from_json(proof, size=len(proof["commitments"]) + 1)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("TrusteePublicKey", "index"),
        ("DkgCommitment", "dealer"),
        ("DkgDeal", "dealer"),
        ("DkgComplaint", "complainer"),
        ("DkgComplaint", "dealer"),
        ("DkgConfirmation", "trustee"),
        ("PartialDecryption", "trustee"),
    ],
)
@pytest.mark.parametrize("value", [0, -1, 65, 2**53, 1.0, "1", True])
def test_trustee_indices(name, field, value):
    with pytest.raises(InvalidEncoding):
        DECODERS[name]({**SAMPLES[name], field: value})


@pytest.mark.parametrize(
    "changes",
    [
        {"options": 0},
        {"options": 501},
        {"min": -1},
        {"min": 3},  # > options
        {"max": 0, "min": 1},
        {"max": 3},
        {"costs": None},  # costs and budget come together
        {"budget": None},
        {"costs": [1]},
        {"costs": [1, -1]},
        {"costs": [1, 2**40 + 1]},
        {"budget": 2**40 + 1},
        {"budget": -1},
        {"costs": {"0": 1, "1": 2}},
    ],
)
def test_question_spec_ranges(changes):
    with pytest.raises(InvalidEncoding):
        QuestionSpec.from_json({**SAMPLES["QuestionSpec"], **changes})


@given(st.sampled_from(NAMES), st.data())
@settings(max_examples=60, deadline=None)
def test_random_leaf_replacement_never_crashes(name, data):
    """Any leaf replaced by any JSON value: the decoder returns or raises InvalidEncoding."""
    sample = SAMPLES[name]
    if isinstance(sample, str):
        paths = [()]
    else:
        paths = [p for p, _ in json_nodes(sample)]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(S.json_values(max_leaves=5))
    altered = json_set(sample, path, value) if path else value
    try:
        DECODERS[name](altered)
    except InvalidEncoding:
        pass
