"""Encrypted ballots: encryption with proofs, verification, trackers, Benaloh audit
(docs/protocol.md §7).

A ballot holds, per question, one ciphertext per option (encrypting 0 or 1, or a score 0…S for a
score question) each with a selection or score proof, a sum proof when the question bounds the number of selections, and a budget proof when the
options have costs and the question a budget; then the credential's public key and its signature
over the ballot's content digest. The tracker is the SHA-256 of the canonical ballot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto.elgamal import Ciphertext, ElectionKey, encrypt
from crypto.encoding import (
    PROTOCOL_VERSION,
    expect_int,
    expect_list,
    expect_object,
    expect_version,
    read_point,
    read_scalar,
)
from crypto.errors import InvalidBallot, InvalidEncoding, InvalidProof
from crypto.group import G, Point, Q, Scalar, base_mul
from crypto.hashing import Tag, canonical_json, check_digest_hex
from crypto.proofs.batch import BatchVerifier
from crypto.proofs.disjunctive import (
    _BITS,
    MAX_SET_SIZE,
    DisjunctiveProof,
    encrypt_bit_with_proof,
    prove_membership,
    verify_membership,
)
from crypto.signatures import Signature, SigningKey, sign, verify_signature

__all__ = [
    "QuestionSpec",
    "ElectionSpec",
    "Answer",
    "BudgetProof",
    "Ballot",
    "BallotSecrets",
    "ballot_encrypt",
    "ballot_verify",
    "ballot_audit",
    "encrypt_score_with_proof",
    "answer_ciphertexts",
    "MAX_QUESTIONS",
    "MAX_OPTIONS",
    "MAX_AMOUNT",
    "MAX_SCORE",
]

MAX_QUESTIONS = 100
MAX_OPTIONS = 500
MAX_AMOUNT = 2**40  # largest cost or budget
#: largest S of a score question: its range proof has S + 1 branches (§5.5)
MAX_SCORE = 10
_BIT_VALUES = _BITS


# --- What a ballot must answer -----------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSpec:
    """The cryptographic shape of a question (from the election manifest).

    For a score question (``max_score`` = S) every option holds a score in [0, S] and ``min`` /
    ``max`` bound the total score Σ xᵢ (docs/protocol.md §7.1); otherwise options hold 0 or 1 and
    ``min`` / ``max`` bound the number of selections.
    """

    options: int  #: number of options n
    min_selections: int  #: Σ xᵢ ≥ min (selections, or total score)
    max_selections: int  #: Σ xᵢ ≤ max (selections, or total score)
    costs: tuple[int, ...] | None = None  #: cost of each option (participatory budget)
    budget: int | None = None  #: the cap on the total cost of the selected options
    max_score: int | None = None  #: S of a score question: each xᵢ ∈ [0, S]

    def __post_init__(self) -> None:
        expect_int(self.options, "options", 1, MAX_OPTIONS)
        if self.max_score is not None:
            expect_int(self.max_score, "max_score", 1, MAX_SCORE)
            if self.costs is not None or self.budget is not None:
                raise InvalidEncoding("question: a score question has no costs")
        expect_int(self.min_selections, "min", 0, self.top)
        expect_int(self.max_selections, "max", self.min_selections, self.top)
        if self.max_selections - self.min_selections + 1 > MAX_SET_SIZE and (
            self.min_selections,
            self.max_selections,
        ) != (0, self.top):  # only a sum proof's set is bounded (no sum proof for [0, top])
            raise InvalidEncoding("question: the range [min, max] is too wide")
        if (self.costs is None) != (self.budget is None):
            raise InvalidEncoding("question: costs and budget come together")
        if self.costs is not None:
            if len(self.costs) != self.options:
                raise InvalidEncoding("question: one cost per option")
            for i, c in enumerate(self.costs):
                expect_int(c, f"question: costs[{i}]", 0, MAX_AMOUNT)
            expect_int(self.budget, "question: budget", 0, MAX_AMOUNT)
            if not any(self.costs):
                raise InvalidEncoding("question: a budget question has at least one positive cost")

    @property
    def top(self) -> int:
        """The largest possible Σ xᵢ: n, or n·S for a score question."""
        return self.options * (self.max_score or 1)

    @property
    def choice_values(self) -> tuple[int, ...]:
        """The set each option's ciphertext is proven to lie in: [0, 1], or [0 … S]."""
        return _BIT_VALUES if self.max_score is None else tuple(range(self.max_score + 1))

    @property
    def choice_tag(self) -> str:
        """The domain tag of the per-option proofs: ``selection``, or ``score``."""
        return Tag.SELECTION if self.max_score is None else Tag.SCORE

    @property
    def implicit_last(self) -> bool:
        """Exactly k options must be selected (and there are no costs, no scores): the ballot omits
        the last option's ciphertext, which anyone derives as ``(O, k·G) − Σ Eᵢ`` (§7.2)."""
        return (
            self.min_selections == self.max_selections
            and self.options >= 2
            and self.costs is None
            and self.max_score is None
        )

    @property
    def encrypted_options(self) -> int:
        """How many ciphertexts a ballot carries for this question."""
        return self.options - 1 if self.implicit_last else self.options

    @property
    def sum_values(self) -> tuple[int, ...] | None:
        """The set the sum of the ballot's ciphertexts is proven to lie in, or ``None``."""
        if self.implicit_last:
            k, listed = self.max_selections, self.options - 1
            return tuple(range(max(0, k - 1), min(k, listed) + 1))
        if self.min_selections == 0 and self.max_selections == self.top:
            return None
        return tuple(range(self.min_selections, self.max_selections + 1))

    @property
    def budget_bits(self) -> int:
        """``k = max(1, bitlength(budget))``: the slack ``budget − total`` is proven to be in [0, 2^k)."""
        return max(1, self.budget.bit_length()) if self.budget is not None else 0

    def check_choices(self, choices: Sequence[int]) -> None:
        allowed = self.choice_values
        if len(choices) != self.options or any(c not in allowed for c in choices):
            if self.max_score is not None:
                raise InvalidBallot(
                    f"expected {self.options} scores, each from 0 to {self.max_score}"
                )
            raise InvalidBallot(f"expected {self.options} selections of 0 or 1")
        n = sum(choices)
        if not self.min_selections <= n <= self.max_selections:
            if self.max_score is not None:
                raise InvalidBallot(
                    f"the scores must add up to between {self.min_selections} and "
                    f"{self.max_selections}"
                )
            raise InvalidBallot(
                f"select between {self.min_selections} and {self.max_selections} options"
            )
        if (
            self.costs is not None
            and sum(c * x for c, x in zip(self.costs, choices, strict=True)) > self.budget
        ):
            raise InvalidBallot("the selected options cost more than the budget")

    def to_json(self) -> dict:
        out = {
            "options": self.options,
            "min": self.min_selections,
            "max": self.max_selections,
            "costs": list(self.costs) if self.costs is not None else None,
            "budget": self.budget,
        }
        if self.max_score is not None:
            out["max_score"] = self.max_score
        return out

    @classmethod
    def from_json(cls, value: Any, what: str = "question") -> QuestionSpec:
        obj = expect_object(
            value, ("options", "min", "max", "costs", "budget"), what, optional=("max_score",)
        )
        costs = obj["costs"]
        if costs is not None:
            costs = tuple(expect_list(costs, f"{what}.costs"))
        max_score = obj.get("max_score")
        if "max_score" in obj and max_score is None:
            raise InvalidEncoding(f"{what}.max_score: an integer when present")
        return cls(obj["options"], obj["min"], obj["max"], costs, obj["budget"], max_score)


