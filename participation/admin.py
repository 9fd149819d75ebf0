"""Officials' admin of participatory processes: the process with its districts and categories,
publishing it (which starts its record), the residents' roll import (all or nothing, with a
line-by-line report), counting the supports, reviewing proposals and hiding comments — each
through its service, which puts the decision on the record."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin_base import ReadOnlyAdmin
from config.api_errors import ApplicationError
from participation import services
from participation.errors import RollInvalid
from participation.models import Category, Comment, District, Process, Proposal, Resident


class DistrictInline(admin.TabularInline):
    model = District
    extra = 1


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 1


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "published", "proposals_start", "review_start")
    readonly_fields = ("published", "record_id", "supports_closed_at", "district_elections")
    inlines = [DistrictInline, CategoryInline]
    actions = ["publish", "count_supports"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.published:  # what the record's first entry says stays true
            return [f.name for f in Process._meta.fields if f.name != "id"] + ["district_elections"]
        return self.readonly_fields

    @admin.display(description=_("district elections"))
    def district_elections(self, process: Process) -> str:
        """The link to the officials' page that creates them (operations/, by URL name only:
        participation imports no app above it)."""
        if process.pk is None or not process.published:
            return "—"
        try:
            url = reverse("operations:process-elections", args=[process.pk])
        except NoReverseMatch:  # pragma: no cover - operations not installed
            return "—"
        return format_html('<a href="{}">{}</a>', url, _("Create the district elections"))

    def get_inlines(self, request, obj):
        return [] if obj is not None and obj.published else self.inlines

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _each(self, request, queryset, operation, done) -> None:
        for process in queryset:
            try:
                operation(process=process)
            except ApplicationError as exc:
                self.message_user(request, f"{process}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{process}: {done}", messages.SUCCESS)

    @admin.action(description=_("Publish (starts the public record)"))
    def publish(self, request, queryset) -> None:
        self._each(request, queryset, services.process_publish, _("published."))

    @admin.action(description=_("Count the supports (after the supports phase)"))
    def count_supports(self, request, queryset) -> None:
        self._each(request, queryset, services.supports_close, _("supports counted."))


class ResidentImportForm(forms.Form):
    process = forms.ModelChoiceField(queryset=Process.objects.all(), label=_("Process"))
    file = forms.FileField(label=_("Residents' roll (CSV)"))


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("identifier", "email", "district", "process")
    list_filter = ("process", "district")
    search_fields = ("identifier", "email")
    list_select_related = ("process", "district")
    change_list_template = "admin/participation/resident/change_list.html"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False  # through the import, which checks the whole file

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="participation_resident_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("participation.add_resident"):
            raise PermissionDenied
        report, status = None, 200
        form = ResidentImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST":
            if form.is_valid():
                process = form.cleaned_data["process"]
                try:
                    result = services.resident_roll_import(
                        process=process, lines=form.cleaned_data["file"]
                    )
                except RollInvalid as exc:
                    report, status = exc.details, 400
                else:
                    self.message_user(
                        request,
                        _("%(n)d residents imported into “%(process)s”.")
                        % {"n": len(result.rows), "process": process},
                        messages.SUCCESS,
                    )
                    url = reverse("admin:participation_resident_changelist")
                    return HttpResponseRedirect(f"{url}?process__id__exact={process.pk}")
            else:
                status = 400
        return TemplateResponse(
            request,
            "admin/participation/resident/import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Import a residents' roll"),
                "form": form,
                "report": report,
            },
            status=status,
        )


class ReviewForm(forms.Form):
    feasible = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Feasible")), ("no", _("Not feasible"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Public reason"), widget=forms.Textarea, max_length=1000)
    adjusted_cost = forms.IntegerField(label=_("Adjusted cost"), required=False, min_value=1)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Public reason"), widget=forms.Textarea, max_length=1000)


def _decision_view(admin_obj, request, obj, form_class, decide, title, template_obj_name):
    """A form whose valid POST calls one service; its error is shown and nothing changes."""
    if not admin_obj.has_view_permission(request, obj) or not request.user.has_perm(
        f"participation.change_{template_obj_name}"
    ):
        raise PermissionDenied
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decide(**form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                admin_obj.message_user(request, _("Decision recorded."), messages.SUCCESS)
                url = reverse(f"admin:participation_{template_obj_name}_changelist")
                return HttpResponseRedirect(url)
        else:
            status = 400
    return TemplateResponse(
        request,
        "admin/participation/decision.html",
        {
            **admin_obj.admin_site.each_context(request),
            "opts": admin_obj.model._meta,
            "title": title,
            "object": obj,
            "form": form,
        },
        status=status,
    )


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "district", "category", "cost", "status", "supports_final")
    list_filter = ("process", "status", "district", "category")
    search_fields = ("title", "description")
    list_select_related = ("district", "category")

    def get_urls(self):
        return [
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="participation_proposal_review",
            ),
            *super().get_urls(),
        ]

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        proposal = get_object_or_404(Proposal, pk=pk)
        return _decision_view(
            self,
            request,
            proposal,
            ReviewForm,
            lambda **data: services.proposal_review(proposal=proposal, **data),
            _("Review a proposal"),
            "proposal",
        )


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "proposal", "body", "flag_count", "hidden_at")
    list_filter = (("hidden_at", admin.EmptyFieldListFilter),)
    search_fields = ("body",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(flag_count=Count("flags"))

    @admin.display(description=_("flags"), ordering="flag_count")
    def flag_count(self, comment) -> int:
        return comment.flag_count

    def get_urls(self):
        return [
            path(
                "<int:pk>/hide/",
                self.admin_site.admin_view(self.hide_view),
                name="participation_comment_hide",
            ),
            *super().get_urls(),
        ]

    def hide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        comment = get_object_or_404(Comment, pk=pk)
        return _decision_view(
            self,
            request,
            comment,
            ReasonForm,
            lambda **data: services.comment_hide(comment=comment, **data),
            _("Hide a comment"),
            "comment",
        )
