"""Reads of the tally app: the key ceremony's and the tally's progress (API, admin, dashboard).

Trustees appear with their index, name, mode and progress — never their e-mail address. What a
trustee's worker reported when it failed (``last_error``) and the broker queue it listens on
are the officials' business: only ``officials=True`` (the admin) includes them; the public API
gets neither (an error may name a host, a path or the step that failed on a trustee's machine).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crypto.hashing import parse_json
from tally.models import (
    MAX_DECRYPTION_ATTEMPTS,
    CeremonyMessage,
    CeremonyPhase,
    DecryptionStatus,
    KeyCeremony,
    MessageKind,
    PartialDecryptionRecord,
    TallyRun,
    Trustee,
    TrusteeDispatch,
    TrusteeMode,
)
from voting.models import AuditEvent, Election

#: the step a worker trustee is asked for in each phase
STEP_OF_PHASE = {
    CeremonyPhase.COMMIT: "commit",
    CeremonyPhase.DEAL: "deal",
    CeremonyPhase.CHECK: "check",
    CeremonyPhase.CONFIRM: "confirm",
}

_KIND_OF_PHASE = {
    CeremonyPhase.REGISTRATION: MessageKind.REGISTRATION,
    CeremonyPhase.COMMIT: MessageKind.COMMITMENT,
    CeremonyPhase.DEAL: MessageKind.DEAL,
    CeremonyPhase.CHECK: MessageKind.CHECK,
    CeremonyPhase.CONFIRM: MessageKind.CONFIRMATION,
}


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


# --- Stalls (tally.services.heal drives stalled steps again; these say what officials see) ------

#: audit actions that drive a tally's steps again (by an official, or the sweeper: ``auto-``)
TALLY_REDRIVES = ("tally:resume", "tally:auto-resume")
CEREMONY_REDRIVES = ("ceremony:resume", "ceremony:auto-resume")


def stall_seconds() -> int:
    return settings.PNYX_STALL_SECONDS


def redrives(*, election_id, actions: tuple[str, ...], since: datetime) -> dict[str, Any]:
    """The re-drives of an election's tally or ceremony since ``since`` (when it last moved):
    ``attempts`` (the sweeper's), ``last_auto`` and ``last`` (anyone's) times."""
    rows = list(
        AuditEvent.objects.filter(
            election_id=election_id, action__in=actions, at__gte=since
        ).values_list("action", "at")
    )
    autos = [at for action, at in rows if action.endswith("auto-resume")]
    return {
        "attempts": len(autos),
        "last_auto": max(autos, default=None),
        "last": max((at for _, at in rows), default=None),
    }


def ceremony_progress_at(ceremony: KeyCeremony) -> datetime | None:
    """When the ceremony last moved: its phase began, or a trustee's message was accepted."""
    last = CeremonyMessage.objects.filter(ceremony=ceremony).aggregate(at=Max("received_at"))["at"]
    moments = [m for m in (ceremony.phase_started_at, last) if m is not None]
    return max(moments, default=None)


def _trustee_wait(trustee: Trustee, step: str, dispatches: dict, *, officials: bool) -> str:
    """Why the tally or the ceremony waits for ``trustee`` (database only: no broker). What its
    worker reported is for ``officials`` only (it may name hosts, paths or queues)."""
    if trustee.mode == TrusteeMode.OFFLINE:
        return _("offline: the trustee runs pnyx-trustee and uploads its message")
    if trustee.last_error and officials:
        return _("its worker reports: %(error)s") % {"error": trustee.last_error}
    if trustee.last_error:
        return _("its worker reported a problem (officials see it in the admin)")
    sent = dispatches.get((trustee.pk, step))
    if sent is None:
        return _("worker: not asked yet")
    return _(
        "worker: asked %(count)d times, last at %(at)s, no answer yet — is its worker running "
        "(a request waits in its queue)?"
    ) % {"count": sent.count, "at": _when(sent.sent_at)}


