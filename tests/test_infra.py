"""The services the suite runs against, and the project's plumbing endpoints."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection

from config.celery import app as celery_app
from tally.tasks import ping

REQUIRE_SERVICES = os.environ.get("PNYX_REQUIRE_SERVICES") == "1"


@pytest.mark.skipif(
    not REQUIRE_SERVICES, reason="checks the make test set-up (PNYX_REQUIRE_SERVICES=1)"
)
@pytest.mark.django_db
def test_test_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["NAME"].startswith("test_")


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert body["checks"]["database"] == {"ok": True, "vendor": connection.vendor}
    assert set(body["checks"]) == {"database", "broker"}
    assert response["Cache-Control"].startswith("max-age=0")
    if REQUIRE_SERVICES:
        assert response.status_code == 200
        assert body == {
            "status": "ok",
            "checks": {
                "database": {"ok": True, "vendor": "postgresql"},
                "broker": {"ok": True, "transport": "redis"},
            },
        }


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch) -> None:
    closed = "redis://127.0.0.1:1/0"
    # Celery reads CELERY_BROKER_URL from the environment before its settings.
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    monkeypatch.setitem(celery_app.conf, "broker_url", closed)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"ok": False}
    assert "127.0.0.1:1" not in response.content.decode()


HEALTH_TOKEN = "monitor-" + "x" * 40


@pytest.mark.django_db
def test_healthz_worker_check_reaches_a_real_worker(client, celery_worker_real, settings) -> None:
    settings.PNYX_HEALTH_TOKEN = HEALTH_TOKEN
    response = client.get("/healthz?worker=1", HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True}


@pytest.mark.django_db
def test_an_official_may_ask_for_the_worker_check(client, celery_worker_real) -> None:
    official = User.objects.create_user("official", is_staff=True)
    client.force_login(official)
    response = client.get("/healthz?worker=1")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who",
    ["anonymous", "wrong token", "token without scheme", "no token configured", "voter-like user"],
)
def test_the_worker_check_is_refused_to_everyone_else(client, settings, who) -> None:
    """It enqueues a task and holds a web worker for seconds: 403 before any check runs."""
    settings.PNYX_HEALTH_TOKEN = "" if who == "no token configured" else HEALTH_TOKEN
    headers = {
        "wrong token": {"HTTP_AUTHORIZATION": "Bearer " + HEALTH_TOKEN[:-1] + "y"},
        "token without scheme": {"HTTP_AUTHORIZATION": HEALTH_TOKEN},
        "no token configured": {"HTTP_AUTHORIZATION": "Bearer "},
    }.get(who, {})
    if who == "voter-like user":  # logged in, but not an official
        client.force_login(User.objects.create_user("someone"))
    response = client.get("/healthz?worker=1", **headers)
    assert response.status_code == 403
    body = response.json()
    assert body["error"]["code"] == "forbidden" and "checks" not in body
    assert HEALTH_TOKEN not in response.content.decode()
    # the public check stays public
    assert set(client.get("/healthz").json()["checks"]) == {"database", "broker"}


def test_celery_round_trip_through_a_real_worker(celery_worker_real) -> None:
    assert ping.delay().get(timeout=30) == "pong"


def test_openapi_schema_is_served(client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Pnyx API"


def test_api_docs_page_has_no_inline_code(client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert "<style" not in html and "cdn" not in html.lower()
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]

    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
