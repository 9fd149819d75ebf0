"""The tally (docs/protocol.md §12.2–§12.4): aggregate, publish, collect partial decryptions,
combine, publish the result.

1. **Close** (``election_state_changed`` → closed, in the close transaction): a ``TallyRun`` frozen
   at the close entry; the aggregation is queued once it commits.
2. **Aggregate** (``tally.tasks.tally_aggregate``): the ballots on the board before the close are
   split into ranges of board positions (``TallyChunk``); one Celery task per range adds up its
   *counted* ballots (the last of each credential, weighted), in parallel on every worker —
   :func:`tally_aggregate_chunk` stores the range's ``crypto.tally.Aggregator.export()`` (public
   sums) on its chunk, and the task that completes the last chunk queues :func:`tally_publish`,
   which merges them with ``absorb``. The database, not the broker, holds the progress and the
   partial sums: a broker restart loses at most messages, which the sweeper sends again
   (tally.services.heal). The points come from ``Ballot.points`` (raw bytes stored at cast time),
   so no ballot JSON is decoded.
3. **Publish** the ``tally`` entry and move to ``tallying``; ask the worker trustees to decrypt
   (offline trustees upload).
4. **Receive** partial decryptions, each signed by its trustee (§12.4; a bad signature is
   refused): each is verified on arrival; an invalid one is published with a
   ``decryption-rejected`` entry and never used, and its trustee may send a corrected one.
5. **Combine** as soon as t valid ones exist: Lagrange at 0 over the t smallest indices, bounded
   discrete logarithm (bound = counted weight + 1), funded projects
   (``crypto.tally.funded_projects``), the ``result`` entry, state ``tallied``.

Every step is idempotent: it re-checks under the election's lock whether its entry is on the
board already (and the runs, chunks and decryption records have unique constraints), so a task
delivered twice, or re-run after a worker died, appends nothing twice. Every step that moves the
tally forward stamps ``TallyRun.progress_at``: the sweeper (tally.services.heal) drives the steps
of a run that has not moved for ``PNYX_STALL_SECONDS`` again, and the status shows the stall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from board.models import BoardEntry, BoardHead
from board.services import board_append
from config.broker import task_send
from crypto.ballot import Ballot as CryptoBallot
from crypto.dlog import DlogTable
from crypto.elgamal import Ciphertext
from crypto.errors import CryptoError
from crypto.group import Point
from crypto.hashing import parse_json
from crypto.manifest import Manifest
from crypto.tally import (
    Aggregator,
    funded_projects,
    result_bound,
    tally_from_json,
    tally_to_json,
)
from crypto.threshold import (
    PartialDecryption,
    combine_partial_decryptions,
    decryption_check_signature,
    verify_partial_decryption,
)
from tally.errors import (
    DecryptionAttemptsExhausted,
    InvalidTrusteeMessage,
    TallyNotPossible,
    WrongPhase,
)
from tally.models import (
    MAX_DECRYPTION_ATTEMPTS,
    CeremonyPhase,
    DecryptionStatus,
    KeyCeremony,
    PartialDecryptionRecord,
    TallyChunk,
    TallyRun,
    TallyStatus,
    Trustee,
)
from tally.services.common import (
    after_commit,
    audit,
    crypto_ceremony,
    entry_payload,
    lock_election,
    logger,
    open_envelope,
)
from voting.models import Ballot, Election, ElectionState
from voting.selectors import ballots_counted
from voting.services.elections import (
    election_close,
    election_finish_tally,
    election_start_tally,
)

S = ElectionState
POINT_BYTES = 65
#: above this many distinct weights in a chunk, its export is collapsed to one weighted sum
EXPORT_WEIGHTS_MAX = 32


def _chunk_ballots() -> int:
    return max(1, settings.PNYX_TALLY_CHUNK_BALLOTS)


def _manifest(election: Election) -> Manifest:
    return Manifest.from_json(parse_json(election.manifest_json))


def _managed(election: Election) -> KeyCeremony | None:
    """The election's key ceremony when it ran here (its trustees can decrypt), else None."""
    ceremony = KeyCeremony.objects.filter(election=election).first()
    return ceremony if ceremony is not None and ceremony.phase == CeremonyPhase.DONE else None


