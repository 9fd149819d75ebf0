"""Celery tasks of the identity app (none yet).

Tasks take primary keys, are idempotent, call one service and are enqueued
with ``transaction.on_commit``.
"""
