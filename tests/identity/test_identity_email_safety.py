"""Credentials, login codes and enrolment tokens never stay on the server outside a demo.

The file, console and locmem e-mail backends keep messages on this machine. An instance that is
neither a demo (PNYX_DEMO=1, make run) nor the test suite (PNYX_TEST_SUITE, set only by
tests/conftest.py) fails the system check pnyx.E001, and its sending code refuses too: both
sides tested here, with the real services and the real ``manage.py check``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.email import LocalEmailRefused, email_backend_is_local
from identity.models import CredentialIssuance, LoginCode
from identity.services.credentials import credentials_issue_request, credentials_issue_run
from identity.services.login import login_code_send
from identity.services.voters import voter_roll_import
from tally.models import Trustee
from tally.services.ceremony import ceremony_configure, ceremony_invite
from tests.voting.factories import make_election

ROOT = Path(__file__).resolve().parent.parent.parent
BACKENDS = {
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}


def e001(**kwargs) -> list:
    return [m for m in run_checks(**kwargs) if m.id == "pnyx.E001"]


def test_the_suite_declares_itself_and_uses_locmem(settings) -> None:
    """Declared in tests/conftest.py, not guessed from sys.argv."""
    assert settings.PNYX_TEST_SUITE is True and settings.PNYX_DEMO is False
    assert settings.EMAIL_BACKEND == BACKENDS["locmem"]
    assert e001() == []


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_local_backend_fails_the_check_outside_a_demo(settings, backend) -> None:
    settings.PNYX_TEST_SUITE = False
    settings.EMAIL_BACKEND = BACKENDS[backend]
    (error,) = e001()
    assert BACKENDS[backend] in error.msg and "PNYX_DEMO=1" in error.msg + error.hint
    with pytest.raises(SystemCheckError, match="pnyx.E001"):
        call_command("check")
    settings.PNYX_DEMO = True
    assert e001() == []


def test_smtp_and_custom_backends_pass(settings) -> None:
    settings.PNYX_TEST_SUITE = False
    for backend in (
        "django.core.mail.backends.smtp.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        f"{__name__}.NoSuchBackend",  # Django itself reports it when used
    ):
        settings.EMAIL_BACKEND = backend
        assert e001() == [], backend
    assert email_backend_is_local(f"{__name__}.LocmemSubclass")


class LocmemSubclass(mail.backends.locmem.EmailBackend):
    """A backend built on a local one keeps the messages here too."""


@pytest.fixture
def production_like(settings):
    """Neither a demo nor the test suite, with Django's test backend (locmem) still in place."""
    settings.PNYX_TEST_SUITE = False
    settings.PNYX_DEMO = False
    assert settings.EMAIL_BACKEND == BACKENDS["locmem"]
    return settings


@pytest.mark.django_db
def test_the_login_code_is_not_sent(production_like, open_election) -> None:
    with pytest.raises(LocalEmailRefused, match="keeps voters' credentials, login codes"):
        login_code_send(election_id=open_election.election.pk, identifier="voter0", email=None)
    with pytest.raises(LocalEmailRefused):  # the same for someone not on the roll
        login_code_send(election_id=open_election.election.pk, identifier="nobody", email=None)
    assert mail.outbox == [] and not LoginCode.objects.exists()

    production_like.PNYX_DEMO = True  # the other side: a demo sends it
    assert login_code_send(election_id=open_election.election.pk, identifier="voter0", email=None)
    assert len(mail.outbox) == 1 and LoginCode.objects.count() == 1


@pytest.mark.django_db
def test_credentials_are_not_issued(production_like) -> None:
    election = make_election()
    roll = io.BytesIO(b"ann,ann@example.org\nbob,bob@example.org\n")
    voter_roll_import(election=election, lines=roll, acting_user=None)
    with pytest.raises(LocalEmailRefused) as refused:
        credentials_issue_request(election=election, acting_user=None)
    assert refused.value.code == "email_backend_local" and refused.value.status == 503
    assert not CredentialIssuance.objects.exists() and mail.outbox == []

    production_like.PNYX_DEMO = True
    assert credentials_issue_request(election=election, acting_user=None).pk


@pytest.mark.django_db
def test_the_credential_run_refuses_too(production_like, django_capture_on_commit_callbacks):
    """A run requested under a demo configuration, executed by a worker that is not one."""
    election = make_election()
    roll = io.BytesIO(b"ann,ann@example.org\n")
    voter_roll_import(election=election, lines=roll, acting_user=None)
    production_like.PNYX_DEMO = True
    issuance = credentials_issue_request(election=election, acting_user=None)
    production_like.PNYX_DEMO = False
    issuance = credentials_issue_run(issuance_id=issuance.pk)
    assert issuance.status == "failed" and "keeps voters' credentials" in issuance.error
    assert mail.outbox == []


@pytest.mark.django_db
def test_enrolment_tokens_are_not_sent(production_like) -> None:
    election = make_election()
    ceremony_configure(
        election=election,
        threshold=1,
        trustees=[{"name": "Ada", "email": "ada@example.org", "mode": "offline"}],
        acting_user=None,
    )
    with pytest.raises(LocalEmailRefused):
        ceremony_invite(election=election, acting_user=None)
    assert mail.outbox == []
    assert Trustee.objects.get().enrolment_token_hash == ""  # no token was even made

    production_like.PNYX_DEMO = True
    assert ceremony_invite(election=election, acting_user=None) == 1
    assert len(mail.outbox) == 1


def manage_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"EMAIL_BACKEND", "PNYX_DEMO", "DATABASE_URL", "PNYX_DEBUG"}
    }
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", PNYX_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_manage_py_check_refuses_a_local_backend_unless_demo(tmp_path, backend) -> None:
    refused = manage_check(tmp_path, EMAIL_BACKEND=backend)
    assert refused.returncode == 1 and "pnyx.E001" in refused.stderr, refused.stderr
    assert manage_check(tmp_path, EMAIL_BACKEND=backend, PNYX_DEMO="1").returncode == 0


def test_manage_py_check_passes_by_default(tmp_path) -> None:
    """Without EMAIL_BACKEND: smtp, or files under var/mail/ for a demo."""
    done = manage_check(tmp_path)
    assert done.returncode == 0, done.stderr
