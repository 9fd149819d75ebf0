"""A participatory budget process: its phases, districts with their budgets, residents' roll,
categories, proposals, supports and comments.

Models hold fields and constraints only; every change goes through ``participation.services``,
which appends the public part of it to the process's record (board.records) in the same
transaction.
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from identity.models import OneTimeLoginCode

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,62}\Z",
    _("Lowercase letters, digits and hyphens, starting with a letter or digit (at most 63)."),
)
#: the largest amount (cost, budget) in whole currency units: a safe JSON integer with room
MAX_AMOUNT = 10**12


class Phase(models.TextChoices):
    INFORMATION = "information", _("Information")
    PROPOSALS = "proposals", _("Proposals")
    SUPPORTS = "supports", _("Supports")
    REVIEW = "review", _("Review")
    VOTING = "voting", _("Voting")
    RESULTS = "results", _("Results")
    IMPLEMENTATION = "implementation", _("Implementation")


#: the phases in order, each but the first with the field of its start date
PHASES = list(Phase)
PHASE_STARTS = {
    Phase.PROPOSALS: "proposals_start",
    Phase.SUPPORTS: "supports_start",
    Phase.REVIEW: "review_start",
    Phase.VOTING: "voting_start",
    Phase.RESULTS: "results_start",
    Phase.IMPLEMENTATION: "implementation_start",
}


class Process(models.Model):
    """A participatory budget process. Its current phase is the last one whose start date has
    come (``participation.selectors.process_phase``); information before the proposals open."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(_("slug"), max_length=63, unique=True, validators=[SLUG_VALIDATOR])
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), max_length=20_000, blank=True)
    published = models.BooleanField(
        _("published"), default=False, help_text=_("Shown to the public (cannot be undone).")
    )
    proposals_start = models.DateTimeField(_("proposals open"))
    supports_start = models.DateTimeField(_("supports open (proposals close)"))
    review_start = models.DateTimeField(_("review starts (supports close)"))
    voting_start = models.DateTimeField(_("voting starts"))
    results_start = models.DateTimeField(_("results"))
    implementation_start = models.DateTimeField(_("implementation starts"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    max_supports = models.PositiveSmallIntegerField(
        _("supports per resident"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    support_threshold = models.PositiveIntegerField(
        _("supports needed for review"), default=1, validators=[MinValueValidator(1)]
    )
    max_cost = models.PositiveBigIntegerField(
        _("largest estimated cost of a proposal"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_AMOUNT)],
    )
    #: the process's public record (board.models.RecordLog), created with the process
    record_id = models.UUIDField(null=True, editable=False)
    #: when the supports were counted (participation.services.supports_close)
    supports_closed_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("process")
        verbose_name_plural = _("processes")
        ordering = ["-proposals_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(supports_start__gt=F("proposals_start"))
                & Q(review_start__gt=F("supports_start"))
                & Q(voting_start__gt=F("review_start"))
                & Q(results_start__gt=F("voting_start"))
                & Q(implementation_start__gt=F("results_start")),
                name="process_phases_in_order",
            ),
            models.CheckConstraint(
                condition=Q(max_cost__gte=1, max_cost__lte=MAX_AMOUNT),
                name="process_max_cost_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class District(models.Model):
    """A district (scope) of a process, with its budget."""

    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="districts")
    slug = models.CharField(_("code"), max_length=63, validators=[SLUG_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    budget = models.PositiveBigIntegerField(
        _("budget"), validators=[MinValueValidator(1), MaxValueValidator(MAX_AMOUNT)]
    )
    #: the district's election (voting.Election, by id: participation does not import voting),
    #: created from its feasible proposals by operations.participation
    election_id = models.UUIDField(null=True, editable=False)
    election_slug = models.CharField(max_length=63, blank=True, editable=False)

    class Meta:
        verbose_name = _("district")
        ordering = ["process_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["process", "slug"], name="district_slug"),
            models.UniqueConstraint(fields=["process", "name"], name="district_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="categories")
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["process_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["process", "name"], name="category_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Resident(models.Model):
    """A resident on the process's roll, in one district. Logs in by e-mail code (identity)."""

    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="residents")
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="residents")
    identifier = models.CharField(_("identifier"), max_length=200)
    #: stored in lower case
    email = models.EmailField(_("e-mail address"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("resident")
        ordering = ["process_id", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["process", "identifier"], name="resident_identifier"),
            models.UniqueConstraint(fields=["process", "email"], name="resident_email"),
        ]

    def __str__(self) -> str:
        return self.identifier


class ResidentLoginCode(OneTimeLoginCode):
    """A resident's one-time login code (identity.services.login, ``RESIDENT_ROLL``)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="login_codes")

    class Meta:
        indexes = [models.Index(fields=["resident", "created_at"], name="resident_code_resident")]

    def __str__(self) -> str:
        return f"login code of resident {self.resident_id}"


class ProposalStatus(models.TextChoices):
    PUBLISHED = "published", pgettext_lazy("proposal status", "Published")
    SELECTED = "selected", pgettext_lazy("proposal status", "In review")
    NOT_SELECTED = "not_selected", pgettext_lazy("proposal status", "Not enough supports")
    FEASIBLE = "feasible", pgettext_lazy("proposal status", "Feasible")
    UNFEASIBLE = "unfeasible", pgettext_lazy("proposal status", "Not feasible")


class Proposal(models.Model):
    """A resident's proposal. ``number`` counts from 1 in the process; ``version`` from 1, one
    more at each edit (every version is on the record)."""

    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="proposals")
    number = models.PositiveIntegerField()
    version = models.PositiveIntegerField(default=1)
    author = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="proposals")
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="proposals")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="proposals")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    cost = models.PositiveBigIntegerField(_("estimated cost"))
    status = models.CharField(
        _("status"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PUBLISHED
    )
    #: the support total recorded at the supports phase's close
    supports_final = models.PositiveIntegerField(null=True, blank=True)
    review_reason = models.TextField(_("review reason"), max_length=5_000, blank=True)
    adjusted_cost = models.PositiveBigIntegerField(_("adjusted cost"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("proposal")
        ordering = ["process_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["process", "number"], name="proposal_number"),
            models.CheckConstraint(condition=Q(cost__gte=1), name="proposal_cost_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class ProposalImage(models.Model):
    """An image of a proposal, as re-encoded without metadata (participation.images); served
    by its SHA-256, which the proposal's record entries name."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="images")
    digest = models.CharField(max_length=64)
    description = models.CharField(_("description"), max_length=200)
    content_type = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "digest"], name="proposal_image_once"),
        ]

    def __str__(self) -> str:
        return f"image {self.digest[:12]} of {self.proposal_id}"


class Support(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="supports")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="supports")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "resident"], name="support_once"),
        ]

    def __str__(self) -> str:
        return f"support of {self.resident_id} for {self.proposal_id}"


class Comment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField(_("comment"), max_length=2_000)
    created_at = models.DateTimeField(auto_now_add=True)
    hidden_reason = models.TextField(_("reason for hiding"), max_length=1_000, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("comment")
        ordering = ["proposal_id", "created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.proposal_id}"


class CommentFlag(models.Model):
    """A resident's flag on a comment, for the officials' moderation queue."""

    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="flags")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "resident"], name="comment_flag_once"),
        ]

    def __str__(self) -> str:
        return f"flag of {self.resident_id} on comment {self.comment_id}"
