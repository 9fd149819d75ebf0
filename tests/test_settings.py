"""Settings come from the environment, with safe defaults.

Each case imports the settings in a fresh interpreter, since they are read
once at import time.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import secret_key_load_or_create

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables these tests control; inherited values would make them flaky.
CONTROLLED = {
    "DATABASE_URL",
    "SECRET_KEY",
    "PNYX_DEBUG",
    "PNYX_DEMO",
    "PNYX_HTTPS",
    "PNYX_LOGIN_LOCKOUT",
    "PNYX_OFFICIAL_OTP",
    "EMAIL_BACKEND",
    "PNYX_VAR_DIR",
    "ALLOWED_HOSTS",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "PNYX_BROKER_VISIBILITY_TIMEOUT",
    "PNYX_SWEEP_SECONDS",
    "PNYX_STALL_SECONDS",
    "PNYX_TRUSTEE_LOOK_SECONDS",
}


def load_settings(var_dir: Path, **env: str) -> dict[str, Any]:
    """Import config.settings in a subprocess and return its upper-case names."""
    environ = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", PNYX_VAR_DIR=str(var_dir), **env)
    code = (
        "import json\n"
        "from django.conf import settings\n"
        "names = [n for n in dir(settings) if n.isupper()]\n"
        "print(json.dumps({n: getattr(settings, n) for n in names}, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout)


def test_database_url_is_read(tmp_path: Path) -> None:
    db = load_settings(tmp_path, DATABASE_URL="postgres://alice:s3cret@db.example:6543/elections")[
        "DATABASES"
    ]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == (
        "db.example",
        6543,
        "elections",
        "alice",
    )


def test_database_defaults_to_embedded_sqlite_under_var(tmp_path: Path) -> None:
    db = load_settings(tmp_path)["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "pnyx.sqlite3")


def test_secret_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    first = load_settings(tmp_path)["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == first
    assert len(first) >= 50
    assert load_settings(tmp_path)["SECRET_KEY"] == first


def test_secret_key_from_environment_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert load_settings(tmp_path, SECRET_KEY="k" * 60)["SECRET_KEY"] == "k" * 60
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    secret_key_load_or_create(path=key_file)
    key_file.chmod(0o644)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        secret_key_load_or_create(path=key_file)


def test_debug_is_off_by_default_and_only_on_when_asked(tmp_path: Path) -> None:
    assert load_settings(tmp_path)["DEBUG"] is False
    assert load_settings(tmp_path, PNYX_DEBUG="0")["DEBUG"] is False
    assert load_settings(tmp_path, PNYX_DEBUG="1")["DEBUG"] is True
    with pytest.raises(RuntimeError, match="PNYX_DEBUG='maybe' is not a boolean"):
        load_settings(tmp_path, PNYX_DEBUG="maybe")


def test_cookies_are_secure_only_behind_https(tmp_path: Path) -> None:
    plain = load_settings(tmp_path)
    https = load_settings(tmp_path, PNYX_HTTPS="1")
    assert (plain["SESSION_COOKIE_SECURE"], plain["CSRF_COOKIE_SECURE"]) == (False, False)
    assert (https["SESSION_COOKIE_SECURE"], https["CSRF_COOKIE_SECURE"]) == (True, True)
    assert https["X_FRAME_OPTIONS"] == "DENY"
    assert "'unsafe-inline'" not in json.dumps(https["CONTENT_SECURITY_POLICY"])


def test_allowed_hosts_from_environment(tmp_path: Path) -> None:
    assert load_settings(tmp_path)["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    hosts = load_settings(tmp_path, ALLOWED_HOSTS="vote.example, ,admin.example")
    assert hosts["ALLOWED_HOSTS"] == ["vote.example", "admin.example"]


def test_broker_defaults_to_redis_url(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/7")
    assert loaded["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/7"
    assert loaded["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/7"


def test_filesystem_broker_keeps_messages_and_results_under_var(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, CELERY_BROKER_URL="filesystem://")
    options = loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "celery/queue")
    assert loaded["CELERY_RESULT_BACKEND"] == f"file://{tmp_path / 'celery/results'}"
    for folder in ("queue", "processed", "control", "results"):
        assert (tmp_path / "celery" / folder).is_dir()


def test_a_short_health_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="PNYX_HEALTH_TOKEN is too short"):
        load_settings(tmp_path, PNYX_HEALTH_TOKEN="x" * 31)
    token = "t" * 32
    assert load_settings(tmp_path, PNYX_HEALTH_TOKEN=token)["PNYX_HEALTH_TOKEN"] == token


@pytest.mark.parametrize("seconds", ["59", "86401"])
def test_the_election_login_window_is_bounded(tmp_path: Path, seconds: str) -> None:
    """Rate-limit buckets are kept for a day: a longer window would be forgotten early."""
    with pytest.raises(RuntimeError, match="PNYX_LOGIN_ELECTION_WINDOW_SECONDS"):
        load_settings(tmp_path, PNYX_LOGIN_ELECTION_WINDOW_SECONDS=seconds)


@pytest.mark.parametrize(
    ("env", "on"),
    [({}, True), ({"PNYX_DEMO": "1"}, False), ({"PNYX_DEBUG": "1"}, False)],
)
def test_officials_lockout_and_codes_are_on_in_production(tmp_path: Path, env, on) -> None:
    """On by default with PNYX_DEBUG=0 and no demo; each can be set either way."""
    loaded = load_settings(tmp_path, **env)
    assert (loaded["AXES_ENABLED"], loaded["PNYX_OFFICIAL_OTP"]) == (on, on)
    forced = load_settings(tmp_path, PNYX_LOGIN_LOCKOUT="1", PNYX_OFFICIAL_OTP="1", **env)
    assert (forced["AXES_ENABLED"], forced["PNYX_OFFICIAL_OTP"]) == (True, True)


def test_the_redis_visibility_timeout_comes_from_the_environment(tmp_path: Path) -> None:
    """Issue 10: a task held by a vanished worker comes back after this many seconds."""
    default = load_settings(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/7")
    options = default["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["visibility_timeout"] == 3600
    loaded = load_settings(
        tmp_path,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/7",
        PNYX_BROKER_VISIBILITY_TIMEOUT="90",
    )
    options = loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["visibility_timeout"] == 90
    # the scan that puts such tasks back runs often enough for a short timeout to matter
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 30
    with pytest.raises(RuntimeError, match="PNYX_BROKER_VISIBILITY_TIMEOUT='0': at least 1"):
        load_settings(tmp_path, PNYX_BROKER_VISIBILITY_TIMEOUT="0")


def test_the_sweeper_settings_come_from_the_environment(tmp_path: Path) -> None:
    default = load_settings(tmp_path)
    assert (
        default["PNYX_SWEEP_SECONDS"],
        default["PNYX_STALL_SECONDS"],
        default["PNYX_TRUSTEE_LOOK_SECONDS"],
    ) == (30, 120, 300)
    loaded = load_settings(
        tmp_path, PNYX_SWEEP_SECONDS="5", PNYX_STALL_SECONDS="20", PNYX_TRUSTEE_LOOK_SECONDS="0"
    )
    assert (
        loaded["PNYX_SWEEP_SECONDS"],
        loaded["PNYX_STALL_SECONDS"],
        loaded["PNYX_TRUSTEE_LOOK_SECONDS"],
    ) == (5, 20, 0)
    with pytest.raises(RuntimeError, match="PNYX_STALL_SECONDS='-1': at least 1"):
        load_settings(tmp_path, PNYX_STALL_SECONDS="-1")
