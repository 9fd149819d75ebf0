"""Officials' admin for the trustees, the key ceremony and the tally.

* **Key ceremonies → Add**: the election, the threshold t and the n trustees (name, e-mail, mode
  worker or offline), editable until a trustee registers. The ceremony's page shows every
  trustee's progress and the actions, each behind a confirmation page: e-mail the enrolment
  tokens, send the current step again to the worker trustees, close the deal or the check phase,
  finish with the confirmations received.
* **Tally runs**: progress (ballots added up, partial decryptions, missing trustees) and
  *Resume*. The election's own page gets *Start or resume the tally* (closing an open election
  first), next to *Close*, which starts the tally by itself.

Every action calls a tally service; the admin never writes a board entry.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from config.api_errors import ApplicationError
from tally.models import KeyCeremony, TallyRun, Trustee
from tally.selectors import ceremony_status, tally_status
from tally.services.ceremony import (
    ceremony_close_checks,
    ceremony_close_checks_problems,
    ceremony_close_deals,
    ceremony_close_deals_problems,
    ceremony_configurable_problems,
    ceremony_finish,
    ceremony_finish_problems,
    ceremony_invite,
    ceremony_invite_problems,
    ceremony_resume,
    ceremony_resume_problems,
    ceremony_setup_problems,
    ceremony_setup_recorded,
)
from tally.services.tally import tally_start, tally_start_problems
from voting.admin import ACTIONS, EditableWhileInline, ElectionAction, ReadOnlyAdmin
from voting.models import Election, ElectionState

# --- The election page's tally action ----------------------------------------------------------

ACTIONS.setdefault(
    "tally",
    ElectionAction(
        title=_("Start or resume the tally"),
        explanation=_(
            "An open election is closed first (“state” entry), which starts the tally: the "
            "ballots counted (the last one of each credential, with its weight) are added up "
            "by the workers, the encrypted tally is published, and the trustees are asked for "
            "their partial decryptions; the result is published as soon as the threshold of "
            "valid ones is in. For a tally that waits (trustees missing) this asks the worker "
            "trustees again. Closing cannot be undone."
        ),
        button=_("Yes, tally"),
        run=tally_start,
        blockers=lambda election: tally_start_problems(election=election),
        done=_("The tally is running: its progress is on the tally run's page."),
    ),
)


# --- Key ceremony ------------------------------------------------------------------------------


class TrusteeInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        indices = sorted(row.get("index") for row in rows)
        if indices != list(range(1, len(rows) + 1)):
            raise forms.ValidationError(_("Number the trustees 1, 2, … n without gaps."))
        threshold = self.instance.threshold
        problems = ceremony_setup_problems(
            threshold=threshold,
            trustees=[
                {"name": r.get("name"), "email": r.get("email"), "mode": r.get("mode")}
                for r in sorted(rows, key=lambda r: r["index"])
            ],
        )
        if problems:
            raise forms.ValidationError(problems)


class TrusteeInline(EditableWhileInline):
    model = Trustee
    formset = TrusteeInlineFormSet
    fields = ("index", "name", "email", "mode", "state", "public_key_short", "disqualified")
    readonly_fields = ("state", "public_key_short", "disqualified")
    extra = 0
    ordering = ("index",)

    @admin.display(description=_("registered key"))
    def public_key_short(self, trustee: Trustee) -> str:
        return f"{trustee.public_key[:18]}…" if trustee.public_key else "—"

    def _editable(self, obj: KeyCeremony | None) -> bool:
        return obj is None or not ceremony_configurable_problems(election=obj.election)

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 3 if obj is None else 0


class KeyCeremonyForm(forms.ModelForm):
    class Meta:
        model = KeyCeremony
        fields = ("election", "threshold")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "election" in self.fields:
            self.fields["election"].queryset = Election.objects.filter(
                state__in=(ElectionState.DRAFT, ElectionState.KEY_CEREMONY), public_key=""
            )

    def clean(self):
        data = super().clean()
        election = data.get("election")
        if self.instance.pk is None and election is not None:
            problems = ceremony_configurable_problems(election=election)
            if problems:
                raise forms.ValidationError(problems)
        return data


CeremonyAction = ElectionAction


CEREMONY_ACTIONS: dict[str, CeremonyAction] = {
    "invite": CeremonyAction(
        title=_("E-mail the enrolment tokens"),
        explanation=_(
            "Every trustee that has not registered yet receives a new one-time enrolment token "
            "(an earlier one stops working) with the instructions for its mode. The token "
            "registers the trustee's public key; the server keeps only its hash."
        ),
        button=_("Yes, send them"),
        run=ceremony_invite,
        blockers=lambda e: ceremony_invite_problems(election=e),
        done=_("Enrolment e-mails sent."),
    ),
    "resume": CeremonyAction(
        title=_("Ask the worker trustees again"),
        explanation=_(
            "The current step is queued again for every worker trustee that has not answered "
            "it (e.g. after its worker was restarted). Answers already received are kept."
        ),
        button=_("Yes, ask again"),
        run=ceremony_resume,
        blockers=lambda e: ceremony_resume_problems(election=e),
        done=_("The step was sent again."),
    ),
    "close-deals": CeremonyAction(
        title=_("Close the deal phase"),
        explanation=_(
            "Stop waiting for deals: every trustee that has not dealt is disqualified as a "
            "dealer (it stays a key holder), and the trustees check their shares of the "
            "others' deals. Nothing is written on the board now: the ceremony result, "
            "published at the end of the ceremony, lists these dealers as disqualified. "
            "This cannot be undone."
        ),
        button=_("Yes, close the deal phase"),
        run=ceremony_close_deals,
        blockers=lambda e: ceremony_close_deals_problems(election=e),
        done=_("The deal phase is closed."),
    ),
    "close-checks": CeremonyAction(
        title=_("Close the check phase"),
        explanation=_(
            "Stop waiting for share checks: a trustee that has not checked its shares is taken "
            "to have no complaint. The trustees then confirm their verification keys."
        ),
        button=_("Yes, close the check phase"),
        run=ceremony_close_checks,
        blockers=lambda e: ceremony_close_checks_problems(election=e),
        done=_("The check phase is closed."),
    ),
    "finish": CeremonyAction(
        title=_("Finish with the confirmations received"),
        explanation=_(
            "Publish the ceremony result and install the election key now, with at least the "
            "threshold of trustees having confirmed. Trustees that did not confirm may be "
            "unable to decrypt: the tally then needs the threshold among the others."
        ),
        button=_("Yes, finish the ceremony"),
        run=ceremony_finish,
        blockers=lambda e: ceremony_finish_problems(election=e),
        done=_("The key ceremony is finished: the election is ready."),
    ),
}


@admin.register(KeyCeremony)
class KeyCeremonyAdmin(admin.ModelAdmin):
    form = KeyCeremonyForm
    inlines = [TrusteeInline]
    list_display = ("election", "threshold", "trustee_count", "phase")
    list_filter = ("phase",)
    list_select_related = ("election",)
    change_form_template = "admin/tally/keyceremony/change_form.html"

    @admin.display(description=_("trustees"))
    def trustee_count(self, ceremony: KeyCeremony) -> int:
        return ceremony.trustees.count()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if ceremony_configurable_problems(election=obj.election):
            return ("election", "threshold")
        return ("election",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        ceremony_setup_recorded(ceremony=form.instance, acting_user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/action/<slug:action>/",
                view(self.action_view),
                name="tally_keyceremony_action",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ceremony = KeyCeremony.objects.filter(pk=object_id).select_related("election").first()
        extra = dict(extra_context or {})
        if ceremony is not None:
            extra["ceremony_status"] = ceremony_status(election=ceremony.election, officials=True)
            extra["ceremony_actions"] = [
                {
                    "slug": slug,
                    "title": action.title,
                    "url": reverse("admin:tally_keyceremony_action", args=[ceremony.pk, slug]),
                    "blockers": action.blockers(ceremony.election),
                }
                for slug, action in CEREMONY_ACTIONS.items()
            ]
        return super().change_view(request, object_id, form_url, extra)

    def action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        ceremony = get_object_or_404(KeyCeremony.objects.select_related("election"), pk=object_id)
        if not self.has_change_permission(request, ceremony):
            raise PermissionDenied
        spec = CEREMONY_ACTIONS.get(action)
        if spec is None:
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:tally_keyceremony_change", args=[ceremony.pk]))
        if request.method == "POST":
            try:
                spec.run(election=ceremony.election, acting_user=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, spec.done, messages.SUCCESS)
            return back
        return TemplateResponse(
            request,
            "admin/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": ceremony,
                "title": spec.title,
                "action": spec,
                "blockers": spec.blockers(ceremony.election),
                "election": ceremony.election,
                "back_url": back.url,
            },
        )


# --- Tally runs --------------------------------------------------------------------------------


@admin.register(TallyRun)
class TallyRunAdmin(ReadOnlyAdmin):
    list_display = ("election", "status", "progress", "decryptions", "started_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("election",)
    change_form_template = "admin/tally/tallyrun/change_form.html"
    fields = (
        "election",
        "status",
        "frozen_seq",
        "frozen_hash",
        "ballots_total",
        "ballots_aggregated",
        "chunks_total",
        "chunks_done",
        "counted",
        "superseded",
        "weight",
        "started_at",
        "published_at",
        "finished_at",
        "dispatches",
        "last_error",
        "last_error_at",
    )
    readonly_fields = fields

    def has_change_permission(self, request, obj=None) -> bool:
        # read-only, but the change page must open (it shows the progress and the action)
        return request.user.has_perm("tally.view_tallyrun")

    @admin.display(description=_("ballots added up"))
    def progress(self, run: TallyRun) -> str:
        return f"{run.ballots_aggregated} / {run.ballots_total}"

    @admin.display(description=_("valid partial decryptions"))
    def decryptions(self, run: TallyRun) -> str:
        valid = run.decryptions.filter(status="valid").count()
        return f"{valid} / {run.election.threshold or '?'}"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/resume/", view(self.resume_view), name="tally_tallyrun_resume"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = TallyRun.objects.filter(pk=object_id).select_related("election").first()
        extra = dict(extra_context or {})
        if run is not None:
            extra["tally"] = tally_status(election=run.election, officials=True)
            extra["resume_url"] = reverse("admin:tally_tallyrun_resume", args=[run.pk])
            extra["resume_blockers"] = _resume_blockers(run)
        return super().change_view(request, object_id, form_url, extra)

    def resume_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        run = get_object_or_404(TallyRun.objects.select_related("election"), pk=object_id)
        if not request.user.has_perm("voting.change_election"):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:tally_tallyrun_change", args=[run.pk]))
        spec = ACTIONS["tally"]
        if request.method == "POST":
            try:
                tally_start(election=run.election, acting_user=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, spec.done, messages.SUCCESS)
            return back
        return TemplateResponse(
            request,
            "admin/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": run,
                "title": _("Resume the tally"),
                "action": spec,
                "blockers": _resume_blockers(run),
                "election": run.election,
                "back_url": back.url,
            },
        )


def _resume_blockers(run: TallyRun) -> list[str]:
    if run.status == "done":
        return [_("The result is published.")]
    return tally_start_problems(election=run.election)


# Shown read-only under the ceremony; listed for search.
@admin.register(Trustee)
class TrusteeAdmin(ReadOnlyAdmin):
    list_display = ("name", "index", "ceremony", "mode", "state", "disqualified")
    list_filter = ("mode", "state")
    search_fields = ("name", "email")
    fields = (
        "ceremony",
        "index",
        "name",
        "email",
        "mode",
        "state",
        "public_key",
        "registered_at",
        "enrolment_sent_at",
        "disqualified",
        "last_error",
        "last_error_at",
    )
    readonly_fields = fields
