"""docs/protocol.md §13 promises that the test vectors reproduce byte for byte from the text.

These tests re-derive vectors following the text only — §6.1 credential derivation, §6.2 the
hedged nonce's exact bytes, §5.3/§7.3/§7.4 the encryption, the proofs and the order of random
draws, §7.6 the digests — using nothing from crypto/ but the group arithmetic, canonical JSON and
hash_to_scalar (§2, §3), and compare with tests/vectors/*.json. If the text and the code that
wrote the vectors ever disagree, these fail.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crypto.group import G, Point, Q, base_mul
from crypto.hashing import canonical_json, hash_to_scalar

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def os2ip(data: bytes) -> int:
    return int.from_bytes(data, "big")


def hex32(k: int) -> str:
    return k.to_bytes(32, "big").hex()


def hedged_nonce(s: int, rho: bytes, context: str, msg: str) -> int:
    """§6.2: k = OS2IP(SHA-512(ASCII("PNYX-V1/signature-nonce") ‖ I2OSP(s, 32) ‖ ρ ‖
    UTF-8(context) ‖ 0x00 ‖ UTF-8(msg))) mod q."""
    data = (
        b"PNYX-V1/signature-nonce"
        + s.to_bytes(32, "big")
        + rho
        + context.encode("utf-8")
        + b"\x00"
        + msg.encode("utf-8")
    )
    return os2ip(hashlib.sha512(data).digest()) % Q


def schnorr_sign(tag: str, s: int, rho: bytes, context: str, msg: str) -> dict:
    S = base_mul(s)
    k = hedged_nonce(s, rho, context, msg)
    R = base_mul(k)
    c = int(
        hash_to_scalar(
            tag, context, {"message": msg, "public": S.to_hex()}, {"commitment": R.to_hex()}
        )
    )
    return {"commitment": R.to_hex(), "response": hex32((k + c * s) % Q)}


def test_signature_vector_from_the_text():
    v = load("signatures.json")
    s = int(v["secret"], 16)
    signature = schnorr_sign(
        "credential-signature", s, bytes.fromhex(v["random"]), v["context"], v["message"]
    )
    assert signature == v["signature"]


class Draws:
    """The vector's nonces, consumed in the order the text prescribes (§13)."""

    def __init__(self, nonces: list[str]) -> None:
        self.nonces = [int(n, 16) for n in nonces]
        self.used = 0

    def __call__(self) -> int:
        value = self.nonces[self.used]
        self.used += 1
        return value


def disjunctive(tag, context, K: Point, cts, r: int, m: int, values, binding, draw) -> dict:
    """§5.3 as written: for j = 0 … k−1 in order, the real branch draws w, a simulated branch
    draws cⱼ then vⱼ."""
    commitments, challenges, responses, w = [], [], [], None
    for s_j in values:
        if s_j == m:
            w = draw()
            commitments.append((base_mul(w), K * w))
            challenges.append(None)
            responses.append(None)
        else:
            c, v = draw(), draw()
            t = (v - c * r) % Q
            b = K * t
            if (c * (s_j - m)) % Q:
                b = b + base_mul((c * (s_j - m)) % Q)
            commitments.append((base_mul(t), b))
            challenges.append(c)
            responses.append(v)
    statement = {
        "binding": binding,
        "ciphertexts": [[a.to_hex(), b.to_hex()] for a, b in cts],
        "public_key": K.to_hex(),
        "values": list(values),
    }
    pairs = [[a.to_hex(), b.to_hex()] for a, b in commitments]
    c_total = int(hash_to_scalar(tag, context, statement, {"commitments": pairs}))
    real = list(values).index(m)
    challenges[real] = (c_total - sum(c for c in challenges if c is not None)) % Q
    responses[real] = (w + challenges[real] * r) % Q
    return {
        "commitments": pairs,
        "challenges": [hex32(c) for c in challenges],
        "responses": [hex32(v) for v in responses],
    }


def encrypt(K: Point, x: int, r: int) -> tuple[Point, Point]:
    beta = K * r
    return base_mul(r), (beta + G if x else beta)


