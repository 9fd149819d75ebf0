"""Hypothesis strategies for the whole test suite, kept in one place (STYLE.md rule 11).

Profiles: ``dev`` (the default) and ``ci`` (selected with ``HYPOTHESIS_PROFILE=ci``, or
automatically when ``CI`` is set, by ``tests/crypto/conftest.py``). Tests that are expensive per
example pin their own ``max_examples`` with ``@settings``; the profiles only set what must hold
everywhere (no per-example deadline: OpenSSL timings vary on shared CI machines).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from crypto.ballot import (
    MAX_AMOUNT,
    MAX_SCORE,
    Answer,
    Ballot,
    BallotSecrets,
    BudgetProof,
    QuestionSpec,
)
from crypto.credentials import generate_code
from crypto.ecies import EciesMessage
from crypto.elgamal import Ciphertext
from crypto.group import Point, Q, Scalar, base_mul
from crypto.proofs.disjunctive import DisjunctiveProof
from crypto.proofs.dleq import DleqProof
from crypto.proofs.schnorr import SchnorrProof
from crypto.signatures import Signature
from crypto.threshold import (
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    PartialDecryption,
    TrusteePublicKey,
)

settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- Group elements ----------------------------------------------------------------------------

#: Scalars that tend to break arithmetic: 0, 1, 2, q−2, q−1 and 2^k around the word sizes.
EDGE_SCALARS = (0, 1, 2, Q - 2, Q - 1, 2**64 - 1, 2**128, 2**255 % Q)


def scalar_ints(*, nonzero: bool = False) -> st.SearchStrategy[int]:
    """Integers in ``[0, q)`` (or ``[1, q)``), edge values included."""
    low = 1 if nonzero else 0
    edges = [v for v in EDGE_SCALARS if v >= low]
    return st.one_of(st.sampled_from(edges), st.integers(low, Q - 1))


def scalars(*, nonzero: bool = False) -> st.SearchStrategy[Scalar]:
    return scalar_ints(nonzero=nonzero).map(Scalar)


def nonzero_scalars() -> st.SearchStrategy[Scalar]:
    return scalars(nonzero=True)


def points() -> st.SearchStrategy[Point]:
    """Real (non-identity) points ``k·G`` with a known-good spread of ``k``."""
    return nonzero_scalars().map(base_mul)


def points_or_identity() -> st.SearchStrategy[Point]:
    return st.one_of(st.just(Point.identity()), points())


def small_plaintexts(max_value: int = 10_000) -> st.SearchStrategy[int]:
    """Plaintexts of exponential ElGamal: small non-negative integers (a tally, a weight…)."""
    return st.integers(0, max_value)


def hex_digests() -> st.SearchStrategy[str]:
    """64 lowercase hex digits (an election fingerprint, a SHA-256 digest)."""
    return st.binary(min_size=32, max_size=32).map(bytes.hex)


def election_uuids() -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def credential_codes() -> st.SearchStrategy[str]:
    """Fresh, valid credential codes (from the OS CSPRNG, so not shrinkable: only their count)."""
    return st.builds(generate_code)


# --- Protocol JSON ------------------------------------------------------------------------------

MAX_SAFE_INTEGER = 2**53 - 1

#: Unicode text of the protocol: any scalar value (no lone surrogates, which JSON text in UTF-8
#: cannot carry), control characters and characters outside the BMP included.
SPECIAL_CHARACTERS = (
    '\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f"\\/\u00e9\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff'
)
protocol_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL_CHARACTERS)),
    max_size=20,
)

ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=8)


def json_values(*, max_leaves: int = 25) -> st.SearchStrategy:
    """JSON values of the protocol subset: no floats, integers of magnitude < 2^53, ASCII keys."""
    scalars_ = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
        st.sampled_from([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 2**31, -(2**31)]),
        protocol_text,
    )
    return st.recursive(
        scalars_,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(ascii_keys, children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


# --- Questions and choices ------------------------------------------------------------------------


@st.composite
def question_with_choices(draw, *, max_options: int = 8, budget: bool | None = None):
    """A question shape with a valid answer to it: ``(QuestionSpec, [0/1 per option])``.

    The choices are drawn first and the constraints around them, so every shape the protocol
    distinguishes occurs: exact counts (implicit last option), open ranges, no sum proof
    (min 0, max n), and participatory budgets (exact-budget and budget-0 edges included).
    """
    n = draw(st.integers(1, max_options))
    choices = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    k = sum(choices)
    with_budget = draw(st.booleans()) if budget is None else budget
    if with_budget:
        costs = tuple(
            draw(
                st.lists(
                    st.one_of(st.integers(0, 100), st.sampled_from([0, 1, 2**20, MAX_AMOUNT])),
                    min_size=n,
                    max_size=n,
                )
            )
        )
        total = sum(c * x for c, x in zip(costs, choices, strict=True))
        slack = draw(st.one_of(st.just(0), st.integers(0, 1000)))
        spend = min(total + slack, MAX_AMOUNT)
        if not any(costs):
            # a budget question needs a positive cost (test_ballot.py::
            # test_budget_question_with_only_zero_costs_is_refused)
            costs = (*costs[:-1], 1)
            total = sum(c * x for c, x in zip(costs, choices, strict=True))
            spend = min(total + slack, MAX_AMOUNT)
        if spend < total:  # the costs of the choices alone exceed the cap: drop the budget
            return QuestionSpec(n, 0, n), choices
        return QuestionSpec(
            n, draw(st.integers(0, k)), draw(st.integers(k, n)), costs, spend
        ), choices
    low = draw(st.integers(0, k))
    high = draw(st.one_of(st.just(k), st.integers(k, n)))
    return QuestionSpec(n, low, high), choices


@st.composite
def score_question_with_scores(draw, *, max_options: int = 6, max_score: int | None = None):
    """A score question with a valid answer: ``(QuestionSpec, [score per option])``.

    Scores are drawn first (0 and S included), then the bounds on the total around them, so both
    shapes occur: no sum proof (min 0, max n·S) and a sum proof (a max total, a min total)."""
    n = draw(st.integers(1, max_options))
    s = draw(st.integers(1, MAX_SCORE)) if max_score is None else max_score
    scores = draw(
        st.lists(st.one_of(st.integers(0, s), st.sampled_from([0, s])), min_size=n, max_size=n)
    )
    total = sum(scores)
    low = draw(st.one_of(st.just(0), st.integers(0, total)))
    high = draw(st.one_of(st.just(n * s), st.just(total), st.integers(total, n * s)))
    return QuestionSpec(n, low, high, max_score=s), scores


@st.composite
def valid_choices(draw, question: QuestionSpec) -> list[int]:
    """Choices that satisfy ``question``: a count in [min, max], the options in random order,
    and for a budget the options kept while they fit (at least ``min`` of them, else rejected)."""
    n = question.options
    k = draw(st.integers(question.min_selections, question.max_selections))
    order = draw(st.permutations(range(n)))
    chosen: list[int] = []
    spent = 0
    for i in order[:k]:
        cost = question.costs[i] if question.costs is not None else 0
        if question.budget is None or spent + cost <= question.budget:
            chosen.append(i)
            spent += cost
    assume(len(chosen) >= question.min_selections)
    return [1 if i in chosen else 0 for i in range(n)]


# --- Protocol objects (structurally valid, not cryptographically: for JSON round trips) -----------


def ciphertexts() -> st.SearchStrategy[Ciphertext]:
    return st.builds(Ciphertext, points(), points())


def schnorr_proofs() -> st.SearchStrategy[SchnorrProof]:
    return st.builds(SchnorrProof, points(), scalars())


def signatures() -> st.SearchStrategy[Signature]:
    return st.builds(Signature, points(), scalars())


def dleq_proofs() -> st.SearchStrategy[DleqProof]:
    return st.builds(DleqProof, points(), points_or_identity(), scalars())


@st.composite
def disjunctive_proofs(draw, size: int | None = None) -> DisjunctiveProof:
    k = size if size is not None else draw(st.integers(1, 4))
    return DisjunctiveProof(
        tuple(draw(st.lists(st.tuples(points(), points()), min_size=k, max_size=k))),
        tuple(draw(st.lists(scalars(), min_size=k, max_size=k))),
        tuple(draw(st.lists(scalars(), min_size=k, max_size=k))),
    )


@st.composite
def question_specs(draw) -> QuestionSpec:
    return draw(st.one_of(question_with_choices(), score_question_with_scores()))[0]


@st.composite
def budget_proofs(draw) -> BudgetProof:
    k = draw(st.integers(1, 3))
    return BudgetProof(
        tuple(draw(st.lists(ciphertexts(), min_size=k, max_size=k))),
        tuple(draw(st.lists(disjunctive_proofs(2), min_size=k, max_size=k))),
    )


@st.composite
def answers(draw) -> Answer:
    n = draw(st.integers(1, 3))
    return Answer(
        tuple(draw(st.lists(ciphertexts(), min_size=n, max_size=n))),
        tuple(draw(st.lists(disjunctive_proofs(2), min_size=n, max_size=n))),
        draw(st.none() | disjunctive_proofs()),
        draw(st.none() | budget_proofs()),
    )


def ballots() -> st.SearchStrategy[Ballot]:
    return st.builds(
        Ballot,
        hex_digests(),
        points(),
        st.lists(answers(), min_size=1, max_size=2).map(tuple),
        signatures(),
    )


@st.composite
def ballot_secrets(draw) -> BallotSecrets:
    n = draw(st.integers(1, 3))
    choices = draw(st.lists(st.lists(scalars(), min_size=1, max_size=3), min_size=n, max_size=n))
    bits = draw(
        st.lists(st.none() | st.lists(scalars(), min_size=1, max_size=3), min_size=n, max_size=n)
    )
    return BallotSecrets(choices, bits)


trustee_indices = st.integers(1, 64)


def trustee_public_keys() -> st.SearchStrategy[TrusteePublicKey]:
    return st.builds(TrusteePublicKey, trustee_indices, points(), schnorr_proofs())


def dkg_commitments() -> st.SearchStrategy[DkgCommitment]:
    return st.builds(DkgCommitment, trustee_indices, hex_digests())


def ecies_messages() -> st.SearchStrategy[EciesMessage]:
    return st.builds(EciesMessage, points(), st.binary(min_size=16, max_size=64))


@st.composite
def dkg_deals(draw) -> DkgDeal:
    t = draw(st.integers(1, 3))
    return DkgDeal(
        draw(trustee_indices),
        tuple(draw(st.lists(points(), min_size=t, max_size=t))),
        tuple(draw(st.lists(schnorr_proofs(), min_size=t, max_size=t))),
        tuple(draw(st.lists(ecies_messages(), min_size=1, max_size=4))),
    )


def dkg_complaints() -> st.SearchStrategy[DkgComplaint]:
    return st.builds(DkgComplaint, trustee_indices, trustee_indices, points(), dleq_proofs())


def dkg_confirmations() -> st.SearchStrategy[DkgConfirmation]:
    return st.builds(
        DkgConfirmation,
        trustee_indices,
        st.sets(trustee_indices, min_size=1, max_size=5).map(lambda s: tuple(sorted(s))),
        points(),
        schnorr_proofs(),
    )


@st.composite
def partial_decryptions(draw) -> PartialDecryption:
    n = draw(st.integers(1, 3))
    return PartialDecryption(
        draw(trustee_indices),
        tuple(draw(st.lists(points_or_identity(), min_size=n, max_size=n))),
        tuple(draw(st.lists(dleq_proofs(), min_size=n, max_size=n))),
    )


# --- The mixnet (crypto/mix, crypto/pointenc) -------------------------------------------------------


def message_bytes(max_size: int = 200) -> st.SearchStrategy[bytes]:
    """Byte strings to encode as points, biased towards the padding byte and zeros at the end."""
    tails = st.sampled_from([b"", b"\x80", b"\x00", b"\x80\x00", b"\x00\x80", b"\xff" * 4])
    return st.tuples(st.binary(max_size=max_size), tails).map(lambda bt: (bt[0] + bt[1])[:max_size])


def mix_shapes(max_rows: int = 6, max_width: int = 3) -> st.SearchStrategy[tuple[int, int]]:
    """``(rows, width)`` of a small mix."""
    return st.tuples(st.integers(1, max_rows), st.integers(1, max_width))


@st.composite
def ciphertext_lists(draw, max_rows: int = 3, max_width: int = 3):
    from crypto.mix.rows import CiphertextList

    n, w = draw(mix_shapes(max_rows, max_width))
    ct = st.builds(Ciphertext, points_or_identity(), points_or_identity())
    rows = draw(st.lists(st.lists(ct, min_size=w, max_size=w).map(tuple), min_size=n, max_size=n))
    return CiphertextList(w, tuple(rows))


@st.composite
def shuffle_proof_chunks(draw, offset: int | None = None, size: int | None = None):
    from crypto.mix.shuffle import ShuffleProofChunk

    n = size if size is not None else draw(st.integers(1, 3))
    off = offset if offset is not None else draw(st.integers(0, 1000))
    pts = st.lists(points(), min_size=n, max_size=n).map(tuple)
    scs = st.lists(scalars(), min_size=n, max_size=n).map(tuple)
    return ShuffleProofChunk(off, draw(pts), draw(pts), draw(pts), draw(scs), draw(scs))


@st.composite
def shuffle_proof_heads(draw, rows: int | None = None, width: int | None = None):
    from crypto.mix.shuffle import ShuffleProofHead

    n = rows if rows is not None else draw(st.integers(1, 1000))
    w = width if width is not None else draw(st.integers(1, 3))
    pairs = st.lists(st.tuples(points(), points()), min_size=w, max_size=w).map(tuple)
    s4 = st.lists(scalars(), min_size=w, max_size=w).map(tuple)
    return ShuffleProofHead(
        n, w, draw(points()), draw(points()), draw(points()), draw(pairs),
        draw(scalars()), draw(scalars()), draw(scalars()), draw(s4),
    )  # fmt: skip


@st.composite
def shuffle_proofs(draw):
    from crypto.mix.shuffle import ShuffleProof

    sizes = draw(st.lists(st.integers(1, 2), min_size=1, max_size=3))
    chunks, offset = [], 0
    for size in sizes:
        chunks.append(draw(shuffle_proof_chunks(offset, size)))
        offset += size
    return ShuffleProof(draw(shuffle_proof_heads(offset)), tuple(chunks))


@st.composite
def mix_decryptions(draw):
    from crypto.mix.decryption import MixDecryption

    n, w = draw(mix_shapes(3, 3))
    shares = st.lists(points_or_identity(), min_size=w, max_size=w).map(tuple)
    proofs = st.lists(dleq_proofs(), min_size=w, max_size=w).map(tuple)
    return MixDecryption(
        draw(trustee_indices),
        draw(st.integers(0, 10_000)),
        w,
        tuple(draw(st.lists(shares, min_size=n, max_size=n))),
        tuple(draw(st.lists(proofs, min_size=n, max_size=n))),
    )


@st.composite
def mixed_answers(draw, *, max_questions: int = 3, max_options: int = 40):
    """Mixed questions' option counts, a voter's 0/1 choices for each, and a weight (§15.10)."""
    options = draw(st.lists(st.integers(1, max_options), min_size=1, max_size=max_questions))
    choices = [draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)) for n in options]
    weight = draw(st.one_of(st.sampled_from([1, 65_535, 65_536, 1_000_000]), st.integers(1, 10**6)))
    return options, choices, weight
