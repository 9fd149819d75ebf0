"""Fault injection for the tally tests: a private Redis the test may kill and restart, the test
process's Celery producer pointed at it, and the server's workers as real ``celery`` processes
(with Celery beat, i.e. the sweeper) on that broker.

The machine's shared Redis (127.0.0.1:6379) and PostgreSQL are never stopped: other tests and
other people use them. Each test starts its own ``redis-server`` on a free port, in its temporary
directory, without persistence (``--save "" --appendonly no``): a restart loses every queued
message, as a Redis without persistence (or a failover to an empty replica) does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from config.celery import app as celery_app
from tests.faults.proxy import free_port
from tests.tally.helpers import WorkerProcess, worker_env

#: the sweeper's settings in the fault tests: a step that has not moved for 3 s is stalled, and
#: the sweeper runs every second
STALL_SECONDS = 3
SWEEP_SECONDS = 1


class RedisServer:
    """A ``redis-server`` of the test's own, on a free port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited: {self.log()[-2000:]}")
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer: {self.log()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: everything it held (queued tasks, unacknowledged ones, results) is gone."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def queue_length(self, queue: str) -> int:
        return self.client().llen(queue)

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _producer_broker(url: str, options: dict) -> None:
    """Point the test process's Celery producer (the tasks services send after commit, the
    sweeper's queue lengths) at ``url``: the write URL only, so that a worker running in this
    process (``celery_worker_real``) keeps consuming its own broker. The result backend stays
    where it is: nothing here waits for a result. The connection pools are only dropped, never
    closed: kombu keeps one per URL, and the shared broker's is used again afterwards."""
    celery_app.conf.broker_write_url = url
    celery_app.conf.broker_transport_options = options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def private_broker(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    conf = celery_app.conf
    previous = conf.broker_write_url, conf.broker_transport_options
    # a broker of its own: no pytest-xdist key prefix
    options = {k: v for k, v in (previous[1] or {}).items() if k != "global_keyprefix"}
    _producer_broker(server.url, options)
    try:
        yield server
    finally:
        _producer_broker(*previous)
        server.kill()


def fault_env(broker: RedisServer, **extra: str) -> dict:
    """A worker process's environment on the private broker, with the sweeper's fault-test
    settings (the visibility timeout stays an hour: a task held by a killed worker is not
    delivered again during the test, so only the sweeper can heal it)."""
    env = worker_env(
        CELERY_BROKER_URL=broker.url,
        CELERY_RESULT_BACKEND=broker.url,
        REDIS_URL=broker.url,
        PNYX_STALL_SECONDS=str(STALL_SECONDS),
        PNYX_SWEEP_SECONDS=str(SWEEP_SECONDS),
        PNYX_BROKER_VISIBILITY_TIMEOUT="3600",
        **extra,
    )
    env.pop("PNYX_TEST_KEYPREFIX", None)  # a broker of its own
    return env


def server_worker(
    tmp: Path, broker: RedisServer, name: str, *, beat: bool, **extra: str
) -> WorkerProcess:
    """The server's worker (``-Q tally,celery``), with Celery beat inside it if ``beat``."""
    args = ["-Q", "tally,celery", "--pool", "solo", "--without-mingle", "--without-gossip"]
    args += ["--hostname", f"{name}@%h"]
    if beat:
        args += ["-B", "--schedule", str(tmp / f"beat-{name}")]
    return WorkerProcess(
        args,
        fault_env(broker, **extra),
        tmp / f"{name}.log",
        app="tests.tally.worker_app",
    )
