"""Authenticators in the admin. An official enrols one for their own account only: the page that
answers **Add** shows the QR code and the otpauth:// URL once (never stored, never shown again,
not cached), with a field for a first code; the authenticator counts at login once confirmed.
Nobody, superusers included, can read a seed afterwards."""

from __future__ import annotations

import segno
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login

from officials.models import AuthenticatorDevice
from officials.services import authenticator_confirm, authenticator_enrol


class EnrolForm(forms.Form):
    name = forms.CharField(
        max_length=64, label=_("Name"), help_text=_("Which phone or app, e.g. “work phone”.")
    )


class ConfirmForm(forms.Form):
    otp_token = forms.CharField(
        max_length=16,
        label=_("Code"),
        help_text=_("The 6-digit code your authenticator app shows now."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "name"]
    fields = [
        "user",
        "name",
        "confirmed",
        "created_at",
        "last_used_at",
        "step",
        "digits",
        "tolerance",
        "drift",
        "throttling_failure_timestamp",
        "throttling_failure_count",
    ]
    readonly_fields = [f for f in fields if f != "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def get_urls(self):
        confirm = path(
            "<int:pk>/confirm/",
            self.admin_site.admin_view(self.confirm_view),
            name="officials_authenticatordevice_confirm",
        )
        return [confirm, *super().get_urls()]

    def _page(self, request, template, status=200, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        response = TemplateResponse(request, template, context, status=status)
        add_never_cache_headers(response)
        return response

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = EnrolForm(request.POST if request.method == "POST" else None)
        if request.method != "POST" or not form.is_valid():
            return self._page(
                request,
                "admin/officials/authenticator_add.html",
                form=form,
                title=_("Add an authenticator"),
            )
        device, seed = authenticator_enrol(user=request.user, name=form.cleaned_data["name"])
        url = device.config_url(seed)
        del seed
        return self._page(
            request,
            "admin/officials/authenticator_enrol.html",
            title=_("Scan this code with your authenticator app"),
            device=device,
            config_url=url,
            qr_code=segno.make(url, error="m").svg_data_uri(scale=4),
            form=ConfirmForm(),
        )

    def confirm_view(self, request: HttpRequest, pk: int):
        device = AuthenticatorDevice.objects.filter(pk=pk, user=request.user).first()
        if not self.has_add_permission(request):
            raise PermissionDenied
        if device is None or device.confirmed or request.method != "POST":
            raise PermissionDenied  # only the owner confirms, once, by POST
        form = ConfirmForm(request.POST)
        if form.is_valid() and authenticator_confirm(
            device_id=device.pk, user=request.user, token=form.cleaned_data["otp_token"]
        ):
            otp_login(request, device)  # this session has just shown a code of it
            self.message_user(
                request, _("Authenticator confirmed: log in with its codes from now on.")
            )
            return HttpResponseRedirect(reverse("admin:officials_authenticatordevice_changelist"))
        self.message_user(request, _("Wrong code."), level=messages.ERROR)
        return self._page(
            request,
            "admin/officials/authenticator_enrol.html",
            status=400,
            title=_("Confirm your authenticator"),
            device=device,
            form=form,
        )
