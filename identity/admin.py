"""Officials' admin for voters: roll import with a validation report, the roll itself (editable
until the credentials are published), and read-only views of what the authority published."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from config.admin_base import ReadOnlyAdmin
from identity.errors import RollInvalid
from identity.models import CredentialIssuance, PublicCredential, Voter, election_model
from identity.services.voters import roll_editable, voter_roll_import


class RollImportForm(forms.Form):
    election = forms.ModelChoiceField(
        queryset=election_model().objects.filter(credentials_digest=""), label=_("Election")
    )
    file = forms.FileField(label=_("Voter roll (CSV)"))


class VoterForm(forms.ModelForm):
    class Meta:
        model = Voter
        fields = ("election", "identifier", "email", "weight")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


@admin.register(Voter)
class VoterAdmin(admin.ModelAdmin):
    form = VoterForm
    list_display = ("identifier", "email", "weight", "election", "has_voted")
    list_filter = ("election", ("voted_at", admin.EmptyFieldListFilter))
    search_fields = ("identifier", "email")
    list_select_related = ("election",)
    readonly_fields = ("voted_at", "audits")
    change_list_template = "admin/identity/voter/change_list.html"

    @admin.display(boolean=True, description=_("voted"))
    def has_voted(self, voter: Voter) -> bool:
        return voter.voted_at is not None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "election":
            kwargs["queryset"] = election_model().objects.filter(credentials_digest="")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        return (obj is None or roll_editable(obj.election)) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or roll_editable(obj.election)) and super().has_delete_permission(
            request, obj
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="identity_voter_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = RollImportForm(request.POST, request.FILES)
            if form.is_valid():
                election = form.cleaned_data["election"]
                try:
                    result = voter_roll_import(
                        election=election, lines=form.cleaned_data["file"], acting_user=request.user
                    )
                except RollInvalid as exc:
                    report = exc.details
                else:
                    self.message_user(
                        request,
                        _("%(n)d voters imported into “%(election)s”.")
                        % {"n": len(result.rows), "election": election},
                        messages.SUCCESS,
                    )
                    url = reverse("admin:identity_voter_changelist")
                    return HttpResponseRedirect(f"{url}?election__id__exact={election.pk}")
        else:
            form = RollImportForm(initial={"election": request.GET.get("election")})
        return TemplateResponse(
            request,
            "admin/identity/voter/import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Import a voter roll"),
                "form": form,
                "report": report,
            },
        )


@admin.register(PublicCredential)
class PublicCredentialAdmin(ReadOnlyAdmin):
    list_display = ("public_key", "weight", "election")
    list_filter = ("election",)
    search_fields = ("public_key",)


@admin.register(CredentialIssuance)
class CredentialIssuanceAdmin(ReadOnlyAdmin):
    list_display = ("election", "status", "emails_sent", "voters", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = (
        "election",
        "status",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "emails_sent",
        "voters",
        "error",
    )
