"""crypto.tlog against a naive recomputation of RFC 9162 §2.1 (MTH, PATH, PROOF by the letter).

Every inclusion proof (all indices) and every consistency proof (all old sizes) for every tree
size 1 … 300 is generated from the stored hashes, compared with the naive one byte for byte, and
verified; Hypothesis does the same at random sizes up to 2^20 and tampers with proofs.
"""

from __future__ import annotations

import hashlib
import random
from functools import cache, lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidEncoding, InvalidMerkleProof, TreeRangeError
from crypto.tlog import (
    EMPTY_ROOT,
    TILE_WIDTH,
    MemoryHashStore,
    consistency_roots,
    edge_tiles,
    entry_bundle_path,
    leaf_hash,
    node_hash,
    parse_tile_path,
    prove_consistency,
    prove_inclusion,
    read_tile,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

# --- the naive reference: RFC 9162 §2.1 as written -------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, leaves[:k], b) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


def naive_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return naive_subproof(m, leaves, True)


LEAVES = [f"leaf {i}".encode() for i in range(300)]


@lru_cache(maxsize=1)
def store300() -> MemoryHashStore:
    store = MemoryHashStore()
    for leaf in LEAVES:
        store.append(leaf)
    return store


@cache
def naive_root(size: int) -> bytes:
    return naive_mth(LEAVES[:size])


# --- hashing and storage ----------------------------------------------------------------------


def test_hashes_are_rfc9162():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


def test_tree_hash_matches_naive_for_every_size_up_to_300():
    store = store300()
    assert tree_hash(0, store) == EMPTY_ROOT
    for size in range(1, 301):
        assert tree_hash(size, store) == naive_root(size), size


def test_store_layout_counts_and_indices():
    store = store300()
    assert stored_hash_count(300) == len(store._hashes) == 2 * 300 - bin(300).count("1")
    for size in range(0, 1025):
        assert stored_hash_count(size) == 2 * size - bin(size).count("1")
    # the closed form agrees with "leaf n is stored after all hashes of the leaves before it"
    position = 0
    for n in range(1024):
        assert stored_hash_index(0, n) == position
        completed = ((n + 1) & -(n + 1)).bit_length() - 1
        for level in range(1, completed + 1):
            assert stored_hash_index(level, (n + 1 >> level) - 1) == position + level
        position += 1 + completed
    for index in range(5000):
        level, n = split_stored_hash_index(index)
        assert stored_hash_index(level, n) == index
    # each stored hash is the MTH of its subtree
    store = store300()
    for index in range(stored_hash_count(300)):
        level, n = split_stored_hash_index(index)
        lo = n << level
        assert store._hashes[index] == naive_mth(LEAVES[lo : lo + (1 << level)])


@given(st.integers(0, 2**62))
def test_split_inverts_the_index_at_large_positions(index):
    level, n = split_stored_hash_index(index)
    assert stored_hash_index(level, n) == index


def test_store_bounds_are_refused():
    store = store300()
    for bad in (-1, 2**63, True, 1.0):
        with pytest.raises(TreeRangeError):
            stored_hash_count(bad)
    with pytest.raises(TreeRangeError):
        stored_hash_index(64, 0)
    with pytest.raises(TreeRangeError):
        tree_hash(301, store)
    with pytest.raises(TreeRangeError):
        prove_inclusion(300, 300, store)
    with pytest.raises(TreeRangeError):
        prove_consistency(10, 9, store)

    class Short:
        def read_hashes(self, indexes):
            return [b"\x00" * 32] * (len(indexes) - 1)

    class Wrong:
        def read_hashes(self, indexes):
            return ["x" * 32 for _ in indexes]

    for reader in (Short(), Wrong()):
        with pytest.raises(TreeRangeError):
            tree_hash(7, reader)


# --- proofs: exhaustive up to 300 ---------------------------------------------------------------


def test_every_inclusion_proof_up_to_300():
    store = store300()
    for size in range(1, 301):
        root = naive_root(size)
        leaves = LEAVES[:size]
        for index in range(size):
            proof = prove_inclusion(index, size, store)
            if size <= 64 or index % 7 == 0 or index == size - 1:
                assert proof == naive_path(index, leaves), (index, size)
            verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, root)


def test_every_consistency_proof_up_to_300():
    store = store300()
    for size in range(1, 301):
        root = naive_root(size)
        leaves = LEAVES[:size]
        for old in range(0, size + 1):
            proof = prove_consistency(old, size, store)
            if 0 < old < size and (size <= 64 or old % 5 == 0 or old == size - 1):
                assert proof == naive_proof(old, leaves), (old, size)
            verify_consistency(old, size, naive_root(old), root, proof)


