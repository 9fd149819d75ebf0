"""Check 7a of §12.5, the mixnet (§15.10–§15.11): the mix's input derived from the counted
ballots, every shuffle (its proof, its signature, the chain of lists, the mixers in index order,
the skips), every trustee's partial decryptions of the final list, and the published rows.

Memory stays flat in the number of rows: the checker keeps byte offsets, not points. A list is
read back from the board in slices — the counted ballots of the derived input, or the parts of a
shuffle — and each shuffle is checked in two passes over its parts (hash everything, then the
chunk equations, :mod:`crypto.mix.shuffle`).
"""

from __future__ import annotations

import array
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from crypto.board import BoardEntry
from crypto.elgamal import Ciphertext
from crypto.encoding import expect_int, expect_list, expect_object, expect_str
from crypto.errors import CryptoError, InvalidShuffle
from crypto.group import Point
from crypto.hashing import Tag, digest_json, parse_json
from crypto.mix.ballots import MixLayout, MixRowDecoder, mix_row
from crypto.mix.decryption import (
    MixDecryption,
    mix_combine,
    mix_decryption_rows,
    verify_mix_decryption,
)
from crypto.mix.generators import shuffle_generators
from crypto.mix.rows import CIPHERTEXTS_LABEL, CiphertextList, ListDigest, read_row
from crypto.mix.shuffle import (
    ShuffleChunkCheck,
    ShuffleProofChunk,
    ShuffleProofHead,
    ShuffleSetting,
    ShuffleTranscript,
    ShuffleWeights,
    diagnose_shuffle_merge,
    verify_shuffle_chunk,
    verify_shuffle_merge,
)
from crypto.signatures import Signature, verify_signature
from crypto.threshold import decryption_check_signature
from verifier.ballots import BallotBook
from verifier.facts import Facts
from verifier.report import Report, fail
from verifier.states import PAYLOAD_FIELDS

__all__ = ["MixChecker", "MixList", "shuffle_signed_message", "MAX_REASON"]

MAX_REASON = 480
SHUFFLE_FIELDS = PAYLOAD_FIELDS["mix-shuffle"]
MIX_PAYLOAD_FIELDS = PAYLOAD_FIELDS


def _integers(entry: BoardEntry, payload: dict, keys: tuple[str, ...]) -> None:
    """§15.11: these fields are JSON integers (not booleans, not floats)."""
    for key in keys:
        if type(payload[key]) is not int:
            fail(entry.seq, entry.kind, "mix", f"{key} must be an integer, not {payload[key]!r}")


def shuffle_signed_message(statement: dict, head: dict) -> dict:
    """What mixer ``m`` signs (§15.11): the statement ``S`` of its shuffle and its proof's head."""
    return {"head": head, "purpose": "mix-shuffle", "statement": statement}


class MixList:
    """A list of rows on the board, read back in slices: the derived input (counted ballots by
    offset with their weights) or a shuffle's output (its parts' offsets and first rows)."""

    def __init__(self, source, width: int, rows: int) -> None:
        self.source = source
        self.width = width
        self.rows = rows
        self.ballots: array.array | None = None  #: input: offset of each row's ballot entry
        self.weights: array.array | None = None
        self.layout: MixLayout | None = None
        self.parts: list[tuple[int, int, int]] = []  #: output: (offset, first row, row count)

    def slice(self, start: int, stop: int) -> CiphertextList:
        if not 0 <= start <= stop <= self.rows:
            raise CryptoError(f"rows {start}–{stop - 1} are not in the list")
        if self.ballots is not None:
            out = []
            for i in range(start, stop):
                # the ballot's proofs were checked when it was read (check 5): only the choice
                # ciphertexts of the mixed questions are decoded again
                answers = parse_json(self.source.read_at(self.ballots[i]))["payload"]["ballot"][
                    "answers"
                ]
                choices = [
                    [Ciphertext.from_json(c) for c in answers[q]["choices"]]
                    for q in self.layout.questions
                ]
                out.append(mix_row(self.layout, choices, self.weights[i]))
            return CiphertextList(self.width, tuple(out))
        out = []
        for offset, first, count in self.parts:
            if first + count <= start or first >= stop:
                continue
            payload = BoardEntry.from_line(self.source.read_at(offset)).payload
            lo, hi = max(start, first), min(stop, first + count)
            for i in range(lo, hi):
                out.append(read_row(payload["ciphertexts"][i - first], self.width, "row"))
        return CiphertextList(self.width, tuple(out))

    def digest(self, step: int = 1000) -> str:
        d = ListDigest(CIPHERTEXTS_LABEL, self.rows, 2 * self.width)
        for start in range(0, self.rows, step):
            d.update(self.slice(start, min(self.rows, start + step)).points())
        return d.hexdigest()

    def whole(self) -> CiphertextList:
        return self.slice(0, self.rows)


