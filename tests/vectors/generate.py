"""Generate the protocol's worked test vectors (docs/protocol.md §13) into tests/vectors/*.json.

    .venv/bin/python tests/vectors/generate.py          # rewrite the files
    .venv/bin/python tests/vectors/generate.py --check  # exit 1 if a file would change

Randomness is fixed: every scalar a prover draws comes from a deterministic generator whose
outputs are recorded, in the order they are drawn, in the vector's ``"nonces"`` list, so another
implementation can replay the same computation and must produce the same bytes. The order in which
the reference implementation draws nonces is documented in tests/vectors/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crypto.ballot import (  # noqa: E402
    ElectionSpec,
    QuestionSpec,
    ballot_audit,
    ballot_encrypt,
    encrypt_score_with_proof,
)
from crypto.credentials import (  # noqa: E402
    ALPHABET,
    _checksum,
    derive_signing_key,
    format_code,
    normalize_code,
)
from crypto.dlog import DlogTable  # noqa: E402
from crypto.ecies import ecies_encrypt  # noqa: E402
from crypto.elgamal import ElectionKey, encrypt  # noqa: E402
from crypto.errors import InvalidCredential  # noqa: E402
from crypto.group import G, Point, Q, Scalar, base_mul  # noqa: E402
from crypto.hashing import canonical_json, digest_json, expand_message_xmd, hash_to_scalar  # noqa: E402
from crypto.mix.decryption import mix_combine, mix_partial_decrypt  # noqa: E402
from crypto.mix.generators import GENERATOR_DST, ShuffleGenerators  # noqa: E402
from crypto.mix.rows import CiphertextList, encrypt_row, public_ciphertext  # noqa: E402
from crypto.mix.shuffle import ShuffleSetting, prove_shuffle, shuffle  # noqa: E402
from crypto.pointenc import (  # noqa: E402
    BYTES_PER_POINT,
    decode_bytes,
    decode_int,
    encode_block,
    encode_bytes,
    encode_int,
)
from crypto.proofs.disjunctive import prove_membership  # noqa: E402
from crypto.proofs.dleq import prove_dleq  # noqa: E402
from crypto.proofs.schnorr import prove_knowledge  # noqa: E402
from crypto.signatures import SigningKey, sign  # noqa: E402
from crypto.threshold import (  # noqa: E402
    Ceremony,
    Polynomial,
    combine_partial_decryptions,
    dkg_combine_shares,
    dkg_complain,
    dkg_confirm,
    dkg_deal,
    dkg_election_key,
    dkg_open_share,
    dkg_verification_key,
    partial_decrypt,
    trustee_keygen,
)

OUT = Path(__file__).resolve().parent
ELECTION_UUID = "3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11"
FINGERPRINT = digest_json({"vector": "election fingerprint"})


class Drbg:
    """Deterministic scalars for vectors: ``hash_to_scalar("test-vector-drbg", label, counter)``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.counter = 0
        self.drawn: list[str] = []

    def __call__(self) -> Scalar:
        while True:
            s = hash_to_scalar("test-vector-drbg", self.label, self.counter)
            self.counter += 1
            if not s.is_zero():
                self.drawn.append(s.to_hex())
                return s


def scalar(label: str) -> Scalar:
    return Drbg(label)()


# --- files -------------------------------------------------------------------------------------


def group_vectors() -> dict:
    mults = []
    for k in [1, 2, 3, 255, 2**64 + 7, int(scalar("group-a")), int(scalar("group-b"))]:
        mults.append({"k": Scalar(k).to_hex(), "point": base_mul(k).to_hex()})
    a, b = base_mul(scalar("add-a")), base_mul(scalar("add-b"))
    good = G.to_hex()
    x, y = good[2:66], good[66:]
    p_hex = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
    q_hex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    invalid_points = [
        {"hex": "00", "reason": "the identity is not allowed here"},
        {"hex": "02" + x, "reason": "compressed form"},
        {"hex": "06" + x + y, "reason": "hybrid form"},
        {"hex": "04" + x, "reason": "too short"},
        {"hex": ("04" + x + y).upper(), "reason": "upper-case hex"},
        {"hex": "04" + x + y[:-2] + ("00" if y[-2:] != "00" else "01"), "reason": "off the curve"},
        {"hex": "04" + p_hex + y, "reason": "x not reduced"},
        {"hex": "", "reason": "empty"},
    ]
    invalid_scalars = [
        {"hex": q_hex, "reason": "equal to q"},
        {"hex": "f" * 64, "reason": "above q"},
        {"hex": "0" * 63, "reason": "too short"},
        {"hex": "A" + "0" * 63, "reason": "upper-case hex"},
    ]
    return {
        "description": "P-256 encodings (docs/protocol.md §2): k·G, P + Q, and encodings to reject",
        "generator": good,
        "order": q_hex,
        "base_mult": mults,
        "addition": {
            "a": a.to_hex(),
            "b": b.to_hex(),
            "sum": (a + b).to_hex(),
            "difference": (a - b).to_hex(),
        },
        "identity_allowed": {"a": a.to_hex(), "minus_a_plus_a": (a - a).to_hex_allow_identity()},
        "invalid_points": invalid_points,
        "invalid_scalars": invalid_scalars,
    }


