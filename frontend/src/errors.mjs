// Exceptions of the booth's cryptography, mirroring crypto/errors.py.
// Every failure throws a subclass of CryptoError; nothing returns false to signal bad input.
// Messages never contain secrets (credential codes, scalars, randomness).

export class CryptoError extends Error {}

/** Bytes, hex or JSON that are not the one canonical encoding of a value. */
export class InvalidEncoding extends CryptoError {}

/** A point off the curve, the identity where a real point is needed, or badly encoded. */
export class InvalidPoint extends InvalidEncoding {}

/** A scalar outside [0, q) (or zero where a non-zero scalar is needed), or badly encoded. */
export class InvalidScalar extends InvalidEncoding {}

/** A zero-knowledge proof that does not verify. */
export class InvalidProof extends CryptoError {}

/** A credential signature that does not verify. */
export class InvalidSignature extends InvalidProof {}

/** A ballot whose structure does not match its election, or choices that break the rules. */
export class InvalidBallot extends CryptoError {}

/** A credential code that is malformed or whose checksum is wrong. */
export class InvalidCredential extends CryptoError {}

/** A board entry that is not what the hash chain says it is (§11.1), e.g. a forged genesis. */
export class InvalidChain extends CryptoError {}

/** A signed note, checkpoint, cosignature, verifier key or tlog proof that is not well formed. */
export class InvalidNote extends InvalidEncoding {}

/** A transparency-log inclusion or consistency proof that does not verify. */
export class InvalidMerkleProof extends InvalidProof {}

/** A signed note that carries no signature by any trusted key. */
export class UnverifiedNote extends InvalidSignature {}

/** A checkpoint cosigned by fewer distinct trusted witnesses than the quorum requires. */
export class QuorumNotMet extends InvalidSignature {}

// Names survive minification (the bundle renames classes) and cross a worker boundary as strings.
for (const [name, cls] of Object.entries({
  CryptoError,
  InvalidEncoding,
  InvalidPoint,
  InvalidScalar,
  InvalidProof,
  InvalidSignature,
  InvalidBallot,
  InvalidCredential,
  InvalidChain,
  InvalidNote,
  InvalidMerkleProof,
  UnverifiedNote,
  QuorumNotMet,
})) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}
