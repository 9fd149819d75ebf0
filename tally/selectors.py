"""Reads of the tally app: the key ceremony's and the tally's progress (API, admin, dashboard).

Trustees appear with their index, name, mode and progress — never their e-mail address. What a
trustee's worker reported when it failed (``last_error``) and the broker queue it listens on
are the officials' business: only ``officials=True`` (the admin) includes them; the public API
gets neither (an error may name a host, a path or the step that failed on a trustee's machine).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

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
    TrusteeDispatch,
)
from voting.models import Election

_KIND_OF_PHASE = {
    CeremonyPhase.REGISTRATION: MessageKind.REGISTRATION,
    CeremonyPhase.COMMIT: MessageKind.COMMITMENT,
    CeremonyPhase.DEAL: MessageKind.DEAL,
    CeremonyPhase.CHECK: MessageKind.CHECK,
    CeremonyPhase.CONFIRM: MessageKind.CONFIRMATION,
}


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


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
    awaiting = (
        [r["index"] for r, t in zip(rows, trustees, strict=True) if waiting_for not in sent[t.pk]]
        if waiting_for is not None
        else []
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


def tally_status(*, election: Election, officials: bool = False) -> dict[str, Any]:
    """The tally's progress: ballots added up, partial decryptions received (valid, rejected),
    trustees still missing, and the result once published. ``officials``: also the missing
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
    records = list(
        PartialDecryptionRecord.objects.filter(run=run)
        .select_related("trustee")
        .order_by("trustee__index")
    )
    valid = [r.trustee.index for r in records if r.status == DecryptionStatus.VALID]
    answered = decryption_answered((r.trustee_id, r.status) for r in records)
    trustees = list(ceremony.trustees.order_by("index")) if ceremony else []
    missing = [
        {
            "index": t.index,
            "name": t.name,
            "mode": t.mode,
            **({"last_error": t.last_error or None} if officials else {}),
        }
        for t in trustees
        if t.pk not in answered
    ]
    waiting = (
        run.tally_entry_id is not None
        and run.result_entry_id is None
        and threshold is not None
        and len(valid) < threshold
    )
    out.update(
        {
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
