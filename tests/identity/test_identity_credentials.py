"""The credential authority: codes only in e-mails (or the offline private file), public keys
on the board in an order unlinkable to the roll, nothing secret stored or logged."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import smtplib
import stat
import time

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from board.models import BoardEntry
from crypto.credentials import derive_signing_key, format_code, normalize_code
from crypto.hashing import parse_json
from crypto.manifest import Credential, credentials_digest
from identity.errors import (
    CredentialIssuanceInProgress,
    CredentialsAlreadyPublished,
    CredentialsInvalid,
    NoVoters,
)
from identity.models import CredentialIssuance, IssuanceStatus, PublicCredential
from identity.services.credentials import (
    RollEntry,
    credentials_generate,
    credentials_issue_request,
    credentials_issue_run,
    credentials_publish_file,
    public_credentials_file,
)
from identity.services.voters import voter_roll_import
from tests.voting.factories import make_election

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}\b")
ROLL = "identifier,email,weight\nann,ann@example.org,1\nbob,bob@example.org,2\ncy,cy@example.org,1\ndi,di@example.org,3\n"


def election_with_roll(roll: str = ROLL):
    election = make_election()
    voter_roll_import(election=election, lines=io.BytesIO(roll.encode()), acting_user=None)
    return election


def database_text() -> str:
    """Every row of every table, as text (to look for secrets in)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


def codes_in(text: str) -> list[str]:
    return CODE.findall(text)


def test_issue_emails_each_voter_and_publishes_only_public_keys(
    caplog, django_capture_on_commit_callbacks
) -> None:
    election = election_with_roll()
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks() as callbacks:
        issuance = credentials_issue_request(election=election, acting_user=None)
    assert len(callbacks) == 1  # the Celery task, enqueued after commit (with the run's id only)

    credentials_issue_run(issuance_id=issuance.pk)

    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.PUBLISHED and issuance.emails_sent == 4
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
        "di@example.org",
    ]
    codes = {}
    for message in mail.outbox:
        (code,) = set(codes_in(message.body))
        assert f"/e/{election.slug}/vote#credential={code}" in message.body
        codes[message.to[0]] = code
    weights = {"ann@example.org": 1, "bob@example.org": 2, "cy@example.org": 1, "di@example.org": 3}
    expected = sorted(
        (
            Credential(derive_signing_key(code, str(election.pk)).public, weights[email])
            for email, code in codes.items()
        ),
        key=lambda c: c.public_key.to_hex(),
    )

    entry = parse_json(BoardEntry.objects.get(election=election, kind="credentials").line)
    assert entry["payload"] == {
        "part": 0,
        "parts": 1,
        "credentials": [c.to_json() for c in expected],
        "digest": credentials_digest(expected),
        "count": 4,
        "total_weight": 7,
    }
    election.refresh_from_db()
    assert election.credentials_digest == credentials_digest(expected)
    assert sorted(PublicCredential.objects.values_list("public_key", "weight")) == sorted(
        (c.public_key.to_hex(), c.weight) for c in expected
    )

    # No secret anywhere on the server: not in any table, not in the logs.
    stored, logged = database_text(), caplog.text
    for code in codes.values():
        for form in (code, normalize_code(code)):
            assert form not in stored
            assert form not in logged

    # Running the task again (a redelivery) changes nothing.
    credentials_issue_run(issuance_id=issuance.pk)
    assert len(mail.outbox) == 4


def test_credential_emails_are_in_the_language_the_official_worked_in() -> None:
    election = election_with_roll()
    with translation.override("es"):
        issuance = credentials_issue_request(election=election, acting_user=None)
    assert issuance.language == "es"
    credentials_issue_run(issuance_id=issuance.pk)  # the worker: no language of its own
    bodies = {m.to[0]: m for m in mail.outbox}
    assert len(bodies) == 4
    for message in bodies.values():
        assert message.subject == f"Su credencial de votación: {election.title}"
        assert "Su credencial de votación es:" in message.body
        assert "La votación se abre el" in message.body
    assert "(su voto cuenta 2 veces)" in bodies["bob@example.org"].body
    assert "su voto cuenta" not in bodies["ann@example.org"].body


def test_credential_emails_default_to_english_outside_a_request() -> None:
    election = election_with_roll()
    with translation.override(None):  # e.g. manage.py
        issuance = credentials_issue_request(election=election, acting_user=None)
    assert issuance.language == "en"
    credentials_issue_run(issuance_id=issuance.pk)
    assert mail.outbox[0].subject == f"Your voting credential: {election.title}"
    assert "Your voting credential is:" in mail.outbox[0].body


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the relay went away")


def test_a_sending_failure_publishes_nothing_and_can_be_retried(settings) -> None:
    election = election_with_roll()
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    issuance = credentials_issue_request(election=election, acting_user=None)
    credentials_issue_run(issuance_id=issuance.pk)
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.FAILED
    assert issuance.error == "SMTPServerDisconnected"
    assert not PublicCredential.objects.filter(election=election).exists()
    assert not BoardEntry.objects.filter(election=election, kind="credentials").exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retry = credentials_issue_request(election=election, acting_user=None)
    credentials_issue_run(issuance_id=retry.pk)
    retry.refresh_from_db()
    assert retry.status == IssuanceStatus.PUBLISHED
    assert "replaces" in mail.outbox[0].body


