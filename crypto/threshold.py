"""Threshold ElGamal: the trustees' distributed key generation, partial decryption and the
Lagrange combination of any t valid shares (docs/protocol.md §8–§9).

Key ceremony (joint Feldman/Pedersen DKG, t of n, trustees indexed 1..n):

1. **Registration.** Trustee ``i`` publishes a long-term key ``Yᵢ = yᵢ·G`` with a proof of
   knowledge; shares are encrypted to it. The ceremony context is the digest of the election UUID,
   the threshold and the registered keys; it binds every later message.
2. **Commitment.** Trustee ``i`` draws a secret polynomial ``fᵢ(z) = Σₖ aᵢₖ·zᵏ`` of degree t−1 and
   publishes only ``SHA-256(JCS(reveal))`` of its coefficient commitments and their proofs — before
   anyone reveals, so the last trustee cannot bias the election key.
3. **Deal.** Trustee ``i`` reveals ``Cᵢₖ = aᵢₖ·G`` with a proof of knowledge of each ``aᵢₖ`` (bound
   to ``i`` and ``k``), and ``sᵢⱼ = fᵢ(j)`` for every trustee ``j`` (itself included) encrypted to
   ``Yⱼ`` by ECIES. Anyone checks the reveal against the commitment hash and the proofs.
4. **Complaints.** Trustee ``j`` decrypts ``sᵢⱼ`` and checks ``sᵢⱼ·G = Σₖ jᵏ·Cᵢₖ``. If not (or
   if decryption fails) it publishes the ECDH point of that message with a proof; anyone decrypts
   and judges. A dealer with a justified complaint is disqualified.
5. **Confirmation.** With QUAL the dealers that dealt and were not disqualified, the election key is
   ``K = Σᵢ∈QUAL Cᵢ₀``; trustee ``j``'s share is ``xⱼ = Σᵢ∈QUAL sᵢⱼ`` and its verification key
   ``Xⱼ = Σᵢ∈QUAL Σₖ jᵏ·Cᵢₖ`` is derivable by anyone; ``j`` confirms with a proof of knowledge of xⱼ.

Decryption of ``(A, B)``: trustee ``j`` publishes ``Dⱼ = xⱼ·A`` with a Chaum–Pedersen proof
``log_G Xⱼ = log_A Dⱼ``; any t valid shares combine to ``m·G = B − Σⱼ λⱼ·Dⱼ`` with the Lagrange
coefficients ``λⱼ = Πₗ≠ⱼ l / (l − j)`` at zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.ecies import (
    EciesMessage,
    ecies_decrypt,
    ecies_decrypt_with_shared_point,
    ecies_encrypt,
    reveal_shared_point,
    verify_shared_point,
)
from crypto.elgamal import Ciphertext, ElectionKey
from crypto.encoding import (
    PROTOCOL_VERSION,
    expect_int,
    expect_list,
    expect_object,
    expect_version,
    read_point,
)
from crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidEncoding,
    InvalidProof,
    InvalidShare,
    InvalidSignature,
)
from crypto.group import G, Point, Q, Scalar, base_mul, multi_mul
from crypto.hashing import Tag, canonical_json, check_digest_hex, digest_json
from crypto.proofs.batch import BatchVerifier, check_equation
from crypto.proofs.dleq import DleqProof, prove_dleq, verify_dleq
from crypto.proofs.schnorr import SchnorrProof, prove_knowledge, verify_knowledge
from crypto.signatures import Signature, SigningKey, sign, verify_signature

__all__ = [
    "MAX_TRUSTEES",
    "TrusteeSecret",
    "TrusteePublicKey",
    "Ceremony",
    "Polynomial",
    "DkgCommitment",
    "DkgDeal",
    "DkgComplaint",
    "DkgConfirmation",
    "PartialDecryption",
    "registration_context",
    "trustee_keygen",
    "dkg_new_polynomial",
    "trustee_sign",
    "trustee_check_signature",
    "dkg_deal",
    "dkg_check_deal",
    "dkg_open_share",
    "dkg_complain",
    "dkg_judge_complaint",
    "dkg_election_key",
    "dkg_verification_key",
    "dkg_combine_shares",
    "dkg_confirm",
    "dkg_check_confirmation",
    "partial_decrypt",
    "verify_partial_decryption",
    "decryption_sign",
    "decryption_check_signature",
    "lagrange_coefficients",
    "combine_partial_decryptions",
]

MAX_TRUSTEES = 64


def _index(value: Any, what: str, n: int = MAX_TRUSTEES) -> int:
    return expect_int(value, what, 1, n)


# --- Registration ------------------------------------------------------------------------------


def registration_context(election_uuid: str) -> str:
    """Context of the trustees' key proofs: ``SHA-256(JCS({"election": uuid, "purpose": …}))``."""
    election = str(uuid.UUID(str(election_uuid)))
    return digest_json(
        {"election": election, "purpose": "trustee-registration", "version": PROTOCOL_VERSION}
    )