@dataclass(frozen=True)
class ElectionSpec:
    """What ballot encryption and verification need: fingerprint, key and question shapes."""

    fingerprint: str  #: SHA-256 of the canonical manifest (the Fiat–Shamir context)
    key: ElectionKey
    questions: tuple[QuestionSpec, ...]

    def __post_init__(self) -> None:
        check_digest_hex(self.fingerprint, "fingerprint")
        if not 1 <= len(self.questions) <= MAX_QUESTIONS:
            raise InvalidEncoding(f"an election has 1 to {MAX_QUESTIONS} questions")


# --- The ballot --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetProof:
    bits: tuple[Ciphertext, ...]  #: encryptions of the bits of budget − total
    bit_proofs: tuple[DisjunctiveProof, ...]  #: each bit is 0 or 1

    def to_json(self) -> dict:
        return {
            "bits": [b.to_json() for b in self.bits],
            "bit_proofs": [p.to_json() for p in self.bit_proofs],
        }

    @classmethod
    def from_json(cls, value: Any, what: str) -> BudgetProof:
        obj = expect_object(value, ("bits", "bit_proofs"), what)
        bits = expect_list(obj["bits"], f"{what}.bits", min_length=1)
        if len(bits) > MAX_AMOUNT.bit_length():
            raise InvalidEncoding(f"{what}: too many bits")
        proofs = expect_list(obj["bit_proofs"], f"{what}.bit_proofs", len(bits))
        return cls(
            tuple(Ciphertext.from_json(b, f"{what}.bits[{j}]") for j, b in enumerate(bits)),
            tuple(
                DisjunctiveProof.from_json(p, f"{what}.bit_proofs[{j}]", 2)
                for j, p in enumerate(proofs)
            ),
        )


