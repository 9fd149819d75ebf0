"""Voters, their public credentials, credential issuance runs and one-time login codes.

The server never stores a secret credential: ``PublicCredential`` holds public keys with their
weights, in a table that has no link to the voter roll. A voter who has cast a ballot is bound to
its credential by a keyed tag (``Voter.credential_tag``), not by the key itself, so the tables
alone do not link the roll to the credentials. Login codes are stored as keyed hashes.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crypto.manifest import MAX_WEIGHT


class Voter(models.Model):
    election = models.ForeignKey("voting.Election", on_delete=models.PROTECT, related_name="voters")
    identifier = models.CharField(_("identifier"), max_length=200)
    #: stored in lower case: the roll and the login compare addresses case-insensitively
    email = models.EmailField(_("e-mail address"))
    weight = models.PositiveIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_WEIGHT)]
    )
    #: the day (UTC) of the voter's first ballot: turnout, never which ballot
    voted_at = models.DateTimeField(_("voted on"), null=True, blank=True)
    audits = models.PositiveIntegerField(_("audited ballots"), default=0, editable=False)
    #: the credential of the voter's first ballot, as a keyed tag
    #: (identity.services.voters.credential_tag): every later ballot and audit of the voter must
    #: carry it, and no other voter may cast with it. Private: shown nowhere, not even in the admin.
    credential_tag = models.CharField(max_length=64, null=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["election_id", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["election", "identifier"], name="voter_identifier"),
            models.UniqueConstraint(fields=["election", "email"], name="voter_email"),
            models.UniqueConstraint(
                fields=["election", "credential_tag"],
                condition=Q(credential_tag__isnull=False),
                name="voter_credential_tag",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=1, weight__lte=MAX_WEIGHT), name="voter_weight_range"
            ),
        ]

    def __str__(self) -> str:
        return self.identifier


class PublicCredential(models.Model):
    """A published credential: public key (SEC1 hex) and weight. Unlinkable to the roll."""

    election = models.ForeignKey(
        "voting.Election",
        on_delete=models.PROTECT,
        related_name="public_credentials",
        db_index=False,
    )
    public_key = models.CharField(max_length=130)
    weight = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WEIGHT)]
    )

    class Meta:
        ordering = ["election_id", "public_key"]
        constraints = [
            models.UniqueConstraint(fields=["election", "public_key"], name="credential_key"),
        ]

    def __str__(self) -> str:
        return f"{self.public_key[:18]}… ×{self.weight}"


class IssuanceStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Sending")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")


class CredentialIssuance(models.Model):
    """One run of the server-side credential authority: generate, e-mail, publish."""

    election = models.ForeignKey(
        "voting.Election", on_delete=models.PROTECT, related_name="credential_issuances"
    )
    status = models.CharField(
        max_length=16, choices=IssuanceStatus.choices, default=IssuanceStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    emails_sent = models.PositiveIntegerField(default=0)
    voters = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    #: the credential e-mails' language: the one the official worked in when starting the run
    language = models.CharField(max_length=16, default="en", editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one run in progress or done per election; failed runs may be retried.
            models.UniqueConstraint(
                fields=["election"],
                condition=~Q(status="failed"),
                name="issuance_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.election_id}: {self.status}"


class OneTimeLoginCode(models.Model):
    """A one-time login code sent by e-mail: only its keyed hash is stored. Each roll whose
    members log in by code (voters here, a process's residents in participation/) has a concrete
    subclass with a foreign key to its member, named by ``identity.services.login.LoginRoll``."""

    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True


class LoginCode(OneTimeLoginCode):
    """A voter's one-time login code."""

    voter = models.ForeignKey(Voter, on_delete=models.CASCADE, related_name="login_codes")

    class Meta:
        indexes = [models.Index(fields=["voter", "created_at"], name="login_code_voter")]

    def __str__(self) -> str:
        return f"login code of voter {self.voter_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"


class RateLimitBucket(models.Model):
    """A fixed-window request counter shared by every web worker (e.g. login requests per IP)."""

    key = models.CharField(max_length=128, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["window_start"], name="rate_limit_window")]

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


def election_model() -> type[models.Model]:
    """The election model (``voting.Election``). identity sits below voting and imports none of
    it: it names the model by its label in its foreign keys and reaches the class through them.
    Its services take an election instance and use its own manager (``type(election).objects``)
    and its audit trail (``election.audit_events``)."""
    return Voter._meta.get_field("election").related_model
