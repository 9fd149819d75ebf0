"""Domain operations of a participatory process (docs/participation.md).

Keyword-only functions under ``transaction.atomic``; each state change appends its public part to
the process's record (board.records, docs/protocol.md §17) in the same transaction, so that the
record and the tables never disagree. Bad input raises a :mod:`participation.errors` error
before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from board.records import record_append, record_create
from crypto.board import format_time
from crypto.record import MAX_PROPOSAL_IMAGES
from identity.services.voters import RollMembers, RollReport, roll_csv_rows
from participation.errors import (
    AlreadyPublished,
    InvalidComment,
    InvalidImage,
    InvalidProposal,
    ModerationRefused,
    NotYourProposal,
    ProcessNotPublished,
    ReviewRefused,
    RollInvalid,
    SupportRefused,
    WrongPhase,
)
from participation.images import image_clean
from participation.models import (
    MAX_AMOUNT,
    PHASE_STARTS,
    Category,
    Comment,
    CommentFlag,
    District,
    Phase,
    Process,
    Proposal,
    ProposalImage,
    ProposalStatus,
    Resident,
    Support,
)
from participation.selectors import process_phase

ROLL_HEADER = ["identifier", "email", "district"]
BATCH = 5000
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_COMMENT = 2_000
MAX_REASON = 1_000
#: the phases in which residents may comment
COMMENT_PHASES = (Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _require_phase(process: Process, phase: Phase, now: datetime) -> None:
    if not process.published:
        raise ProcessNotPublished()
    if process_phase(process, now) != phase:
        raise WrongPhase(f"This can only be done during the {phase.label.lower()} phase.")


def _locked(process: Process) -> Process:
    return Process.objects.select_for_update().get(pk=process.pk)


def _clean_text(value, what: str, maximum: int, error) -> str:
    if not isinstance(value, str):
        raise error(f"The {what} must be text.")
    value = value.strip()
    if not value:
        raise error(f"The {what} is empty.")
    if len(value) > maximum:
        raise error(f"The {what} is longer than {maximum} characters.")
    if "\x00" in value:
        raise error(f"The {what} contains a NUL character.")
    return value


def _clean_amount(value, what: str, maximum: int, error) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not 1 <= value <= maximum:
        raise error(f"The {what} must be a whole number from 1 to {maximum}.")
    return value


# --- The process and its record ------------------------------------------------------------------


def process_origin(process: Process) -> str:
    """The origin of a process's record (board.models.RecordLog.origin)."""
    return f"process/{process.pk}"


@transaction.atomic
def process_publish(*, process: Process) -> Process:
    """Show the process to the public and start its record with the ``process`` entry: its
    phases, limits, districts with their budgets and categories, as they are now."""
    process = _locked(process)
    if process.published:
        raise AlreadyPublished()
    districts = list(District.objects.filter(process=process).order_by("slug"))
    categories = list(Category.objects.filter(process=process).order_by("name"))
    if not districts or not categories:
        raise WrongPhase("A process needs at least one district and one category to be published.")
    payload = {
        "process": str(process.pk),
        "slug": process.slug,
        "title": process.title,
        "currency": process.currency,
        "phases": {
            phase.value: format_time(getattr(process, field))
            for phase, field in PHASE_STARTS.items()
        },
        "limits": {
            "max_supports": process.max_supports,
            "support_threshold": process.support_threshold,
            "max_cost": process.max_cost,
        },
        "districts": [{"code": d.slug, "name": d.name, "budget": d.budget} for d in districts],
        "categories": [c.name for c in categories],
    }
    log = record_create(origin=process_origin(process), kind="process", payload=payload)
    process.published = True
    process.record_id = log.pk
    process.save(update_fields=["published", "record_id"])
    return process


def _record(process: Process, kind: str, payload: dict) -> None:
    record_append(log_id=process.record_id, kind=kind, payload=payload)


# --- Residents' roll -----------------------------------------------------------------------------


