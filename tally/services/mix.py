"""The mixnet run by the trustees (docs/protocol.md §15.11).

1. **Start** (after the ``tally`` entry, for a manifest with mixed questions and at least one
   counted ballot): a ``MixRun``; trustee 1 is asked to shuffle.
2. **Shuffle** in index order: a worker trustee through its Celery queue (step ``mix``), an
   offline one with ``pnyx-trustee mix`` and an upload. Each mixer verifies the board and every
   earlier shuffle itself and derives its input from that board (tally/trustee_mix.py). The server
   checks the shuffle too — signature, proof, against the list the board holds — and appends its
   parts; a trustee that has not delivered ``PNYX_MIX_TIMEOUT_SECONDS`` after it was asked is
   skipped with a ``mix-skip`` entry. Then the next trustee.
3. **Decrypt**: once every trustee shuffled or was skipped, and at least t shuffled, the trustees
   decrypt the final list (step ``mix-decrypt``); each decryption is checked (signatures,
   Chaum–Pedersen proofs, batched per part) and appended.
4. **Publish** the decoded rows (``mix-result`` parts) from the t lowest valid decryptions; the
   tally's ``result`` may then follow (tally.services.tally.tally_combine waits for it).

Every step is idempotent under the election's lock.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from board.models import BoardEntry
from board.services import board_append, board_append_many, board_lock
from config.broker import task_apply
from crypto.ballot import Ballot as CryptoBallot
from crypto.encoding import expect_list
from crypto.errors import CryptoError
from crypto.hashing import Tag, digest_json, parse_json
from crypto.mix.ballots import MixLayout, MixRowDecoder, ballot_mix_row
from crypto.mix.decryption import (
    MixDecryption,
    mix_combine,
    mix_decryption_rows,
    verify_mix_decryption,
)
from crypto.mix.generators import shuffle_generators
from crypto.mix.rows import CiphertextList, read_row
from crypto.mix.shuffle import (
    ShuffleProof,
    ShuffleProofChunk,
    ShuffleProofHead,
    ShuffleSetting,
    verify_shuffle,
)
from crypto.signatures import Signature, verify_signature
from crypto.threshold import decryption_check_signature
from tally.errors import InvalidTrusteeMessage, WrongPhase
from tally.models import MixRun, MixStatus, TallyRun, Trustee, TrusteeMode
from tally.services.common import (
    after_commit,
    audit,
    crypto_ceremony,
    entry_payload,
    lock_election,
    logger,
    open_envelope,
)
from verifier.api import MIX_PAYLOAD_FIELDS, shuffle_signed_message
from voting.models import Election
from voting.selectors import ballots_counted

#: rows of decoded answers per ``mix-result`` entry
RESULT_ROWS_PER_PART = 5000


def _manifest(election: Election):
    from tally.services.tally import _manifest as manifest_of

    return manifest_of(election)


def mix_layout_of(election: Election) -> MixLayout:
    return MixLayout(_manifest(election))


def mix_input(election: Election, layout: MixLayout, frozen_seq: int) -> CiphertextList:
    """The derived input (§15.10): one row per counted ballot, in the order of the credential
    list (sorted by public key), from the ballots' board entries."""
    rows = (
        ballots_counted(election=election)
        .filter(seq__lte=frozen_seq)
        .select_related("entry")
        .order_by("credential")
    )
    out = []
    for ballot in rows.iterator(chunk_size=1000):
        crypto = CryptoBallot.from_json(parse_json(ballot.entry.line)["payload"]["ballot"])
        out.append(ballot_mix_row(layout, crypto, ballot.weight))
    return CiphertextList(layout.width, tuple(out))