# --- Close and start ---------------------------------------------------------------------------


def _close_entry(election: Election) -> BoardEntry:
    entries = BoardEntry.objects.filter(election=election, kind="state").order_by("-seq")
    for entry in entries.iterator():
        if entry_payload(entry).get("to") == S.CLOSED:
            return entry
    raise TallyNotPossible("The election has not been closed on its board.")


def _new_run(election: Election, frozen: BoardEntry) -> TallyRun:
    run = TallyRun.objects.create(election=election, frozen_seq=frozen.seq, frozen_hash=frozen.hash)
    run_id = run.pk
    after_commit(lambda: _queue_aggregation(run_id))
    return run


def _queue_aggregation(run_id: int) -> None:
    from tally.tasks import tally_aggregate

    task_send(tally_aggregate, run_id)


def _queue_publish(run_id: int) -> None:
    from tally.tasks import publish_tally

    task_send(publish_tally, run_id)


def tally_on_close(*, election: Election) -> TallyRun | None:
    """The election closed (signal, inside the close transaction, right after its ``state``
    entry): freeze the board head there and queue the tally, if the trustees are ours."""
    if _managed(election) is None or TallyRun.objects.filter(election=election).exists():
        return None
    head = BoardHead.objects.get(election=election)
    frozen = BoardEntry.objects.get(election=election, seq=head.seq)
    return _new_run(election, frozen)


def tally_start_problems(*, election: Election) -> list[str]:
    problems = []
    if election.state not in (S.OPEN, S.CLOSED, S.TALLYING):
        problems.append(
            _(
                "The tally runs once the election is open (it is closed first) or closed; it is %(s)s."
            )
            % {"s": S(election.state).label.lower()}
        )
    if _managed(election) is None:
        problems.append(
            _(
                "The election key does not come from a key ceremony run on this server: its "
                "trustees cannot be asked to decrypt here."
            )
        )
    return problems


@transaction.atomic
def tally_start(*, election: Election, acting_user, reason: str = "") -> TallyRun:
    """Officials: close the election if it is open (which starts the tally), or start/resume the
    tally of a closed election — re-queue the aggregation if the encrypted tally is not
    published yet, else ask the worker trustees that have not answered to decrypt, and combine if
    enough valid partial decryptions are in."""
    election = lock_election(election.pk)
    problems = tally_start_problems(election=election)
    if problems:
        raise TallyNotPossible(" ".join(problems), details=problems)
    if election.state == S.OPEN:
        election_close(election=election, acting_user=acting_user, reason=reason)
        run = TallyRun.objects.get(election=election)
        audit(election, "tally:start", acting_user, run=run.pk)
        return run
    run = TallyRun.objects.select_for_update().filter(election=election).first()
    if run is None:
        run = _new_run(election, _close_entry(election))
        audit(election, "tally:start", acting_user, run=run.pk)
        return run
    audit(election, "tally:resume", acting_user, run=run.pk, status=run.status)
    run_id = run.pk
    if run.tally_entry_id is None:
        after_commit(lambda: _queue_aggregation(run_id))
    elif run.result_entry_id is None:
        from tally.services.dispatch import tally_dispatch_decryptions

        after_commit(lambda: tally_dispatch_decryptions(run_id=run_id))
        after_commit(lambda: _queue_combine(run_id))
    return run


# --- Aggregation -------------------------------------------------------------------------------