def test_ballot_vector_from_the_text():
    v = load("ballots.json")
    spec, choices = v["spec"], v["choices"]
    K = Point.from_hex(spec["public_key"])
    F = spec["fingerprint"]
    # §6.1: the credential from its code
    code = v["credential_code"].replace("-", "").upper()
    seed = hashlib.pbkdf2_hmac(
        "sha256", code.encode(), f"pnyx/v1/credential/{v['election_uuid']}".encode(), 1000, 48
    )
    s = os2ip(seed) % Q
    S = base_mul(s).to_hex()
    draw = Draws(v["nonces"])
    answers, randomness = [], []
    for qi, (question, picks) in enumerate(zip(spec["questions"], choices, strict=True)):
        n, lo, hi = question["options"], question["min"], question["max"]
        costs, budget = question["costs"], question["budget"]
        exact = lo == hi and n >= 2 and costs is None  # §7.2
        listed = n - 1 if exact else n
        cts, proofs, rs = [], [], []
        for o in range(listed):  # §7.3: rₒ, then the selection proof's draws
            r = draw()
            ct = encrypt(K, picks[o], r)
            binding = {"credential": S, "option": o, "question": qi}
            proofs.append(disjunctive("selection", F, K, [ct], r, picks[o], (0, 1), binding, draw))
            cts.append(ct)
            rs.append(r)
        if exact:
            values = list(range(max(0, hi - 1), min(hi, n - 1) + 1))
        elif lo == 0 and hi == n:
            values = None
        else:
            values = list(range(lo, hi + 1))
        sum_proof = None
        if values is not None:
            sum_proof = disjunctive(
                "sum",
                F,
                K,
                cts,
                sum(rs) % Q,
                sum(picks[:listed]),
                values,
                {"credential": S, "question": qi},
                draw,
            )
        budget_proof, bit_rs = None, None
        if budget is not None:  # §7.4
            kappa = max(1, budget.bit_length())
            d = budget - sum(c * x for c, x in zip(costs, picks, strict=True))
            while True:
                rhos = [0] + [draw() for _ in range(1, kappa)]
                rhos[0] = (
                    -(
                        sum(c * r for c, r in zip(costs, rs, strict=True))
                        + sum((1 << j) * rhos[j] for j in range(1, kappa))
                    )
                    % Q
                )
                if rhos[0]:
                    break
            bits, bit_proofs = [], []
            for j in range(kappa):
                bit = (d >> j) & 1
                ct = encrypt(K, bit, rhos[j])
                binding = {"bit": j, "credential": S, "question": qi}
                bit_proofs.append(
                    disjunctive("budget-bit", F, K, [ct], rhos[j], bit, (0, 1), binding, draw)
                )
                bits.append({"alpha": ct[0].to_hex(), "beta": ct[1].to_hex()})
            budget_proof = {"bits": bits, "bit_proofs": bit_proofs}
            bit_rs = [hex32(r) for r in rhos]
        answers.append(
            {
                "choices": [{"alpha": a.to_hex(), "beta": b.to_hex()} for a, b in cts],
                "choice_proofs": proofs,
                "sum_proof": sum_proof,
                "budget_proof": budget_proof,
            }
        )
        randomness.append({"choices": [hex32(r) for r in rs], "bits": bit_rs})
    assert draw.used == len(draw.nonces)  # every recorded draw, and no other
    content = {"version": 1, "election": F, "credential": S, "answers": answers}
    content_digest = hashlib.sha256(canonical_json(content)).hexdigest()  # §7.6
    signature = schnorr_sign(
        "credential-signature", s, bytes.fromhex(v["signature_random"]), F, content_digest
    )
    ballot = {**content, "signature": signature}
    assert canonical_json(ballot) == canonical_json(v["ballot"])
    assert content_digest == v["content_digest"]
    assert hashlib.sha256(canonical_json(ballot)).hexdigest() == v["tracker"]
    assert {"version": 1, "randomness": randomness} == v["audit"]


def test_partial_decryption_positions_are_flat_integers():
    """§12.3/§9.1: the position p in a decryption proof's binding is the integer index of the
    ciphertext in the flat list of tally positions; the vector's proofs verify with it (and with
    no other p)."""
    v = load("threshold.json")
    F = v["context"]
    for j, partial in v["partial_decryptions"].items():
        X = Point.from_hex(v["verification_keys"][j])
        for p, (ct, D, proof) in enumerate(
            zip(v["ciphertexts"], partial["shares"], partial["proofs"], strict=True)
        ):
            for position, valid in ((p, True), (p + 1, False)):
                statement = {
                    "base1": G.to_hex(),
                    "base2": ct["alpha"],
                    "binding": {
                        "position": position,
                        "purpose": "partial-decryption",
                        "trustee": int(j),
                    },
                    "value1": X.to_hex(),
                    "value2": D,
                }
                commitments = {
                    "commitment1": proof["commitment1"],
                    "commitment2": proof["commitment2"],
                }
                c = int(hash_to_scalar("dleq", F, statement, commitments))
                z = int(proof["response"], 16)
                holds = base_mul(z) == Point.from_hex(proof["commitment1"]) + X * c
                assert holds is valid, (j, p, position)


def test_score_proof_vectors_from_the_text():
    """§5.5: a score's range proof is §5.3 on ``Enc(x; r)`` (§4: ``β = r·K + x·G``) with tag
    ``score``, values ``[0 … S]`` and the selection binding; ``r`` is drawn first (§7.3)."""
    v = load("score.json")
    K = Point.from_hex(v["public_key"])
    for case in v["proofs"]:
        nonces = iter(int(n, 16) for n in case["nonces"])
        r, x = next(nonces), case["score"]
        alpha, beta = base_mul(r), K * r
        if x:
            beta = beta + base_mul(x)
        assert {"alpha": alpha.to_hex(), "beta": beta.to_hex()} == case["ciphertext"]
        proof = disjunctive(
            "score",
            v["context"],
            K,
            [(alpha, beta)],
            r,
            x,
            range(case["max_score"] + 1),
            case["binding"],
            lambda nonces=nonces: next(nonces),
        )
        assert proof == case["proof"]
        assert next(nonces, None) is None
