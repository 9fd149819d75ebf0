"""What the checkers have established about the board so far, shared between them.

Each checker (chain, states, ceremony, credentials, manifest, ballots, tally, decryption) writes
the facts it is the authority for and reads the ones it needs from the others; nothing else is
shared. A checker can thus be tested alone by giving it the facts an earlier one would have set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crypto.elgamal import Ciphertext
from crypto.manifest import Manifest
from crypto.threshold import Ceremony


@dataclass
class CeremonyOutput:
    """What the board's key ceremony produced (§12.1), as the verifier recomputed it."""

    public_key: str  #: K (hex)
    verification_keys: list[str]  #: X₁ … Xₙ (hex)
    qualified: list[int]  #: QUAL, ascending


@dataclass
class TallyFacts:
    """The verified `tally` entry (§12.3)."""

    ciphertexts: list[Ciphertext]  #: one per tally position
    counted: int
    superseded: int
    weight: int


@dataclass(frozen=True)
class Expected:
    """The entry right after entry ``seq`` (of ``kind``) must be a ``next_kind`` entry whose
    payload holds ``fields`` (§11.2: "right before", §11.5: consecutive parts, §12.4: a rejected
    decryption's `decryption-rejected`)."""

    seq: int
    kind: str
    next_kind: str
    fields: dict
    what: str  #: the expected entry, in words


@dataclass
class Facts:
    election: str | None = None  #: the genesis entry's uuid (every entry's `election`)
    state: str | None = None  #: the election's state after the entries seen (None before genesis)
    #: `ceremony` entry: the parameters, and the trustees' names in index order
    ceremony: Ceremony | None = None
    trustee_names: list[str] = field(default_factory=list)
    ceremony_output: CeremonyOutput | None = None  #: set by a verified `ceremony-result`
    credentials: object | None = None  #: the complete list (verifier.credentials.CredentialTable)
    credentials_meta: dict | None = None  #: {"count", "digest", "total_weight"} of that list
    manifest: Manifest | None = None  #: the verified manifest
    tally: TallyFacts | None = None
    result: bool = False  #: a verified `result` entry is on the board
    expected: Expected | None = None  #: what the next entry must be, if anything
