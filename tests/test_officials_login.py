"""The officials' login to the admin: lockout after failures (django-axes) and authenticator
codes (TOTP through django-otp, seeds sealed: officials/), both on under the suite's settings as
in production (config/officials.py). Real requests through Django's test client, real database."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_otp.oath import TOTP

from officials.models import AuthenticatorDevice
from officials.services import authenticator_enrol

pytestmark = pytest.mark.django_db

PASSWORD = secrets.token_urlsafe(16)
NAME = "pericles"
LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def seal_key(settings, tmp_path) -> None:
    """A key file of this test's own (officials/seal.py makes it on first use)."""
    settings.PNYX_OTP_SEAL_KEY = ""
    settings.PNYX_OTP_SEAL_KEY_FILE = tmp_path / "otp_seal_key"


@pytest.fixture
def official(db) -> User:
    return User.objects.create_superuser(NAME, email="", password=PASSWORD)


def enrolled(user: User) -> AuthenticatorDevice:
    """A confirmed authenticator of ``user``."""
    device, _ = authenticator_enrol(user=user, name="phone")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def log_in(address: str, username: str, password: str, **extra) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        f"{LOGIN}?next=/admin/", {"username": username, "password": password, **extra}
    )
    return client, response


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def code_of(device: AuthenticatorDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def test_both_are_on_under_production_settings(settings) -> None:
    assert settings.AXES_ENABLED and settings.PNYX_OFFICIAL_OTP
    assert not settings.PNYX_OFFICIAL_OTP_REQUIRED


def test_a_client_is_locked_out_after_n_failures_and_the_page_says_nothing(
    official, settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    pages = {}
    for address, name in (("192.0.2.10", NAME), ("192.0.2.11", "nobody-here")):
        for _ in range(2):
            _, response = log_in(address, name, "wrong password")
            assert response.status_code == 200  # the login page again, with its usual error
            assert "Please enter the correct username and password" in response.content.decode()
        _, third = log_in(address, name, "wrong password")
        assert third.status_code == 429  # the Nth failure locks out
        client, locked = log_in(address, name, PASSWORD if name == NAME else "x")
        assert locked.status_code == 429 and locked["Retry-After"] == "900"
        body = locked.content.decode()
        assert "Too many failed logins" in body and "15 minutes" in body
        assert name not in body and PASSWORD not in body
        pages[name] = re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", body)
        assert client.get("/admin/").status_code == 302  # not logged in
    # the same page whether the user name exists or not
    assert pages[NAME] == pages["nobody-here"]


def test_failures_from_other_clients_do_not_lock_out_the_officials_own_client(
    official, settings
) -> None:
    """Anyone may fail logins with an official's name, from as many addresses as they like: each
    of their clients is locked out, the official's own is not."""
    settings.AXES_FAILURE_LIMIT = 2
    for host in range(1, 9):
        address = f"198.51.100.{host}"
        assert log_in(address, NAME, "wrong password")[1].status_code == 200
        assert log_in(address, NAME, "wrong password")[1].status_code == 429
        assert log_in(address, NAME, PASSWORD)[1].status_code == 429  # that client stays out
    client, response = log_in("203.0.113.9", NAME, PASSWORD)
    assert logged_in(response) and client.get("/admin/").status_code == 200


def test_one_client_failing_many_names_is_locked_out(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for name in ("aspasia", "cleon"):
        assert log_in("198.51.100.50", name, "guess")[1].status_code == 200
    assert log_in("198.51.100.50", "nicias", "guess")[1].status_code == 429
    # every name from that client, the official's with the right password too
    assert log_in("198.51.100.50", NAME, PASSWORD)[1].status_code == 429
    assert log_in("198.51.100.50", "alcibiades", "guess")[1].status_code == 429
    # the official, from another client, is not concerned
    assert logged_in(log_in("198.51.100.51", NAME, PASSWORD)[1])


def test_a_name_failing_from_one_client_is_locked_out_there_only(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    assert log_in("192.0.2.60", NAME, "wrong password")[1].status_code == 200
    assert log_in("192.0.2.60", NAME, "wrong password")[1].status_code == 429
    assert log_in("192.0.2.60", NAME, PASSWORD)[1].status_code == 429
    assert logged_in(log_in("192.0.2.61", NAME, PASSWORD)[1])


def test_an_ipv6_client_is_counted_by_its_64(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    assert log_in("2001:db8:5:6::1", "a", "x")[1].status_code == 200
    assert log_in("2001:db8:5:6:ffff::2", "b", "x")[1].status_code == 429
    assert log_in("2001:db8:5:6::99", NAME, PASSWORD)[1].status_code == 429
    assert logged_in(log_in("2001:db8:5:7::1", NAME, PASSWORD)[1])


def test_the_lockout_ends_after_the_cool_off(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    for _ in range(2):
        log_in("203.0.113.5", NAME, "wrong password")
    assert log_in("203.0.113.5", NAME, PASSWORD)[1].status_code == 429
    time.sleep(2.5)
    client, response = log_in("203.0.113.5", NAME, PASSWORD)
    assert logged_in(response)
    assert client.get("/admin/").status_code == 200


def test_an_official_without_an_authenticator_logs_in_with_the_password(official) -> None:
    client, response = log_in("192.0.2.20", NAME, PASSWORD)
    assert logged_in(response) and client.get("/admin/").status_code == 200


def test_an_official_with_an_authenticator_must_give_a_valid_code(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 10
    device = enrolled(official)
    # the password alone is not enough
    _, response = log_in("192.0.2.30", NAME, PASSWORD)
    assert response.status_code == 200 and "enter your OTP token" in response.content.decode()
    assert PASSWORD not in response.content.decode()  # the password is not sent back
    # a wrong code (one from long ago) is refused
    stale = code_of(device, offset_steps=-1000)
    _, response = log_in("192.0.2.30", NAME, PASSWORD, otp_token=stale)
    assert response.status_code == 200 and "Invalid token" in response.content.decode()
    # the right code logs in, and the session is verified by the device
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays a device after a failure; this is not the test
    client, response = log_in("192.0.2.31", NAME, PASSWORD, otp_token=code_of(device))
    assert logged_in(response)
    assert client.get("/admin/").status_code == 200
    # a session that only gave the password (an official who enrolled after logging in) is
    # sent back to the login page
    other = Client()
    other.force_login(official)
    assert other.get("/admin/").status_code == 302


def test_wrong_codes_count_toward_the_lockout(official, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    device = enrolled(official)
    wrong = code_of(device, offset_steps=-1000)
    _, response = log_in("192.0.2.40", NAME, PASSWORD, otp_token=wrong)
    assert response.status_code == 200
    _, response = log_in("192.0.2.40", NAME, PASSWORD, otp_token=wrong)
    assert response.status_code == 429
    device.refresh_from_db()
    device.throttle_reset()
    _, response = log_in("192.0.2.40", NAME, PASSWORD, otp_token=code_of(device))
    assert response.status_code == 429


def test_every_official_needs_an_authenticator_when_required(official, settings) -> None:
    settings.PNYX_OFFICIAL_OTP_REQUIRED = True
    client, response = log_in("192.0.2.50", NAME, PASSWORD)
    assert client.get("/admin/").status_code == 302  # in, but not allowed further


def test_the_demo_account_is_only_made_by_a_demo(settings) -> None:
    settings.PNYX_DEMO = False
    with pytest.raises(CommandError, match="PNYX_DEMO=1"):
        call_command("seed_demo")
    assert not User.objects.exists()