class TrusteeSecret:
    """A trustee's long-term ECIES secret ``y`` (kept in the trustee's key store, never on the server)."""

    __slots__ = ("y",)

    def __init__(self, y: Scalar) -> None:
        if y.is_zero():
            raise InvalidShare("a trustee secret is non-zero")
        self.y = y

    def __repr__(self) -> str:
        return "TrusteeSecret(<redacted>)"


@dataclass(frozen=True)
class TrusteePublicKey:
    index: int  #: i ∈ 1..n
    public_key: Point  #: Yᵢ = yᵢ·G
    proof: SchnorrProof  #: knowledge of yᵢ

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "index": self.index,
            "public_key": self.public_key.to_hex(),
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> TrusteePublicKey:
        obj = expect_object(value, ("version", "index", "public_key", "proof"), "trustee key")
        expect_version(obj, "trustee key")
        return cls(
            _index(obj["index"], "trustee key.index"),
            read_point(obj["public_key"], "trustee key.public_key"),
            SchnorrProof.from_json(obj["proof"], "trustee key.proof"),
        )

    def verify(self, election_uuid: str) -> None:
        verify_knowledge(
            self.proof,
            public=self.public_key,
            context=registration_context(election_uuid),
            binding={"purpose": "trustee-key", "trustee": self.index},
            label=f"trustee {self.index}: key proof",
        )


def trustee_keygen(
    index: int, election_uuid: str, *, rand: Callable[[], Scalar] = Scalar.random
) -> tuple[TrusteeSecret, TrusteePublicKey]:
    _index(index, "trustee index")
    y = rand()
    Y = base_mul(y)
    proof = prove_knowledge(
        y,
        public=Y,
        context=registration_context(election_uuid),
        binding={"purpose": "trustee-key", "trustee": index},
        rand=rand,
    )
    return TrusteeSecret(y), TrusteePublicKey(index, Y, proof)


@dataclass(frozen=True)
class Ceremony:
    """The public parameters every DKG message is checked against."""

    election: str  #: election UUID
    threshold: int  #: t: any t trustees can decrypt, t−1 learn nothing
    trustees: tuple[TrusteePublicKey, ...]  #: registered keys, indices 1..n in order

    def __post_init__(self) -> None:
        n = len(self.trustees)
        if not 1 <= n <= MAX_TRUSTEES:
            raise InvalidEncoding(f"a ceremony has 1 to {MAX_TRUSTEES} trustees")
        expect_int(self.threshold, "threshold", 1, n)
        if [t.index for t in self.trustees] != list(range(1, n + 1)):
            raise InvalidEncoding("trustees must be indexed 1..n in order")

    @property
    def n(self) -> int:
        return len(self.trustees)

    def key_of(self, index: int) -> Point:
        return self.trustees[index - 1].public_key

    @property
    def context(self) -> str:
        """``SHA-256(JCS({"election", "threshold", "trustees": [{"index", "public_key"}…], "version"}))``."""
        return digest_json(
            {
                "election": str(uuid.UUID(self.election)),
                "threshold": self.threshold,
                "trustees": [
                    {"index": t.index, "public_key": t.public_key.to_hex()} for t in self.trustees
                ],
                "version": PROTOCOL_VERSION,
            }
        )

    def verify_registrations(self) -> None:
        for trustee in self.trustees:
            trustee.verify(self.election)