def _stall(
    *,
    since: datetime,
    now: datetime,
    counts: dict[str, Any],
    resuming: bool,
    waiting: list[dict],
) -> dict[str, Any]:
    attempts = counts["attempts"]
    where = _("Stalled since %(since)s") % {"since": _when(since)}
    if resuming and attempts:
        message = _("%(where)s: resuming automatically (attempt %(n)d, %(at)s).") % {
            "where": where,
            "n": attempts,
            "at": _when(counts["last_auto"]),
        }
    elif resuming:
        late = (now - since).total_seconds() > stall_seconds() + 2 * settings.PNYX_SWEEP_SECONDS + 5
        message = (
            _(
                "%(where)s: no automatic resumption yet — is Celery beat running "
                "(celery -A config beat)? “Resume” drives it now."
            )
            if late
            else _("%(where)s: it will be resumed automatically within %(s)d seconds.")
        ) % {"where": where, "s": settings.PNYX_SWEEP_SECONDS}
    else:
        message = _("%(where)s: waiting for trustees %(who)s.") % {
            "where": where,
            "who": "; ".join(f"{w['index']}. {w['name']} ({w['reason']})" for w in waiting),
        }
        if attempts:
            message += " " + _(
                "Worker trustees are asked again automatically (attempt %(n)d, %(at)s)."
            ) % {"n": attempts, "at": _when(counts["last_auto"])}
    return {
        "since": _iso(since),
        "attempts": attempts,
        "last_attempt_at": _iso(counts["last_auto"]),
        "resuming": resuming,
        "waiting_for": waiting,
        "message": message,
    }


def tally_stall(
    *,
    run: TallyRun,
    valid: int,
    threshold: int | None,
    missing: list[Trustee],
    officials: bool = False,
    now=None,
) -> dict[str, Any] | None:
    """None while the tally moves (or once done); else since when it has not moved, the
    automatic attempts to resume it, and — while decrypting with fewer than t valid partial
    decryptions, which only the trustees can change — whom it waits for and why."""
    if run.result_entry_id is not None:
        return None
    now = now or timezone.now()
    if now - run.progress_at < timedelta(seconds=stall_seconds()):
        return None
    counts = redrives(election_id=run.election_id, actions=TALLY_REDRIVES, since=run.progress_at)
    resuming = run.tally_entry_id is None or valid >= (threshold or 0)
    waiting = []
    if not resuming:
        dispatches = {
            (d.trustee_id, d.step): d
            for d in TrusteeDispatch.objects.filter(trustee__in=missing, step="decrypt")
        }
        waiting = [
            {
                "index": t.index,
                "name": t.name,
                "mode": t.mode,
                "reason": _trustee_wait(t, "decrypt", dispatches, officials=officials),
            }
            for t in missing
        ]
    return _stall(since=run.progress_at, now=now, counts=counts, resuming=resuming, waiting=waiting)


def ceremony_stall(
    *,
    ceremony: KeyCeremony,
    awaiting: list[Trustee],
    step: str | None,
    officials: bool = False,
    now=None,
) -> dict[str, Any] | None:
    """None while the key ceremony moves (or is not waiting for trustees); else since when it
    has not moved, whom it waits for and why, and the automatic attempts to ask worker trustees
    again."""
    if step is None or not awaiting:
        return None
    since = ceremony_progress_at(ceremony)
    now = now or timezone.now()
    if since is None or now - since < timedelta(seconds=stall_seconds()):
        return None
    counts = redrives(election_id=ceremony.election_id, actions=CEREMONY_REDRIVES, since=since)
    dispatches = {
        (d.trustee_id, d.step): d
        for d in TrusteeDispatch.objects.filter(trustee__in=awaiting, step=step)
    }
    waiting = [
        {
            "index": t.index,
            "name": t.name,
            "mode": t.mode,
            "reason": _trustee_wait(t, step, dispatches, officials=officials),
        }
        for t in awaiting
    ]
    return _stall(since=since, now=now, counts=counts, resuming=False, waiting=waiting)