def _current_list(mix: MixRun, layout: MixLayout) -> CiphertextList:
    """The list the next shuffle takes: the last shuffle's output, or the derived input."""
    election = mix.election
    if mix.shuffled:
        last = mix.shuffled[-1]
        rows = []
        entries = BoardEntry.objects.filter(election=election, kind="mix-shuffle").order_by("seq")
        for entry in entries.iterator(chunk_size=20):
            payload = entry_payload(entry)
            if payload["mixer"] == last:
                rows.extend(read_row(r, layout.width, "row") for r in payload["ciphertexts"])
        return CiphertextList(layout.width, tuple(rows))
    run = TallyRun.objects.get(election=election)
    return mix_input(election, layout, run.frozen_seq)


# --- Start and turns ---------------------------------------------------------------------------


def mix_start(*, election_id) -> MixRun | None:
    """After the tally entry: a mix run if the manifest has mixed questions and ballots."""
    with transaction.atomic():
        election = lock_election(election_id)
        if MixRun.objects.filter(election=election).exists():
            return None
        layout = mix_layout_of(election)
        if not layout:
            return None
        run = TallyRun.objects.get(election=election)
        if not run.counted:
            return None
        mix = MixRun.objects.create(election=election, rows=run.counted, width=layout.width)
        audit(election, "mix:start", None, rows=mix.rows, width=mix.width)
        mix_id = mix.pk
        after_commit(lambda: mix_ask(mix_id=mix_id))
    return mix


def _trustee(mix: MixRun, index: int) -> Trustee:
    return Trustee.objects.get(ceremony__election=mix.election, index=index)


def mix_ask(*, mix_id: int) -> None:
    """Ask the trustee whose turn it is (worker: its queue; offline: it uploads) and arm its
    timeout; or ask every trustee to decrypt once the mix is complete."""
    from tally.services.dispatch import trustee_send
    from tally.tasks import mix_timeout

    mix = MixRun.objects.select_related("election").get(pk=mix_id)
    if mix.status == MixStatus.MIXING:
        trustee = _trustee(mix, mix.next_mixer)
        # the turn's clock starts at the first request (asking again does not extend it)
        MixRun.objects.filter(pk=mix_id, asked_at__isnull=True).update(asked_at=timezone.now())
        if trustee.mode == TrusteeMode.WORKER:
            trustee_send(trustee=trustee, election_id=mix.election_id, step="mix")
        task_apply(
            mix_timeout,
            args=(mix_id, mix.next_mixer),
            countdown=settings.PNYX_MIX_TIMEOUT_SECONDS,
        )
    elif mix.status == MixStatus.DECRYPTING:
        MixRun.objects.filter(pk=mix_id).update(asked_at=timezone.now())
        for trustee in Trustee.objects.filter(
            ceremony__election=mix.election, mode=TrusteeMode.WORKER
        ).exclude(index__in=mix.decrypted):
            trustee_send(trustee=trustee, election_id=mix.election_id, step="mix-decrypt")


def _advance(mix: MixRun, threshold: int) -> None:
    """The current mixer shuffled or was skipped: the next one, or the decryption."""
    n = Trustee.objects.filter(ceremony__election=mix.election).count()
    mix.next_mixer += 1
    mix.asked_at = None
    if mix.next_mixer > n:
        if len(mix.shuffled) >= threshold:
            mix.status = MixStatus.DECRYPTING
        else:
            mix.status = MixStatus.FAILED
            mix.last_error = f"{len(mix.shuffled)} trustees shuffled, {threshold} must"
    mix.save()
    if mix.status in (MixStatus.MIXING, MixStatus.DECRYPTING):
        mix_id = mix.pk
        after_commit(lambda: mix_ask(mix_id=mix_id))


def mix_timeout(*, mix_id: int, mixer: int) -> bool:
    """``mixer`` was asked ``PNYX_MIX_TIMEOUT_SECONDS`` ago: skip it if it has not shuffled."""
    with transaction.atomic():
        mix = MixRun.objects.select_related("election").get(pk=mix_id)
        election = lock_election(mix.election_id)
        mix = MixRun.objects.select_for_update().get(pk=mix_id)
        if mix.status != MixStatus.MIXING or mix.next_mixer != mixer:
            return False
        reason = f"no shuffle within {settings.PNYX_MIX_TIMEOUT_SECONDS} s"
        board_append(
            election_id=election.pk, kind="mix-skip", payload={"mixer": mixer, "reason": reason}
        )
        mix.skipped = [*mix.skipped, mixer]
        audit(election, "mix:skip", None, mixer=mixer)
        _advance(mix, _manifest(election).threshold)
    logger.warning("mix of %s: trustee %d skipped (%s)", election.pk, mixer, reason)
    return True