def test_proof_lengths_are_logarithmic():
    store = store300()
    for size in (1, 2, 3, 255, 256, 257, 300):
        for index in range(size):
            assert len(prove_inclusion(index, size, store)) <= (size - 1).bit_length()
        for old in range(1, size):
            assert len(prove_consistency(old, size, store)) <= 2 * (size - 1).bit_length()


class CountingStore:
    """Counts the reads: every proof and tree hash is one read_hashes call."""

    def __init__(self, inner):
        self.inner, self.calls, self.hashes = inner, 0, 0

    def read_hashes(self, indexes):
        assert list(indexes) == sorted(indexes)
        self.calls += 1
        self.hashes += len(indexes)
        return self.inner.read_hashes(indexes)


def test_one_read_per_proof_with_at_most_2_log_n_hashes():
    counting = CountingStore(store300())
    for size in (5, 64, 255, 300):
        for index in range(0, size, 3):
            counting.calls = counting.hashes = 0
            prove_inclusion(index, size, counting)
            assert counting.calls <= 1 and counting.hashes <= 2 * size.bit_length()
        for old in range(1, size, 3):
            counting.calls = counting.hashes = 0
            prove_consistency(old, size, counting)
            assert counting.calls <= 1 and counting.hashes <= 3 * size.bit_length()


def test_append_reads_and_writes_are_amortised_constant():
    inner = MemoryHashStore()
    counting = CountingStore(inner)
    from crypto.tlog import stored_hashes

    written = 0
    for n, leaf in enumerate(LEAVES[:256]):
        new = stored_hashes(n, leaf_hash(leaf), counting)
        written += len(new)
        inner._hashes.extend(new)
        inner._size += 1
    assert written == stored_hash_count(256) < 2 * 256
    assert counting.hashes < 256  # reads: one sibling per completed subtree


# --- tampering ---------------------------------------------------------------------------------


def _flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_tampered_inclusion_proofs_are_refused():
    store = store300()
    size, root = 300, naive_root(300)
    for index in (0, 1, 128, 255, 256, 299):
        good = prove_inclusion(index, size, store)
        leaf = leaf_hash(LEAVES[index])
        verify_inclusion(leaf, index, size, good, root)
        for i in range(len(good)):
            bad = list(good)
            bad[i] = _flip(bad[i])
            with pytest.raises(InvalidMerkleProof):
                verify_inclusion(leaf, index, size, bad, root)
        for bad in (good[:-1], [*good, good[0]], [], good[::-1] if len(good) > 1 else [b"0" * 32]):
            if bad != good:
                with pytest.raises(InvalidMerkleProof):
                    verify_inclusion(leaf, index, size, bad, root)
        for wrong in [
            (leaf_hash(LEAVES[index] + b"!"), index, size, root),
            (leaf, index ^ 1, size, root),
            # (a size the proof's shape fits equally, e.g. 301 for leaf 0, is not refused by the
            # RFC algorithm: the root hash commits to the size only through the signed checkpoint)
            (leaf, index, size, naive_root(299)),
            (leaf, size, size, root),
            (leaf, -1, size, root),
            (leaf, index, 0, root),
        ]:
            lf, i, s, r = wrong
            with pytest.raises(InvalidMerkleProof):
                verify_inclusion(lf, i, s, good, r)
    with pytest.raises(InvalidEncoding):
        verify_inclusion(b"short", 0, 1, [], b"\x00" * 32)
    with pytest.raises(InvalidEncoding):
        verify_inclusion(leaf_hash(b""), 0, 2, [b"\x00" * 31], b"\x00" * 32)
    with pytest.raises(InvalidMerkleProof):
        verify_inclusion(leaf_hash(b""), 0, 2, [b"\x00" * 32] * 65, b"\x00" * 32)


def test_tampered_consistency_proofs_are_refused():
    store = store300()
    for old, new in [(1, 2), (3, 7), (4, 8), (7, 300), (64, 300), (100, 299), (299, 300)]:
        good = prove_consistency(old, new, store)
        ro, rn = naive_root(old), naive_root(new)
        verify_consistency(old, new, ro, rn, good)
        for i in range(len(good)):
            bad = list(good)
            bad[i] = _flip(bad[i], 3)
            with pytest.raises(InvalidMerkleProof):
                verify_consistency(old, new, ro, rn, bad)
        for bad in (good[:-1], [*good, good[0]], []):
            with pytest.raises(InvalidMerkleProof):
                verify_consistency(old, new, ro, rn, bad)
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(old, new, _flip(ro), rn, good)
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(old, new, ro, _flip(rn), good)
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(old + 1, new, naive_root(old + 1), rn, good)
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(new, old, rn, ro, good)
    # edge cases of the empty tree and equal sizes
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, naive_root(5), [])
    verify_consistency(5, 5, naive_root(5), naive_root(5), [])
    for args in [
        (0, 5, naive_root(1), naive_root(5), []),
        (0, 0, EMPTY_ROOT, naive_root(1), []),
        (0, 5, EMPTY_ROOT, naive_root(5), [naive_root(5)]),
        (5, 5, naive_root(5), naive_root(6), []),
        (5, 5, naive_root(5), naive_root(5), [naive_root(5)]),
    ]:
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(*args)