def resident_roll_read(lines: Iterable[bytes], *, process: Process) -> RollReport:
    """Read a CSV residents' roll: ``identifier,email,district`` (the district's code), an
    optional header line of those names, blank lines ignored. Identifiers and addresses must be
    unique in the process (addresses compare in lower case); the report lists every problem."""
    report = RollReport()
    districts = dict(District.objects.filter(process=process).values_list("slug", "pk"))
    existing = Resident.objects.filter(process=process)
    members = RollMembers(
        taken_identifiers=set(existing.values_list("identifier", flat=True)),
        taken_emails=set(existing.values_list("email", flat=True)),
        roll="process's",
    )
    rows = []
    first = True
    for number, cells in roll_csv_rows(lines, report):
        if first:
            first = False
            if [cell.lower() for cell in cells] == ROLL_HEADER:
                continue
        if len(cells) != 3:
            report.error(
                number, f"expected 3 columns (identifier,email,district), found {len(cells)}"
            )
            continue
        identifier, email, district = cells[0], cells[1].lower(), cells[2]
        problems = members.problems(number, identifier, email)
        if district not in districts:
            problems.append(f"no district has the code {district[:80]!r}")
        if problems:
            report.error(number, "; ".join(problems))
        elif report.ok:
            rows.append((identifier, email, districts[district]))
    if report.ok and not rows:
        report.error(report.lines or 1, "the file lists no resident")
    report.rows = rows if report.ok else []
    return report


@transaction.atomic
def resident_roll_import(*, process: Process, lines: Iterable[bytes]) -> RollReport:
    """Add the residents of a CSV roll: all of them, or none if any line is bad (raises
    :class:`RollInvalid` whose ``details`` is the report)."""
    process = _locked(process)
    report = resident_roll_read(lines, process=process)
    if not report.ok:
        raise RollInvalid(
            f"The residents' roll has {report.error_count} error(s): nothing was imported.",
            details=report.as_details(),
        )
    for start in range(0, len(report.rows), BATCH):
        Resident.objects.bulk_create(
            Resident(process=process, identifier=i, email=e, district_id=d)
            for i, e, d in report.rows[start : start + BATCH]
        )
    return report


# --- Proposals -----------------------------------------------------------------------------------


def _proposal_fields(process: Process, title, description, cost, category_id) -> dict:
    fields = {
        "title": _clean_text(title, "title", MAX_TITLE, InvalidProposal),
        "description": _clean_text(description, "description", MAX_DESCRIPTION, InvalidProposal),
        "cost": _clean_amount(cost, "estimated cost", process.max_cost, InvalidProposal),
    }
    category = None
    if isinstance(category_id, int) or (isinstance(category_id, str) and category_id.isdigit()):
        category = Category.objects.filter(process=process, pk=int(category_id)).first()
    if category is None:
        raise InvalidProposal("Choose one of the process's categories.")
    fields["category"] = category
    return fields


def _proposal_record(proposal: Proposal) -> None:
    _record(
        proposal.process,
        "proposal",
        {
            "number": proposal.number,
            "version": proposal.version,
            "district": proposal.district.slug,
            "category": proposal.category.name,
            "title": proposal.title,
            "description": proposal.description,
            "cost": proposal.cost,
            "images": [
                {"sha256": digest, "description": description}
                for digest, description in proposal.images.order_by("pk").values_list(
                    "digest", "description"
                )
            ],
        },
    )


@transaction.atomic
def proposal_submit(
    *, resident: Resident, title, description, cost, category_id, now: datetime | None = None
) -> Proposal:
    """A resident submits a proposal for their own district during the proposals phase."""
    process = _locked(resident.process)
    _require_phase(process, Phase.PROPOSALS, _now(now))
    fields = _proposal_fields(process, title, description, cost, category_id)
    last = Proposal.objects.filter(process=process).aggregate(n=Max("number"))["n"] or 0
    proposal = Proposal.objects.create(
        process=process, number=last + 1, author=resident, district=resident.district, **fields
    )
    _proposal_record(proposal)
    return proposal


