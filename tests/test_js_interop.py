"""Ballots made by the browser booth's JavaScript (frontend/) verify and audit in the Python core.

Each case runs ``node frontend/tools/make_ballot.mjs`` (real randomness) on an election built here,
then checks the JS ballot with ``crypto.ballot.ballot_verify`` and ``ballot_audit``, and that both
sides agree on the credential key (PBKDF2), the content digest, the tracker, the canonical bytes
and the manifest fingerprint.

Node and ``frontend/node_modules`` (``make js``) are needed: without them the tests skip, except
under ``PNYX_REQUIRE_SERVICES=1`` (``make test``, CI), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
from crypto.credentials import derive_signing_key, generate_code
from crypto.elgamal import decrypt_to_point, keygen
from crypto.errors import InvalidProof
from crypto.group import G, Point, base_mul
from crypto.hashing import canonical_json, digest_json, parse_json
from crypto.manifest import Manifest

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
CLI = FRONTEND / "tools" / "make_ballot.mjs"
ELECTION_UUID = "6b1f0c2e-2d4a-4f7e-8a51-9c3d2e1f0a77"
NODE = shutil.which("node")


def _missing() -> str | None:
    if NODE is None:
        return "node is not installed"
    if not (FRONTEND / "node_modules" / "@noble" / "curves").is_dir():
        return "frontend/node_modules is missing (run `make js`)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _node_available() -> None:
    problem = _missing()
    if problem is None:
        return
    if os.environ.get("PNYX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PNYX_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
    pytest.skip(problem)


def _run(request: dict) -> tuple[int, dict]:
    proc = subprocess.run(
        [NODE, str(CLI)],
        input=json.dumps(request).encode("utf-8"),
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")
    return proc.returncode, parse_json(proc.stdout)


def _make(request: dict) -> dict:
    code, out = _run(request)
    assert code == 0, out
    return out


SHAPES = {
    "single choice of 5 (exact-count)": (QuestionSpec(5, 1, 1), [0, 0, 0, 1, 0]),
    "referendum, blank": (QuestionSpec(2, 0, 1), [0, 0]),
    "referendum, yes": (QuestionSpec(2, 1, 1), [1, 0]),
    "referendum, no (implied option)": (QuestionSpec(2, 1, 1), [0, 1]),
    "exactly 2 of 4": (QuestionSpec(4, 2, 2), [0, 1, 0, 1]),
    "approval 1..3 of 4": (QuestionSpec(4, 1, 3), [1, 1, 1, 0]),
    "approval 0..5 of 20": (
        QuestionSpec(20, 0, 5),
        [1, 0, 0, 1, 0] * 2 + [0, 0, 1, 0, 0] + [0] * 5,
    ),
    "unconstrained approval": (QuestionSpec(3, 0, 3), [1, 0, 1]),
    "budget": (QuestionSpec(4, 0, 4, (30, 50, 20, 45), 100), [1, 0, 1, 1]),
    "budget, nothing chosen": (QuestionSpec(3, 0, 2, (7, 0, 9), 1000), [0, 0, 0]),
    "budget of 0 with free options": (QuestionSpec(3, 1, 3, (0, 0, 5), 0), [1, 1, 0]),
    "budget near the maximum": (QuestionSpec(2, 0, 2, (2**40, 1), 2**40), [1, 0]),
    "score 0..10, no limit": (QuestionSpec(3, 0, 30, max_score=10), [10, 0, 7]),
    "score 0..3, total 1..5": (QuestionSpec(4, 1, 5, max_score=3), [3, 0, 1, 1]),
    "score 0..1, all zero": (QuestionSpec(2, 0, 2, max_score=1), [0, 0]),
    "score 0..2, exact total": (QuestionSpec(3, 4, 4, max_score=2), [2, 0, 2]),
}


def _request(spec: ElectionSpec, code: str, choices: list[list[int]]) -> dict:
    return {
        "spec": {
            "fingerprint": spec.fingerprint,
            "public_key": spec.key.to_json(),
            "questions": [q.to_json() for q in spec.questions],
        },
        "election_uuid": ELECTION_UUID,
        "credential": code,
        "choices": choices,
    }


def _check(out: dict, spec: ElectionSpec, code: str, choices: list[list[int]], sk=None) -> Ballot:
    ballot = Ballot.from_json(out["ballot"])
    ballot_verify(ballot, spec)
    secrets = BallotSecrets.from_json(out["secrets"])
    assert ballot_audit(ballot, spec, secrets) == choices
    assert secrets.to_json() == out["secrets"]
    # the same JSON, key order included, and the same digests
    assert ballot.to_json() == out["ballot"]
    assert list(out["ballot"]) == ["version", "election", "credential", "answers", "signature"]
    assert canonical_json(ballot.to_json()) == canonical_json(out["ballot"])
    assert ballot.tracker() == out["tracker"] == digest_json(out["ballot"])
    assert ballot.content_digest() == out["content_digest"]
    # both sides derive the same credential key from the code (PBKDF2, §6.1)
    assert ballot.credential == derive_signing_key(code, ELECTION_UUID).public
    if sk is not None:  # decrypting with the election secret gives the choices too
        for answer, picks in zip(ballot.answers, choices, strict=True):
            for ct, x in zip(answer.choices, picks, strict=False):
                m = decrypt_to_point(sk, ct)
                assert m.is_identity() if x == 0 else m == base_mul(x)
    return ballot


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_js_ballot_verifies_in_python(name):
    question, picks = SHAPES[name]
    sk, key = keygen()
    spec = ElectionSpec(digest_json({"interop": name}), key, (question,))
    code = generate_code()
    out = _make(_request(spec, code, [picks]))
    _check(out, spec, code, [picks], sk)


def test_js_ballot_with_every_shape_at_once():
    sk, key = keygen()
    names = sorted(SHAPES)
    spec = ElectionSpec(digest_json({"interop": "all"}), key, tuple(SHAPES[n][0] for n in names))
    choices = [SHAPES[n][1] for n in names]
    code = generate_code()
    out = _make(_request(spec, code, choices))
    _check(out, spec, code, choices, sk)
    steps = 1 + sum(
        q.encrypted_options + (q.sum_values is not None) + q.budget_bits for q in spec.questions
    )
    assert out["progress_steps"] == steps


def test_js_ballot_is_bound_to_its_election():
    _, key = keygen()
    question, picks = SHAPES["approval 1..3 of 4"]
    spec = ElectionSpec(digest_json({"interop": "bound"}), key, (question,))
    code = generate_code()
    out = _make(_request(spec, code, [picks]))
    ballot = Ballot.from_json(out["ballot"])
    other_key = ElectionSpec(spec.fingerprint, keygen()[1], spec.questions)
    with pytest.raises(InvalidProof):
        ballot_verify(ballot, other_key)
    # a JS ballot with one ciphertext altered fails in Python
    tampered = json.loads(json.dumps(out["ballot"]))
    beta = tampered["answers"][0]["choices"][0]["beta"]
    tampered["answers"][0]["choices"][0]["beta"] = (Point.from_hex(beta) + G).to_hex()
    with pytest.raises(InvalidProof):
        ballot_verify(Ballot.from_json(tampered), spec)


def _manifest(key_hex: str) -> dict:
    def option(oid: str, title: str, cost: int | None = None) -> dict:
        return {"id": oid, "title": title, "description": f"{title} — détails", "cost": cost}

    keys = [base_mul(k).to_hex() for k in (101, 102, 103, 104, 105, 106)]
    return {
        "version": 1,
        "election": {
            "uuid": ELECTION_UUID,
            "slug": "interop-2025",
            "title": "Élection 😀 \u2028 test",
            "description": 'Line one\nLine two "quoted" \\ \u0001',
            "opens_at": "2025-03-01T08:00:00Z",
            "closes_at": "2025-03-08T20:00:00Z",
        },
        "questions": [
            {
                "id": "q1",
                "kind": "referendum",
                "title": "Adopt?",
                "description": "",
                "options": [option("yes", "Yes"), option("no", "No")],
                "min": 0,
                "max": 1,
                "budget": None,
            },
            {
                "id": "q2",
                "kind": "single",
                "title": "Mayor",
                "description": "",
                "options": [option("a", "Ada"), option("b", "Bo"), option("c", "Cy")],
                "min": 1,
                "max": 1,
                "budget": None,
            },
            {
                "id": "q3",
                "kind": "approval",
                "title": "Council",
                "description": "",
                "options": [option(x, x.upper()) for x in "abcde"],
                "min": 1,
                "max": 3,
                "budget": None,
            },
            {
                "id": "q4",
                "kind": "budget",
                "title": "Projects",
                "description": "",
                "options": [
                    option("p", "Park", 40),
                    option("s", "School", 70),
                    option("l", "Lib", 25),
                ],
                "min": 0,
                "max": 3,
                "budget": 100,
            },
        ],
        "trustees": [
            {"index": 1, "name": "Alice", "public_key": keys[0]},
            {"index": 2, "name": "Bob", "public_key": keys[1]},
            {"index": 3, "name": "Chloé", "public_key": keys[2]},
        ],
        "threshold": 2,
        "ceremony": "c" * 64,
        "public_key": key_hex,
        "verification_keys": keys[3:],
        "credentials": {"count": 3, "digest": "d" * 64, "total_weight": 7},
    }


def test_js_ballot_for_a_manifest():
    sk, key = keygen()
    manifest = Manifest.from_json(_manifest(key.to_json()))
    choices = [[0, 1], [0, 0, 1], [1, 0, 1, 0, 0], [1, 0, 1]]
    code = generate_code()
    out = _make({"manifest": manifest.to_json(), "credential": code, "choices": choices})
    assert out["fingerprint"] == manifest.fingerprint
    _check(out, manifest.spec, code, choices, sk)


def test_js_refuses_invalid_choices_and_credentials():
    _, key = keygen()
    spec = ElectionSpec(digest_json({"interop": "refuse"}), key, (QuestionSpec(3, 1, 1),))
    code = generate_code()
    status, out = _run(_request(spec, code, [[1, 1, 0]]))
    assert status == 2 and out["error"]["name"] == "InvalidBallot"
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    status, out = _run(_request(spec, mistyped, [[1, 0, 0]]))
    assert status == 2 and out["error"]["name"] == "InvalidCredential"


# --- Text as points (crypto/pointenc.py ↔ frontend/src/pointenc.mjs) -------------------------------


def _encode_in_js(messages: list[tuple[bytes, int | None]], decode: list[list[str]]) -> dict:
    request = {
        "messages": [{"hex": m.hex(), "points": n} for m, n in messages],
        "decode": decode,
    }
    proc = subprocess.run(
        [NODE, str(FRONTEND / "tools" / "encode_text.mjs")],
        input=json.dumps(request).encode("utf-8"),
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode(errors="replace")
    return parse_json(proc.stdout)


def test_text_encodes_to_the_same_points_in_js_and_python():
    """Every length over four points, random and edge bytes, fixed widths: the browser's points
    are Python's, byte for byte, and each side decodes the other's (and refuses the same junk)."""
    import os
    import random

    from crypto.errors import InvalidEncoding
    from crypto.pointenc import BYTES_PER_POINT, decode_bytes, encode_bytes

    rnd = random.Random(12345)
    messages: list[tuple[bytes, int | None]] = [
        (os.urandom(n), None) for n in range(4 * BYTES_PER_POINT + 2)
    ]
    for _ in range(40):
        data = bytes(
            rnd.choice([0, 0x80, 0xFF, rnd.randrange(256)]) for _ in range(rnd.randrange(90))
        )
        messages.append((data, len(data) // BYTES_PER_POINT + 1 + rnd.randrange(3)))
    messages.append(("Ελευθερία — 🗳️".encode(), 3))
    python = [[p.to_hex() for p in encode_bytes(m, n)] for m, n in messages]
    junk = [[base_mul(7).to_hex()], [(-encode_bytes(b"x")[0]).to_hex()]]
    out = _encode_in_js(messages, python + junk)
    assert out["encoded"] == python
    assert out["decoded"][: len(python)] == [m.hex() for m, _ in messages]
    assert out["decoded"][len(python) :] == [{"error": "InvalidEncoding"}] * 2
    for points, (data, _) in zip(out["encoded"], messages, strict=True):
        assert decode_bytes([Point.from_hex(h) for h in points]) == data
    for points in junk:
        with pytest.raises(InvalidEncoding):
            decode_bytes([Point.from_hex(h) for h in points])