def tally_plan(*, run_id: int) -> list[int] | None:
    """Split the frozen board's ballots into chunks (ranges of board positions) the first time;
    return the ids of the chunks still to add up ([] when every one is: the tally can be
    published), or None once the encrypted tally is published. Planning again (a resume, the
    sweeper) keeps the ranges and the chunks already added up."""
    with transaction.atomic():
        run = TallyRun.objects.select_for_update().get(pk=run_id)
        if run.tally_entry_id is not None:
            return None
        chunks = list(run.chunks.order_by("number"))
        if not chunks:
            ballots = Ballot.objects.filter(election_id=run.election_id, seq__lte=run.frozen_seq)
            seqs = sorted(ballots.values_list("seq", flat=True))
            total = len(seqs)
            if total:
                count = math.ceil(total / _chunk_ballots())
                size = math.ceil(total / count)
                for number in range(count):
                    part = seqs[number * size : (number + 1) * size]
                    if not part:
                        break
                    chunks.append(
                        TallyChunk(
                            run=run,
                            number=number,
                            first_seq=part[0],
                            last_seq=part[-1],
                            ballots=len(part),
                        )
                    )
                TallyChunk.objects.bulk_create(chunks)
                chunks = list(run.chunks.order_by("number"))
            run.ballots_total = total
            run.progress_at = timezone.now()
        done = [c for c in chunks if c.done]
        run.chunks_total = len(chunks)
        run.chunks_done = len(done)
        run.ballots_aggregated = sum(c.ballots for c in done)
        run.dispatches += 1
        run.last_error, run.last_error_at = "", None  # a new attempt (chunks keep their error)
        run.save(
            update_fields=[
                "ballots_total",
                "chunks_total",
                "chunks_done",
                "ballots_aggregated",
                "dispatches",
                "last_error",
                "last_error_at",
                "progress_at",
            ]
        )
        return [c.pk for c in chunks if not c.done]


def _decode_points(data: bytes, count: int, seq: int) -> list[Point]:
    """A ballot's stored points (its ciphertexts' α, β in order), each checked to be a point of
    the curve: a corrupt row is refused, never added up."""
    if len(data) != count * POINT_BYTES:
        raise CryptoError(
            f"the ballot at board position {seq} has {len(data)} bytes of stored points, "
            f"{count * POINT_BYTES} expected"
        )
    try:
        return [
            Point.from_bytes(data[i : i + POINT_BYTES]) for i in range(0, len(data), POINT_BYTES)
        ]
    except CryptoError as exc:
        raise CryptoError(
            f"the ballot at board position {seq} has an invalid stored point: {exc}"
        ) from exc


def _aggregate_range(election: Election, spec, first_seq: int, last_seq: int) -> Aggregator:
    """The weighted sum of the counted ballots with ``first_seq ≤ seq ≤ last_seq``."""
    aggregator = Aggregator(spec)
    listed = 2 * sum(q.encrypted_options for q in spec.questions)
    rows = (
        ballots_counted(election=election)
        .filter(seq__gte=first_seq, seq__lte=last_seq)
        .values_list("points", "weight", "entry_id", "seq")
    )
    legacy = []
    for points, weight, entry_id, seq in rows.iterator(chunk_size=2000):
        if points is None:  # cast before points were stored: read the board entry
            legacy.append((entry_id, weight, seq))
            continue
        aggregator.add_points(_decode_points(bytes(points), listed, seq), weight)
    for entry_id, weight, seq in legacy:
        line = BoardEntry.objects.filter(pk=entry_id).values_list("line", flat=True).get()
        try:
            ballot = CryptoBallot.from_json(parse_json(line)["payload"]["ballot"])
        except CryptoError as exc:
            raise CryptoError(
                f"the ballot entry at board position {seq} is invalid: {exc}"
            ) from exc
        aggregator.add(ballot, weight)
    return aggregator


def _export(aggregator: Aggregator) -> list:
    """``Aggregator.export()`` as JSON (hex), collapsed to one weighted sum when the chunk holds
    many distinct weights (the export would otherwise grow with them)."""
    exported = aggregator.export()
    if len(exported) - 1 > EXPORT_WEIGHTS_MAX:
        points = [p for ct in aggregator.listed_totals() for p in (ct.alpha, ct.beta)]
        exported = [(1, [p.to_bytes() for p in points]), exported[-1]]
    return [[w, [None if b is None else b.hex() for b in items]] for w, items in exported]


