"""A ``celery worker`` subprocess with its output in a log file, and a wait until it is ready.

One helper for everything that starts real workers of its own: the simulation
(operations/simulation.py), the tally benchmark (bench/tally.py) and the tests that kill or
restart workers (tests/tally/helpers.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class WorkerFailed(RuntimeError):
    """The worker exited, or was not ready in time; the message ends with its output."""


class CeleryWorkerProcess:
    """``python -m celery -A <app> worker --loglevel INFO <args>`` in its own process group (so
    that :meth:`kill` reaches its pool children too), output appended to ``log``."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict,
        log: Path,
        *,
        app: str = "config",
        cwd: Path = ROOT,
    ) -> None:
        self.log = Path(log)
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop() / kill()
        self.proc = subprocess.Popen(  # noqa: S603 - a fixed command line
            [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO", *args],
            cwd=cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker logs `` ready.``; :class:`WorkerFailed` if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WorkerFailed(f"the Celery worker exited:\n{self.tail()}")
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.05)
        raise WorkerFailed(f"the Celery worker was not ready after {timeout:.0f} s:\n{self.tail()}")

    def output(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")

    def tail(self, size: int = 3000) -> str:
        return self.log.read_bytes()[-size:].decode("utf-8", "replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (the main process and its pool children)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._out.close()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL if it takes longer than ``timeout``."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._out.close()