# --- Receiving ---------------------------------------------------------------------------------


def _parts(message: Any, what: str) -> list:
    if not isinstance(message, dict) or set(message) != {"parts"}:
        raise InvalidTrusteeMessage(f"A {what} is {{parts: [board payload, …]}}.")
    parts = message["parts"]
    if not isinstance(parts, list) or not parts:
        raise InvalidTrusteeMessage(f"A {what} has at least one part.")
    return parts


def _check_shuffle(manifest, m: int, inputs: CiphertextList, parts: list) -> None:
    """The shuffle in ``parts`` (board payloads) re-encrypts and permutes ``inputs``; raises
    :class:`CryptoError` or :class:`InvalidTrusteeMessage` naming what fails."""
    n, w = len(inputs), inputs.width
    rows, chunks, first = [], [], 0
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or set(part) != set(MIX_PAYLOAD_FIELDS["mix-shuffle"]):
            raise InvalidTrusteeMessage(f"part {i}: not a mix-shuffle payload (§15.11)")
        if any(
            type(part[k]) is not int for k in ("mixer", "part", "parts", "offset", "rows", "width")
        ):
            raise InvalidTrusteeMessage(
                f"part {i}: mixer, part, parts, offset, rows, width are integers"
            )
        if (
            part["mixer"],
            part["part"],
            part["parts"],
            part["offset"],
            part["rows"],
            part["width"],
        ) != (m, i, len(parts), first, n, w):
            raise InvalidTrusteeMessage(f"part {i}: mixer, numbering, offset or size is wrong")
        if (part["head"] is None) != (i > 0) or (part["signature"] is None) != (i > 0):
            raise InvalidTrusteeMessage("part 0, and only part 0, has the head and signature")
        out = [
            read_row(r, w, f"part {i} row")
            for r in expect_list(part["ciphertexts"], f"part {i}.ciphertexts", min_length=1)
        ]
        chunk = ShuffleProofChunk.from_json(part["proof"])
        if chunk.offset != first or len(chunk) != len(out):
            raise InvalidTrusteeMessage(f"part {i}: the proof chunk covers other rows")
        rows.extend(out)
        chunks.append(chunk)
        first += len(out)
    if first != n:
        raise InvalidTrusteeMessage(f"the parts hold {first} rows, the list has {n}")
    head = ShuffleProofHead.from_json(parts[0]["head"])
    outputs = CiphertextList(w, tuple(rows))
    setting = ShuffleSetting(manifest.fingerprint, manifest.key, m, manifest.trustee_keys[m - 1])
    verify_shuffle(
        setting,
        inputs,
        outputs,
        ShuffleProof(head, tuple(chunks)),
        generators=shuffle_generators(manifest.fingerprint),
    )
    statement = setting.statement(n, w, inputs.digest(), outputs.digest())
    verify_signature(
        Signature.from_json(parts[0]["signature"], "signature"),
        public=manifest.trustee_keys[m - 1],
        message=digest_json(shuffle_signed_message(statement, parts[0]["head"])),
        context=manifest.data["ceremony"],
        tag=Tag.TRUSTEE_SIGNATURE,
        label=f"mixer {m}: shuffle signature",
    )


def _opened(election: Election, index: int, envelope: Any, expected: str):
    trustee = Trustee.objects.filter(ceremony__election=election, index=index).first()
    if trustee is None:
        from tally.errors import UnknownTrustee

        raise UnknownTrustee()
    kind, message = open_envelope(
        envelope=envelope,
        election=election,
        trustee=trustee,
        ceremony=crypto_ceremony(election.key_ceremony),
    )
    if kind != expected:
        raise InvalidTrusteeMessage(f"Expected a {expected}, got {kind!r}.")
    return trustee, message


