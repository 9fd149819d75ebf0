"""Election officials' admin: elections with their questions and options, the life-cycle actions
(each behind a confirmation page), the read-only bulletin board and turnout.

Every change goes through voting/identity services; the admin only collects input, shows what
the service refused (messages framework) and never edits a board entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import BoardEntry
from board.selectors import board_head
from config.admin_base import ReadOnlyAdmin
from config.api_errors import ApplicationError
from identity.selectors import credential_issuance_latest
from identity.services.credentials import credentials_issue_request, credentials_publish_file
from voting.models import AuditEvent, Election, ElectionState, ElectionWitness, Option, Question
from voting.selectors import election_turnout
from voting.services.elections import (
    election_close,
    election_create,
    election_open,
    election_start_ceremony,
)
from voting.services.manifest import election_question_problems

S = ElectionState


def _draft(election: Election | None) -> bool:
    return election is None or election.state == S.DRAFT


# --- Questions and options ---------------------------------------------------------------------


class EditableWhileInline(admin.TabularInline):
    """An inline whose rows can be added, changed or deleted only while ``_editable(parent)``
    (e.g. questions while the election is a draft); read-only afterwards."""

    def _editable(self, obj) -> bool:
        raise NotImplementedError

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class OptionInline(EditableWhileInline):
    model = Option
    fields = ("position", "title", "description", "cost")
    extra = 0
    ordering = ("position", "id")

    def _editable(self, obj: Question | None) -> bool:
        return obj is None or _draft(obj.election)


class QuestionInline(EditableWhileInline):
    model = Question
    fields = (
        "position",
        "kind",
        "title",
        "blank_allowed",
        "min_selections",
        "max_selections",
        "max_score",
        "budget",
        "options_summary",
    )
    readonly_fields = ("options_summary",)
    extra = 0
    ordering = ("position", "id")
    show_change_link = True

    @admin.display(description=_("options"))
    def options_summary(self, question: Question) -> str:
        if question.pk is None:
            return "—"
        count = question.options.count()
        return _("%(n)d (edit with the link)") % {"n": count}

    def _editable(self, obj: Election | None) -> bool:
        return _draft(obj)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """Reached from the election page (“change” link of a question): options are edited here."""

    list_display = ("title", "election", "kind", "position")
    fields = (
        "election",
        "position",
        "kind",
        "title",
        "description",
        "blank_allowed",
        "min_selections",
        "max_selections",
        "max_score",
        "budget",
    )
    inlines = [OptionInline]

    def has_module_permission(self, request) -> bool:
        return False  # listed under each election, not on the admin index

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if not _draft(obj.election):
            return self.fields
        return ("election",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or _draft(obj.election)) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "election":
            kwargs["queryset"] = Election.objects.filter(state=S.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:voting_election_change", args=[obj.election_id]))


# --- Elections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElectionAction:
    """An official's action on an election (or its key ceremony): a confirmation page, then the
    service call; ``blockers`` say why it is not possible now."""

    title: str
    explanation: str
    button: str
    run: Callable[..., object]
    blockers: Callable[[Election], list[str]]
    done: str


def _blockers_start_ceremony(election: Election) -> list[str]:
    problems = []
    if election.state != S.DRAFT:
        problems.append(_("The election is not a draft any more."))
    return problems + election_question_problems(election=election)


def _blockers_open(election: Election) -> list[str]:
    problems = []
    if election.state != S.READY:
        problems.append(
            _("The election must be ready (election key installed); it is %(state)s.")
            % {"state": S(election.state).label.lower()}
        )
    if not election.credentials_published:
        problems.append(_("The voters' public credentials are not published."))
    if election.closes_at <= timezone.now():
        problems.append(_("The voting window is over: change the closing time."))
    return problems + election_question_problems(election=election)


def _blockers_close(election: Election) -> list[str]:
    if election.state != S.OPEN:
        return [_("Only an open election can be closed.")]
    return []


def _blockers_credentials(election: Election) -> list[str]:
    problems = []
    if election.credentials_published:
        problems.append(_("The credentials are already published."))
    elif election.state not in (S.DRAFT, S.KEY_CEREMONY, S.READY):
        problems.append(_("Credentials can only be issued before the election opens."))
    if not election.voters.exists():
        problems.append(_("The election has no voters: import the voter roll first."))
    latest = credential_issuance_latest(election_id=election.pk)
    if latest is not None and latest.status in ("pending", "running"):
        problems.append(_("Credentials are being generated and sent already."))
    return problems


ACTIONS: dict[str, ElectionAction] = {
    "start-ceremony": ElectionAction(
        title=_("Start the key ceremony"),
        explanation=_(
            "The questions and options are frozen from now on, and the trustees can generate "
            "the election key. A “state” entry is appended to the public board."
        ),
        button=_("Yes, start the key ceremony"),
        run=election_start_ceremony,
        blockers=_blockers_start_ceremony,
        done=_("The key ceremony has started."),
    ),
    "send-credentials": ElectionAction(
        title=_("Generate and send the voters' credentials"),
        explanation=_(
            "A worker generates one secret credential per voter, e-mails it to the voter, and "
            "then publishes the public credentials on the board. The server never keeps a "
            "secret credential: a lost one cannot be sent again. The voter roll is frozen "
            "afterwards."
        ),
        button=_("Yes, generate and send"),
        run=credentials_issue_request,
        blockers=_blockers_credentials,
        done=_("Credential generation started: reload this page to follow it."),
    ),
    "open": ElectionAction(
        title=_("Open the election"),
        explanation=_(
            "The manifest (questions, window, trustees, election key, credential digest) is "
            "frozen and published with its fingerprint; voters can cast ballots during the "
            "voting window. This cannot be undone."
        ),
        button=_("Yes, open the election"),
        run=election_open,
        blockers=_blockers_open,
        done=_("The election is open."),
    ),
    "close": ElectionAction(
        title=_("Close the election"),
        explanation=_(
            "No ballot is accepted after this. This cannot be undone. The tally starts at once: "
            "the workers add up the ballots, then the trustees are asked for their partial "
            "decryptions."
        ),
        button=_("Yes, close the election"),
        run=election_close,
        blockers=_blockers_close,
        done=_("The election is closed and its tally has started: follow it on the dashboard."),
    ),
}


class CredentialUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Public credential file (JSON)"),
        help_text=_("The public.json written by “manage.py credentials generate”."),
    )


class ElectionAdminForm(forms.ModelForm):
    class Meta:
        model = Election
        fields = ("title", "slug", "description", "opens_at", "closes_at", "witness_quorum")


class WitnessInline(EditableWhileInline):
    model = ElectionWitness
    fields = ("position", "name", "key", "url")
    extra = 0
    ordering = ("position", "id")
    verbose_name = _("witness of the board")
    verbose_name_plural = _("witnesses of the board (named in the manifest; editable while draft)")

    def _editable(self, obj: Election | None) -> bool:
        return _draft(obj)


@admin.register(Election)
class ElectionAdmin(admin.ModelAdmin):
    form = ElectionAdminForm
    list_display = ("title", "slug", "state", "opens_at", "closes_at", "voter_count")
    list_filter = ("state",)
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [QuestionInline, WitnessInline]
    change_form_template = "admin/voting/election/change_form.html"
    public_fields = (
        "id",
        "state",
        "threshold",
        "public_key",
        "ceremony_context",
        "credentials_count",
        "credentials_total_weight",
        "credentials_digest",
        "fingerprint",
        "credential_issuance",
    )

    def get_fieldsets(self, request, obj=None):
        main = (
            None,
            {"fields": ("title", "slug", "description", "opens_at", "closes_at", "witness_quorum")},
        )
        if obj is None:
            return [main]
        return [main, (_("Public record"), {"fields": self.public_fields})]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.state != S.DRAFT:
            return (
                "title",
                "slug",
                "description",
                "opens_at",
                "closes_at",
                "witness_quorum",
                *self.public_fields,
            )
        return self.public_fields

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an election's board is public from its creation on

    @admin.display(description=_("voters"))
    def voter_count(self, election: Election) -> int:
        return election.voters.count()

    @admin.display(description=_("credential issuance"))
    def credential_issuance(self, election: Election) -> str:
        latest = credential_issuance_latest(election_id=election.pk)
        if latest is None:
            return "—"
        text = _("%(status)s: %(sent)d of %(voters)d e-mails sent") % {
            "status": latest.get_status_display(),
            "sent": latest.emails_sent,
            "voters": latest.voters,
        }
        if latest.error:
            text = f"{text} ({latest.error})"
        return text

    def save_model(self, request, obj: Election, form, change) -> None:
        if change:
            if obj.state != S.DRAFT:
                raise PermissionDenied("The election has left the draft state.")
            super().save_model(request, obj, form, change)
            return
        created = election_create(
            slug=obj.slug,
            title=obj.title,
            description=obj.description,
            opens_at=obj.opens_at,
            closes_at=obj.closes_at,
            witness_quorum=obj.witness_quorum,
            acting_user=request.user,
        )
        # The admin goes on with `obj` (inlines are saved against it): make it the created row.
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    # --- Custom views ---------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/action/<slug:action>/",
                view(self.action_view),
                name="voting_election_action",
            ),
            path(
                "<uuid:object_id>/credentials/upload/",
                view(self.credentials_upload_view),
                name="voting_election_credentials_upload",
            ),
            path("<uuid:object_id>/board/", view(self.board_view), name="voting_election_board"),
            path(
                "<uuid:object_id>/turnout/", view(self.turnout_view), name="voting_election_turnout"
            ),
            *super().get_urls(),
        ]

    def _election(self, request: HttpRequest, object_id, *, change: bool) -> Election:
        election = get_object_or_404(Election, pk=object_id)
        allowed = (
            self.has_change_permission(request, election)
            if change
            else self.has_view_permission(request, election)
        )
        if not allowed:
            raise PermissionDenied
        return election

    def _context(self, request: HttpRequest, election: Election, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": election,
            "election": election,
            "title": title,
            "has_view_permission": True,
            **extra,
        }

    def _back(self, election: Election) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:voting_election_change", args=[election.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "election_actions": ACTIONS}
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request: HttpRequest, object_id, action: str) -> HttpResponse:
        election = self._election(request, object_id, change=True)
        spec = ACTIONS.get(action)
        if spec is None:
            raise PermissionDenied
        if request.method == "POST":
            try:
                spec.run(election=election, acting_user=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                for detail in exc.details if isinstance(exc.details, list) else []:
                    self.message_user(request, detail, messages.ERROR)
            else:
                self.message_user(request, spec.done, messages.SUCCESS)
            return self._back(election)
        return TemplateResponse(
            request,
            "admin/confirm_action.html",
            self._context(
                request,
                election,
                spec.title,
                action=spec,
                blockers=spec.blockers(election),
                back_url=self._back(election).url,
                back_label=_("Back to the election"),
            ),
        )

    def credentials_upload_view(self, request: HttpRequest, object_id) -> HttpResponse:
        election = self._election(request, object_id, change=True)
        form = CredentialUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                credentials_publish_file(
                    election=election,
                    data=form.cleaned_data["file"].read(),
                    acting_user=request.user,
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request, _("The public credentials are published."), messages.SUCCESS
                )
                return self._back(election)
        return TemplateResponse(
            request,
            "admin/voting/election/credentials_upload.html",
            self._context(
                request,
                election,
                _("Upload public credentials"),
                form=form,
                blockers=_blockers_credentials(election),
            ),
        )

    def board_view(self, request: HttpRequest, object_id) -> HttpResponse:
        election = self._election(request, object_id, change=False)
        entries = BoardEntry.objects.filter(election=election).order_by("seq")
        kind = request.GET.get("kind") or ""
        if kind:
            entries = entries.filter(kind=kind)
        page = Paginator(entries.only("seq", "kind", "time", "hash", "tracker"), 100).get_page(
            request.GET.get("page")
        )
        return TemplateResponse(
            request,
            "admin/voting/election/board.html",
            self._context(
                request,
                election,
                _("Bulletin board"),
                page=page,
                kind=kind,
                head=board_head(election_id=election.pk),
                export_url=reverse("board:export", kwargs={"election_id": election.pk}),
            ),
        )

    def turnout_view(self, request: HttpRequest, object_id) -> HttpResponse:
        election = self._election(request, object_id, change=False)
        turnout = election_turnout(election=election)
        percent = 100 * turnout["voted"] / turnout["voters"] if turnout["voters"] else 0
        return TemplateResponse(
            request,
            "admin/voting/election/turnout.html",
            self._context(request, election, _("Turnout"), turnout=turnout, percent=percent),
        )


# --- Read-only records -------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "election", "action", "actor")
    list_filter = ("action", "election")
    list_select_related = ("election", "actor")
