"""Celery tasks of the tally app.

Server side (queue ``tally``): they take primary keys (the trustees' answers arrive as their
public envelopes), are idempotent, acknowledged late, call one service and are enqueued with
``transaction.on_commit``. The aggregation is one :func:`aggregate_chunk_task` per range of
ballots; the one that completes the run queues :func:`publish_tally` (the progress and the sums
are in the database, not in the broker). :func:`tally_sweep` (Celery beat) heals what a lost
message or a dead worker left stalled (tally.services.heal).

Trustee side: :func:`trustee_step` runs on a trustee's own worker (``celery -A config worker -Q
trustee.<id>`` with ``PNYX_TRUSTEE_KEYSTORE``, ``PNYX_TRUSTEE_PASSPHRASE_FILE`` and
``PNYX_TRUSTEE_BOARD``), never on the server's: it touches no database, takes nothing from the
request but the election to look at (tally/trustee_worker.py), reads and verifies the public board
itself, and returns only the signed public message — never anything secret (the message goes back through
the link, :func:`trustee_message`; no result is stored).
"""

from __future__ import annotations

import logging
import os

from celery import group, shared_task
from celery.signals import worker_init
from django.core.exceptions import ObjectDoesNotExist

from crypto.errors import CryptoError
from tally.keystore import KeyStoreError
from tally.services.heal import tally_sweep as sweep
from tally.services.messages import trustee_worker_result
from tally.services.tally import (
    tally_aggregate_chunk as aggregate_chunk,
)
from tally.services.tally import (
    tally_combine as combine,
)
from tally.services.tally import (
    tally_plan,
)
from tally.services.tally import (
    tally_publish as publish,
)
from tally.trustee_board import BoardRefused, NothingToDo, StepRefused
from tally.trustee_steps import DecryptionRefused, TrusteeError
from tally.trustee_worker import (
    TaskRefused,
    board_location,
    run_step,
    task_request,
    unlock_all,
)

logger = logging.getLogger("pnyx.tally")


@shared_task(name="tally.tasks.ping", ignore_result=False)
def ping() -> str:
    """Answer "pong": proves a worker consumes the queue (``/healthz?worker=1``, tests)."""
    return "pong"


# --- Server side -------------------------------------------------------------------------------


def _gone(task: str, pk: int) -> None:
    """The row a task names no longer exists (e.g. a message left in the broker from another
    database): nothing to do."""
    logger.warning("%s: no object with id %s; nothing to do", task, pk)
    return None


@shared_task(name="tally.tasks.tally_aggregate")
def tally_aggregate(run_id: int) -> int:
    """Plan the chunks of a tally run (once) and send one task per chunk not added up yet; with
    every chunk added up, queue the publication (no-op once the encrypted tally is published)."""
    try:
        chunk_ids = tally_plan(run_id=run_id)
    except ObjectDoesNotExist:
        return _gone("tally_aggregate", run_id)
    if chunk_ids is None:
        return 0
    if not chunk_ids:
        publish_tally.delay(run_id)
        return 0
    group(aggregate_chunk_task.s(run_id, chunk_id) for chunk_id in chunk_ids).apply_async()
    return len(chunk_ids)


@shared_task(name="tally.tasks.tally_aggregate_chunk", bind=True)
def aggregate_chunk_task(self, run_id: int, chunk_id: int) -> dict:
    """Add up one chunk's counted ballots (stored on the chunk: public sums of ciphertexts)."""
    worker = f"{self.request.hostname or '?'}:{os.getpid()}"
    try:
        return aggregate_chunk(chunk_id=chunk_id, worker=worker)
    except ObjectDoesNotExist:
        return _gone("tally_aggregate_chunk", chunk_id)


@shared_task(name="tally.tasks.tally_publish")
def publish_tally(run_id: int) -> int | None:
    """Merge the chunks' sums, publish the ``tally`` entry, ask the trustees to decrypt."""
    try:
        entry = publish(run_id=run_id)
    except ObjectDoesNotExist:
        return _gone("tally_publish", run_id)
    return entry.seq if entry is not None else None


@shared_task(name="tally.tasks.tally_combine")
def tally_combine(run_id: int) -> int | None:
    """With t valid partial decryptions: the ``result`` entry (no-op before, or once done)."""
    try:
        entry = combine(run_id=run_id)
    except ObjectDoesNotExist:
        return _gone("tally_combine", run_id)
    return entry.seq if entry is not None else None