def shuffle_receive(*, election: Election, index: int, envelope: Any, via: str) -> dict:
    """Trustee ``index``'s shuffle, in its signed envelope: accepted when it is that trustee's
    turn and the shuffle checks against the list the board holds; its parts are appended."""
    trustee, message = _opened(election, index, envelope, "shuffle")
    parts = _parts(message, "shuffle")
    mix = MixRun.objects.filter(election=election).first()
    if mix is None or mix.status != MixStatus.MIXING:
        raise WrongPhase("No mix is waiting for a shuffle.")
    if index in mix.shuffled:
        return {"status": "duplicate", "kind": "shuffle"}
    if mix.next_mixer != index:
        raise WrongPhase(f"Trustee {mix.next_mixer} mixes now, not trustee {index}.")
    manifest = _manifest(election)
    layout = MixLayout(manifest)
    inputs = _current_list(mix, layout)  # outside the lock: the board's lists do not change
    try:
        _check_shuffle(manifest, index, inputs, parts)
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The shuffle does not check: {exc}") from exc
    with transaction.atomic():
        election = lock_election(election.pk)
        mix = MixRun.objects.select_for_update().get(pk=mix.pk)
        if mix.status != MixStatus.MIXING or mix.next_mixer != index:
            raise WrongPhase(f"Trustee {index}'s turn is over (skipped, or shuffled already).")
        head = board_lock(election_id=election.pk)
        entries = board_append_many(
            head=head, items=[("mix-shuffle", part, None) for part in parts]
        )
        mix.shuffled = [*mix.shuffled, index]
        audit(election, "mix:shuffle", None, mixer=index, via=via)
        _advance(mix, manifest.threshold)
        Trustee.objects.filter(pk=trustee.pk).update(last_error="")
    logger.info("mix of %s: trustee %d shuffled (%d parts)", election.pk, index, len(parts))
    return {"status": "accepted", "kind": "shuffle", "entries": [e.seq for e in entries]}


def mix_decryption_receive(*, election: Election, index: int, envelope: Any, via: str) -> dict:
    """Trustee ``index``'s decryption of the final list, in parts: every part's signature and
    proofs checked (refused otherwise, never published), then appended."""
    trustee, message = _opened(election, index, envelope, "mix-decryption")
    parts = _parts(message, "mix decryption")
    mix = MixRun.objects.filter(election=election).first()
    if mix is None or mix.status not in (MixStatus.DECRYPTING, MixStatus.DONE):
        raise WrongPhase("The mix's final list is not ready to decrypt.")
    if index in mix.decrypted or mix.status == MixStatus.DONE:
        return {
            "status": "duplicate" if index in mix.decrypted else "late",
            "kind": "mix-decryption",
        }
    manifest = _manifest(election)
    final = _current_list(mix, MixLayout(manifest))
    first = 0
    try:
        for i, part in enumerate(parts):
            if not isinstance(part, dict) or set(part) != set(MIX_PAYLOAD_FIELDS["mix-decryption"]):
                raise InvalidTrusteeMessage(f"part {i}: not a mix-decryption payload (§15.11)")
            if type(part["part"]) is not int or type(part["parts"]) is not int:
                raise InvalidTrusteeMessage(f"part {i}: part and parts are integers")
            if (part["part"], part["parts"]) != (i, len(parts)):
                raise InvalidTrusteeMessage(f"part {i}: wrong numbering")
            decryption_check_signature(
                {"decryption": part["decryption"], "signature": part["signature"]},
                manifest.trustee_keys[index - 1],
                fingerprint=manifest.fingerprint,
            )
            d = MixDecryption.from_json(part["decryption"])
            if d.trustee != index or d.offset != first or d.stop > len(final):
                raise InvalidTrusteeMessage(f"part {i}: another trustee's, or other rows")
            verify_mix_decryption(
                d,
                verification_key=manifest.verification_keys[index - 1],
                ciphertexts=final.slice(d.offset, d.stop),
                fingerprint=manifest.fingerprint,
            )
            first = d.stop
    except CryptoError as exc:
        raise InvalidTrusteeMessage(f"The decryption does not check: {exc}") from exc
    if first != len(final):
        raise InvalidTrusteeMessage(f"The parts decrypt {first} rows of {len(final)}.")
    with transaction.atomic():
        election = lock_election(election.pk)
        mix = MixRun.objects.select_for_update().get(pk=mix.pk)
        if index in mix.decrypted or mix.status != MixStatus.DECRYPTING:
            return {"status": "late", "kind": "mix-decryption"}
        head = board_lock(election_id=election.pk)
        entries = board_append_many(
            head=head, items=[("mix-decryption", part, None) for part in parts]
        )
        mix.decrypted = [*mix.decrypted, index]
        mix.save(update_fields=["decrypted"])
        audit(election, "mix:decryption", None, trustee=index, via=via)
        if len(mix.decrypted) >= manifest.threshold:
            mix_id = mix.pk
            after_commit(lambda: _queue_publish(mix_id))
        Trustee.objects.filter(pk=trustee.pk).update(last_error="")
    return {"status": "accepted", "kind": "mix-decryption", "entries": [e.seq for e in entries]}


