"""Gunicorn hooks of the fault tests' web servers (``--config python:tests.faults.gunicorn_hooks``,
tests/faults/kit.py): a worker logs when it has loaded the application and takes requests, so
that a test or bench/faults.py can time how long a killed worker's replacement took to serve."""

from __future__ import annotations

READY = "worker ready (pid: {pid})"


def post_worker_init(worker) -> None:
    worker.log.info(READY.format(pid=worker.pid))