# --- Polynomials, commitments and deals --------------------------------------------------------


class Polynomial:
    """A dealer's secret polynomial ``f(z) = Σ aₖ·zᵏ`` (degree t−1). Never printed."""

    __slots__ = ("coefficients",)

    def __init__(self, coefficients: Sequence[Scalar]) -> None:
        if not coefficients:
            raise CryptoError("a polynomial has at least one coefficient")
        self.coefficients = tuple(coefficients)

    def __call__(self, z: int) -> Scalar:
        acc = 0
        for a in reversed(self.coefficients):
            acc = (acc * z + int(a)) % Q
        return Scalar(acc)

    def __repr__(self) -> str:
        return f"Polynomial(degree={len(self.coefficients) - 1}, <redacted>)"


def dkg_new_polynomial(threshold: int, *, rand: Callable[[], Scalar] = Scalar.random) -> Polynomial:
    return Polynomial([rand() for _ in range(threshold)])


@dataclass(frozen=True)
class DkgCommitment:
    """Step 2: the hash of a dealer's reveal, published before any reveal."""

    dealer: int
    digest: str  #: SHA-256(JCS({"coefficients": […], "proofs": […]}))

    def to_json(self) -> dict:
        return {"version": PROTOCOL_VERSION, "dealer": self.dealer, "digest": self.digest}

    @classmethod
    def from_json(cls, value: Any) -> DkgCommitment:
        obj = expect_object(value, ("version", "dealer", "digest"), "DKG commitment")
        expect_version(obj, "DKG commitment")
        return cls(
            _index(obj["dealer"], "DKG commitment.dealer"),
            check_digest_hex(obj["digest"], "DKG commitment.digest"),
        )


@dataclass(frozen=True)
class DkgDeal:
    """Step 3: coefficient commitments with proofs, and every trustee's share encrypted to it."""

    dealer: int
    coefficients: tuple[Point, ...]  #: Cₖ = aₖ·G, k = 0..t−1
    proofs: tuple[SchnorrProof, ...]  #: knowledge of each aₖ
    shares: tuple[EciesMessage, ...]  #: share for trustee j at position j−1

    def reveal_json(self) -> dict:
        return {
            "coefficients": [c.to_hex() for c in self.coefficients],
            "proofs": [p.to_json() for p in self.proofs],
        }

    def reveal_digest(self) -> str:
        return digest_json(self.reveal_json())

    def to_json(self) -> dict:
        body = self.reveal_json()
        body.update(
            {
                "version": PROTOCOL_VERSION,
                "dealer": self.dealer,
                "shares": [s.to_json() for s in self.shares],
            }
        )
        return body

    @classmethod
    def from_json(cls, value: Any) -> DkgDeal:
        obj = expect_object(
            value, ("version", "dealer", "coefficients", "proofs", "shares"), "DKG deal"
        )
        expect_version(obj, "DKG deal")
        coefficients = expect_list(obj["coefficients"], "DKG deal.coefficients", min_length=1)
        if len(coefficients) > MAX_TRUSTEES:
            raise InvalidEncoding("DKG deal: too many coefficients")
        proofs = expect_list(obj["proofs"], "DKG deal.proofs", len(coefficients))
        shares = expect_list(obj["shares"], "DKG deal.shares", min_length=1)
        if len(shares) > MAX_TRUSTEES:
            raise InvalidEncoding("DKG deal: too many shares")
        return cls(
            _index(obj["dealer"], "DKG deal.dealer"),
            tuple(read_point(c, f"DKG deal.coefficients[{k}]") for k, c in enumerate(coefficients)),
            tuple(SchnorrProof.from_json(p, f"DKG deal.proofs[{k}]") for k, p in enumerate(proofs)),
            tuple(EciesMessage.from_json(s, f"DKG deal.shares[{j}]") for j, s in enumerate(shares)),
        )


