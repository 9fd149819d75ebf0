"""Officials' authenticators with their TOTP seeds sealed at rest (officials/): never in clear
in the database, bound to their row, opened only with the right key, verified as django-otp
verifies (tolerance, drift, replay, throttling), enrolled in the admin with the QR code shown
once, old clear otp_totp devices sealed by the migration, and the system checks of the key."""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import stat
import time
from base64 import b32encode
from datetime import UTC, datetime

import pytest
from django.apps import apps as django_apps
from django.apps.registry import Apps
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.checks import run_checks
from django.db import connection, models
from django.test import Client
from django_otp.oath import TOTP

from officials.models import AuthenticatorDevice
from officials.seal import SealBroken, SealKeyError, seal_key_id, seal_key_load
from officials.services import authenticator_enrol

pytestmark = pytest.mark.django_db

migration = importlib.import_module("officials.migrations.0002_seal_clear_totp_devices")
PASSWORD = secrets.token_urlsafe(16)


@pytest.fixture(autouse=True)
def seal_key(settings, tmp_path):
    """A key file of this test's own, made on first use (as in production without the variable)."""
    settings.PNYX_OTP_SEAL_KEY = ""
    settings.PNYX_OTP_SEAL_KEY_FILE = tmp_path / "otp_seal_key"
    return settings.PNYX_OTP_SEAL_KEY_FILE


@pytest.fixture
def official(db) -> User:
    return User.objects.create_superuser("pericles", email="", password=PASSWORD)


