"""The bulletin board's tables: each election's head and its append-only entries.

The rows refuse ``save()`` on an existing row and ``delete()``, their querysets refuse ``update()``
and ``delete()``, and on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE whatever the
client. The tables keep the names they had when the board lived in voting/ (``voting_boardhead``,
``voting_boardentry``): the triggers and the ballot append function (voting/migrations) name them.

An election's board is keyed by the election's id. The foreign key names the election model by
its label only; this module imports no other app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from crypto.board import ENTRY_KINDS


class AppendOnlyViolation(Exception):
    """Something tried to change or remove a row of an append-only table."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never updated")

    def delete(self):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never updated")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never updated")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation(f"{type(self).__name__} rows are never updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation(f"{type(self).__name__} rows are never deleted")


class BoardHead(models.Model):
    """The last entry of an election's board. Appends lock this row (SELECT … FOR UPDATE), so
    they are serialised per election and each one extends the chain by exactly one entry."""

    election = models.OneToOneField(
        "voting.Election", on_delete=models.PROTECT, primary_key=True, related_name="board_head"
    )
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    time = models.CharField(max_length=24)

    class Meta:
        db_table = "voting_boardhead"

    def __str__(self) -> str:
        return f"{self.election_id} @ {self.seq}"


class BoardEntry(AppendOnlyModel):
    """One entry of the hash chain (crypto.board), stored as its canonical JSON ``line`` (without
    the trailing newline) so that the export streams the exact bytes that were hashed.

    Indexes are kept to what reads and constraints need: every ballot inserts into each of them
    (the election's own index is the prefix of the unique ones).
    """

    election = models.ForeignKey(
        "voting.Election", on_delete=models.PROTECT, related_name="board_entries", db_index=False
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=[(k, k) for k in ENTRY_KINDS])
    time = models.CharField(max_length=24)
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    #: ballot and audit entries: the ballot's tracker; NULL (not "") for the other kinds, so that
    #: the unique constraint on (election, tracker) leaves them out
    tracker = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    line = models.TextField()

    class Meta:
        db_table = "voting_boardentry"
        ordering = ["election_id", "seq"]
        verbose_name_plural = "board entries"
        constraints = [
            models.UniqueConstraint(fields=["election", "seq"], name="board_entry_seq"),
            models.UniqueConstraint(fields=["election", "prev"], name="board_entry_prev"),
            models.UniqueConstraint(fields=["hash"], name="board_entry_hash"),
            models.UniqueConstraint(
                fields=["election", "tracker"],
                condition=Q(tracker__isnull=False),
                name="board_entry_tracker",
            ),
            models.CheckConstraint(condition=Q(seq__gte=0), name="board_entry_seq_nonnegative"),
        ]
        indexes = [
            # Filtering by kind: ballots are most of a board and are found by seq or tracker,
            # so only the other kinds are indexed (a ballot insert does not touch this index).
            models.Index(
                fields=["election", "kind", "seq"],
                condition=~Q(kind="ballot"),
                name="board_entry_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


# --- The transparency log over the board (docs/protocol.md §14) ---------------------------------


class BoardTree(models.Model):
    """The Merkle tree over an election's board entries: how many entries it holds and the origin
    line of its checkpoints. Extending the tree locks this row, never the head, so appends do not
    wait for it. ``witness_quorum`` of the election's :class:`BoardWitness` rows must cosign a
    checkpoint for it to count as witnessed."""

    election = models.OneToOneField(
        "voting.Election", on_delete=models.PROTECT, primary_key=True, related_name="board_tree"
    )
    origin = models.CharField(max_length=300)
    size = models.BigIntegerField(default=0)
    witness_quorum = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "board_tree"
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="board_tree_size_nonnegative")
        ]

    def __str__(self) -> str:
        return f"{self.origin} @ {self.size}"


class BoardTreeHash(AppendOnlyModel):
    """One stored hash of the tree, at ``crypto.tlog.stored_hash_index``: every complete subtree's
    hash, written once when its last leaf is added."""

    election = models.ForeignKey(
        "voting.Election", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        db_table = "board_treehash"
        constraints = [
            models.UniqueConstraint(fields=["election", "index"], name="board_treehash_index")
        ]

    def __str__(self) -> str:
        return f"{self.election_id} hash {self.index}"


class BoardCheckpoint(AppendOnlyModel):
    """A checkpoint (c2sp.org/tlog-checkpoint) of the election's tree, as the note the board key
    signed (``note``: text, blank line, the log's signature line). Witnesses' cosignatures are
    kept apart (:class:`BoardCosignature`) and joined to the note when it is served."""

    election = models.ForeignKey(
        "voting.Election", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    size = models.BigIntegerField()
    root = models.CharField(max_length=64)  #: hex, for reading; the note holds it in base64
    note = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "board_checkpoint"
        constraints = [
            models.UniqueConstraint(fields=["election", "size"], name="board_checkpoint_size"),
            models.CheckConstraint(condition=Q(size__gte=1), name="board_checkpoint_size_positive"),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.election_id} @ {self.size}"


class BoardWitness(models.Model):
    """A witness of an election's log, named in its manifest: name, verifier key
    (``name+keyid+base64(0x04 ‖ key)``) and the URL of its c2sp.org/tlog-witness endpoint.
    ``cosigned_size`` is the last size it cosigned (the old size of the next request)."""

    election = models.ForeignKey(
        "voting.Election", on_delete=models.PROTECT, related_name="board_witnesses"
    )
    name = models.CharField(max_length=200)
    vkey = models.CharField(max_length=400)
    url = models.URLField(max_length=400, blank=True)
    position = models.PositiveSmallIntegerField()
    cosigned_size = models.BigIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "board_witness"
        ordering = ["election_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["election", "name"], name="board_witness_name"),
            models.UniqueConstraint(fields=["election", "position"], name="board_witness_position"),
        ]

    def __str__(self) -> str:
        return self.name


class BoardCosignature(AppendOnlyModel):
    """A witness's cosignature/v1 line on a checkpoint, verified before it was stored."""

    checkpoint = models.ForeignKey(
        BoardCheckpoint, on_delete=models.PROTECT, related_name="cosignatures"
    )
    witness = models.ForeignKey(BoardWitness, on_delete=models.PROTECT, related_name="+")
    line = models.CharField(max_length=600)  #: "— name base64(keyid ‖ timestamp ‖ signature)"
    timestamp = models.BigIntegerField()

    class Meta:
        db_table = "board_cosignature"
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "witness"], name="board_cosignature_witness"
            )
        ]

    def __str__(self) -> str:
        return self.line


