"""Verified decryption of the mixnet's final list (docs/protocol.md §15.8).

Trustee ``t`` (share ``x_t``, verification key ``X_t = x_t·G``) publishes, for every ciphertext
``(α_{i,k}, β_{i,k})`` of the final list, ``D_{t,i,k} = x_t·α_{i,k}`` with a Chaum–Pedersen proof
(§5.2) that ``log_G X_t = log_α D``, bound to the trustee, the row and the component. Work is cut
into chunks of rows; a chunk's proofs are checked together, all their equations weighted by fresh
random coefficients in one multi-scalar multiplication (§5.4). Any ``t`` valid partial
decryptions combine, with the Lagrange coefficients at zero, to the message points
``M_{i,k} = β_{i,k} − Σ_t λ_t·D_{t,i,k}``, which :mod:`crypto.pointenc` decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.encoding import (
    PROTOCOL_VERSION,
    expect_int,
    expect_list,
    expect_object,
    expect_version,
    read_point,
)
from crypto.errors import DecryptionError, InvalidEncoding, InvalidProof
from crypto.group import G, Point, Scalar, base_mul, multi_mul
from crypto.mix.rows import MAX_ROWS, MAX_WIDTH, CiphertextList
from crypto.proofs.batch import BatchVerifier
from crypto.proofs.dleq import DleqProof, prove_dleq, verify_dleq
from crypto.threshold import MAX_TRUSTEES, lagrange_coefficients

__all__ = [
    "MixDecryption",
    "mix_decryption_binding",
    "mix_partial_decrypt",
    "verify_mix_decryption",
    "mix_combine",
    "mix_decryption_rows",
]


def mix_decryption_binding(trustee: int, row: int, component: int) -> dict:
    """The binding of the proof for ciphertext ``(row, component)`` (§15.8)."""
    return {"component": component, "purpose": "mix-decryption", "row": row, "trustee": trustee}


@dataclass(frozen=True)
class MixDecryption:
    """Trustee ``trustee``'s decryption shares of rows ``offset … offset + n − 1``."""

    trustee: int  #: t
    offset: int  #: the first row
    width: int  #: w
    shares: tuple[tuple[Point, ...], ...]  #: D_{t,i,k} = x_t·α_{i,k} (the identity where α is)
    proofs: tuple[tuple[DleqProof, ...], ...]  #: log_G X_t = log_α D

    def __post_init__(self) -> None:
        expect_int(self.trustee, "mix decryption.trustee", 1, MAX_TRUSTEES)
        expect_int(self.offset, "mix decryption.offset", 0, MAX_ROWS - 1)
        expect_int(self.width, "mix decryption.width", 1, MAX_WIDTH)
        if not self.shares or len(self.proofs) != len(self.shares):
            raise InvalidEncoding("mix decryption: as many rows of proofs as of shares (≥ 1)")
        for row_shares, row_proofs in zip(self.shares, self.proofs, strict=True):
            if len(row_shares) != self.width or len(row_proofs) != self.width:
                raise InvalidEncoding(
                    f"mix decryption: every row has {self.width} shares and proofs"
                )

    def __len__(self) -> int:
        return len(self.shares)

    @property
    def stop(self) -> int:
        return self.offset + len(self.shares)

    def to_json(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "trustee": self.trustee,
            "offset": self.offset,
            "width": self.width,
            "shares": [[d.to_hex_allow_identity() for d in row] for row in self.shares],
            "proofs": [[p.to_json() for p in row] for row in self.proofs],
        }

    @classmethod
    def from_json(cls, value: Any, what: str = "mix decryption") -> MixDecryption:
        keys = ("version", "trustee", "offset", "width", "shares", "proofs")
        obj = expect_object(value, keys, what)
        expect_version(obj, what)
        width = expect_int(obj["width"], f"{what}.width", 1, MAX_WIDTH)
        shares = expect_list(obj["shares"], f"{what}.shares", None, 1)
        if len(shares) > MAX_ROWS:
            raise InvalidEncoding(f"{what}: too many rows")
        proofs = expect_list(obj["proofs"], f"{what}.proofs", len(shares))
        return cls(
            expect_int(obj["trustee"], f"{what}.trustee", 1, MAX_TRUSTEES),
            expect_int(obj["offset"], f"{what}.offset", 0, MAX_ROWS - 1),
            width,
            tuple(
                tuple(
                    read_point(d, f"{what}.shares[{i}][{k}]", allow_identity=True)
                    for k, d in enumerate(expect_list(row, f"{what}.shares[{i}]", width))
                )
                for i, row in enumerate(shares)
            ),
            tuple(
                tuple(
                    DleqProof.from_json(p, f"{what}.proofs[{i}][{k}]")
                    for k, p in enumerate(expect_list(row, f"{what}.proofs[{i}]", width))
                )
                for i, row in enumerate(proofs)
            ),
        )