def hashing_vectors() -> dict:
    jcs_values = [
        {"b": 1, "a": [True, None, "x"], "c": {"z": "é\u2028", "a": '\x01\n"\\'}},
        ["😀", "\u007f", -9007199254740991, 0],
        {"fingerprint": FINGERPRINT, "nested": {"list": [1, 2, {"k": "v"}]}},
    ]
    xmd = []
    for msg, dst, length in [
        (b"", b"PNYX-V1/pok", 48),
        (b"abc", b"PNYX-V1/selection", 48),
        (b"a" * 300, b"PNYX-V1/dleq", 96),
        (b"", b"QUUX-V01-CS02-with-expander-SHA256-128", 32),
        (b"abc", b"QUUX-V01-CS02-with-expander-SHA256-128", 32),
    ]:
        xmd.append(
            {
                "msg_hex": msg.hex(),
                "dst": dst.decode(),
                "length": length,
                "output": expand_message_xmd(msg, dst, length).hex(),
            }
        )
    h2s = []
    for tag, parts in [
        (
            "pok",
            [
                FINGERPRINT,
                {"binding": {"purpose": "x"}, "public": G.to_hex()},
                {"commitment": G.to_hex()},
            ],
        ),
        ("selection", [FINGERPRINT, {"values": [0, 1]}, {"commitments": []}]),
        ("sum", ["", 0, [], {}]),
    ]:
        h2s.append(
            {
                "tag": tag,
                "parts": parts,
                "message_jcs": canonical_json(list(parts)).decode("utf-8"),
                "scalar": hash_to_scalar(tag, *parts).to_hex(),
            }
        )
    return {
        "description": "RFC 8785 canonical JSON, RFC 9380 expand_message_xmd (SHA-256) and hash_to_scalar (§3)",
        "dst_prefix": "PNYX-V1/",
        "canonical_json": [
            {"value": v, "canonical": canonical_json(v).decode("utf-8")} for v in jcs_values
        ],
        "expand_message_xmd": xmd,
        "hash_to_scalar": h2s,
    }


def elgamal_vectors() -> dict:
    x = scalar("elgamal-secret")
    key = ElectionKey(base_mul(x))
    cases = []
    for m in [0, 1, 2, 1000]:
        r = scalar(f"elgamal-r-{m}")
        ct, _ = encrypt(key, m, r)
        cases.append({"m": m, "r": r.to_hex(), "ciphertext": ct.to_json()})
    c1, c2 = cases[1]["ciphertext"], cases[3]["ciphertext"]
    from crypto.elgamal import Ciphertext

    total = Ciphertext.from_json(c1) + Ciphertext.from_json(c2)
    return {
        "description": "Exponential ElGamal Enc(m; r) = (r·G, m·G + r·K) (§4)",
        "secret_key": x.to_hex(),
        "public_key": key.to_json(),
        "encryptions": cases,
        "sum_of_1_and_1000": total.to_json(),
        "weighted_3_times_m2": Ciphertext.from_json(cases[2]["ciphertext"]).scale(3).to_json(),
    }


def proof_vectors() -> dict:
    out = {
        "description": "Proofs with fixed nonces (§5); 'nonces' lists the scalars drawn, in order",
        "context": FINGERPRINT,
    }
    # Schnorr proof of knowledge
    x = scalar("pok-secret")
    drbg = Drbg("pok-nonces")
    binding = {"purpose": "test", "trustee": 1}
    proof = prove_knowledge(x, context=FINGERPRINT, binding=binding, rand=drbg)
    out["pok"] = {
        "secret": x.to_hex(),
        "public": base_mul(x).to_hex(),
        "binding": binding,
        "nonces": drbg.drawn,
        "proof": proof.to_json(),
    }
    # DLEQ
    x = scalar("dleq-secret")
    base2 = base_mul(scalar("dleq-base2"))
    drbg = Drbg("dleq-nonces")
    binding = {"position": 0, "purpose": "partial-decryption", "trustee": 2}
    proof = prove_dleq(x, base1=G, base2=base2, context=FINGERPRINT, binding=binding, rand=drbg)
    out["dleq"] = {
        "secret": x.to_hex(),
        "base1": G.to_hex(),
        "value1": base_mul(x).to_hex(),
        "base2": base2.to_hex(),
        "value2": (base2 * x).to_hex(),
        "binding": binding,
        "nonces": drbg.drawn,
        "proof": proof.to_json(),
    }
    # Disjunctive proofs
    key = ElectionKey(base_mul(scalar("disjunctive-key")))
    cases = []
    for values, plaintexts in [
        ((0, 1), (0,)),
        ((0, 1), (1,)),
        ((1, 2, 3), (1, 1)),
        ((0, 1, 2), (0, 0, 0)),
    ]:
        drbg = Drbg(f"disjunctive-{values}-{plaintexts}")
        cts, rs = [], []
        for m in plaintexts:
            ct, r = encrypt(key, m, rand=drbg)
            cts.append(ct)
            rs.append(r)
        total_r = Scalar(sum(int(r) for r in rs) % Q)
        binding = {"question": 0}
        proof = prove_membership(
            tag="sum",
            context=FINGERPRINT,
            key=key,
            ciphertexts=cts,
            randomness=total_r,
            plaintext=sum(plaintexts),
            values=values,
            binding=binding,
            rand=drbg,
        )
        cases.append(
            {
                "tag": "sum",
                "values": list(values),
                "plaintexts": list(plaintexts),
                "binding": binding,
                "nonces": drbg.drawn,
                "ciphertexts": [c.to_json() for c in cts],
                "proof": proof.to_json(),
            }
        )
    out["disjunctive"] = {"public_key": key.to_json(), "cases": cases}
    return out


