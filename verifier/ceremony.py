"""Check 3 of §12.5, the key ceremony on the board (§8, §12.1): registrations, the ceremony
context, signed commitments before any deal, signed deals against their commitments, complaints
judged, confirmations against QUAL, and the `ceremony-result` equal to what the board implies."""

from __future__ import annotations

import re

from crypto.board import BoardEntry
from crypto.encoding import expect_list, expect_object
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

_HEX = re.compile(r"(?:[0-9a-f]{2}){16,4112}\Z")


class CeremonyChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report
        self.registered: dict[int, TrusteePublicKey] = {}
        self.names: dict[int, str] = {}
        self.commitments: dict[int, DkgCommitment] = {}
        self.deals: dict[int, DkgDeal] = {}  #: deals that passed §8.5
        self.invalid_deals: dict[int, str] = {}  #: dealer → why its deal failed §8.5
        self.complaints: set[tuple[int, int]] = set()  #: (complainer, dealer) published
        self.justified: dict[int, str] = {}  #: dealer → the justified complaint against it
        self.confirmed: list[int] = []  #: trustees whose confirmation is on the board

    def on_trustee(self, entry: BoardEntry) -> None:
        name = entry.payload["name"]
        if type(name) is not str or len(name) > 200:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                "a trustee's name is a string of ≤ 200 characters",
            )
        key = TrusteePublicKey.from_json(entry.payload["key"])
        if key.index in self.registered:
            fail(entry.seq, entry.kind, "ceremony", f"trustee {key.index} registered twice")
        key.verify(self.facts.election)
        self.registered[key.index] = key
        self.names[key.index] = name

    def on_ceremony(self, entry: BoardEntry) -> None:
        payload = entry.payload
        n = len(self.registered)
        if sorted(self.registered) != list(range(1, n + 1)):
            fail(entry.seq, entry.kind, "ceremony", "the registered trustees are not 1 … n")
        expected = [
            {
                "index": i,
                "name": self.names[i],
                "public_key": self.registered[i].public_key.to_hex(),
            }
            for i in range(1, n + 1)
        ]
        listed = expect_list(payload["trustees"], "ceremony.trustees", n)
        for mine, theirs in zip(expected, listed, strict=True):
            if theirs != mine:
                fail(
                    entry.seq,
                    entry.kind,
                    "ceremony",
                    f"trustee {mine['index']} is not the registered one (index, name and key)",
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
        for j, share in enumerate(message["shares"]):
            if not _HEX.match(share["ciphertext"]):
                fail(entry.seq, entry.kind, "ceremony", f"share {j + 1}: the ciphertext is not hex")
        if len(self.commitments) != ceremony.n:
            fail(entry.seq, entry.kind, "ceremony", "a reveal before every trustee committed")
        if deal.dealer in self.deals or deal.dealer in self.invalid_deals:
            fail(entry.seq, entry.kind, "ceremony", f"dealer {deal.dealer} dealt twice")
        if self.complaints or self.confirmed:
            fail(entry.seq, entry.kind, "ceremony", "a deal after the deal phase ended")
        try:
            dkg_check_deal(self.commitments[deal.dealer], deal, ceremony)
        except CryptoError as exc:
            self.invalid_deals[deal.dealer] = str(exc)  # disqualified, not a board failure
            return
        self.deals[deal.dealer] = deal

    def on_dkg_complaint(self, entry: BoardEntry) -> None:
        """§8.6: only meaningful complaints are published: against a deal on the board that
        passed §8.5, one per complainer and dealer, with a valid proof, before any confirmation."""
        ceremony = self._ceremony(entry)
        complaint = DkgComplaint.from_json(entry.payload)
        who = f"trustee {complaint.complainer}'s complaint against dealer {complaint.dealer}"
        if complaint.complainer > ceremony.n or complaint.dealer > ceremony.n:
            fail(entry.seq, entry.kind, "ceremony", f"{who}: not a trustee of this ceremony")
        if self.confirmed:
            fail(entry.seq, entry.kind, "ceremony", f"{who} after a confirmation")
        deal = self.deals.get(complaint.dealer)
        if deal is None:
            fail(entry.seq, entry.kind, "ceremony", f"{who}: no valid deal of that dealer (moot)")
        pair = (complaint.complainer, complaint.dealer)
        if pair in self.complaints:
            fail(entry.seq, entry.kind, "ceremony", f"{who} is published twice")
        try:
            justified = dkg_judge_complaint(complaint, deal, ceremony)
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "ceremony", f"{who}: its proof fails ({exc})")
        self.complaints.add(pair)
        if justified and complaint.dealer not in self.justified:
            self.justified[complaint.dealer] = (
                f"justified complaint by trustee {complaint.complainer}"
            )

    def qualified(self) -> list[DkgDeal]:
        """QUAL (§8.7) as the board implies it so far, ascending."""
        return [d for i, d in sorted(self.deals.items()) if i not in self.justified]

    def on_dkg_confirmation(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        message = self._signed(entry, entry.payload.get("trustee"), ceremony)
        confirmation = DkgConfirmation.from_json(message)
        if confirmation.trustee in self.confirmed:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                f"trustee {confirmation.trustee} confirmed twice",
            )
        try:
            dkg_check_confirmation(confirmation, self.qualified(), ceremony)
        except CryptoError as exc:
            fail(entry.seq, entry.kind, "ceremony", str(exc))
        self.confirmed.append(confirmation.trustee)

    def on_ceremony_result(self, entry: BoardEntry) -> None:
        ceremony = self._ceremony(entry)
        qualified = self.qualified()
        payload = entry.payload
        if len(self.confirmed) < ceremony.threshold:
            fail(
                entry.seq,
                entry.kind,
                "ceremony",
                f"{len(self.confirmed)} confirmations on the board; the result needs at least "
                f"the threshold ({ceremony.threshold})",
            )
        mine = [d.dealer for d in qualified]
        if not mine:  # cannot happen with a confirmation on the board (it names a QUAL)
            fail(entry.seq, entry.kind, "ceremony", "no qualified dealer: the ceremony failed")
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
        out = [i for i in range(1, ceremony.n + 1) if i not in mine]
        listed = expect_list(payload["disqualified"], "ceremony-result.disqualified", len(out))
        for dealer, item in zip(out, listed, strict=True):
            item = expect_object(item, ("dealer", "reason"), "ceremony-result.disqualified[]")
            if item["dealer"] != dealer or type(item["reason"]) is not str:
                fail(
                    entry.seq,
                    entry.kind,
                    "ceremony",
                    f"disqualified should list dealers {out}, ascending, each with a reason",
                )
        self.facts.ceremony_output = CeremonyOutput(key.to_json(), vkeys, mine)
        self.report.qualified = mine