# --- Records: logs that belong to no election (docs/protocol.md §17) ----------------------------


class RecordLog(models.Model):
    """A log of another kind than an election's board, e.g. a participatory process's public
    record: its UUID, its origin (what it belongs to, e.g. ``process/<uuid>``, named by the app
    that keeps it; the board imports none of them) and its head. Appends lock this row."""

    id = models.UUIDField(primary_key=True)
    origin = models.CharField(max_length=300, unique=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    time = models.CharField(max_length=24)

    class Meta:
        db_table = "board_recordlog"

    def __str__(self) -> str:
        return f"{self.origin} @ {self.seq}"


class RecordEntry(AppendOnlyModel):
    """One entry of a record (crypto.record), stored as its canonical JSON line."""

    log = models.ForeignKey(
        RecordLog, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    time = models.CharField(max_length=24)
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    line = models.TextField()

    class Meta:
        db_table = "board_recordentry"
        ordering = ["log_id", "seq"]
        verbose_name_plural = "record entries"
        constraints = [
            models.UniqueConstraint(fields=["log", "seq"], name="record_entry_seq"),
            models.UniqueConstraint(fields=["log", "prev"], name="record_entry_prev"),
            models.CheckConstraint(condition=Q(seq__gte=0), name="record_entry_seq_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"