def _part_chunk(source, offset: int) -> ShuffleProofChunk:
    return ShuffleProofChunk.from_json(
        BoardEntry.from_line(source.read_at(offset)).payload["proof"]
    )


#: the job a forked worker process runs (set in the parent right before the fork)
_JOB: _ShuffleJob | None = None


class _ShuffleJob:
    """Pass 2 of a shuffle's check, part by part (:func:`crypto.mix.shuffle.verify_shuffle_chunk`)."""

    def __init__(self, source, challenge, weights, inputs, outputs, gens, parts) -> None:
        self.source, self.challenge, self.weights = source, challenge, weights
        self.inputs, self.outputs, self.gens, self.parts = inputs, outputs, gens, parts

    def check(self, i: int, diagnose: bool = False) -> ShuffleChunkCheck:
        offset, lo, hi, _ = self.parts[i]
        previous = self.gens.chain_base if i == 0 else self.parts[i - 1][3]
        return verify_shuffle_chunk(
            self.challenge,
            self.weights,
            self.inputs.slice(lo, hi),
            self.outputs.slice(lo, hi),
            _part_chunk(self.source, offset),
            previous,
            self.gens.rows(lo, hi),
            diagnose=diagnose,
        )

    def run(self, diagnose: bool, jobs: int) -> list[ShuffleChunkCheck]:
        count = len(self.parts)
        if jobs <= 1 or count <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return [self.check(i, diagnose) for i in range(count)]
        global _JOB
        _JOB = self
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, count), mp_context=context) as pool:
                return [_unpack(r) for r in pool.map(_forked_check, range(count))]
        finally:
            _JOB = None


def _forked_check(i: int) -> tuple:
    check = _JOB.check(i)
    return (
        check.offset,
        check.count,
        check.previous.to_bytes(),
        check.last.to_bytes(),
        check.u_product,
        check.combined.to_bytes(),
    )


def _unpack(item: tuple) -> ShuffleChunkCheck:
    offset, count, previous, last, u_product, combined = item
    return ShuffleChunkCheck(
        offset,
        count,
        Point.from_bytes(previous),
        Point.from_bytes(last),
        u_product,
        Point.from_bytes(combined, allow_identity=True),
    )


