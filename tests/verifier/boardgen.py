"""Build complete, valid Pnyx boards from the crypto core alone (no server), for the verifier's
tests, its tampering suite and bench/verify.py.

The entry sequence is the one the server writes (docs/protocol.md §11–§12):
genesis, trustee registrations, key ceremony, credentials, manifest, ballots and audits, close,
encrypted tally, partial decryptions, result.
"""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crypto.ballot import Ballot, ballot_encrypt
from crypto.board import GENESIS_PREV, BoardEntry, format_time
from crypto.dlog import DlogTable
from crypto.group import Scalar
from crypto.manifest import Credential, Manifest, credentials_digest, credentials_entries
from crypto.signatures import SigningKey
from crypto.tally import Aggregator, funded_projects, result_bound, tally_to_json
from crypto.threshold import (
    Ceremony,
    DkgDeal,
    PartialDecryption,
    Polynomial,
    combine_partial_decryptions,
    decryption_sign,
    dkg_combine_shares,
    dkg_complain,
    dkg_confirm,
    dkg_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_new_polynomial,
    dkg_open_share,
    dkg_verification_key,
    partial_decrypt,
    trustee_keygen,
    trustee_sign,
)

SINGLE5 = {
    "id": "q1",
    "kind": "single",
    "title": "Mayor",
    "description": "",
    "options": [
        {"id": f"q1o{i}", "title": name, "description": "", "cost": None}
        for i, name in enumerate(["Ada", "Grace", "Hedy", "Katherine", "Margaret"], start=1)
    ],
    "min": 1,
    "max": 1,
    "budget": None,
}
REFERENDUM = {
    "id": "q2",
    "kind": "referendum",
    "title": "Extend the tram line?",
    "description": "",
    "options": [
        {"id": "q2yes", "title": "Yes", "description": "", "cost": None},
        {"id": "q2no", "title": "No", "description": "", "cost": None},
    ],
    "min": 0,
    "max": 1,
    "budget": None,
}
APPROVAL = {
    "id": "q3",
    "kind": "approval",
    "title": "Board members (up to 2)",
    "description": "",
    "options": [
        {"id": f"q3o{i}", "title": f"Member {i}", "description": "", "cost": None}
        for i in range(1, 5)
    ],
    "min": 0,
    "max": 2,
    "budget": None,
}
BUDGET = {
    "id": "q4",
    "kind": "budget",
    "title": "Participatory budget (100 k€)",
    "description": "",
    "options": [
        {"id": "q4park", "title": "Park", "description": "", "cost": 30},
        {"id": "q4library", "title": "Library", "description": "", "cost": 50},
        {"id": "q4bikes", "title": "Bike lanes", "description": "", "cost": 20},
        {"id": "q4pool", "title": "Pool", "description": "", "cost": 45},
    ],
    "min": 0,
    "max": 4,
    "budget": 100,
}
SCORE = {
    "id": "q5",
    "kind": "score",
    "title": "Rate the parks (0 to 10)",
    "description": "",
    "options": [
        {"id": f"q5o{i}", "title": f"Park {i}", "description": "", "cost": None}
        for i in range(1, 4)
    ],
    "min": 0,
    "max": 30,
    "budget": None,
    "max_score": 10,
}
SCORE_CAPPED = {
    "id": "q6",
    "kind": "score",
    "title": "Rate the menus (0 to 3, 5 points in all)",
    "description": "",
    "options": [
        {"id": f"q6o{i}", "title": f"Menu {i}", "description": "", "cost": None}
        for i in range(1, 5)
    ],
    "min": 1,
    "max": 5,
    "budget": None,
    "max_score": 3,
}
ALL_KINDS = [SINGLE5, REFERENDUM, APPROVAL, BUDGET]


