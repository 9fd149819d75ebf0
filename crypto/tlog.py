"""The board's Merkle tree: RFC 9162 §2.1 hashing, stored node hashes, proofs, tiles.

Framework-free and storage-agnostic (docs/protocol.md §14). The log is a sequence of leaves
``D[0 … n−1]`` (for Pnyx, the board entries' canonical lines, §14.1); its tree hash is RFC 9162's
``MTH``:

    leaf_hash(d)    = SHA-256(0x00 ‖ d)
    node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)
    MTH({})         = SHA-256("")
    MTH(D[0:n])     = node_hash(MTH(D[0:k]), MTH(D[k:n]))   k = the largest power of 2 < n

**Storage.** Every *complete* subtree — ``2^L`` leaves starting at a multiple of ``2^L`` — has a
hash that never changes once its last leaf is appended. A store keeps exactly those hashes, in the
order they become complete (Crosby–Wallach's layout, also Go's ``sumdb/tlog``): appending leaf
``m`` stores its leaf hash followed by one node hash per trailing 1-bit of ``m``. So an append
writes ``1 + tz(m+1)`` hashes (2 on average), reads ``tz(m+1)`` earlier ones, and the hash of
subtree ``(L, k)`` (level ``L``, ``k``-th from the left) lives at

    stored_hash_index(L, k) = 2m − popcount(m) + L,     m = (k+1)·2^L − 1

(``2m − popcount(m)`` hashes are stored before leaf ``m``'s). Any tree hash or proof is a fold of at
most ``2·log₂ n`` stored hashes read in one :meth:`HashReader.read_hashes` call, so a database
(the board app's table of hashes) only needs to implement that one method.

**Proofs.** Inclusion proofs are RFC 9162 §2.1.3.1's ``PATH`` and consistency proofs §2.1.4.1's
``PROOF``, with the leaf-side hash first and the root-side hash last; both verifications are the
iterative algorithms of §2.1.3.2 and §2.1.4.2, which need only hashes, never the store. A failed
verification raises :class:`~crypto.errors.InvalidMerkleProof`.

**Tiles.** :func:`tile_path` and :func:`parse_tile_path` are C2SP tlog-tiles' resource names;
:func:`read_tile` cuts a tile out of the stored hashes (the ``i``-th hash of tile ``(L, N)`` is the
stored hash of subtree ``(8L, 256N + i)``); :class:`TileHashReader` is the other side, a
:class:`HashReader` over tiles fetched from anywhere, each authenticated against a checkpoint's
root before a hash of it is used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

from crypto.errors import InvalidEncoding, InvalidMerkleProof, TreeRangeError

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "MAX_TREE_SIZE",
    "MAX_PROOF_LENGTH",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "leaf_hash",
    "node_hash",
    "stored_hash_index",
    "split_stored_hash_index",
    "stored_hash_count",
    "stored_hashes",
    "HashReader",
    "MemoryHashStore",
    "tree_hash",
    "prove_inclusion",
    "prove_consistency",
    "verify_inclusion",
    "verify_consistency",
    "consistency_roots",
    "tile_path",
    "entry_bundle_path",
    "parse_tile_path",
    "read_tile",
    "edge_tiles",
    "TileHashReader",
]

HASH_SIZE = 32
#: MTH of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: Tree sizes and leaf indices are below 2^63 (a checkpoint's size is a signed 64-bit integer in
#: every known implementation).
MAX_TREE_SIZE = 2**63 - 1
#: A proof in a tree of at most 2^63 − 1 leaves has at most 63 hashes (inclusion) or 63 + 1.
MAX_PROOF_LENGTH = 64
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- storage layout ------------------------------------------------------------------------


def _check_count(value: int, what: str, *, minimum: int = 0) -> int:
    if type(value) is not int or not minimum <= value <= MAX_TREE_SIZE:
        raise TreeRangeError(f"{what} must be an integer in [{minimum}, 2^63 − 1]")
    return value


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of subtree ``(level, n)`` — leaves ``[n·2^level, (n+1)·2^level)`` — is stored."""
    if type(level) is not int or not 0 <= level <= 63:
        raise TreeRangeError("a subtree level is an integer in [0, 63]")
    _check_count(n, "a subtree index")
    last = ((n + 1) << level) - 1  # the leaf whose append completes the subtree
    if last > MAX_TREE_SIZE:
        raise TreeRangeError("that subtree lies beyond the largest tree")
    return 2 * last - last.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Inverse of :func:`stored_hash_index`: ``(level, n)`` of the hash stored at ``index``."""
    _check_count(index, "a stored hash index")
    # 2m − popcount(m) is increasing in m and within log₂ m of 2m: start at index // 2.
    m = index // 2
    while True:
        base = 2 * m - m.bit_count()
        if base > index:
            m -= 1
            continue
        after = 2 * (m + 1) - (m + 1).bit_count()
        if after <= index:
            m += 1
            continue
        break
    level = index - base
    # leaf m stores its own hash and one hash per trailing 1-bit of m
    if level > _trailing_zeros(m + 1):  # pragma: no cover - excluded by the search above
        raise TreeRangeError("bad stored hash index")
    return level, ((m + 1) >> level) - 1


def stored_hash_count(size: int) -> int:
    """Number of hashes a store holds for a tree of ``size`` leaves: ``2·size − popcount(size)``."""
    _check_count(size, "a tree size")
    return 2 * size - size.bit_count()


class HashReader(Protocol):
    """Anything that returns stored hashes by their index (a list, a database table, tiles)."""

    def read_hashes(self, indexes: Sequence[int]) -> Sequence[bytes]:
        """The stored hashes at ``indexes`` (sorted increasingly by every caller here), one each."""
        ...  # pragma: no cover


def _read(reader: HashReader, indexes: list[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = list(reader.read_hashes(indexes))
    if len(hashes) != len(indexes):
        raise TreeRangeError(f"the hash store answered {len(hashes)} hashes for {len(indexes)}")
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise TreeRangeError("the hash store answered something that is not a 32-byte hash")
    return hashes


def stored_hashes(n: int, leaf: bytes, reader: HashReader) -> list[bytes]:
    """The hashes to store, from :func:`stored_hash_index` ``(0, n)`` on, when leaf ``n`` (with
    leaf hash ``leaf``) is appended to a store that holds the tree of ``n`` leaves."""
    _check_count(n, "a leaf index", minimum=0)
    if n >= MAX_TREE_SIZE:
        raise TreeRangeError("the tree is full")
    _check_hash(leaf, "leaf hash", TreeRangeError)
    # Leaf n completes the subtrees (i, n >> i) for i = 1 … tz(n+1); each is the node hash of its
    # left sibling (i−1, (n >> (i−1)) − 1), already stored, and the one just completed.
    completed = _trailing_zeros(n + 1)
    siblings = _read(reader, [stored_hash_index(i, (n >> i) - 1) for i in range(completed)][::-1])
    out = [leaf]
    h = leaf
    for sibling in reversed(siblings):
        h = node_hash(sibling, h)
        out.append(h)
    return out


class MemoryHashStore:
    """The stored hashes of a tree in a Python list: the reference store, used by the verifier,
    the witness's tests and anything that rebuilds a tree from an export."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        try:
            return [self._hashes[i] for i in indexes]
        except IndexError:
            raise TreeRangeError("a stored hash beyond the tree was requested") from None

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append one leaf by its hash; return its index."""
        n = self._size
        self._hashes.extend(stored_hashes(n, leaf, self))
        self._size = n + 1
        return n

    def append(self, data: bytes) -> int:
        """Append one leaf by its bytes; return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def root(self, size: int | None = None) -> bytes:
        return tree_hash(self._size if size is None else size, self)


