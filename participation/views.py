"""Residents' pages of a participatory process (routes: participation/urls.py): server-rendered,
no script, forms posted with their CSRF token. Each POST calls one service; an error of the
service is shown on the page with its status and nothing is changed."""

from __future__ import annotations

from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.records import record_entries, record_head, record_lines
from config.api_errors import ApplicationError
from crypto.hashing import parse_json
from participation import services
from participation.forms import (
    CommentForm,
    ImageForm,
    LoginCodeForm,
    LoginEmailForm,
    ProposalForm,
)
from participation.images import MAX_IMAGE_BYTES
from participation.login import (
    resident_current,
    resident_login_request,
    resident_login_verify,
    resident_logout,
)
from participation.models import Comment, Phase, ProposalImage, ProposalStatus
from participation.selectors import (
    process_get_public,
    process_list_public,
    process_phase,
    process_timeline,
    proposal_get_public,
    proposals_public,
    resident_supported,
)

PENDING_EMAIL = "pnyx.resident-login-email"
PAGE_SIZE = 50


def _context(request: HttpRequest, process, **extra) -> dict:
    now = timezone.now()
    return {
        "process": process,
        "phase": process_phase(process, now),
        "resident": resident_current(request, process),
        **extra,
    }


def _render(request, template, context, status=200) -> HttpResponse:
    return render(request, template, context, status=status)


def with_process(view):
    """Look the published process up by slug (404 otherwise) and pass it on."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
        return view(request, process_get_public(slug=slug), *args, **kwargs)

    return wrapper


def _login_url(process) -> str:
    return reverse("participation:login", kwargs={"slug": process.slug})


@require_GET
def process_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "participation/list.html", {"processes": process_list_public()})


@require_GET
@with_process
def process_page(request: HttpRequest, process) -> HttpResponse:
    now = timezone.now()
    return _render(
        request,
        "participation/process.html",
        _context(
            request,
            process,
            timeline=process_timeline(process, now),
            districts=process.districts.order_by("name"),
            categories=process.categories.order_by("name"),
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@with_process
def login_page(request: HttpRequest, process) -> HttpResponse:
    form = LoginEmailForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                resident_login_request(
                    request=request, process=process, email=form.cleaned_data["email"]
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                request.session[PENDING_EMAIL] = form.cleaned_data["email"]
                return redirect("participation:login-code", slug=process.slug)
        else:
            status = 400
    return _render(
        request, "participation/login.html", _context(request, process, form=form), status
    )


@never_cache
@require_http_methods(["GET", "POST"])
@with_process
def login_code_page(request: HttpRequest, process) -> HttpResponse:
    form = LoginCodeForm(
        request.POST or None, initial={"email": request.session.get(PENDING_EMAIL, "")}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                resident_login_verify(
                    request=request,
                    process=process,
                    email=form.cleaned_data["email"],
                    code=form.cleaned_data["code"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                request.session.pop(PENDING_EMAIL, None)
                return redirect("participation:process", slug=process.slug)
        else:
            status = 400
    return _render(
        request, "participation/login_code.html", _context(request, process, form=form), status
    )


@require_POST
@with_process
def logout_view(request: HttpRequest, process) -> HttpResponse:
    resident_logout(request=request, process=process)
    return redirect("participation:process", slug=process.slug)


@require_GET
@with_process
def proposal_list(request: HttpRequest, process) -> HttpResponse:
    filters = {
        name: request.GET.get(name, "")[:200] for name in ("district", "category", "status", "q")
    }
    proposals = proposals_public(
        process=process,
        district=filters["district"],
        category=filters["category"],
        status=filters["status"],
        query=filters["q"],
    )
    return _render(
        request,
        "participation/proposals.html",
        _context(
            request,
            process,
            proposals=proposals[:PAGE_SIZE],
            count=proposals.count(),
            filters=filters,
            districts=process.districts.order_by("name"),
            categories=process.categories.order_by("name"),
            statuses=ProposalStatus.choices,
        ),
    )


def _proposal_form_page(request, process, *, proposal=None) -> HttpResponse:
    resident = resident_current(request, process)
    if resident is None:
        return redirect(_login_url(process))
    initial = {}
    if proposal is not None:
        initial = {
            "title": proposal.title,
            "description": proposal.description,
            "cost": proposal.cost,
            "category": proposal.category_id,
        }
    form = ProposalForm(request.POST or None, initial=initial, process=process)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            fields = {
                "title": data["title"],
                "description": data["description"],
                "cost": data["cost"],
                "category_id": data["category"],
            }
            try:
                if proposal is None:
                    proposal = services.proposal_submit(resident=resident, **fields)
                else:
                    proposal = services.proposal_edit(
                        resident=resident, proposal=proposal, **fields
                    )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                return redirect("participation:proposal", slug=process.slug, number=proposal.number)
        else:
            status = 400
    return _render(
        request,
        "participation/proposal_form.html",
        _context(request, process, form=form, proposal=proposal),
        status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@with_process
def proposal_new(request: HttpRequest, process) -> HttpResponse:
    return _proposal_form_page(request, process)


@never_cache
@require_http_methods(["GET", "POST"])
@with_process
def proposal_edit(request: HttpRequest, process, number: int) -> HttpResponse:
    return _proposal_form_page(
        request, process, proposal=proposal_get_public(process=process, number=number)
    )


def _proposal_page(
    request, process, proposal, *, error=None, status=200, comment_form=None, image_form=None
):
    resident = resident_current(request, process)
    phase = process_phase(process, timezone.now())
    supported = resident_supported(resident=resident)
    return _render(
        request,
        "participation/proposal.html",
        _context(
            request,
            process,
            proposal=proposal,
            comments=proposal.comments.select_related("author").order_by("created_at", "pk"),
            comment_form=comment_form or CommentForm(),
            image_form=image_form or ImageForm(),
            images=proposal.images.order_by("pk").only(
                "pk", "digest", "description", "width", "height"
            ),
            comments_open=phase in services.COMMENT_PHASES,
            supported=proposal.pk in supported,
            supports_left=max(0, process.max_supports - len(supported)),
            can_support=resident is not None
            and phase == Phase.SUPPORTS
            and resident.district_id == proposal.district_id,
            can_edit=resident is not None
            and phase == Phase.PROPOSALS
            and resident.pk == proposal.author_id,
            error=error,
        ),
        status,
    )


@require_GET
@with_process
def proposal_page(request: HttpRequest, process, number: int) -> HttpResponse:
    return _proposal_page(request, process, proposal_get_public(process=process, number=number))


def _resident_action(request, process, number, action):
    """POST of a logged-in resident on a proposal: run ``action(resident, proposal)``, then back
    to the proposal's page (or the page again with the error and its status)."""
    proposal = proposal_get_public(process=process, number=number)
    resident = resident_current(request, process)
    if resident is None:
        return redirect(_login_url(process))
    try:
        action(resident, proposal)
    except ApplicationError as exc:
        proposal = proposal_get_public(process=process, number=number)
        return _proposal_page(request, process, proposal, error=exc.message, status=exc.status)
    return redirect("participation:proposal", slug=process.slug, number=number)


