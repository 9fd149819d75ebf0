"""``GET /healthz``: is this instance able to serve?

Checks the database and the Celery broker; with ``?worker=1`` it also sends
``tally.tasks.ping`` through the broker and waits briefly for a worker to
answer. Answers 200 when every check passed, 503 (with ``Retry-After``) otherwise, and logs
one line per failed check. The body names what failed, never connection strings or error text.

The worker check enqueues a task and holds a web worker for up to 5 s, so it is
not for everyone: only an official logged in to the admin, or a monitor that
sends ``Authorization: Bearer <PNYX_HEALTH_TOKEN>``, may ask for it (403
otherwise).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.contrib import admin
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from config.api_errors import error_body
from config.celery import app as celery_app

logger = logging.getLogger("pnyx.health")

BROKER_TIMEOUT_SECONDS = 2.0
WORKER_TIMEOUT_SECONDS = 5.0


def health_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health check: database unreachable (%s)", type(exc).__name__)
        return {"ok": False}
    return {"ok": True, "vendor": connection.vendor}


def health_broker() -> dict[str, Any]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
            transport = conn.transport.driver_type
    except (OSError, KombuError, OperationalError, RedisError) as exc:
        logger.warning("health check: broker unreachable (%s)", type(exc).__name__)
        return {"ok": False}
    return {"ok": True, "transport": transport}


def health_worker() -> dict[str, Any]:
    from tally.tasks import ping

    try:
        result = ping.apply_async(expires=WORKER_TIMEOUT_SECONDS)
        answer = result.get(timeout=WORKER_TIMEOUT_SECONDS)
    except CeleryTimeoutError:
        return {"ok": False}
    except (OSError, KombuError, OperationalError, RedisError, RuntimeError) as exc:
        # RuntimeError: Celery's result store gave up reconnecting
        logger.warning("health check: cannot reach a worker (%s)", type(exc).__name__)
        return {"ok": False}
    return {"ok": answer == "pong"}


def health_worker_allowed(request: HttpRequest) -> bool:
    """An official the admin lets in, or the monitoring token (compared in constant time)."""
    token = settings.PNYX_HEALTH_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and given:
        if hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return admin.site.has_permission(request)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    worker = request.GET.get("worker") == "1"
    if worker and not health_worker_allowed(request):
        return JsonResponse(
            error_body(
                code="forbidden",
                message="The worker check is for officials and for the monitoring token "
                "(Authorization: Bearer …); /healthz without ?worker=1 is public.",
            ),
            status=403,
        )
    checks = {"database": health_database(), "broker": health_broker()}
    if worker and checks["broker"]["ok"]:
        checks["worker"] = health_worker()
    ok = all(check["ok"] for check in checks.values())
    response = JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
    if not ok:
        response["Retry-After"] = str(settings.PNYX_RETRY_AFTER_SECONDS)
        response._has_been_logged = True  # the failed check logged its one line
    return response