# --- tree hash and proofs --------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of 2 strictly less than ``n`` (``n ≥ 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_indexes(lo: int, hi: int, out: list[int]) -> int:
    """Append the stored indexes whose fold is ``MTH(D[lo:hi])``; return how many.

    ``[lo, hi)`` splits into complete subtrees, largest first (every range the RFC recursion
    visits starts at a multiple of the largest power of 2 that fits in it).
    """
    count = 0
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo & ((1 << level) - 1):  # pragma: no cover - the RFC ranges never do this
            raise TreeRangeError("unaligned subtree")
        out.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
        count += 1
    return count


def _fold(hashes: list[bytes]) -> bytes:
    """MTH of a range from its complete subtrees' hashes, largest (leftmost) first."""
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def _range_hashes(ranges: list[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """``MTH(D[lo:hi])`` for each range, with one read of the store for all of them."""
    indexes: list[int] = []
    counts = [_subtree_indexes(lo, hi, indexes) for lo, hi in ranges]
    wanted = sorted(set(indexes))  # readers get increasing indexes, each once
    found = dict(zip(wanted, _read(reader, wanted), strict=True))
    hashes = [found[i] for i in indexes]
    out, at = [], 0
    for count in counts:
        out.append(_fold(hashes[at : at + count]))
        at += count
    return out


def tree_hash(size: int, reader: HashReader) -> bytes:
    """``MTH(D[0:size])`` from at most ``log₂ size + 1`` stored hashes."""
    _check_count(size, "a tree size")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], reader)[0]


