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
once. The sweeper (tally.services.heal) sends again by itself only to a trustee whose queue holds
no request (:func:`queue_waiting`): one whose worker is stopped keeps one request waiting, not a
pile.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db.models import F
from django.utils import timezone
from kombu import Queue

from config.broker import task_apply
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


#: ``TrusteeDispatch.step`` of a request that names no step: "look at the board now" (sent while
#: the election is open, so that the trustee verifies the board as it grows)
LOOK = "look"


def queue_waiting(queue: str) -> int:
    """How many requests wait in ``queue`` (a request a worker has taken is not counted); 0 when
    the broker cannot tell (sending is harmless anyway)."""
    try:
        with current_app.pool.acquire(block=True, timeout=5) as connection:
            declared = connection.default_channel.queue_declare(
                queue=queue, passive=False, durable=True, auto_delete=False
            )
            return int(declared.message_count or 0)
    except Exception as exc:  # noqa: BLE001 - any broker trouble: unknown
        logger.warning("cannot read the length of queue %s: %s", queue, exc)
        return 0


def trustee_send(*, trustee: Trustee, election_id, step: str | None, record: bool = True) -> None:
    """Ask ``trustee``'s worker to look at the election's board now (``step``: what the server
    expects, or None: only look; the trustee decides from the verified board); its answer comes
    back through the link. ``record``: note the request (``TrusteeDispatch``)."""
    from tally.tasks import trustee_message, trustee_step

    queue = trustee.queue
    task_apply(
        trustee_step,
        kwargs={"election": str(election_id), "trustee": trustee.index, "step": step},
        # a Queue object (not a name): the server's own workers never start consuming it
        queue=Queue(queue, routing_key=queue),
        link=trustee_message.s(trustee.pk).set(queue="tally"),
    )
    if record:
        dispatch_record(trustee=trustee, step=step or LOOK, now=timezone.now())
    logger.log(
        logging.DEBUG if step is None else logging.INFO,
        "sent %s to %s (trustee %d)",
        step or LOOK,
        queue,
        trustee.index,
    )


def dispatch_record(*, trustee: Trustee, step: str, now) -> None:
    updated = TrusteeDispatch.objects.filter(trustee=trustee, step=step).update(
        sent_at=now, count=F("count") + 1
    )
    if not updated:
        TrusteeDispatch.objects.create(trustee=trustee, step=step, sent_at=now)


def ceremony_owed(ceremony: KeyCeremony) -> tuple[str | None, list[Trustee]]:
    """The current phase's step and the worker trustees that have not answered it."""
    found = _STEP_OF_PHASE.get(ceremony.phase)
    if found is None:
        return None, []
    step, kind = found
    answered = set(
        CeremonyMessage.objects.filter(ceremony=ceremony, kind=kind).values_list(
            "trustee_id", flat=True
        )
    )
    trustees = trustees_of(ceremony)
    return step, [t for t in trustees if t.mode == TrusteeMode.WORKER and t.pk not in answered]


def ceremony_dispatch(*, ceremony_id: int) -> int:
    """Send the current phase's step to every worker trustee that has not answered it; returns
    how many were asked."""
    ceremony = KeyCeremony.objects.select_related("election").get(pk=ceremony_id)
    step, waiting = ceremony_owed(ceremony)
    for trustee in waiting:
        trustee_send(trustee=trustee, election_id=ceremony.election_id, step=step)
    return len(waiting)


def decryptions_owed(run: TallyRun) -> list[Trustee]:
    """The worker trustees that still owe a partial decryption (none valid on record, fewer than
    the maximum rejected); none before the tally is published or once the result is."""
    if run.tally_entry_id is None or run.result_entry_id is not None:
        return []
    answered = decryption_answered(
        PartialDecryptionRecord.objects.filter(run=run).values_list("trustee_id", "status")
    )
    trustees = trustees_of(run.election.key_ceremony)
    return [t for t in trustees if t.mode == TrusteeMode.WORKER and t.pk not in answered]


def tally_dispatch_decryptions(*, run_id: int) -> int:
    """Ask every worker trustee that still owes a partial decryption to decrypt the tally (which
    it reads from the board itself); returns how many were asked."""
    run = TallyRun.objects.select_related("election").get(pk=run_id)
    waiting = decryptions_owed(run)
    for trustee in waiting:
        trustee_send(trustee=trustee, election_id=run.election_id, step="decrypt")
    return len(waiting)
