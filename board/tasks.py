"""Celery tasks of the board.

Tasks take primary keys, are idempotent, call one service and are enqueued with
``transaction.on_commit`` when they follow a database change.
"""

from __future__ import annotations

from celery import shared_task

from board.tree import board_checkpoint, board_checkpoints_due
from board.verification import verify_chunk
from board.witnesses import board_witnesses_collect, board_witnesses_due, board_witnesses_sync


@shared_task(name="board.verify_chunk", acks_late=True, ignore_result=False)
def board_verify_chunk(election_id: str, seqs: list[int], check_proofs: bool) -> list:
    """Verify a range of board entries for ``manage.py verify_board --distributed``.

    Read-only and deterministic, so running it twice is harmless; it returns only public data
    (what the board entries already show, and partial encrypted sums).
    """
    return verify_chunk(election_id, seqs, check_proofs)


@shared_task(name="board.checkpoints", ignore_result=True)
def board_checkpoints() -> int:
    """Checkpoint every board that has entries beyond its latest checkpoint (Celery beat, every
    ``PNYX_CHECKPOINT_SECONDS``), then ask the witnesses of every board whose latest checkpoint
    they have not all cosigned. Idempotent: a board already checkpointed is skipped."""
    done = 0
    for election_id in board_checkpoints_due():
        board_checkpoint(election_id=election_id)
        board_witnesses_sync(election_id=election_id)
        done += 1
    for election_id in board_witnesses_due():
        board_witnesses_ask.delay(str(election_id))
    return done


@shared_task(name="board.witnesses", ignore_result=True, acks_late=True)
def board_witnesses_ask(election_id: str) -> int:
    """Ask the election's witnesses to cosign its latest checkpoint (idempotent: a witness that
    cosigned it already is not asked again; one being asked by another task is skipped)."""
    return board_witnesses_collect(election_id=election_id)
