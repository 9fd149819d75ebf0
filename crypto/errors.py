"""Exceptions of the cryptographic core.

Every failure in ``crypto/`` raises a subclass of :class:`CryptoError`; nothing
returns ``False`` or ``None`` to signal bad input, and nothing raises a bare
``Exception``.
"""


class CryptoError(Exception):
    """Base class of every error raised by the cryptographic core."""


class InvalidEncoding(CryptoError):
    """Bytes, hex or JSON that are not the one canonical encoding of a value."""


class InvalidPoint(InvalidEncoding):
    """A point that is off the curve, the identity where a real point is needed, or badly encoded."""


class InvalidScalar(InvalidEncoding):
    """A scalar outside ``[0, q)`` (or zero where a non-zero scalar is needed), or badly encoded."""


class InvalidProof(CryptoError):
    """A zero-knowledge proof that does not verify."""


class InvalidShuffle(InvalidProof):
    """A proof of shuffle that does not verify, or a shuffle whose lists do not match its proof."""


class InvalidSignature(InvalidProof):
    """A credential signature that does not verify."""


class InvalidBallot(CryptoError):
    """A ballot whose structure does not match its election (before any proof is checked)."""


class InvalidCredential(CryptoError):
    """A credential code that is malformed or whose checksum is wrong."""


class InvalidShare(CryptoError):
    """A key-ceremony share that does not match its dealer's commitments, or cannot be decrypted."""


class DecryptionError(CryptoError):
    """Decryption failed: an authenticated ciphertext was altered, or too few shares were given."""


class DiscreteLogNotFound(CryptoError):
    """The discrete logarithm is not within the searched bound."""


class InvalidNote(InvalidEncoding):
    """A signed note, checkpoint, cosignature, verifier key or tlog proof that is not well formed."""


class InvalidMerkleProof(InvalidProof):
    """A transparency-log inclusion or consistency proof that does not verify."""


class TreeRangeError(CryptoError):
    """A leaf index or tree size outside the tree, or a hash store that answered the wrong count."""


class UnverifiedNote(InvalidSignature):
    """A signed note that carries no signature by any trusted key."""


class QuorumNotMet(InvalidSignature):
    """A checkpoint cosigned by fewer distinct trusted witnesses than the quorum requires."""
