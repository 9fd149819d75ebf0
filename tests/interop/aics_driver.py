"""Run by the interoperability test in a separate interpreter (Python ≥ 3.12) where only the
independent implementation ``aics-tlog`` (PyPI, Apache-2.0) is installed — none of Pnyx's code.

Reads one JSON request on stdin, answers one JSON document on stdout: what aics-tlog computes
(tree roots and proofs, signatures made with given seeds) and what it decides (verdicts on
Pnyx's checkpoints, cosignatures and proofs). The test compares those with Pnyx's own.
"""

import base64
import json
import sys

import aics_tlog
from aics_tlog import (
    Checkpoint,
    MerkleTree,
    format_vkey,
    parse_note,
    parse_vkey,
    sign_checkpoint,
    sign_cosignature,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_leaf_inclusion,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def verdict(fn) -> str:
    try:
        return "ok" if fn() else "rejected"
    except ValueError as exc:
        return f"rejected: {exc}"


def trees(request: dict) -> list[dict]:
    out = []
    for case in request["trees"]:
        tree = MerkleTree([unb64(x) for x in case["leaves"]])
        out.append(
            {
                "roots": [b64(tree.root(s)) for s in case["root_sizes"]],
                "inclusion": [
                    [b64(h) for h in tree.inclusion_proof(i, s)] for i, s in case["inclusion"]
                ],
                "consistency": [
                    [b64(h) for h in tree.consistency_proof(m, n)] for m, n in case["consistency"]
                ],
            }
        )
    return out


def proof_verdicts(request: dict) -> list[str]:
    out = []
    for case in request["inclusion_checks"]:
        out.append(
            verdict(
                lambda c=case: verify_inclusion(
                    unb64(c["leaf"]),
                    c["index"],
                    c["size"],
                    [unb64(h) for h in c["proof"]],
                    unb64(c["root"]),
                )
            )
        )
    for case in request["consistency_checks"]:
        out.append(
            verdict(
                lambda c=case: verify_consistency(
                    c["old"],
                    c["new"],
                    unb64(c["old_root"]),
                    unb64(c["new_root"]),
                    [unb64(h) for h in c["proof"]],
                )
            )
        )
    return out


def checkpoint_verdicts(request: dict) -> list[dict]:
    log = parse_vkey(request["log_vkey"])
    witnesses = [parse_vkey(v) for v in request["witness_vkeys"]]
    out = []
    for note_text in request["checkpoints"]:
        try:
            note = parse_note(note_text)
        except ValueError as exc:
            out.append({"ok": False, "error": f"parse: {exc}"})
            continue
        result = verify_checkpoint(
            note, log, witnesses, request["quorum"], expected_origin=request["origin"]
        )
        out.append(
            {
                "ok": bool(result.ok),
                "error": result.error,
                "size": result.size,
                "root": b64(result.root) if result.root else None,
                "witnesses": sorted(result.witnesses),
            }
        )
    return out


def signatures(request: dict) -> dict:
    """Sign with aics-tlog from the same seeds: Ed25519 is deterministic, so the lines must be
    byte for byte Pnyx's."""
    s = request["sign"]
    log_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(s["log_seed"]))
    cp = Checkpoint(s["origin"], s["size"], unb64(s["root"]))
    note = sign_checkpoint(cp, log_key, s["origin"])
    lines = []
    for w in s["witnesses"]:
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(w["seed"]))
        _, line = sign_cosignature(
            key, w["name"], s["timestamp"], s["origin"], s["size"], unb64(s["root"])
        )
        lines.append({"name": line.name, "blob": b64(line.key_id + line.signature)})
    return {
        "note": note.serialise(),
        "cosignatures": lines,
        "vkeys": [
            format_vkey(parse_vkey(v)) for v in request["witness_vkeys"] + [request["log_vkey"]]
        ],
    }


def tlog_proofs(request: dict) -> list[str]:
    """tlog-proof is not in aics-tlog: check its parts with aics-tlog (the checkpoint with its
    quorum, the leaf bytes of the extra line included at the index)."""
    log = parse_vkey(request["log_vkey"])
    witnesses = [parse_vkey(v) for v in request["witness_vkeys"]]
    out = []
    for case in request["tlog_proofs"]:
        result = verify_checkpoint(
            parse_note(case["checkpoint"]),
            log,
            witnesses,
            request["quorum"],
            expected_origin=request["origin"],
        )
        if not result.ok:
            out.append(f"rejected: {result.error}")
            continue
        out.append(
            verdict(
                lambda c=case, r=result: verify_leaf_inclusion(
                    unb64(c["leaf"]), c["index"], r.size, [unb64(h) for h in c["proof"]], r.root
                )
            )
        )
    return out


def main() -> int:
    request = json.load(sys.stdin)
    json.dump(
        {
            "version": aics_tlog.__version__,
            "trees": trees(request),
            "proof_verdicts": proof_verdicts(request),
            "checkpoints": checkpoint_verdicts(request),
            "signatures": signatures(request),
            "tlog_proofs": tlog_proofs(request),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
