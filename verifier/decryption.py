"""Check 7 of §12.5, decryption and result (§9, §12.4): each partial decryption signed by the
registered key of the trustee it names, then its proofs against that trustee's verification key;
invalid ones rejected; the result combining t valid ones, its counts the discrete logarithms,
the funded projects by the budget rule, counted ballots and weight as in the tally."""

from __future__ import annotations

from crypto.board import BoardEntry
from crypto.dlog import DlogTable
from crypto.errors import CryptoError, InvalidProof
from crypto.tally import funded_projects, result_bound
from crypto.threshold import (
    PartialDecryption,
    combine_partial_decryptions,
    decryption_check_signature,
    verify_partial_decryption,
)
from verifier.facts import Expected, Facts
from verifier.report import Report, fail

#: §12.4: a `decryption-rejected` reason is at most 480 characters (Unicode code points)
MAX_REASON = 480


class DecryptionChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report
        self.partials: dict[int, PartialDecryption] = {}  #: trustee → its valid decryption
        self.rejectable: int | None = None  #: the trustee of the invalid decryption just read

    def on_partial_decryption(self, entry: BoardEntry) -> None:
        tally = self.facts.tally
        if tally is None:
            fail(entry.seq, entry.kind, "decryption", "a partial decryption before the tally")
        manifest = self.facts.manifest
        j = entry.payload["decryption"].get("trustee")
        if type(j) is not int or not 1 <= j <= len(manifest.trustee_keys):
            fail(entry.seq, entry.kind, "decryption", f"trustee {j!r} does not exist")
        try:  # signed by trustee j's registered key (§12.4): attributable to j
            decryption_check_signature(
                entry.payload, manifest.trustee_keys[j - 1], fingerprint=manifest.fingerprint
            )
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "signature", f"trustee {j}: {exc}")
        partial = PartialDecryption.from_json(entry.payload["decryption"])
        if j in self.partials:
            fail(entry.seq, entry.kind, "decryption", f"trustee {j} has a valid decryption already")
        self.rejectable = None
        try:
            for p, (ct, share) in enumerate(
                zip(tally.ciphertexts, partial.shares, strict=False)
            ):  # §9.1: where Aₚ = O the share is O; a proof could not show otherwise anyway
                if ct.alpha.is_identity() and not share.is_identity():
                    raise InvalidProof(f"position {p}: Aₚ is O but the share is not")
            verify_partial_decryption(
                partial,
                verification_key=manifest.verification_keys[j - 1],
                ciphertexts=tally.ciphertexts,
                context=manifest.fingerprint,
            )
        except CryptoError:  # published, then rejected in the very next entry (§12.4)
            self.rejectable = j
            self.facts.expected = Expected(
                entry.seq,
                entry.kind,
                "decryption-rejected",
                {"trustee": j},
                f"the decryption-rejected entry of trustee {j}",
            )
            return
        self.partials[j] = partial
        self.report.decryptions_valid.append(j)

    def on_decryption_rejected(self, entry: BoardEntry) -> None:
        j, reason = entry.payload["trustee"], entry.payload["reason"]
        if self.rejectable is None or j != self.rejectable:
            fail(
                entry.seq,
                entry.kind,
                "decryption",
                f"trustee {j!r}'s decryption was rejected but is valid or absent",
            )
        if type(reason) is not str or not 1 <= len(reason) <= MAX_REASON:
            fail(
                entry.seq,
                entry.kind,
                "decryption",
                f"the reason is a string of 1 to {MAX_REASON} characters",
            )
        self.rejectable = None
        self.report.decryptions_rejected.append(j)

    def on_result(self, entry: BoardEntry) -> None:
        facts = self.facts
        if facts.tally is None:
            fail(entry.seq, entry.kind, "result", "a result without a tally")
        manifest = facts.manifest
        payload = entry.payload
        used = payload["trustees"]
        if (
            sorted(used) != used
            or len(used) != manifest.threshold
            or any(j not in self.partials for j in used)
        ):
            fail(
                entry.seq,
                entry.kind,
                "result",
                f"the result must combine {manifest.threshold} valid partial decryptions",
            )
        points = combine_partial_decryptions(
            facts.tally.ciphertexts, {j: self.partials[j] for j in used}, manifest.threshold
        )
        weight = facts.tally.weight
        table = DlogTable(result_bound(manifest.questions, weight))
        counts = [table.solve(p) for p in points]
        questions = manifest.data["questions"]
        expected_counts, expected_funded, it = [], [], iter(counts)
        for q, spec in zip(questions, manifest.questions, strict=True):
            mine = [next(it) for _ in range(spec.options)]
            expected_counts.append(mine)
            if q["kind"] == "budget":
                funded = funded_projects(mine, spec.costs, spec.budget)
                expected_funded.append([q["options"][i]["id"] for i in funded])
            else:
                expected_funded.append(None)
        if payload["counts"] != expected_counts:
            fail(entry.seq, entry.kind, "result", f"the counts should be {expected_counts}")
        if payload["funded"] != expected_funded:
            fail(
                entry.seq, entry.kind, "result", "the funded projects do not follow the budget rule"
            )
        if payload["counted"] != facts.tally.counted or payload["weight"] != weight:
            fail(entry.seq, entry.kind, "result", "counted ballots or weight differ from the tally")
        facts.result = True
        self.report.result_verified = True
        self.report.result = {
            "questions": [
                {
                    "id": q["id"],
                    "title": q["title"],
                    "counts": {o["title"]: c for o, c in zip(q["options"], mine, strict=True)},
                    "funded": None
                    if f is None
                    else [next(o["title"] for o in q["options"] if o["id"] == fid) for fid in f],
                }
                for q, mine, f in zip(questions, expected_counts, expected_funded, strict=True)
            ]
        }
