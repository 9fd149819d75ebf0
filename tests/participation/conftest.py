"""Fixtures of the participation tests: a published process placed in a chosen phase, its
residents, and a logged-in resident's client (through the real e-mail code login)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from config.celery import app as celery_app
from participation.models import PHASE_STARTS, PHASES, Category, District, Phase, Process, Resident
from participation.services import process_publish

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _eager_tasks(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def phase_dates(phase: Phase, now=None) -> dict:
    """Start dates that put a process in ``phase`` now (a day into it)."""
    now = now or timezone.now()
    current = PHASES.index(phase)
    return {
        field: now + (PHASES.index(p) - current) * 2 * DAY - DAY
        for p, field in PHASE_STARTS.items()
    }


def phase_set(process: Process, phase: Phase) -> Process:
    """Move a process to ``phase`` (its dates; the record does not hold them to be checked)."""
    Process.objects.filter(pk=process.pk).update(**phase_dates(phase))
    process.refresh_from_db()
    return process


_counter = iter(range(1, 10**6))


def process_make(*, phase: Phase = Phase.PROPOSALS, publish: bool = True, **fields) -> Process:
    n = next(_counter)
    process = Process.objects.create(
        slug=f"budget-{n}",
        title=f"Budget {n}",
        description="Our city's participatory budget.",
        max_cost=fields.pop("max_cost", 50_000),
        max_supports=fields.pop("max_supports", 2),
        support_threshold=fields.pop("support_threshold", 2),
        **phase_dates(phase),
        **fields,
    )
    District.objects.create(process=process, slug="north", name="North", budget=100_000)
    District.objects.create(process=process, slug="south", name="South", budget=80_000)
    Category.objects.create(process=process, name="Parks")
    Category.objects.create(process=process, name="Streets")
    for i, district in enumerate(["north", "north", "north", "south"]):
        Resident.objects.create(
            process=process,
            district=process.districts.get(slug=district),
            identifier=f"r{i}",
            email=f"r{i}@example.org",
        )
    if publish:
        process = process_publish(process=process)
    return process


@pytest.fixture
def process(db) -> Process:
    return process_make()


def resident_of(process: Process, identifier: str) -> Resident:
    return Resident.objects.select_related("process", "district").get(
        process=process, identifier=identifier
    )


def login(client, process: Process, email: str, captured) -> None:
    """Log ``client`` in as the resident with ``email`` through the pages and a real e-mail."""
    with captured(execute=True):
        response = client.post(f"/p/{process.slug}/login", {"email": email})
    assert response.status_code == 302, response.content
    code = re.search(r"\n    (\d{8})\n", mail.outbox[-1].body).group(1)
    response = client.post(f"/p/{process.slug}/login/code", {"email": email, "code": code})
    assert response.status_code == 302, response.content


@pytest.fixture
def resident_client(client, process, django_capture_on_commit_callbacks):
    """A client logged in as resident r0 (district North)."""
    login(client, process, "r0@example.org", django_capture_on_commit_callbacks)
    return client