def credential_vectors() -> dict:
    codes = []
    for label in ["a", "b", "c"]:
        digest = bytes.fromhex(digest_json({"code": label}))
        data = "".join(ALPHABET[b % 32] for b in digest[:18])
        code = data + _checksum(data)
        key = derive_signing_key(code, ELECTION_UUID)
        codes.append(
            {
                "code": code,
                "formatted": format_code(code),
                "typed": format_code(code).lower().replace("0", "o").replace("1", "l"),
                "election": ELECTION_UUID,
                "secret": key.secret.to_hex(),
                "public": key.public.to_hex(),
            }
        )
    good = codes[0]["code"]
    swapped = (
        good[:3] + good[4] + good[3] + good[5:]
        if good[3] != good[4]
        else good[:5] + good[6] + good[5] + good[7:]
    )
    wrong = good[:7] + ("0" if good[7] != "0" else "1") + good[8:]
    invalid = [
        {"typed": swapped, "reason": "adjacent transposition"},
        {"typed": wrong, "reason": "one wrong character"},
        {"typed": good[:-1], "reason": "too short"},
        {"typed": good[:-1] + "U", "reason": "U is not in the alphabet"},
    ]
    for case in invalid:
        try:
            normalize_code(case["typed"])
        except InvalidCredential:
            pass
        else:
            raise AssertionError(f"vector {case} is unexpectedly valid")
    return {
        "description": "Credential codes, normalisation and key derivation (§6.1)",
        "alphabet": ALPHABET,
        "pbkdf2_iterations": 1000,
        "valid": codes,
        "invalid": invalid,
    }


def signature_vectors() -> dict:
    key = SigningKey(scalar("signature-secret"))
    message = digest_json({"message": 1})
    random_bytes = bytes.fromhex(digest_json({"signature": "random"}))
    sig = sign(key, message, context=FINGERPRINT, _random=random_bytes)
    return {
        "description": "Credential Schnorr signature (§6.2); the nonce uses the hedged derivation with 'random'",
        "context": FINGERPRINT,
        "secret": key.secret.to_hex(),
        "public": key.public.to_hex(),
        "message": message,
        "random": random_bytes.hex(),
        "signature": sig.to_json(),
    }


def _whole_ballot(key: ElectionKey, questions: list, label: str) -> dict:
    """A whole ballot with fixed nonces for ``questions`` ([(label, QuestionSpec, choices)…]),
    signed by the first valid credential of credentials.json; its audit opens the choices."""
    spec = ElectionSpec(FINGERPRINT, key, tuple(q for _, q, _ in questions))
    code = credential_vectors()["valid"][0]["code"]
    signer = derive_signing_key(code, ELECTION_UUID)
    drbg = Drbg(f"{label}-nonces")
    random_bytes = bytes.fromhex(digest_json({label: "signature random"}))
    choices = [c for _, _, c in questions]
    ballot, secrets = ballot_encrypt(
        spec, signer, choices, rand=drbg, _signature_random=random_bytes
    )
    assert ballot_audit(ballot, spec, secrets) == choices
    return {
        "spec": {
            "fingerprint": FINGERPRINT,
            "public_key": key.to_json(),
            "questions": [dict(q.to_json(), label=label) for label, q, _ in questions],
        },
        "credential_code": code,
        "election_uuid": ELECTION_UUID,
        "choices": choices,
        "nonces": drbg.drawn,
        "signature_random": random_bytes.hex(),
        "ballot": ballot.to_json(),
        "content_digest": ballot.content_digest(),
        "tracker": ballot.tracker(),
        "audit": secrets.to_json(),
    }


def ballot_vectors() -> dict:
    x = scalar("ballot-election-secret")
    key = ElectionKey(base_mul(x))
    questions = [
        ("single choice, 5 options (exact-count)", QuestionSpec(5, 1, 1), [0, 0, 1, 0, 0]),
        ("referendum with blank allowed", QuestionSpec(2, 0, 1), [0, 0]),
        ("approval 0..2 of 4", QuestionSpec(4, 0, 2), [1, 0, 0, 1]),
        ("participatory budget", QuestionSpec(4, 0, 4, (30, 50, 20, 45), 100), [1, 0, 1, 1]),
        ("unconstrained approval", QuestionSpec(3, 0, 3), [1, 1, 0]),
    ]
    return {
        "description": "A whole ballot with fixed nonces (§7); see README for the order nonces are drawn in",
        "election_secret": x.to_hex(),
        **_whole_ballot(key, questions, "ballot"),
    }


def score_vectors() -> dict:
    """Score questions (§5.5): one range proof per value 0…S for S = 3 and S = 10, then a whole
    ballot with a score question, a capped score question and an approval question."""
    x = scalar("score-election-secret")
    key = ElectionKey(base_mul(x))
    signer = derive_signing_key(credential_vectors()["valid"][0]["code"], ELECTION_UUID)
    credential_hex = signer.public.to_hex()
    proofs = []
    for s in (3, 10):
        question = QuestionSpec(1, 0, s, max_score=s)
        for m in range(s + 1):
            drbg = Drbg(f"score-{s}-{m}")
            binding = {"credential": credential_hex, "option": 0, "question": 0}
            ct, _, proof = encrypt_score_with_proof(question, key, FINGERPRINT, m, binding, drbg)
            proofs.append(
                {
                    "max_score": s,
                    "score": m,
                    "binding": binding,
                    "nonces": drbg.drawn,
                    "ciphertext": ct.to_json(),
                    "proof": proof.to_json(),
                }
            )
    questions = [
        ("score 0..10, no limit on the total", QuestionSpec(3, 0, 30, max_score=10), [10, 0, 7]),
        ("score 0..3, total 1..5", QuestionSpec(4, 1, 5, max_score=3), [3, 0, 1, 1]),
        ("approval 0..2 of 3", QuestionSpec(3, 0, 2), [0, 1, 1]),
    ]
    return {
        "description": "Score questions (§5.5) with fixed nonces: range proofs for every value "
        "0…S (S = 3, 10; tag 'score'), and a whole ballot (see README for the order of nonces)",
        "context": FINGERPRINT,
        "election_secret": x.to_hex(),
        "public_key": key.to_json(),
        "proofs": proofs,
        "ballot": _whole_ballot(key, questions, "score-ballot"),
    }


