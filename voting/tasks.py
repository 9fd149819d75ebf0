"""Celery tasks of the voting app.

Tasks take primary keys, are idempotent, call one service and are enqueued with
``transaction.on_commit`` when they follow a database change.
"""

from __future__ import annotations

from celery import shared_task

from voting.verification import verify_chunk


@shared_task(name="voting.board_verify_chunk", acks_late=True, ignore_result=False)
def board_verify_chunk(election_id: str, seqs: list[int], check_proofs: bool) -> list:
    """Verify a range of board entries for ``manage.py verify_board --distributed``.

    Read-only and deterministic, so running it twice is harmless; it returns only public data
    (what the board entries already show, and partial encrypted sums).
    """
    return verify_chunk(election_id, seqs, check_proofs)