def code(seed: bytes, device: AuthenticatorDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(seed, device.step, device.t0, device.digits, 0)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def fresh(device: AuthenticatorDevice) -> AuthenticatorDevice:
    """The row as the login reads it (django-otp's throttling delays the next code after a
    failure: reset where the test is not about it)."""
    device.refresh_from_db()
    return device


def raw_row(device_id: int) -> bytes:
    """Every column of the row, read with SQL, as one byte string."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM officials_authenticatordevice WHERE id = %s", [device_id])
        row = cursor.fetchone()
    return b"\x00".join(
        bytes(v) if isinstance(v, memoryview | bytes) else str(v).encode() for v in row
    )


def clear_forms(seed: bytes) -> list[bytes]:
    b32 = b32encode(seed)
    return [seed, seed.hex().encode(), seed.hex().upper().encode(), b32, b32.rstrip(b"=")]


def test_the_seed_is_never_stored_in_clear(official) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    row = raw_row(device.pk)
    assert len(seed) == 20
    for form in clear_forms(seed):
        assert form not in row and form.lower() not in row.lower()
    assert device.bin_key == seed  # but it opens with the key


def test_the_key_file_is_made_private_on_first_use(official, seal_key) -> None:
    assert not seal_key.exists()
    authenticator_enrol(user=official, name="phone")
    assert stat.S_IMODE(os.stat(seal_key).st_mode) == 0o600
    assert len(bytes.fromhex(seal_key.read_text())) == 32
    os.chmod(seal_key, 0o644)
    with pytest.raises(SealKeyError, match="accessible by other users"):
        seal_key_load(create=False)


def test_a_seed_swapped_with_another_rows_does_not_verify(official, caplog) -> None:
    other = User.objects.create_user("cleon", password=PASSWORD)
    mine, my_seed = authenticator_enrol(user=official, name="phone")
    theirs, their_seed = authenticator_enrol(user=other, name="phone")
    with connection.cursor() as cursor:  # an attacker with write access to the database
        cursor.execute(
            "UPDATE officials_authenticatordevice SET sealed_seed = "
            "(SELECT sealed_seed FROM officials_authenticatordevice WHERE id = %s) WHERE id = %s",
            [theirs.pk, mine.pk],
        )
    mine = fresh(mine)
    with pytest.raises(SealBroken, match="copied from another row"):
        mine.bin_key  # noqa: B018
    with caplog.at_level(logging.ERROR, logger="officials.models"):
        for seed in (their_seed, my_seed):
            assert not fresh(mine).verify_token(code(seed, mine))
            mine.throttle_reset()
    assert "does not open in this row" in caplog.text
    assert fresh(theirs).verify_token(code(their_seed, theirs))  # the other row is untouched


def test_a_wrong_or_missing_key_is_a_clear_error(official, settings, seal_key) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    sealed_with = seal_key_id(seal_key_load(create=False))
    settings.PNYX_OTP_SEAL_KEY = secrets.token_hex(32)
    with pytest.raises(SealKeyError, match=f"sealed with the key {sealed_with}, but the key"):
        fresh(device).verify_token(code(seed, device))
    settings.PNYX_OTP_SEAL_KEY = ""
    seal_key.unlink()
    with pytest.raises(SealKeyError, match="No key for officials' authenticator seeds"):
        fresh(device).verify_token(code(seed, device))
    assert not seal_key.exists()  # opening never makes a new key


@pytest.mark.parametrize(
    "value", ["abc", "zz" * 32, secrets.token_hex(31), secrets.token_hex(33), "Zm9v"]
)
def test_a_malformed_key_is_refused(settings, value) -> None:
    settings.PNYX_OTP_SEAL_KEY = value
    with pytest.raises(SealKeyError, match="must be a 32-byte key"):
        seal_key_load(create=True)
    assert [m.id for m in run_checks() if m.id.startswith("pnyx.E00")] == ["pnyx.E005"]


def test_codes_verify_within_the_tolerance_only(official) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    for offset in (-2, 2, 40):
        assert not fresh(device).verify_token(code(seed, device, offset_steps=offset))
        device.throttle_reset()
    assert not fresh(device).verify_token("not a number")
    device.throttle_reset()
    for offset in (-1, 0, 1):  # tolerance 1: the previous, the current and the next code
        assert fresh(device).verify_token(code(seed, device, offset_steps=offset))
    assert device.last_used_at is not None and device.throttling_failure_count == 0


def test_a_code_is_accepted_once(official) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    now = code(seed, device)
    assert fresh(device).verify_token(now)
    assert not fresh(device).verify_token(now)  # replayed
    device.throttle_reset()
    assert not fresh(device).verify_token(code(seed, device, offset_steps=-1))  # older one


def test_the_clock_drift_is_learnt(official) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    assert fresh(device).verify_token(code(seed, device, offset_steps=1))
    assert device.drift == 1


def test_failures_are_throttled(official) -> None:
    device, seed = authenticator_enrol(user=official, name="phone")
    assert not fresh(device).verify_token(code(seed, device, offset_steps=-30))
    assert fresh(device).throttling_failure_count == 1
    assert not fresh(device).verify_token(code(seed, device))  # right, but too soon
    assert fresh(device).throttling_failure_count == 1  # not even tried
    device.throttle_reset()
    assert fresh(device).verify_token(code(seed, device))


def admin_client(user: User) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.70")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_enrolment_shows_the_seed_once_and_a_code_confirms_it(official) -> None:
    client = admin_client(official)
    add = "/admin/officials/authenticatordevice/add/"
    assert client.get(add).status_code == 200
    page = client.post(add, {"name": "work phone"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    device = AuthenticatorDevice.objects.get(user=official)
    assert not device.confirmed and device.name == "work phone"
    seed = device.bin_key
    body = page.content.decode()
    secret = b32encode(seed).decode().rstrip("=")
    assert f"otpauth://totp/Pnyx%3Apericles?secret={secret}&amp;" in body
    assert 'src="data:image/svg+xml' in body
    # never again: not on the change page, not in the list
    for url in (f"/admin/officials/authenticatordevice/{device.pk}/change/", add[:-4]):
        shown = client.get(url).content.decode()
        assert all(form.decode() not in shown for form in clear_forms(seed)[1:])
    confirm = f"/admin/officials/authenticatordevice/{device.pk}/confirm/"
    # another official cannot confirm it
    other = User.objects.create_superuser("cleon", email="", password=PASSWORD)
    assert admin_client(other).post(confirm, {"otp_token": code(seed, device)}).status_code == 403
    wrong = client.post(confirm, {"otp_token": code(seed, device, offset_steps=-50)})
    assert wrong.status_code == 400 and secret not in wrong.content.decode()
    assert not fresh(device).confirmed
    device.throttle_reset()
    done = client.post(confirm, {"otp_token": code(seed, device)})
    assert done.status_code == 302 and fresh(device).confirmed
    assert client.get("/admin/").status_code == 200  # this session showed a code: still in
    assert client.post(confirm, {"otp_token": code(seed, device)}).status_code == 403  # once


def legacy_totp_model():
    """otp_totp's TOTPDevice table as its migrations 0001–0003 left it (the plugin itself is no
    longer installed), in a registry of its own."""

    class TOTPDevice(models.Model):  # noqa: DJ008
        user = models.ForeignKey(User, on_delete=models.CASCADE, db_constraint=False)
        name = models.CharField(max_length=64)
        confirmed = models.BooleanField(default=True)
        key = models.CharField(max_length=80)
        step = models.PositiveSmallIntegerField(default=30)
        t0 = models.BigIntegerField(default=0)
        digits = models.PositiveSmallIntegerField(default=6)
        tolerance = models.PositiveSmallIntegerField(default=1)
        drift = models.SmallIntegerField(default=0)
        last_t = models.BigIntegerField(default=-1)
        throttling_failure_timestamp = models.DateTimeField(null=True, default=None)
        throttling_failure_count = models.PositiveIntegerField(default=0)
        created_at = models.DateTimeField(null=True)
        last_used_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "otp_totp"
            db_table = "otp_totp_totpdevice"
            apps = Apps()

    return TOTPDevice


def test_the_migration_seals_clear_devices_and_drops_them(official) -> None:
    legacy = legacy_totp_model()
    with connection.schema_editor() as editor:
        editor.create_model(legacy)
    seed = secrets.token_bytes(20)
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    step_now = int(time.time()) // 30
    legacy.objects.create(
        user=official, name="old phone", key=seed.hex(), drift=0, last_t=step_now - 5,
        throttling_failure_count=2, created_at=created,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('otp_totp', '0001_initial', %s)",
            [created],
        )
    with connection.schema_editor() as editor:
        assert migration.clear_totp_devices_seal(django_apps, editor) == 1
    assert "otp_totp_totpdevice" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'otp_totp'")
        assert cursor.fetchone()[0] == 0
    device = AuthenticatorDevice.objects.get(user=official)
    assert (device.name, device.confirmed, device.last_t, device.created_at) == (
        "old phone", True, step_now - 5, created,
    )  # fmt: skip
    assert device.throttling_failure_count == 2
    for form in clear_forms(seed):
        assert form not in raw_row(device.pk)
    device.throttle_reset()
    assert fresh(device).verify_token(code(seed, device))  # the official's app still works
    # a database that never had the plugin: nothing to do
    with connection.schema_editor() as editor:
        assert migration.clear_totp_devices_seal(django_apps, editor) == 0


def test_the_migration_refuses_a_device_without_a_hex_seed(official) -> None:
    legacy = legacy_totp_model()
    with connection.schema_editor() as editor:
        editor.create_model(legacy)
    bad = legacy.objects.create(user=official, name="bad", key="not hex")
    with (
        connection.schema_editor() as editor,
        pytest.raises(ValueError, match=f"{bad.pk}: its key"),
    ):
        migration.clear_totp_devices_seal(django_apps, editor)


def test_the_checks_name_a_missing_or_other_key(official, settings, seal_key) -> None:
    def found(**kwargs) -> list[str]:
        return [m.id for m in run_checks(**kwargs) if m.id in ("pnyx.E005", "pnyx.E006")]

    databases = list(django_settings.DATABASES)
    assert found(databases=databases) == []  # no key, nothing sealed: nothing wrong
    authenticator_enrol(user=official, name="phone")
    assert found(databases=databases) == []
    settings.PNYX_OTP_SEAL_KEY = secrets.token_hex(32)  # another key
    assert found() == [] and found(databases=databases) == ["pnyx.E006"]
    settings.PNYX_OTP_SEAL_KEY = ""
    seal_key.unlink()  # the key lost
    errors = [m for m in run_checks(databases=databases) if m.id == "pnyx.E006"]
    assert len(errors) == 1 and "No key for officials' authenticator seeds" in errors[0].msg


def test_an_unconfirmed_authenticator_does_not_count_at_login(official) -> None:
    """Until its first code confirms it, the password alone still logs in (an official who left
    the enrolment page is not locked out by a QR code they never scanned)."""
    authenticator_enrol(user=official, name="phone")
    client = admin_client(official)
    assert client.get("/admin/").status_code == 200
