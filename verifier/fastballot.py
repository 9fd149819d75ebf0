"""The worker's hot path: a ballot's checks of §7.7 written straight into one multi-scalar
multiplication per batch of ballots (§5.4), from the entry's parsed JSON.

This is the same verification as ``crypto.ballot.ballot_verify`` with a batch, but without
building the ballot's objects (``Ballot``, ``Answer``, ``DisjunctiveProof``) nor one equation
object per check: every point is decoded strictly once, into a reusable OpenSSL point of the
chunk's :class:`~crypto.group.PointArena` (no Python object per point; the scalars as plain ints),
each challenge message is written from the hex strings the canonical line already holds
(byte-identical to ``JCS``, §3.1), and the equations of a ballot are merged per point as they are
read (each α and β, the election key, the generator), each weighted by its own random ρ of
128 bits (§5.4).

It is only ever used to *accept*: anything it does not recognise — a shape other than the one
the manifest requires, a value that does not decode — raises :class:`Unrecognised`, and the
caller verifies that ballot with the reference code, which names the error. A batch whose sum
is not the identity is likewise re-checked ballot by ballot with the reference code.
tests/verifier/test_fastballot.py checks that both agree on valid and tampered ballots.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from crypto.ballot import ElectionSpec
from crypto.group import PointArena, Q, Scalar, multi_mul_raw
from crypto.hashing import hash_message_to_value

__all__ = ["BallotBatch", "FastBallot", "Rho", "Unrecognised"]

_scalar = Scalar.value_from_hex
_ENVELOPE = ("election", "hash", "kind", "payload", "prev", "seq", "time", "version")
_PAYLOAD = ("ballot", "tracker")
_BALLOT = ("answers", "credential", "election", "signature", "version")
_ANSWER = ("budget_proof", "choice_proofs", "choices", "sum_proof")
_CIPHERTEXT = ("alpha", "beta")
_PROOF = ("challenges", "commitments", "responses")
_SIGNATURE = ("commitment", "response")
_BUDGET = ("bit_proofs", "bits")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")


class Unrecognised(Exception):
    """The fast path does not vouch for this ballot: verify it with the reference code."""


def _scalar(text) -> int:
    """A scalar's value from its wire form (64 lowercase hex digits, < q), as
    :meth:`crypto.group.Scalar.from_hex` decides, without building the ``Scalar``."""
    if type(text) is not str or not _HEX64.match(text):
        raise Unrecognised
    value = int(text, 16)
    if value >= Q:
        raise Unrecognised
    return value


class Rho:
    """Independent uniform weights in [1, 2¹²⁸) from the OS CSPRNG, read 4 KiB (256 weights) at a
    time. Not shared between threads: :func:`verifier.ballots.verify_chunk` makes one per call."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = iter(()).__next__

    def _refill(self) -> None:
        buf = os.urandom(4096)
        weights = [int.from_bytes(buf[i : i + 16], "big") for i in range(0, 4096, 16)]
        self._next = iter([w for w in weights if w]).__next__

    def __call__(self) -> int:
        try:
            return self._next()
        except StopIteration:
            self._refill()
            return self._next()


class FastBallot:
    """What the worker needs of a ballot it verified (or queued for verification)."""

    __slots__ = ("credential", "points", "alpha_keys")

    def __init__(self, credential: bytes, points: list, alpha_keys: bytes) -> None:
        self.credential = credential  #: the credential's 65-byte encoding
        #: [α₀, β₀, α₁, β₁, …] of the listed ciphertexts, for the tally: OpenSSL points
        #: (Point.raw, or slots of the chunk's arena: valid while the chunk is verified)
        self.points = points
        self.alpha_keys = alpha_keys  #: 8 bytes of each choice and budget-bit α (§12.2)