def _coefficient_binding(dealer: int, k: int) -> dict:
    return {"coefficient": k, "dealer": dealer, "purpose": "dkg-coefficient"}


def _share_aad(context: str, dealer: int, recipient: int) -> bytes:
    return canonical_json(
        {"context": context, "dealer": dealer, "purpose": "dkg-share", "recipient": recipient}
    )


def dkg_deal(
    polynomial: Polynomial,
    dealer: int,
    ceremony: Ceremony,
    *,
    rand: Callable[[], Scalar] = Scalar.random,
) -> tuple[DkgCommitment, DkgDeal]:
    """Steps 2 and 3 for one dealer: publish the commitment now, the deal once all committed."""
    if len(polynomial.coefficients) != ceremony.threshold:
        raise CryptoError("the polynomial's degree does not match the threshold")
    _index(dealer, "dealer", ceremony.n)
    context = ceremony.context
    coefficients = tuple(base_mul(a) for a in polynomial.coefficients)
    proofs = tuple(
        prove_knowledge(
            a, public=C, context=context, binding=_coefficient_binding(dealer, k), rand=rand
        )
        for k, (a, C) in enumerate(zip(polynomial.coefficients, coefficients, strict=True))
    )
    shares = tuple(
        ecies_encrypt(
            trustee.public_key,
            polynomial(trustee.index).to_bytes(),
            _share_aad(context, dealer, trustee.index),
            _ephemeral=rand(),
        )
        for trustee in ceremony.trustees
    )
    deal = DkgDeal(dealer, coefficients, proofs, shares)
    return DkgCommitment(dealer, deal.reveal_digest()), deal


def dkg_check_deal(commitment: DkgCommitment, deal: DkgDeal, ceremony: Ceremony) -> None:
    """Public checks of a deal: matches its earlier commitment, right sizes, valid proofs."""
    label = f"dealer {deal.dealer}"
    if commitment.dealer != deal.dealer:
        raise InvalidProof(f"{label}: commitment from another dealer")
    if deal.dealer > ceremony.n:
        raise InvalidProof(f"{label}: not a trustee of this ceremony")
    if len(deal.coefficients) != ceremony.threshold or len(deal.proofs) != ceremony.threshold:
        raise InvalidProof(
            f"{label}: expected {ceremony.threshold} coefficient commitments and proofs"
        )
    if len(deal.shares) != ceremony.n:
        raise InvalidProof(f"{label}: expected one encrypted share per trustee ({ceremony.n})")
    if deal.reveal_digest() != commitment.digest:
        raise InvalidProof(f"{label}: the revealed commitments do not match the committed hash")
    context = ceremony.context
    batch = BatchVerifier()
    for k, (C, proof) in enumerate(zip(deal.coefficients, deal.proofs, strict=True)):
        verify_knowledge(
            proof,
            public=C,
            context=context,
            binding=_coefficient_binding(deal.dealer, k),
            batch=batch,
            label=f"{label}: proof of coefficient {k}",
        )
    batch.verify()


def _check_share(share: Scalar, deal: DkgDeal, recipient: int) -> None:
    # s·G = Σ_k j^k·C_k
    terms = [(-pow(recipient, k, Q), C) for k, C in enumerate(deal.coefficients)]
    check_equation(
        f"dealer {deal.dealer}: share for trustee {recipient}", int(share), terms, InvalidShare
    )


def _share_from_bytes(data: bytes, deal: DkgDeal, recipient: int) -> Scalar:
    try:
        return Scalar.from_bytes(data)
    except InvalidEncoding as exc:
        raise InvalidShare(
            f"dealer {deal.dealer}: share for trustee {recipient} is not a scalar"
        ) from exc


