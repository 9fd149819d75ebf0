"""A width-w re-encryption shuffle and its proof (docs/protocol.md §15.5–§15.7).

A mixer takes a list ``e`` of ``N`` rows of ``w`` ciphertexts, draws a permutation ``π`` of the
rows and fresh randomness ``r′_{j,k}``, and publishes ``e′`` with
``e′_j = ReEnc(e_{π(j)}; r′_j)`` (each component re-encrypted, the row kept together).

The proof is the Terelius–Wikström proof of a shuffle in the form of the CHVote specification's
GenShuffleProof / CheckShuffleProof, written additively for P-256 and extended to rows of ``w``
ciphertexts (one response ``s4_k`` and one commitment pair ``t4_k`` per component). The prover
commits to the permutation matrix with Pedersen commitments ``cᵢ = rᵢ·G + H_{π⁻¹(i)}``, receives
per-row challenges ``uᵢ`` (a hash of the statement and the commitments), and proves in zero
knowledge that (1) the committed matrix has one 1 per column, (2, 5) ``∏ u′ⱼ = ∏ uᵢ`` through a
commitment chain, (3) the committed vector is ``u′ = π(u)``, and (4) ``Σ u′ⱼ·e′ⱼ`` re-encrypts
``Σ uᵢ·eᵢ`` componentwise. Fiat–Shamir is strong: every hash holds the election fingerprint, the
election key, the mixer's index and registered key, ``N``, ``w``, the digests of both lists and of
every commitment list, and every commitment.

Work splits into independent chunks of rows (the per-row group operations); only scalars, list
digests and one point per chunk cross chunk boundaries:

- proving: :meth:`ShuffleProver.commit_permutation` and :meth:`ShuffleProver.commit_chain` take a
  row range; :meth:`ShuffleProver.prove` runs them all in one process;
- verifying: :class:`ShuffleTranscript` hashes the lists chunk by chunk (one pass),
  :func:`verify_shuffle_chunk` reduces a chunk's equations to one multi-scalar multiplication
  weighted by random 128-bit coefficients, and :func:`verify_shuffle_merge` checks the sum;
  :func:`verify_shuffle` runs them all in one process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.elgamal import ElectionKey
from crypto.encoding import (
    PROTOCOL_VERSION,
    expect_int,
    expect_list,
    expect_object,
    expect_version,
    read_point,
    read_scalar,
)
from crypto.errors import CryptoError, InvalidEncoding, InvalidPoint, InvalidShuffle
from crypto.group import Point, Q, Scalar, base_mul, multi_mul
from crypto.hashing import (
    Tag,
    canonical_json,
    check_digest_hex,
    hash_message_to_scalar,
    hash_to_scalar,
)
from crypto.mix.generators import ShuffleGenerators, shuffle_generators
from crypto.mix.rows import (
    CIPHERTEXTS_LABEL,
    MAX_ROWS,
    MAX_WIDTH,
    CiphertextList,
    ListDigest,
    Row,
    reencrypt_row,
)
from crypto.proofs.batch import draw_weight

__all__ = [
    "DEFAULT_CHUNK_CIPHERTEXTS",
    "PERMUTATION_COMMITMENTS_LABEL",
    "CHAIN_LABEL",
    "CHAIN_COMMITMENTS_LABEL",
    "ShuffleSetting",
    "ShuffleWitness",
    "ShuffleProofHead",
    "ShuffleProofChunk",
    "ShuffleProof",
    "ShuffleProver",
    "ChainPart",
    "ShuffleTranscript",
    "ShuffleChallenge",
    "ShuffleWeights",
    "ShuffleChunkCheck",
    "random_permutation",
    "shuffle",
    "shuffle_rows",
    "prove_shuffle",
    "chunk_bounds",
    "verify_shuffle_chunk",
    "verify_shuffle_merge",
    "diagnose_shuffle_merge",
    "verify_shuffle",
]

#: Default chunk size: rows × width ≈ this many ciphertexts per chunk.
DEFAULT_CHUNK_CIPHERTEXTS = 2048
PERMUTATION_COMMITMENTS_LABEL = "shuffle-permutation-commitments"
CHAIN_LABEL = "shuffle-chain"
CHAIN_COMMITMENTS_LABEL = "shuffle-chain-commitments"


# --- The setting, the shuffle and its witness --------------------------------------------------


@dataclass(frozen=True)
class ShuffleSetting:
    """The public parameters of one mixer's shuffle (beside the two lists)."""

    fingerprint: str  #: F, the election's manifest fingerprint
    key: ElectionKey  #: K, the election key the rows are encrypted under
    mixer: int  #: m, the mixer's trustee index (1-based)
    mixer_key: Point  #: Y_m, the mixer's registered public key

    def __post_init__(self) -> None:
        check_digest_hex(self.fingerprint, "fingerprint")
        if not isinstance(self.key, ElectionKey):
            raise InvalidEncoding("a shuffle is under an election key")
        expect_int(self.mixer, "mixer", 1, 64)
        if not isinstance(self.mixer_key, Point) or self.mixer_key.is_identity():
            raise InvalidPoint("the mixer's key must be a real point")

    @property
    def label(self) -> str:
        return f"mixer {self.mixer}: shuffle proof"

    def statement(self, rows: int, width: int, input_digest: str, output_digest: str) -> dict:
        """``S``, the statement object every challenge of the proof hashes (§15.5)."""
        return {
            "input": input_digest,
            "key": self.key.point.to_hex(),
            "mixer": self.mixer,
            "mixer_key": self.mixer_key.to_hex(),
            "output": output_digest,
            "rows": rows,
            "width": width,
        }


