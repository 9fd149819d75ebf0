"""Crypto core benchmark: prints one JSON object of medians in microseconds.

Keys: scalar_mult_us (petlib variable-base k·P, the yardstick), selection_encrypt_prove_us,
selection_verify_us, ballot5_encrypt_prove_us, ballot5_verify_us (one single-choice question of
5 options, exactly one chosen, signature included; verification starts from the ballot's JSON),
partial_decrypt_us (one ciphertext, with its proof), dlog_1e6_us (m ≈ 10⁶ with the reusable table),
score_encrypt_prove_us and score_verify_us (one option of a score question, S = 10: 11 branches,
docs/protocol.md §5.5), score5_encrypt_prove_us and score5_verify_us (a ballot of one score
question of 5 options, S = 10, verified from its JSON, signature included), and the score costs
in multiples of one scalar multiplication: score_verify_x, score5_verify_x, score5_encrypt_prove_x.

Goals (docs/performance.md): ballot5_verify_us ≤ 30 × scalar_mult_us and
ballot5_encrypt_prove_us ≤ 15 × scalar_mult_us; for the score ballot, which carries about four
times the points of ballot5 (5 × 24 against 4 × 6 + 4, §5.5), score5_verify_us ≤ 120 ×
scalar_mult_us. The check is printed on stderr; stdout is JSON only.

Measurements are interleaved in rounds (every metric a few times per round) so that a slow phase
of the machine hits the yardstick and the measured operations alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from petlib.ec import EcGroup  # noqa: E402

from crypto.ballot import (  # noqa: E402
    Ballot,
    ElectionSpec,
    QuestionSpec,
    ballot_encrypt,
    ballot_verify,
    encrypt_score_with_proof,
)
from crypto.credentials import derive_signing_key, generate_code  # noqa: E402
from crypto.dlog import DlogTable  # noqa: E402
from crypto.elgamal import Ciphertext, keygen  # noqa: E402
from crypto.group import Scalar, base_mul  # noqa: E402
from crypto.hashing import Tag, digest_json  # noqa: E402
from crypto.proofs.disjunctive import DisjunctiveProof, encrypt_bit_with_proof, verify_membership  # noqa: E402
from crypto.threshold import partial_decrypt  # noqa: E402


def build_cases():
    group = EcGroup(415)
    order = group.order()
    yard_k, yard_p = order.random(), order.random() * group.generator()

    _, key = keygen()
    _ = key.table  # build the election key's table once, as a booth or verifier would
    spec = ElectionSpec(digest_json({"bench": "crypto"}), key, (QuestionSpec(5, 1, 1),))
    signer = derive_signing_key(generate_code(), uuid.uuid4())
    credential = signer.public.to_hex()
    binding = {"credential": credential, "option": 0, "question": 0}

    ct, _, proof = encrypt_bit_with_proof(
        tag=Tag.SELECTION, context=spec.fingerprint, key=key, bit=1, binding=binding
    )
    selection_json = {"ciphertext": ct.to_json(), "proof": proof.to_json()}

    ballot, _ = ballot_encrypt(spec, signer, [[0, 0, 1, 0, 0]])
    ballot_json = json.loads(json.dumps(ballot.to_json()))

    score_question = QuestionSpec(5, 0, 50, max_score=10)
    score_spec = ElectionSpec(digest_json({"bench": "score"}), key, (score_question,))
    scores = [[10, 0, 7, 3, 5]]
    score_ct, _, score_proof = encrypt_score_with_proof(
        score_question, key, score_spec.fingerprint, 7, binding
    )
    score_json = {"ciphertext": score_ct.to_json(), "proof": score_proof.to_json()}
    score_ballot, _ = ballot_encrypt(score_spec, signer, scores)
    score_ballot_json = json.loads(json.dumps(score_ballot.to_json()))

    share = Scalar.random()
    tally_ct = Ciphertext(base_mul(Scalar.random()), base_mul(Scalar.random()))
    table = DlogTable(10**8)
    target = base_mul(1_000_003)

    def yardstick():
        yard_k * yard_p

    def selection_encrypt_prove():
        encrypt_bit_with_proof(
            tag=Tag.SELECTION, context=spec.fingerprint, key=key, bit=1, binding=binding
        )

    def selection_verify():
        verify_membership(
            DisjunctiveProof.from_json(selection_json["proof"], size=2),
            tag=Tag.SELECTION,
            context=spec.fingerprint,
            key=key,
            ciphertexts=(Ciphertext.from_json(selection_json["ciphertext"]),),
            values=(0, 1),
            binding=binding,
        )

    def ballot5_encrypt_prove():
        ballot_encrypt(spec, signer, [[0, 0, 1, 0, 0]])

    def ballot5_verify():
        ballot_verify(Ballot.from_json(ballot_json), spec)

    def score_encrypt_prove():
        encrypt_score_with_proof(score_question, key, score_spec.fingerprint, 7, binding)

    def score_verify():
        verify_membership(
            DisjunctiveProof.from_json(score_json["proof"], size=11),
            tag=Tag.SCORE,
            context=score_spec.fingerprint,
            key=key,
            ciphertexts=(Ciphertext.from_json(score_json["ciphertext"]),),
            values=score_question.choice_values,
            binding=binding,
        )

    def score5_encrypt_prove():
        ballot_encrypt(score_spec, signer, scores)

    def score5_verify():
        ballot_verify(Ballot.from_json(score_ballot_json), score_spec)

    def partial_decrypt_one():
        partial_decrypt(share, 1, [tally_ct], context=spec.fingerprint)

    def dlog_1e6():
        table.solve(target)

    return {
        "scalar_mult_us": (yardstick, 200),
        "selection_encrypt_prove_us": (selection_encrypt_prove, 40),
        "selection_verify_us": (selection_verify, 40),
        "ballot5_encrypt_prove_us": (ballot5_encrypt_prove, 10),
        "ballot5_verify_us": (ballot5_verify, 10),
        "partial_decrypt_us": (partial_decrypt_one, 40),
        "dlog_1e6_us": (dlog_1e6, 5),
        "score_encrypt_prove_us": (score_encrypt_prove, 10),
        "score_verify_us": (score_verify, 10),
        "score5_encrypt_prove_us": (score5_encrypt_prove, 3),
        "score5_verify_us": (score5_verify, 3),
    }


def measure(rounds: int) -> dict[str, float]:
    cases = build_cases()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn, _ in cases.values():  # warm up
        fn()
    clock = time.perf_counter
    for _ in range(rounds):
        for name, (fn, per_round) in cases.items():
            bucket = samples[name]
            for _ in range(per_round):
                t0 = clock()
                fn()
                bucket.append((clock() - t0) * 1e6)
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description="Crypto core benchmark (JSON on stdout)")
    parser.add_argument("--rounds", type=int, default=60, help="interleaved rounds (default 60)")
    args = parser.parse_args()
    result = measure(args.rounds)
    unit = result["scalar_mult_us"]
    for key in ("score_verify_us", "score5_verify_us", "score5_encrypt_prove_us"):
        result[key[:-3] + "_x"] = round(result[key] / unit, 1)
    print(json.dumps(result))
    for key, limit in (
        ("ballot5_verify_us", 30),
        ("ballot5_encrypt_prove_us", 15),
        ("score5_verify_us", 120),
    ):
        ratio = result[key] / unit
        verdict = "ok" if ratio <= limit else "ABOVE GOAL"
        print(f"{key}: {ratio:.1f} × scalar_mult_us (goal ≤ {limit}×) {verdict}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
