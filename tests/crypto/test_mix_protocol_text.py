"""docs/protocol.md §15 re-derived from the text alone against tests/vectors/mix.json.

Nothing from crypto/mix or crypto/pointenc is used: only the group arithmetic (§2), canonical JSON
and hash_to_scalar (§3), and RFC 9380 hash_to_curve (crypto/h2c.py, checked on the RFC's own
vectors). The generators (Algorithm 15.4), the list digests (15.3), the shuffle (15.5), the whole
proof replayed from its recorded nonces (15.6), each equation of the check one by one (15.7), the
partial decryptions and their combination (15.8), and the decoding of the messages (15.2) must
all agree with the vector byte for byte. If the text and the code ever disagree, this fails.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crypto.group import G, P, Point, Q, base_mul
from crypto.h2c import hash_to_curve
from crypto.hashing import canonical_json, hash_to_scalar

V = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "mix.json").read_text())
DST = b"PNYX-V1/mix-generator/P256_XMD:SHA-256_SSWU_RO_"
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def pt(h: str) -> Point:
    return Point.from_hex(h, allow_identity=True)


def sc(h: str) -> int:
    return int(h, 16)


def hex_pt(p: Point) -> str:
    return p.to_hex_allow_identity()


def hex_sc(k: int) -> str:
    return (k % Q).to_bytes(32, "big").hex()


def list_digest(label: str, n: int, k: int, points) -> str:
    """Algorithm 15.3."""
    h = hashlib.sha256(
        b"PNYX-V1/" + label.encode() + b"\x00" + n.to_bytes(4, "big") + k.to_bytes(2, "big")
    )
    for p in points:
        h.update(b"\x00" if p.is_identity() else bytes.fromhex(p.to_hex()))
    return h.hexdigest()


def rows_of(lst: dict) -> list[list[tuple[Point, Point]]]:
    return [[(pt(ct["alpha"]), pt(ct["beta"])) for ct in row] for row in lst["rows"]]


def ciphertexts_digest(rows) -> str:
    flat = [p for row in rows for ct in row for p in ct]
    return list_digest("mix-ciphertexts", len(rows), 2 * len(rows[0]), flat)


def total(terms) -> Point:
    acc = Point.identity()
    for k, p in terms:
        acc = acc + p * (k % Q)
    return acc


class Replay:
    def __init__(self, nonces: list[str]) -> None:
        self.nonces, self.i = nonces, 0

    def __call__(self) -> int:
        self.i += 1
        return sc(self.nonces[self.i - 1])


def test_mix_vector_from_the_text():
    F = V["fingerprint"]
    K = pt(V["election_key"])
    m, Ym = V["mixer"]["index"], pt(V["mixer"]["public_key"])
    e, e2 = rows_of(V["input"]), rows_of(V["output"])
    N, w = len(e), len(e[0])

    # 15.4 generators
    Hs = [hash_to_curve(canonical_json([F, "row", i]), DST) for i in range(max(N, 4))]
    H = hash_to_curve(canonical_json([F, "chain"]), DST)
    assert [hex_pt(h) for h in Hs[:4]] == V["generators"]["rows"]
    assert hex_pt(H) == V["generators"]["chain_base"]

    # 15.3 digests, 15.5 the shuffle
    assert (
        ciphertexts_digest(e) == V["input_digest"] and ciphertexts_digest(e2) == V["output_digest"]
    )
    pi = V["permutation"]
    rr = [[sc(r) for r in row] for row in V["reencryption_randomness"]]
    for j in range(N):
        for k in range(w):
            a, b = e[pi[j]][k]
            assert (a + base_mul(rr[j][k]), b + K * rr[j][k]) == e2[j][k]
    S = {
        "input": V["input_digest"],
        "key": hex_pt(K),
        "mixer": m,
        "mixer_key": hex_pt(Ym),
        "output": V["output_digest"],
        "rows": N,
        "width": w,
    }

    # 15.6 the proof, replayed from its nonces
    rand = Replay(V["proof_nonces"])
    inv = [pi.index(i) for i in range(N)]
    r = [rand() for _ in range(N)]
    c_pts = [base_mul(r[i]) + Hs[inv[i]] for i in range(N)]
    Dc = list_digest("shuffle-permutation-commitments", N, 1, c_pts)
    u = [
        int(hash_to_scalar("shuffle-permutation", F, S, {"permutation_commitments": Dc}, i))
        for i in range(N)
    ]
    u2 = [u[pi[j]] for j in range(N)]
    R, wh, wp, chat, that = [], [], [], [], []
    prev = H
    for _ in range(N):
        R.append(rand())
        wh.append(rand())
        wp.append(rand())
    for j in range(N):
        rhat_j = (R[j] - u2[j] * (R[j - 1] if j else 0)) % Q
        cj = base_mul(rhat_j) + prev * u2[j]  # the chain as CHVote writes it
        chat.append(cj)
        that.append(base_mul(wh[j]) + prev * wp[j])
        prev = cj
    w1, w2, w3 = rand(), rand(), rand()
    w4 = [rand() for _ in range(w)]
    assert rand.i == len(V["proof_nonces"])
    t1, t2 = base_mul(w1), base_mul(w2)
    t3 = base_mul(w3) + total((wp[j], Hs[j]) for j in range(N))
    t4 = [
        (
            total((wp[j], e2[j][k][0]) for j in range(N)) - base_mul(w4[k]),
            total((wp[j], e2[j][k][1]) for j in range(N)) - K * w4[k],
        )
        for k in range(w)
    ]
    commitments = {
        "chain": list_digest("shuffle-chain", N, 1, chat),
        "chain_commitments": list_digest("shuffle-chain-commitments", N, 1, that),
        "permutation_commitments": Dc,
        "t1": hex_pt(t1),
        "t2": hex_pt(t2),
        "t3": hex_pt(t3),
        "t4": [{"alpha": hex_pt(a), "beta": hex_pt(b)} for a, b in t4],
    }
    c = int(hash_to_scalar("shuffle", F, S, commitments))
    s1 = w1 + c * sum(r)
    s2 = w2 + c * R[N - 1]
    s3 = w3 + c * sum(ri * ui for ri, ui in zip(r, u, strict=True))
    s4 = [w4[k] + c * sum(u2[j] * rr[j][k] for j in range(N)) for k in range(w)]
    shat = [wh[j] + c * (R[j] - u2[j] * (R[j - 1] if j else 0)) for j in range(N)]
    sprime = [wp[j] + c * u2[j] for j in range(N)]
    head = V["proof"]["head"]
    assert head == {
        "version": 1,
        "rows": N,
        "width": w,
        "t1": hex_pt(t1),
        "t2": hex_pt(t2),
        "t3": hex_pt(t3),
        "t4": commitments["t4"],
        "s1": hex_sc(s1),
        "s2": hex_sc(s2),
        "s3": hex_sc(s3),
        "s4": [hex_sc(s) for s in s4],
    }
    lists = {
        name: []
        for name in (
            "permutation_commitments",
            "chain",
            "chain_commitments",
            "chain_responses",
            "responses",
        )
    }
    position = 0
    for chunk in V["proof"]["chunks"]:
        assert chunk["offset"] == position and chunk["version"] == 1
        position += len(chunk["chain"])
        for name in lists:
            lists[name].extend(chunk[name])
    assert lists == {
        "permutation_commitments": [hex_pt(p) for p in c_pts],
        "chain": [hex_pt(p) for p in chat],
        "chain_commitments": [hex_pt(p) for p in that],
        "chain_responses": [hex_sc(s) for s in shat],
        "responses": [hex_sc(s) for s in sprime],
    }

    # 15.7 each equation on its own (the closed-form chain of the code is the same chain)
    U = 1
    for x in u:
        U = U * x % Q
    assert (
        base_mul(s1 % Q) == t1 + (total((1, p) for p in c_pts) - total((1, h) for h in Hs[:N])) * c
    )
    assert base_mul(s2 % Q) == t2 + (chat[-1] - H * U) * c
    assert (
        base_mul(s3 % Q) + total(zip(sprime, Hs[:N], strict=True))
        == t3 + total(zip(u, c_pts, strict=True)) * c
    )
    for k in range(w):
        lhs_a = total((sprime[j], e2[j][k][0]) for j in range(N)) - base_mul(s4[k] % Q)
        assert lhs_a == t4[k][0] + total((u[i], e[i][k][0]) for i in range(N)) * c
        lhs_b = total((sprime[j], e2[j][k][1]) for j in range(N)) - K * (s4[k] % Q)
        assert lhs_b == t4[k][1] + total((u[i], e[i][k][1]) for i in range(N)) * c
    prev = H
    for j in range(N):
        assert base_mul(shat[j] % Q) + prev * sprime[j] == that[j] + chat[j] * c
        prev = chat[j]

    # 15.8 decryption: shares, proofs (replayed), combination
    coefficients = [sc(a) for a in V["polynomial"]]
    shares_D = {}
    for t_str, case in V["decryptions"].items():
        t = int(t_str)
        x = (coefficients[0] + coefficients[1] * t) % Q
        assert case["share"] == hex_sc(x)
        X = base_mul(x)
        assert case["verification_key"] == hex_pt(X)
        d = case["decryption"]
        assert (d["version"], d["trustee"], d["offset"], d["width"]) == (1, t, 0, w)
        rand = Replay(case["nonces"])
        shares_D[t] = []
        for i in range(N):
            row = []
            for k in range(w):
                alpha = e2[i][k][0]
                D = alpha * x
                wn = rand()
                a1, a2 = base_mul(wn), alpha * wn
                binding = {"component": k, "purpose": "mix-decryption", "row": i, "trustee": t}
                statement = {
                    "base1": hex_pt(G),
                    "base2": hex_pt(alpha),
                    "binding": binding,
                    "value1": hex_pt(X),
                    "value2": hex_pt(D),
                }
                cc = int(
                    hash_to_scalar(
                        "dleq", F, statement, {"commitment1": hex_pt(a1), "commitment2": hex_pt(a2)}
                    )
                )
                assert d["shares"][i][k] == hex_pt(D)
                assert d["proofs"][i][k] == {
                    "commitment1": hex_pt(a1),
                    "commitment2": hex_pt(a2),
                    "response": hex_sc(wn + cc * x),
                }
                row.append(D)
            shares_D[t].append(row)
        assert rand.i == len(case["nonces"])
    chosen = sorted(shares_D)
    lam = {}
    for j in chosen:
        num = den = 1
        for other in chosen:
            if other != j:
                num, den = num * other % Q, den * (other - j) % Q
        lam[j] = num * pow(den, -1, Q) % Q
    messages = [
        [e2[i][k][1] - total((lam[t], shares_D[t][i][k]) for t in chosen) for k in range(w)]
        for i in range(N)
    ]
    assert [[hex_pt(M) for M in row] for row in messages] == V["messages"]

    # 15.2 decoding: the text by Algorithm 15.2, the weight as m·G
    for row, expected in zip(messages, V["decoded"], strict=True):
        x, y = row[0].coordinates()
        assert x < 2**248 and y % 2 == 0
        for k in range(x & 0xFF):
            z = (x & ~0xFF) | k
            assert pow((z**3 - 3 * z + B) % P, (P - 1) // 2, P) != 1
        padded = (x >> 8).to_bytes(30, "big").rstrip(b"\x00")
        assert padded[-1] == 0x80 and padded[:-1].hex() == expected["text_hex"]
        weight = expected["weight"]
        assert row[1] == (Point.identity() if weight == 0 else base_mul(weight))
