"""``manage.py check --deploy`` is clean with production settings, and says what is missing
when they are not (README, Deployment). Each case runs the real command in a fresh process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_settings import load_settings

ROOT = Path(__file__).resolve().parent.parent

#: the environment of a production instance, as README "Deployment" lists it
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "vote.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://vote.example.org",
    "PNYX_BASE_URL": "https://vote.example.org",
    "PNYX_HTTPS": "1",
    "PNYX_HSTS_SECONDS": "31536000",
    "EMAIL_HOST": "smtp.example.org",
}
#: variables that would change the verdict if inherited from the test run
CLEARED = {
    "DATABASE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # tests/conftest.py sets it for the browser tests
    "EMAIL_BACKEND",
    "PNYX_DEBUG",
    "PNYX_DEMO",
    "PNYX_LOGIN_LOCKOUT",
    "PNYX_OFFICIAL_OTP",
    "PNYX_HSTS_INCLUDE_SUBDOMAINS",
    "PNYX_HSTS_PRELOAD",
}


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED and k not in PRODUCTION}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", PNYX_VAR_DIR=str(tmp_path))
    environ.update({**PRODUCTION, **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={k: v for k, v in environ.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_production_settings_pass_every_deploy_check(tmp_path: Path) -> None:
    done = check_deploy(tmp_path)
    assert done.returncode == 0, done.stderr
    silenced = len(load_settings(tmp_path, **PRODUCTION)["SILENCED_SYSTEM_CHECKS"])
    assert f"System check identified no issues ({silenced} silenced)." in done.stdout


def test_every_silenced_check_has_its_reason(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, **PRODUCTION)
    reasons = loaded["SILENCED_SYSTEM_CHECKS_REASONS"]
    assert loaded["SILENCED_SYSTEM_CHECKS"] == list(reasons)
    assert set(reasons) == {"security.W005", "security.W008", "security.W021"}
    assert all(len(reason) > 40 for reason in reasons.values())


@pytest.mark.parametrize(
    ("change", "ids"),
    [
        ({"PNYX_HTTPS": "0"}, ["security.W012", "security.W016"]),
        ({"PNYX_HSTS_SECONDS": "0"}, ["security.W004"]),
        ({"PNYX_DEMO": "1"}, ["pnyx.W001", "pnyx.W002", "pnyx.W003"]),
        ({"PNYX_LOGIN_LOCKOUT": "0", "PNYX_OFFICIAL_OTP": "0"}, ["pnyx.W002", "pnyx.W003"]),
        ({"PNYX_BASE_URL": "http://vote.example.org"}, ["pnyx.W004"]),
        ({"EMAIL_BACKEND": "console"}, ["pnyx.E001"]),
    ],
)
def test_what_is_missing_is_named(tmp_path: Path, change, ids) -> None:
    done = check_deploy(tmp_path, **change)
    assert done.returncode == 1
    for check_id in ids:
        assert f"({check_id})" in done.stderr, (check_id, done.stderr)