def dkg_open_share(
    deal: DkgDeal, recipient: int, secret: TrusteeSecret, ceremony: Ceremony
) -> Scalar:
    """Step 4 for the recipient: decrypt ``s_ij`` and check it; raise :class:`InvalidShare` if bad."""
    message = deal.shares[recipient - 1]
    try:
        data = ecies_decrypt(
            secret.y, message, _share_aad(ceremony.context, deal.dealer, recipient)
        )
    except DecryptionError as exc:
        raise InvalidShare(
            f"dealer {deal.dealer}: share for trustee {recipient} does not decrypt"
        ) from exc
    share = _share_from_bytes(data, deal, recipient)
    _check_share(share, deal, recipient)
    return share


@dataclass(frozen=True)
class DkgComplaint:
    """Step 4: the recipient reveals the ECDH point of one share so that anyone can judge it."""

    complainer: int
    dealer: int
    shared_point: Point  #: Z = yⱼ·E of the share's ECIES message
    proof: DleqProof  #: log_G Yⱼ = log_E Z

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "complainer": self.complainer,
            "dealer": self.dealer,
            "shared_point": self.shared_point.to_hex(),
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> DkgComplaint:
        obj = expect_object(
            value, ("version", "complainer", "dealer", "shared_point", "proof"), "DKG complaint"
        )
        expect_version(obj, "DKG complaint")
        return cls(
            _index(obj["complainer"], "DKG complaint.complainer"),
            _index(obj["dealer"], "DKG complaint.dealer"),
            read_point(obj["shared_point"], "DKG complaint.shared_point"),
            DleqProof.from_json(obj["proof"], "DKG complaint.proof"),
        )


def _complaint_binding(complaint_dealer: int, complainer: int) -> dict:
    return {"complainer": complainer, "dealer": complaint_dealer, "purpose": "dkg-complaint"}


def dkg_complain(
    deal: DkgDeal,
    recipient: int,
    secret: TrusteeSecret,
    ceremony: Ceremony,
    *,
    rand: Callable[[], Scalar] = Scalar.random,
) -> DkgComplaint:
    shared, proof = reveal_shared_point(
        secret.y,
        deal.shares[recipient - 1],
        context=ceremony.context,
        binding=_complaint_binding(deal.dealer, recipient),
        rand=rand,
    )
    return DkgComplaint(recipient, deal.dealer, shared, proof)


def dkg_judge_complaint(complaint: DkgComplaint, deal: DkgDeal, ceremony: Ceremony) -> bool:
    """``True`` if the complaint is justified (the dealer is disqualified), ``False`` if the share
    was in fact good. Raises :class:`InvalidProof` if the complaint itself is not well formed."""
    if complaint.dealer != deal.dealer or not 1 <= complaint.complainer <= ceremony.n:
        raise InvalidProof("complaint does not match the deal or the ceremony")
    message = deal.shares[complaint.complainer - 1]
    recipient_key = ceremony.key_of(complaint.complainer)
    verify_shared_point(
        complaint.proof,
        recipient=recipient_key,
        message=message,
        shared=complaint.shared_point,
        context=ceremony.context,
        binding=_complaint_binding(deal.dealer, complaint.complainer),
    )
    try:
        data = ecies_decrypt_with_shared_point(
            message,
            complaint.shared_point,
            recipient_key,
            _share_aad(ceremony.context, deal.dealer, complaint.complainer),
        )
        _check_share(
            _share_from_bytes(data, deal, complaint.complainer), deal, complaint.complainer
        )
    except (DecryptionError, InvalidShare):
        return True
    return False


# --- Authenticated ceremony messages ----------------------------------------------------------


def trustee_sign(secret: TrusteeSecret, message: dict, ceremony: Ceremony) -> dict:
    """The message with a ``"signature"`` member: a Schnorr signature (tag ``trustee-signature``,
    context the ceremony context) by the trustee's registered key on ``digest(message)``.

    Commitments and deals carry one so that nobody — the server included — can post a polynomial
    in a trustee's name (docs/protocol.md §8.9).
    """
    if "signature" in message:
        raise CryptoError("the message is already signed")
    signature = sign(
        SigningKey(secret.y),
        digest_json(message),
        context=ceremony.context,
        tag=Tag.TRUSTEE_SIGNATURE,
    )
    return {**message, "signature": signature.to_json()}


