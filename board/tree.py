"""The board as a transparency log: the Merkle tree over an election's entries, its checkpoints and
proofs (docs/protocol.md §14; the mathematics and formats are crypto.tlog, crypto.note and
crypto.checkpoint).

The tree is derived data: leaf ``i`` is entry ``i``'s stored canonical line (UTF-8, no newline),
so the tree never has to be updated under the board's append lock. :func:`board_tree_extend`
catches the tree up with the board, under the tree's own row lock, writing every complete
subtree's hash once (``BoardTreeHash``, crypto.tlog's storage layout: two rows per entry on
average); proofs and tree hashes then read O(log n) of them in one query.

A checkpoint (:func:`board_checkpoint`) catches the tree up to the board's head and signs the
c2sp.org/tlog-checkpoint note with the board key, named by the election's origin
``<host>/pnyx/<election>``. One is made every few seconds while entries arrive (the beat task
``board.checkpoints``) and after every ``state`` entry's commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from board.keys import board_signing_key
from board.models import BoardCheckpoint, BoardCosignature, BoardEntry, BoardHead, BoardTree
from board.models import BoardTreeHash as StoredHash
from config.db import hot_cursor
from crypto.checkpoint import Checkpoint, TlogProof, pnyx_origin
from crypto.errors import TreeRangeError
from crypto.note import NoteSigner, sign_note
from crypto.tlog import leaf_hash, prove_consistency, prove_inclusion, stored_hashes, tree_hash
from crypto.tlog import stored_hash_index as hash_index

logger = logging.getLogger(__name__)

#: entries added to the tree per transaction while catching up
EXTEND_BATCH = 5000


def board_db_key(election_id: Any):
    """An election id as plain SQL parameters need it (native UUID on PostgreSQL, hex text on
    SQLite), for the few hot-path queries written in SQL."""
    value = election_id if isinstance(election_id, uuid.UUID) else uuid.UUID(str(election_id))
    return BoardHead._meta.pk.target_field.get_db_prep_value(value, connection)


class DbHashReader:
    """crypto.tlog's ``HashReader`` over one election's stored hashes, plus hashes computed in the
    current batch and not written yet (``pending``)."""

    def __init__(self, election_id: Any, pending: dict[int, bytes] | None = None) -> None:
        self.election_id = election_id
        self.pending = pending if pending is not None else {}

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        wanted = [i for i in indexes if i not in self.pending]
        rows = {}
        if wanted:
            rows = dict(
                StoredHash.objects.filter(
                    election_id=self.election_id, index__in=wanted
                ).values_list("index", "hash")
            )
        out = []
        for i in indexes:
            h = self.pending.get(i)
            if h is None:
                stored = rows.get(i)
                if stored is None:
                    raise TreeRangeError(f"stored hash {i} is not in the tree yet")
                h = bytes(stored)
            out.append(h)
        return out


def board_origin(election_id: Any) -> str:
    """The origin line of the election's checkpoints: this server's base URL without its scheme,
    ``/pnyx/``, the election's UUID (crypto.checkpoint.pnyx_origin)."""
    parts = urlsplit(settings.PNYX_BASE_URL)
    host = (parts.netloc + parts.path.rstrip("/")).lower()
    return pnyx_origin(host, str(election_id).lower())


def board_log_signer(origin: str) -> NoteSigner:
    """The board key as the log's note signer (its key name is the origin)."""
    return NoteSigner(origin, board_signing_key())


def board_tree_create(*, election_id: Any) -> BoardTree:
    tree, _ = BoardTree.objects.get_or_create(
        election_id=election_id, defaults={"origin": board_origin(election_id)}
    )
    return tree


_LEAF_HASHES = (
    # crypto.tlog.leaf_hash of each line, computed by the database: 32 bytes per entry travel
    # instead of the line
    f"SELECT seq, sha256('\\x00'::bytea || convert_to(line, 'UTF8')) FROM {BoardEntry._meta.db_table}"  # noqa: S608
    " WHERE election_id = %s AND seq >= %s AND seq < %s ORDER BY seq"
)
_INSERT_HASH = (
    f"INSERT INTO {StoredHash._meta.db_table} (election_id, index, hash)"  # noqa: S608
    " VALUES (%s, %s, %s)"
)


def _leaf_hashes(election_id: Any, start: int, limit: int) -> list[tuple[int, bytes]]:
    if connection.vendor == "postgresql":
        with hot_cursor() as cursor:
            cursor.execute(_LEAF_HASHES, [board_db_key(election_id), start, start + limit])
            return [(seq, bytes(h)) for seq, h in cursor.fetchall()]
    rows = (
        BoardEntry.objects.filter(election_id=election_id, seq__gte=start)
        .order_by("seq")
        .values_list("seq", "line")[:limit]
    )
    return [(seq, leaf_hash(line.encode("utf-8"))) for seq, line in rows]


def _store_hashes(election_id: Any, pending: dict[int, bytes]) -> None:
    if connection.vendor == "postgresql":
        key = board_db_key(election_id)
        with hot_cursor() as cursor:
            cursor.executemany(_INSERT_HASH, [(key, i, h) for i, h in pending.items()])
        return
    StoredHash.objects.bulk_create(
        [StoredHash(election_id=election_id, index=i, hash=h) for i, h in pending.items()]
    )


def _extend_locked(tree: BoardTree, limit: int) -> int:
    """Add up to ``limit`` entries after ``tree.size`` to the locked tree; return how many."""
    rows = _leaf_hashes(tree.election_id, tree.size, limit)
    if not rows:
        return 0
    pending: dict[int, bytes] = {}
    reader = DbHashReader(tree.election_id, pending)
    n = tree.size
    for seq, leaf in rows:
        if seq != n:  # pragma: no cover - the board's constraints make seqs consecutive
            raise RuntimeError(f"board of {tree.election_id}: entry {seq} where {n} was expected")
        base = hash_index(0, n)
        for k, h in enumerate(stored_hashes(n, leaf, reader)):
            pending[base + k] = h
        n += 1
    _store_hashes(tree.election_id, pending)
    BoardTree.objects.filter(pk=tree.pk).update(size=n)
    added, tree.size = n - tree.size, n
    return added


