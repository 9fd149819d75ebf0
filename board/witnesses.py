"""Collecting the witnesses' cosignatures on the board's checkpoints (protocol §14.4).

The witnesses and the quorum come from the board's own ``manifest`` entry (so the board needs no
other app): :func:`board_witnesses_sync` copies them once into ``BoardWitness`` rows, which also
keep each witness's last cosigned size. :func:`board_witnesses_collect` sends the latest
checkpoint to every witness that has not cosigned it (c2sp.org/tlog-witness ``add-checkpoint``:
the witness's last size, a consistency proof from it, the log-signed checkpoint), checks the
returned cosignature/v1 line against the witness's key from the manifest, and stores it. It runs
in Celery tasks (after each checkpoint, and again every ``PNYX_CHECKPOINT_SECONDS`` while a
witness is missing): a witness that is down or refuses never blocks an append or a vote; the
error is kept on its row for the officials.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from board.models import BoardCheckpoint, BoardCosignature, BoardEntry, BoardTree, BoardWitness
from board.tree import board_checkpoint_latest, board_consistency_proof
from crypto.board import BoardEntry as ChainEntry
from crypto.checkpoint import AddCheckpoint
from crypto.errors import CryptoError
from crypto.hashing import parse_json
from crypto.manifest import manifest_witnesses
from crypto.note import NoteVerifier, parse_note
from witness.client import WitnessConflict, WitnessError, add_checkpoint

logger = logging.getLogger(__name__)

#: seconds a witness has to answer one request
WITNESS_TIMEOUT_S = 5.0


def board_witnesses_sync(*, election_id: Any) -> list[BoardWitness]:
    """The election's witnesses as its board's manifest entry names them (created once)."""
    rows = list(BoardWitness.objects.filter(election_id=election_id).order_by("position"))
    if rows:
        return rows
    line = (
        BoardEntry.objects.filter(election_id=election_id, kind="manifest")
        .values_list("line", flat=True)
        .first()
    )
    if line is None:
        return []
    manifest = ChainEntry.from_json(parse_json(line)).payload["manifest"]
    specs, quorum = manifest_witnesses(manifest.get("witnesses"))
    if not specs:
        return []
    with transaction.atomic():
        try:
            with transaction.atomic():
                BoardWitness.objects.bulk_create(
                    [
                        BoardWitness(
                            election_id=election_id,
                            name=spec.name,
                            vkey=spec.key.vkey,
                            url=spec.url,
                            position=i,
                        )
                        for i, spec in enumerate(specs, start=1)
                    ]
                )
        except IntegrityError:  # another task synced them first
            pass
        BoardTree.objects.filter(election_id=election_id).update(witness_quorum=quorum)
    return list(BoardWitness.objects.filter(election_id=election_id).order_by("position"))


def _ask(witness: BoardWitness, checkpoint: BoardCheckpoint) -> tuple[str, int]:
    """One add-checkpoint exchange (retried once from the witness's own size after a 409);
    returns the verified cosignature line and its timestamp. Raises WitnessError or
    CryptoError."""
    verifier = NoteVerifier.from_vkey(witness.vkey)
    text = parse_note(checkpoint.note).text
    old = witness.cosigned_size if witness.cosigned_size <= checkpoint.size else 0
    for _attempt in range(2):
        proof = (
            board_consistency_proof(election_id=witness.election_id, old=old, new=checkpoint.size)
            if old
            else []
        )
        request = AddCheckpoint(old, tuple(proof), checkpoint.note.encode("utf-8"))
        try:
            lines = add_checkpoint(witness.url, request, timeout=WITNESS_TIMEOUT_S)
        except WitnessConflict as conflict:
            if conflict.size > checkpoint.size:
                raise WitnessError(
                    f"the witness has cosigned size {conflict.size}, beyond this board's "
                    f"latest checkpoint ({checkpoint.size})"
                ) from None
            old = conflict.size
            continue
        for sig in lines:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                timestamp = verifier.verify(text, sig.signature)  # raises InvalidSignature
                return sig.line.rstrip("\n"), timestamp
        raise WitnessError("the witness answered no cosignature by its key")
    raise WitnessError("the witness kept answering 409")


def board_witnesses_collect(*, election_id: Any) -> int:
    """Ask every witness that has not cosigned the latest checkpoint; return how many did."""
    witnesses = board_witnesses_sync(election_id=election_id)
    checkpoint = board_checkpoint_latest(election_id=election_id)
    if not witnesses or checkpoint is None:
        return 0
    added = 0
    for witness in witnesses:
        if not witness.url:
            continue
        with transaction.atomic():
            row = (
                BoardWitness.objects.select_for_update(skip_locked=True)
                .filter(pk=witness.pk)
                .first()
            )
            if row is None:  # another task is asking this witness right now
                continue
            if BoardCosignature.objects.filter(checkpoint=checkpoint, witness=row).exists():
                continue
            row.last_attempt_at = timezone.now()
            try:
                line, timestamp = _ask(row, checkpoint)
            except (WitnessError, CryptoError) as exc:
                row.last_error = str(exc)[:500]
                row.save(update_fields=["last_error", "last_attempt_at"])
                logger.warning("witness %s of board %s: %s", row.name, election_id, exc)
                continue
            BoardCosignature.objects.create(
                checkpoint=checkpoint,
                witness=row,
                line=line,
                timestamp=timestamp,
            )
            row.cosigned_size = checkpoint.size
            row.last_error = ""
            row.save(update_fields=["cosigned_size", "last_error", "last_attempt_at"])
            added += 1
    return added


def board_witnesses_due(*, limit: int = 100) -> list[Any]:
    """Elections whose latest checkpoint misses the cosignature of a witness with a URL."""
    due = []
    elections = BoardWitness.objects.values_list("election_id", flat=True).distinct()
    for election_id in elections.iterator(chunk_size=500):
        checkpoint = board_checkpoint_latest(election_id=election_id)
        if checkpoint is None:
            continue
        missing = (
            BoardWitness.objects.filter(election_id=election_id)
            .exclude(url="")
            .exclude(id__in=checkpoint.cosignatures.values("witness_id"))
        )
        if missing.exists():
            due.append(election_id)
            if len(due) >= limit:
                break
    return due


def board_witness_status(*, election_id: Any) -> dict:
    """For pages: the latest checkpoint's size, how many witnesses cosigned it, of how many, and
    the quorum; and the largest checkpoint that met the quorum."""
    witnesses = BoardWitness.objects.filter(election_id=election_id).count()
    quorum = (
        BoardTree.objects.filter(election_id=election_id)
        .values_list("witness_quorum", flat=True)
        .first()
        or 0
    )
    latest = board_checkpoint_latest(election_id=election_id)
    cosigned = latest.cosignatures.count() if latest is not None else 0
    witnessed = (
        BoardCheckpoint.objects.filter(election_id=election_id)
        .annotate(n=Count("cosignatures"))
        .filter(n__gte=max(quorum, 1))
        .order_by("-size")
        .values_list("size", flat=True)
        .first()
    )
    return {
        "size": latest.size if latest is not None else 0,
        "cosigned": cosigned,
        "witnesses": witnesses,
        "quorum": quorum,
        "witnessed_size": witnessed,
    }