@transaction.atomic
def proposal_edit(
    *,
    resident: Resident,
    proposal: Proposal,
    title,
    description,
    cost,
    category_id,
    now: datetime | None = None,
) -> Proposal:
    """The author edits their proposal until the proposals phase ends: a new version."""
    proposal = _author_edit(resident, proposal, now)
    fields = _proposal_fields(proposal.process, title, description, cost, category_id)
    if all(getattr(proposal, name) == value for name, value in fields.items()):
        raise InvalidProposal("Nothing was changed.")
    for name, value in fields.items():
        setattr(proposal, name, value)
    return _new_version(proposal)


MAX_IMAGES = MAX_PROPOSAL_IMAGES


def _author_edit(resident: Resident, proposal: Proposal, now: datetime | None) -> Proposal:
    """Lock the process and the proposal; the resident must be its author, in the proposals
    phase. Returns the locked proposal."""
    process = _locked(proposal.process)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.author_id != resident.pk:
        raise NotYourProposal()
    _require_phase(process, Phase.PROPOSALS, _now(now))
    proposal.process = process
    return proposal


def _new_version(proposal: Proposal) -> Proposal:
    proposal.version += 1
    proposal.save()
    _proposal_record(proposal)
    return proposal


@transaction.atomic
def proposal_image_add(
    *, resident: Resident, proposal: Proposal, raw: bytes, description, now: datetime | None = None
) -> ProposalImage:
    """The author adds an image (re-encoded without metadata, participation.images): a new
    version of the proposal, whose record entry names the image by its SHA-256."""
    description = _clean_text(description, "image description", 200, InvalidImage)
    clean = image_clean(raw)
    proposal = _author_edit(resident, proposal, now)
    if proposal.images.count() >= MAX_IMAGES:
        raise InvalidImage(f"A proposal has at most {MAX_IMAGES} images.")
    if proposal.images.filter(digest=clean.digest).exists():
        raise InvalidImage("The proposal already has this image.")
    image = ProposalImage.objects.create(
        proposal=proposal,
        digest=clean.digest,
        description=description,
        content_type=clean.content_type,
        width=clean.width,
        height=clean.height,
        data=clean.data,
    )
    _new_version(proposal)
    return image


@transaction.atomic
def proposal_image_remove(
    *, resident: Resident, proposal: Proposal, image_id, now: datetime | None = None
) -> Proposal:
    proposal = _author_edit(resident, proposal, now)
    deleted, _ = ProposalImage.objects.filter(proposal=proposal, pk=image_id).delete()
    if not deleted:
        raise InvalidImage("The proposal has no such image.")
    return _new_version(proposal)


# --- Supports ------------------------------------------------------------------------------------


@transaction.atomic
def support_add(*, resident: Resident, proposal: Proposal, now: datetime | None = None) -> Support:
    """A resident supports a proposal of their district during the supports phase, up to the
    process's limit. Supports are counted under a lock on the resident's row."""
    process = proposal.process
    _require_phase(process, Phase.SUPPORTS, _now(now))
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if proposal.process_id != resident.process_id or proposal.district_id != resident.district_id:
        raise SupportRefused("You may only support proposals of your own district.")
    if Support.objects.filter(resident=resident, proposal=proposal).exists():
        raise SupportRefused("You already support this proposal.")
    given = Support.objects.filter(resident=resident).count()
    if given >= process.max_supports:
        raise SupportRefused(
            f"You have given all your {process.max_supports} supports: withdraw one first."
        )
    try:
        with transaction.atomic():
            return Support.objects.create(resident=resident, proposal=proposal)
    except IntegrityError as exc:
        raise SupportRefused("You already support this proposal.") from exc


