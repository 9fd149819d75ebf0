"""Healing without a human: the sweeper that Celery beat runs every ``PNYX_SWEEP_SECONDS``.

A tally step can be lost without anyone noticing: a worker machine that vanishes holds its task
until the broker's visibility timeout (an hour by default), a Redis restart loses every queued
message, a trustee's worker killed in the middle of a step never answers. Every step is
idempotent and the database holds the progress (tally.services.tally), so driving the steps of a
run again is always safe; :func:`tally_sweep` does it for runs that have not moved for
``PNYX_STALL_SECONDS``:

* **a tally still adding up** — plan again, send the chunks not added up yet, or publish when
  every chunk is (``tally.tasks.tally_aggregate``);
* **a tally waiting for partial decryptions** — combine when t valid ones are in; else ask again
  every worker trustee that still owes one and has no request waiting in its queue (one whose
  worker is stopped keeps one request there, not a pile). Offline trustees, or stopped workers,
  only the trustees can fix: the status says whom the tally waits for (tally.selectors);
* **a key ceremony waiting for worker trustees** — ask again those that have not answered the
  current phase and have no request waiting;
* **an open election** — ask its worker trustees to look at the board every
  ``PNYX_TRUSTEE_LOOK_SECONDS``, so that each verifies the board while it grows and, at the
  close, only the entries appended since (its answer, "nothing to do", is cheap and quiet).

Each automatic re-drive is an audit row (``tally:auto-resume``, ``ceremony:auto-resume``) written
under the election's lock, then the next one waits ``PNYX_STALL_SECONDS`` more (as after an
official's *Resume*): two sweepers, or a sweeper and an official, never drive the same stall
twice at once, and a step sent twice changes nothing anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from tally.models import (
    CeremonyPhase,
    DecryptionStatus,
    KeyCeremony,
    PartialDecryptionRecord,
    TallyRun,
    TallyStatus,
    Trustee,
    TrusteeDispatch,
    TrusteeMode,
)
from tally.selectors import (
    CEREMONY_REDRIVES,
    TALLY_REDRIVES,
    ceremony_progress_at,
    redrives,
)
from tally.services.common import audit, logger
from tally.services.dispatch import (
    LOOK,
    ceremony_owed,
    decryptions_owed,
    queue_waiting,
    trustee_send,
)
from voting.models import Election, ElectionState

WAITING_PHASES = (
    CeremonyPhase.COMMIT,
    CeremonyPhase.DEAL,
    CeremonyPhase.CHECK,
    CeremonyPhase.CONFIRM,
)


def _stall() -> timedelta:
    return timedelta(seconds=settings.PNYX_STALL_SECONDS)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _lock_election(**lookup) -> Election | None:
    """The election's row lock, or None if another transaction holds it: that one is moving the
    tally or the ceremony right now (publishing, receiving a message, an official resuming), so
    this is no stall."""
    return (
        Election.objects.select_for_update(skip_locked=True, of=("self",)).filter(**lookup).first()
    )


def _sendable(trustees: list[Trustee]) -> list[Trustee]:
    """The trustees with no request waiting in their queue (their worker took the last one, or
    the broker lost it)."""
    return [t for t in trustees if not queue_waiting(t.queue)]


def _send_after_commit(trustees: list[Trustee], election_id, step: str) -> None:
    from tally.services.tally import after_commit

    def send() -> None:
        for trustee in trustees:
            trustee_send(trustee=trustee, election_id=election_id, step=step)

    after_commit(send)


def tally_heal(*, run_id: int, now: datetime | None = None) -> str | None:
    """Drive a stalled tally run's steps again (module docstring); returns what was driven
    (``aggregate``, ``combine``, ``decrypt``) or None (it moves, it is done, or only trustees can
    move it)."""
    from tally.services.tally import _queue_aggregation, _queue_combine, after_commit

    now = now or timezone.now()
    with transaction.atomic():
        election = _lock_election(tally_run__pk=run_id)
        if election is None:
            return None
        run = TallyRun.objects.select_for_update().get(pk=run_id)
        if run.result_entry_id is not None:
            return None
        since = run.progress_at
        counts = redrives(election_id=election.pk, actions=TALLY_REDRIVES, since=since)
        if now - max(since, counts["last"] or since) < _stall():
            return None
        if run.tally_entry_id is None:
            action = "aggregate"
            after_commit(lambda: _queue_aggregation(run_id))
        else:
            valid = PartialDecryptionRecord.objects.filter(
                run=run, status=DecryptionStatus.VALID
            ).count()
            if valid >= (election.threshold or 0):
                action = "combine"
                after_commit(lambda: _queue_combine(run_id))
            else:
                trustees = _sendable(decryptions_owed(run))
                if not trustees:
                    return None  # only the trustees can move it: the status says whom it waits for
                action = "decrypt"
                _send_after_commit(trustees, election.pk, "decrypt")
        attempt = counts["attempts"] + 1
        audit(
            election,
            "tally:auto-resume",
            None,
            run=run.pk,
            step=action,
            attempt=attempt,
            stalled_since=_iso(since),
        )
    logger.warning(
        "tally of %s stalled since %s (%s): resuming automatically, attempt %d: %s",
        run.election_id,
        _iso(since),
        run.status,
        attempt,
        action,
    )
    return action


def ceremony_heal(*, ceremony_id: int, now: datetime | None = None) -> int:
    """Ask again the worker trustees a stalled key-ceremony phase waits for (those with no
    request waiting in their queue); returns how many were asked."""
    now = now or timezone.now()
    with transaction.atomic():
        election = _lock_election(key_ceremony__pk=ceremony_id)
        if election is None:
            return 0
        ceremony = KeyCeremony.objects.select_for_update().get(pk=ceremony_id)
        if ceremony.phase not in WAITING_PHASES:
            return 0
        since = ceremony_progress_at(ceremony)
        if since is None:
            return 0
        counts = redrives(election_id=election.pk, actions=CEREMONY_REDRIVES, since=since)
        if now - max(since, counts["last"] or since) < _stall():
            return 0
        step, owed = ceremony_owed(ceremony)
        trustees = _sendable(owed)
        if step is None or not trustees:
            return 0
        attempt = counts["attempts"] + 1
        audit(
            election,
            "ceremony:auto-resume",
            None,
            phase=ceremony.phase,
            trustees=[t.index for t in trustees],
            attempt=attempt,
            stalled_since=_iso(since),
        )
        _send_after_commit(trustees, election.pk, step)
    logger.warning(
        "key ceremony of %s stalled since %s (%s): asking trustees %s again, attempt %d",
        election.pk,
        _iso(since),
        step,
        [t.index for t in trustees],
        attempt,
    )
    return len(trustees)


def _claim_look(trustee: Trustee, now: datetime, due: datetime) -> bool:
    """Record a look request to ``trustee`` unless one was sent after ``due``; True for exactly
    one of concurrent sweepers."""
    if TrusteeDispatch.objects.filter(trustee=trustee, step=LOOK, sent_at__lte=due).update(
        sent_at=now, count=F("count") + 1
    ):
        return True
    if TrusteeDispatch.objects.filter(trustee=trustee, step=LOOK).exists():
        return False
    try:
        with transaction.atomic():
            TrusteeDispatch.objects.create(trustee=trustee, step=LOOK, sent_at=now)
    except IntegrityError:
        return False  # another sweeper claimed it first
    return True


def trustees_look(*, now: datetime | None = None) -> int:
    """Ask the worker trustees of every open election (key from a ceremony run here) to look at
    the board, each at most every ``PNYX_TRUSTEE_LOOK_SECONDS`` and only when no request waits
    in its queue; returns how many were asked."""
    every = settings.PNYX_TRUSTEE_LOOK_SECONDS
    if every <= 0:
        return 0
    now = now or timezone.now()
    due = now - timedelta(seconds=every)
    trustees = (
        Trustee.objects.filter(
            mode=TrusteeMode.WORKER,
            ceremony__phase=CeremonyPhase.DONE,
            ceremony__election__state=ElectionState.OPEN,
        )
        .exclude(public_key="")
        .exclude(
            Exists(
                TrusteeDispatch.objects.filter(trustee=OuterRef("pk"), step=LOOK, sent_at__gt=due)
            )
        )
        .select_related("ceremony")
    )
    asked = 0
    for trustee in trustees:
        if queue_waiting(trustee.queue) or not _claim_look(trustee, now, due):
            continue
        trustee_send(
            trustee=trustee, election_id=trustee.ceremony.election_id, step=None, record=False
        )
        asked += 1
    return asked


def tally_sweep(*, now: datetime | None = None) -> dict[str, Any]:
    """One sweep (module docstring): returns what it drove."""
    now = now or timezone.now()
    stalled = now - _stall()
    report: dict[str, Any] = {"tallies": {}, "ceremonies": {}, "looks": 0}
    runs = (
        TallyRun.objects.exclude(status=TallyStatus.DONE)
        .filter(progress_at__lte=stalled)
        .values_list("pk", flat=True)
    )
    for run_id in runs:
        action = tally_heal(run_id=run_id, now=now)
        if action:
            report["tallies"][run_id] = action
    for ceremony_id in KeyCeremony.objects.filter(phase__in=WAITING_PHASES).values_list(
        "pk", flat=True
    ):
        asked = ceremony_heal(ceremony_id=ceremony_id, now=now)
        if asked:
            report["ceremonies"][ceremony_id] = asked
    report["mixes"] = mix_heal(now=now)
    report["looks"] = trustees_look(now=now)
    return report


def mix_heal(*, now: datetime) -> dict[int, str]:
    """Mixes that wait (protocol §15.11): a mixer asked more than ``PNYX_MIX_TIMEOUT_SECONDS``
    ago is skipped (its timeout task may have been lost with the broker); a turn or a decryption
    never asked (the request lost) or asked more than ``PNYX_STALL_SECONDS`` ago is asked again;
    t decryptions in but no rows published: published."""
    from tally.models import MixRun, MixStatus
    from tally.services.mix import mix_ask, mix_publish, mix_timeout

    out: dict[int, str] = {}
    timeout = timedelta(seconds=settings.PNYX_MIX_TIMEOUT_SECONDS)
    for mix in MixRun.objects.filter(status__in=(MixStatus.MIXING, MixStatus.DECRYPTING)):
        if mix.status == MixStatus.MIXING and mix.asked_at and mix.asked_at <= now - timeout:
            if mix_timeout(mix_id=mix.pk, mixer=mix.next_mixer):
                out[mix.pk] = f"skipped trustee {mix.next_mixer}"
        elif mix.status == MixStatus.DECRYPTING and mix_publish(mix_id=mix.pk):
            out[mix.pk] = "published"
        elif mix.asked_at is None or mix.asked_at <= now - _stall():
            mix_ask(mix_id=mix.pk)
            out[mix.pk] = "asked again"
    return out
