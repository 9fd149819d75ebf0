"""docs/protocol.md §14 re-derived from the text alone, against tests/vectors/tlog.json.

Nothing from crypto/ is used: SHA-256 from hashlib, Ed25519 from pyca/cryptography, and the
section's algorithms written out as the text states them — the leaf bytes (§14.1), the roots,
Algorithms 14.2–14.5, key IDs and vkeys (§14.3), the origin and checkpoint text (§14.4), the
cosigned message (§14.5), the receipt's tlog proof (§14.6) and the add-checkpoint body (§14.7).
If the text and the code that wrote the vectors ever disagree, these fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

V = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "tlog.json").read_text("utf-8"))


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def lh(d: bytes) -> bytes:
    return sha(b"\x00" + d)


def nh(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


def k_of(n: int) -> int:
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return lh(d[0])
    k = k_of(len(d))
    return nh(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:  # Algorithm 14.2
    if len(d) == 1:
        return []
    k = k_of(len(d))
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:  # Algorithm 14.4
    if m == len(d):
        return [] if b else [mth(d)]
    k = k_of(len(d))
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def inclusion_ok(h, m, n, p, r) -> bool:  # Algorithm 14.3
    if not 0 <= m < n or len(p) > 64:
        return False
    fn, sn, x = m, n - 1, h
    for pj in p:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            x = nh(pj, x)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            x = nh(x, pj)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and x == r


def consistency_ok(m, n, rm, rn, p) -> bool:  # Algorithm 14.5
    if m > n or len(p) > 64:
        return False
    if m == 0:
        return not p and rm == sha(b"") and (n > 0 or rn == sha(b""))
    if m == n:
        return not p and rm == rn
    if not p:
        return False
    c = [rm, *p] if m & (m - 1) == 0 else list(p)
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = c[0]
    for cj in c[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = nh(cj, fr), nh(cj, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = nh(sr, cj)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == rm and sr == rn


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def key_id(name: str, sig_type: int, pk: bytes) -> int:
    return int.from_bytes(sha(name.encode() + b"\n" + bytes([sig_type]) + pk)[:4], "big")


def vkey(name: str, sig_type: int, pk: bytes) -> str:
    return f"{name}+{key_id(name, sig_type, pk):08x}+{b64(bytes([sig_type]) + pk)}"


def keypair(seed_hex: str) -> tuple[Ed25519PrivateKey, bytes]:
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    return sk, sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


LEAVES = [leaf.encode() for leaf in V["leaves"]]


def test_leaves_tree_and_proofs():
    for i, leaf in enumerate(LEAVES):  # §14.1: the export line without its "\n"
        assert json.loads(leaf)["seq"] == i and not leaf.endswith(b"\n")
    roots = [mth(LEAVES[:n]) for n in range(len(LEAVES) + 1)]
    assert [r.hex() for r in roots] == V["roots"]
    for case in V["inclusion"]:
        m, n = case["index"], case["size"]
        p = path(m, LEAVES[:n])
        assert [b64(h) for h in p] == case["proof"]
        assert inclusion_ok(lh(LEAVES[m]), m, n, p, roots[n])
    for case in V["consistency"]:
        m, n = case["old"], case["new"]
        p = subproof(m, LEAVES[:n], True) if 0 < m < n else []
        assert [b64(h) for h in p] == case["proof"]
        assert consistency_ok(m, n, roots[m], roots[n], p)
    for case in V["invalid_inclusion"]:
        p = [base64.b64decode(h) for h in case["proof"]]
        ok = inclusion_ok(
            bytes.fromhex(case["leaf"]), case["index"], case["size"], p, roots[case["size"]]
        )
        assert not ok, case["reason"]
    for case in V["invalid_consistency"]:
        p = [base64.b64decode(h) for h in case["proof"]]
        m, n = case["old"], case["new"]
        assert not consistency_ok(m, n, roots[min(m, 17)], roots[min(n, 17)], p), case["reason"]


def test_keys_checkpoints_and_cosignatures():
    origin = V["origin"]
    uuid = json.loads(LEAVES[0])["payload"]["uuid"]
    assert origin == "vote.example.org/pnyx/" + uuid  # §14.4
    log_sk, log_pk = keypair(V["log"]["seed"])
    assert json.loads(LEAVES[0])["payload"]["board_key"] == log_pk.hex()  # the genesis board key
    assert V["log"]["vkey"] == vkey(origin, 0x01, log_pk)
    witnesses = [keypair(w["seed"]) for w in V["witnesses"]]
    names = [w["vkey"].split("+")[0] for w in V["witnesses"]]
    for w, (_, pk), name in zip(V["witnesses"], witnesses, names, strict=True):
        assert w["vkey"] == vkey(name, 0x04, pk)
    root = mth(LEAVES)
    text = f"{origin}\n17\n{b64(root)}\n"
    assert V["cosignature"]["text"] == text
    # the log's line: Ed25519 over the text (deterministic), the witnesses': u64be(t) ‖ Ed25519(M)
    log_line = f"— {origin} {b64(key_id(origin, 1, log_pk).to_bytes(4, 'big') + log_sk.sign(text.encode()))}\n"
    lines = [log_line]
    for i, ((sk, pk), name) in enumerate(zip(witnesses[:2], names, strict=False)):
        t = 1_795_000_000 + i
        message = f"cosignature/v1\ntime {t}\n{text}".encode()
        blob = key_id(name, 4, pk).to_bytes(4, "big") + t.to_bytes(8, "big") + sk.sign(message)
        lines.append(f"— {name} {b64(blob)}\n")
    assert lines[1] == V["cosignature"]["line"]
    note = text + "\n" + "".join(lines)
    assert [c["note"] for c in V["checkpoints"] if c["size"] == 17 and c["witnesses"] == 3][
        0
    ].startswith(text + "\n" + log_line + lines[1] + lines[2])
    # §14.6: the receipt for entry 7
    proof = path(7, LEAVES)
    receipt = (
        "c2sp.org/tlog-proof@v1\n"
        f"extra {b64(LEAVES[7])}\n"
        "index 7\n" + "".join(b64(h) + "\n" for h in proof) + "\n" + note
    )
    assert receipt == V["tlog_proofs"][1]["proof"]
    # §14.7: the add-checkpoint body from 12
    body = "old 12\n" + "".join(b64(h) + "\n" for h in subproof(12, LEAVES, True)) + "\n" + note
    assert body == V["add_checkpoint"]
