"""The Celery application: ``celery -A config worker``.

Connection settings come from Django settings (``CELERY_*``). The invariants
below are fixed here because task code relies on them: tasks are idempotent
and acknowledged only once done, so a worker that dies mid-task hands the task
to another worker instead of losing it; and messages are JSON, never pickle.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pnyx")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    broker_connection_retry_on_startup=True,
    # Nothing waits for a task's result except /healthz?worker=1 (tally.tasks.ping) and the
    # distributed board check (board.verify_chunk), which say so: sending any other task
    # never touches the result store (config/broker.py).
    task_ignore_result=True,
    worker_hijack_root_logger=False,  # keep the LOGGING configured in settings
    # Every queue the project uses. A worker started without -Q consumes all of
    # them; route long-running work with task_routes, e.g. tally -> "tally".
    task_default_queue="celery",
    task_queues=[Queue("celery", routing_key="celery"), Queue("tally", routing_key="tally")],
    # The tally's server-side tasks (aggregation chunks, publication, decryptions received,
    # result). A trustee's own steps (tally.trustee_step) go to its queue, trustee.<id>.
    task_routes={
        "tally.tasks.tally_*": {"queue": "tally"},
        "tally.tasks.trustee_message": {"queue": "tally"},
    },
)
app.autodiscover_tasks()


@app.on_after_finalize.connect
def periodic_tasks(sender: Celery, **kwargs) -> None:
    """Celery beat's schedule (``celery -A config beat``; ``make run`` runs it inside its worker):
    the sweeper that heals stalled tallies and key ceremonies and asks worker trustees to look at
    open elections (tally.services.heal), every ``PNYX_SWEEP_SECONDS``; the boards' checkpoints
    (board.tasks.board_checkpoints), every ``PNYX_CHECKPOINT_SECONDS``. A run that waited longer
    than its period in the queue is dropped: the next one does the same work."""
    from django.conf import settings

    every = settings.PNYX_SWEEP_SECONDS
    sender.add_periodic_task(
        every, sender.signature("tally.tasks.tally_sweep"), name="tally sweep", expires=every
    )
    every = settings.PNYX_CHECKPOINT_SECONDS
    sender.add_periodic_task(
        every, sender.signature("board.checkpoints"), name="board checkpoints", expires=every
    )