def ceremony_get(*, election: Election) -> KeyCeremony | None:
    return KeyCeremony.objects.filter(election=election).first()


def ceremony_status(*, election: Election, officials: bool = False) -> dict | None:
    """Phase, threshold and every trustee's progress; ``awaiting``: the indices the current
    phase waits for. ``officials``: also each trustee's ``last_error`` and ``queue``."""
    ceremony = ceremony_get(election=election)
    if ceremony is None:
        return None
    trustees = list(ceremony.trustees.order_by("index"))
    sent: dict[int, set[str]] = {t.pk: set() for t in trustees}
    for trustee_id, kind in CeremonyMessage.objects.filter(ceremony=ceremony).values_list(
        "trustee_id", "kind"
    ):
        sent[trustee_id].add(kind)
    dispatched = {
        (d.trustee_id, d.step): d.sent_at
        for d in TrusteeDispatch.objects.filter(trustee__ceremony=ceremony)
    }
    waiting_for = _KIND_OF_PHASE.get(ceremony.phase)
    rows = []
    for t in trustees:
        rows.append(
            {
                "index": t.index,
                "name": t.name,
                "mode": t.mode,
                "state": t.state,
                "registered": bool(t.public_key),
                "public_key": t.public_key or None,
                "committed": MessageKind.COMMITMENT in sent[t.pk],
                "dealt": MessageKind.DEAL in sent[t.pk],
                "checked": MessageKind.CHECK in sent[t.pk],
                "confirmed": MessageKind.CONFIRMATION in sent[t.pk],
                "disqualified": t.disqualified or None,
                "last_seen": _iso(t.last_seen_at),
                "verified_seq": t.verified_seq,
                "last_dispatch": _iso(
                    max(
                        (v for (tid, _), v in dispatched.items() if tid == t.pk),
                        default=None,
                    )
                ),
            }
        )
        if officials:
            rows[-1]["last_error"] = t.last_error or None
            rows[-1]["queue"] = t.queue if t.mode == "worker" else None
    awaited = (
        [t for t in trustees if waiting_for not in sent[t.pk]] if waiting_for is not None else []
    )
    awaiting = [t.index for t in awaited]
    stall = ceremony_stall(
        ceremony=ceremony,
        awaiting=awaited,
        step=STEP_OF_PHASE.get(ceremony.phase),
        officials=officials,
    )
    return {
        "phase": ceremony.phase,
        "phase_label": CeremonyPhase(ceremony.phase).label,
        "threshold": ceremony.threshold,
        "n": len(trustees),
        "context": ceremony.context or None,
        "trustees": rows,
        "awaiting": awaiting,
        "note": ceremony.note or None,
        "phase_started_at": _iso(ceremony.phase_started_at),
        "finished_at": _iso(ceremony.finished_at),
        "stall": stall,
    }


def decryption_answered(records) -> set[int]:
    """Trustee ids (``Trustee.pk``) that need send no more partial decryptions: a valid (or late)
    one is in, or their rejected ones reached ``MAX_DECRYPTION_ATTEMPTS``."""
    done, rejected = set(), Counter()
    for trustee_id, status in records:
        if status == DecryptionStatus.REJECTED:
            rejected[trustee_id] += 1
        else:
            done.add(trustee_id)
    return done | {t for t, n in rejected.items() if n >= MAX_DECRYPTION_ATTEMPTS}


def tally_run_get(*, election: Election) -> TallyRun | None:
    return TallyRun.objects.filter(election=election).select_related("result_entry").first()


