"""Homomorphic tally, result and funded projects (docs/protocol.md §12).

Pure functions shared by the server's Celery tally and the observers' verifier, so that both
compute the same thing the same way:

- ``tally_positions``: the flat order of (question, option) positions used by the encrypted tally
  and the partial decryptions;
- ``ballot_option_ciphertexts``: every option's ciphertext of a ballot (the implied last option of
  exact-count questions derived);
- ``Aggregator``: weighted homomorphic sums, in chunks that can be merged in any order (a Celery
  chord over ballot ranges, or the verifier's worker processes);
- ``result_counts`` and ``funded_projects``: the decrypted counts and the deterministic budget rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.ballot import Ballot, ElectionSpec, QuestionSpec, answer_ciphertexts
from crypto.elgamal import Ciphertext
from crypto.encoding import expect_list
from crypto.errors import CryptoError
from crypto.group import Point, PointSum, base_mul

__all__ = [
    "tally_positions",
    "ballot_option_ciphertexts",
    "Aggregator",
    "with_implied_options",
    "tally_to_json",
    "tally_from_json",
    "split_counts",
    "funded_projects",
    "result_bound",
]


def tally_positions(questions: Sequence[QuestionSpec]) -> list[tuple[int, int]]:
    """``[(q, o) …]`` for every option of every question, in manifest order."""
    return [(qi, oi) for qi, q in enumerate(questions) for oi in range(q.options)]


def ballot_option_ciphertexts(ballot: Ballot, spec: ElectionSpec) -> list[Ciphertext]:
    """One ciphertext per tally position (implied options derived, protocol §7.2)."""
    out: list[Ciphertext] = []
    for answer, question in zip(ballot.answers, spec.questions, strict=True):
        out.extend(answer_ciphertexts(answer, question))
    return out


class Aggregator:
    """Weighted sum of ballots' listed ciphertexts, position by position.

    Ballots are grouped by weight (``Σ w·E = Σ_w w·Σ_{weight w} E``): point additions only, and one
    scalar multiplication per distinct weight and position at the end. Implied options of
    exact-count questions are derived once from the totals instead of once per ballot:
    ``T_last = (O, k·W·G) − Σ_{listed} T``. Chunks merge with :meth:`merge` in any order.
    """

    __slots__ = ("spec", "_listed", "_by_weight", "count", "weight")

    def __init__(self, spec: ElectionSpec) -> None:
        self.spec = spec
        self._listed = [q.encrypted_options for q in spec.questions]
        # per weight, per listed position (α₀, β₀, α₁, …): a running sum (None: nothing yet)
        self._by_weight: dict[int, list[PointSum | None]] = {}
        self.count = 0
        self.weight = 0

    def _sums(self, weight: int) -> list:
        sums = self._by_weight.get(weight)
        if sums is None:
            sums = self._by_weight[weight] = [None] * (2 * sum(self._listed))
        return sums

    def add(self, ballot: Ballot, weight: int) -> None:
        """Add an (already verified) ballot with its credential's weight."""
        if weight < 1:
            raise CryptoError("weights are positive")
        self._add_raw(
            [
                p.raw
                for answer in ballot.answers
                for ct in answer.choices
                for p in (ct.alpha, ct.beta)
            ],
            weight,
        )

    def add_points(self, points: Sequence[Point], weight: int) -> None:
        """Add a ballot given as its listed ciphertexts' points ``[α₀, β₀, α₁, β₁, …]``."""
        self._add_raw([p.raw for p in points], weight)

    def add_raw(self, raw_points: Sequence, weight: int) -> None:
        """:meth:`add_points` with OpenSSL points (:attr:`Point.raw`, or a
        :class:`~crypto.group.PointArena`'s slots, read here and not kept)."""
        self._add_raw(raw_points, weight)

    def _add_raw(self, raw_points: Sequence, weight: int) -> None:
        if weight < 1:
            raise CryptoError("weights are positive")
        sums = self._sums(weight)
        if len(raw_points) != len(sums):
            raise CryptoError("wrong number of points for this election")
        for i, raw in enumerate(raw_points):
            s = sums[i]
            if s is None:
                s = sums[i] = PointSum()
            s.add_raw(raw)
        self.count += 1
        self.weight += weight

    def merge(self, other: Aggregator) -> None:
        for weight, theirs in other._by_weight.items():
            mine = self._sums(weight)
            for i, p in enumerate(theirs):
                if p is not None:
                    if mine[i] is None:
                        mine[i] = PointSum()
                    mine[i].add_sum(p)
        self.count += other.count
        self.weight += other.weight

    def export(self) -> list[tuple[int, list[bytes | None]]]:
        """Compact, picklable state (weight → encoded partial sums) for merging across processes."""
        return [
            (weight, [None if p is None else p.point().to_bytes() for p in sums])
            for weight, sums in self._by_weight.items()
        ] + [(0, [self.count.to_bytes(8, "big"), self.weight.to_bytes(8, "big")])]

    def absorb(self, exported: list[tuple[int, list[bytes | None]]]) -> None:
        """Merge the output of another aggregator's :meth:`export` (points re-validated)."""
        for weight, encoded in exported:
            if weight == 0:
                self.count += int.from_bytes(encoded[0], "big")
                self.weight += int.from_bytes(encoded[1], "big")
                continue
            mine = self._sums(weight)
            if len(encoded) != len(mine):
                raise CryptoError("exported sums do not match this election")
            for i, data in enumerate(encoded):
                if data is not None:
                    p = Point.from_bytes(data, allow_identity=True)
                    if mine[i] is None:
                        mine[i] = PointSum()
                    mine[i].add(p)

    def listed_totals(self) -> list[Ciphertext]:
        """``Σ_w w·Σ E`` for every listed position (identities where nothing was added)."""
        n = 2 * sum(self._listed)
        totals: list[Point] = [Point.identity() for _ in range(n)]
        for weight, sums in self._by_weight.items():
            for i, p in enumerate(sums):
                if p is not None:
                    p = p.point()
                    totals[i] = totals[i] + (p if weight == 1 else p * weight)
        return [Ciphertext(totals[i], totals[i + 1]) for i in range(0, n, 2)]

    def totals(self, minus: Aggregator | None = None) -> list[Ciphertext]:
        """The encrypted tally, one ciphertext per tally position; ``minus`` (e.g. the superseded
        ballots) is subtracted first, weight included."""
        listed_totals = self.listed_totals()
        weight = self.weight
        if minus is not None:
            listed_totals = [
                a - b for a, b in zip(listed_totals, minus.listed_totals(), strict=True)
            ]
            weight -= minus.weight
        return with_implied_options(listed_totals, self.spec.questions, weight)