def test_issue_guards() -> None:
    with pytest.raises(NoVoters):
        credentials_issue_request(election=make_election(), acting_user=None)
    election = election_with_roll()
    credentials_issue_request(election=election, acting_user=None)
    with pytest.raises(CredentialIssuanceInProgress):
        credentials_issue_request(election=election, acting_user=None)
    credentials_issue_run(issuance_id=CredentialIssuance.objects.get(election=election).pk)
    with pytest.raises(CredentialsAlreadyPublished):
        credentials_issue_request(election=election, acting_user=None)


@pytest.mark.django_db(transaction=True)
def test_issue_through_a_real_celery_worker(celery_worker_real) -> None:
    election = election_with_roll()
    issuance = credentials_issue_request(election=election, acting_user=None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        issuance.refresh_from_db()
        if issuance.status in (IssuanceStatus.PUBLISHED, IssuanceStatus.FAILED):
            break
        time.sleep(0.1)
    assert issuance.status == IssuanceStatus.PUBLISHED, issuance.error
    assert PublicCredential.objects.filter(election=election).count() == 4


# --- The offline authority ---------------------------------------------------------------------


def _public_file(election, weights=(1, 2, 1, 3)) -> dict:
    roll = [RollEntry(f"v{i}", f"v{i}@example.org", w) for i, w in enumerate(weights)]
    _, public = credentials_generate(election_uuid=str(election.pk), roll=roll)
    return public_credentials_file(election_uuid=str(election.pk), credentials=public)


def test_upload_checks_the_public_file() -> None:
    election = election_with_roll()
    good = _public_file(election)
    bad_files = {
        "digest": {**good, "digest": "0" * 64},
        "count": {**good, "count": 3},
        "order": {**good, "credentials": list(reversed(good["credentials"]))},
        "other election": _public_file(make_election()),
        "weights": _public_file(election, weights=(1, 1, 1, 4)),
        "too few": _public_file(election, weights=(1, 2, 1)),
        "not a point": {
            **good,
            "credentials": [
                {"public_key": "04" + "00" * 64, "weight": 1},
                *good["credentials"][1:],
            ],
        },
    }
    for name, data in bad_files.items():
        with pytest.raises(CredentialsInvalid):
            credentials_publish_file(election=election, data=json.dumps(data), acting_user=None)
        assert not PublicCredential.objects.filter(election=election).exists(), name
    credentials_publish_file(election=election, data=json.dumps(good), acting_user=None)
    assert PublicCredential.objects.filter(election=election).count() == 4


def test_offline_generate_then_upload(tmp_path, django_assert_num_queries) -> None:
    election = election_with_roll()
    roll = tmp_path / "roll.csv"
    roll.write_text(ROLL)
    private, public = tmp_path / "codes.csv", tmp_path / "public.json"
    out = io.StringIO()
    with django_assert_num_queries(0):  # no database with --election-uuid
        call_command(
            "credentials",
            "generate",
            "--election-uuid",
            str(election.pk),
            "--slug",
            election.slug,
            "--roll",
            str(roll),
            "--private-out",
            str(private),
            "--public-out",
            str(public),
            stdout=out,
        )
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    rows = list(csv.DictReader(private.open()))
    assert [r["identifier"] for r in rows] == ["ann", "bob", "cy", "di"]
    published = json.loads(public.read_text())
    keys = {derive_signing_key(r["credential"], str(election.pk)).public.to_hex() for r in rows}
    assert {c["public_key"] for c in published["credentials"]} == keys
    assert rows[0]["booth_url"].endswith(
        f"/e/{election.slug}/vote#credential={rows[0]['credential']}"
    )
    assert format_code(rows[0]["credential"]) == rows[0]["credential"]

    with pytest.raises(CommandError, match="exists"):
        call_command(
            "credentials",
            "generate",
            "--election",
            election.slug,
            "--roll",
            str(roll),
            "--private-out",
            str(private),
            "--public-out",
            str(public),
        )

    call_command("credentials", "upload", "--election", election.slug, str(public), stdout=out)
    election.refresh_from_db()
    assert election.credentials_digest == published["digest"]
    with pytest.raises(CommandError, match="already published"):
        call_command("credentials", "upload", "--election", str(election.pk), str(public))


def test_offline_generate_reports_a_bad_roll(tmp_path) -> None:
    roll = tmp_path / "roll.csv"
    roll.write_text("a,a@example.org\nb,nope\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command(
            "credentials",
            "generate",
            "--election-uuid",
            "6f1c8a52-5d3c-4a53-9a9e-1c0a4a1b2c3d",
            "--roll",
            str(roll),
            "--private-out",
            str(tmp_path / "c.csv"),
            "--public-out",
            str(tmp_path / "p.json"),
            stderr=err,
        )
    assert "roll.csv:2:" in err.getvalue()
    assert not (tmp_path / "c.csv").exists()