def trustee_check_signature(signed: Any, trustee: int, ceremony: Ceremony) -> dict:
    """Check the signature of trustee ``trustee`` on a signed message; return the message."""
    if not isinstance(signed, dict) or "signature" not in signed:
        raise InvalidSignature(f"trustee {trustee}: the message is not signed")
    if not 1 <= trustee <= ceremony.n:
        raise InvalidSignature(f"trustee {trustee} is not part of the ceremony")
    message = {k: v for k, v in signed.items() if k != "signature"}
    verify_signature(
        Signature.from_json(signed["signature"], "message signature"),
        public=ceremony.key_of(trustee),
        message=digest_json(message),
        context=ceremony.context,
        tag=Tag.TRUSTEE_SIGNATURE,
        label=f"trustee {trustee}: message signature",
    )
    return message


# --- The resulting keys ------------------------------------------------------------------------


def _qualified(deals: Iterable[DkgDeal]) -> list[DkgDeal]:
    deals = sorted(deals, key=lambda d: d.dealer)
    if not deals:
        raise CryptoError("no qualified dealer")
    if len({d.dealer for d in deals}) != len(deals):
        raise CryptoError("a dealer appears twice")
    return deals


def dkg_election_key(qualified: Iterable[DkgDeal]) -> ElectionKey:
    """``K = Σᵢ∈QUAL Cᵢ₀``."""
    deals = _qualified(qualified)
    key = deals[0].coefficients[0]
    for deal in deals[1:]:
        key = key + deal.coefficients[0]
    if key.is_identity():
        raise CryptoError("the election key is the identity")
    return ElectionKey(key)


def dkg_verification_key(qualified: Iterable[DkgDeal], trustee: int) -> Point:
    """``Xⱼ = Σᵢ∈QUAL Σₖ jᵏ·Cᵢₖ`` (one multi-scalar multiplication)."""
    scalars, points = [], []
    for deal in _qualified(qualified):
        for k, C in enumerate(deal.coefficients):
            scalars.append(pow(trustee, k, Q))
            points.append(C)
    return multi_mul(0, scalars, points)


def dkg_combine_shares(shares: Iterable[Scalar]) -> Scalar:
    """``xⱼ = Σᵢ∈QUAL sᵢⱼ``."""
    return Scalar(sum(int(s) for s in shares) % Q)


@dataclass(frozen=True)
class DkgConfirmation:
    """Step 5: trustee ``j`` confirms it holds ``xⱼ`` for the derived ``Xⱼ`` and the QUAL it used."""

    trustee: int
    qualified: tuple[int, ...]  #: dealer indices in QUAL, ascending
    verification_key: Point  #: Xⱼ
    proof: SchnorrProof  #: knowledge of xⱼ

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "trustee": self.trustee,
            "qualified": list(self.qualified),
            "verification_key": self.verification_key.to_hex(),
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> DkgConfirmation:
        obj = expect_object(
            value,
            ("version", "trustee", "qualified", "verification_key", "proof"),
            "DKG confirmation",
        )
        expect_version(obj, "DKG confirmation")
        qualified = tuple(
            _index(d, f"DKG confirmation.qualified[{i}]")
            for i, d in enumerate(
                expect_list(obj["qualified"], "DKG confirmation.qualified", min_length=1)
            )
        )
        if list(qualified) != sorted(set(qualified)):
            raise InvalidEncoding("DKG confirmation.qualified must be strictly increasing")
        return cls(
            _index(obj["trustee"], "DKG confirmation.trustee"),
            qualified,
            read_point(obj["verification_key"], "DKG confirmation.verification_key"),
            SchnorrProof.from_json(obj["proof"], "DKG confirmation.proof"),
        )


