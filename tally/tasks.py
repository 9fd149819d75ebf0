"""Celery tasks of the tally app.

Tasks take primary keys, are idempotent, call one service and are enqueued
with ``transaction.on_commit``.
"""

from celery import shared_task


@shared_task(name="tally.tasks.ping")
def ping() -> str:
    """Answer "pong": proves a worker consumes the queue (``/healthz?worker=1``, tests)."""
    return "pong"