class ShuffleWitness:
    """What only the mixer knows: ``π`` (output row ``j`` is input row ``π[j]``) and ``r′``."""

    __slots__ = ("permutation", "randomness")

    def __init__(self, permutation: Sequence[int], randomness: Sequence[Sequence[Scalar]]) -> None:
        n = len(permutation)
        if sorted(permutation) != list(range(n)):
            raise CryptoError("the permutation must list each row index exactly once")
        if len(randomness) != n:
            raise CryptoError("one randomness row per output row")
        self.permutation = tuple(permutation)
        self.randomness = tuple(tuple(row) for row in randomness)

    def __repr__(self) -> str:
        return f"ShuffleWitness(rows={len(self.permutation)}, <redacted>)"


def random_permutation(
    n: int, *, randbelow: Callable[[int], int] = secrets.randbelow
) -> tuple[int, ...]:
    """A uniformly random permutation of ``range(n)`` (Fisher–Yates with the OS CSPRNG)."""
    items = list(range(n))
    for i in range(n - 1, 0, -1):
        j = randbelow(i + 1)
        items[i], items[j] = items[j], items[i]
    return tuple(items)


def shuffle_rows(
    key: ElectionKey, inputs: CiphertextList, witness: ShuffleWitness, start: int, stop: int
) -> tuple[Row, ...]:
    """Output rows ``start … stop−1``: ``e′ⱼ = ReEnc(e_{π(j)}; r′ⱼ)`` (a chunk of the shuffle)."""
    rows = inputs.rows
    return tuple(
        reencrypt_row(key, rows[witness.permutation[j]], witness.randomness[j])
        for j in range(start, stop)
    )


def shuffle(
    key: ElectionKey,
    inputs: CiphertextList,
    *,
    rand: Callable[[], Scalar] = Scalar.random,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> tuple[CiphertextList, ShuffleWitness]:
    """Permute and re-encrypt ``inputs``; returns the output list and the witness for the proof."""
    n = len(inputs)
    if n < 1:
        raise CryptoError("a shuffle needs at least one row")
    permutation = random_permutation(n, randbelow=randbelow)
    randomness = [[rand() for _ in range(inputs.width)] for _ in range(n)]
    witness = ShuffleWitness(permutation, randomness)
    return CiphertextList(inputs.width, shuffle_rows(key, inputs, witness, 0, n)), witness


# --- The proof ---------------------------------------------------------------------------------


def _rows_width(rows: Any, width: Any, what: str) -> tuple[int, int]:
    return (
        expect_int(rows, f"{what}.rows", 1, MAX_ROWS),
        expect_int(width, f"{what}.width", 1, MAX_WIDTH),
    )


@dataclass(frozen=True)
class ShuffleProofHead:
    """The proof's global part: the commitments ``t₁ … t₄`` and responses ``s₁ … s₄``."""

    rows: int  #: N
    width: int  #: w
    t1: Point  #: ω₁·G
    t2: Point  #: ω₂·G
    t3: Point  #: ω₃·G + Σⱼ ω′ⱼ·Hⱼ
    t4: tuple[
        tuple[Point, Point], ...
    ]  #: per component k: (Σ ω′ⱼ·α′ⱼₖ − ω₄ₖ·G, Σ ω′ⱼ·β′ⱼₖ − ω₄ₖ·K)
    s1: Scalar  #: ω₁ + c·Σ rᵢ
    s2: Scalar  #: ω₂ + c·R̂_{N−1}
    s3: Scalar  #: ω₃ + c·Σ rᵢ·uᵢ
    s4: tuple[Scalar, ...]  #: per component k: ω₄ₖ + c·Σⱼ u′ⱼ·r′ⱼₖ

    def __post_init__(self) -> None:
        _rows_width(self.rows, self.width, "shuffle proof head")
        if len(self.t4) != self.width or len(self.s4) != self.width:
            raise InvalidEncoding("shuffle proof head: t4 and s4 have one entry per component")

    def commitments_json(self) -> dict:
        return {
            "t1": self.t1.to_hex(),
            "t2": self.t2.to_hex(),
            "t3": self.t3.to_hex(),
            "t4": [{"alpha": a.to_hex(), "beta": b.to_hex()} for a, b in self.t4],
        }

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "rows": self.rows,
            "width": self.width,
            **self.commitments_json(),
            "s1": self.s1.to_hex(),
            "s2": self.s2.to_hex(),
            "s3": self.s3.to_hex(),
            "s4": [s.to_hex() for s in self.s4],
        }

    @classmethod
    def from_json(cls, value: Any, what: str = "shuffle proof head") -> ShuffleProofHead:
        keys = ("version", "rows", "width", "t1", "t2", "t3", "t4", "s1", "s2", "s3", "s4")
        obj = expect_object(value, keys, what)
        expect_version(obj, what)
        rows, width = _rows_width(obj["rows"], obj["width"], what)
        t4 = expect_list(obj["t4"], f"{what}.t4", width)
        s4 = expect_list(obj["s4"], f"{what}.s4", width)
        pairs = []
        for k, pair in enumerate(t4):
            pair = expect_object(pair, ("alpha", "beta"), f"{what}.t4[{k}]")
            pairs.append(
                (
                    read_point(pair["alpha"], f"{what}.t4[{k}].alpha"),
                    read_point(pair["beta"], f"{what}.t4[{k}].beta"),
                )
            )
        return cls(
            rows,
            width,
            read_point(obj["t1"], f"{what}.t1"),
            read_point(obj["t2"], f"{what}.t2"),
            read_point(obj["t3"], f"{what}.t3"),
            tuple(pairs),
            read_scalar(obj["s1"], f"{what}.s1"),
            read_scalar(obj["s2"], f"{what}.s2"),
            read_scalar(obj["s3"], f"{what}.s3"),
            tuple(read_scalar(s, f"{what}.s4[{k}]") for k, s in enumerate(s4)),
        )