def mix_progress(*, election: Election) -> dict[str, Any] | None:
    """The mixnet's progress (protocol §15.11), or None for an election without a mix: whose turn
    it is and since when, who shuffled, who was skipped, who decrypted the final list."""
    from tally.models import MixRun

    mix = MixRun.objects.filter(election=election).first()
    if mix is None:
        return None
    return {
        "status": mix.status,
        "rows": mix.rows,
        "width": mix.width,
        "next_mixer": mix.next_mixer if mix.status == "mixing" else None,
        "asked_at": mix.asked_at.isoformat() if mix.asked_at and mix.status == "mixing" else None,
        "shuffled": mix.shuffled,
        "skipped": mix.skipped,
        "decrypted": mix.decrypted,
        "error": mix.last_error,
    }


def tally_status(*, election: Election, officials: bool = False) -> dict[str, Any]:
    """The tally's progress: ballots added up, partial decryptions received (valid, rejected),
    trustees still missing, and the result once published. ``status`` is ``stalled`` when the
    run has not moved for ``PNYX_STALL_SECONDS`` (``stage``: where; ``stall``: since when, the
    automatic attempts to resume it, or whom it waits for). ``officials``: also the missing
    trustees' ``last_error``."""
    run = tally_run_get(election=election)
    ceremony = ceremony_get(election=election)
    threshold = election.threshold or (ceremony.threshold if ceremony else None)
    out: dict[str, Any] = {
        "election": str(election.pk),
        "state": election.state,
        "status": "not_started" if run is None else run.status,
        "threshold": threshold,
    }
    if run is None:
        return out
    out["mix"] = mix_progress(election=election)
    records = list(
        PartialDecryptionRecord.objects.filter(run=run)
        .select_related("trustee")
        .order_by("trustee__index")
    )
    valid = [r.trustee.index for r in records if r.status == DecryptionStatus.VALID]
    answered = decryption_answered((r.trustee_id, r.status) for r in records)
    trustees = list(ceremony.trustees.order_by("index")) if ceremony else []
    absent = [t for t in trustees if t.pk not in answered]
    missing = [
        {
            "index": t.index,
            "name": t.name,
            "mode": t.mode,
            **({"last_error": t.last_error or None} if officials else {}),
        }
        for t in absent
    ]
    stall = tally_stall(
        run=run, valid=len(valid), threshold=threshold, missing=absent, officials=officials
    )
    waiting = (
        run.tally_entry_id is not None
        and run.result_entry_id is None
        and threshold is not None
        and len(valid) < threshold
    )
    out.update(
        {
            "status": "stalled" if stall is not None else run.status,
            "stage": run.status,
            "stall": stall,
            "frozen_head": {"seq": run.frozen_seq, "hash": run.frozen_hash},
            "ballots_total": run.ballots_total,
            "ballots_aggregated": run.ballots_aggregated,
            "chunks_total": run.chunks_total,
            "chunks_done": run.chunks_done,
            "failure": None
            if not run.last_error
            else {"error": run.last_error, "at": _iso(run.last_error_at)},
            "chunks_failed": [
                {"number": c.number, "error": c.error, "at": _iso(c.failed_at)}
                for c in run.chunks.exclude(error="").order_by("number")
            ],
            "counted": run.counted,
            "superseded": run.superseded,
            "weight": run.weight,
            "tally_seq": None if run.tally_entry_id is None else run.tally_entry.seq,
            "decryptions": {
                "valid": valid,
                "rejected": [
                    {"trustee": r.trustee.index, "reason": r.reason, "at": _iso(r.received_at)}
                    for r in records
                    if r.status == DecryptionStatus.REJECTED
                ],
                "late": [r.trustee.index for r in records if r.status == DecryptionStatus.LATE],
                "needed": max(0, (threshold or 0) - len(valid)),
                "missing": missing,
            },
            "waiting_for_trustees": waiting,
            "started_at": _iso(run.started_at),
            "published_at": _iso(run.published_at),
            "finished_at": _iso(run.finished_at),
            "result": parse_json(run.result_entry.line)["payload"]
            if run.result_entry_id is not None
            else None,
        }
    )
    return out
