"""An official's authenticator app (TOTP, RFC 6238), its seed sealed at rest (officials/seal.py).

It behaves as django-otp's own TOTP device does — the same clock drift, tolerance, replay
protection (``last_t``) and throttling — but the database only ever holds the sealed seed.
"""

from __future__ import annotations

import logging
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from officials.seal import SealBroken, seed_open_checked

log = logging.getLogger(__name__)


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator of an official. Enrolled by officials.services.authenticator_enrol."""

    sealed_seed = models.BinaryField(editable=False, help_text="The TOTP seed, sealed.")
    seal_key_id = models.CharField(
        max_length=16, editable=False, help_text="Which key sealed the seed (not the key)."
    )
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which steps are counted.")
    digits = models.PositiveSmallIntegerField(
        choices=[(6, 6), (8, 8)], default=6, help_text="The number of digits of a code."
    )
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="How many time steps before or after the current one are accepted."
    )
    drift = models.SmallIntegerField(
        default=0, help_text="How many time steps the authenticator's clock is known to be off."
    )
    last_t = models.BigIntegerField(
        default=-1, help_text="The time step of the last accepted code; later ones only."
    )

    class Meta(Device.Meta):
        verbose_name = "authenticator"

    @property
    def bin_key(self) -> bytes:
        """The seed, opened (SealKeyError: not the key it was sealed with; SealBroken)."""
        return seed_open_checked(
            self.sealed_seed, sealed_key_id=self.seal_key_id, device_id=self.pk
        )

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """django-otp's TOTP verification, with the seed opened only for the check."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        verified = False
        try:
            number = int(token)
        except (TypeError, ValueError):
            number = None
        if number is not None:
            try:
                seed = self.bin_key
            except SealBroken as error:
                log.error("%s", error)  # the row was altered: no code can pass
                seed = None
            if seed is not None:
                totp = TOTP(seed, self.step, self.t0, self.digits, self.drift)
                totp.time = time.time()
                verified = totp.verify(number, self.tolerance, self.last_t + 1)
        if verified:
            self.last_t = totp.t()
            if getattr(settings, "OTP_TOTP_SYNC", True):
                self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return verified

    def config_url(self, seed: bytes) -> str:
        """The otpauth:// URL an authenticator app reads (Key Uri Format), for ``seed``: shown
        once, at enrolment."""
        label = str(self.user.get_username())
        params = urlencode(
            {
                "secret": b32encode(seed).decode("ascii").rstrip("="),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"
