"""The process, its phases and record, the residents' roll import (admin), and the layering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from board.models import AppendOnlyViolation, RecordEntry, RecordLog
from board.records import record_lines
from crypto.record import RecordEntry as ChainEntry
from crypto.record import record_verify_chain
from participation.errors import AlreadyPublished, RollInvalid, WrongPhase
from participation.models import PHASES, Phase, Process, Resident
from participation.selectors import process_phase, process_timeline
from participation.services import process_publish, resident_roll_import
from tests.participation.conftest import phase_dates, process_make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("phase", PHASES)
def test_the_current_phase_follows_the_dates(phase) -> None:
    process = process_make(phase=phase, publish=False)
    now = timezone.now()
    assert process_phase(process, now) == phase
    timeline = process_timeline(process, now)
    assert [step.phase for step in timeline] == PHASES
    states = [step.state for step in timeline]
    assert states.count("current") == 1 and states[PHASES.index(phase)] == "current"
    assert all(s == "done" for s in states[: PHASES.index(phase)])
    # at the exact start of the next phase, that phase is current
    if phase != Phase.IMPLEMENTATION:
        following = PHASES[PHASES.index(phase) + 1]
        start = timeline[PHASES.index(following)].start
        assert process_phase(process, start) == following
        assert process_phase(process, start - timedelta(microseconds=1)) == phase


def test_phases_out_of_order_are_refused_by_the_database() -> None:
    dates = phase_dates(Phase.PROPOSALS)
    dates["review_start"], dates["supports_start"] = dates["supports_start"], dates["review_start"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Process.objects.create(slug="bad", title="Bad", max_cost=10, **dates)


def test_publishing_starts_the_record_with_the_process_entry() -> None:
    process = process_make()
    log = RecordLog.objects.get(pk=process.record_id)
    assert log.origin == f"process/{process.pk}" and log.seq == 0
    (line,) = list(record_lines(log_id=log.pk))
    entry = ChainEntry.from_line((line + "\n").encode())
    assert entry.kind == "process" and entry.log == str(log.pk)
    payload = entry.payload
    assert payload["uuid"] == str(log.pk) and payload["process"] == str(process.pk)
    assert payload["districts"] == [
        {"code": "north", "name": "North", "budget": 100_000},
        {"code": "south", "name": "South", "budget": 80_000},
    ]
    assert payload["categories"] == ["Parks", "Streets"]
    assert payload["limits"] == {"max_supports": 2, "support_threshold": 2, "max_cost": 50_000}
    assert set(payload["phases"]) == {p.value for p in PHASES[1:]}
    with pytest.raises(AlreadyPublished):
        process_publish(process=process)
    assert RecordEntry.objects.filter(log=log).count() == 1


def test_a_process_without_districts_is_not_published() -> None:
    process = Process.objects.create(
        slug="empty", title="Empty", max_cost=10, **phase_dates(Phase.INFORMATION)
    )
    with pytest.raises(WrongPhase):
        process_publish(process=process)
    process.refresh_from_db()
    assert not process.published and process.record_id is None
    assert not RecordLog.objects.exists()


def test_record_entries_are_append_only() -> None:
    process = process_make()
    entry = RecordEntry.objects.get(log_id=process.record_id)
    with pytest.raises(AppendOnlyViolation):
        entry.save()
    with pytest.raises(AppendOnlyViolation):
        RecordEntry.objects.filter(pk=entry.pk).update(kind="review")
    with pytest.raises(AppendOnlyViolation):
        entry.delete()
    # past the ORM, the database refuses too (PostgreSQL trigger)
    from django.db import DatabaseError, connection

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE board_recordentry SET kind = 'review'")


def test_a_tampered_record_fails_the_chain_check() -> None:
    process = process_make()
    entries = [
        ChainEntry.from_line((line + "\n").encode())
        for line in record_lines(log_id=process.record_id)
    ]
    assert list(record_verify_chain(entries)) == entries
    from dataclasses import replace

    from crypto.board import InvalidChain

    tampered = replace(entries[0], payload={**entries[0].payload, "title": "Other"})
    with pytest.raises(InvalidChain):
        list(record_verify_chain([tampered]))


# --- The residents' roll -------------------------------------------------------------------------


def _file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("roll.csv", text.encode("utf-8"), content_type="text/csv")


def test_roll_import_adds_every_resident(admin_client) -> None:
    process = process_make()
    before = Resident.objects.filter(process=process).count()
    response = admin_client.post(
        "/admin/participation/resident/import/",
        {
            "process": process.pk,
            "file": _file(
                "identifier,email,district\nn1,N1@Example.org,north\n\nn2,n2@example.org,south\n"
            ),
        },
    )
    assert response.status_code == 302
    residents = Resident.objects.filter(process=process)
    assert residents.count() == before + 2
    assert residents.get(identifier="n1").email == "n1@example.org"
    assert residents.get(identifier="n2").district.slug == "south"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("n1,n1@example.org,east\n", 1, "no district has the code 'east'"),
        ("n1,n1@example.org\n", 1, "expected 3 columns"),
        ("n1,not-an-address,north\n", 1, "is not a valid e-mail address"),
        ("n1,n1@example.org,north\nn1,n2@example.org,north\n", 2, "duplicate identifier"),
        ("n1,n1@example.org,north\nn2,N1@example.org,north\n", 2, "duplicate e-mail address"),
        ("n1,r0@example.org,north\n", 1, "already on the process's roll"),
        ("r0,n1@example.org,north\n", 1, "already on the process's roll"),
        ('n1,"n1@example.org,north\n', 1, "not a CSV line"),
        ("\n\n", 2, "lists no resident"),
    ],
)
def test_a_bad_roll_imports_nothing_and_says_why(admin_client, text, line, message) -> None:
    process = process_make()
    before = Resident.objects.filter(process=process).count()
    good = "ok1,ok1@example.org,north\n"
    response = admin_client.post(
        "/admin/participation/resident/import/",
        {"process": process.pk, "file": _file(text if "lists" in message else text + good)},
    )
    assert response.status_code == 400
    assert "<code>identifier,email,district</code>" in response.content.decode()
    report = response.context["report"]
    assert report["error_count"] == 1
    assert report["errors"][0]["line"] == line
    assert message in report["errors"][0]["message"]
    assert Resident.objects.filter(process=process).count() == before


def test_roll_import_service_rejects_non_utf8_and_imports_nothing() -> None:
    process = process_make()
    with pytest.raises(RollInvalid) as caught:
        resident_roll_import(
            process=process, lines=[b"n1,n1@example.org,north\n", b"\xff\xfe,x,north\n"]
        )
    assert caught.value.details["errors"] == [{"line": 2, "message": "not valid UTF-8 text"}]
    assert not Resident.objects.filter(process=process, identifier="n1").exists()


def test_the_roll_import_needs_an_official(client, django_user_model) -> None:
    process = process_make()
    user = django_user_model.objects.create_user("someone", is_staff=True)
    client.force_login(user)
    response = client.post(
        "/admin/participation/resident/import/",
        {"process": process.pk, "file": _file("n1,n1@example.org,north\n")},
    )
    assert response.status_code == 403
    assert not Resident.objects.filter(identifier="n1").exists()


def test_a_published_process_keeps_its_configuration(admin_client) -> None:
    process = process_make()
    page = admin_client.get(f"/admin/participation/process/{process.pk}/change/")
    assert page.status_code == 200
    assert b'name="max_cost"' not in page.content and b'name="title"' not in page.content