def test_a_forked_tree_shows_another_prefix_root():
    """A tree that changed leaf 2 and grew: its honest proof from 6 leads to its own root and to a
    size-6 root different from the original's (the evidence a witness keeps)."""
    forked = MemoryHashStore()
    for i, leaf in enumerate(LEAVES[:20]):
        forked.append(b"changed" if i == 2 else leaf)
    proof = prove_consistency(6, 20, forked)
    fr, sr = consistency_roots(6, 20, proof, naive_root(6))
    assert sr == forked.root(20) and fr == forked.root(6) != naive_root(6)
    with pytest.raises(InvalidMerkleProof):
        verify_consistency(6, 20, naive_root(6), forked.root(20), proof)


# --- Hypothesis: random large sizes -------------------------------------------------------------


class SyntheticStore:
    """A store for a huge tree whose leaf ``i`` is ``i mod 1024`` (8 bytes), so that all aligned
    complete subtrees of 1024 leaves or more are equal: their hashes are memoised once and a proof
    in a tree of 2^40 leaves costs only the nodes it touches."""

    PERIOD = 1024

    def __init__(self):
        self.cache = {}

    def leaf(self, i):
        return (i % self.PERIOD).to_bytes(8, "big")

    def mth(self, lo, hi):
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:  # an aligned complete subtree
            key = (0, n) if n >= self.PERIOD else (lo % self.PERIOD, n)
            if key not in self.cache:
                if n == 1:
                    self.cache[key] = leaf_hash(self.leaf(lo))
                else:
                    self.cache[key] = node_hash(
                        self.mth(lo, lo + n // 2), self.mth(lo + n // 2, hi)
                    )
            return self.cache[key]
        k = _k(n)
        return node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def read_hashes(self, indexes):
        out = []
        for index in indexes:
            level, n = split_stored_hash_index(index)
            out.append(self.mth(n << level, (n + 1) << level))
        return out

    def path(self, m, lo, hi):
        if hi - lo == 1:
            return []
        k = _k(hi - lo)
        if m < lo + k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        if m == hi - lo:
            return [] if b else [self.mth(lo, hi)]
        k = _k(hi - lo)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


SYNTHETIC = SyntheticStore()


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.integers(1, 5000), st.integers(1, 2**40)), st.data())
def test_random_large_trees(size, data):
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    root = SYNTHETIC.mth(0, size)
    assert tree_hash(size, SYNTHETIC) == root
    proof = prove_inclusion(index, size, SYNTHETIC)
    assert proof == SYNTHETIC.path(index, 0, size)
    verify_inclusion(leaf_hash(SYNTHETIC.leaf(index)), index, size, proof, root)
    cproof = prove_consistency(old, size, SYNTHETIC)
    assert cproof == (SYNTHETIC.subproof(old, 0, size, True) if old < size else [])
    verify_consistency(old, size, SYNTHETIC.mth(0, old), root, cproof)
    if cproof:
        position = data.draw(st.integers(0, len(cproof) - 1))
        bad = list(cproof)
        bad[position] = _flip(bad[position], data.draw(st.integers(0, 7)))
        with pytest.raises(InvalidMerkleProof):
            verify_consistency(old, size, SYNTHETIC.mth(0, old), root, bad)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[position] = _flip(bad[position], data.draw(st.integers(0, 7)))
        with pytest.raises(InvalidMerkleProof):
            verify_inclusion(leaf_hash(SYNTHETIC.leaf(index)), index, size, bad, root)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 1000),
    st.integers(0, 1000),
    st.lists(st.binary(min_size=32, max_size=32), max_size=12),
)
def test_random_garbage_proofs_never_verify(size, index, garbage):
    """A proof of random hashes never verifies (and never raises anything but InvalidMerkleProof)."""
    root = SYNTHETIC.mth(0, size)
    leaf = leaf_hash(b"not a leaf")
    with pytest.raises(InvalidMerkleProof):
        verify_inclusion(leaf, index, size, garbage, root)
    old = min(index, size)
    with pytest.raises(InvalidMerkleProof):
        verify_consistency(
            old, size, SYNTHETIC.mth(0, old) if old else EMPTY_ROOT, root, garbage or [b"\x00" * 32]
        )