def _queue_publish(mix_id: int) -> None:
    from tally.tasks import mix_publish

    task_apply(mix_publish, args=(mix_id,))


# --- Publishing the rows -----------------------------------------------------------------------


def mix_publish(*, mix_id: int) -> list[int] | None:
    """Combine the t lowest valid decryptions, decode, append the ``mix-result`` parts, and let
    the tally's result follow."""
    mix = MixRun.objects.select_related("election").get(pk=mix_id)
    if mix.status != MixStatus.DECRYPTING:
        return None
    election = mix.election
    manifest = _manifest(election)
    if len(mix.decrypted) < manifest.threshold:
        return None
    used = sorted(mix.decrypted)[: manifest.threshold]
    layout = MixLayout(manifest)
    final = _current_list(mix, layout)
    parts: dict[int, list[MixDecryption]] = {t: [] for t in used}
    entries = BoardEntry.objects.filter(election=election, kind="mix-decryption").order_by("seq")
    for entry in entries.iterator(chunk_size=20):
        d = MixDecryption.from_json(entry_payload(entry)["decryption"])
        if d.trustee in parts:  # verified when received
            parts[d.trustee].append(d)
    decoder = MixRowDecoder(layout)
    decoded = []
    for lo in range(0, len(final), RESULT_ROWS_PER_PART):
        hi = min(len(final), lo + RESULT_ROWS_PER_PART)
        shares = {t: mix_decryption_rows(parts[t], lo, hi) for t in used}
        messages = mix_combine(final.slice(lo, hi), shares, manifest.threshold)
        decoded.append((lo, [decoder.decode(m) for m in messages]))
    with transaction.atomic():
        election = lock_election(election.pk)
        mix = MixRun.objects.select_for_update().get(pk=mix_id)
        if mix.status != MixStatus.DECRYPTING:
            return None
        head = board_lock(election_id=election.pk)
        items = [
            (
                "mix-result",
                {"part": i, "parts": len(decoded), "offset": lo, "trustees": used, "rows": rows},
                None,
            )
            for i, (lo, rows) in enumerate(decoded)
        ]
        appended = board_append_many(head=head, items=items)
        mix.status = MixStatus.DONE
        mix.finished_at = timezone.now()
        mix.save(update_fields=["status", "finished_at"])
        audit(election, "mix:published", None, rows=len(final), trustees=used)
        run_id = TallyRun.objects.get(election=election).pk
        from tally.services.tally import _queue_combine

        after_commit(lambda: _queue_combine(run_id))
    return [e.seq for e in appended]