_CHUNK_LISTS = (
    "permutation_commitments",
    "chain",
    "chain_commitments",
    "chain_responses",
    "responses",
)


@dataclass(frozen=True)
class ShuffleProofChunk:
    """The per-row part of the proof for rows ``offset … offset + n − 1``."""

    offset: int  #: the first row
    permutation_commitments: tuple[Point, ...]  #: cᵢ = rᵢ·G + H_{π⁻¹(i)}, by input row i
    chain: tuple[Point, ...]  #: ĉⱼ = r̂ⱼ·G + u′ⱼ·ĉ_{j−1} (ĉ₋₁ = H), by output row j
    chain_commitments: tuple[Point, ...]  #: t̂ⱼ = ω̂ⱼ·G + ω′ⱼ·ĉ_{j−1}
    chain_responses: tuple[Scalar, ...]  #: ŝⱼ = ω̂ⱼ + c·r̂ⱼ
    responses: tuple[Scalar, ...]  #: s′ⱼ = ω′ⱼ + c·u′ⱼ

    def __post_init__(self) -> None:
        expect_int(self.offset, "shuffle proof chunk.offset", 0, MAX_ROWS - 1)
        n = len(self.permutation_commitments)
        if n < 1 or any(len(getattr(self, name)) != n for name in _CHUNK_LISTS):
            raise InvalidEncoding("shuffle proof chunk: five lists of the same non-zero length")

    def __len__(self) -> int:
        return len(self.permutation_commitments)

    @property
    def stop(self) -> int:
        return self.offset + len(self)

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "offset": self.offset,
            "permutation_commitments": [p.to_hex() for p in self.permutation_commitments],
            "chain": [p.to_hex() for p in self.chain],
            "chain_commitments": [p.to_hex() for p in self.chain_commitments],
            "chain_responses": [s.to_hex() for s in self.chain_responses],
            "responses": [s.to_hex() for s in self.responses],
        }

    @classmethod
    def from_json(cls, value: Any, what: str = "shuffle proof chunk") -> ShuffleProofChunk:
        obj = expect_object(value, ("version", "offset", *_CHUNK_LISTS), what)
        expect_version(obj, what)
        offset = expect_int(obj["offset"], f"{what}.offset", 0, MAX_ROWS - 1)
        n = len(
            expect_list(obj["permutation_commitments"], f"{what}.permutation_commitments", None, 1)
        )
        lists = {}
        for name in _CHUNK_LISTS:
            items = expect_list(obj[name], f"{what}.{name}", n)
            read = read_scalar if name.endswith("responses") else read_point
            lists[name] = tuple(read(v, f"{what}.{name}[{i}]") for i, v in enumerate(items))
        return cls(offset, **lists)


@dataclass(frozen=True)
class ShuffleProof:
    """A whole proof: the head and the chunks, which cover rows ``0 … N−1`` in order."""

    head: ShuffleProofHead
    chunks: tuple[ShuffleProofChunk, ...]

    def __post_init__(self) -> None:
        position = 0
        for chunk in self.chunks:
            if chunk.offset != position:
                raise InvalidEncoding(
                    f"shuffle proof: a chunk starts at row {chunk.offset}, expected {position}"
                )
            position = chunk.stop
        if position != self.head.rows:
            raise InvalidEncoding(
                f"shuffle proof: the chunks cover {position} rows, the head says {self.head.rows}"
            )

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "head": self.head.to_json(),
            "chunks": [c.to_json() for c in self.chunks],
        }

    @classmethod
    def from_json(cls, value: Any, what: str = "shuffle proof") -> ShuffleProof:
        obj = expect_object(value, ("version", "head", "chunks"), what)
        expect_version(obj, what)
        chunks = expect_list(obj["chunks"], f"{what}.chunks", None, 1)
        return cls(
            ShuffleProofHead.from_json(obj["head"], f"{what}.head"),
            tuple(
                ShuffleProofChunk.from_json(c, f"{what}.chunks[{i}]") for i, c in enumerate(chunks)
            ),
        )

    def rechunked(self, rows_per_chunk: int) -> ShuffleProof:
        """The same proof cut into other chunks (chunking is transport only: no hash sees it)."""
        lists = {name: [] for name in _CHUNK_LISTS}
        for chunk in self.chunks:
            for name in _CHUNK_LISTS:
                lists[name].extend(getattr(chunk, name))
        return ShuffleProof(
            self.head,
            tuple(
                ShuffleProofChunk(lo, **{n: tuple(v[lo:hi]) for n, v in lists.items()})
                for lo, hi in chunk_bounds(self.head.rows, rows_per_chunk)
            ),
        )


def chunk_bounds(rows: int, rows_per_chunk: int) -> list[tuple[int, int]]:
    """``[(0, n), (n, 2n), …]`` covering ``range(rows)``."""
    if rows_per_chunk < 1:
        raise CryptoError("a chunk has at least one row")
    return [(lo, min(lo + rows_per_chunk, rows)) for lo in range(0, rows, rows_per_chunk)]