@transaction.atomic
def support_withdraw(
    *, resident: Resident, proposal: Proposal, now: datetime | None = None
) -> None:
    _require_phase(proposal.process, Phase.SUPPORTS, _now(now))
    deleted, _ = Support.objects.filter(resident=resident, proposal=proposal).delete()
    if not deleted:
        raise SupportRefused("You do not support this proposal.")


@transaction.atomic
def supports_close(*, process: Process, now: datetime | None = None) -> list[Proposal]:
    """Once the supports phase is over: record every proposal's support total and send the
    proposals with at least the threshold to review (the others are not selected). Once."""
    process = _locked(process)
    if not process.published:
        raise ProcessNotPublished()
    if _now(now) < process.review_start:
        raise WrongPhase("The supports can only be counted once the supports phase is over.")
    if process.supports_closed_at is not None:
        raise WrongPhase("The supports of this process were already counted.")
    proposals = list(
        Proposal.objects.select_for_update().filter(process=process).order_by("number")
    )
    for proposal in proposals:
        total = Support.objects.filter(proposal=proposal).count()
        selected = total >= process.support_threshold
        proposal.supports_final = total
        proposal.status = ProposalStatus.SELECTED if selected else ProposalStatus.NOT_SELECTED
        proposal.save(update_fields=["supports_final", "status", "updated_at"])
        _record(
            process,
            "supports",
            {
                "number": proposal.number,
                "supports": total,
                "threshold": process.support_threshold,
                "selected": selected,
            },
        )
    process.supports_closed_at = _now(now)
    process.save(update_fields=["supports_closed_at"])
    return proposals


# --- Comments and moderation ---------------------------------------------------------------------


def _require_comment_phase(process: Process, now: datetime) -> None:
    if not process.published:
        raise ProcessNotPublished()
    if process_phase(process, now) not in COMMENT_PHASES:
        raise WrongPhase("Comments are open during the proposals, supports and review phases.")


@transaction.atomic
def comment_add(
    *, resident: Resident, proposal: Proposal, body, now: datetime | None = None
) -> Comment:
    if proposal.process_id != resident.process_id:
        raise InvalidComment("This proposal belongs to another process.")
    _require_comment_phase(proposal.process, _now(now))
    body = _clean_text(body, "comment", MAX_COMMENT, InvalidComment)
    return Comment.objects.create(proposal=proposal, author=resident, body=body)


@transaction.atomic
def comment_flag(*, resident: Resident, comment: Comment) -> CommentFlag:
    """A resident flags a comment for the officials (once per resident and comment)."""
    if comment.proposal.process_id != resident.process_id:
        raise InvalidComment("This comment belongs to another process.")
    if comment.hidden_at is not None:
        raise InvalidComment("This comment is already hidden.")
    flag, created = CommentFlag.objects.get_or_create(comment=comment, resident=resident)
    if not created:
        raise InvalidComment("You have already flagged this comment.")
    return flag