def _absorb(aggregator: Aggregator, exported: Iterable) -> None:
    aggregator.absorb(
        [(w, [None if h is None else bytes.fromhex(h) for h in items]) for w, items in exported]
    )


def _failure_text(exc: BaseException) -> str:
    """What officials see of a failed aggregation step. The aggregation reads only public data
    (stored ciphertext points, board entries), so the error holds no secret."""
    return (str(exc) or type(exc).__name__)[:480]


def tally_aggregation_failed(*, run_id: int, error: str, chunk_id: int | None = None) -> None:
    """Record that a chunk (or the merge, ``chunk_id=None``) failed: on the chunk, on the run
    (``last_error``, shown by the admin and ``GET …/tally/``) and in the audit log. The run stays
    ``aggregating``; *Start or resume the tally* runs the aggregation again."""
    now = timezone.now()
    with transaction.atomic():
        run = TallyRun.objects.select_for_update().select_related("election").get(pk=run_id)
        where = _("the merge of the chunks")
        if chunk_id is not None:
            chunk = TallyChunk.objects.get(pk=chunk_id)
            TallyChunk.objects.filter(pk=chunk_id).update(error=error[:500], failed_at=now)
            where = _("chunk %(n)d (board positions %(a)d–%(b)d)") % {
                "n": chunk.number,
                "a": chunk.first_seq,
                "b": chunk.last_seq,
            }
        run.last_error = f"{where}: {error}"[:500]
        run.last_error_at = now
        run.save(update_fields=["last_error", "last_error_at"])
        audit(run.election, "tally:failed", None, run=run.pk, chunk=chunk_id, error=error[:500])
    logger.error("tally %s: %s", run_id, run.last_error)


def _record_failure(run_id: int, exc: BaseException, chunk_id: int | None = None) -> None:
    """Record ``exc`` as the aggregation's failure; if even that fails (the database is down),
    log it: the caller re-raises the original error either way."""
    try:
        tally_aggregation_failed(run_id=run_id, chunk_id=chunk_id, error=_failure_text(exc))
    except Exception:
        logger.exception("tally %s: the failure could not be recorded", run_id)


def tally_aggregate_chunk(*, chunk_id: int, worker: str = "") -> dict:
    """Add up one chunk's counted ballots and store the sums (public) on the chunk; the chunk
    that completes the run queues the publication. A chunk added up already (a task delivered
    twice, or sent again by the sweeper) is not added up again. Returns ``{"chunk": number,
    "added": bool}``. A failure is recorded (:func:`tally_aggregation_failed`) and raised: the
    tally stays unpublished until the chunk is added up (the sweeper, or an official, resumes)."""
    chunk = TallyChunk.objects.select_related("run__election").get(pk=chunk_id)
    if chunk.done:
        return {"chunk": chunk.number, "added": False}
    TallyChunk.objects.filter(pk=chunk_id).update(attempts=F("attempts") + 1, worker=worker[:200])
    run = chunk.run
    election = run.election
    try:
        spec = _manifest(election).spec
        export = _export(_aggregate_range(election, spec, chunk.first_seq, chunk.last_seq))
    except Exception as exc:
        _record_failure(run.pk, exc, chunk_id)
        raise
    now = timezone.now()
    with transaction.atomic():
        # the run's lock orders the chunks that finish together: exactly one sees the last one
        run = TallyRun.objects.select_for_update().get(pk=run.pk)
        added = run.tally_entry_id is None and TallyChunk.objects.filter(
            pk=chunk_id, done=False
        ).update(done=True, done_at=now, export=export, error="", failed_at=None)
        if added:
            run.chunks_done = run.chunks.filter(done=True).count()
            run.ballots_aggregated += chunk.ballots
            run.progress_at = now
            run.save(update_fields=["chunks_done", "ballots_aggregated", "progress_at"])
            if run.chunks_done >= run.chunks_total:
                run_id = run.pk
                after_commit(lambda: _queue_publish(run_id))
    return {"chunk": chunk.number, "added": bool(added)}


