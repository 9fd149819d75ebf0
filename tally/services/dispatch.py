"""Sending steps to the worker trustees' queues (``trustee.<id>``), with public inputs only.

A worker trustee runs ``celery -A config worker -Q trustee.<id>`` with its key store; the task
(``tally.trustee_step``) carries the ceremony's public parameters and whatever public board
content the step needs (deals addressed to everyone, the encrypted tally). Its return value — a
signed envelope, public — goes to ``tally.tasks.trustee_message`` on the server's ``tally``
queue (a Celery link), which verifies it like an upload. Called once a transaction commits
(``transaction.on_commit``): a step is sent only for what the database says now.

Sending again is harmless: a trustee answers a step it did before with the same message (its key
store keeps the prepared deal), and the server records each message once.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone
from kombu import Queue

from tally.models import (
    CeremonyMessage,
    CeremonyPhase,
    KeyCeremony,
    MessageKind,
    PartialDecryptionRecord,
    TallyRun,
    Trustee,
    TrusteeDispatch,
    TrusteeMode,
)
from tally.selectors import decryption_answered
from tally.services.common import ceremony_params_json, entry_payload, logger, trustees_of

_STEP_OF_PHASE = {
    CeremonyPhase.COMMIT: ("commit", MessageKind.COMMITMENT),
    CeremonyPhase.DEAL: ("deal", MessageKind.DEAL),
    CeremonyPhase.CHECK: ("check", MessageKind.CHECK),
    CeremonyPhase.CONFIRM: ("confirm", MessageKind.CONFIRMATION),
}


def trustee_send(*, trustee: Trustee, step: str, params: dict, inputs: dict) -> None:
    """Queue ``step`` on the trustee's own queue; its answer comes back through the link."""
    from tally.tasks import trustee_message, trustee_step

    queue = trustee.queue
    trustee_step.apply_async(
        kwargs={"step": step, "params": params, "index": trustee.index, "inputs": inputs},
        # a Queue object (not a name): the server's own workers never start consuming it
        queue=Queue(queue, routing_key=queue),
        link=trustee_message.s(trustee.pk).set(queue="tally"),
    )
    now = timezone.now()
    updated = TrusteeDispatch.objects.filter(trustee=trustee, step=step).update(
        sent_at=now, count=F("count") + 1
    )
    if not updated:
        TrusteeDispatch.objects.create(trustee=trustee, step=step, sent_at=now)
    logger.info("sent %s to %s (trustee %d)", step, queue, trustee.index)


def _inputs(ceremony: KeyCeremony, step: str) -> dict:
    from tally.services.ceremony import qualified_deals, valid_deals

    if step == "commit":
        return {}
    if step == "deal":
        committed = CeremonyMessage.objects.filter(
            ceremony=ceremony, kind=MessageKind.COMMITMENT
        ).values_list("trustee__index", flat=True)
        return {"committed": sorted(committed)}
    if step == "check":
        return {"deals": [payload for _, payload in valid_deals(ceremony).values()]}
    return {"deals": [payload for _, payload in qualified_deals(ceremony).values()]}


def ceremony_dispatch(*, ceremony_id: int) -> int:
    """Send the current phase's step to every worker trustee that has not answered it."""
    ceremony = KeyCeremony.objects.select_related("election").get(pk=ceremony_id)
    found = _STEP_OF_PHASE.get(ceremony.phase)
    if found is None:
        return 0
    step, kind = found
    trustees = trustees_of(ceremony)
    answered = set(
        CeremonyMessage.objects.filter(ceremony=ceremony, kind=kind).values_list(
            "trustee_id", flat=True
        )
    )
    waiting = [t for t in trustees if t.mode == TrusteeMode.WORKER and t.pk not in answered]
    if not waiting:
        return 0
    params = ceremony_params_json(ceremony, trustees)
    inputs = _inputs(ceremony, step)
    for trustee in waiting:
        trustee_send(trustee=trustee, step=step, params=params, inputs=inputs)
    return len(waiting)


def tally_dispatch_decryptions(*, run_id: int) -> int:
    """Ask every worker trustee that still owes a partial decryption (none valid on record, fewer
    than the maximum rejected) to decrypt the tally."""
    from tally.services.ceremony import qualified_deals

    run = TallyRun.objects.select_related("election", "tally_entry").get(pk=run_id)
    if run.tally_entry is None or run.result_entry_id is not None:
        return 0
    election = run.election
    ceremony = election.key_ceremony
    trustees = trustees_of(ceremony)
    answered = decryption_answered(
        PartialDecryptionRecord.objects.filter(run=run).values_list("trustee_id", "status")
    )
    waiting = [t for t in trustees if t.mode == TrusteeMode.WORKER and t.pk not in answered]
    if not waiting:
        return 0
    params = ceremony_params_json(ceremony, trustees)
    tally = entry_payload(run.tally_entry)
    common = {
        "deals": [payload for _, payload in qualified_deals(ceremony).values()],
        "fingerprint": election.fingerprint,
        "ciphertexts": [ct for row in tally["ciphertexts"] for ct in row],
    }
    for trustee in waiting:
        inputs = {**common, "verification_key": election.verification_keys[trustee.index - 1]}
        trustee_send(trustee=trustee, step="decrypt", params=params, inputs=inputs)
    return len(waiting)