@shared_task(name="tally.tasks.mix_timeout")
def mix_timeout(mix_id: int, mixer: int) -> bool:
    """``PNYX_MIX_TIMEOUT_SECONDS`` after trustee ``mixer`` was asked to shuffle: skip it if it
    has not (a ``mix-skip`` entry), and ask the next trustee."""
    from tally.services.mix import mix_timeout as skip

    try:
        return skip(mix_id=mix_id, mixer=mixer)
    except ObjectDoesNotExist:
        _gone("mix_timeout", mix_id)
        return False


@shared_task(name="tally.tasks.mix_publish")
def mix_publish(mix_id: int) -> list | None:
    """With t decryptions of the mix's final list: the ``mix-result`` entries."""
    from tally.services.mix import mix_publish as publish_rows

    try:
        return publish_rows(mix_id=mix_id)
    except ObjectDoesNotExist:
        _gone("mix_publish", mix_id)
        return None


@shared_task(name="tally.tasks.tally_sweep")
def tally_sweep() -> dict:
    """Celery beat, every ``PNYX_SWEEP_SECONDS`` (config/celery.py): drive stalled tallies and key
    ceremonies again, ask worker trustees to look at open elections (tally.services.heal). Safe
    to run from two beats at once."""
    return sweep()


@shared_task(name="tally.tasks.trustee_message")
def trustee_message(result: dict, trustee_id: int) -> str:
    """A worker trustee's answer (the link of :func:`trustee_step`): verified like an upload."""
    try:
        return trustee_worker_result(trustee_id=trustee_id, result=result)
    except ObjectDoesNotExist:
        return _gone("trustee_message", trustee_id)


# --- Trustee side ------------------------------------------------------------------------------


@shared_task(name="tally.trustee_step")
def trustee_step(*args, **kwargs) -> dict:
    """Runs on the trustee's own worker. The request is ``election``, ``trustee`` (index) and
    ``step`` (the step the server expects: a hint), nothing else; the worker verifies the board
    and acts only if the verified board allows the step (tally/trustee_worker.py).

    Returns the signed envelope; ``{"idle": why, "step", "trustee", "head": the last entry it
    verified}`` when the board calls for nothing from it (the ceremony finished, the result
    published, or a look while the election is open: ``step`` None); or ``{"error": …}`` when the step cannot be done here (no such
    key store, wrong passphrase, a board that does not verify, a step the board does not allow, a
    request carrying inputs): the server shows it to the officials, who can send the step again.
    Every refusal is logged as a warning (no secret in it).
    """
    try:
        election, index, hint = task_request(args, kwargs)
    except TaskRefused as exc:
        logger.warning("trustee worker REFUSED a tally.trustee_step request: %s", exc)
        return {"error": f"refused: {exc}"}
    try:
        return run_step(election=election, index=index, step=hint)
    except NothingToDo as exc:
        # a request to look (no step: asked every few minutes while the election is open) that
        # finds nothing to do is the normal case: quiet
        level = logging.DEBUG if hint is None else logging.INFO
        logger.log(level, "trustee %d of election %s: nothing to do: %s", index, election, exc)
        return {"idle": str(exc), "step": hint, "trustee": index, "head": exc.head}
    except (BoardRefused, StepRefused, DecryptionRefused) as exc:
        logger.warning("trustee %d of election %s REFUSED %s: %s", index, election, hint, exc)
        return {"error": f"refused: {exc}", "step": hint, "trustee": index}
    except (TrusteeError, KeyStoreError, CryptoError) as exc:
        logger.warning("trustee %d of election %s: step %s failed: %s", index, election, hint, exc)
        return {"error": str(exc), "step": hint, "trustee": index}


@worker_init.connect
def trustee_worker_unlock(**kwargs) -> None:
    """A trustee's worker (``PNYX_TRUSTEE_KEYSTORE`` set) unlocks its key stores when it starts:
    a wrong passphrase shows at once in its log, and no step waits for scrypt."""
    if not os.environ.get("PNYX_TRUSTEE_KEYSTORE"):
        return
    logger.warning(
        "trustee worker: reading the board from %s",
        board_location("{election}"),
    )
    try:
        for store in unlock_all():
            logger.warning(
                "trustee key store %s unlocked: trustee %d of election %s",
                store.path,
                store.index,
                store.election,
            )
    except KeyStoreError as exc:
        logger.error("trustee key store: %s", exc)