@dataclass(frozen=True)
class Answer:
    choices: tuple[Ciphertext, ...]  #: one ciphertext per option
    choice_proofs: tuple[DisjunctiveProof, ...]  #: each encrypts 0 or 1 (a score: 0 … S)
    sum_proof: DisjunctiveProof | None  #: the number of selections lies in [min, max]
    budget_proof: BudgetProof | None  #: the total cost is at most the budget

    def to_json(self) -> dict:
        return {
            "choices": [c.to_json() for c in self.choices],
            "choice_proofs": [p.to_json() for p in self.choice_proofs],
            "sum_proof": self.sum_proof.to_json() if self.sum_proof is not None else None,
            "budget_proof": self.budget_proof.to_json() if self.budget_proof is not None else None,
        }

    @classmethod
    def from_json(cls, value: Any, what: str) -> Answer:
        obj = expect_object(value, ("choices", "choice_proofs", "sum_proof", "budget_proof"), what)
        choices = expect_list(obj["choices"], f"{what}.choices", min_length=1)
        if len(choices) > MAX_OPTIONS:
            raise InvalidEncoding(f"{what}: too many options")
        proofs = expect_list(obj["choice_proofs"], f"{what}.choice_proofs", len(choices))
        try:  # labels are built only when something is wrong
            cts = tuple(Ciphertext.from_json(c) for c in choices)
        except InvalidEncoding:
            cts = tuple(
                Ciphertext.from_json(c, f"{what}.choices[{i}]") for i, c in enumerate(choices)
            )
        return cls(
            cts,
            tuple(
                DisjunctiveProof.from_json(p, f"{what}.choice_proofs[{i}]")
                for i, p in enumerate(proofs)
            ),
            None
            if obj["sum_proof"] is None
            else DisjunctiveProof.from_json(obj["sum_proof"], f"{what}.sum_proof"),
            None
            if obj["budget_proof"] is None
            else BudgetProof.from_json(obj["budget_proof"], f"{what}.budget_proof"),
        )


@dataclass(frozen=True)
class Ballot:
    election: str  #: the election fingerprint
    credential: Point  #: the credential's public key S
    answers: tuple[Answer, ...]
    signature: Signature  #: by the credential, over content_digest()
    #: cache of (tracker, content digest); not an init field, so dataclasses.replace starts afresh
    _digests: list = field(default_factory=list, compare=False, repr=False, init=False)

    def content_json(self) -> dict:
        """The ballot without its signature: what the credential signs."""
        return {
            "version": PROTOCOL_VERSION,
            "election": self.election,
            "credential": self.credential.to_hex(),
            "answers": [a.to_json() for a in self.answers],
        }

    def to_json(self) -> dict:
        body = self.content_json()
        body["signature"] = self.signature.to_json()
        return body

    def _cached_digests(self) -> tuple[str, str]:
        if not self._digests:
            self._digests.extend(canonical_ballot_digests(canonical_json(self.to_json())))
        return self._digests[0], self._digests[1]

    def content_digest(self) -> str:
        """SHA-256 of the canonical ballot without its signature: the message the credential signs."""
        return self._cached_digests()[1]

    def tracker(self) -> str:
        """SHA-256 of the canonical ballot (64 hex digits): the voter's receipt and the board's key."""
        return self._cached_digests()[0]

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, value: Any, *, canonical: bytes | None = None) -> Ballot:
        """Strict decoding. ``canonical``, if given, must be exactly ``JCS(value)`` (e.g. a slice of a
        canonical board line): the tracker and content digest are then hashed from it directly."""
        obj = expect_object(
            value, ("version", "election", "credential", "answers", "signature"), "ballot"
        )
        expect_version(obj, "ballot")
        answers = expect_list(obj["answers"], "ballot.answers", min_length=1)
        if len(answers) > MAX_QUESTIONS:
            raise InvalidEncoding("ballot: too many answers")
        ballot = cls(
            check_digest_hex(obj["election"], "ballot.election"),
            read_point(obj["credential"], "ballot.credential"),
            tuple(Answer.from_json(a, f"ballot.answers[{i}]") for i, a in enumerate(answers)),
            Signature.from_json(obj["signature"], "ballot.signature"),
        )
        if canonical is not None:
            ballot._digests.extend(canonical_ballot_digests(canonical))
        return ballot


