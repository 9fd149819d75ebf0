"""Asking the worker trustees (queues ``trustee.<id>``) to look at their election's board.

A worker trustee runs ``celery -A config worker -Q trustee.<id>`` with its key store. The task
(``tally.trustee_step``) carries the election, the trustee's index and the step the server
expects — nothing else: no parameters, deals or ciphertexts. The trustee reads the public board
itself, verifies it with the standalone verifier and derives every input from it
(tally/trustee_worker.py); it refuses a request carrying anything more. Its return value — a
signed envelope, public — goes to ``tally.tasks.trustee_message`` on the server's ``tally``
queue (a Celery link), which verifies it like an upload. Called once a transaction commits
(``transaction.on_commit``): the board the trustee reads already holds what the step needs.

Sending again is harmless: a trustee answers a step it did before with the same message (its key
store keeps the prepared deal and the decryption it made), and the server records each message
once.
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
from tally.services.common import logger, trustees_of

_STEP_OF_PHASE = {
    CeremonyPhase.COMMIT: ("commit", MessageKind.COMMITMENT),
    CeremonyPhase.DEAL: ("deal", MessageKind.DEAL),
    CeremonyPhase.CHECK: ("check", MessageKind.CHECK),
    CeremonyPhase.CONFIRM: ("confirm", MessageKind.CONFIRMATION),
}


def trustee_send(*, trustee: Trustee, election_id, step: str) -> None:
    """Ask ``trustee``'s worker to look at the election's board now (``step``: what the server
    expects; the trustee decides from the verified board); its answer comes back through the link."""
    from tally.tasks import trustee_message, trustee_step

    queue = trustee.queue
    trustee_step.apply_async(
        kwargs={"election": str(election_id), "trustee": trustee.index, "step": step},
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
    for trustee in waiting:
        trustee_send(trustee=trustee, election_id=ceremony.election_id, step=step)
    return len(waiting)


def tally_dispatch_decryptions(*, run_id: int) -> int:
    """Ask every worker trustee that still owes a partial decryption (none valid on record, fewer
    than the maximum rejected) to decrypt the tally (which it reads from the board itself)."""
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
    for trustee in waiting:
        trustee_send(trustee=trustee, election_id=election.pk, step="decrypt")
    return len(waiting)
