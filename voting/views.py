"""Server-rendered pages of the voting app: the home page, an election's public pages and the
voting booth (routes in voting/page_urls.py).

The pages show what the public board says; the booth's page script (frontend/src/ui/) does the
voting through the JSON API. No page carries an inline script or style (the CSP forbids them).
"""

from __future__ import annotations

import json
import re

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from board.models import BoardEntry
from board.selectors import board_head
from board.witnesses import board_witness_status
from crypto.board import ENTRY_KINDS
from voting.js_messages import js_catalogue
from voting.models import Election
from voting.page_selectors import (
    ResultMismatch,
    ballot_timeline,
    board_entry_parsed,
    board_entry_summary,
    election_get_public,
    election_manifest_data,
    election_questions_public,
    election_result,
    election_voting_status,
    timeline_chart,
)
from voting.selectors import ballot_superseded_by, election_list_public

BOARD_PAGE_SIZE = 50
_TRACKER = re.compile(r"[0-9a-f]{64}\Z")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Home page: the elections that have left the draft state, newest first."""
    return render(request, "voting/home.html", {"elections": election_list_public()[:50]})


def _api_urls(election: Election) -> dict[str, str]:
    kwargs = {"election_id": election.pk}
    return {
        "election": reverse("voting:election", kwargs=kwargs),
        "board": reverse("board:entries", kwargs=kwargs),
        "export": reverse("board:export", kwargs=kwargs),
        "head": reverse("board:head", kwargs=kwargs),
        "ballots": reverse("voting:ballots", kwargs=kwargs),
        "audits": reverse("voting:audits", kwargs=kwargs),
        "login": reverse("identity:login", kwargs=kwargs),
        "login_verify": reverse("identity:login-verify", kwargs=kwargs),
        "logout": reverse("identity:logout", kwargs=kwargs),
        "me": reverse("identity:me", kwargs=kwargs),
    }


def _context(request: HttpRequest, election: Election, current: str, **extra) -> dict:
    api = _api_urls(election)
    return {
        "election": election,
        "current": current,
        "voting_status": election_voting_status(election=election, now=timezone.now()),
        "api": api,
        "export_url": request.build_absolute_uri(api["export"]),
        **extra,
    }


def _normalise_tracker(value: str) -> str:
    return re.sub(r"\s+", "", value or "").lower()


@require_GET
def election_page(request: HttpRequest, slug: str) -> HttpResponse:
    """An election: title, description, window, state, questions, trustees, board head, links."""
    election = election_get_public(slug=slug)
    manifest = election_manifest_data(election=election)
    return render(
        request,
        "voting/election.html",
        _context(
            request,
            election,
            "election",
            manifest=manifest,
            questions=election_questions_public(election=election),
            head=board_head(election_id=election.pk),
            log=board_witness_status(election_id=election.pk),
        ),
    )


@never_cache
@require_GET
def booth_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The voting booth. Its script reads the credential from the URL fragment (never sent)."""
    election = election_get_public(slug=slug)
    context = _context(request, election, "booth")
    if context["voting_status"] == "open":
        manifest = election_manifest_data(election=election)
        context["questions"] = [
            {
                **question,
                "single": question["kind"] in ("referendum", "single") and question["max"] == 1,
                "blank": question["min"] == 0,
                # a score question: one select of 0 … S per option
                "scores": list(range(question["max_score"] + 1))
                if question["kind"] == "score"
                else None,
            }
            for question in manifest["questions"]
        ]
        context["i18n"] = js_catalogue()
    response = render(request, "booth/booth.html", context)
    # The booth's own scripts only; nothing in it may be framed or leak a referrer.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def check_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The "check my ballot" page: a tracker's board entry, its position and time, and whether a
    later ballot of the same credential replaced it."""
    election = election_get_public(slug=slug)
    query = request.GET.get("tracker")
    context = _context(
        request,
        election,
        "check",
        query=query or "",
        i18n=js_catalogue(),
        verify_url=reverse("voting:receipt-verify", kwargs={"election_id": election.pk}),
    )
    if query is not None:
        tracker = _normalise_tracker(query)
        context["tracker"] = tracker
        if not _TRACKER.match(tracker):
            context["problem"] = "malformed"
        else:
            row = (
                BoardEntry.objects.filter(election=election, tracker=tracker)
                .select_related("ballot")
                .first()
            )
            if row is None:
                context["problem"] = "not_found"
            else:
                later = ballot_superseded_by(ballot=row.ballot) if row.kind == "ballot" else None
                later_seq = (
                    BoardEntry.objects.filter(election=election, tracker=later)
                    .values_list("seq", flat=True)
                    .first()
                    if later
                    else None
                )
                context["entry"] = row
                context["superseded_by"] = later
                context["superseded_seq"] = later_seq
    return render(request, "voting/check.html", context)


@require_GET
def board_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The board browser: entries a page at a time, filtered by kind, searched by tracker, with
    the live head (board-page.js) and the downloads observers verify."""
    election = election_get_public(slug=slug)
    kind = request.GET.get("kind") or ""
    if kind not in ENTRY_KINDS:
        kind = ""
    search = request.GET.get("tracker")
    problem = None
    if search is not None:
        tracker = _normalise_tracker(search)
        seq = (
            BoardEntry.objects.filter(election=election, tracker=tracker)
            .values_list("seq", flat=True)
            .first()
            if _TRACKER.match(tracker)
            else None
        )
        if seq is not None:
            return redirect("pages:board-entry", slug=election.slug, seq=seq)
        problem = "malformed" if not _TRACKER.match(tracker) else "not_found"
    entries = BoardEntry.objects.filter(election=election).order_by("seq")
    if kind:
        entries = entries.filter(kind=kind)
    page = Paginator(entries.only("seq", "kind", "time", "hash", "line"), BOARD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = []
    for row in page:
        rows.append(
            {
                "seq": row.seq,
                "kind": row.kind,
                "time": row.time,
                "hash": row.hash,
                "summary": board_entry_summary(json.loads(row.line)),
            }
        )
    head = board_head(election_id=election.pk)
    return render(
        request,
        "voting/board.html",
        _context(
            request,
            election,
            "board",
            page=page,
            rows=rows,
            kind=kind,
            kinds=ENTRY_KINDS,
            head=head,
            log=board_witness_status(election_id=election.pk),
            checkpoint_url=reverse("board:checkpoint", kwargs={"election_id": election.pk}),
            search=search or "",
            problem=problem,
            has_manifest=bool(election.manifest_json),
            i18n=js_catalogue(),
        ),
    )


@require_GET
def board_entry_page(request: HttpRequest, slug: str, seq: int) -> HttpResponse:
    """One board entry, whole, as it is hashed."""
    election = election_get_public(slug=slug)
    entry = board_entry_parsed(election=election, seq=seq)
    head = board_head(election_id=election.pk)
    superseded_by = None
    if entry["kind"] == "ballot":
        row = BoardEntry.objects.select_related("ballot").get(election=election, seq=seq)
        superseded_by = ballot_superseded_by(ballot=row.ballot)
    return render(
        request,
        "voting/board_entry.html",
        _context(
            request,
            election,
            "board",
            entry=entry,
            entry_json=json.dumps(entry, indent=2, ensure_ascii=False),
            head=head,
            superseded_by=superseded_by,
        ),
    )


@require_GET
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The result from the board's ``result`` entry, turnout over time, and the exact board
    entry the result is verified up to."""
    election = election_get_public(slug=slug)
    manifest = election_manifest_data(election=election)
    problem = None
    try:
        result = election_result(election=election, manifest=manifest)
    except ResultMismatch:
        result, problem = None, "mismatch"
    timeline = ballot_timeline(election=election)
    electorate = manifest["credentials"]["count"] if manifest else election.credentials_count
    return render(
        request,
        "voting/results.html",
        _context(
            request,
            election,
            "results",
            manifest=manifest,
            result=result,
            problem=problem,
            timeline=timeline,
            chart=timeline_chart(timeline, electorate=electorate),
            electorate=electorate,
            turnout_percent=round(100 * timeline.voters / electorate, 1) if electorate else None,
        ),
    )


@require_GET
def manifest_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The frozen manifest exactly as fingerprinted (canonical JSON)."""
    election = election_get_public(slug=slug)
    if not election.manifest_json:
        raise Http404("The election has no manifest yet.")
    response = HttpResponse(election.manifest_json, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{election.slug}-manifest.json"'
    return response
