"""Disjunctive Chaum–Pedersen proof that a ciphertext encrypts a value of a small set S
(docs/protocol.md §5.3).

The ciphertext in question is the sum ``(A, B) = Σᵢ (αᵢ, βᵢ)`` of a list of ciphertexts (one for a
selection or a budget bit; all the options of a question for its sum proof), so the statement is
the full list and no aggregate needs to be encoded.

For each ``sⱼ ∈ S`` the branch ``j`` claims ``(A, B − sⱼ·G)`` encrypts 0, i.e.
``log_G A = log_K (B − sⱼ·G)``. Proof: commitments ``(aⱼ, bⱼ)``, challenges ``cⱼ``, responses
``vⱼ`` for every branch, with ``Σ cⱼ = c = H_tag(context, statement, {"commitments": […]})``.
Checks, for every j: ``vⱼ·G = aⱼ + cⱼ·A`` and ``vⱼ·K = bⱼ + cⱼ·(B − sⱼ·G)``.

The prover knows the randomness ``r`` of ``A = r·G``, so it builds every simulated branch from
fixed-base multiplications only: ``aⱼ = (vⱼ − cⱼ·r)·G`` and ``bⱼ = (vⱼ − cⱼ·r)·K + cⱼ·(sⱼ − m)·G``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.elgamal import Ciphertext, ElectionKey
from crypto.encoding import expect_list, expect_object, read_point, read_scalar
from crypto.errors import CryptoError, InvalidEncoding, InvalidProof
from crypto.group import G, Point, Q, Scalar, base_mul
from crypto.hashing import canonical_json, hash_message_to_scalar, is_plain_json_string
from crypto.proofs.batch import BatchVerifier, check_equation

__all__ = [
    "DisjunctiveProof",
    "prove_membership",
    "encrypt_bit_with_proof",
    "verify_membership",
    "MAX_SET_SIZE",
]

MAX_SET_SIZE = 1024
_BITS = (0, 1)  #: the value set of selections and budget bits


@dataclass(frozen=True)
class DisjunctiveProof:
    commitments: tuple[tuple[Point, Point], ...]  #: (aⱼ, bⱼ) per value of S
    challenges: tuple[Scalar, ...]  #: cⱼ, summing to the Fiat–Shamir challenge
    responses: tuple[Scalar, ...]  #: vⱼ

    def to_json(self) -> dict:
        return {
            "commitments": [[a.to_hex(), b.to_hex()] for a, b in self.commitments],
            "challenges": [c.to_hex() for c in self.challenges],
            "responses": [v.to_hex() for v in self.responses],
        }

    @classmethod
    def from_json(
        cls, value: Any, what: str = "proof", size: int | None = None
    ) -> DisjunctiveProof:
        """Strict decoding. A fast path decodes well-formed proofs without building error labels;
        anything it refuses is decoded again by the labelled path, which raises the precise error."""
        try:
            return cls._decode_fast(value, size)
        except (CryptoError, TypeError, ValueError, KeyError):
            pass
        return cls._decode_labelled(value, what, size)

    @classmethod
    def _decode_fast(cls, value: Any, size: int | None) -> DisjunctiveProof:
        if type(value) is not dict or len(value) != 3:
            raise ValueError
        commitments, challenges, responses = (
            value["commitments"],
            value["challenges"],
            value["responses"],
        )
        if type(commitments) is not list or type(challenges) is not list:
            raise ValueError
        k = len(commitments)
        if not 1 <= k <= MAX_SET_SIZE or (size is not None and k != size):
            raise ValueError
        if type(responses) is not list or len(challenges) != k or len(responses) != k:
            raise ValueError
        point, scalar = Point.from_hex, Scalar.from_hex
        pairs = []
        for pair in commitments:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError
            pairs.append((point(pair[0]), point(pair[1])))
        return cls(tuple(pairs), tuple(map(scalar, challenges)), tuple(map(scalar, responses)))

    @classmethod
    def _decode_labelled(cls, value: Any, what: str, size: int | None) -> DisjunctiveProof:
        obj = expect_object(value, ("commitments", "challenges", "responses"), what)
        commitments = expect_list(obj["commitments"], f"{what}.commitments", size, min_length=1)
        if len(commitments) > MAX_SET_SIZE:
            raise InvalidEncoding(f"{what}: too many branches")
        k = len(commitments)
        pairs = []
        for j, pair in enumerate(commitments):
            pair = expect_list(pair, f"{what}.commitments[{j}]", 2)
            pairs.append(
                (
                    read_point(pair[0], f"{what}.commitments[{j}][0]"),
                    read_point(pair[1], f"{what}.commitments[{j}][1]"),
                )
            )
        challenges = expect_list(obj["challenges"], f"{what}.challenges", k)
        responses = expect_list(obj["responses"], f"{what}.responses", k)
        return cls(
            tuple(pairs),
            tuple(read_scalar(c, f"{what}.challenges[{j}]") for j, c in enumerate(challenges)),
            tuple(read_scalar(v, f"{what}.responses[{j}]") for j, v in enumerate(responses)),
        )


def _check_values(values: Sequence[int]) -> tuple[int, ...]:
    if values is _BITS:  # the common case, checked once
        return values
    values = tuple(values)
    if not values or len(values) > MAX_SET_SIZE:
        raise CryptoError("the value set of a disjunctive proof has 1 to 1024 elements")
    if any(type(v) is not int or v < 0 for v in values) or list(values) != sorted(set(values)):
        raise CryptoError("the value set must be strictly increasing non-negative integers")
    return values


def _statement(key: ElectionKey, ciphertexts: Sequence[Ciphertext], values, binding: dict) -> dict:
    return {
        "binding": binding,
        "ciphertexts": [[c.alpha.to_hex(), c.beta.to_hex()] for c in ciphertexts],
        "public_key": key.point.to_hex(),
        "values": list(values),
    }


def _challenge(tag, context, key, ciphertexts, values, binding, commitments) -> Scalar:
    return hash_message_to_scalar(
        tag, _challenge_message(context, key, ciphertexts, values, binding, commitments)
    )


def _challenge_message(context, key, ciphertexts, values, binding, commitments) -> bytes:
    """``JCS([context, statement, {"commitments": […]}])`` (§5.3).

    The statement's keys are fixed and sorted, its strings are hex and its numbers small
    non-negative integers, so the canonical bytes are written directly (a proof's challenge is
    recomputed for every selection of every ballot; this is ≈ 4× faster than the JSON encoder).
    Anything outside that shape — an unusual binding — goes through the generic encoder; the tests
    check both give the same bytes.
    """
    simple = is_plain_json_string(context) and all(
        is_plain_json_string(k) and (is_plain_json_string(v) or (type(v) is int and 0 <= v < 2**53))
        for k, v in binding.items()
    )
    if not simple:
        statement = _statement(key, ciphertexts, values, binding)
        pairs = [[a.to_hex(), b.to_hex()] for a, b in commitments]
        return canonical_json([context, statement, {"commitments": pairs}])
    bind = ",".join(
        f'"{k}":"{v}"' if type(v) is str else f'"{k}":{v}' for k, v in sorted(binding.items())
    )
    cts = ",".join(f'["{c.alpha.to_hex()}","{c.beta.to_hex()}"]' for c in ciphertexts)
    coms = ",".join(f'["{a.to_hex()}","{b.to_hex()}"]' for a, b in commitments)
    vals = ",".join(str(v) for v in values)
    return (
        f'["{context}",{{"binding":{{{bind}}},"ciphertexts":[{cts}],'
        f'"public_key":"{key.point.to_hex()}","values":[{vals}]}},{{"commitments":[{coms}]}}]'
    ).encode("ascii")


def prove_membership(
    *,
    tag: str,
    context: str,
    key: ElectionKey,
    ciphertexts: Sequence[Ciphertext],
    randomness: Scalar,
    plaintext: int,
    values: Sequence[int],
    binding: dict,
    rand: Callable[[], Scalar] = Scalar.random,
) -> DisjunctiveProof:
    """Prove that ``Σ ciphertexts`` (randomness ``randomness``) encrypts ``plaintext ∈ values``."""
    values = _check_values(values)
    if plaintext not in values:
        raise CryptoError("the plaintext is not in the proven set")
    real = values.index(plaintext)
    r = int(randomness)
    table = key.table
    commitments: list[tuple[Point, Point]] = []
    challenges: list[int] = []
    responses: list[int] = []
    w = 0
    for j, s in enumerate(values):
        if j == real:
            w = int(rand())
            commitments.append((base_mul(w), table.mul(w)))
            challenges.append(0)
            responses.append(0)
        else:
            c, v = int(rand()), int(rand())
            t = (v - c * r) % Q
            b = table.mul(t)
            shift = (c * (s - plaintext)) % Q
            if shift:
                b = b + base_mul(shift)
            commitments.append((base_mul(t), b))
            challenges.append(c)
            responses.append(v)
    c_total = int(_challenge(tag, context, key, ciphertexts, values, binding, commitments))
    c_real = (c_total - sum(challenges)) % Q
    challenges[real] = c_real
    responses[real] = (w + c_real * r) % Q
    wrap = Scalar._trusted
    return DisjunctiveProof(
        tuple(commitments), tuple(map(wrap, challenges)), tuple(map(wrap, responses))
    )


def encrypt_bit_with_proof(
    *,
    tag: str,
    context: str,
    key: ElectionKey,
    bit: int,
    binding: dict,
    rand: Callable[[], Scalar] = Scalar.random,
    randomness: Scalar | None = None,
) -> tuple[Ciphertext, Scalar, DisjunctiveProof]:
    """Encrypt ``bit`` ∈ {0, 1} and prove it, in one pass: the hot path of ballot encryption.

    Produces exactly what ``encrypt`` followed by ``prove_membership(values=(0, 1))`` produces
    (same nonces drawn in the same order), with 7 fixed-base multiplications.
    """
    if bit not in (0, 1):
        raise CryptoError("a bit is 0 or 1")
    r = int(randomness if randomness is not None else rand())
    if r == 0:
        raise CryptoError("encryption randomness must be non-zero")
    tmul = key.table.mul
    alpha = base_mul(r)
    beta = tmul(r)
    if bit:
        beta = beta + G
    # nonces in the order prove_membership draws them: branch 0 then branch 1
    if bit == 0:
        w = int(rand())
        c, v = int(rand()), int(rand())
    else:
        c, v = int(rand()), int(rand())
        w = int(rand())
    t = (v - c * r) % Q
    real = (base_mul(w), tmul(w))
    # simulated branch s = 1 - bit: b = t·K + c·(s - bit)·G
    sim = (base_mul(t), tmul(t) + base_mul(c if bit == 0 else Q - c))
    commitments = (real, sim) if bit == 0 else (sim, real)
    ct = Ciphertext(alpha, beta)
    c_total = int(_challenge(tag, context, key, (ct,), (0, 1), binding, commitments))
    c_real = (c_total - c) % Q
    v_real = (w + c_real * r) % Q
    wrap = Scalar._trusted
    if bit == 0:
        challenges, responses = (wrap(c_real), wrap(c)), (wrap(v_real), wrap(v))
    else:
        challenges, responses = (wrap(c), wrap(c_real)), (wrap(v), wrap(v_real))
    return ct, wrap(r), DisjunctiveProof(commitments, challenges, responses)


def verify_membership(
    proof: DisjunctiveProof,
    *,
    tag: str,
    context: str,
    key: ElectionKey,
    ciphertexts: Sequence[Ciphertext],
    values: Sequence[int],
    binding: dict,
    batch: BatchVerifier | None = None,
    label: str = "membership proof",
) -> None:
    values = _check_values(values)
    if not len(proof.commitments) == len(proof.challenges) == len(proof.responses) == len(values):
        raise InvalidProof(
            f"{label}: expected {len(values)} branches, got {len(proof.commitments)} commitments, "
            f"{len(proof.challenges)} challenges and {len(proof.responses)} responses"
        )
    c_total = int(_challenge(tag, context, key, ciphertexts, values, binding, proof.commitments))
    if sum(int(c) for c in proof.challenges) % Q != c_total:
        raise InvalidProof(f"{label}: the challenges do not add up to the Fiat–Shamir challenge")
    K = key.point
    for j, s in enumerate(values):
        a, b = proof.commitments[j]
        c, v = int(proof.challenges[j]), int(proof.responses[j])
        eq_a = [(-c, ct.alpha) for ct in ciphertexts]
        eq_a.append((-1, a))
        eq_b = [(-c, ct.beta) for ct in ciphertexts]
        eq_b.append((v, K))
        eq_b.append((-1, b))
        if batch is None:
            check_equation(label, v, eq_a)
            check_equation(label, c * s, eq_b)
        else:
            batch.add(label, v, eq_a)
            batch.add(label, c * s, eq_b)
