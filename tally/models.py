"""Trustees, the key ceremony's progress, tally runs and the partial decryptions received.

Nothing here is secret: trustees keep their secrets in their own key stores (tally/keystore.py);
the server stores their public keys, the public messages they sent (also on the board), and the
hash of the one-time enrolment token it e-mailed them. Domain operations live in
``tally.services``; these models hold fields and constraints only.
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crypto.threshold import MAX_TRUSTEES


class CeremonyPhase(models.TextChoices):
    REGISTRATION = "registration", _("Registration of the trustees")
    COMMIT = "commit", _("Commitments")
    DEAL = "deal", _("Deals")
    CHECK = "check", _("Share checks and complaints")
    CONFIRM = "confirm", _("Confirmations")
    DONE = "done", _("Done: election key installed")
    FAILED = "failed", _("Failed")


class KeyCeremony(models.Model):
    """The t-of-n key ceremony of one election (docs/protocol.md §8)."""

    election = models.OneToOneField(
        "voting.Election", on_delete=models.PROTECT, related_name="key_ceremony"
    )
    threshold = models.PositiveSmallIntegerField(
        _("threshold"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TRUSTEES)],
        help_text=_("Any this many trustees can decrypt the tally; fewer learn nothing."),
    )
    phase = models.CharField(
        max_length=16, choices=CeremonyPhase.choices, default=CeremonyPhase.REGISTRATION
    )
    #: the ceremony context C (docs/protocol.md §8.2), once the ``ceremony`` entry is on the board
    context = models.CharField(max_length=64, blank=True)
    phase_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("key ceremony")
        constraints = [
            models.CheckConstraint(
                condition=Q(phase__in=CeremonyPhase.values), name="ceremony_phase_valid"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=1, threshold__lte=MAX_TRUSTEES),
                name="ceremony_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.election}: {self.threshold} of n"


class TrusteeMode(models.TextChoices):
    WORKER = "worker", _("Worker (runs a Celery worker with its key store)")
    OFFLINE = "offline", _("Offline (pnyx-trustee commands and uploads)")


class TrusteeState(models.TextChoices):
    INVITED = "invited", _("Named, not registered")
    REGISTERED = "registered", _("Registered")
    COMMITTED = "committed", _("Committed")
    DEALT = "dealt", _("Dealt")
    CHECKED = "checked", _("Checked its shares")
    CONFIRMED = "confirmed", _("Confirmed")


class Trustee(models.Model):
    """Trustee ``index`` (1..n) of an election: who, how it takes part, its registered key."""

    ceremony = models.ForeignKey(KeyCeremony, on_delete=models.PROTECT, related_name="trustees")
    index = models.PositiveSmallIntegerField(
        _("index"), validators=[MinValueValidator(1), MaxValueValidator(MAX_TRUSTEES)]
    )
    #: public identifier: names the trustee's Celery queue (unique whatever shares the broker)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    mode = models.CharField(
        _("mode"), max_length=16, choices=TrusteeMode.choices, default=TrusteeMode.WORKER
    )
    state = models.CharField(
        max_length=16, choices=TrusteeState.choices, default=TrusteeState.INVITED
    )
    #: Yᵢ (SEC1 hex), once registered
    public_key = models.CharField(max_length=130, blank=True)
    #: SHA-256 of the one-time enrolment token e-mailed to the trustee (never the token)
    enrolment_token_hash = models.CharField(max_length=64, blank=True)
    enrolment_sent_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    #: why this trustee's deal was disqualified (it stays a key holder: docs/trustees.md)
    disqualified = models.CharField(max_length=500, blank=True)
    #: the last problem a trustee's worker reported (e.g. a locked key store), for the officials
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    #: a worker trustee: when its worker last answered that it had nothing to do, and the board
    #: entry it had verified up to then (it looks at the board while the election is open)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    verified_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["ceremony_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["ceremony", "index"], name="trustee_index"),
            models.UniqueConstraint(
                fields=["ceremony", "public_key"],
                condition=~Q(public_key=""),
                name="trustee_public_key",
            ),
            models.CheckConstraint(condition=Q(mode__in=TrusteeMode.values), name="trustee_mode"),
            models.CheckConstraint(
                condition=Q(state__in=TrusteeState.values), name="trustee_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index}. {self.name}"

    @property
    def queue(self) -> str:
        """The Celery queue a worker trustee consumes: ``celery -A config worker -Q <queue>``."""
        return f"trustee.{self.uid}"


class MessageKind(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    COMMITMENT = "commitment", _("Commitment")
    DEAL = "deal", _("Deal")
    CHECK = "check", _("Share check")
    COMPLAINT = "complaint", _("Complaint")
    CONFIRMATION = "confirmation", _("Confirmation")


class CeremonyMessage(models.Model):
    """A ceremony message accepted from a trustee, with the board entry it produced (none for a
    share check without complaint). Unique per trustee and kind (per dealer for complaints): a
    message received twice — a redelivered task, a repeated upload — is recorded once."""

    ceremony = models.ForeignKey(KeyCeremony, on_delete=models.PROTECT, related_name="messages")
    trustee = models.ForeignKey(Trustee, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    #: complaints: the dealer complained about; 0 for the other kinds
    dealer = models.PositiveSmallIntegerField(default=0)
    entry = models.OneToOneField(
        "board.BoardEntry", on_delete=models.PROTECT, null=True, related_name="+"
    )
    #: for a deal: whether it passed the public checks of §8.5 (its payload is on the board)
    valid = models.BooleanField(default=True)
    via = models.CharField(max_length=16)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ceremony_id", "received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ceremony", "trustee", "kind", "dealer"], name="ceremony_message_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of trustee {self.trustee_id}"


class TallyStatus(models.TextChoices):
    AGGREGATING = "aggregating", _("Adding up the ballots")
    DECRYPTING = "decrypting", _("Waiting for partial decryptions")
    DONE = "done", _("Result published")


class TallyRun(models.Model):
    """The tally of one election: frozen at the close entry, aggregated in chunks, decrypted."""

    election = models.OneToOneField(
        "voting.Election", on_delete=models.PROTECT, related_name="tally_run"
    )
    status = models.CharField(
        max_length=16, choices=TallyStatus.choices, default=TallyStatus.AGGREGATING
    )
    #: the board head frozen at close: the ``state`` entry open → closed
    frozen_seq = models.BigIntegerField()
    frozen_hash = models.CharField(max_length=64)
    ballots_total = models.PositiveIntegerField(default=0)  #: ballots on the board at close
    ballots_aggregated = models.PositiveIntegerField(default=0)  #: of those, added up so far
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    counted = models.PositiveIntegerField(null=True, blank=True)
    superseded = models.PositiveIntegerField(null=True, blank=True)
    weight = models.PositiveBigIntegerField(null=True, blank=True)
    tally_entry = models.OneToOneField(
        "board.BoardEntry", on_delete=models.PROTECT, null=True, related_name="+"
    )
    result_entry = models.OneToOneField(
        "board.BoardEntry", on_delete=models.PROTECT, null=True, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dispatches = models.PositiveIntegerField(default=0)  #: aggregation runs started (resumes)
    #: the last time the tally moved forward (chunks planned or added up, the tally published, a
    #: partial decryption received): the sweeper (tally.services.heal) finds stalls from it
    progress_at = models.DateTimeField(default=timezone.now)
    #: the last aggregation failure (which chunk, what; public data only), cleared on publication
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TallyStatus.values), name="tally_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"tally of {self.election}"


class TallyChunk(models.Model):
    """A range of board positions whose counted ballots one Celery task adds up."""

    run = models.ForeignKey(TallyRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    ballots = models.PositiveIntegerField(default=0)  #: ballots in the range (counted or not)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    #: once done: its public sums (``crypto.tally.Aggregator.export()`` as JSON), merged by the
    #: publication — kept here, not in the broker, so that no broker restart loses them
    export = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)  #: who ran (or runs) it last
    #: why its last attempt failed (cleared when an attempt succeeds)
    error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="tally_chunk_number"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.number} [{self.first_seq}, {self.last_seq}]"


#: a trustee whose partial decryptions were rejected this many times may send no more
MAX_DECRYPTION_ATTEMPTS = 3


class DecryptionStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REJECTED = "rejected", _("Rejected (proof failed)")
    LATE = "late", _("Arrived after the result")


class PartialDecryptionRecord(models.Model):
    """A partial decryption of the tally received from a trustee: at most one valid one per
    trustee; after a rejected one the trustee may send another, up to
    ``MAX_DECRYPTION_ATTEMPTS`` rejected ones (docs/protocol.md §12.4)."""

    run = models.ForeignKey(TallyRun, on_delete=models.PROTECT, related_name="decryptions")
    trustee = models.ForeignKey(Trustee, on_delete=models.PROTECT, related_name="decryptions")
    status = models.CharField(max_length=16, choices=DecryptionStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    entry = models.OneToOneField(
        "board.BoardEntry", on_delete=models.PROTECT, null=True, related_name="+"
    )
    rejection_entry = models.OneToOneField(
        "board.BoardEntry", on_delete=models.PROTECT, null=True, related_name="+"
    )
    via = models.CharField(max_length=16)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "trustee"],
                condition=Q(status="valid"),
                name="decryption_valid_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DecryptionStatus.values), name="decryption_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"decryption by trustee {self.trustee_id}: {self.status}"


class TrusteeDispatch(models.Model):
    """When a task was last sent to a worker trustee's queue, for which step (shown to officials:
    "sent 5 minutes ago, no answer" points at a stopped worker)."""

    trustee = models.ForeignKey(Trustee, on_delete=models.CASCADE, related_name="dispatches")
    step = models.CharField(max_length=16)
    sent_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trustee", "step"], name="trustee_dispatch_step"),
        ]

    def __str__(self) -> str:
        return f"{self.step} → trustee {self.trustee_id}"


class MixStatus(models.TextChoices):
    MIXING = "mixing", _("The trustees are shuffling")
    DECRYPTING = "decrypting", _("Waiting for the decryptions of the final list")
    DONE = "done", _("Rows published")
    FAILED = "failed", _("Failed: fewer than t trustees shuffled")


class MixRun(models.Model):
    """The mixnet of an election with mixed questions (docs/protocol.md §15.11): the trustees
    shuffle in index order after the tally entry, one at a time; a trustee that does not answer
    within ``PNYX_MIX_TIMEOUT_SECONDS`` is skipped (a ``mix-skip`` entry). The board holds the
    shuffles; this row only tracks whose turn it is."""

    election = models.OneToOneField(
        "voting.Election", on_delete=models.PROTECT, related_name="mix_run"
    )
    status = models.CharField(max_length=16, choices=MixStatus.choices, default=MixStatus.MIXING)
    rows = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    #: the trustee whose shuffle is awaited (n + 1 once every trustee shuffled or was skipped)
    next_mixer = models.PositiveSmallIntegerField(default=1)
    asked_at = models.DateTimeField(null=True, blank=True)
    shuffled = models.JSONField(default=list)  #: trustee indices that shuffled, in order
    skipped = models.JSONField(default=list)  #: trustee indices skipped
    decrypted = models.JSONField(default=list)  #: trustees whose decryption is on the board
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MixStatus.values), name="mix_status"),
        ]

    def __str__(self) -> str:
        return f"mix of {self.election}"
