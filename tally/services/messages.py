"""One entry point for everything a trustee sends, whoever carries it: the upload API
(``POST /api/elections/{id}/trustees/{index}/messages/``) or the trustee's Celery worker (the
``tally.tasks.trustee_message`` link). The message authenticates itself: a registration by the
one-time enrolment token, every later message by the trustee's signature on its envelope
(tally/trustee_steps.py), checked against the registered key."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from config.api_errors import ApplicationError
from tally.errors import InvalidTrusteeMessage
from tally.models import Trustee
from tally.services.ceremony import ceremony_message_receive, trustee_register
from tally.services.common import logger
from tally.services.tally import decryption_receive
from voting.models import Election

REGISTRATION_FIELDS = {"version", "election", "trustee", "kind", "message", "token"}


def trustee_message_receive(*, election: Election, index: int, body: Any, via: str) -> dict:
    """Route a trustee's message by its ``kind``; returns what happened (``status``:
    ``accepted``, ``duplicate``, ``rejected`` — a partial decryption whose proof failed, now on
    the board with its rejection — or ``late``)."""
    if not isinstance(body, dict):
        raise InvalidTrusteeMessage("A trustee message is a JSON object.")
    kind = body.get("kind")
    if kind == "registration":
        if set(body) - REGISTRATION_FIELDS or body.get("election") != str(election.pk):
            raise InvalidTrusteeMessage(
                "A registration is {version, election, trustee, kind, message, token} "
                "for this election."
            )
        if body.get("trustee") != index:
            raise InvalidTrusteeMessage(f"The registration is trustee {body.get('trustee')!r}'s.")
        return trustee_register(
            election=election,
            index=index,
            token=body.get("token"),
            key=body.get("message"),
            via=via,
        )
    if kind == "decryption":
        return decryption_receive(election=election, index=index, envelope=body, via=via)
    if kind == "shuffle":
        from tally.services.mix import shuffle_receive

        return shuffle_receive(election=election, index=index, envelope=body, via=via)
    if kind == "mix-decryption":
        from tally.services.mix import mix_decryption_receive

        return mix_decryption_receive(election=election, index=index, envelope=body, via=via)
    if kind in ("commitment", "deal", "check", "confirmation"):
        return ceremony_message_receive(election=election, index=index, envelope=body, via=via)
    raise InvalidTrusteeMessage(f"Unknown message kind {kind!r}.")


def trustee_worker_result(*, trustee_id: int, result: Any) -> str:
    """What a worker trustee's step returned (the Celery link): a signed envelope; ``idle`` (its
    verified board shows the step over: nothing to record); or a report of what went wrong or what
    it refused on its side (a locked key store, a board that does not verify…), kept for the
    officials to see."""
    trustee = Trustee.objects.select_related("ceremony__election").get(pk=trustee_id)
    if isinstance(result, dict) and set(result) - {"head"} == {"idle", "step", "trustee"}:
        # its worker runs and its board verified (up to ``head``): noted for the officials,
        # quietly (a worker trustee looks at an open election every few minutes)
        head = result.get("head")
        Trustee.objects.filter(pk=trustee_id).update(
            last_seen_at=timezone.now(),
            verified_seq=head
            if isinstance(head, int) and not isinstance(head, bool) and 0 <= head < 2**62
            else None,
            last_error="",
        )
        logger.debug("trustee %d's worker has nothing to do: %s", trustee.index, result["idle"])
        return "idle"
    if isinstance(result, dict) and "error" in result:
        message = str(result["error"])[:500]
        Trustee.objects.filter(pk=trustee_id).update(
            last_error=message, last_error_at=timezone.now()
        )
        logger.warning("trustee %d's worker reports: %s", trustee.index, message)
        return "error"
    try:
        answer = trustee_message_receive(
            election=trustee.ceremony.election, index=trustee.index, body=result, via="worker"
        )
    except ApplicationError as exc:
        Trustee.objects.filter(pk=trustee_id).update(
            last_error=f"message refused: {exc.message}"[:500], last_error_at=timezone.now()
        )
        logger.warning("trustee %d's message refused: %s", trustee.index, exc.message)
        return exc.code
    return answer["status"]
