"""The Celery app of the test's own worker processes: the project's app (``config.celery``) with

* ``PNYX_TEST_CHUNK_DELAY``: seconds each aggregation chunk sleeps once it has started, so that
  the test can kill the worker in the middle of one;
* ``PNYX_TEST_TRUSTEE_PAUSE``: a file name; the first trustee step that finds no such file
  creates it once the step is done (a decryption made and recorded in the key store), writes
  ``PNYX-TEST: step done, answer not sent`` to the log and sleeps 60 s before answering, so that
  the test can kill the trustee's worker between its step and its answer;
* ``PNYX_TEST_KEYPREFIX``: the broker key prefix of a pytest-xdist worker (tests/conftest.py).

A short visibility timeout comes from the project's own setting, ``PNYX_BROKER_VISIBILITY_TIMEOUT``.

``celery -A tests.tally.worker_app worker …``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from config.celery import app

if os.environ.get("PNYX_TEST_KEYPREFIX"):
    options = dict(app.conf.broker_transport_options or {})
    options["global_keyprefix"] = os.environ["PNYX_TEST_KEYPREFIX"]
    app.conf.broker_transport_options = options
    app.conf.result_backend_transport_options = {
        "global_keyprefix": os.environ["PNYX_TEST_KEYPREFIX"]
    }

_delay = float(os.environ.get("PNYX_TEST_CHUNK_DELAY") or 0)
if _delay:
    import django

    django.setup()
    from tally.services import tally as _service

    _aggregate_range = _service._aggregate_range

    def _slow_aggregate_range(*args, **kwargs):
        time.sleep(_delay)
        return _aggregate_range(*args, **kwargs)

    _service._aggregate_range = _slow_aggregate_range

_pause = os.environ.get("PNYX_TEST_TRUSTEE_PAUSE")
if _pause:
    from tally import trustee_worker as _worker

    _act = _worker.act

    def _act_then_pause(*args, **kwargs):
        answer = _act(*args, **kwargs)
        marker = Path(_pause)
        if not marker.exists():
            marker.write_text("paused\n")
            print("PNYX-TEST: step done, answer not sent", file=sys.stderr, flush=True)
            time.sleep(60)
        return answer

    _worker.act = _act_then_pause

__all__ = ["app"]