def tally_publish(*, run_id: int) -> BoardEntry | None:
    """Merge the chunks' sums, publish the ``tally`` entry (§12.3), move to ``tallying``, and ask
    the worker trustees to decrypt. A chunk not added up yet (its task lost) is added up here.
    Does nothing if the tally is on the board already. A failure is recorded on the run
    (:func:`tally_aggregation_failed`) and raised."""
    try:
        return _tally_publish(run_id=run_id)
    except TallyRun.DoesNotExist:
        raise
    except Exception as exc:
        _record_failure(run_id, exc)
        raise


def _tally_publish(*, run_id: int) -> BoardEntry | None:
    run = TallyRun.objects.select_related("election").get(pk=run_id)
    if run.tally_entry_id is not None:
        return None
    election = run.election
    spec = _manifest(election).spec
    # merge outside the locks (pure computation); the checks are redone under them
    aggregator = Aggregator(spec)
    for chunk in run.chunks.order_by("number"):
        if chunk.done and chunk.export is not None:
            _absorb(aggregator, chunk.export)
        else:
            logger.warning("tally %s: chunk %d added up again", run.pk, chunk.number)
            _absorb(
                aggregator,
                _export(_aggregate_range(election, spec, chunk.first_seq, chunk.last_seq)),
            )
    with transaction.atomic():
        election = lock_election(election.pk)
        run = TallyRun.objects.select_for_update().get(pk=run_id)
        if run.tally_entry_id is not None:
            return None
        if BoardEntry.objects.filter(election=election, kind="tally").exists():
            raise TallyNotPossible("A tally entry is on the board already.")  # never expected
        if election.state != S.CLOSED:
            raise TallyNotPossible(f"The election is {election.state}, not closed.")
        counted = ballots_counted(election=election).filter(seq__lte=run.frozen_seq).count()
        if counted != aggregator.count:
            raise TallyNotPossible(
                f"{aggregator.count} ballots were added up; {counted} are counted."
            )
        superseded = Ballot.objects.filter(
            election=election, seq__lte=run.frozen_seq, superseded_by__isnull=False
        ).count()
        totals = aggregator.totals()
        entry = board_append(
            election_id=election.pk,
            kind="tally",
            payload={
                "counted": aggregator.count,
                "superseded": superseded,
                "weight": aggregator.weight,
                "ciphertexts": tally_to_json(totals, spec.questions),
            },
        )
        run.tally_entry = entry
        run.counted, run.superseded, run.weight = aggregator.count, superseded, aggregator.weight
        run.published_at = timezone.now()
        run.status = TallyStatus.DECRYPTING
        run.chunks_done = run.chunks_total
        run.ballots_aggregated = run.ballots_total
        run.last_error, run.last_error_at = "", None
        run.progress_at = timezone.now()
        run.save()
        election_start_tally(election=election, acting_user=None)
        from tally.services.dispatch import tally_dispatch_decryptions
        from tally.services.mix import mix_start

        after_commit(lambda: tally_dispatch_decryptions(run_id=run_id))
        election_id = election.pk
        after_commit(lambda: mix_start(election_id=election_id))
    logger.info(
        "tally of %s published: %d counted, %d superseded", election.pk, run.counted, superseded
    )
    return entry


# --- Partial decryptions -----------------------------------------------------------------------

_TALLIES: dict[tuple[int, str], list[Ciphertext]] = {}


def tally_ciphertexts(run: TallyRun, manifest: Manifest | None = None) -> list[Ciphertext]:
    """The published encrypted tally, position by position (parsed once per process)."""
    entry = run.tally_entry
    key = (run.pk, entry.hash)
    found = _TALLIES.get(key)
    if found is None:
        manifest = manifest or _manifest(run.election)
        found = tally_from_json(entry_payload(entry)["ciphertexts"], manifest.spec.questions)
        if len(_TALLIES) > 16:
            _TALLIES.clear()
        _TALLIES[key] = found
    return found


