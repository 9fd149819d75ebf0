"""Creating a participatory process's district elections: orchestration above the apps
(participation/ does not import voting/, and voting/ does not import participation/).

One action, all or nothing: for each district with feasible proposals, a draft election with one
budget question — the district's budget, one option per feasible proposal at its adjusted cost —
whose voter roll is the district's residents; then the ``elections`` entry on the process's
record. From there each election is a normal Pnyx election: officials name its trustees and
witnesses, run the key ceremony and issue the credentials before it opens when voting starts.
"""

from __future__ import annotations

import csv
import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from config.api_errors import ApplicationError
from identity.services.voters import voter_roll_import
from participation.errors import WrongPhase
from participation.models import Process, Resident
from participation.services import process_elections_attach, process_elections_plan
from voting.models import Option, Question, QuestionKind
from voting.services.elections import election_create


def _roll_lines(residents) -> list[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["identifier", "email"])
    for identifier, email in residents:
        writer.writerow([identifier, email])
    return [line.encode("utf-8") + b"\n" for line in out.getvalue().splitlines()]


@transaction.atomic
def process_elections_create(*, process: Process, acting_user=None) -> list:
    """Create the district elections of ``process`` (see the module's docstring); returns them.
    Raises a participation error (nothing created) when the process is not ready."""
    plan = process_elections_plan(process=process)
    process.refresh_from_db()
    created = []
    for ballot in plan:
        district = ballot.district
        slug = f"{process.slug}-{district.slug}"
        try:
            election = election_create(
                slug=slug,
                title=f"{process.title} — {district.name}",
                description=process.description,
                opens_at=process.voting_start,
                closes_at=process.results_start,
                acting_user=acting_user,
            )
        except ValidationError as exc:
            raise WrongPhase(
                f"The election of district {district.name} cannot be created as “{slug}”: "
                + "; ".join(exc.messages)
            ) from exc
        question = Question.objects.create(
            election=election,
            position=0,
            kind=QuestionKind.BUDGET,
            title=f"{process.title} — {district.name}",
            budget=district.budget,
        )
        Option.objects.bulk_create(
            Option(
                question=question,
                position=i,
                title=proposal.title,
                description=proposal.description[:5000],
                cost=proposal.adjusted_cost,
            )
            for i, proposal in enumerate(ballot.proposals)
        )
        residents = Resident.objects.filter(district=district).order_by("identifier")
        voter_roll_import(
            election=election,
            lines=_roll_lines(residents.values_list("identifier", "email")),
            acting_user=acting_user,
        )
        created.append((ballot, election))
    process_elections_attach(
        process=process,
        elections=[(ballot, election.pk, election.slug) for ballot, election in created],
    )
    return [election for _, election in created]


def _process_elections_page(request: HttpRequest, process_id) -> HttpResponse:
    """The officials' button (admin, under the process): a confirmation page, then the action.
    A refusal is shown with its reason (409) and nothing is created."""
    process = get_object_or_404(Process, pk=process_id)
    if not (
        request.user.has_perm("voting.add_election")
        and request.user.has_perm("participation.change_process")
    ):
        raise PermissionDenied
    back = reverse("admin:participation_process_change", args=[process.pk])
    error, status = None, 200
    if request.method == "POST":
        try:
            elections = process_elections_create(process=process, acting_user=request.user)
        except ApplicationError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(
                request,
                _("%(n)d district elections created: %(slugs)s.")
                % {"n": len(elections), "slugs": ", ".join(e.slug for e in elections)},
            )
            return HttpResponseRedirect(back)
    context = {
        **admin.site.each_context(request),
        "opts": Process._meta,
        "original": process,
        "title": _("Create the district elections"),
        "back_url": back,
        "error": error,
    }
    return TemplateResponse(
        request, "admin/participation/process_elections.html", context, status=status
    )


process_elections_page = admin.site.admin_view(_process_elections_page)