def board_tree_extend(*, election_id: Any, upto: int | None = None) -> int:
    """Catch the election's tree up with its board (or up to ``upto`` entries); return its size.
    Each batch of :data:`EXTEND_BATCH` entries is its own transaction."""
    board_tree_create(election_id=election_id)
    while True:
        with transaction.atomic():
            tree = BoardTree.objects.select_for_update().get(election_id=election_id)
            limit = EXTEND_BATCH if upto is None else min(EXTEND_BATCH, upto - tree.size)
            if limit <= 0 or not _extend_locked(tree, limit):
                return tree.size


def board_tree_size(*, election_id: Any) -> int:
    return (
        BoardTree.objects.filter(election_id=election_id).values_list("size", flat=True).first()
        or 0
    )


def board_root(*, election_id: Any, size: int) -> bytes:
    return tree_hash(size, DbHashReader(election_id))


def board_checkpoint(*, election_id: Any) -> BoardCheckpoint | None:
    """Sign a checkpoint of the election's whole board, unless the latest one already covers it;
    return the latest checkpoint (``None`` only for a board that does not exist)."""
    if not BoardHead.objects.filter(election_id=election_id).exists():
        return None
    board_tree_extend(election_id=election_id)
    with transaction.atomic():
        tree = BoardTree.objects.select_for_update().get(election_id=election_id)
        while _extend_locked(tree, EXTEND_BATCH):  # what arrived since, under the lock
            pass
        latest = board_checkpoint_latest(election_id=election_id)
        if latest is not None and latest.size >= tree.size:
            return latest
        root = tree_hash(tree.size, DbHashReader(election_id))
        text = Checkpoint(tree.origin, tree.size, root).text()
        note = sign_note(text, [board_log_signer(tree.origin)])
        try:
            with transaction.atomic():
                return BoardCheckpoint.objects.create(
                    election_id=election_id,
                    size=tree.size,
                    root=root.hex(),
                    note=note,
                    created_at=timezone.now(),
                )
        except IntegrityError:  # pragma: no cover - the tree lock serialises checkpoints
            return board_checkpoint_latest(election_id=election_id)


def board_checkpoint_after_commit(*, election_id: Any) -> None:
    """After the caller's transaction commits, checkpoint the board (a state change's
    checkpoint). A failure is logged: the periodic checkpoints make up for it."""

    def run() -> None:
        try:
            board_checkpoint(election_id=election_id)
        except Exception:  # noqa: BLE001 - never undo or fail a committed state change
            logger.exception("board %s: the checkpoint after a state change failed", election_id)

    transaction.on_commit(run)


def board_checkpoints_due(*, limit: int = 100) -> list[Any]:
    """Elections whose board has entries beyond its latest checkpoint (at most ``limit``)."""
    latest = (
        BoardCheckpoint.objects.filter(election_id=OuterRef("election_id"))
        .order_by("-size")
        .values("size")[:1]
    )
    return list(
        BoardHead.objects.annotate(checkpointed=Subquery(latest))
        .filter(Q(checkpointed__isnull=True) | Q(checkpointed__lt=F("seq") + 1))
        .values_list("election_id", flat=True)[:limit]
    )


def board_checkpoint_latest(*, election_id: Any) -> BoardCheckpoint | None:
    return BoardCheckpoint.objects.filter(election_id=election_id).order_by("-size").first()


def board_checkpoint_text(checkpoint: BoardCheckpoint) -> str:
    """The signed note with the witnesses' cosignature lines after the log's signature."""
    lines = (
        BoardCosignature.objects.filter(checkpoint=checkpoint)
        .order_by("witness__position")
        .values_list("line", flat=True)
    )
    return checkpoint.note + "".join(line + "\n" for line in lines)


def board_inclusion_proof(*, election_id: Any, index: int, size: int) -> list[bytes]:
    """RFC 9162 ``PATH(index, D[0:size])``; the tree must hold ``size`` entries already."""
    if size > board_tree_size(election_id=election_id):
        raise TreeRangeError(f"the tree does not hold {size} entries yet")
    return prove_inclusion(index, size, DbHashReader(election_id))


def board_consistency_proof(*, election_id: Any, old: int, new: int) -> list[bytes]:
    """RFC 9162 ``PROOF(old, D[0:new])``; the tree must hold ``new`` entries already."""
    if new > board_tree_size(election_id=election_id):
        raise TreeRangeError(f"the tree does not hold {new} entries yet")
    return prove_consistency(old, new, DbHashReader(election_id))


def board_entry_proof(*, election_id: Any, seq: int) -> TlogProof | None:
    """A receipt's proof (c2sp.org/tlog-proof, protocol §14.6): entry ``seq``'s line as the extra
    data, its inclusion proof in the latest checkpoint, the checkpoint with its cosignatures.
    ``None`` while no checkpoint covers the entry yet."""
    checkpoint = board_checkpoint_latest(election_id=election_id)
    if checkpoint is None or checkpoint.size <= seq:
        return None
    line = (
        BoardEntry.objects.filter(election_id=election_id, seq=seq)
        .values_list("line", flat=True)
        .get()
    )
    proof = prove_inclusion(seq, checkpoint.size, DbHashReader(election_id))
    return TlogProof(
        seq, tuple(proof), board_checkpoint_text(checkpoint), extra=line.encode("utf-8")
    )
