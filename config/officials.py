"""The officials' login to the admin: lockout after failures (django-axes) and a second factor
(TOTP, django-otp) for every official who enrolled an authenticator.

- django-axes counts failed logins per client (an IPv4 address or an IPv6 /64, as the voters'
  rate limits do) and per user name from one client; past ``AXES_FAILURE_LIMIT`` it answers
  every login attempt of that client, or of that name from that client, with
  :func:`lockout_response` (429) until the cool-off is over. A name is never locked out from
  everywhere (anyone could do that to an official). A wrong authenticator code after a right
  password counts as a failure too.
- An official with a confirmed authenticator (officials.models.AuthenticatorDevice, its seed
  sealed at rest) must give its current code (``PNYX_OFFICIAL_OTP``, on in production);
  ``PNYX_OFFICIAL_OTP_REQUIRED`` keeps every official without one out. README ("Officials'
  login") says how to enrol.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, user_has_device
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.models import Device

from identity.services.ratelimit import ratelimit_client
from identity.sessions import client_ip


def lockout_client(request: HttpRequest) -> str | None:
    """The client django-axes counts failures of (``AXES_CLIENT_IP_CALLABLE``)."""
    return ratelimit_client(client_ip(request))


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The page a locked-out login gets (``AXES_LOCKOUT_CALLABLE``): 429, the same whatever
    the user name and whether it exists; it repeats nothing that was sent."""
    seconds = settings.AXES_COOLOFF_TIME.total_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    context = {**admin.site.each_context(request), "title": _("Too many failed logins")}
    context["minutes"] = minutes
    response = TemplateResponse(request, "admin/officials_lockout.html", context, status=429)
    response["Retry-After"] = str(math.ceil(seconds))
    return response.render()


def official_needs_token(user) -> bool:
    return bool(settings.PNYX_OFFICIAL_OTP) and user_has_device(user, confirmed=True)


def official_second_factor_ok(user) -> bool:
    """Whether this logged-in official may use the admin as far as the second factor goes."""
    if not settings.PNYX_OFFICIAL_OTP or user.is_verified():
        return True
    if settings.PNYX_OFFICIAL_OTP_REQUIRED:
        return False
    return not user_has_device(user, confirmed=True)


class OfficialLoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """User name, password and, for an official with an authenticator, its current code."""

    otp_token = forms.CharField(
        required=False,
        max_length=16,
        label=_("Authenticator code"),
        help_text=_("The 6-digit code of your authenticator app, if you enrolled one."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    #: which authenticator, asked only of an official with several (a select then)
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        self.cleaned_data = super().clean()  # the password (django-axes counts a failure)
        user = self.get_user()
        if user is not None and official_needs_token(user):
            try:
                self.clean_otp(user)
            except forms.ValidationError:
                # a right password with a wrong or missing code: a failure for django-axes too
                user_login_failed.send(
                    sender=type(self),
                    credentials={"username": self.cleaned_data.get("username")},
                    request=self.request,
                )
                raise
        return self.cleaned_data

    def _chosen_device(self, user) -> Device | None:
        """The device named in the form (checked to be the user's), else the user's only one."""
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = Device.from_persistent_id(devices[0].persistent_id, for_verify=True)
        return device

    def _update_form(self, user) -> None:
        """After a missing or wrong code: let an official with several authenticators choose
        one. (Unlike django-otp's own, the password is not sent back into the page.)"""
        devices = list(devices_for_user(user, confirmed=True))
        if len(devices) > 1:
            self.fields["otp_device"].widget = forms.Select(
                choices=[("", "—"), *((d.persistent_id, d.name) for d in devices)]
            )


class PnyxAdminSite(admin.AdminSite):
    """Django's admin with the officials' login above (config.apps.PnyxAdminConfig)."""

    login_form = OfficialLoginForm
    login_template = "admin/officials_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and official_second_factor_ok(request.user)