def canonical_ballot_digests(canonical: bytes) -> tuple[str, str]:
    """``(tracker, content_digest)`` from a ballot's canonical JSON bytes.

    In ``JCS(ballot)`` the members are sorted (answers, credential, election, signature, version),
    so ``JCS(ballot without signature)`` is the same bytes with the ``,"signature":{…}`` member cut
    out: one serialisation gives both digests.
    """
    start = canonical.rfind(b',"signature":{"commitment":"')
    end = canonical.find(b',"version":', start)
    if start < 0 or end < 0:
        raise InvalidEncoding("not the canonical JSON of a ballot")
    return hashlib.sha256(canonical).hexdigest(), hashlib.sha256(
        canonical[:start] + canonical[end:]
    ).hexdigest()


class BallotSecrets:
    """The encryption randomness of a ballot: revealed only to audit it (Benaloh challenge)."""

    __slots__ = ("choices", "bits")

    def __init__(
        self, choices: Sequence[Sequence[Scalar]], bits: Sequence[Sequence[Scalar] | None]
    ) -> None:
        self.choices = tuple(tuple(q) for q in choices)
        self.bits = tuple(None if b is None else tuple(b) for b in bits)

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "randomness": [
                {
                    "choices": [r.to_hex() for r in rs],
                    "bits": None if bs is None else [r.to_hex() for r in bs],
                }
                for rs, bs in zip(self.choices, self.bits, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, value: Any) -> BallotSecrets:
        obj = expect_object(value, ("version", "randomness"), "ballot randomness")
        expect_version(obj, "ballot randomness")
        choices, bits = [], []
        for i, item in enumerate(expect_list(obj["randomness"], "randomness", min_length=1)):
            item = expect_object(item, ("choices", "bits"), f"randomness[{i}]")
            choices.append(
                [
                    read_scalar(r, f"randomness[{i}].choices")
                    for r in expect_list(item["choices"], "choices")
                ]
            )
            bits.append(
                None
                if item["bits"] is None
                else [
                    read_scalar(r, f"randomness[{i}].bits")
                    for r in expect_list(item["bits"], "bits")
                ]
            )
        return cls(choices, bits)

    def __repr__(self) -> str:
        return "BallotSecrets(<redacted>)"


# --- Encryption --------------------------------------------------------------------------------


def _selection_binding(credential_hex: str, question: int, option: int) -> dict:
    return {"credential": credential_hex, "option": option, "question": question}


def ballot_encrypt(
    spec: ElectionSpec,
    signing_key: SigningKey,
    choices: Sequence[Sequence[int]],
    *,
    rand: Callable[[], Scalar] = Scalar.random,
    _signature_random: bytes | None = None,
) -> tuple[Ballot, BallotSecrets]:
    """Encrypt ``choices`` (per question, 0/1 — or a score 0…S — per option) and prove and sign
    the ballot."""
    if len(choices) != len(spec.questions):
        raise InvalidBallot(f"expected answers to {len(spec.questions)} questions")
    key, context = spec.key, spec.fingerprint
    credential_hex = signing_key.public.to_hex()
    answers, secret_choices, secret_bits = [], [], []
    for qi, (question, picks) in enumerate(zip(spec.questions, choices, strict=True)):
        picks = list(picks)
        if not all(isinstance(x, int) for x in picks):
            raise InvalidBallot("a selection is the integer 0 or 1, a score an integer")
        picks = [int(x) for x in picks]
        question.check_choices(picks)
        listed = picks[: question.encrypted_options]
        cts, rs, proofs = [], [], []
        for oi, m in enumerate(listed):
            binding = _selection_binding(credential_hex, qi, oi)
            if question.max_score is None:
                ct, r, proof = encrypt_bit_with_proof(
                    tag=Tag.SELECTION, context=context, key=key, bit=m, binding=binding, rand=rand
                )
            else:
                ct, r, proof = encrypt_score_with_proof(question, key, context, m, binding, rand)
            cts.append(ct)
            rs.append(r)
            proofs.append(proof)
        sum_proof = None
        if question.sum_values is not None:
            sum_proof = prove_membership(
                tag=Tag.SUM,
                context=context,
                key=key,
                ciphertexts=cts,
                randomness=Scalar(sum(int(r) for r in rs) % Q),
                plaintext=sum(listed),
                values=question.sum_values,
                binding={"credential": credential_hex, "question": qi},
                rand=rand,
            )
        budget_proof, bit_rs = None, None
        if question.budget is not None:
            budget_proof, bit_rs = _prove_budget(
                question, key, context, credential_hex, qi, picks, rs, rand
            )
        answers.append(Answer(tuple(cts), tuple(proofs), sum_proof, budget_proof))
        secret_choices.append(rs)
        secret_bits.append(bit_rs)
    credential = signing_key.public
    unsigned = Ballot(
        context, credential, tuple(answers), Signature(G, Scalar(0))
    )  # for the digest
    signature = sign(
        signing_key, unsigned.content_digest(), context=context, _random=_signature_random
    )
    ballot = Ballot(context, credential, tuple(answers), signature)
    return ballot, BallotSecrets(secret_choices, secret_bits)


def encrypt_score_with_proof(
    question: QuestionSpec,
    key: ElectionKey,
    context: str,
    score: int,
    binding: dict,
    rand: Callable[[], Scalar] = Scalar.random,
) -> tuple[Ciphertext, Scalar, DisjunctiveProof]:
    """``E = Enc(score; r)`` and its range proof (§5.5): a disjunctive proof (§5.3) with tag
    ``score`` and values ``[0 … S]``. Draws ``r``, then the proof's nonces in §5.3 order."""
    values = question.choice_values
    if score not in values:
        raise InvalidBallot(f"a score is an integer from 0 to {question.max_score}")
    ct, r = encrypt(key, score, rand=rand)
    proof = prove_membership(
        tag=Tag.SCORE,
        context=context,
        key=key,
        ciphertexts=(ct,),
        randomness=r,
        plaintext=score,
        values=values,
        binding=binding,
        rand=rand,
    )
    return ct, r, proof


def _prove_budget(question, key, context, credential_hex, qi, picks, rs, rand):
    """Bits ``bⱼ`` of ``d = budget − total`` encrypted with randomness chosen so that
    ``Σ 2ʲ·Bⱼ + Σ costᵢ·Eᵢ = (O, budget·G)`` holds exactly (combined randomness zero)."""
    k = question.budget_bits
    total = sum(c * x for c, x in zip(question.costs, picks, strict=True))
    d = question.budget - total
    if not 0 <= d < (1 << k):  # pragma: no cover - check_choices ran before
        raise InvalidBallot("the selected options cost more than the budget")
    cost_r = sum(c * int(r) for c, r in zip(question.costs, rs, strict=True))
    if k == 1 and cost_r % Q == 0:  # ρ₀ would be 0 at every draw (e.g. every cost is 0)
        raise InvalidBallot("no budget proof exists: every cost is 0 and the budget below 2")
    while True:
        rhos = [0] + [int(rand()) for _ in range(1, k)]
        rho0 = (-(cost_r + sum((1 << j) * rhos[j] for j in range(1, k)))) % Q
        if rho0:
            rhos[0] = rho0
            break
    bits, proofs, bit_rs = [], [], []
    for j in range(k):
        ct, r, proof = encrypt_bit_with_proof(
            tag=Tag.BUDGET_BIT,
            context=context,
            key=key,
            bit=(d >> j) & 1,
            binding={"bit": j, "credential": credential_hex, "question": qi},
            rand=rand,
            randomness=Scalar(rhos[j]),
        )
        bits.append(ct)
        proofs.append(proof)
        bit_rs.append(r)
    return BudgetProof(tuple(bits), tuple(proofs)), bit_rs


# --- Verification ------------------------------------------------------------------------------


def ballot_check_shape(ballot: Ballot, spec: ElectionSpec) -> None:
    """Structure against the election: fingerprint, number of questions, options, proofs, bits."""
    if ballot.election != spec.fingerprint:
        raise InvalidBallot("the ballot is for another election (fingerprint mismatch)")
    if len(ballot.answers) != len(spec.questions):
        raise InvalidBallot(f"expected {len(spec.questions)} answers, got {len(ballot.answers)}")
    for qi, (answer, question) in enumerate(zip(ballot.answers, spec.questions, strict=True)):
        where = f"question {qi + 1}"
        if len(answer.choices) != question.encrypted_options:
            raise InvalidBallot(
                f"{where}: expected {question.encrypted_options} ciphertexts, got {len(answer.choices)}"
            )
        if len(answer.choice_proofs) != len(answer.choices):
            raise InvalidBallot(f"{where}: expected one selection proof per ciphertext")
        branches = len(question.choice_values)
        for oi, proof in enumerate(answer.choice_proofs):
            if len(proof.commitments) != branches:
                raise InvalidBallot(
                    f"{where} option {oi + 1}: expected a proof with {branches} branches"
                )
        values = question.sum_values
        if values is None and answer.sum_proof is not None:
            raise InvalidBallot(f"{where}: unexpected sum proof")
        if values is not None and (
            answer.sum_proof is None or len(answer.sum_proof.commitments) != len(values)
        ):
            raise InvalidBallot(f"{where}: missing or malformed sum proof")
        if question.budget is None and answer.budget_proof is not None:
            raise InvalidBallot(f"{where}: unexpected budget proof")
        if question.budget is not None and (
            answer.budget_proof is None
            or len(answer.budget_proof.bits) != question.budget_bits
            or len(answer.budget_proof.bit_proofs) != question.budget_bits
        ):
            raise InvalidBallot(f"{where}: missing or malformed budget proof")


def ballot_verify(
    ballot: Ballot, spec: ElectionSpec, *, batch: BatchVerifier | None = None
) -> None:
    """Check the ballot's shape, every proof and the signature; raise on the first failure.

    With ``batch`` given, the group equations are queued there and checked when the caller calls
    ``batch.verify()`` (to verify many ballots in one multi-scalar multiplication).
    """
    ballot_check_shape(ballot, spec)
    own_batch = batch is None
    if own_batch:
        batch = BatchVerifier()
    key, context = spec.key, spec.fingerprint
    credential_hex = ballot.credential.to_hex()
    for qi, (answer, question) in enumerate(zip(ballot.answers, spec.questions, strict=True)):
        where = f"question {qi + 1}"
        tag, values = question.choice_tag, question.choice_values
        what = "selection proof" if question.max_score is None else "score proof (0 … S)"
        for oi, (ct, proof) in enumerate(zip(answer.choices, answer.choice_proofs, strict=True)):
            verify_membership(
                proof,
                tag=tag,
                context=context,
                key=key,
                ciphertexts=(ct,),
                values=values,
                binding=_selection_binding(credential_hex, qi, oi),
                batch=batch,
                label=f"{where} option {oi + 1}: {what}",
            )
        if answer.sum_proof is not None:
            verify_membership(
                answer.sum_proof,
                tag=Tag.SUM,
                context=context,
                key=key,
                ciphertexts=answer.choices,
                values=question.sum_values,
                binding={"credential": credential_hex, "question": qi},
                batch=batch,
                label=f"{where}: sum proof (min/max selections)",
            )
        if answer.budget_proof is not None:
            _verify_budget(answer, question, key, context, credential_hex, qi, batch, where)
    verify_signature(
        ballot.signature,
        public=ballot.credential,
        message=ballot.content_digest(),
        context=context,
        batch=batch,
        label="credential signature",
    )
    if own_batch:
        batch.verify()


def _verify_budget(answer, question, key, context, credential_hex, qi, batch, where) -> None:
    proof = answer.budget_proof
    for j, (ct, bit_proof) in enumerate(zip(proof.bits, proof.bit_proofs, strict=True)):
        verify_membership(
            bit_proof,
            tag=Tag.BUDGET_BIT,
            context=context,
            key=key,
            ciphertexts=(ct,),
            values=_BIT_VALUES,
            binding={"bit": j, "credential": credential_hex, "question": qi},
            batch=batch,
            label=f"{where}: budget proof bit {j}",
        )
    # Σ 2^j·B_j + Σ cost_i·E_i = (O, budget·G)
    alpha_terms = [(1 << j, ct.alpha) for j, ct in enumerate(proof.bits)]
    beta_terms = [(1 << j, ct.beta) for j, ct in enumerate(proof.bits)]
    for cost, ct in zip(question.costs, answer.choices, strict=True):
        if cost:
            alpha_terms.append((cost, ct.alpha))
            beta_terms.append((cost, ct.beta))
    label = f"{where}: budget proof (total cost within the budget)"
    batch.add(label, 0, alpha_terms)
    batch.add(label, -question.budget, beta_terms)


def answer_ciphertexts(answer: Answer, question: QuestionSpec) -> tuple[Ciphertext, ...]:
    """One ciphertext per option, deriving the omitted last one of an exact-count question:
    ``E_n = (−Σ αᵢ, k·G − Σ βᵢ)`` (its α may be the identity only for a voter's own choosing)."""
    if not question.implicit_last:
        return answer.choices
    listed = Ciphertext.sum(answer.choices)
    derived = Ciphertext(-listed.alpha, base_mul(question.max_selections) - listed.beta)
    return (*answer.choices, derived)


# --- Benaloh audit -----------------------------------------------------------------------------


def ballot_audit(ballot: Ballot, spec: ElectionSpec, secrets: BallotSecrets) -> list[list[int]]:
    """Check that the revealed randomness reproduces every ciphertext; return the plaintexts.

    Raises :class:`InvalidProof` if any ciphertext is not ``(r·G, m·G + r·K)`` with ``m ∈ {0, 1}``
    (``m ∈ [0, S]`` for a score question).
    """
    ballot_check_shape(ballot, spec)
    if len(secrets.choices) != len(ballot.answers):
        raise InvalidProof("audit: randomness for a different number of questions")
    table = spec.key.table
    plaintexts = []
    for qi, (answer, rs, bit_rs) in enumerate(
        zip(ballot.answers, secrets.choices, secrets.bits, strict=True)
    ):
        if len(rs) != len(answer.choices):
            raise InvalidProof(f"audit: question {qi + 1}: wrong number of randomness values")
        question = spec.questions[qi]
        top = question.max_score or 1
        opened = [
            _open(ct, r, table, f"question {qi + 1} option {oi + 1}", top)
            for oi, (ct, r) in enumerate(zip(answer.choices, rs, strict=True))
        ]
        if question.implicit_last:
            implied = question.max_selections - sum(opened)
            if implied not in (0, 1):
                raise InvalidProof(
                    f"audit: question {qi + 1}: the implied last option is {implied}"
                )
            opened.append(implied)
        plaintexts.append(opened)
        if answer.budget_proof is not None:
            if bit_rs is None or len(bit_rs) != len(answer.budget_proof.bits):
                raise InvalidProof(f"audit: question {qi + 1}: missing budget randomness")
            for j, (ct, r) in enumerate(zip(answer.budget_proof.bits, bit_rs, strict=True)):
                _open(ct, r, table, f"question {qi + 1} budget bit {j}")
    return plaintexts


def _open(ct: Ciphertext, r: Scalar, table, where: str, top: int = 1) -> int:
    """The plaintext ``m ∈ [0, top]`` of ``ct`` under randomness ``r``."""
    if base_mul(r) != ct.alpha:
        raise InvalidProof(f"audit: {where}: the randomness does not reproduce α")
    m_point = ct.beta - table.mul(r)
    if m_point.is_identity():
        return 0
    step = G
    for m in range(1, top + 1):
        if m_point == step:
            return m
        step = step + G
    if top == 1:
        raise InvalidProof(f"audit: {where}: the ciphertext does not encrypt 0 or 1")
    raise InvalidProof(f"audit: {where}: the ciphertext does not encrypt a score from 0 to {top}")