def _default_rows_per_chunk(width: int) -> int:
    return max(1, DEFAULT_CHUNK_CIPHERTEXTS // width)


# --- Challenges --------------------------------------------------------------------------------


def _points_digest(label: str, points: Sequence[Point]) -> str:
    d = ListDigest(label, len(points), 1)
    d.update(points)
    return d.hexdigest()


def _u_prefix(fingerprint: str, statement: dict, permutation_digest: str) -> bytes:
    """``JCS([F, S, {"permutation_commitments": D_c}, i])`` without ``i]`` (§15.5)."""
    whole = canonical_json(
        [fingerprint, statement, {"permutation_commitments": permutation_digest}, 0]
    )
    return whole[: -len(b"0]")]


def _permutation_challenges(prefix: bytes, start: int, stop: int) -> list[int]:
    """``uᵢ = H_shuffle-permutation(F, S, {"permutation_commitments": D_c}, i)`` for i in range."""
    tag = Tag.SHUFFLE_PERMUTATION
    return [int(hash_message_to_scalar(tag, b"%b%d]" % (prefix, i))) for i in range(start, stop)]


def _challenge(
    fingerprint: str, statement: dict, digests: dict[str, str], head_commitments: dict
) -> Scalar:
    """``c = H_shuffle(F, S, {chain, chain_commitments, permutation_commitments, t1 … t4})``."""
    return hash_to_scalar(Tag.SHUFFLE, fingerprint, statement, {**digests, **head_commitments})


@dataclass(frozen=True)
class ShuffleChallenge:
    """Everything the chunk checks share: the statement, the digests and the challenges."""

    setting: ShuffleSetting
    head: ShuffleProofHead
    statement: dict  #: S
    digests: dict  #: D_c, D_ĉ, D_t̂ by name
    u_prefix: bytes  #: the message of uᵢ up to the row index
    c: int  #: the challenge

    @property
    def rows(self) -> int:
        return self.head.rows

    @property
    def width(self) -> int:
        return self.head.width

    def permutation_challenges(self, start: int, stop: int) -> list[int]:
        return _permutation_challenges(self.u_prefix, start, stop)


class ShuffleTranscript:
    """Hashes a shuffle's lists chunk by chunk (one pass, flat memory) into its challenges."""

    __slots__ = ("setting", "head", "_in", "_out", "_c", "_chain", "_tc", "_next")

    def __init__(self, setting: ShuffleSetting, head: ShuffleProofHead) -> None:
        self.setting, self.head = setting, head
        rows, width = head.rows, head.width
        self._in = ListDigest(CIPHERTEXTS_LABEL, rows, 2 * width)
        self._out = ListDigest(CIPHERTEXTS_LABEL, rows, 2 * width)
        self._c = ListDigest(PERMUTATION_COMMITMENTS_LABEL, rows, 1)
        self._chain = ListDigest(CHAIN_LABEL, rows, 1)
        self._tc = ListDigest(CHAIN_COMMITMENTS_LABEL, rows, 1)
        self._next = 0

    def absorb(
        self, inputs: CiphertextList, outputs: CiphertextList, chunk: ShuffleProofChunk
    ) -> None:
        """The next chunk: input and output rows ``chunk.offset …`` and the proof's chunk."""
        label = self.setting.label
        if chunk.offset != self._next:
            raise InvalidShuffle(f"{label}: chunk at row {chunk.offset}, expected {self._next}")
        n = len(chunk)
        if chunk.stop > self.head.rows:
            raise InvalidShuffle(f"{label}: a chunk goes past row {self.head.rows}")
        for what, rows in (("input", inputs), ("output", outputs)):
            if rows.width != self.head.width or len(rows) != n:
                raise InvalidShuffle(
                    f"{label}: rows {chunk.offset}–{chunk.stop - 1}: {len(rows)} {what} rows of "
                    f"width {rows.width}, expected {n} of width {self.head.width}"
                )
        self._in.update(inputs.points())
        self._out.update(outputs.points())
        self._c.update(chunk.permutation_commitments)
        self._chain.update(chunk.chain)
        self._tc.update(chunk.chain_commitments)
        self._next = chunk.stop

    def challenge(self) -> ShuffleChallenge:
        if self._next != self.head.rows:
            raise InvalidShuffle(
                f"{self.setting.label}: {self._next} rows absorbed, the proof has {self.head.rows}"
            )
        s = self.setting
        statement = s.statement(
            self.head.rows, self.head.width, self._in.hexdigest(), self._out.hexdigest()
        )
        digests = {
            "chain": self._chain.hexdigest(),
            "chain_commitments": self._tc.hexdigest(),
            "permutation_commitments": self._c.hexdigest(),
        }
        c = _challenge(s.fingerprint, statement, digests, self.head.commitments_json())
        return ShuffleChallenge(
            s,
            self.head,
            statement,
            digests,
            _u_prefix(s.fingerprint, statement, digests["permutation_commitments"]),
            int(c),
        )


# --- Proving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainPart:
    """What :meth:`ShuffleProver.commit_chain` returns for a range of output rows."""

    start: int
    chain: tuple[Point, ...]  #: ĉⱼ
    chain_commitments: tuple[Point, ...]  #: t̂ⱼ
    t3: Point  #: Σⱼ ω′ⱼ·Hⱼ over the range
    t4: tuple[tuple[Point, Point], ...]  #: per component: (Σ ω′ⱼ·α′ⱼₖ, Σ ω′ⱼ·β′ⱼₖ) over the range


class ShuffleProver:
    """The prover of one shuffle, in stages whose row ranges are independent of each other.

    ``prove()`` runs every stage in this process. Run in parallel, the stages are:
    ``commit_permutation`` over row ranges → ``set_permutation_commitments`` (all of them) →
    ``commit_chain`` over row ranges → ``finish`` (all parts). Secret state: never printed.

    The secret scalars are drawn in this order (the vectors replay it, tests/vectors/README.md):
    ``r₀ … r_{N−1}``, then for each output row j: ``R̂ⱼ, ω̂ⱼ, ω′ⱼ``; then ``ω₁, ω₂, ω₃``,
    ``ω₄,₀ … ω₄,w−1``.
    """

    def __init__(
        self,
        setting: ShuffleSetting,
        inputs: CiphertextList,
        outputs: CiphertextList,
        witness: ShuffleWitness,
        *,
        generators: ShuffleGenerators | None = None,
        rand: Callable[[], Scalar] = Scalar.random,
    ) -> None:
        n, w = len(inputs), inputs.width
        if n < 1 or len(outputs) != n or outputs.width != w or len(witness.permutation) != n:
            raise CryptoError("a shuffle proof needs two lists of equal size and width ≥ 1 row")
        if any(len(r) != w for r in witness.randomness):
            raise CryptoError("one re-encryption scalar per component")
        self._setting, self._inputs, self._outputs, self._witness = (
            setting,
            inputs,
            outputs,
            witness,
        )
        self._gens = generators or shuffle_generators(setting.fingerprint)
        perm = witness.permutation
        self._inverse = [0] * n
        for j, i in enumerate(perm):
            self._inverse[i] = j
        self._r = [int(rand()) for _ in range(n)]
        self._rhat, self._what, self._wprime = [], [], []
        for _ in range(n):
            self._rhat.append(int(rand()))
            self._what.append(int(rand()))
            self._wprime.append(int(rand()))
        self._w123 = [int(rand()) for _ in range(3)]
        self._w4 = [int(rand()) for _ in range(w)]
        self._input_digest = inputs.digest()
        self._output_digest = outputs.digest()
        self._statement = setting.statement(n, w, self._input_digest, self._output_digest)
        self._c_points: list[Point] = []
        self._c_digest = ""
        self._u: list[int] = []
        self._u_prime: list[int] = []
        self._U: list[int] = []

    def __repr__(self) -> str:
        return f"ShuffleProver(mixer={self._setting.mixer}, rows={len(self._inputs)}, <redacted>)"

    # stage 1 ---------------------------------------------------------------------------------
    def commit_permutation(self, start: int, stop: int) -> list[Point]:
        """``cᵢ = rᵢ·G + H_{π⁻¹(i)}`` for input rows ``start … stop−1``."""
        gens = self._gens
        return [base_mul(self._r[i]) + gens.row(self._inverse[i]) for i in range(start, stop)]

    def set_permutation_commitments(self, commitments: Sequence[Point]) -> None:
        """All ``cᵢ``, in order: fixes ``D_c`` and the challenges ``uᵢ``, ``u′ⱼ = u_{π(j)}``."""
        n = len(self._inputs)
        if len(commitments) != n:
            raise CryptoError("one permutation commitment per row")
        self._c_points = list(commitments)
        digest = _points_digest(PERMUTATION_COMMITMENTS_LABEL, self._c_points)
        self._c_digest = digest
        prefix = _u_prefix(self._setting.fingerprint, self._statement, digest)
        self._u = _permutation_challenges(prefix, 0, n)
        perm = self._witness.permutation
        self._u_prime = [self._u[perm[j]] for j in range(n)]
        acc, prefix_products = 1, []
        for v in self._u_prime:
            acc = acc * v % Q
            prefix_products.append(acc)
        self._U = prefix_products  # Uⱼ = ∏_{l ≤ j} u′_l

    # stage 2 ---------------------------------------------------------------------------------
    def commit_chain(self, start: int, stop: int) -> ChainPart:
        """``ĉⱼ``, ``t̂ⱼ`` and the partial sums of ``t₃``, ``t₄`` for output rows ``start … stop−1``.

        With ``Uⱼ = ∏_{l≤j} u′_l``, the chain is ``ĉⱼ = R̂ⱼ·G + Uⱼ·H`` (``R̂ⱼ`` uniform, so
        ``r̂ⱼ = R̂ⱼ − u′ⱼ·R̂_{j−1}``) and ``t̂ⱼ = (ω̂ⱼ + ω′ⱼ·R̂_{j−1})·G + (ω′ⱼ·U_{j−1})·H``: every
        row is two fixed-base multiplications, independent of the others.
        """
        if not self._U:
            raise CryptoError("commit_chain before set_permutation_commitments")
        table = self._gens.chain_table
        U, rhat, what, wprime = self._U, self._rhat, self._what, self._wprime
        chain, commitments = [], []
        for j in range(start, stop):
            u_prev, r_prev = (U[j - 1], rhat[j - 1]) if j else (1, 0)
            chain.append(base_mul(rhat[j]) + table.mul(U[j]))
            commitments.append(
                base_mul((what[j] + wprime[j] * r_prev) % Q) + table.mul(wprime[j] * u_prev % Q)
            )
        weights = wprime[start:stop]
        t3 = multi_mul(0, weights, self._gens.rows(start, stop))
        rows = self._outputs.rows[start:stop]
        t4 = tuple(
            (
                multi_mul(0, weights, [row[k].alpha for row in rows]),
                multi_mul(0, weights, [row[k].beta for row in rows]),
            )
            for k in range(self._outputs.width)
        )
        return ChainPart(start, tuple(chain), tuple(commitments), t3, t4)

    # stage 3 ---------------------------------------------------------------------------------
    def finish(self, parts: Sequence[ChainPart], rows_per_chunk: int | None = None) -> ShuffleProof:
        """The challenge ``c`` and every response; the proof cut into chunks."""
        n, w = len(self._inputs), self._inputs.width
        parts = sorted(parts, key=lambda p: p.start)
        position = 0
        for part in parts:
            if part.start != position:
                raise CryptoError("the chain parts must cover every row once, in order")
            position += len(part.chain)
        if position != n:
            raise CryptoError("the chain parts must cover every row once, in order")
        chain = [p for part in parts for p in part.chain]
        commitments = [p for part in parts for p in part.chain_commitments]
        key = self._setting.key
        w1, w2, w3 = self._w123
        t3 = base_mul(w3)
        for part in parts:
            t3 = t3 + part.t3
        t4 = []
        for k in range(w):
            a, b = -base_mul(self._w4[k]), -key.table.mul(self._w4[k])
            for part in parts:
                a, b = a + part.t4[k][0], b + part.t4[k][1]
            t4.append((a, b))
        t1, t2 = base_mul(w1), base_mul(w2)
        digests = {
            "chain": _points_digest(CHAIN_LABEL, chain),
            "chain_commitments": _points_digest(CHAIN_COMMITMENTS_LABEL, commitments),
            "permutation_commitments": self._c_digest,
        }
        head_commitments = {
            "t1": t1.to_hex(),
            "t2": t2.to_hex(),
            "t3": t3.to_hex(),
            "t4": [{"alpha": a.to_hex(), "beta": b.to_hex()} for a, b in t4],
        }
        c = int(_challenge(self._setting.fingerprint, self._statement, digests, head_commitments))
        u, u_prime, r, rhat = self._u, self._u_prime, self._r, self._rhat
        randomness = self._witness.randomness
        s1 = (w1 + c * sum(r)) % Q
        s2 = (w2 + c * rhat[-1]) % Q
        s3 = (w3 + c * sum(ri * ui for ri, ui in zip(r, u, strict=True))) % Q
        s4 = tuple(
            Scalar(
                (self._w4[k] + c * sum(u_prime[j] * int(randomness[j][k]) for j in range(n))) % Q
            )
            for k in range(w)
        )
        chain_responses, responses = [], []
        for j in range(n):
            r_prev = rhat[j - 1] if j else 0
            chain_responses.append(
                Scalar((self._what[j] + c * (rhat[j] - u_prime[j] * r_prev)) % Q)
            )
            responses.append(Scalar((self._wprime[j] + c * u_prime[j]) % Q))
        head = ShuffleProofHead(n, w, t1, t2, t3, tuple(t4), Scalar(s1), Scalar(s2), Scalar(s3), s4)
        cs = self._c_points
        chunks = tuple(
            ShuffleProofChunk(
                lo,
                tuple(cs[lo:hi]),
                tuple(chain[lo:hi]),
                tuple(commitments[lo:hi]),
                tuple(chain_responses[lo:hi]),
                tuple(responses[lo:hi]),
            )
            for lo, hi in chunk_bounds(n, rows_per_chunk or _default_rows_per_chunk(w))
        )
        return ShuffleProof(head, chunks)

    def prove(self, rows_per_chunk: int | None = None) -> ShuffleProof:
        """Every stage in this process, chunk by chunk."""
        n, w = len(self._inputs), self._inputs.width
        bounds = chunk_bounds(n, rows_per_chunk or _default_rows_per_chunk(w))
        commitments = [c for lo, hi in bounds for c in self.commit_permutation(lo, hi)]
        self.set_permutation_commitments(commitments)
        return self.finish([self.commit_chain(lo, hi) for lo, hi in bounds], rows_per_chunk)


def prove_shuffle(
    setting: ShuffleSetting,
    inputs: CiphertextList,
    outputs: CiphertextList,
    witness: ShuffleWitness,
    *,
    generators: ShuffleGenerators | None = None,
    rows_per_chunk: int | None = None,
    rand: Callable[[], Scalar] = Scalar.random,
) -> ShuffleProof:
    """The proof that ``outputs`` is a shuffle of ``inputs`` under ``witness`` (one process)."""
    prover = ShuffleProver(setting, inputs, outputs, witness, generators=generators, rand=rand)
    return prover.prove(rows_per_chunk)


# --- Verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShuffleWeights:
    """The verifier's random 128-bit weights of the global equations (drawn after the proof)."""

    rho1: int
    rho2: int
    rho3: int
    rho4: tuple[tuple[int, int], ...]  #: per component: (α equation, β equation)

    @classmethod
    def draw(cls, width: int) -> ShuffleWeights:
        return cls(
            draw_weight(),
            draw_weight(),
            draw_weight(),
            tuple((draw_weight(), draw_weight()) for _ in range(width)),
        )

    def __repr__(self) -> str:
        return "ShuffleWeights(<redacted>)"


@dataclass(frozen=True)
class ShuffleChunkCheck:
    """A chunk's contribution to the merged check (:func:`verify_shuffle_merge`)."""

    offset: int
    count: int
    previous: Point  #: the ĉ before the chunk, as the chunk used it
    last: Point  #: the chunk's last ĉ
    u_product: int  #: ∏ uᵢ over the chunk's rows
    combined: Point  #: the weighted sum of the chunk's terms
    #: in diagnosis only: the chunk's unweighted partial sums of equations 1, 3 and 4
    partial: tuple[Point, ...] | None = None


def verify_shuffle_chunk(
    challenge: ShuffleChallenge,
    weights: ShuffleWeights,
    inputs: CiphertextList,
    outputs: CiphertextList,
    chunk: ShuffleProofChunk,
    previous: Point,
    generators: Sequence[Point],
    *,
    diagnose: bool = False,
) -> ShuffleChunkCheck:
    """Reduce the chunk's equations to one multi-scalar multiplication (§15.7).

    ``previous`` is ``ĉ_{offset−1}`` (the chain base ``H`` for the first chunk), ``generators``
    are ``H_offset … H_{offset+n−1}``. The chain equations (5) of the chunk's rows are weighted
    by fresh random coefficients drawn here; the chunk's terms of equations (1), (3) and (4) by
    the shared ``weights``. With ``diagnose``, every chain equation is checked on its own (the
    error names the row) and the unweighted partial sums of (1), (3), (4) are returned as well.
    """
    n, w, lo = len(chunk), challenge.width, chunk.offset
    label = challenge.setting.label
    if (
        len(inputs) != n
        or len(outputs) != n
        or inputs.width != w
        or outputs.width != w
        or len(generators) != n
    ):
        raise InvalidShuffle(f"{label}: rows {lo}–{chunk.stop - 1}: lists of the wrong size")
    c = challenge.c
    u = challenge.permutation_challenges(lo, lo + n)
    rho1, rho3 = weights.rho1, weights.rho3
    rho4 = weights.rho4
    scalars: list[int] = []
    points: list[Point] = []
    g = 0
    chain_coeff = [0] * (n + 1)  # index 0: previous; index j + 1: chain[j]
    c_rho1 = c * rho1
    u_product = 1
    in_rows, out_rows = inputs.rows, outputs.rows
    c_points, h_points = chunk.permutation_commitments, generators
    for j in range(n):
        uj = u[j]
        u_product = u_product * uj % Q
        s_prime = int(chunk.responses[j])
        rho5 = draw_weight()
        g += rho5 * int(chunk.chain_responses[j])
        chain_coeff[j] += rho5 * s_prime
        chain_coeff[j + 1] -= rho5 * c
        cu = c * uj % Q
        scalars.append(-c * (rho1 + rho3 * uj))
        points.append(c_points[j])
        scalars.append(c_rho1 + rho3 * s_prime)
        points.append(h_points[j])
        scalars.append(-rho5)
        points.append(chunk.chain_commitments[j])
        in_row, out_row = in_rows[j], out_rows[j]
        for k in range(w):
            ra, rb = rho4[k]
            scalars.append(-ra * cu)
            points.append(in_row[k].alpha)
            scalars.append(-rb * cu)
            points.append(in_row[k].beta)
            scalars.append(ra * s_prime)
            points.append(out_row[k].alpha)
            scalars.append(rb * s_prime)
            points.append(out_row[k].beta)
    scalars.extend(chain_coeff)
    points.append(previous)
    points.extend(chunk.chain)
    combined = multi_mul(g % Q, [s % Q for s in scalars], points)
    partial = (
        _diagnose_chunk(challenge, inputs, outputs, chunk, previous, generators, u)
        if diagnose
        else None
    )
    return ShuffleChunkCheck(lo, n, previous, chunk.chain[-1], u_product, combined, partial)


def _diagnose_chunk(
    challenge, inputs, outputs, chunk, previous, generators, u
) -> tuple[Point, ...]:
    """Check each chain equation alone; return the chunk's partial sums of (1), (3), (4αₖ), (4βₖ)."""
    c, lo, w = challenge.c, chunk.offset, challenge.width
    label = challenge.setting.label
    for j in range(len(chunk)):
        prev = chunk.chain[j - 1] if j else previous
        lhs = multi_mul(
            int(chunk.chain_responses[j]),
            [int(chunk.responses[j]), Q - 1, (-c) % Q],
            [prev, chunk.chain_commitments[j], chunk.chain[j]],
        )
        if not lhs.is_identity():
            raise InvalidShuffle(f"{label}: row {lo + j}: the commitment-chain equation (5) fails")
    s_prime = [int(s) for s in chunk.responses]
    cs = chunk.permutation_commitments
    eq1 = multi_mul(0, [(-c) % Q] * len(cs) + [c] * len(cs), [*cs, *generators])
    eq3 = multi_mul(0, [(-c * x) % Q for x in u] + s_prime, [*cs, *generators])
    out = [eq1, eq3]
    for k in range(w):
        for part in ("alpha", "beta"):
            out.append(
                multi_mul(
                    0,
                    [(-c * x) % Q for x in u] + s_prime,
                    [getattr(row[k], part) for row in inputs.rows]
                    + [getattr(row[k], part) for row in outputs.rows],
                )
            )
    return tuple(out)


def verify_shuffle_merge(
    challenge: ShuffleChallenge,
    weights: ShuffleWeights,
    chain_base: Point,
    checks: Sequence[ShuffleChunkCheck],
) -> None:
    """Check the sum of the chunks' contributions with the global terms (§15.7, step 6).

    ``chain_base`` is the election's ``H``. If the sum fails, the caller may rerun the chunks
    with ``diagnose=True`` and call :func:`diagnose_shuffle_merge` to learn which equation fails.
    """
    label = challenge.setting.label
    head = challenge.head
    if len(weights.rho4) != head.width:
        raise CryptoError("the weights are for another width")
    checks = sorted(checks, key=lambda x: x.offset)
    position, previous = 0, chain_base
    for check in checks:
        if check.offset != position:
            raise InvalidShuffle(f"{label}: chunk checks do not cover the rows in order")
        if check.previous != previous:
            raise InvalidShuffle(f"{label}: row {position}: the chunk used the wrong previous ĉ")
        position, previous = position + check.count, check.last
    if position != head.rows or position != challenge.rows:
        raise InvalidShuffle(f"{label}: chunk checks cover {position} rows of {head.rows}")
    c = challenge.c
    u_total = 1
    for check in checks:
        u_total = u_total * check.u_product % Q
    key = challenge.setting.key.point
    rho1, rho2, rho3 = weights.rho1, weights.rho2, weights.rho3
    g = rho1 * int(head.s1) + rho2 * int(head.s2) + rho3 * int(head.s3)
    k_coeff = 0
    scalars = [-rho1, -rho2, -rho3, -rho2 * c, rho2 * c * u_total]
    points = [head.t1, head.t2, head.t3, previous, chain_base]
    for (ra, rb), s4, (t4a, t4b) in zip(weights.rho4, head.s4, head.t4, strict=True):
        g -= ra * int(s4)
        k_coeff -= rb * int(s4)
        scalars.extend((-ra, -rb))
        points.extend((t4a, t4b))
    scalars.append(k_coeff)
    points.append(key)
    for check in checks:
        scalars.append(1)
        points.append(check.combined)
    total = multi_mul(g % Q, [s % Q for s in scalars], points)
    if not total.is_identity():
        raise InvalidShuffle(f"{label}: the proof's equations do not hold")


def diagnose_shuffle_merge(
    challenge: ShuffleChallenge, chain_base: Point, checks: Sequence[ShuffleChunkCheck]
) -> None:
    """Check each global equation on its own (from chunk checks made with ``diagnose=True``);
    raise :class:`InvalidShuffle` naming the first that fails."""
    label = challenge.setting.label
    head = challenge.head
    checks = sorted(checks, key=lambda x: x.offset)
    if not checks or any(check.partial is None for check in checks):
        raise CryptoError("diagnosis needs every chunk checked with diagnose=True")
    c = challenge.c
    parts = [list(check.partial) for check in checks]
    sums = [multi_mul(0, [1] * len(parts), [p[i] for p in parts]) for i in range(len(parts[0]))]
    u_total = 1
    for check in checks:
        u_total = u_total * check.u_product % Q
    last = checks[-1].last
    key = challenge.setting.key.point
    equations = [
        (
            "(1) the permutation commitments open to one row each",
            int(head.s1),
            [(Q - 1, head.t1), (1, sums[0])],
        ),
        (
            "(2) the commitment chain ends at ∏ uᵢ",
            int(head.s2),
            [(Q - 1, head.t2), ((-c) % Q, last), (c * u_total % Q, chain_base)],
        ),
        (
            "(3) the committed vector is the permuted challenges",
            int(head.s3),
            [(Q - 1, head.t3), (1, sums[1])],
        ),
    ]
    for k in range(challenge.width):
        s4 = int(head.s4[k])
        equations.append(
            (
                f"(4) component {k}: α re-encrypts",
                (-s4) % Q,
                [(Q - 1, head.t4[k][0]), (1, sums[2 + 2 * k])],
            )
        )
        equations.append(
            (
                f"(4) component {k}: β re-encrypts",
                0,
                [(Q - 1, head.t4[k][1]), ((-s4) % Q, key), (1, sums[3 + 2 * k])],
            )
        )
    for name, g, terms in equations:
        if not multi_mul(g, [s for s, _ in terms], [p for _, p in terms]).is_identity():
            raise InvalidShuffle(f"{label}: equation {name} does not hold")


def verify_shuffle(
    setting: ShuffleSetting,
    inputs: CiphertextList,
    outputs: CiphertextList,
    proof: ShuffleProof,
    *,
    generators: ShuffleGenerators | None = None,
) -> None:
    """Check that ``outputs`` is a shuffle of ``inputs`` (raises :class:`InvalidShuffle`)."""
    head = proof.head
    label = setting.label
    if len(inputs) != head.rows or len(outputs) != head.rows:
        raise InvalidShuffle(
            f"{label}: {len(inputs)} input and {len(outputs)} output rows, the proof has {head.rows}"
        )
    if inputs.width != head.width or outputs.width != head.width:
        raise InvalidShuffle(f"{label}: the lists' width differs from the proof's ({head.width})")
    gens = generators or shuffle_generators(setting.fingerprint)
    transcript = ShuffleTranscript(setting, head)
    slices = [
        (inputs.slice(ch.offset, ch.stop), outputs.slice(ch.offset, ch.stop), ch)
        for ch in proof.chunks
    ]
    for in_rows, out_rows, chunk in slices:
        transcript.absorb(in_rows, out_rows, chunk)
    challenge = transcript.challenge()
    weights = ShuffleWeights.draw(head.width)
    chain_base = gens.chain_base

    def checks(diagnose: bool) -> Iterable[ShuffleChunkCheck]:
        previous = chain_base
        for in_rows, out_rows, chunk in slices:
            yield verify_shuffle_chunk(
                challenge,
                weights,
                in_rows,
                out_rows,
                chunk,
                previous,
                gens.rows(chunk.offset, chunk.stop),
                diagnose=diagnose,
            )
            previous = chunk.chain[-1]

    try:
        verify_shuffle_merge(challenge, weights, chain_base, list(checks(False)))
    except InvalidShuffle:
        diagnose_shuffle_merge(challenge, chain_base, list(checks(True)))
        raise