@require_POST
@with_process
def support_view(request: HttpRequest, process, number: int) -> HttpResponse:
    return _resident_action(
        request,
        process,
        number,
        lambda resident, proposal: services.support_add(resident=resident, proposal=proposal),
    )


@require_POST
@with_process
def support_withdraw_view(request: HttpRequest, process, number: int) -> HttpResponse:
    return _resident_action(
        request,
        process,
        number,
        lambda resident, proposal: services.support_withdraw(resident=resident, proposal=proposal),
    )


@require_POST
@with_process
def comment_view(request: HttpRequest, process, number: int) -> HttpResponse:
    form = CommentForm(request.POST)
    if not form.is_valid():
        proposal = proposal_get_public(process=process, number=number)
        if resident_current(request, process) is None:
            return redirect(_login_url(process))
        return _proposal_page(request, process, proposal, status=400, comment_form=form)
    return _resident_action(
        request,
        process,
        number,
        lambda resident, proposal: services.comment_add(
            resident=resident, proposal=proposal, body=form.cleaned_data["body"]
        ),
    )


@require_POST
@with_process
def comment_flag_view(request: HttpRequest, process, number: int, comment_id: int) -> HttpResponse:
    def flag(resident, proposal):
        comment = Comment.objects.filter(proposal=proposal, pk=comment_id).first()
        if comment is None:
            raise services.InvalidComment(_("No such comment on this proposal."))
        services.comment_flag(resident=resident, comment=comment)

    return _resident_action(request, process, number, flag)


@require_POST
@with_process
def image_add_view(request: HttpRequest, process, number: int) -> HttpResponse:
    form = ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        if resident_current(request, process) is None:
            return redirect(_login_url(process))
        proposal = proposal_get_public(process=process, number=number)
        return _proposal_page(request, process, proposal, status=400, image_form=form)
    upload = form.cleaned_data["image"]
    raw = upload.read(MAX_IMAGE_BYTES + 1)
    return _resident_action(
        request,
        process,
        number,
        lambda resident, proposal: services.proposal_image_add(
            resident=resident,
            proposal=proposal,
            raw=raw,
            description=form.cleaned_data["description"],
        ),
    )


@require_POST
@with_process
def image_remove_view(request: HttpRequest, process, number: int, image_id: int) -> HttpResponse:
    return _resident_action(
        request,
        process,
        number,
        lambda resident, proposal: services.proposal_image_remove(
            resident=resident, proposal=proposal, image_id=image_id
        ),
    )


@require_GET
@with_process
def image_view(request: HttpRequest, process, digest: str) -> HttpResponse:
    """An image by its SHA-256: served as stored (re-encoded, no metadata), never sniffed,
    never run as a document."""
    image = (
        ProposalImage.objects.filter(proposal__process=process, digest=digest)
        .only("data", "content_type")
        .first()
    )
    if image is None:
        raise Http404("No such image.")
    response = HttpResponse(bytes(image.data), content_type=image.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_GET
@with_process
def record_page(request: HttpRequest, process) -> HttpResponse:
    head = record_head(log_id=process.record_id)
    entries = [
        {"seq": e.seq, "kind": e.kind, "time": e.time, "hash": e.hash, "data": parse_json(e.line)}
        for e in record_entries(log_id=process.record_id)
    ]
    return _render(
        request,
        "participation/record.html",
        _context(request, process, head=head, entries=entries),
    )


@require_GET
@with_process
def record_export(request: HttpRequest, process) -> StreamingHttpResponse:
    """``record.jsonl``: every entry's canonical line and ``"\\n"`` (docs/protocol.md §17)."""
    lines = (line + "\n" for line in record_lines(log_id=process.record_id))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{process.slug}-record.jsonl"'
    return response