class BallotBatch:
    """The equations of many ballots, merged into one multi-scalar multiplication."""

    def __init__(
        self, spec: ElectionSpec, rho: Rho | None = None, arena: PointArena | None = None
    ) -> None:
        self.spec = spec
        self.key = spec.key.point
        self.key_hex = self.key.to_hex()
        self.fingerprint = spec.fingerprint
        self._questions = [
            (q, q.encrypted_options, q.sum_values, q.budget_bits, q.costs, q.budget)
            for q in spec.questions
        ]
        self._rho = rho or Rho()
        # the ballots' points are needed only while their chunk is verified and added up:
        # decoded into reusable slots
        self._com = (arena or PointArena()).decode_hex
        # keys in a ballot entry: one '":' each (no value holds that pair of characters)
        keys = len(_ENVELOPE) + len(_PAYLOAD) + len(_BALLOT) + len(_SIGNATURE)
        for q in spec.questions:
            keys += len(_ANSWER) + q.encrypted_options * (len(_CIPHERTEXT) + len(_PROOF))
            keys += len(_PROOF) if q.sum_values is not None else 0
            if q.budget is not None:
                keys += len(_BUDGET) + q.budget_bits * (len(_CIPHERTEXT) + len(_PROOF))
        self._keys = keys
        self.reset()

    def reset(self) -> None:
        self.g = 0  #: coefficient of G
        self.k = 0  #: coefficient of the election key K
        self.scalars: list[int] = []
        self.points: list = []  #: OpenSSL points (Point.raw, or commitments in the arena)
        self.ballots = 0

    def verify(self) -> bool:
        """True if every queued equation holds (false with probability ≤ 2⁻¹²⁸ otherwise)."""
        if not self.points:
            return self.g % Q == 0 and self.k % Q == 0
        total = multi_mul_raw(self.g, [*self.scalars, self.k], [*self.points, self.key.raw])
        return total.is_identity()

    # --- one ballot
    def read_line(self, line: bytes, election: str) -> tuple[int, str, str, str, dict]:
        """``(seq, prev, hash, time, payload)`` of a `ballot` entry line of ``election``, when
        the line is provably ``JCS(entry) ‖ "\n"`` with its hash right — without re-encoding it:
        no whitespace but the final newline, no escape, one '":' per key (no duplicate key),
        every object's keys in sorted order (here for the envelope and the payload, in
        :meth:`prepare` for the ballot), every value in its one canonical spelling. Anything else
        raises :class:`Unrecognised`: the caller then reads the line the general way
        (``verifier.chain.read_line``), which decides."""
        end = len(line) - 1
        if (
            line.find(b"\n") != end
            or b" " in line
            or b"\\" in line
            or b"\t" in line
            or b"\r" in line
            or line.count(b'":') != self._keys
        ):
            raise Unrecognised
        obj = json.loads(line)
        if type(obj) is not dict or tuple(obj) != _ENVELOPE:
            raise Unrecognised
        payload, seq, version = obj["payload"], obj["seq"], obj["version"]
        digest, prev, time = obj["hash"], obj["prev"], obj["time"]
        if (
            obj["election"] != election
            or obj["kind"] != "ballot"
            or type(version) is not int
            or version != 1
            or type(seq) is not int
            or not 0 < seq < 2**53
            or line.find(b'"seq":%d,' % seq) < 0
            or type(time) is not str
            or not _TIME.match(time)
            or type(prev) is not str
            or not _HEX64.match(prev)
            or type(digest) is not str
            or not _HEX64.match(digest)
            or type(payload) is not dict
            or tuple(payload) != _PAYLOAD
            or type(payload["tracker"]) is not str
            or not _HEX64.match(payload["tracker"])
        ):
            raise Unrecognised
        # JCS(entry without "hash"): the line without its `,"hash":"…"` member (after "election")
        if line[50:124] != b',"hash":"' + digest.encode() + b'"':
            raise Unrecognised
        if hashlib.sha256(line[:50] + line[124:end]).hexdigest() != digest:
            raise Unrecognised
        return seq, prev, digest, time, payload

    def queue(self, equations: _Equations) -> None:
        """Add a ballot's equations (from :meth:`prepare`) to the batch."""
        self.g += equations.g
        self.k += equations.k
        self.scalars += equations.scalars
        self.points += equations.points
        self.ballots += 1

    def prepare(self, ballot: dict, canonical: bytes) -> tuple[FastBallot, str, _Equations]:
        """Decode ``ballot`` (the entry's parsed JSON, whose canonical bytes are ``canonical``),
        check its challenges and write its equations (not queued yet: :meth:`queue`); return
        it, its tracker (hex) and the equations (``--since`` reads earlier ballots with
        :meth:`known` instead). Raises
        :class:`Unrecognised` — or a decoding error — for anything it does not vouch for."""
        if type(ballot) is not dict or tuple(ballot) != _BALLOT:
            raise Unrecognised
        version = ballot["version"]
        if type(version) is not int or version != 1 or ballot["election"] != self.fingerprint:
            raise Unrecognised
        credential_hex = ballot["credential"]
        credential = self._com(credential_hex)
        answers, signature = ballot["answers"], ballot["signature"]
        if type(answers) is not list or len(answers) != len(self._questions):
            raise Unrecognised
        if type(signature) is not dict or tuple(signature) != _SIGNATURE:
            raise Unrecognised
        tracker, content_digest = _digests(canonical)
        points: list = []
        keys: list[bytes] = []
        eq = _Equations(self._rho)
        binding = f'{{"credential":"{credential_hex}",'
        for qi, (answer, shape) in enumerate(zip(answers, self._questions, strict=True)):
            self._answer(eq, answer, shape, qi, binding, points, keys)
        # the credential's signature (§6.2): z·G − R − c·S = O
        commitment_hex = signature["commitment"]
        commitment = self._com(commitment_hex)
        z = _scalar(signature["response"])
        c = hash_message_to_value(
            "credential-signature",
            (
                f'["{self.fingerprint}",{{"message":"{content_digest}",'
                f'"public":"{credential_hex}"}},{{"commitment":"{commitment_hex}"}}]'
            ).encode(),
        )
        r = eq.rho()
        eq.g += r * z
        eq.scalars += (-r, -r * c)
        eq.points += (commitment, credential)
        fast = FastBallot(bytes.fromhex(credential_hex), points, b"".join(keys))
        return fast, tracker, eq

    def known(self, payload: dict) -> tuple[FastBallot, str]:
        """``--since``: what the later checks need of a ballot entry at or before the head an
        earlier run verified — its credential's encoding (revoting, weights), its listed
        ciphertexts' points (the encrypted tally, §12.3) and its α keys (§12.2) — and the tracker
        it declares; no proof, signature or tracker is checked again, and no other point is
        decoded. Sound only because the caller has checked the entry's hash and the chain from it
        to that head (§12.5 check 1): the bytes are those the earlier run verified. Raises
        :class:`Unrecognised` for anything else (the general path decides)."""
        ballot = payload["ballot"]
        if type(ballot) is not dict or tuple(ballot) != _BALLOT:
            raise Unrecognised
        credential, answers = ballot["credential"], ballot["answers"]
        if type(credential) is not str or len(credential) != 130:
            raise Unrecognised
        if type(answers) is not list or len(answers) != len(self._questions):
            raise Unrecognised
        points: list = []
        keys: list[bytes] = []
        com = self._com
        for answer, shape in zip(answers, self._questions, strict=True):
            listed, budget = shape[1], shape[5]
            if type(answer) is not dict or tuple(answer) != _ANSWER:
                raise Unrecognised
            choices = answer["choices"]
            if type(choices) is not list or len(choices) != listed:
                raise Unrecognised
            for ct in choices:
                if type(ct) is not dict or tuple(ct) != _CIPHERTEXT:
                    raise Unrecognised
                a_hex = ct["alpha"]
                points += (com(a_hex), com(ct["beta"]))
                keys.append(bytes.fromhex(a_hex[2:18]))
            if budget is not None:
                for ct in answer["budget_proof"]["bits"]:
                    keys.append(bytes.fromhex(ct["alpha"][2:18]))
        return FastBallot(bytes.fromhex(credential), points, b"".join(keys)), payload["tracker"]

    def _answer(self, eq, answer, shape, qi, binding, points, keys) -> None:
        question, listed, sum_values, bits, costs, budget = shape
        if type(answer) is not dict or tuple(answer) != _ANSWER:
            raise Unrecognised
        choices, proofs = answer["choices"], answer["choice_proofs"]
        sum_proof, budget_proof = answer["sum_proof"], answer["budget_proof"]
        if type(choices) is not list or len(choices) != listed:
            raise Unrecognised
        if type(proofs) is not list or len(proofs) != listed:
            raise Unrecognised
        alphas, betas, cts_hex = _ciphertexts(choices, keys, points, self._com)
        if (sum_values is None) is not (sum_proof is None):
            raise Unrecognised
        if (budget is None) is not (budget_proof is None):
            raise Unrecognised
        # per listed ciphertext: the coefficient of its α and of its β in this ballot
        ca, cb = [], []
        for o, proof in enumerate(proofs):
            option_binding = f'{binding}"option":{o},"question":{qi}}}'
            if question.max_score is None:
                da, db = self._bit_proof(eq, proof, "selection", option_binding, cts_hex[o])
            else:  # §5.5: the same statement as a sum proof on one ciphertext, tag "score"
                da, db = self._sum_proof(
                    eq, proof, question.choice_values, option_binding, cts_hex[o], tag="score"
                )
            ca.append(da)
            cb.append(db)
        if sum_proof is not None:
            da, db = self._sum_proof(
                eq, sum_proof, sum_values, f'{binding}"question":{qi}}}', ",".join(cts_hex)
            )
            ca = [x + da for x in ca]
            cb = [x + db for x in cb]
        if budget_proof is not None:
            self._budget(eq, budget_proof, bits, costs, budget, qi, binding, ca, cb, keys)
        scalars, pts = eq.scalars, eq.points
        for o in range(listed):
            scalars += (ca[o], cb[o])
            pts += (alphas[o], betas[o])

    def _bit_proof(self, eq, proof, tag, binding, ct_hex) -> tuple[int, int]:
        """A 0/1 proof (§5.3, S = [0, 1]) on one ciphertext; queues its commitments and returns
        the coefficients of the ciphertext's α and β."""
        if type(proof) is not dict or tuple(proof) != _PROOF:
            raise Unrecognised
        commitments, challenges, responses = (
            proof["commitments"],
            proof["challenges"],
            proof["responses"],
        )
        if len(challenges) != 2 or len(responses) != 2:
            raise Unrecognised
        (a0h, b0h), (a1h, b1h) = commitments
        com = self._com
        a0, b0, a1, b1 = com(a0h), com(b0h), com(a1h), com(b1h)
        c0, c1 = _scalar(challenges[0]), _scalar(challenges[1])
        v0, v1 = _scalar(responses[0]), _scalar(responses[1])
        c = hash_message_to_value(
            tag,
            (
                f'["{self.fingerprint}",{{"binding":{binding},"ciphertexts":[{ct_hex}],'
                f'"public_key":"{self.key_hex}","values":[0,1]}},'
                f'{{"commitments":[["{a0h}","{b0h}"],["{a1h}","{b1h}"]]}}]'
            ).encode(),
        )
        if (c0 + c1) % Q != c:
            raise Unrecognised
        # vⱼ·G − cⱼ·α − aⱼ = O and cⱼ·sⱼ·G + vⱼ·K − cⱼ·β − bⱼ = O, for s₀ = 0, s₁ = 1
        ra0, ra1, rb0, rb1 = eq.rho4()
        eq.g += ra0 * v0 + ra1 * v1 + rb1 * c1
        eq.k += rb0 * v0 + rb1 * v1
        eq.scalars += (-ra0, -ra1, -rb0, -rb1)
        eq.points += (a0, a1, b0, b1)
        return -(ra0 * c0 + ra1 * c1), -(rb0 * c0 + rb1 * c1)

    def _sum_proof(self, eq, proof, values, binding, cts_hex, tag="sum") -> tuple[int, int]:
        """§5.3 on the sum of the listed ciphertexts (or, with tag ``score``, on one score
        ciphertext); returns the coefficient that every α (and every β) of the statement gets."""
        commitments, challenges, responses = _proof(proof, len(values))
        coms, pairs = [], []
        for pair in commitments:
            if type(pair) is not list or len(pair) != 2:
                raise Unrecognised
            coms.append((self._com(pair[0]), self._com(pair[1])))
            pairs.append(f'["{pair[0]}","{pair[1]}"]')
        cs = [_scalar(x) for x in challenges]
        vs = [_scalar(x) for x in responses]
        c = hash_message_to_value(
            tag,
            (
                f'["{self.fingerprint}",{{"binding":{binding},"ciphertexts":[{cts_hex}],'
                f'"public_key":"{self.key_hex}","values":[{",".join(map(str, values))}]}},'
                f'{{"commitments":[{",".join(pairs)}]}}]'
            ).encode(),
        )
        if sum(cs) % Q != c:
            raise Unrecognised
        da = db = 0
        for (a, b), c_j, v_j, s_j in zip(coms, cs, vs, values, strict=True):
            ra, rb = eq.rho(), eq.rho()
            eq.g += ra * v_j + rb * c_j * s_j
            eq.k += rb * v_j
            da -= ra * c_j
            db -= rb * c_j
            eq.scalars += (-ra, -rb)
            eq.points += (a, b)
        return da, db

    def _budget(self, eq, proof, bits, costs, budget, qi, binding, ca, cb, keys) -> None:
        """§7.4: κ bit proofs, and Σ 2ʲ·Bⱼ + Σ costᵢ·Eᵢ = (O, budget·G)."""
        if type(proof) is not dict or tuple(proof) != _BUDGET:
            raise Unrecognised
        cts, bit_proofs = proof["bits"], proof["bit_proofs"]
        if type(cts) is not list or len(cts) != bits:
            raise Unrecognised
        if type(bit_proofs) is not list or len(bit_proofs) != bits:
            raise Unrecognised
        alphas, betas, cts_hex = _ciphertexts(cts, keys, None, self._com)
        r1, r2 = eq.rho(), eq.rho()
        for j, bit_proof in enumerate(bit_proofs):
            da, db = self._bit_proof(
                eq,
                bit_proof,
                "budget-bit",
                f'{{"bit":{j},{binding[1:]}"question":{qi}}}',
                cts_hex[j],
            )
            eq.scalars += (da + r1 * (1 << j), db + r2 * (1 << j))
            eq.points += (alphas[j], betas[j])
        for i, cost in enumerate(costs):
            ca[i] += r1 * cost
            cb[i] += r2 * cost
        eq.g -= r2 * budget