def _confirmation_binding(trustee: int, qualified: Sequence[int]) -> dict:
    return {"purpose": "dkg-confirmation", "qualified": list(qualified), "trustee": trustee}


def dkg_confirm(
    share: Scalar,
    trustee: int,
    qualified: Sequence[int],
    ceremony: Ceremony,
    *,
    rand: Callable[[], Scalar] = Scalar.random,
) -> DkgConfirmation:
    X = base_mul(share)
    proof = prove_knowledge(
        share,
        public=X,
        context=ceremony.context,
        binding=_confirmation_binding(trustee, qualified),
        rand=rand,
    )
    return DkgConfirmation(trustee, tuple(qualified), X, proof)


def dkg_check_confirmation(
    confirmation: DkgConfirmation, qualified: Sequence[DkgDeal], ceremony: Ceremony
) -> None:
    label = f"trustee {confirmation.trustee}: confirmation"
    deals = _qualified(qualified)
    if tuple(d.dealer for d in deals) != confirmation.qualified:
        raise InvalidProof(f"{label}: used another set of qualified dealers")
    if dkg_verification_key(deals, confirmation.trustee) != confirmation.verification_key:
        raise InvalidProof(f"{label}: verification key does not match the commitments")
    verify_knowledge(
        confirmation.proof,
        public=confirmation.verification_key,
        context=ceremony.context,
        binding=_confirmation_binding(confirmation.trustee, confirmation.qualified),
        label=label,
    )


# --- Partial decryption and combination --------------------------------------------------------


@dataclass(frozen=True)
class PartialDecryption:
    """Trustee ``j``'s shares ``Dⱼ = xⱼ·A`` of a list of ciphertexts, each with its proof."""

    trustee: int
    shares: tuple[Point, ...]  #: Dⱼ per ciphertext (the identity where A is)
    proofs: tuple[DleqProof, ...]  #: log_G Xⱼ = log_A Dⱼ

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "trustee": self.trustee,
            "shares": [d.to_hex_allow_identity() for d in self.shares],
            "proofs": [p.to_json() for p in self.proofs],
        }

    @classmethod
    def from_json(cls, value: Any) -> PartialDecryption:
        obj = expect_object(value, ("version", "trustee", "shares", "proofs"), "partial decryption")
        expect_version(obj, "partial decryption")
        shares = expect_list(obj["shares"], "partial decryption.shares", min_length=1)
        proofs = expect_list(obj["proofs"], "partial decryption.proofs", len(shares))
        return cls(
            _index(obj["trustee"], "partial decryption.trustee"),
            tuple(
                read_point(d, f"partial decryption.shares[{i}]", allow_identity=True)
                for i, d in enumerate(shares)
            ),
            tuple(
                DleqProof.from_json(p, f"partial decryption.proofs[{i}]")
                for i, p in enumerate(proofs)
            ),
        )


def _decryption_binding(trustee: int, position: int) -> dict:
    return {"position": position, "purpose": "partial-decryption", "trustee": trustee}


def partial_decrypt(
    share: Scalar,
    trustee: int,
    ciphertexts: Sequence[Ciphertext],
    *,
    context: str,
    rand: Callable[[], Scalar] = Scalar.random,
) -> PartialDecryption:
    X = base_mul(share)
    shares, proofs = [], []
    for position, ct in enumerate(ciphertexts):
        D = ct.alpha * share
        proofs.append(
            prove_dleq(
                share,
                base1=G,
                value1=X,
                base2=ct.alpha,
                value2=D,
                context=context,
                binding=_decryption_binding(trustee, position),
                rand=rand,
            )
        )
        shares.append(D)
    return PartialDecryption(trustee, tuple(shares), tuple(proofs))