def comment_digest(body: str) -> str:
    """What the record keeps of a hidden comment: SHA-256 of its UTF-8 text, in hex."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@transaction.atomic
def comment_hide(*, comment: Comment, reason, now: datetime | None = None) -> Comment:
    """Officials hide a comment with a public reason (``moderation`` entry on the record)."""
    comment = (
        Comment.objects.select_for_update().select_related("proposal__process").get(pk=comment.pk)
    )
    reason = _clean_text(reason, "reason", MAX_REASON, ModerationRefused)
    if comment.hidden_at is not None:
        raise ModerationRefused("This comment is already hidden.")
    comment.hidden_at = _now(now)
    comment.hidden_reason = reason
    comment.save(update_fields=["hidden_at", "hidden_reason"])
    _record(
        comment.proposal.process,
        "moderation",
        {
            "number": comment.proposal.number,
            "comment": comment.pk,
            "action": "hide",
            "digest": comment_digest(comment.body),
            "reason": reason,
        },
    )
    return comment


# --- Review --------------------------------------------------------------------------------------


@transaction.atomic
def proposal_review(
    *, proposal: Proposal, feasible, reason, adjusted_cost=None, now: datetime | None = None
) -> Proposal:
    """Officials decide whether a proposal in review is feasible, with a public reason and, when
    it is, the adjusted cost (at most the district's budget). Once per proposal."""
    process = _locked(proposal.process)
    proposal = Proposal.objects.select_for_update().select_related("district").get(pk=proposal.pk)
    _require_phase(process, Phase.REVIEW, _now(now))
    if proposal.status != ProposalStatus.SELECTED:
        raise ReviewRefused("Only a proposal in review (selected by its supports) can be reviewed.")
    if type(feasible) is not bool:
        raise ReviewRefused("Say whether the proposal is feasible.")
    reason = _clean_text(reason, "reason", MAX_REASON, ReviewRefused)
    cost = None
    if feasible:
        limit = min(proposal.district.budget, MAX_AMOUNT)
        cost = _clean_amount(adjusted_cost, "adjusted cost", limit, ReviewRefused)
    elif adjusted_cost not in (None, ""):
        raise ReviewRefused("A proposal that is not feasible has no adjusted cost.")
    proposal.status = ProposalStatus.FEASIBLE if feasible else ProposalStatus.UNFEASIBLE
    proposal.review_reason = reason
    proposal.adjusted_cost = cost
    proposal.save(update_fields=["status", "review_reason", "adjusted_cost", "updated_at"])
    _record(
        process,
        "review",
        {"number": proposal.number, "feasible": feasible, "reason": reason, "cost": cost},
    )
    return proposal


# --- The district elections (created by operations.participation) ---------------------------------


@dataclass(frozen=True)
class DistrictBallot:
    """What one district votes on: its budget and its feasible proposals (adjusted costs)."""

    district: District
    proposals: list[Proposal]


@transaction.atomic
def process_elections_plan(
    *, process: Process, now: datetime | None = None
) -> list[DistrictBallot]:
    """Lock the process and say what each district votes on. Refused unless the process is in
    its review phase (the elections open when voting starts), the supports were counted, every
    proposal in review was reviewed, no election was created yet and some proposal is
    feasible. The caller (operations) creates the elections in the same transaction and then
    calls :func:`process_elections_attach`."""
    process = _locked(process)
    _require_phase(process, Phase.REVIEW, _now(now))
    if process.supports_closed_at is None:
        raise WrongPhase("Count the supports first.")
    if District.objects.filter(process=process, election_id__isnull=False).exists():
        raise WrongPhase("The district elections of this process were already created.")
    pending = Proposal.objects.filter(process=process, status=ProposalStatus.SELECTED)
    if pending.exists():
        numbers = ", ".join(str(n) for n in pending.values_list("number", flat=True)[:20])
        raise WrongPhase(f"Review every proposal in review first (still: {numbers}).")
    plan = []
    for district in District.objects.filter(process=process).order_by("slug"):
        proposals = list(
            Proposal.objects.filter(
                process=process, district=district, status=ProposalStatus.FEASIBLE
            ).order_by("number")
        )
        if proposals:
            plan.append(DistrictBallot(district, proposals))
    if not plan:
        raise WrongPhase("No proposal is feasible: there is nothing to vote on.")
    return plan


@transaction.atomic
def process_elections_attach(
    *, process: Process, elections: list[tuple[DistrictBallot, str, str]]
) -> None:
    """Record the district elections created for the plan (``(ballot, election id, slug)``):
    each district remembers its election, and the ``elections`` entry goes on the record."""
    process = _locked(process)
    items = []
    for ballot, election_id, slug in elections:
        District.objects.filter(pk=ballot.district.pk).update(
            election_id=election_id, election_slug=slug
        )
        items.append(
            {
                "district": ballot.district.slug,
                "election": str(election_id),
                "slug": slug,
                "budget": ballot.district.budget,
                "proposals": [
                    {"number": p.number, "cost": p.adjusted_cost} for p in ballot.proposals
                ],
            }
        )
    _record(process, "elections", {"elections": items})