class _Equations:
    """One ballot's share of the batch, kept apart until the whole ballot is read."""

    __slots__ = ("rho", "g", "k", "scalars", "points")

    def __init__(self, rho: Rho) -> None:
        self.rho = rho
        self.g = 0
        self.k = 0
        self.scalars: list[int] = []
        self.points: list = []

    def rho4(self) -> tuple[int, int, int, int]:
        rho = self.rho
        return rho(), rho(), rho(), rho()


def _proof(proof, branches: int) -> tuple[list, list, list]:
    if type(proof) is not dict or tuple(proof) != _PROOF:
        raise Unrecognised
    commitments, challenges, responses = (
        proof["commitments"],
        proof["challenges"],
        proof["responses"],
    )
    if (
        type(commitments) is not list
        or type(challenges) is not list
        or type(responses) is not list
        or len(commitments) != branches
        or len(challenges) != branches
        or len(responses) != branches
    ):
        raise Unrecognised
    return commitments, challenges, responses


def _ciphertexts(
    cts: list, keys: list[bytes], points: list | None, decode
) -> tuple[list, list, list[str]]:
    """Decode a list of ciphertexts (``decode``: into the batch's arena); their α keys go to
    ``keys``, their OpenSSL points to ``points``."""
    alphas, betas, cts_hex = [], [], []
    for ct in cts:
        if type(ct) is not dict or tuple(ct) != _CIPHERTEXT:
            raise Unrecognised
        a_hex, b_hex = ct["alpha"], ct["beta"]
        alpha, beta = decode(a_hex), decode(b_hex)
        alphas.append(alpha)
        betas.append(beta)
        if points is not None:
            points += (alpha, beta)
        cts_hex.append(f'["{a_hex}","{b_hex}"]')
        keys.append(bytes.fromhex(a_hex[2:18]))
    return alphas, betas, cts_hex


def _digests(canonical: bytes) -> tuple[str, str]:
    """(tracker, content digest) from ``JCS(ballot)``: the content is the same bytes without the
    ``,"signature":{…}`` member (it sorts between "election" and "version", §7.6)."""
    start = canonical.rfind(b',"signature":{"commitment":"')
    end = canonical.find(b',"version":', start)
    if start < 0 or end < 0:
        raise Unrecognised
    return (
        hashlib.sha256(canonical).hexdigest(),
        hashlib.sha256(canonical[:start] + canonical[end:]).hexdigest(),
    )
