"""An honest key ceremony run end to end, every public check on the way (for the crypto tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from crypto.elgamal import ElectionKey
from crypto.group import Point, Scalar
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgConfirmation,
    DkgDeal,
    Polynomial,
    TrusteeSecret,
    dkg_check_confirmation,
    dkg_check_deal,
    dkg_combine_shares,
    dkg_confirm,
    dkg_deal,
    dkg_election_key,
    dkg_new_polynomial,
    dkg_open_share,
    dkg_verification_key,
    trustee_keygen,
)


@dataclass
class Dkg:
    election: str
    n: int
    t: int
    ceremony: Ceremony
    secrets: dict[int, TrusteeSecret]
    polynomials: dict[int, Polynomial]
    commitments: dict[int, DkgCommitment]
    deals: dict[int, DkgDeal]
    shares: dict[int, Scalar]  #: xⱼ
    key: ElectionKey
    verification_keys: dict[int, Point]
    confirmations: dict[int, DkgConfirmation]


def run_dkg(n: int, t: int, *, qualified: list[int] | None = None) -> Dkg:
    """An honest t-of-n ceremony; ``qualified`` restricts QUAL (the other dealers disqualified)."""
    election = str(uuid.uuid4())
    secrets, keys = {}, []
    for i in range(1, n + 1):
        secret, public = trustee_keygen(i, election)
        secrets[i] = secret
        keys.append(public)
    ceremony = Ceremony(election, t, tuple(keys))
    ceremony.verify_registrations()
    polynomials = {i: dkg_new_polynomial(t) for i in range(1, n + 1)}
    commitments, deals = {}, {}
    for i, poly in polynomials.items():
        commitments[i], deals[i] = dkg_deal(poly, i, ceremony)
    for i in deals:
        dkg_check_deal(commitments[i], deals[i], ceremony)
    qual = sorted(qualified or deals)
    qual_deals = [deals[i] for i in qual]
    shares = {}
    for j in range(1, n + 1):
        received = [dkg_open_share(deals[i], j, secrets[j], ceremony) for i in qual]
        for i, s in zip(qual, received, strict=True):
            assert s == polynomials[i](j)
        shares[j] = dkg_combine_shares(received)
    key = dkg_election_key(qual_deals)
    verification_keys = {j: dkg_verification_key(qual_deals, j) for j in range(1, n + 1)}
    confirmations = {}
    for j in range(1, n + 1):
        confirmations[j] = dkg_confirm(shares[j], j, qual, ceremony)
        dkg_check_confirmation(confirmations[j], qual_deals, ceremony)
    return Dkg(
        election,
        n,
        t,
        ceremony,
        secrets,
        polynomials,
        commitments,
        deals,
        shares,
        key,
        verification_keys,
        confirmations,
    )
