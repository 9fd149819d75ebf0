"""Reads of the participation app: the current phase, the timeline, public lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from participation.models import (
    PHASE_STARTS,
    PHASES,
    Phase,
    Process,
    Proposal,
    ProposalStatus,
    Resident,
)


def process_phase(process: Process, now: datetime) -> Phase:
    """The current phase: the last one whose start has come (information before the first)."""
    current = Phase.INFORMATION
    for phase, field in PHASE_STARTS.items():
        if getattr(process, field) <= now:
            current = phase
    return current


@dataclass(frozen=True)
class TimelineStep:
    phase: Phase
    start: datetime | None
    end: datetime | None
    state: str  # "done", "current" or "upcoming"


def process_timeline(process: Process, now: datetime) -> list[TimelineStep]:
    current = PHASES.index(process_phase(process, now))
    starts = [None, *(getattr(process, PHASE_STARTS[p]) for p in PHASES[1:])]
    steps = []
    for i, phase in enumerate(PHASES):
        end = starts[i + 1] if i + 1 < len(PHASES) else None
        state = "done" if i < current else "current" if i == current else "upcoming"
        steps.append(TimelineStep(phase, starts[i], end, state))
    return steps


def process_get_public(*, slug: str) -> Process:
    try:
        return Process.objects.get(slug=slug, published=True)
    except Process.DoesNotExist as exc:
        raise Http404("No such process.") from exc


def process_list_public() -> QuerySet[Process]:
    return Process.objects.filter(published=True)


def resident_find(*, container_id: Any, identifier: str | None = None, email: str | None = None):
    """The resident of the process with this identifier, or this e-mail address (compared in
    lower case), or ``None``."""
    residents = Resident.objects.filter(process_id=container_id).select_related("process")
    if identifier is not None:
        return residents.filter(identifier=identifier.strip()).first()
    if email is not None:
        return residents.filter(email=email.strip().lower()).first()
    return None


def resident_get(*, process: Process, resident_id: int | None) -> Resident | None:
    if resident_id is None:
        return None
    return (
        Resident.objects.select_related("district").filter(process=process, pk=resident_id).first()
    )


def proposals_public(
    *,
    process: Process,
    district: str = "",
    category: str = "",
    status: str = "",
    query: str = "",
) -> QuerySet[Proposal]:
    """The process's proposals with their live support counts, filtered (unknown filter values
    match nothing, they are never an error)."""
    proposals = (
        Proposal.objects.filter(process=process)
        .select_related("district", "category")
        .annotate(support_count=Count("supports"))
        .order_by("number")
    )
    if district:
        proposals = proposals.filter(district__slug=district)
    if category:
        proposals = proposals.filter(category_id=int(category) if category.isdigit() else -1)
    if status:
        if status not in ProposalStatus.values:
            return proposals.none()
        proposals = proposals.filter(status=status)
    query = query.strip()
    if query:
        proposals = proposals.filter(Q(title__icontains=query) | Q(description__icontains=query))
    return proposals


def proposal_get_public(*, process: Process, number: int) -> Proposal:
    try:
        return (
            Proposal.objects.select_related("district", "category", "author")
            .annotate(support_count=Count("supports"))
            .get(process=process, number=number)
        )
    except Proposal.DoesNotExist as exc:
        raise Http404("No such proposal.") from exc


def resident_supported(*, resident: Resident | None) -> set[int]:
    """The ids of the proposals the resident supports."""
    if resident is None:
        return set()
    return set(resident.supports.values_list("proposal_id", flat=True))