def _queue_combine(run_id: int) -> None:
    from tally.tasks import tally_combine as combine_task

    task_send(combine_task, run_id)


@transaction.atomic
def decryption_receive(*, election: Election, index: int, envelope: Any, via: str) -> dict:
    """A trustee's signed partial decryption (§9.1, §12.4), in its signed envelope: one whose
    signature fails is refused; else it is verified at once — a valid one is published, an
    invalid one is published with a ``decryption-rejected`` entry and excluded, and the trustee
    may send another (up to ``MAX_DECRYPTION_ATTEMPTS`` rejections). Once t valid ones exist, the
    result is computed (a task, after commit)."""
    election = lock_election(election.pk)
    run = (
        TallyRun.objects.select_for_update(of=("self",))
        .select_related("tally_entry")
        .filter(election=election)
        .first()
    )
    if run is None or run.tally_entry_id is None:
        raise WrongPhase("The encrypted tally is not published yet: nothing to decrypt.")
    ceremony = election.key_ceremony
    trustee = Trustee.objects.filter(ceremony=ceremony, index=index).first()
    if trustee is None:
        from tally.errors import UnknownTrustee

        raise UnknownTrustee()
    crypto = crypto_ceremony(ceremony)
    kind, message = open_envelope(
        envelope=envelope, election=election, trustee=trustee, ceremony=crypto
    )
    if kind != "decryption":
        raise InvalidTrusteeMessage(f"Expected a decryption, got {kind!r}.")
    manifest = _manifest(election)
    try:
        decryption = decryption_check_signature(
            message, crypto.key_of(index), fingerprint=manifest.fingerprint
        )
    except CryptoError as exc:
        raise InvalidTrusteeMessage(
            "A decryption is {decryption, signature} signed by the trustee's registered key "
            f"(protocol §12.4): {exc}"
        ) from exc
    try:
        partial = PartialDecryption.from_json(decryption)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The partial decryption is malformed: {exc}") from exc
    if partial.trustee != trustee.index:
        raise InvalidTrusteeMessage(f"The partial decryption is trustee {partial.trustee}'s.")
    earlier = PartialDecryptionRecord.objects.filter(run=run, trustee=trustee)
    if earlier.filter(status__in=(DecryptionStatus.VALID, DecryptionStatus.LATE)).exists():
        return {"status": "duplicate", "kind": "decryption"}
    if run.result_entry_id is not None or election.state != S.TALLYING:
        PartialDecryptionRecord.objects.create(
            run=run, trustee=trustee, status=DecryptionStatus.LATE, via=via
        )
        return {"status": "late", "kind": "decryption"}
    rejected = earlier.filter(status=DecryptionStatus.REJECTED).count()
    if rejected >= MAX_DECRYPTION_ATTEMPTS:
        raise DecryptionAttemptsExhausted(
            f"Trustee {index}'s partial decryptions were rejected {rejected} times (the limit): "
            "no more are taken. The tally needs the threshold among the other trustees."
        )
    reason = ""
    try:
        verify_partial_decryption(
            partial,
            verification_key=manifest.verification_keys[index - 1],
            ciphertexts=tally_ciphertexts(run, manifest),
            context=manifest.fingerprint,
        )
    except CryptoError as exc:
        reason = str(exc)[:480] or "invalid proof"
    entry = board_append(election_id=election.pk, kind="partial-decryption", payload=message)
    record = PartialDecryptionRecord(
        run=run,
        trustee=trustee,
        status=DecryptionStatus.REJECTED if reason else DecryptionStatus.VALID,
        reason=reason,
        entry=entry,
        via=via,
    )
    seqs = [entry.seq]
    if reason:
        rejection = board_append(
            election_id=election.pk,
            kind="decryption-rejected",
            payload={"trustee": index, "reason": reason},
        )
        record.rejection_entry = rejection
        seqs.append(rejection.seq)
        logger.warning("tally of %s: trustee %d's partial decryption rejected", election.pk, index)
    record.save()
    trustee.last_error = ""
    trustee.save(update_fields=["last_error"])
    run.progress_at = timezone.now()
    run.save(update_fields=["progress_at"])
    valid = PartialDecryptionRecord.objects.filter(run=run, status=DecryptionStatus.VALID).count()
    if valid >= ceremony.threshold:
        run_id = run.pk
        after_commit(lambda: _queue_combine(run_id))
    return {
        "status": "rejected" if reason else "accepted",
        "kind": "decryption",
        "entries": seqs,
        "reason": reason,
    }


