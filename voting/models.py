"""Elections, their questions and the cast ballots (the bulletin board: board.models).

Models hold fields and constraints only; every change goes through
``voting.services``. The board tables are append-only: their rows refuse
``save()`` on an existing row and ``delete()``, their querysets refuse
``update()`` and ``delete()``, and on PostgreSQL a trigger refuses UPDATE and
DELETE statements on them whatever the client.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from board.elections import ElectionState  # noqa: F401 - re-exported: voting.models.ElectionState
from board.models import AppendOnlyModel, BoardEntry
from crypto.ballot import MAX_AMOUNT, MAX_SCORE

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,62}\Z",
    _("Lowercase letters, digits and hyphens, starting with a letter or digit (at most 63)."),
)


class Election(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(_("slug"), max_length=63, unique=True, validators=[SLUG_VALIDATOR])
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), max_length=20_000, blank=True)
    opens_at = models.DateTimeField(_("voting opens at"))
    closes_at = models.DateTimeField(_("voting closes at"))
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=ElectionState.choices,
        default=ElectionState.DRAFT,
        editable=False,
    )

    # Public output of the trustees' key ceremony, once installed.
    threshold = models.PositiveSmallIntegerField(_("threshold"), null=True, editable=False)
    public_key = models.CharField(_("election public key"), max_length=130, editable=False)
    verification_keys = models.JSONField(default=list, editable=False)
    #: [{"index": i, "name": …, "public_key": hex}], indices 1..n in order
    trustees = models.JSONField(default=list, editable=False)
    ceremony_context = models.CharField(max_length=64, editable=False)

    # The published public credential list (identity.services.credentials).
    credentials_digest = models.CharField(max_length=64, editable=False)
    credentials_count = models.PositiveIntegerField(null=True, editable=False)
    credentials_total_weight = models.PositiveBigIntegerField(null=True, editable=False)

    # How many of the election's witnesses (ElectionWitness) must cosign a checkpoint of its board
    # for it to count as witnessed (protocol §14.4).
    witness_quorum = models.PositiveSmallIntegerField(
        _("witness quorum"),
        default=0,
        help_text=_("How many of the witnesses below must cosign each checkpoint of the board."),
    )

    # Frozen when the election opens: canonical JSON bytes and their SHA-256.
    manifest_json = models.TextField(editable=False)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opens_at", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="election_window_ordered",
                violation_error_message=_("Voting must close after it opens."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=ElectionState.values), name="election_state_valid"
            ),
            models.UniqueConstraint(
                fields=["fingerprint"], condition=~Q(fingerprint=""), name="election_fingerprint"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # The manifest states times to the second: store them that way.
        for name in ("opens_at", "closes_at"):
            value = getattr(self, name)
            if value is not None and value.microsecond:
                setattr(self, name, value.replace(microsecond=0))
        super().save(*args, **kwargs)

    @property
    def key_installed(self) -> bool:
        return bool(self.public_key)

    @property
    def credentials_published(self) -> bool:
        return bool(self.credentials_digest)


class ElectionWitness(models.Model):
    """An independent witness of the election's board (a newspaper, a university, a party) that
    runs ``pnyx-witness``: named in the manifest with its key, asked to cosign every checkpoint."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="witnesses")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    name = models.CharField(
        _("name"),
        max_length=200,
        help_text=_("The witness's key name, as `pnyx-witness show-key` prints it."),
    )
    key = models.CharField(
        _("verifier key"),
        max_length=400,
        help_text=_("name+keyid+key, the line `pnyx-witness show-key` prints."),
    )
    url = models.URLField(
        _("URL"),
        max_length=400,
        blank=True,
        help_text=_("Where the witness answers add-checkpoint requests (its submission prefix)."),
    )

    class Meta:
        ordering = ["election", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["election", "name"], name="election_witness_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from crypto.errors import InvalidNote
        from crypto.note import SIG_COSIGNATURE_V1, NoteVerifier

        try:
            verifier = NoteVerifier.from_vkey(self.key.strip())
        except InvalidNote as exc:
            raise ValidationError({"key": str(exc)}) from exc
        if verifier.sig_type != SIG_COSIGNATURE_V1:
            raise ValidationError({"key": _("A witness key is a cosignature/v1 key.")})
        if verifier.name != self.name:
            raise ValidationError(
                {"name": _("The name must be the key's name: %(name)s.") % {"name": verifier.name}}
            )
        self.key = self.key.strip()


class QuestionKind(models.TextChoices):
    REFERENDUM = "referendum", _("Referendum (yes / no)")
    SINGLE = "single", _("Single choice")
    APPROVAL = "approval", _("Approval (choose between min and max)")
    BUDGET = "budget", _("Participatory budget")
    SCORE = "score", _("Score (each option gets 0 to S)")


class Question(models.Model):
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=16, choices=QuestionKind.choices)
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    blank_allowed = models.BooleanField(
        _("blank vote allowed"),
        default=False,
        help_text=_("Referendum and single choice: a voter may select no option."),
    )
    min_selections = models.PositiveSmallIntegerField(
        _("minimum selections"),
        null=True,
        blank=True,
        help_text=_("Approval and budget only; empty means 0. Score: the minimum total score."),
    )
    max_selections = models.PositiveSmallIntegerField(
        _("maximum selections"),
        null=True,
        blank=True,
        help_text=_(
            "Approval and budget only; empty means every option. Score: the maximum total "
            "score (empty means no limit)."
        ),
    )
    max_score = models.PositiveSmallIntegerField(
        _("maximum score"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SCORE)],
        help_text=_("Score only: each option gets a score from 0 to this (at most 10)."),
    )
    budget = models.PositiveBigIntegerField(
        _("budget"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_AMOUNT)],
        help_text=_("Budget only: the selected options may cost at most this much."),
    )
    mixed = models.BooleanField(
        _("mixed"),
        default=False,
        help_text=_(
            "Approval and budget only: each ballot's answer also goes through the trustees' "
            "mixnet and is published, anonymous, after the close (protocol §15.10)."
        ),
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=QuestionKind.values), name="question_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    cost = models.PositiveBigIntegerField(
        _("cost"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_AMOUNT)],
        help_text=_("Budget questions only."),
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Ballot(AppendOnlyModel):
    """A cast ballot's bookkeeping: which board entry, which credential, which earlier ballot of
    the same credential it supersedes. Never who cast it."""

    election = models.ForeignKey(
        Election, on_delete=models.PROTECT, related_name="ballots", db_index=False
    )
    entry = models.OneToOneField(BoardEntry, on_delete=models.PROTECT, related_name="ballot")
    tracker = models.CharField(max_length=64)
    credential = models.CharField(max_length=130)
    seq = models.BigIntegerField()
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    #: the ballot's listed ciphertexts as raw points, α₀ ‖ β₀ ‖ α₁ ‖ β₁ ‖ … (65 bytes each, every
    #: question in order): what the tally adds up, without decoding the board entry's JSON
    points = models.BinaryField(null=True, editable=False)

    class Meta:
        ordering = ["election_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["election", "tracker"], name="ballot_tracker"),
        ]
        indexes = [
            models.Index(fields=["election", "credential", "seq"], name="ballot_credential"),
        ]

    def __str__(self) -> str:
        return self.tracker


class AuditedAlpha(AppendOnlyModel):
    """The α of every choice and budget-bit ciphertext of an ``audit`` entry, written in the
    audit's transaction: a ballot that reuses one is never cast (docs/protocol.md §12.2), found by
    an index lookup under the board lock. One row per distinct α of an election."""

    election = models.ForeignKey(
        Election, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    #: the point, SEC1 uncompressed (65 bytes): a point has exactly one encoding (§2.2)
    alpha = models.BinaryField(max_length=65)
    #: the first audit entry that published it
    entry = models.ForeignKey(
        BoardEntry, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["election", "alpha"], name="audited_alpha"),
        ]

    def __str__(self) -> str:
        return f"{self.election_id}: {bytes(self.alpha).hex()[:18]}…"


class AuditEvent(AppendOnlyModel):
    """Who did what, for officials (private; the board says what happened, not who did it)."""

    election = models.ForeignKey(
        Election, on_delete=models.PROTECT, null=True, related_name="audit_events"
    )
    action = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.action