class BoardBuilder:
    """Appends entries with the right chain; each step mirrors a server service."""

    def __init__(self, *, questions=None, start: datetime | None = None, sink=None) -> None:
        """``sink``: a binary file to stream entries to instead of keeping them (big boards; no
        revotes then)."""
        self.election = str(uuid.uuid4())
        self.questions = questions if questions is not None else [SINGLE5]
        self.entries: list[BoardEntry] = []
        self.sink = sink
        self.last: BoardEntry | None = None
        self.streamed_agg: Aggregator | None = None
        self.clock = start or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        self.state = "draft"
        self.append(
            "election",
            {
                "uuid": self.election,
                "slug": "test-election",
                "title": "Test election",
                "board_key": "ab" * 32,  # receipts are not signed in synthetic boards
            },
        )

    # --- chain
    def append(self, kind: str, payload: dict) -> BoardEntry:
        self.clock += timedelta(milliseconds=1)
        prev = self.last.hash if self.last is not None else GENESIS_PREV
        seq = self.last.seq + 1 if self.last is not None else 0
        entry = BoardEntry.create(
            election=self.election,
            seq=seq,
            kind=kind,
            time=format_time(self.clock),
            prev=prev,
            payload=payload,
        )
        self.last = entry
        if self.sink is not None:
            self.sink.write(entry.to_line())
        else:
            self.entries.append(entry)
        return entry

    def transition(self, to: str) -> None:
        self.append("state", {"from": self.state, "to": to, "reason": ""})
        self.state = to

    # --- ceremony
    def run_ceremony(self, n: int = 3, t: int = 2, *, bad_dealer: int | None = None) -> None:
        keys = [trustee_keygen(i, self.election) for i in range(1, n + 1)]
        self.trustee_secrets = {i: s for i, (s, _) in enumerate(keys, start=1)}
        for i, (_, pub) in enumerate(keys, start=1):
            self.append("trustee", {"name": f"Trustee {i}", "key": pub.to_json()})
        self.transition("key_ceremony")
        ceremony = Ceremony(self.election, t, tuple(pub for _, pub in keys))
        self.ceremony = ceremony
        self.append(
            "ceremony",
            {
                "threshold": t,
                "trustees": [
                    {"index": i, "name": f"Trustee {i}", "public_key": pub.public_key.to_hex()}
                    for i, (_, pub) in enumerate(keys, start=1)
                ],
                "context": ceremony.context,
            },
        )
        dealt = []
        for i in range(1, n + 1):
            poly = dkg_new_polynomial(t)
            commitment, deal = dkg_deal(poly, i, ceremony)
            if (
                i == bad_dealer
            ):  # corrupt the share for trustee 1 (encrypted correctly, wrong value)
                wrong = Polynomial([Scalar.random() for _ in range(t)])
                _, wrong_deal = dkg_deal(wrong, i, ceremony)
                deal = DkgDeal(
                    deal.dealer,
                    deal.coefficients,
                    deal.proofs,
                    (wrong_deal.shares[0], *deal.shares[1:]),
                )
            dealt.append((commitment, deal))
            secret = self.trustee_secrets[i]
            self.append("dkg-commitment", trustee_sign(secret, commitment.to_json(), ceremony))
        for _, deal in dealt:
            secret = self.trustee_secrets[deal.dealer]
            self.append("dkg-deal", trustee_sign(secret, deal.to_json(), ceremony))
        deals = [d for _, d in dealt]
        disqualified = []
        for j in range(1, n + 1):
            for deal in deals:
                try:
                    dkg_open_share(deal, j, self.trustee_secrets[j], ceremony)
                except Exception:  # noqa: BLE001 - InvalidShare: complain
                    complaint = dkg_complain(deal, j, self.trustee_secrets[j], ceremony)
                    self.append("dkg-complaint", complaint.to_json())
                    if dkg_judge_complaint(complaint, deal, ceremony):
                        disqualified.append(
                            {"dealer": deal.dealer, "reason": f"justified complaint by trustee {j}"}
                        )
        out = {d["dealer"] for d in disqualified}
        qualified = [d for d in deals if d.dealer not in out]
        self.shares = {
            j: dkg_combine_shares(
                dkg_open_share(d, j, self.trustee_secrets[j], ceremony) for d in qualified
            )
            for j in range(1, n + 1)
        }
        for j in range(1, n + 1):
            confirmation = dkg_confirm(self.shares[j], j, [d.dealer for d in qualified], ceremony)
            self.append(
                "dkg-confirmation",
                trustee_sign(self.trustee_secrets[j], confirmation.to_json(), ceremony),
            )
        self.key = dkg_election_key(qualified)
        self.verification_keys = [dkg_verification_key(qualified, j) for j in range(1, n + 1)]
        self.trustee_keys = [pub for _, pub in keys]
        self.threshold = t
        self.append(
            "ceremony-result",
            {
                "qualified": [d.dealer for d in qualified],
                "disqualified": sorted(disqualified, key=lambda d: d["dealer"]),
                "public_key": self.key.to_json(),
                "verification_keys": [v.to_hex() for v in self.verification_keys],
            },
        )
        self.transition("ready")

    # --- credentials and opening
    def publish_credentials(self, voters: int, weights=None) -> None:
        self.signers = [SigningKey(Scalar.random()) for _ in range(voters)]
        self.weights = [weights(i) if weights else 1 for i in range(voters)]
        creds = sorted(
            (Credential(s.public, w) for s, w in zip(self.signers, self.weights, strict=True)),
            key=lambda c: c.public_key.to_hex(),
        )
        self.credentials = creds
        for payload in credentials_entries(creds):
            self.append("credentials", payload)

    def open(self) -> None:
        start = self.clock - timedelta(hours=1)
        manifest = {
            "version": 1,
            "election": {
                "uuid": self.election,
                "slug": "test-election",
                "title": "Test election",
                "description": "",
                "opens_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "closes_at": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "questions": self.questions,
            "trustees": [
                {
                    "index": k.index,
                    "name": f"Trustee {k.index}",
                    "public_key": k.public_key.to_hex(),
                }
                for k in self.trustee_keys
            ],
            "threshold": self.threshold,
            "ceremony": self.ceremony.context,
            "public_key": self.key.to_json(),
            "verification_keys": [v.to_hex() for v in self.verification_keys],
            "credentials": {
                "count": len(self.credentials),
                "digest": credentials_digest(self.credentials),
                "total_weight": sum(self.weights),
            },
        }
        self.manifest = Manifest.from_json(manifest)
        self.append("manifest", {"manifest": manifest, "fingerprint": self.manifest.fingerprint})
        self.transition("open")
        self.last_choice: dict[int, list] = {}
        if self.sink is not None:
            self.streamed_agg = Aggregator(self.manifest.spec)

    # --- voting
    def ballot(self, voter: int, choices):
        ballot, secrets = ballot_encrypt(self.manifest.spec, self.signers[voter], choices)
        return ballot, secrets

    def cast(self, voter: int, choices, ballot=None) -> BoardEntry:
        if ballot is None:
            ballot, _ = self.ballot(voter, choices)
        if self.sink is not None:
            if voter in self.last_choice:
                raise ValueError("a streamed board has no revotes")
            self.streamed_agg.add(ballot, self.weights[voter])
        self.last_choice[voter] = choices
        return self.append("ballot", {"ballot": ballot.to_json(), "tracker": ballot.tracker()})

    def audit(self, voter: int, choices) -> BoardEntry:
        ballot, secrets = self.ballot(voter, choices)
        return self.append(
            "audit",
            {
                "ballot": ballot.to_json(),
                "tracker": ballot.tracker(),
                "randomness": secrets.to_json(),
            },
        )

    def cast_many(
        self, choices_by_voter: list[tuple[int, list]], processes: int | None = None
    ) -> None:
        """Encrypt in parallel processes (for big boards), then append in order."""
        spec_json = self.manifest.data
        jobs = [(spec_json, self.signers[v].secret.to_hex(), ch) for v, ch in choices_by_voter]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            ballots = pool.map(_encrypt_job, jobs, chunksize=64)
        for (voter, choices), ballot_json in zip(choices_by_voter, ballots, strict=True):
            if self.sink is not None and voter in self.last_choice:
                raise ValueError("a streamed board has no revotes")
            self.last_choice[voter] = choices
            ballot = Ballot.from_json(ballot_json)
            self.append("ballot", {"ballot": ballot_json, "tracker": ballot.tracker()})
            if self.sink is not None:
                self.streamed_agg.add(ballot, self.weights[voter])

    # --- tally
    def close_and_tally(self) -> None:
        self.transition("closed")
        spec = self.manifest.spec
        if self.sink is not None:
            agg, superseded = self.streamed_agg, 0
            self._publish_tally(agg, superseded)
            return
        agg = Aggregator(spec)
        superseded = 0
        last: dict[str, BoardEntry] = {}
        for entry in self.entries:
            if entry.kind == "ballot":
                cred = entry.payload["ballot"]["credential"]
                if cred in last:
                    superseded += 1
                last[cred] = entry
        weight_of = {c.public_key.to_hex(): c.weight for c in self.credentials}
        for cred, entry in last.items():
            agg.add(Ballot.from_json(entry.payload["ballot"]), weight_of[cred])
        self._publish_tally(agg, superseded)

    def _publish_tally(self, agg: Aggregator, superseded: int) -> None:
        spec = self.manifest.spec
        self.tally = agg.totals()
        self.counted, self.counted_weight = agg.count, agg.weight
        self.append(
            "tally",
            {
                "counted": agg.count,
                "superseded": superseded,
                "weight": agg.weight,
                "ciphertexts": tally_to_json(self.tally, spec.questions),
            },
        )
        self.transition("tallying")

    def signed_decryption(self, j: int, share: Scalar | None = None) -> dict:
        """The ``partial-decryption`` payload of trustee ``j`` (§12.4), signed by ``j``; with a
        wrong ``share`` its proofs fail (an invalid decryption, still ``j``'s)."""
        fp = self.manifest.fingerprint
        partial = partial_decrypt(
            self.shares[j] if share is None else share, j, self.tally, context=fp
        )
        return decryption_sign(self.trustee_secrets[j], partial.to_json(), fingerprint=fp)

    def decrypt(
        self, trustees=(1, 2), *, bad: int | None = None, bad_times: int = 1, retry: bool = False
    ) -> None:
        """Partial decryptions by ``trustees``; ``bad`` sends ``bad_times`` invalid ones first
        (each followed by its rejection), then with ``retry`` a valid one."""
        partials = {}
        for j in sorted(set(trustees) | ({bad} if bad else set())):
            if j == bad:
                for _ in range(bad_times):
                    self.append("partial-decryption", self.signed_decryption(j, Scalar.random()))
                    self.append("decryption-rejected", {"trustee": j, "reason": "invalid proof"})
                if not retry:
                    continue
            payload = self.signed_decryption(j)
            self.append("partial-decryption", payload)
            partials[j] = PartialDecryption.from_json(payload["decryption"])
        used = sorted(partials)[: self.threshold]
        points = combine_partial_decryptions(
            self.tally, {j: partials[j] for j in used}, self.threshold
        )
        table = DlogTable(result_bound(self.manifest.questions, self.counted_weight))
        flat = [table.solve(p) for p in points]
        counts, funded, it = [], [], iter(flat)
        for q, spec in zip(self.questions, self.manifest.questions, strict=True):
            mine = [next(it) for _ in range(spec.options)]
            counts.append(mine)
            funded.append(
                [q["options"][i]["id"] for i in funded_projects(mine, spec.costs, spec.budget)]
                if q["kind"] == "budget"
                else None
            )
        self.counts = counts
        self.append(
            "result",
            {
                "counts": counts,
                "funded": funded,
                "trustees": used,
                "counted": self.counted,
                "weight": self.counted_weight,
            },
        )
        self.transition("tallied")

    def expected_counts(self) -> list[list[int]]:
        out = [[0] * len(q["options"]) for q in self.questions]
        weight_of = {s.public.to_hex(): w for s, w in zip(self.signers, self.weights, strict=True)}
        for voter, choices in self.last_choice.items():
            w = weight_of[self.signers[voter].public.to_hex()]
            for qi, picks in enumerate(choices):
                for oi, x in enumerate(picks):
                    out[qi][oi] += w * x
        return out

    # --- output
    def lines(self) -> list[bytes]:
        return [e.to_line() for e in self.entries]

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.lines()))
        return path


