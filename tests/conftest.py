"""Project-wide pytest fixtures.

``make test`` runs the suite against real services: PostgreSQL, Redis and the
system Chromium. It sets ``PNYX_REQUIRE_SERVICES=1``, and then a missing
service fails the run at once instead of letting tests skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.test import override_settings

from config.celery import app as celery_app

# Playwright's sync API runs an event loop in the test thread; Django would
# otherwise refuse ORM calls made from browser tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("PNYX_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_configure(config: pytest.Config) -> None:
    # Templates are rendered without `collectstatic`: use the plain storage
    # instead of the manifest one production uses. And the suite declares itself
    # (PNYX_TEST_SUITE, config/email.py): Django's test set-up keeps every e-mail in
    # memory (locmem), which an instance that is not a demo refuses to do.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PNYX_TEST_SUITE=True,
    ).enable()
    # WhiteNoise warns when STATIC_ROOT is missing, as it is before collectstatic.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

    _flush_past_append_only_triggers()

    # Under pytest-xdist every worker has its own test database, so it must
    # also have its own Celery queues and results, or one worker's Celery
    # thread would run tasks against another worker's database.
    xdist_worker = os.environ.get("PYTEST_XDIST_WORKER")
    if xdist_worker and celery_app.conf.broker_url.startswith("redis"):
        prefix = {"global_keyprefix": f"pnyx-test-{xdist_worker}:"}
        options = dict(celery_app.conf.broker_transport_options or {})
        celery_app.conf.broker_transport_options = {**options, **prefix}
        celery_app.conf.result_backend_transport_options = prefix


def _flush_past_append_only_triggers() -> None:
    """Let Django empty the test database after a transactional test.

    The board and ballot tables refuse TRUNCATE (voting migration 0007), and Django empties the
    database after each ``transaction=True`` test with one TRUNCATE. That statement alone runs in
    a replica session (``SET LOCAL session_replication_role = replica``, for the flush's own
    transaction), for which ordinary triggers do not fire. It needs a superuser, which the test
    database's role is (``make test``: postgres); no other statement of the suite gets past the
    triggers, and production never runs ``flush``.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = truncate(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica", *statements]

    DatabaseOperations.sql_flush = sql_flush


def _postgresql_problem() -> str | None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return f"DATABASE_URL must point at PostgreSQL; the engine is {db['ENGINE']}"
    try:
        # The maintenance database: the test database may not exist yet.
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is unreachable: {exc}"
    return None


def _redis_problem() -> str | None:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at REDIS_URL is unreachable: {exc}"
    return None


@pytest.fixture(scope="session", autouse=True)
def _required_services() -> None:
    """With PNYX_REQUIRE_SERVICES=1, fail every test unless PostgreSQL and Redis answer."""
    if not REQUIRE_SERVICES:
        return
    problems = [p for p in (_postgresql_problem(), _redis_problem()) if p]
    if problems:
        pytest.fail(
            "PNYX_REQUIRE_SERVICES=1 but a required service is missing:\n  - "
            + "\n  - ".join(problems)
            + "\nStart them (make test does) or unset PNYX_REQUIRE_SERVICES.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def celery_worker_real(django_db_setup: None) -> Iterator[object]:
    """A real Celery worker consuming every project queue through the real broker.

    The worker runs in a thread of the test process (``start_worker``, solo
    pool), talks to the broker at ``CELERY_BROKER_URL`` (Redis under
    ``make test``) and stores results in the result backend, so
    ``task.delay().get(timeout=...)`` makes a full round trip.

    Tasks that touch the database run in the worker thread on their own
    connection: they see only committed data. A test whose tasks read or
    write the database must therefore use ``@pytest.mark.django_db(transaction=True)``
    (and enqueue with ``transaction.on_commit`` as production code does).
    """
    from celery.contrib.testing.worker import start_worker

    if not REQUIRE_SERVICES and celery_app.conf.broker_url.startswith("redis"):
        problem = _redis_problem()
        if problem:
            pytest.skip(f"{problem} (make test starts Redis)")

    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Drive Debian's Chromium (``make browser`` installs it), never a downloaded one."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM}
