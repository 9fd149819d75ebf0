"""Transparency-log benchmark (crypto/tlog.py, crypto/note.py, pnyx-witness): prints one JSON object.

Everything is measured in the same run and also given as a multiple of one P-256 scalar
multiplication (``base_mul``, the unit of docs/performance.md), so that numbers from different
machines compare:

- ``append_us``: one leaf appended to an in-memory store of ``--size`` leaves (stored hashes);
- ``prove_inclusion_us`` / ``prove_consistency_us``: one proof from the stored hashes;
- ``verify_inclusion_us`` / ``verify_consistency_us``: checking one;
- ``open_checkpoint_us``: a checkpoint with the log signature and 3 witness cosignatures under a
  2-of-3 policy (4 Ed25519 verifications);
- ``witness_add_checkpoint_us``: one add-checkpoint request handled by pnyx-witness (parse, log
  signature, consistency proof, cosignature, SQLite commit with synchronous=FULL).

    python bench/tlog.py [--size 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crypto.checkpoint import AddCheckpoint, Checkpoint, WitnessPolicy, open_checkpoint  # noqa: E402
from crypto.group import Scalar, base_mul  # noqa: E402
from crypto.note import SIG_COSIGNATURE_V1, NoteSigner  # noqa: E402
from crypto.tlog import (  # noqa: E402
    MemoryHashStore,
    leaf_hash,
    prove_consistency,
    prove_inclusion,
    verify_consistency,
    verify_inclusion,
)


def per_call_us(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(1)
    k = Scalar(rng.randrange(1, 2**250))
    unit = per_call_us(lambda: base_mul(k), 300)

    store = MemoryHashStore()
    leaves = [rng.randbytes(200) for _ in range(1000)]
    start = time.perf_counter()
    for i in range(args.size):
        store.append(leaves[i % 1000])
    append = (time.perf_counter() - start) / args.size * 1e6
    n = store.size
    root = store.root()
    indices = [rng.randrange(n) for _ in range(200)]
    olds = [rng.randint(1, n - 1) for _ in range(200)]
    it = iter(indices * 10)
    prove_inc = per_call_us(lambda: prove_inclusion(next(it), n, store), 1000)
    proofs = [(i, prove_inclusion(i, n, store)) for i in indices]
    it2 = iter(proofs * 10)

    def check_inclusion():
        i, p = next(it2)
        verify_inclusion(leaf_hash(leaves[i % 1000]), i, n, p, root)

    verify_inc = per_call_us(check_inclusion, 1000)
    it3 = iter(olds * 10)
    prove_con = per_call_us(lambda: prove_consistency(next(it3), n, store), 1000)
    cons = [(m, store.root(m), prove_consistency(m, n, store)) for m in olds]
    it4 = iter(cons * 10)

    def check_consistency():
        m, r, p = next(it4)
        verify_consistency(m, n, r, root, p)

    verify_con = per_call_us(check_consistency, 1000)

    origin = "bench.example/pnyx/6b1f0c2e-2d4a-4f7e-8a51-9c3d2e1f0a77"
    log = NoteSigner.generate(origin)
    witnesses = [NoteSigner.generate(f"w{i}.example", SIG_COSIGNATURE_V1) for i in range(3)]
    policy = WitnessPolicy(tuple(w.verifier for w in witnesses), 2)
    text = Checkpoint(origin, n, root).text()
    note = text + "\n" + log.signature_line(text)
    note += "".join(w.signature_line(text, timestamp=1_800_000_000) for w in witnesses)
    open_cp = per_call_us(
        lambda: open_checkpoint(note, origin=origin, log_key=log.verifier, policy=policy), 300
    )

    from witness import cli
    from witness.service import Witness

    with tempfile.TemporaryDirectory() as tmp:
        d = str(Path(tmp) / "w")
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON alone
            cli.main(["--dir", d, "init", "--name", "bench.witness/pnyx"])
            cli.main(["--dir", d, "add-log", "--origin", origin, "--vkey", log.verifier.vkey])
        witness = Witness(Path(d))
        sizes = sorted(rng.sample(range(1, n + 1), 200))
        bodies, old = [], 0
        for size in sizes:
            t = Checkpoint(origin, size, store.root(size)).text()
            cp = (t + "\n" + log.signature_line(t)).encode()
            bodies.append(
                AddCheckpoint(old, tuple(prove_consistency(old, size, store)), cp).to_bytes()
            )
            old = size
        body_iter = iter(bodies)

        def add():
            assert witness.add_checkpoint(next(body_iter)).status == 200

        witness_add = per_call_us(add, len(bodies))
        witness.close()

    result = {
        "size": n,
        "base_mul_us": round(unit, 1),
        "append_us": round(append, 2),
        "prove_inclusion_us": round(prove_inc, 1),
        "verify_inclusion_us": round(verify_inc, 1),
        "prove_consistency_us": round(prove_con, 1),
        "verify_consistency_us": round(verify_con, 1),
        "open_checkpoint_us": round(open_cp, 1),
        "witness_add_checkpoint_us": round(witness_add, 1),
    }
    result["in_base_mul"] = {
        key[:-3]: round(value / unit, 2)
        for key, value in result.items()
        if key.endswith("_us") and key != "base_mul_us"
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
