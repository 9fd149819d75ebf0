"""Sending Celery tasks from a request: bounded in time, never waiting on the result store.

A request that sends a task (a voter asking for a login code, an official starting the
credentials or closing an election, a trustee's message that moves the ceremony on) must not hold
its web worker when the broker is down or restarting. Before issue 10, ``login_code_send.delay()``
with Redis down held a sync worker ≈ 19.5 s: Celery subscribed to the task's result in the Redis
result store first, retrying 20 × 1 s, although nobody ever read that result. Now:

- tasks ignore their results unless they say otherwise (``task_ignore_result``, config/celery.py:
  only ``tally.tasks.ping`` and ``board.verify_chunk`` are waited for), so sending a task
  never touches the result store;
- the broker's sockets have connect and command timeouts (``PNYX_BROKER_TIMEOUT_SECONDS``) and a
  publish is retried once, at once (``task_publish_retry_policy``), so a refused connection fails
  in milliseconds and a broker that does not answer in about twice the timeout;
- :func:`task_send` turns whatever the broker raised into :class:`BrokerUnavailable` and logs one
  line (no traceback): the caller decides what the client is told (identity: 503 with
  ``Retry-After`` to a voter asking for a login code; the tally: nothing, its sweeper sends the
  step again; credentials: the run is marked failed and the official told at once).

Casting a ballot sends no task at all (docs/faults.md).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.exceptions import KombuError
from redis.exceptions import RedisError

logger = logging.getLogger("pnyx.broker")

#: what a broker that is down, restarting or not answering raises through Celery and kombu
#: (kombu wraps the transport's connection errors in its own ``OperationalError``, a KombuError)
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuError, OSError, RedisError)


class BrokerUnavailable(Exception):
    """The broker refused or did not take a task in time; nothing was sent."""

    def __init__(self, task_name: str, cause: BaseException) -> None:
        self.task_name = task_name
        super().__init__(f"{task_name} not sent: {type(cause).__name__}: {cause}")


def task_send(task: Any, /, *args: Any, **kwargs: Any) -> None:
    """``task.delay(*args, **kwargs)`` within the broker's time bound, or
    :class:`BrokerUnavailable` (after one log line)."""
    task_apply(task, args=args, kwargs=kwargs)


def task_apply(task: Any, /, *, args: tuple = (), kwargs: dict | None = None, **options) -> None:
    """``task.apply_async(args, kwargs, **options)`` within the broker's time bound, or
    :class:`BrokerUnavailable` (after one log line)."""
    try:
        task.apply_async(args, kwargs, **options)
    except BROKER_ERRORS as exc:
        logger.warning(
            "broker unavailable: %s not sent (%s: %s)", task.name, type(exc).__name__, exc
        )
        raise BrokerUnavailable(task.name, exc) from exc