def prove_inclusion(index: int, size: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 ``PATH(index, D[0:size])``: leaf's sibling first, root's child last."""
    _check_count(size, "a tree size", minimum=1)
    _check_count(index, "a leaf index")
    if index >= size:
        raise TreeRangeError(f"leaf {index} is not in a tree of {size} leaves")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return _range_hashes(ranges, reader)


def prove_consistency(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 ``PROOF(old_size, D[0:new_size])`` (empty when the sizes are equal or
    the old tree is empty: the empty tree is a prefix of every tree)."""
    _check_count(new_size, "the new tree size")
    _check_count(old_size, "the old tree size")
    if old_size > new_size:
        raise TreeRangeError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == 0 or old_size == new_size:
        return []
    ranges = []
    lo, hi, m, whole = 0, new_size, old_size, True  # m counts from lo; whole: b of SUBPROOF
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                ranges.append((lo, hi))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole = False
    ranges.reverse()
    return _range_hashes(ranges, reader)


def _check_hash(value: object, what: str, error: type[Exception] = InvalidEncoding) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise error(f"{what} must be a 32-byte hash")
    return value


def _check_proof(proof: Sequence[bytes], what: str) -> list[bytes]:
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Sequence):
        raise InvalidEncoding(f"{what} must be a list of 32-byte hashes")
    if len(proof) > MAX_PROOF_LENGTH:
        raise InvalidMerkleProof(f"{what} has {len(proof)} hashes (at most {MAX_PROOF_LENGTH})")
    return [_check_hash(h, f"{what}[{i}]") for i, h in enumerate(proof)]