def ecies_vectors() -> dict:
    y = scalar("ecies-recipient")
    e = scalar("ecies-ephemeral")
    recipient = base_mul(y)
    plaintext = scalar("ecies-plaintext").to_bytes()
    aad = canonical_json(
        {"context": FINGERPRINT, "dealer": 1, "purpose": "dkg-share", "recipient": 2}
    )
    message = ecies_encrypt(recipient, plaintext, aad, _ephemeral=e)
    return {
        "description": "ECIES (§8.3): ECDH + HKDF-SHA256 + AES-256-GCM",
        "recipient_secret": y.to_hex(),
        "recipient_public": recipient.to_hex(),
        "ephemeral_secret": e.to_hex(),
        "plaintext": plaintext.hex(),
        "aad": aad.decode(),
        "shared_point": (recipient * e).to_hex(),
        "message": message.to_json(),
    }


def threshold_vectors() -> dict:
    n, t = 3, 2
    trustees = [
        trustee_keygen(i, ELECTION_UUID, rand=Drbg(f"trustee-{i}")) for i in range(1, n + 1)
    ]
    ceremony = Ceremony(ELECTION_UUID, t, tuple(pub for _, pub in trustees))
    polys = [Polynomial([scalar(f"poly-{i}-{k}") for k in range(t)]) for i in range(1, n + 1)]
    dealt = [dkg_deal(polys[i - 1], i, ceremony, rand=Drbg(f"deal-{i}")) for i in range(1, n + 1)]
    deals = [d for _, d in dealt]
    shares = {
        j: dkg_combine_shares(dkg_open_share(d, j, trustees[j - 1][0], ceremony) for d in deals)
        for j in range(1, n + 1)
    }
    confirmations = [
        dkg_confirm(shares[j], j, [1, 2, 3], ceremony, rand=Drbg(f"confirm-{j}"))
        for j in range(1, n + 1)
    ]
    complaint = dkg_complain(
        deals[0], 2, trustees[1][0], ceremony, rand=Drbg("complaint")
    )  # unjustified
    key = dkg_election_key(deals)
    cts = [encrypt(key, m, scalar(f"tally-r-{m}"))[0] for m in (0, 7, 123)]
    from crypto.elgamal import Ciphertext

    cts.append(Ciphertext.zero())
    partials = {
        j: partial_decrypt(shares[j], j, cts, context=FINGERPRINT, rand=Drbg(f"partial-{j}"))
        for j in (1, 3)
    }
    points = combine_partial_decryptions(cts, partials, t)
    return {
        "description": "A 2-of-3 key ceremony (§8), partial decryptions and their combination (§9)",
        "election": ELECTION_UUID,
        "threshold": t,
        "trustee_secrets": [s.y.to_hex() for s, _ in trustees],
        "trustees": [pub.to_json() for _, pub in trustees],
        "ceremony_context": ceremony.context,
        "polynomials": [[a.to_hex() for a in p.coefficients] for p in polys],
        "commitments": [c.to_json() for c, _ in dealt],
        "signed_commitment_1": _signed(trustees[0][0], dealt[0][0].to_json(), ceremony),
        "deals": [d.to_json() for d in deals],
        "shares": {str(j): s.to_hex() for j, s in shares.items()},
        "verification_keys": {
            str(j): dkg_verification_key(deals, j).to_hex() for j in range(1, n + 1)
        },
        "confirmations": [c.to_json() for c in confirmations],
        "complaint_unjustified": complaint.to_json(),
        "election_key": key.to_json(),
        "context": FINGERPRINT,
        "ciphertexts": [c.to_json(allow_identity=True) for c in cts],
        "partial_decryptions": {str(j): p.to_json() for j, p in partials.items()},
        "signed_decryption_3": _signed_decryption(trustees[2][0], partials[3].to_json()),
        "plaintext_points": [p.to_hex_allow_identity() for p in points],
        "plaintexts": [0, 7, 123, 0],
    }


def _signed(secret, message, ceremony) -> dict:
    """Trustee signature (§8.9) with the hedged nonce's random bytes fixed for the vector."""
    from crypto.hashing import Tag
    from crypto.signatures import SigningKey, sign

    random_bytes = bytes.fromhex(digest_json({"trustee-signature": message["dealer"]}))
    signature = sign(
        SigningKey(secret.y),
        digest_json(message),
        context=ceremony.context,
        tag=Tag.TRUSTEE_SIGNATURE,
        _random=random_bytes,
    )
    return {**message, "signature": signature.to_json()}


def _signed_decryption(secret, decryption) -> dict:
    """The ``partial-decryption`` board payload (§12.4): the decryption and its signature (tag
    decryption-signature, context F), the hedged nonce's random bytes fixed for the vector."""
    from crypto.hashing import Tag
    from crypto.signatures import SigningKey, sign

    random_bytes = bytes.fromhex(digest_json({"decryption-signature": decryption["trustee"]}))
    signature = sign(
        SigningKey(secret.y),
        digest_json(decryption),
        context=FINGERPRINT,
        tag=Tag.DECRYPTION_SIGNATURE,
        _random=random_bytes,
    )
    return {"decryption": decryption, "signature": signature.to_json()}


def dlog_vectors() -> dict:
    table = DlogTable(10**6)
    values = [0, 1, 2, 999, 123456, 999999]
    return {
        "description": "Bounded discrete logarithms (§9.3), bound 10^6",
        "bound": 10**6,
        "cases": [
            {"m": m, "point": (base_mul(m).to_hex() if m else "00")}
            for m in values
            if table.solve(base_mul(m) if m else Point.identity()) == m
        ],
    }


