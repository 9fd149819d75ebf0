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
})) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}
