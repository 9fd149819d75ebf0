"""The browser's log library (frontend/src/tlog.mjs) reaches the Python core's verdict on random
cases: proofs in trees up to 2^40 leaves and their tampered copies, cosigned checkpoints and
receipts with random byte changes. Each verdict is "ok" or the same error class name on both sides.

Node and ``frontend/node_modules`` (``make js``) are needed: without them the tests skip, except
under ``PNYX_REQUIRE_SERVICES=1`` (``make test``, CI), where they fail.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto.checkpoint import WitnessPolicy, open_checkpoint, verify_entry_proof
from crypto.errors import CryptoError
from crypto.note import NoteVerifier, b64decode, b64encode
from crypto.tlog import prove_consistency, prove_inclusion, verify_consistency, verify_inclusion
from tests.crypto.test_tlog import SyntheticStore

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "frontend" / "tools" / "tlog_check.mjs"
NODE = shutil.which("node")
VECTORS = json.loads((ROOT / "tests" / "vectors" / "tlog.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", autouse=True)
def _node_available() -> None:
    problem = None
    if NODE is None:
        problem = "node is not installed"
    elif not (ROOT / "frontend" / "node_modules" / "@noble" / "curves").is_dir():
        problem = "frontend/node_modules is missing (run `make js`)"
    if problem is None:
        return
    if os.environ.get("PNYX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PNYX_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
    pytest.skip(problem)


def js_verdicts(checks: list[dict]) -> list[str]:
    done = subprocess.run(
        [NODE, str(TOOL)],
        input=json.dumps(checks).encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()[-2000:]
    return json.loads(done.stdout)


def python_verdict(check: dict) -> str:
    try:
        if check["op"] == "inclusion":
            verify_inclusion(
                bytes.fromhex(check["leaf"]),
                check["index"],
                check["size"],
                [b64decode(h, "p") for h in check["proof"]],
                bytes.fromhex(check["root"]),
            )
        elif check["op"] == "consistency":
            verify_consistency(
                check["old"],
                check["new"],
                bytes.fromhex(check["old_root"]),
                bytes.fromhex(check["new_root"]),
                [b64decode(h, "p") for h in check["proof"]],
            )
        else:
            policy = WitnessPolicy.from_vkeys(check["witness_vkeys"], check["quorum"])
            log_key = NoteVerifier.from_vkey(check["log_vkey"])
            if check["op"] == "checkpoint":
                open_checkpoint(
                    check["note"], origin=check["origin"], log_key=log_key, policy=policy
                )
            else:
                verify_entry_proof(
                    check["proof"], origin=check["origin"], log_key=log_key, policy=policy
                )
        return "ok"
    except CryptoError as exc:
        return type(exc).__name__


def _tamper(rng: random.Random, proof: list[bytes]) -> list[bytes]:
    choice = rng.randrange(4)
    if not proof or choice == 0:
        return [*proof, rng.randbytes(32)]
    if choice == 1:
        return proof[:-1]
    k = rng.randrange(len(proof))
    out = list(proof)
    out[k] = bytes([out[k][0] ^ (1 << rng.randrange(8))]) + out[k][1:]
    if choice == 3 and len(out) > 1:
        out[0], out[-1] = out[-1], out[0]
    return out


def test_proofs_agree_on_random_trees():
    rng = random.Random(1125)
    store = SyntheticStore()
    checks = []
    for _ in range(250):
        size = rng.choice([rng.randint(1, 70), rng.randint(1, 5000), rng.randint(1, 2**40)])
        index = rng.randrange(size)
        root = store.mth(0, size)
        proof = prove_inclusion(index, size, store)
        for p, i in ((proof, index), (_tamper(rng, proof), index), (proof, rng.randrange(size))):
            checks.append(
                {
                    "op": "inclusion",
                    "leaf": store.mth(index, index + 1).hex(),
                    "index": i,
                    "size": size,
                    "proof": [b64encode(h) for h in p],
                    "root": root.hex(),
                }
            )
        old = rng.randint(0, size)
        cproof = prove_consistency(old, size, store)
        old_root = store.mth(0, old) if old else bytes.fromhex(VECTORS["roots"][0])
        for p, m in ((cproof, old), (_tamper(rng, cproof), old), (cproof, rng.randint(0, size))):
            checks.append(
                {
                    "op": "consistency",
                    "old": m,
                    "new": size,
                    "old_root": old_root.hex(),
                    "new_root": root.hex(),
                    "proof": [b64encode(h) for h in p],
                }
            )
    ours = [python_verdict(c) for c in checks]
    assert js_verdicts(checks) == ours
    assert 200 < ours.count("ok") < len(ours) - 200


def test_notes_and_receipts_agree_under_random_changes():
    rng = random.Random(2026)
    common = {
        "origin": VECTORS["origin"],
        "log_vkey": VECTORS["log"]["vkey"],
        "witness_vkeys": [w["vkey"] for w in VECTORS["witnesses"]],
        "quorum": VECTORS["quorum"],
    }
    checks = []
    notes = [c["note"] for c in VECTORS["checkpoints"]] + [
        c["note"] for c in VECTORS["invalid_checkpoints"]
    ]
    for note in notes:
        checks.append({"op": "checkpoint", "note": note, **common})
    for _ in range(300):
        note = rng.choice(notes).encode()
        k = rng.randrange(len(note))
        changed = (
            note[:k] + bytes([rng.choice([0x0A, 0x20, 0x2B, 0x3D, note[k] ^ 1])]) + note[k + 1 :]
        )
        try:
            text = changed.decode("utf-8")
        except UnicodeDecodeError:
            continue
        checks.append({"op": "checkpoint", "note": text, **common})
    proofs = [c["proof"] for c in VECTORS["tlog_proofs"] + VECTORS["invalid_tlog_proofs"]]
    for proof in proofs:
        checks.append({"op": "entry-proof", "proof": proof, **common})
    for _ in range(200):
        proof = rng.choice(proofs)
        k = rng.randrange(len(proof))
        checks.append(
            {
                "op": "entry-proof",
                "proof": proof[:k] + rng.choice("A/+=\n 0") + proof[k + 1 :],
                **common,
            }
        )
    ours = [python_verdict(c) for c in checks]
    assert js_verdicts(checks) == ours
    assert ours.count("ok") >= 5 and len(set(ours)) >= 4