def receipt_vectors() -> dict:
    """Receipts signed by the server's own code (voting.receipts.receipt_message, Ed25519 of
    pyca/cryptography) under the board key of a genesis entry, and receipts to reject."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from crypto.board import GENESIS_PREV
    from crypto.board import BoardEntry as ChainEntry
    from voting.receipts import RECEIPT_TAG, receipt_message

    def key(label: str) -> Ed25519PrivateKey:
        seed = hashlib.sha256(f"test-vector board key {label}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    def public_hex(private: Ed25519PrivateKey) -> str:
        return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    board = key("board")
    board_key = public_hex(board)
    genesis = ChainEntry.create(
        election=ELECTION_UUID,
        seq=0,
        kind="election",
        time="2026-11-25T10:00:00.000Z",
        prev=GENESIS_PREV,
        payload={
            "uuid": ELECTION_UUID,
            "slug": "vector-élection",
            "title": "Vector election — «receipts»",
            "board_key": board_key,
        },
    ).to_json()

    def signed(fields: dict, by: Ed25519PrivateKey = board) -> dict:
        return {**fields, "signature": by.sign(receipt_message(fields)).hex()}

    def fields(kind: str, seq: int, label: str) -> dict:
        entry_hash = digest_json({"vector": f"entry {label}"})
        return {
            "election": ELECTION_UUID,
            "kind": kind,
            "tracker": digest_json({"vector": f"tracker {label}"}),
            "seq": seq,
            "entry_hash": entry_hash,
            "head": {"seq": seq, "hash": entry_hash},
        }

    ballot = signed(fields("ballot", 42, "ballot"))
    audit = signed(fields("audit", 43, "audit"))
    # S + L: the same signature with a non-canonical S (RFC 8032 §5.1.7 rejects it)
    order = 2**252 + 27742317777372353535851937790883648493
    sig = bytes.fromhex(ballot["signature"])
    s_plus_l = (int.from_bytes(sig[32:], "little") + order).to_bytes(32, "little")
    flipped = bytearray(sig)
    flipped[5] ^= 0x01
    tampered = [
        ({**ballot, "seq": 41}, "seq changed"),
        ({**ballot, "kind": "audit"}, "a ballot receipt passed off as an audit's"),
        ({**ballot, "tracker": audit["tracker"]}, "tracker changed"),
        ({**ballot, "head": {"seq": 42, "hash": audit["entry_hash"]}}, "head changed"),
        ({**ballot, "signature": bytes(flipped).hex()}, "one bit of the signature flipped"),
        ({**ballot, "signature": (sig[:32] + s_plus_l).hex()}, "S + L (non-canonical S)"),
        (signed(fields("ballot", 42, "ballot"), key("other")), "signed by another key"),
    ]
    forged_genesis = {
        **genesis,
        "payload": {**genesis["payload"], "board_key": public_hex(key("other"))},
    }
    return {
        "description": "Board receipts (§11.9) under the board key of a genesis entry (§11.3)",
        "receipt_domain": RECEIPT_TAG,
        "election_uuid": ELECTION_UUID,
        "genesis": genesis,
        "board_key": board_key,
        "receipts": [{"receipt": r, "message": receipt_message(r).hex()} for r in (ballot, audit)],
        "invalid_receipts": [{"receipt": r, "reason": why} for r, why in tampered],
        "invalid_genesis": [
            {"entry": forged_genesis, "reason": "board key replaced, hash not updated"},
            {"entry": {**genesis, "seq": 1}, "reason": "not seq 0"},
        ],
    }


def tlog_vectors() -> dict:
    """The transparency log (§14): leaf bytes, tree hashes, every inclusion and consistency proof
    of a 17-entry board, checkpoints signed by the log and cosigned by witnesses (Ed25519 is
    deterministic, RFC 8032), tlog proofs for receipts, and malformed or forged ones to reject."""
    from crypto.board import GENESIS_PREV
    from crypto.board import BoardEntry as ChainEntry
    from crypto.checkpoint import AddCheckpoint, Checkpoint, TlogProof, pnyx_origin
    from crypto.note import SIG_COSIGNATURE_V1, NoteSigner, b64encode
    from crypto.tlog import MemoryHashStore, leaf_hash, prove_consistency, prove_inclusion

    def seed(label: str) -> bytes:
        return hashlib.sha256(f"test-vector tlog {label}".encode()).digest()

    def b64s(hashes) -> list[str]:
        return [b64encode(h) for h in hashes]

    origin = pnyx_origin("vote.example.org", ELECTION_UUID)
    log = NoteSigner.from_seed(origin, seed("log key"))
    witnesses = [
        NoteSigner.from_seed(
            f"witness{i}.example.org/pnyx", seed(f"witness {i}"), SIG_COSIGNATURE_V1
        )
        for i in (1, 2, 3)
    ]
    stranger = NoteSigner.from_seed(origin, seed("impostor log key"))

    entries, prev = [], GENESIS_PREV
    for seq in range(17):
        if seq == 0:
            kind = "election"
            payload = {
                "uuid": ELECTION_UUID,
                "slug": "tlog",
                "title": "Vector — «tlog»",
                "board_key": log.verifier.public_key.hex(),
            }
        else:
            kind = "ballot"
            ballot = {"vector": f"ballot {seq}"}
            payload = {"ballot": ballot, "tracker": digest_json(ballot)}
        entry = ChainEntry.create(
            election=ELECTION_UUID,
            seq=seq,
            kind=kind,
            time=f"2026-11-25T10:00:{seq:02d}.000Z",
            prev=prev,
            payload=payload,
        )
        entries.append(entry)
        prev = entry.hash
    leaves = [e.to_line()[:-1] for e in entries]  # §14.1: JCS(entry) without the newline
    store = MemoryHashStore()
    for leaf in leaves:
        store.append(leaf)
    n = store.size

    def note(size: int, *, by=(), timestamp=1_795_000_000, signer=log, extensions=()) -> str:
        text = Checkpoint(origin, size, store.root(size), tuple(extensions)).text()
        lines = [signer.signature_line(text)]
        lines += [w.signature_line(text, timestamp=timestamp + i) for i, w in enumerate(by)]
        return text + "\n" + "".join(lines)

    full = note(n, by=witnesses[:2])
    text17 = Checkpoint(origin, n, store.root(n)).text()
    log_line = log.signature_line(text17)
    w_lines = [
        w.signature_line(text17, timestamp=1_795_000_000 + i) for i, w in enumerate(witnesses)
    ]
    wrong_text = Checkpoint(origin, n, store.root(n - 1)).text()
    other_origin = pnyx_origin("vote.example.org", "00000000-0000-4000-8000-000000000000")
    invalid_notes = [
        (
            text17 + "\n" + log.signature_line(wrong_text),
            "the log's signature is over another root",
            "InvalidSignature",
        ),
        (
            text17 + "\n" + stranger.signature_line(text17),
            "signed by another key under the origin's name",
            "UnverifiedNote",
        ),
        (text17 + "\n" + "".join(w_lines), "cosigned but not signed by the log", "UnverifiedNote"),
        (text17 + "\n" + log_line + w_lines[0], "one witness of a quorum of two", "QuorumNotMet"),
        (text17 + "\n" + log_line + w_lines[0] + w_lines[0], "one witness twice", "QuorumNotMet"),
        (
            text17
            + "\n"
            + log_line
            + w_lines[0]
            + witnesses[0].signature_line(text17, timestamp=5),
            "one witness at two times",
            "QuorumNotMet",
        ),
        (
            text17
            + "\n"
            + log_line
            + w_lines[0]
            + witnesses[1].signature_line(wrong_text, timestamp=7),
            "a witness's cosignature over another root",
            "InvalidSignature",
        ),
        (full.replace("\n\n", "\n"), "no blank line before the signatures", "InvalidNote"),
        (full[:-1], "no final newline", "InvalidNote"),
        (full.replace("— ", "-- ", 1), "a signature line without the em dash", "InvalidNote"),
        (
            full.replace(text17.split("\n")[0], text17.split("\n")[0] + "\r", 1),
            "a carriage return",
            "InvalidNote",
        ),
        (full.replace(f"\n{n}\n", f"\n0{n}\n", 1), "a size with a leading zero", "InvalidNote"),
        (full.replace(f"\n{n}\n", f"\n+{n}\n", 1), "a size with a sign", "InvalidNote"),
        (full.replace(log_line, log_line.replace("=\n", "\n")), "unpadded base64", "InvalidNote"),
        (text17[:-1] + "\n\n\n" + log_line, "an empty extension line", "InvalidNote"),
        (
            note(n, by=witnesses[:2]).replace(origin, other_origin, 1),
            "another election's origin",
            "InvalidNote",
        ),
    ]
    proofs = []
    for index in (0, 7, 16):
        tlog_proof = TlogProof(
            index, tuple(prove_inclusion(index, n, store)), full, extra=leaves[index]
        )
        proofs.append(
            {
                "index": index,
                "tracker": entries[index].payload.get("tracker"),
                "proof": tlog_proof.to_text(),
            }
        )
    good = TlogProof.from_text(proofs[1]["proof"])
    swapped = TlogProof(7, good.proof, full, extra=leaves[8])
    renumbered = TlogProof(8, good.proof, full, extra=leaves[7])
    weak = TlogProof(7, good.proof, note(n, by=witnesses[:1]), extra=leaves[7])
    flipped = TlogProof(
        7,
        (bytes([good.proof[0][0] ^ 1]) + good.proof[0][1:], *good.proof[1:]),
        full,
        extra=leaves[7],
    )
    older = TlogProof(7, tuple(prove_inclusion(7, 12, store)), full, extra=leaves[7])
    text = proofs[1]["proof"]
    invalid_proofs = [
        (swapped.to_text(), "another entry in extra", "InvalidMerkleProof"),
        (renumbered.to_text(), "the entry's seq is not the index", "InvalidMerkleProof"),
        (weak.to_text(), "a checkpoint with one witness of two", "QuorumNotMet"),
        (flipped.to_text(), "one bit of the inclusion proof flipped", "InvalidMerkleProof"),
        (older.to_text(), "the proof for a smaller tree", "InvalidMerkleProof"),
        (
            text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
            "another header",
            "InvalidNote",
        ),
        (
            text.replace("\nindex 7\n", "\nindex 07\n"),
            "an index with a leading zero",
            "InvalidNote",
        ),
        (text.replace("\nindex 7\n", "\n"), "no index line", "InvalidNote"),
        (
            text.replace("\n\n" + full, "\n" + full),
            "no blank line before the checkpoint",
            "InvalidNote",
        ),
    ]
    inclusion = [
        {"index": i, "size": s, "proof": b64s(prove_inclusion(i, s, store))}
        for s in range(1, n + 1)
        for i in range(s)
    ]
    consistency = [
        {"old": m, "new": s, "proof": b64s(prove_consistency(m, s, store))}
        for s in range(0, n + 1)
        for m in range(0, s + 1)
    ]
    p = prove_inclusion(5, 13, store)
    c = prove_consistency(6, 13, store)
    invalid_inclusion = [
        {
            "index": 5,
            "size": 13,
            "leaf": leaf_hash(leaves[5]).hex(),
            "proof": b64s(p[:-1]),
            "reason": "one hash short",
        },
        {
            "index": 5,
            "size": 13,
            "leaf": leaf_hash(leaves[5]).hex(),
            "proof": b64s([*p, p[0]]),
            "reason": "one hash too many",
        },
        {
            "index": 4,
            "size": 13,
            "leaf": leaf_hash(leaves[5]).hex(),
            "proof": b64s(p),
            "reason": "another index",
        },
        {
            "index": 5,
            "size": 13,
            "leaf": leaf_hash(leaves[6]).hex(),
            "proof": b64s(p),
            "reason": "another leaf",
        },
        {
            "index": 13,
            "size": 13,
            "leaf": leaf_hash(leaves[5]).hex(),
            "proof": b64s(p),
            "reason": "index = size",
        },
        {
            "index": 5,
            "size": 13,
            "leaf": leaf_hash(leaves[5]).hex(),
            "proof": b64s(p[::-1]),
            "reason": "reordered",
        },
    ]
    invalid_consistency = [
        {"old": 6, "new": 13, "proof": b64s(c[:-1]), "reason": "one hash short"},
        {"old": 6, "new": 13, "proof": b64s([*c, c[0]]), "reason": "one hash too many"},
        {"old": 7, "new": 13, "proof": b64s(c), "reason": "another old size"},
        {"old": 6, "new": 12, "proof": b64s(c), "reason": "another new size"},
        {"old": 0, "new": 13, "proof": b64s(c[:1]), "reason": "a proof from the empty tree"},
        {"old": 13, "new": 13, "proof": b64s(c[:1]), "reason": "a proof between equal sizes"},
        {"old": 13, "new": 6, "proof": b64s(c), "reason": "the new tree is smaller"},
    ]
    bad_vkey = log.verifier.vkey.split("+")
    return {
        "description": "Transparency log (§14): RFC 9162 tree, signed notes, checkpoints, "
        "cosignature/v1, tlog proofs",
        "origin": origin,
        "log": {"seed": seed("log key").hex(), "vkey": log.verifier.vkey},
        "witnesses": [
            {"seed": seed(f"witness {i}").hex(), "vkey": w.verifier.vkey}
            for i, w in zip((1, 2, 3), witnesses, strict=True)
        ],
        "quorum": 2,
        "leaves": [leaf.decode("utf-8") for leaf in leaves],
        "leaf_hashes": [leaf_hash(leaf).hex() for leaf in leaves],
        "roots": [store.root(s).hex() for s in range(n + 1)],
        "inclusion": inclusion,
        "consistency": consistency,
        "invalid_inclusion": invalid_inclusion,
        "invalid_consistency": invalid_consistency,
        "cosignature": {
            "text": text17,
            "timestamp": 1_795_000_000,
            "message": f"cosignature/v1\ntime 1795000000\n{text17}",
            "line": w_lines[0],
        },
        "checkpoints": [
            {"size": s, "note": note(s, by=witnesses[: 1 + s % 3]), "witnesses": 1 + s % 3}
            for s in (0, 1, 2, 3, 8, n)
        ]
        + [
            {
                "size": n,
                "note": note(n, by=witnesses, extensions=["extension line"]),
                "witnesses": 3,
            }
        ],
        "invalid_checkpoints": [
            {"note": t, "reason": why, "error": err} for t, why, err in invalid_notes
        ],
        "invalid_vkeys": [
            {
                "vkey": "+".join([bad_vkey[0], bad_vkey[1].upper(), bad_vkey[2]]),
                "reason": "upper-case key ID",
            },
            {
                "vkey": "+".join([bad_vkey[0], f"{int(bad_vkey[1], 16) ^ 1:08x}", bad_vkey[2]]),
                "reason": "wrong key ID",
            },
            {
                "vkey": "+".join([bad_vkey[0] + "x", bad_vkey[1], bad_vkey[2]]),
                "reason": "another name",
            },
            {
                "vkey": "+".join(
                    [bad_vkey[0], bad_vkey[1], b64encode(b"\x01" + bytes(31) + b"\x80")]
                ),
                "reason": "not a canonical point",
            },
            {
                "vkey": "+".join(
                    ["weak.example", f"{0:08x}", b64encode(b"\x01" + (1).to_bytes(32, "little"))]
                ),
                "reason": "the identity point",
            },
            {"vkey": "+".join(bad_vkey[:2]), "reason": "two parts"},
            {"vkey": "a b+" + "+".join(bad_vkey[1:]), "reason": "a space in the name"},
        ],
        "tlog_proofs": proofs,
        "invalid_tlog_proofs": [
            {"proof": t, "reason": why, "error": err} for t, why, err in invalid_proofs
        ],
        "add_checkpoint": AddCheckpoint(12, tuple(prove_consistency(12, n, store)), full.encode())
        .to_bytes()
        .decode("utf-8"),
    }


def pointenc_vectors() -> dict:
    """Byte strings and small integers as points (§15.2), and points that must not decode."""
    b = BYTES_PER_POINT
    texts = [
        b"",
        b"a",
        "Ελευθερία".encode(),
        bytes(range(b - 1)),
        bytes(range(b)),
        bytes(range(b + 1)),
        b"\x80",
        b"\x00" * (b - 1),
        b"\x80\x00" * b,
        b"\xff" * (2 * b - 1),
        b"\xff" * (2 * b),
        bytes(range(256))[: 3 * b],
    ]
    cases = []
    for data in texts:
        for extra in (0, 1):
            points = encode_bytes(data, len(data) // b + 1 + extra)
            cases.append(
                {
                    "data_hex": data.hex(),
                    "points": len(points),
                    "encoded": [p.to_hex() for p in points],
                    "counters": [p.coordinates()[0] & 0xFF for p in points],
                }
            )
    good = encode_block(b"a block for the invalid cases.")
    x = good.coordinates()[0]
    later = next(c for c in range((x & 0xFF) + 1, 256) if _has_point((x & ~0xFF) | c))
    invalid = [
        {"encoded": [(-good).to_hex()], "reason": "odd ordinate"},
        {
            "encoded": [_point_with_x((x & ~0xFF) | later).to_hex()],
            "reason": "counter not the smallest",
        },
        {"encoded": [G.to_hex()], "reason": "abscissa ≥ 2^248"},
        {"encoded": [encode_block(b"x" * b).to_hex()], "reason": "no padding byte"},
        {"encoded": [encode_block(bytes(b)).to_hex()], "reason": "all zero: no padding byte"},
        {
            "encoded": [encode_block(b"ab\x80" + bytes(b - 4) + b"\x01").to_hex()],
            "reason": "a non-zero byte after the padding byte",
        },
    ]
    for case in invalid:
        if _decodes([Point.from_hex(h) for h in case["encoded"]]):
            raise AssertionError(case["reason"])
    ints = [{"m": m, "point": encode_int(m).to_hex_allow_identity()} for m in (0, 1, 2, 1000)]
    for case in ints:
        assert decode_int(Point.from_hex(case["point"], allow_identity=True)) == case["m"]
    return {
        "description": "Bytes as points (§15.2): 30 bytes a point, 0x80 padding, smallest counter, "
        "even ordinate; small integers as m·G; encodings that must be refused",
        "bytes_per_point": b,
        "cases": cases,
        "invalid": invalid,
        "small_integers": ints,
    }


def _decodes(points: list[Point]) -> bool:
    from crypto.errors import InvalidEncoding

    try:
        decode_bytes(points)
    except InvalidEncoding:
        return False
    return True


def _has_point(x: int) -> bool:
    from crypto.group import curve_rhs, fp_sqrt

    return fp_sqrt(curve_rhs(x)) is not None


def _point_with_x(x: int) -> Point:
    from crypto.group import P, curve_rhs, fp_sqrt

    y = fp_sqrt(curve_rhs(x))
    return Point.from_affine(x, y if y % 2 == 0 else P - y)


def mix_vectors() -> dict:
    """A 3-row, width-2 shuffle with its proof (§15.4–§15.7) and a 2-of-3 decryption (§15.8)."""
    fingerprint = digest_json({"vector": "mix election"})
    coefficients = [scalar("mix-poly-0"), scalar("mix-poly-1")]
    poly = Polynomial(coefficients)
    key = ElectionKey(base_mul(coefficients[0]))
    mixer_secret = scalar("mix-mixer-secret")
    setting = ShuffleSetting(fingerprint, key, 1, base_mul(mixer_secret))
    enc = Drbg("mix-encryptions")
    rows = []
    for text, weight in ((b"yes", 1), (b"no", 3), (b"", 0)):
        row, _ = encrypt_row(key, [encode_bytes(text)[0]], rand=enc)
        rows.append((*row, public_ciphertext(encode_int(weight))))
    inputs = CiphertextList(2, tuple(rows))
    shuffle_drbg = Drbg("mix-shuffle")
    outputs, witness = shuffle(
        key, inputs, rand=shuffle_drbg, randbelow=lambda n: int(shuffle_drbg()) % n
    )
    proof_drbg = Drbg("mix-proof")
    proof = prove_shuffle(setting, inputs, outputs, witness, rows_per_chunk=2, rand=proof_drbg)
    gens = ShuffleGenerators(fingerprint)
    decryptions = {}
    for t in (1, 3):
        drbg = Drbg(f"mix-decryption-{t}")
        decryptions[t] = (
            mix_partial_decrypt(poly(t), t, outputs, 0, fingerprint=fingerprint, rand=drbg),
            drbg.drawn,
        )
    messages = mix_combine(outputs, {t: d for t, (d, _) in decryptions.items()}, 2)
    return {
        "description": "The mixnet (§15): generators, a width-2 shuffle of 3 rows with its proof, "
        "and the verified decryption of its output by trustees 1 and 3 of 3 (threshold 2)",
        "fingerprint": fingerprint,
        "generator_dst": GENERATOR_DST.decode(),
        "generators": {
            "chain_base": gens.chain_base.to_hex(),
            "rows": [p.to_hex() for p in gens.rows(0, 4)],
        },
        "election_key": key.to_json(),
        "polynomial": [a.to_hex() for a in coefficients],
        "mixer": {"index": 1, "public_key": setting.mixer_key.to_hex()},
        "input": inputs.to_json(),
        "input_digest": inputs.digest(),
        "encryption_nonces": enc.drawn,
        "permutation": list(witness.permutation),
        "reencryption_randomness": [[r.to_hex() for r in row] for row in witness.randomness],
        "output": outputs.to_json(),
        "output_digest": outputs.digest(),
        "proof_nonces": proof_drbg.drawn,
        "proof": proof.to_json(),
        "decryptions": {
            str(t): {
                "share": poly(t).to_hex(),
                "verification_key": base_mul(poly(t)).to_hex(),
                "nonces": nonces,
                "decryption": d.to_json(),
            }
            for t, (d, nonces) in decryptions.items()
        },
        "messages": [[m.to_hex_allow_identity() for m in row] for row in messages],
        "decoded": [
            {"text_hex": decode_bytes(row[:1]).hex(), "weight": decode_int(row[1])}
            for row in messages
        ],
    }


FILES = {
    "group.json": group_vectors,
    "hashing.json": hashing_vectors,
    "elgamal.json": elgamal_vectors,
    "proofs.json": proof_vectors,
    "credentials.json": credential_vectors,
    "signatures.json": signature_vectors,
    "ballots.json": ballot_vectors,
    "score.json": score_vectors,
    "ecies.json": ecies_vectors,
    "threshold.json": threshold_vectors,
    "dlog.json": dlog_vectors,
    "receipts.json": receipt_vectors,
    "tlog.json": tlog_vectors,
    "pointenc.json": pointenc_vectors,
    "mix.json": mix_vectors,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if a file is missing or would change"
    )
    args = parser.parse_args()
    stale = []
    for name, build in FILES.items():
        text = render(build)
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale vectors: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
