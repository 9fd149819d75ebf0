"""The Celery app of the test's own worker processes: the project's app (``config.celery``) with

* ``PNYX_TEST_VISIBILITY_TIMEOUT``: a short Redis visibility timeout and restore interval, so that
  the task a killed worker had taken (unacknowledged: acks_late) is delivered again within seconds
  instead of an hour;
* ``PNYX_TEST_CHUNK_DELAY``: seconds each aggregation chunk sleeps once it has started, so that
  the test can kill the worker in the middle of one;
* ``PNYX_TEST_KEYPREFIX``: the broker key prefix of a pytest-xdist worker (tests/conftest.py).

``celery -A tests.tally.worker_app worker …``
"""

from __future__ import annotations

import os
import time

from config.celery import app

options = dict(app.conf.broker_transport_options or {})
if os.environ.get("PNYX_TEST_VISIBILITY_TIMEOUT"):
    options.update(
        visibility_timeout=float(os.environ["PNYX_TEST_VISIBILITY_TIMEOUT"]),
        unacked_restore_interval=1,
        unacked_restore_throttle=1,
    )
if os.environ.get("PNYX_TEST_KEYPREFIX"):
    options["global_keyprefix"] = os.environ["PNYX_TEST_KEYPREFIX"]
    app.conf.result_backend_transport_options = {
        "global_keyprefix": os.environ["PNYX_TEST_KEYPREFIX"]
    }
app.conf.broker_transport_options = options

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

__all__ = ["app"]
