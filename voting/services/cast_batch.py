"""A per-process leader/follower batcher: ballots that arrive together are handled together.

Under gunicorn's gthread workers every request has its own thread. A thread that submits a job
while no batch is being gathered becomes the **leader**: it waits a few milliseconds (``window``)
for other jobs, or until ``max_batch`` are queued, takes them, runs ``process`` on the whole
batch in its own thread (one batch verification, one transaction) and then wakes the threads
whose jobs it handled (the **followers**), each of which returns its own outcome. Jobs that
arrive while a batch is being processed queue up; when the leader is done it hands the lead to
the oldest of them, which takes everything queued at once, so under load the batches grow by
themselves and, with no load, a lone job costs only the window.

``process`` sets every job's outcome (a result or an exception) before it returns, and the
followers are woken only after it returned: a job is never answered before ``process`` has
committed what it does. If ``process`` itself fails, every job of the batch gets that error.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any


class BatchJob:
    """One request's work, its outcome, and the event its thread waits on."""

    __slots__ = ("payload", "result", "error", "_done", "_event", "_lead")

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.result: Any = None
        self.error: BaseException | None = None
        self._done = False
        self._event = threading.Event()
        self._lead = False

    def succeed(self, result: Any) -> None:
        self.result, self._done = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self._done = error, True

    @property
    def done(self) -> bool:
        return self._done

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class LeaderFollowerBatcher:
    def __init__(
        self,
        process: Callable[[Sequence[BatchJob]], None],
        *,
        max_batch: int = 64,
        window: float = 0.002,
    ) -> None:
        if max_batch < 1 or window < 0:
            raise ValueError("max_batch ≥ 1 and window ≥ 0")
        self._process = process
        self.max_batch = max_batch
        self.window = window
        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[BatchJob] = deque()
        self._leading = False
        self._in_flight = 0
        #: sizes of the batches processed (the last 1,000), for tests and benchmarks
        self.sizes: deque[int] = deque(maxlen=1000)

    def submit(self, payload: Any) -> Any:
        """Queue ``payload``, wait until its batch is processed; return its result or raise its
        error."""
        job = BatchJob(payload)
        with self._cond:
            self._in_flight += 1
            self._pending.append(job)
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                self._cond.notify_all()  # a leader gathering may have enough now
        try:
            if not lead:
                job._event.wait()
            if lead or job._lead:
                self._lead_one_batch(job)
            return job.outcome()
        finally:
            with self._cond:
                self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Jobs submitted and not answered yet (queued, or in a batch being processed)."""
        with self._cond:
            return self._in_flight

    def _lead_one_batch(self, job: BatchJob) -> None:
        with self._cond:
            if not job._lead and self.window:  # a fresh leader gathers; a handed lead does not
                deadline = time.monotonic() + self.window
                while len(self._pending) < self.max_batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            count = min(len(self._pending), self.max_batch)
            batch = [self._pending.popleft() for _ in range(count)]
        # The leader's own job is first: it was alone when it took the lead, or the oldest queued
        # when the lead was handed to it.
        try:
            self._process(batch)
        except BaseException as exc:  # noqa: BLE001 - every job of the batch gets the error
            for item in batch:
                if not item.done:
                    item.fail(exc)
        finally:
            self.sizes.append(len(batch))
            for item in batch:
                if not item.done:  # pragma: no cover - process must set every outcome
                    item.fail(RuntimeError("the batch left this job without an outcome"))
            with self._cond:
                if self._pending:
                    successor = self._pending[0]
                    successor._lead = True
                    successor._event.set()
                else:
                    self._leading = False
            for item in batch:
                if item is not job:
                    item._lead = False
                    item._event.set()