def verify_partial_decryption(
    partial: PartialDecryption,
    *,
    verification_key: Point,
    ciphertexts: Sequence[Ciphertext],
    context: str,
    batch: BatchVerifier | None = None,
) -> None:
    label = f"trustee {partial.trustee}: partial decryption"
    if len(partial.shares) != len(ciphertexts) or len(partial.proofs) != len(ciphertexts):
        raise InvalidProof(
            f"{label}: expected {len(ciphertexts)} shares and proofs, "
            f"got {len(partial.shares)} and {len(partial.proofs)}"
        )
    own_batch = batch is None
    if own_batch:
        batch = BatchVerifier()
    for position, (ct, D, proof) in enumerate(
        zip(ciphertexts, partial.shares, partial.proofs, strict=True)
    ):
        verify_dleq(
            proof,
            base1=G,
            value1=verification_key,
            base2=ct.alpha,
            value2=D,
            context=context,
            binding=_decryption_binding(partial.trustee, position),
            batch=batch,
            label=f"{label} #{position}",
        )
    if own_batch:
        batch.verify()


def decryption_sign(secret: TrusteeSecret, decryption: dict, *, fingerprint: str) -> dict:
    """The ``partial-decryption`` board payload ``{"decryption": d, "signature": σ}``: σ is a
    Schnorr signature (tag ``decryption-signature``, context the manifest fingerprint ``F``) by
    the trustee's registered key on ``digest(d)``, so that the decryption — a rejected one in
    particular — is attributable to its trustee (docs/protocol.md §8.9, §12.4)."""
    if not isinstance(decryption, dict) or "signature" in decryption:
        raise CryptoError("a partial decryption object is signed, not a signed payload")
    signature = sign(
        SigningKey(secret.y),
        digest_json(decryption),
        context=check_digest_hex(fingerprint, "fingerprint"),
        tag=Tag.DECRYPTION_SIGNATURE,
    )
    return {"decryption": decryption, "signature": signature.to_json()}


def decryption_check_signature(payload: Any, public: Point, *, fingerprint: str) -> dict:
    """Check a ``partial-decryption`` payload's signature by ``public`` (trustee ``j``'s
    registered key ``Yⱼ``); return the decryption object (still to be decoded and verified)."""
    obj = expect_object(payload, ("decryption", "signature"), "partial-decryption payload")
    if not isinstance(obj["decryption"], dict):
        raise InvalidEncoding("partial-decryption payload.decryption must be an object")
    verify_signature(
        Signature.from_json(obj["signature"], "partial-decryption payload.signature"),
        public=public,
        message=digest_json(obj["decryption"]),
        context=check_digest_hex(fingerprint, "fingerprint"),
        tag=Tag.DECRYPTION_SIGNATURE,
        label="partial decryption: signature",
    )
    return obj["decryption"]


def lagrange_coefficients(indices: Iterable[int]) -> dict[int, Scalar]:
    """``λⱼ = Πₗ∈S, l≠j l / (l − j) mod q`` for the set S of trustee indices."""
    indices = sorted(set(indices))
    if not indices or indices[0] < 1:
        raise CryptoError("trustee indices are positive")
    out = {}
    for j in indices:
        num, den = 1, 1
        for m in indices:
            if m != j:
                num = num * m % Q
                den = den * (m - j) % Q
        out[j] = Scalar(num * pow(den, -1, Q) % Q)
    return out


def combine_partial_decryptions(
    ciphertexts: Sequence[Ciphertext], partials: Mapping[int, PartialDecryption], threshold: int
) -> list[Point]:
    """``mᵢ·G = Bᵢ − Σⱼ λⱼ·Dⱼᵢ`` from exactly ``threshold`` (already verified) partial decryptions."""
    if len(partials) < threshold:
        raise DecryptionError(f"{len(partials)} partial decryptions given, {threshold} needed")
    chosen = sorted(partials)[:threshold]
    lambdas = lagrange_coefficients(chosen)
    out = []
    for position, ct in enumerate(ciphertexts):
        scalars = [-int(lambdas[j]) for j in chosen]
        points = [partials[j].shares[position] for j in chosen]
        # multi_mul handles identities; B is added afterwards (it may be the identity too)
        out.append(ct.beta + multi_mul(0, scalars, points))
    return out