def mix_partial_decrypt(
    share: Scalar,
    trustee: int,
    ciphertexts: CiphertextList,
    offset: int,
    *,
    fingerprint: str,
    rand: Callable[[], Scalar] = Scalar.random,
) -> MixDecryption:
    """Trustee ``trustee``'s shares and proofs for ``ciphertexts``, rows ``offset …`` of the list."""
    X = base_mul(share)
    shares, proofs = [], []
    for i, row in enumerate(ciphertexts.rows):
        row_shares, row_proofs = [], []
        for k, ct in enumerate(row):
            D = ct.alpha * share
            row_proofs.append(
                prove_dleq(
                    share,
                    base1=G,
                    value1=X,
                    base2=ct.alpha,
                    value2=D,
                    context=fingerprint,
                    binding=mix_decryption_binding(trustee, offset + i, k),
                    rand=rand,
                )
            )
            row_shares.append(D)
        shares.append(tuple(row_shares))
        proofs.append(tuple(row_proofs))
    return MixDecryption(trustee, offset, ciphertexts.width, tuple(shares), tuple(proofs))


def verify_mix_decryption(
    decryption: MixDecryption,
    *,
    verification_key: Point,
    ciphertexts: CiphertextList,
    fingerprint: str,
) -> None:
    """Check a chunk of partial decryptions against ``ciphertexts`` (the same rows): every proof,
    in one multi-scalar multiplication; a failure names the row and component."""
    label = f"trustee {decryption.trustee}: mix decryption"
    if len(ciphertexts) != len(decryption) or ciphertexts.width != decryption.width:
        raise InvalidProof(
            f"{label}: rows {decryption.offset}–{decryption.stop - 1}: expected "
            f"{len(ciphertexts)} rows of width {ciphertexts.width}"
        )
    if verification_key.is_identity():
        raise InvalidProof(f"{label}: the verification key is the identity")
    batch = BatchVerifier()
    for i, (row, row_shares, row_proofs) in enumerate(
        zip(ciphertexts.rows, decryption.shares, decryption.proofs, strict=True)
    ):
        position = decryption.offset + i
        for k, (ct, D, proof) in enumerate(zip(row, row_shares, row_proofs, strict=True)):
            if ct.alpha.is_identity() and not D.is_identity():  # §15.8: "00" where α = O
                raise InvalidProof(f"{label}: row {position}, component {k}: α is O, D is not")
            verify_dleq(
                proof,
                base1=G,
                value1=verification_key,
                base2=ct.alpha,
                value2=D,
                context=fingerprint,
                binding=mix_decryption_binding(decryption.trustee, position, k),
                batch=batch,
                label=f"{label}: row {position}, component {k}",
            )
    batch.verify()


def mix_decryption_rows(parts: Sequence[MixDecryption], start: int, stop: int) -> MixDecryption:
    """Rows ``start … stop − 1`` of one trustee's decryption given in consecutive ``parts``, as
    one object (parts may be cut differently from the rows asked)."""
    shares, proofs = [], []
    for d in parts:
        for i in range(max(start, d.offset), min(stop, d.stop)):
            shares.append(d.shares[i - d.offset])
            proofs.append(d.proofs[i - d.offset])
    if len(shares) != stop - start:
        raise DecryptionError(f"the parts do not cover rows {start}–{stop - 1}")
    return MixDecryption(parts[0].trustee, start, parts[0].width, tuple(shares), tuple(proofs))


def mix_combine(
    ciphertexts: CiphertextList, decryptions: Mapping[int, MixDecryption], threshold: int
) -> list[tuple[Point, ...]]:
    """``M_{i,k} = β_{i,k} − Σ_t λ_t·D_{t,i,k}`` from the ``threshold`` lowest-indexed of the
    given (already verified) decryptions of the same rows; one message row per ciphertext row."""
    if len(decryptions) < threshold:
        raise DecryptionError(f"{len(decryptions)} partial decryptions given, {threshold} needed")
    chosen = sorted(decryptions)[:threshold]
    for t in chosen:
        d = decryptions[t]
        if d.trustee != t or len(d) != len(ciphertexts) or d.width != ciphertexts.width:
            raise DecryptionError(f"trustee {t}: the partial decryption covers other rows")
    offsets = {decryptions[t].offset for t in chosen}
    if len(offsets) != 1:
        raise DecryptionError("the partial decryptions cover different rows")
    lambdas = lagrange_coefficients(chosen)
    coefficients = [-int(lambdas[t]) for t in chosen]
    out = []
    for i, row in enumerate(ciphertexts.rows):
        messages = []
        for k, ct in enumerate(row):
            shares = [decryptions[t].shares[i][k] for t in chosen]
            messages.append(ct.beta + multi_mul(0, coefficients, shares))
        out.append(tuple(messages))
    return out