def _verify_count(value: int, what: str, *, minimum: int = 0) -> int:
    if type(value) is not int or not minimum <= value <= MAX_TREE_SIZE:
        raise InvalidMerkleProof(f"{what} must be an integer in [{minimum}, 2^63 − 1]")
    return value


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: ``proof`` shows that the leaf with hash ``leaf`` is at ``index`` in the
    tree of ``size`` leaves whose root is ``root``. Returns ``None`` or raises
    :class:`~crypto.errors.InvalidMerkleProof` (``InvalidEncoding`` for hashes of a wrong type)."""
    _check_hash(leaf, "the leaf hash")
    _check_hash(root, "the root hash")
    path = _check_proof(proof, "the inclusion proof")
    _verify_count(size, "the tree size", minimum=1)
    _verify_count(index, "the leaf index")
    if index >= size:
        raise InvalidMerkleProof(f"leaf {index} cannot be in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise InvalidMerkleProof("the inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidMerkleProof("the inclusion proof is shorter than the path to the root")
    if r != root:
        raise InvalidMerkleProof(f"leaf {index} is not in the tree of {size} leaves with this root")


def consistency_roots(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes
) -> tuple[bytes, bytes]:
    """Run a consistency proof (RFC 9162 §2.1.4.2 steps 1–6) and return the two roots it implies,
    ``(fr, sr)``: the root of the first ``old_size`` leaves and of all ``new_size`` leaves.

    For ``0 < old_size < new_size`` only. When ``old_size`` is a power of 2 the proof omits the old
    root and ``old_root`` is taken as given (then ``fr == old_root``); otherwise both roots come
    from the proof alone, so a proof that yields the signed new root and another old root is itself
    evidence that the log forked (docs/protocol.md §14.8). Raises
    :class:`~crypto.errors.InvalidMerkleProof` for a proof of the wrong shape.
    """
    _check_hash(old_root, "the old root hash")
    path = _check_proof(proof, "the consistency proof")
    _verify_count(old_size, "the old tree size", minimum=1)
    _verify_count(new_size, "the new tree size", minimum=1)
    if not old_size < new_size:
        raise InvalidMerkleProof("consistency_roots needs 0 < old size < new size")
    if not path:
        raise InvalidMerkleProof("the consistency proof is empty")
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidMerkleProof("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidMerkleProof("the consistency proof is too short")
    return fr, sr


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """The tree of ``new_size`` leaves with root ``new_root`` extends the tree of ``old_size``
    leaves with root ``old_root`` (RFC 9162 §2.1.4.2; the empty proof for equal sizes with equal
    roots, and for an old empty tree, whose root must be :data:`EMPTY_ROOT`). Returns ``None`` or
    raises :class:`~crypto.errors.InvalidMerkleProof`."""
    _check_hash(old_root, "the old root hash")
    _check_hash(new_root, "the new root hash")
    path = _check_proof(proof, "the consistency proof")
    _verify_count(old_size, "the old tree size")
    _verify_count(new_size, "the new tree size")
    if old_size > new_size:
        raise InvalidMerkleProof(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == 0:
        if old_root != EMPTY_ROOT:
            raise InvalidMerkleProof("the root of the empty tree is SHA-256 of the empty string")
        if new_size == 0 and new_root != EMPTY_ROOT:
            raise InvalidMerkleProof("the root of the empty tree is SHA-256 of the empty string")
        if path:
            raise InvalidMerkleProof("a consistency proof from the empty tree is empty")
        return
    if old_size == new_size:
        if path:
            raise InvalidMerkleProof("a consistency proof between equal sizes is empty")
        if old_root != new_root:
            raise InvalidMerkleProof(f"two different roots for the tree of {old_size} leaves")
        return
    fr, sr = consistency_roots(old_size, new_size, path, old_root)
    if fr != old_root:
        raise InvalidMerkleProof(
            f"the proof does not lead to the old root: the tree of {new_size} leaves does not "
            f"extend this tree of {old_size}"
        )
    if sr != new_root:
        raise InvalidMerkleProof(f"the proof does not lead to the new root of {new_size} leaves")


# --- C2SP tlog-tiles ---------------------------------------------------------------------------

_TILE_PATH = re.compile(
    r"tile/(?:(0|[1-9][0-9]?)|(entries))/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?\Z"
)


def _tile_index_path(index: int) -> str:
    digits = f"{index:d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def _tile_suffix(width: int) -> str:
    if type(width) is not int or not 1 <= width <= TILE_WIDTH:
        raise TreeRangeError("a tile's width is in [1, 256]")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (C2SP tlog-tiles), relative to the log's prefix."""
    if type(level) is not int or not 0 <= level <= 63:
        raise TreeRangeError("a tile level is in [0, 63]")
    _check_count(index, "a tile index")
    return f"tile/{level}/{_tile_index_path(index)}{_tile_suffix(width)}"


def entry_bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]`` (C2SP tlog-tiles)."""
    _check_count(index, "an entry bundle index")
    return f"tile/entries/{_tile_index_path(index)}{_tile_suffix(width)}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """``(level, index, width)`` of a tile path, ``level`` ``None`` for an entry bundle. Only the
    one canonical spelling is accepted (raises :class:`~crypto.errors.InvalidEncoding`)."""
    match = _TILE_PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise InvalidEncoding(f"not a tlog-tiles path: {str(path)[:80]!r}")
    level_text, entries, index_text, width_text = match.groups()
    level = None if entries else int(level_text)
    if level is not None and level > 63:
        raise InvalidEncoding("a tile level is in [0, 63]")
    groups = index_text.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise InvalidEncoding("a tile index has no leading zero groups")
    index = int("".join(g.lstrip("x") for g in groups))
    width = TILE_WIDTH if width_text is None else int(width_text)
    if width_text is not None and width > 255:
        raise InvalidEncoding("a partial tile has 1 to 255 hashes")
    if index > MAX_TREE_SIZE:
        raise InvalidEncoding("tile index too large")
    return level, index, width


def edge_tiles(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles ``(level, index, width)`` that a tree of ``size`` leaves has (the rightmost
    tile of each level whose width ``⌊size / 256^L⌋ mod 256`` is not 0)."""
    _check_count(size, "a tree size")
    out, level = [], 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        if count % TILE_WIDTH:
            out.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return out


