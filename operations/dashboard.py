"""The officials' election dashboard: /admin/voting/election/<id>/dashboard/.

State and window, turnout (voters who voted out of the roll, ballots, revotes, audits), the board
head, key-ceremony and tally progress, and links to the election's admin actions, on one page.

Where it is mounted, and why: it reads voting/, identity/, tally/ and board/ together, so it lives
above them (operations/), and instead of adding a route to ``ElectionAdmin.get_urls()`` this view
has its own route in operations/urls.py, which config/urls.py includes *before*
``admin.site.urls``.
The route sits under /admin/voting/election/<id>/ next to the admin's own board and turnout views,
and the view is wrapped in ``admin.site.admin_view``: the same login page, staff check, CSRF
protection and no-cache headers as every admin page — plus the model's view permission. (An
AppConfig.ready() hook that patches ``admin.site.get_urls`` would work too, but would hide a
route inside another app's admin site; an explicit URL is easier to find.)

Ceremony and tally progress are read from the board (counts of ``dkg-*``, ``ceremony-result``,
``tally``, ``partial-decryption``, ``result`` entries), with the tally app's details (which
trustees the ceremony or the decryption waits for, ballots added up so far) from its selectors.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from board.selectors import board_head
from identity.selectors import credential_issuance_latest
from tally.selectors import ceremony_status, tally_status
from voting.models import Election
from voting.page_selectors import (
    ceremony_progress,
    election_voting_status,
    tally_progress,
)
from voting.selectors import election_turnout


def _actions(election: Election) -> list[dict]:
    """The life-cycle actions of the election admin, each with what blocks it now."""
    from voting.admin import ACTIONS  # the admin's own list: titles, blockers, confirmation URLs

    actions = []
    for slug, action in ACTIONS.items():
        try:
            url = reverse("admin:voting_election_action", args=[election.pk, slug])
        except NoReverseMatch:  # pragma: no cover - the admin's routes changed
            continue
        actions.append(
            {"slug": slug, "title": action.title, "url": url, "blockers": action.blockers(election)}
        )
    return actions


def _link(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # pragma: no cover - an admin view was renamed
        return None


def _election_dashboard(request: HttpRequest, election_id) -> HttpResponse:
    election = get_object_or_404(Election, pk=election_id)
    if not request.user.has_perm("voting.view_election"):
        raise PermissionDenied
    turnout = election_turnout(election=election)
    head = board_head(election_id=election.pk)
    kinds = head["kinds"]
    issuance = credential_issuance_latest(election_id=election.pk)
    tally_detail = tally_status(election=election, officials=True)
    context = {
        **admin.site.each_context(request),
        "opts": Election._meta,
        "original": election,
        "election": election,
        "title": _("Dashboard"),
        "has_view_permission": True,
        "voting_status": election_voting_status(election=election, now=timezone.now()),
        "turnout": turnout,
        "turnout_percent": round(100 * turnout["voted"] / turnout["voters"], 1)
        if turnout["voters"]
        else 0.0,
        "head": head,
        "ceremony": ceremony_progress(election=election, kinds=kinds),
        "tally": tally_progress(election=election, kinds=kinds, detail=tally_detail),
        # the tally app's own progress: trustees awaited, ballots added up, decryptions received
        "ceremony_detail": ceremony_status(election=election, officials=True),
        "tally_detail": tally_detail,
        "issuance": issuance,
        "actions": _actions(election),
        "links": {
            "change": _link("admin:voting_election_change", election.pk),
            "board": _link("admin:voting_election_board", election.pk),
            "turnout": _link("admin:voting_election_turnout", election.pk),
            "voters": _link("admin:identity_voter_changelist"),
            "credentials_upload": _link("admin:voting_election_credentials_upload", election.pk),
            "public": reverse("pages:election", kwargs={"slug": election.slug}),
            "public_board": reverse("pages:board", kwargs={"slug": election.slug}),
            "results": reverse("pages:results", kwargs={"slug": election.slug}),
        },
    }
    return TemplateResponse(request, "admin/voting/dashboard.html", context)


election_dashboard = admin.site.admin_view(_election_dashboard)