class MixChecker:
    def __init__(self, facts: Facts, report: Report, book: BallotBook, source) -> None:
        self.facts = facts
        self.report = report
        self.book = book
        self.source = source
        self.offset = 0  #: the byte offset of the entry being handled (set by the driver)
        self.jobs = 1  #: worker processes for the shuffles' chunk checks (``--jobs``)
        self.layout: MixLayout | None = None
        self.current: MixList | None = None  #: the input of the next shuffle (the last output)
        self.next_mixer = 1
        self.shuffles: list[int] = []  #: mixers who shuffled, in order
        self.skipped: list[int] = []
        self.pending: dict | None = None  #: the shuffle whose parts are being read
        self.decryptions: dict[int, list[tuple[int, int, int]]] = {}  #: complete ones
        self.decrypting: tuple[int, int, list] | None = None  #: (trustee, parts, [(off, a, n)])
        self.result_next = 0  #: the next mix-result row
        self.result_part = 0
        self.decoder: MixRowDecoder | None = None

    # --- the input (at the tally entry: every ballot is on the board before it)
    def on_tally(self, entry: BoardEntry) -> None:
        manifest = self.facts.manifest
        layout = MixLayout(manifest)
        if not layout:
            return
        self.layout = layout
        table = self.facts.credentials
        offsets, weights = array.array("q"), array.array("I")
        for i, offset in enumerate(self.book.last_ballot):
            if offset >= 0:
                offsets.append(offset)
                weights.append(table.weights[i])
        inputs = MixList(self.source, layout.width, len(offsets))
        inputs.ballots, inputs.weights, inputs.layout = offsets, weights, layout
        self.current = inputs
        self.report.mix = {"rows": len(offsets), "width": layout.width, "shuffles": []}

    @property
    def complete(self) -> bool:
        """Every trustee shuffled or was skipped (the mix's output is ``current``)."""
        return self.layout is not None and self.next_mixer > len(self.facts.manifest.trustee_keys)

    @property
    def needed(self) -> bool:
        """The board must hold the mix and its published rows before the result (§15.11)."""
        return self.layout is not None and self.current is not None and self.current.rows > 0

    @property
    def done(self) -> bool:
        return self.needed and self.result_next == self.current.rows and self.result_part == -1

    def _mixing(self, entry: BoardEntry, check: str = "mix") -> None:
        if not self.needed:
            fail(entry.seq, entry.kind, check, "no mix on this board (no mixed question or ballot)")

    # --- skips and shuffles
    def on_skip(self, entry: BoardEntry) -> None:
        self._mixing(entry)
        payload = expect_object(entry.payload, MIX_PAYLOAD_FIELDS["mix-skip"], "mix-skip")
        _integers(entry, payload, ("mixer",))
        m = payload["mixer"]
        self._expect_mixer(entry, m)
        reason = expect_str(payload["reason"], "mix-skip.reason", MAX_REASON)
        if not reason:
            fail(entry.seq, entry.kind, "mix", "a skip says why (1 to 480 characters)")
        self.skipped.append(m)
        self.next_mixer += 1
        self.report.mix["shuffles"].append({"mixer": m, "skipped": reason})

    def _expect_mixer(self, entry: BoardEntry, m) -> None:
        if self.pending is not None:
            fail(
                entry.seq,
                entry.kind,
                "mix",
                f"mixer {self.pending['mixer']}'s parts are not all here",
            )
        if m != self.next_mixer:
            fail(
                entry.seq,
                entry.kind,
                "mix",
                f"mixer {m!r} out of turn: the trustees mix in index order, "
                f"trustee {self.next_mixer} is next",
            )

    def on_shuffle(self, entry: BoardEntry) -> None:
        self._mixing(entry)
        payload = expect_object(entry.payload, SHUFFLE_FIELDS, "mix-shuffle")
        _integers(entry, payload, ("mixer", "part", "parts", "offset", "rows", "width"))
        m = payload["mixer"]
        pending = self.pending
        if pending is None:
            self._expect_mixer(entry, m)
            if payload["part"] != 0:
                fail(entry.seq, entry.kind, "mix", f"mixer {m}: the first part is part 0")
            n, w = self.current.rows, self.current.width
            if payload["rows"] != n or payload["width"] != w:
                fail(
                    entry.seq,
                    entry.kind,
                    "mix",
                    f"mixer {m}: {payload['rows']!r} rows of width {payload['width']!r}; "
                    f"the list it shuffles has {n} of width {w}",
                )
            parts = expect_int(payload["parts"], "mix-shuffle.parts", 1, n)
            if payload["head"] is None or payload["signature"] is None:
                fail(
                    entry.seq,
                    entry.kind,
                    "mix",
                    f"mixer {m}: part 0 carries the head and signature",
                )
            head = ShuffleProofHead.from_json(payload["head"])
            if head.rows != n or head.width != w:
                fail(
                    entry.seq, entry.kind, "mix", f"mixer {m}: the proof's head is for another list"
                )
            self.pending = pending = {
                "mixer": m,
                "parts": parts,
                "head": head,
                "head_json": payload["head"],
                "signature": Signature.from_json(payload["signature"], "mix-shuffle.signature"),
                "first_seq": entry.seq,
                "list": MixList(self.source, w, n),
            }
        else:
            if m != pending["mixer"] or payload["parts"] != pending["parts"]:
                fail(
                    entry.seq,
                    entry.kind,
                    "mix",
                    f"mixer {pending['mixer']}'s parts are interrupted",
                )
            if payload["head"] is not None or payload["signature"] is not None:
                fail(
                    entry.seq, entry.kind, "mix", f"mixer {m}: only part 0 has a head and signature"
                )
        out: MixList = pending["list"]
        part = len(out.parts)
        if payload["part"] != part or payload["rows"] != out.rows or payload["width"] != out.width:
            fail(entry.seq, entry.kind, "mix", f"mixer {m}: expected part {part} of the same list")
        first = sum(count for _, _, count in out.parts)
        if payload["offset"] != first:
            fail(entry.seq, entry.kind, "mix", f"mixer {m}: part {part} starts at row {first}")
        rows = expect_list(payload["ciphertexts"], "mix-shuffle.ciphertexts", min_length=1)
        for i, row in enumerate(rows):  # strict decoding now; the points are read again later
            read_row(row, out.width, f"mix-shuffle.ciphertexts[{i}]")
        chunk = ShuffleProofChunk.from_json(payload["proof"])
        if chunk.offset != first or len(chunk) != len(rows):
            fail(entry.seq, entry.kind, "mix", f"mixer {m}: the proof chunk covers other rows")
        out.parts.append((self.offset, first, len(rows)))
        if part + 1 < pending["parts"]:
            return
        if first + len(rows) != out.rows:
            fail(
                entry.seq, entry.kind, "mix", f"mixer {m}: the parts cover {first + len(rows)} rows"
            )
        self.pending = None
        self._check_shuffle(entry, pending)
        self.shuffles.append(m)
        self.next_mixer += 1
        self.current = out
        self.report.mix["shuffles"].append({"mixer": m, "entry": pending["first_seq"]})

    def _check_shuffle(self, entry: BoardEntry, pending: dict) -> None:
        """Both passes over the parts; a failure names the mixer, the entry and the equation.
        Pass 1 hashes the lists and the proof's chunks part by part, keeping of each part only
        its position and its last ĉ; pass 2 reads each part again and checks its equations — in
        ``jobs`` worker processes when asked (forked: they read the same board file)."""
        manifest = self.facts.manifest
        m, head, out = pending["mixer"], pending["head"], pending["list"]
        setting = ShuffleSetting(
            manifest.fingerprint, manifest.key, m, manifest.trustee_keys[m - 1]
        )
        inputs = self.current
        gens = shuffle_generators(manifest.fingerprint)
        gens.rows(0, out.rows)  # derived once, before any fork
        _ = gens.chain_table
        parts = []  #: (board offset, first row, stop, the part's last ĉ)
        try:
            transcript = ShuffleTranscript(setting, head)
            for offset, first, count in out.parts:
                chunk = _part_chunk(self.source, offset)
                transcript.absorb(
                    inputs.slice(first, first + count), out.slice(first, first + count), chunk
                )
                parts.append((offset, first, first + count, chunk.chain[-1]))
            challenge = transcript.challenge()
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "shuffle", f"mixer {m}: {exc}")
        weights = ShuffleWeights.draw(head.width)
        job = _ShuffleJob(self.source, challenge, weights, inputs, out, gens, parts)
        try:
            verify_shuffle_merge(challenge, weights, gens.chain_base, job.run(False, self.jobs))
        except InvalidShuffle:
            try:
                diagnose_shuffle_merge(challenge, gens.chain_base, job.run(True, 1))
            except CryptoError as exc:
                fail(pending["first_seq"], entry.kind, "shuffle", str(exc))
            fail(pending["first_seq"], entry.kind, "shuffle", f"mixer {m}: the proof fails")
        except CryptoError as exc:
            fail(pending["first_seq"], entry.kind, "shuffle", f"mixer {m}: {exc}")
        try:
            verify_signature(
                pending["signature"],
                public=manifest.trustee_keys[m - 1],
                message=digest_json(
                    shuffle_signed_message(challenge.statement, pending["head_json"])
                ),
                context=manifest.data["ceremony"],
                tag=Tag.TRUSTEE_SIGNATURE,
                label=f"mixer {m}: shuffle signature",
            )
        except CryptoError as exc:
            fail(pending["first_seq"], entry.kind, "signature", str(exc))

    # --- decryptions of the final list
    def on_decryption(self, entry: BoardEntry) -> None:
        self._mixing(entry, "mix-decryption")
        if not self.complete or self.pending is not None:
            fail(entry.seq, entry.kind, "mix-decryption", "the mix is not complete")
        threshold = self.facts.manifest.threshold
        if len(self.shuffles) < threshold:
            fail(
                entry.seq,
                entry.kind,
                "mix",
                f"{len(self.shuffles)} trustees shuffled, at least {threshold} must",
            )
        manifest = self.facts.manifest
        payload = expect_object(
            entry.payload, MIX_PAYLOAD_FIELDS["mix-decryption"], "mix-decryption"
        )
        _integers(entry, payload, ("part", "parts"))
        t = (
            payload["decryption"].get("trustee")
            if isinstance(payload["decryption"], dict)
            else None
        )
        if type(t) is not int or not 1 <= t <= len(manifest.trustee_keys):
            fail(entry.seq, entry.kind, "mix-decryption", f"trustee {t!r} does not exist")
        try:
            decryption_check_signature(
                {"decryption": payload["decryption"], "signature": payload["signature"]},
                manifest.trustee_keys[t - 1],
                fingerprint=manifest.fingerprint,
            )
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "signature", f"trustee {t}: {exc}")
        decryption = MixDecryption.from_json(payload["decryption"])
        state = self.decrypting
        if state is None:
            if t in self.decryptions:
                fail(entry.seq, entry.kind, "mix-decryption", f"trustee {t} decrypted already")
            if payload["part"] != 0:
                fail(entry.seq, entry.kind, "mix-decryption", f"trustee {t}: part 0 first")
            parts = expect_int(payload["parts"], "mix-decryption.parts", 1, self.current.rows)
            state = self.decrypting = (t, parts, [])
        elif t != state[0] or payload["parts"] != state[1]:
            fail(
                entry.seq,
                entry.kind,
                "mix-decryption",
                f"trustee {state[0]}'s parts are interrupted",
            )
        t, parts, seen = state
        first = sum(n for _, _, n in seen)
        if payload["part"] != len(seen) or decryption.offset != first:
            fail(
                entry.seq,
                entry.kind,
                "mix-decryption",
                f"trustee {t}: expected part {len(seen)} at row {first}",
            )
        if decryption.stop > self.current.rows:
            fail(entry.seq, entry.kind, "mix-decryption", f"trustee {t}: rows past the list's end")
        try:
            rows = self.current.slice(decryption.offset, decryption.stop)
            verify_mix_decryption(
                decryption,
                verification_key=manifest.verification_keys[t - 1],
                ciphertexts=rows,
                fingerprint=manifest.fingerprint,
            )
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "mix-decryption", str(exc))
        seen.append((self.offset, decryption.offset, len(decryption)))
        if len(seen) == parts:
            if decryption.stop != self.current.rows:
                fail(
                    entry.seq, entry.kind, "mix-decryption", f"trustee {t}: not every row decrypted"
                )
            self.decryptions[t] = seen
            self.decrypting = None

    # --- the published rows
    def on_result_rows(self, entry: BoardEntry) -> None:
        self._mixing(entry, "mix-result")
        if self.decrypting is not None:
            fail(
                entry.seq, entry.kind, "mix-result", "a trustee's decryption parts are interrupted"
            )
        payload = expect_object(entry.payload, MIX_PAYLOAD_FIELDS["mix-result"], "mix-result")
        _integers(entry, payload, ("part", "parts", "offset"))
        if self.result_part < 0:
            fail(entry.seq, entry.kind, "mix-result", "the rows are published already")
        manifest = self.facts.manifest
        trustees = payload["trustees"]
        if (
            not isinstance(trustees, list)
            or any(type(t) is not int for t in trustees)
            or trustees != sorted(set(trustees))
            or len(trustees) != manifest.threshold
            or any(t not in self.decryptions for t in trustees)
        ):
            fail(
                entry.seq,
                entry.kind,
                "mix-result",
                f"combines {trustees!r}: t trustees with a complete valid decryption, ascending",
            )
        if payload["part"] != self.result_part or payload["offset"] != self.result_next:
            fail(
                entry.seq,
                entry.kind,
                "mix-result",
                f"expected part {self.result_part} at row {self.result_next}",
            )
        parts = expect_int(payload["parts"], "mix-result.parts", 1, self.current.rows)
        published = expect_list(payload["rows"], "mix-result.rows", min_length=1)
        lo, hi = self.result_next, self.result_next + len(published)
        if hi > self.current.rows:
            fail(entry.seq, entry.kind, "mix-result", "rows past the list's end")
        if self.decoder is None:
            self.decoder = MixRowDecoder(self.layout)
        expected = self._decrypted(trustees, lo, hi)
        for i, (row, want) in enumerate(zip(published, expected, strict=True)):
            if row != want:
                fail(entry.seq, entry.kind, "mix-result", f"row {lo + i} is not the decryption")
        self.result_next = hi
        self.result_part += 1
        if self.result_part == parts:
            if hi != self.current.rows:
                fail(
                    entry.seq,
                    entry.kind,
                    "mix-result",
                    f"{hi} rows published of {self.current.rows}",
                )
            self.result_part = -1
            self.report.mix["published"] = hi

    def _decrypted(self, trustees: list[int], lo: int, hi: int) -> list:
        rows = self.current.slice(lo, hi)
        shares = {}
        for t in trustees:
            parts = []
            for offset, first, count in self.decryptions[t]:
                if first + count <= lo or first >= hi:
                    continue
                payload = BoardEntry.from_line(self.source.read_at(offset)).payload
                parts.append(MixDecryption.from_json(payload["decryption"]))
            shares[t] = mix_decryption_rows(parts, lo, hi)
        messages = mix_combine(rows, shares, len(trustees))
        return [self.decoder.decode(m) for m in messages]