# --- tiles -----------------------------------------------------------------------------------


def test_tile_paths_are_c2sp():
    from crypto.tlog import tile_path

    assert tile_path(0, 0) == "tile/0/000"
    assert tile_path(1, 1234067) == "tile/1/x001/x234/067"
    assert tile_path(2, 5, 17) == "tile/2/005.p/17"
    assert entry_bundle_path(1000, 3) == "tile/entries/x001/000.p/3"
    for path, parsed in [
        ("tile/0/000", (0, 0, 256)),
        ("tile/1/x001/x234/067", (1, 1234067, 256)),
        ("tile/63/999.p/255", (63, 999, 255)),
        ("tile/entries/x001/000.p/3", (None, 1000, 3)),
    ]:
        assert parse_tile_path(path) == parsed
    for bad in [
        "tile/0/0",
        "tile/00/000",
        "tile/64/000",
        "tile/0/x000/001",
        "tile/0/001/x002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0/000/",
        "/tile/0/000",
        "tile/a/000",
    ]:
        with pytest.raises(InvalidEncoding):
            parse_tile_path(bad)
    assert edge_tiles(70_000) == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert edge_tiles(256) == [(1, 0, 1)]
    assert edge_tiles(0) == []


def test_tiles_hold_the_subtree_hashes():
    store = MemoryHashStore()
    rng = random.Random(7)
    leaves = [rng.randbytes(5) for _ in range(70_000 // 64)]  # 1093 leaves
    for leaf in leaves:
        store.append(leaf)
    size = store.size
    tile = read_tile(0, 1, TILE_WIDTH, size, store)
    assert tile[:32] == leaf_hash(leaves[256]) and len(tile) == 8192
    level1 = read_tile(1, 0, 4, size, store)
    assert level1[32:64] == naive_mth(leaves[256:512])
    with pytest.raises(TreeRangeError):
        read_tile(1, 0, 5, size, store)
    # the edge tiles and the full tiles below them rebuild the root
    for level, index, width in edge_tiles(size):
        read_tile(level, index, width, size, store)


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 512, 1000, 65_536, 65_537, 70_000])
def test_tile_hash_reader_proves_like_the_store(size):
    from crypto.tlog import TileHashReader

    store = _big_store(size)
    fetches = []

    def fetch(level, index, width):
        fetches.append((level, index, width))
        return read_tile(level, index, width, size, store)

    root = store.root(size)
    tiles = TileHashReader(size, root, fetch)
    assert tree_hash(size, tiles) == root
    rng = random.Random(size)
    for _ in range(20):
        index = rng.randrange(size)
        before = len(fetches)
        assert prove_inclusion(index, size, tiles) == prove_inclusion(index, size, store)
        assert len(fetches) - before <= 2 * ((size.bit_length() + 7) // 8)
        old = rng.randint(0, size)
        assert prove_consistency(old, size, tiles) == prove_consistency(old, size, store)
    with pytest.raises(InvalidMerkleProof):
        TileHashReader(size, _flip(root), fetch)


@cache
def _big_store(size: int) -> MemoryHashStore:
    store = MemoryHashStore()
    for i in range(size):
        store.append(i.to_bytes(4, "big"))
    return store


def test_tile_hash_reader_refuses_forged_tiles():
    from crypto.tlog import TileHashReader

    size = 70_000
    store = _big_store(size)
    root = store.root(size)
    honest = lambda level, index, width: read_tile(level, index, width, size, store)  # noqa: E731

    def forging(target):
        def fetch(level, index, width):
            data = honest(level, index, width)
            if (level, index) == target:
                data = data[:40] + bytes([data[40] ^ 1]) + data[41:]
            return data

        return fetch

    # a forged full tile is refused when a proof needs it
    reader = TileHashReader(size, root, forging((0, 3)))
    with pytest.raises(InvalidMerkleProof):
        prove_inclusion(3 * 256 + 5, size, reader)
    prove_inclusion(10 * 256, size, reader)  # other tiles still serve
    # a forged edge tile is refused at once
    with pytest.raises(InvalidMerkleProof):
        TileHashReader(size, root, forging((0, 273)))
    with pytest.raises(InvalidMerkleProof):
        TileHashReader(size, root, lambda level, index, width: honest(level, index, width)[:-1])
    with pytest.raises(TreeRangeError):
        TileHashReader(size, root, honest).read_hashes([stored_hash_count(size)])
    empty = TileHashReader(0, EMPTY_ROOT, honest)
    assert tree_hash(0, empty) == EMPTY_ROOT