def read_tile(level: int, index: int, width: int, size: int, reader: HashReader) -> bytes:
    """The bytes of tile ``(level, index)`` of ``width`` hashes, for a tree of ``size`` leaves:
    the hashes ``MTH(D[(256·index + i)·256^level : (256·index + i + 1)·256^level])``, in order."""
    tile_path(level, index, width)  # validates
    _check_count(size, "a tree size")
    first = index * TILE_WIDTH
    if ((first + width) << (TILE_HEIGHT * level)) > size:
        raise TreeRangeError(f"tile {level}/{index} of width {width} is not in a tree of {size}")
    node_level = TILE_HEIGHT * level
    hashes = _read(reader, [stored_hash_index(node_level, first + i) for i in range(width)])
    return b"".join(hashes)


class TileHashReader:
    """A :class:`HashReader` for the tree of ``size`` leaves with root ``root``, over C2SP tiles
    fetched by ``fetch(level, index, width) -> bytes`` (from HTTP, files, a cache: untrusted).

    No hash is returned unless its tile is authenticated: the partial tiles at the tree's right
    edge (:func:`edge_tiles`) must fold into ``root`` (checked when the reader is made), and a
    full tile must hash to its entry in the tile above it, itself authenticated. A tile that fails
    raises :class:`~crypto.errors.InvalidMerkleProof`. A proof reads ``O(log n)`` tiles.
    """

    def __init__(self, size: int, root: bytes, fetch) -> None:
        self.size = _verify_count(size, "the tree size")
        self.root = _check_hash(root, "the root hash")
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self.fetched = 0
        if size == 0:
            if root != EMPTY_ROOT:
                raise InvalidMerkleProof(
                    "the root of the empty tree is SHA-256 of the empty string"
                )
            return
        for level, index, _ in edge_tiles(size):
            self._tiles[(level, index)] = self._get(level, index)
        subtrees = []
        for node_level in reversed(range(size.bit_length())):
            if size >> node_level & 1:
                subtrees.append(self._node(node_level, (size >> node_level) - 1))
        if _fold(subtrees) != root:
            raise InvalidMerkleProof("the edge tiles do not lead to the checkpoint's root")

    def _width(self, level: int, index: int) -> int:
        count = self.size >> (TILE_HEIGHT * level)
        width = min(TILE_WIDTH, count - index * TILE_WIDTH)
        if width <= 0:
            raise TreeRangeError(f"tile {level}/{index} is not in a tree of {self.size}")
        return width

    def _get(self, level: int, index: int) -> list[bytes]:
        width = self._width(level, index)
        data = self._fetch(level, index, width)
        self.fetched += 1
        if not isinstance(data, bytes) or len(data) != width * HASH_SIZE:
            raise InvalidMerkleProof(f"tile {tile_path(level, index, width)} has the wrong length")
        return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]

    def _tile(self, level: int, index: int) -> list[bytes]:
        tile = self._tiles.get((level, index))
        if tile is None:  # a full tile (the partial ones were authenticated at the start)
            tile = self._get(level, index)
            parent = self._tile(level + 1, index >> TILE_HEIGHT)[index & (TILE_WIDTH - 1)]
            if _balanced(tile) != parent:
                raise InvalidMerkleProof(
                    f"tile {tile_path(level, index)} does not match its parent"
                )
            self._tiles[(level, index)] = tile
        return tile

    def _node(self, node_level: int, n: int) -> bytes:
        """The hash of complete subtree ``(node_level, n)`` from the tile that holds it."""
        level, r = divmod(node_level, TILE_HEIGHT)
        first = n << r  # its 2^r hashes at tile level `level`
        tile = self._tile(level, first >> TILE_HEIGHT)
        at = first & (TILE_WIDTH - 1)
        return _balanced(tile[at : at + (1 << r)])

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        out = []
        for index in indexes:
            node_level, n = split_stored_hash_index(index)
            if (n + 1) << node_level > self.size:
                raise TreeRangeError(f"stored hash {index} is not in a tree of {self.size}")
            out.append(self._node(node_level, n))
        return out


def _balanced(hashes: list[bytes]) -> bytes:
    """MTH of a power-of-2 number of subtree hashes (a complete subtree)."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]
