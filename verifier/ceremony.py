"""Check 3 of §12.5, the key ceremony on the board (§8, §12.1): registrations, the ceremony
context, signed commitments before any deal, signed deals against their commitments, complaints
judged, confirmations against QUAL, and the `ceremony-result` equal to what the board implies."""

from __future__ import annotations

from crypto.board import BoardEntry
from crypto.encoding import expect_list
from crypto.errors import CryptoError
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgConfirmation,
    DkgDeal,
    TrusteePublicKey,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_election_key,
    dkg_judge_complaint,
    dkg_verification_key,
    trustee_check_signature,
)
from verifier.facts import CeremonyOutput, Facts
from verifier.report import Report, fail


class CeremonyChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report
        self.registered: dict[int, TrusteePublicKey] = {}
        self.names: dict[int, str] = {}
        self.commitments: dict[int, DkgCommitment] = {}
        self.deals: dict[int, DkgDeal] = {}  #: deals that passed §8.5
        self.invalid_deals: dict[int, str] = {}  #: dealer → why its deal failed §8.5
        self.justified: dict[int, str] = {}  #: dealer → the justified complaint against it

    def on_trustee(self, entry: BoardEntry) -> None:
        if self.facts.ceremony is not None:
            fail(
                entry.seq, entry.kind, "ceremony", "a trustee registered after the ceremony started"
            )
        key = TrusteePublicKey.from_json(entry.payload["key"])
        key.verify(self.facts.election)
        if key.index in self.registered:
            fail(entry.seq, entry.kind, "ceremony", f"trustee {key.index} registered twice")
        self.registered[key.index] = key
        self.names[key.index] = str(entry.payload.get("name", ""))

    def on_ceremony(self, entry: BoardEntry) -> None:
        payload = entry.payload
        if self.facts.ceremony is not None:
            fail(entry.seq, entry.kind, "ceremony", "a second ceremony")
        n = len(self.registered)
        listed = expect_list(payload["trustees"], "ceremony.trustees", n)
        for item in listed:
            reg = self.registered.get(item["index"])
            if reg is None or reg.public_key.to_hex() != item["public_key"]:
                fail(
                    entry.seq,
                    entry.kind,
                    "ceremony",
                    f"trustee {item.get('index')} is not the registered one",
                )
        ceremony = Ceremony(
            self.facts.election,
            payload["threshold"],
            tuple(self.registered[i] for i in range(1, n + 1)),
        )
        if ceremony.context != payload["context"]:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "the ceremony context is not the digest of its parameters",
            )
        self.facts.ceremony = ceremony
        self.facts.trustee_names = [self.names[i] for i in range(1, n + 1)]
        self.report.trustees, self.report.threshold = n, ceremony.threshold

    def _ceremony(self, entry: BoardEntry) -> Ceremony:
        if self.facts.ceremony is None:
            fail(entry.seq, entry.kind, "ceremony", "no ceremony started")
        return self.facts.ceremony

    def _signed(self, entry: BoardEntry, signer, ceremony: Ceremony) -> dict:
        try:
            return trustee_check_signature(entry.payload, signer, ceremony)
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "signature", str(exc))

    def on_dkg_commitment(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        message = self._signed(entry, entry.payload.get("dealer"), ceremony)
        commitment = DkgCommitment.from_json(message)
        if commitment.dealer > ceremony.n or commitment.dealer in self.commitments:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                f"unexpected commitment from dealer {commitment.dealer}",
            )
        if self.deals or self.invalid_deals:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "a commitment after a reveal (the key could be biased)",
            )
        self.commitments[commitment.dealer] = commitment

    def on_dkg_deal(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        message = self._signed(entry, entry.payload.get("dealer"), ceremony)
        deal = DkgDeal.from_json(message)
        if len(self.commitments) != ceremony.n:
            fail(entry.seq, entry.kind, "ceremony", "a reveal before every trustee committed")
        if deal.dealer in self.deals or deal.dealer in self.invalid_deals:
            fail(entry.seq, entry.kind, "ceremony", f"dealer {deal.dealer} dealt twice")
        try:
            dkg_check_deal(self.commitments[deal.dealer], deal, ceremony)
        except CryptoError as exc:
            self.invalid_deals[deal.dealer] = str(exc)  # disqualified, not a board failure
            return
        self.deals[deal.dealer] = deal

    def on_dkg_complaint(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        complaint = DkgComplaint.from_json(entry.payload)
        deal = self.deals.get(complaint.dealer)
        if deal is None:
            return  # against a dealer already out: moot
        try:
            if dkg_judge_complaint(complaint, deal, ceremony):
                self.justified[complaint.dealer] = (
                    f"justified complaint by trustee {complaint.complainer}"
                )
        except CryptoError:
            return  # a complaint with an invalid proof is void

    def qualified(self) -> list[DkgDeal]:
        """QUAL (§8.7) as the board implies it so far, ascending."""
        return [d for i, d in sorted(self.deals.items()) if i not in self.justified]

    def on_dkg_confirmation(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        message = self._signed(entry, entry.payload.get("trustee"), ceremony)
        confirmation = DkgConfirmation.from_json(message)
        try:
            dkg_check_confirmation(confirmation, self.qualified(), ceremony)
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "ceremony", str(exc))

    def on_ceremony_result(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        qualified = self.qualified()
        payload = entry.payload
        mine = [d.dealer for d in qualified]
        if payload["qualified"] != mine:
            fail(entry.seq, entry.kind, "ceremony", f"qualified dealers should be {mine}")
        key = dkg_election_key(qualified)
        if payload["public_key"] != key.to_json():
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "the election key is not the sum of the qualified commitments",
            )
        vkeys = [dkg_verification_key(qualified, j).to_hex() for j in range(1, ceremony.n + 1)]
        if payload["verification_keys"] != vkeys:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "a verification key does not match the commitments",
            )
        out = sorted(
            set(self.invalid_deals)
            | set(self.justified)
            | (set(range(1, ceremony.n + 1)) - set(self.deals))
        )
        listed = sorted(int(d["dealer"]) for d in payload.get("disqualified", []))
        if listed != out:
            fail(entry.seq, entry.kind, "ceremony", f"disqualified dealers should be {out}")
        self.facts.ceremony_output = CeremonyOutput(key.to_json(), vkeys, mine)
        self.report.qualified = mine