# --- Result ------------------------------------------------------------------------------------


def _result_payload(run: TallyRun, manifest: Manifest, used: list[int]) -> dict:
    records = PartialDecryptionRecord.objects.filter(
        run=run, status=DecryptionStatus.VALID, trustee__index__in=used
    ).select_related("trustee", "entry")
    partials = {
        r.trustee.index: PartialDecryption.from_json(entry_payload(r.entry)["decryption"])
        for r in records
    }
    cts = tally_ciphertexts(run, manifest)
    points = combine_partial_decryptions(cts, partials, manifest.threshold)
    # as the verifier: bound = S_max × counted weight + 1 (S_max = 1 without score questions)
    table = DlogTable(result_bound(manifest.questions, run.weight))
    flat = iter([table.solve(point) for point in points])
    counts, funded = [], []
    for question, spec in zip(manifest.data["questions"], manifest.questions, strict=True):
        row = [next(flat) for _ in range(spec.options)]
        counts.append(row)
        if question["kind"] == "budget":
            chosen = funded_projects(row, spec.costs, spec.budget)
            funded.append([question["options"][i]["id"] for i in chosen])
        else:
            funded.append(None)
    return {
        "counts": counts,
        "funded": funded,
        "trustees": used,
        "counted": run.counted,
        "weight": run.weight,
    }


def _mix_pending(election: Election, run: TallyRun) -> bool:
    from tally.models import MixRun, MixStatus
    from tally.services.mix import mix_layout_of

    if not run.counted or not mix_layout_of(election):
        return False
    mix = MixRun.objects.filter(election=election).first()
    return mix is None or mix.status != MixStatus.DONE


def tally_combine(*, run_id: int) -> BoardEntry | None:
    """With t valid partial decryptions: combine, solve, publish the ``result`` entry (§12.4) and
    move to ``tallied``. Does nothing with fewer (the tally waits) or once the result is out."""
    run = TallyRun.objects.select_related("election", "tally_entry").get(pk=run_id)
    if run.result_entry_id is not None or run.tally_entry_id is None:
        return None
    election = run.election
    manifest = _manifest(election)
    valid = sorted(
        PartialDecryptionRecord.objects.filter(run=run, status=DecryptionStatus.VALID).values_list(
            "trustee__index", flat=True
        )
    )
    if len(valid) < manifest.threshold:
        return None
    if _mix_pending(election, run):
        return None  # §15.11: the result follows the mix's published rows
    used = valid[: manifest.threshold]
    payload = _result_payload(run, manifest, used)  # the costly part, outside the locks
    with transaction.atomic():
        election = lock_election(election.pk)
        run = TallyRun.objects.select_for_update().get(pk=run_id)
        if run.result_entry_id is not None:
            return None
        if BoardEntry.objects.filter(election=election, kind="result").exists():
            raise TallyNotPossible("A result entry is on the board already.")  # never expected
        entry = board_append(election_id=election.pk, kind="result", payload=payload)
        run.result_entry = entry
        run.status = TallyStatus.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["result_entry", "status", "finished_at"])
        election_finish_tally(election=election, acting_user=None)
    logger.info("tally of %s: result published (trustees %s)", election.pk, used)
    return entry