def _encrypt_job(job) -> dict:
    manifest_json, secret_hex, choices = job
    spec = _spec_cache(manifest_json)
    ballot, _ = ballot_encrypt(spec, SigningKey(Scalar.from_hex(secret_hex)), choices)
    return ballot.to_json()


_SPEC: dict = {}


def _spec_cache(manifest_json):
    key = id(manifest_json)
    if key not in _SPEC:
        _SPEC.clear()
        _SPEC[key] = Manifest.from_json(manifest_json).spec
    return _SPEC[key]


def full_election(
    *,
    voters=6,
    questions=None,
    revotes=(0,),
    audits=1,
    weights=None,
    bad_dealer=None,
    bad_trustee=None,
    retry=False,
    rng=None,
):
    """A small complete election exercising every entry kind; returns the builder."""
    import random

    rng = rng or random.Random(7)
    b = BoardBuilder(questions=questions if questions is not None else ALL_KINDS)
    b.run_ceremony(3, 2, bad_dealer=bad_dealer)
    b.publish_credentials(voters, weights)
    b.open()
    for v in range(voters):
        b.cast(v, random_choices(b.manifest, rng))
    for v in revotes:
        b.cast(v, random_choices(b.manifest, rng))
    for _ in range(audits):
        b.audit(0, random_choices(b.manifest, rng))
    b.close_and_tally()
    trustees = (1, 2) if bad_dealer != 1 else (2, 3)
    b.decrypt(trustees, bad=bad_trustee, retry=retry)
    return b


def random_choices(manifest, rng) -> list[list[int]]:
    return [random_answer(q, rng) for q in manifest.questions]


def random_answer(q, rng) -> list[int]:
    """A valid answer to the question shape ``q`` (a QuestionSpec), drawn with ``rng``: scores
    for a score question, else selections (within the budget)."""
    while q.max_score is not None:
        scores = [rng.randint(0, q.max_score) for _ in range(q.options)]
        if q.min_selections <= sum(scores) <= q.max_selections:
            return scores
    while True:
        k = rng.randint(q.min_selections, q.max_selections)
        picks = [0] * q.options
        for i in rng.sample(range(q.options), k):
            picks[i] = 1
        if q.costs is None or sum(c * x for c, x in zip(q.costs, picks, strict=True)) <= q.budget:
            return picks