def with_implied_options(
    listed: Sequence[Ciphertext], questions: Sequence[QuestionSpec], weight: int
) -> list[Ciphertext]:
    """Insert the implied last option of exact-count questions: ``(O, k·W·G) − Σ listed``."""
    it = iter(listed)
    out: list[Ciphertext] = []
    for question in questions:
        mine = [next(it) for _ in range(question.encrypted_options)]
        out.extend(mine)
        if question.implicit_last:
            acc = Ciphertext.sum(mine)
            out.append(
                Ciphertext(-acc.alpha, base_mul(question.max_selections * weight) - acc.beta)
            )
    return out


def tally_to_json(
    totals: Sequence[Ciphertext], questions: Sequence[QuestionSpec]
) -> list[list[dict]]:
    """``[[ciphertext per option] per question]`` with identities allowed (``"00"``)."""
    it = iter(totals)
    return [[next(it).to_json(allow_identity=True) for _ in range(q.options)] for q in questions]


def tally_from_json(value, questions: Sequence[QuestionSpec]) -> list[Ciphertext]:
    rows = expect_list(value, "tally.ciphertexts", len(questions))
    out: list[Ciphertext] = []
    for qi, (row, q) in enumerate(zip(rows, questions, strict=True)):
        cells = expect_list(row, f"tally.ciphertexts[{qi}]", q.options)
        out.extend(
            Ciphertext.from_json(c, f"tally.ciphertexts[{qi}][{oi}]", allow_identity=True)
            for oi, c in enumerate(cells)
        )
    return out


def result_bound(questions: Sequence[QuestionSpec], weight: int) -> int:
    """The bound of the discrete logarithms of a result (§9.3, §12.4): every decrypted total is
    at most ``S_max·W`` where ``W`` is the counted weight and ``S_max`` the largest ``max_score``
    of a score question (1 without any), so ``S_max·W + 1``."""
    top = max((q.max_score or 1 for q in questions), default=1)
    return top * weight + 1


def split_counts(counts: Sequence[int], questions: Sequence[QuestionSpec]) -> list[list[int]]:
    it = iter(counts)
    return [[next(it) for _ in range(q.options)] for q in questions]


def funded_projects(counts: Sequence[int], costs: Sequence[int], budget: int) -> list[int]:
    """The funded options of a budget question (positions, ascending).

    Rule (protocol §12.4): consider options by decreasing count, ties by increasing cost, then by
    position; fund an option if its cost fits in what remains of the budget, otherwise skip it and
    continue. Options with no vote are never funded.
    """
    if len(counts) != len(costs):
        raise CryptoError("one count per option")
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], costs[i], i))
    remaining, funded = budget, []
    for i in order:
        if counts[i] > 0 and costs[i] <= remaining:
            funded.append(i)
            remaining -= costs[i]
    return sorted(funded)
