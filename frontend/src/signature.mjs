// Schnorr signatures by voter credentials (docs/protocol.md §6.2). Mirrors crypto/signatures.py.
//
// sign:   k = OS2IP(SHA-512("PNYX-V1/signature-nonce" ‖ s ‖ ρ ‖ context ‖ 0x00 ‖ msg)) mod q
//         (hedged: ρ is 32 fresh random bytes), R = k·G,
//         c = H_credential-signature(context, {"message": msg, "public": S}, {"commitment": R}),
//         z = k + c·s.
// verify: z·G == R + c·S.

import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { InvalidSignature } from './errors.mjs';
import {
  Q,
  bytesToBigint,
  mod,
  mulBase,
  pointFromHex,
  pointToHex,
  randomBytes,
  scalarFromHex,
  scalarToBytes,
  scalarToHex,
} from './group.mjs';
import { Tag, hashToScalar } from './hashing.mjs';
import { expectObject, expectStr } from './json.mjs';
import { checkEquation } from './proofs.mjs';

const NONCE_TAG = utf8ToBytes('PNYX-V1/signature-nonce');

export class Signature {
  constructor(commitment, response) {
    this.commitment = commitment; // R = k·G
    this.response = response; // z = k + c·s
    Object.freeze(this);
  }

  toJSON() {
    return { commitment: pointToHex(this.commitment), response: scalarToHex(this.response) };
  }

  static fromJSON(value, what = 'signature') {
    const obj = expectObject(value, ['commitment', 'response'], what);
    return new Signature(
      pointFromHex(obj.commitment, { what: `${what}.commitment` }),
      scalarFromHex(obj.response, { what: `${what}.response` }),
    );
  }
}

/**
 * A credential's secret scalar `s` with its public key `S = s·G`. The secret is held in a private
 * field: it is not enumerable, not serialised by JSON.stringify and not shown by console.log.
 */
export class SigningKey {
  #s;

  constructor(secret) {
    if (typeof secret !== 'bigint' || secret <= 0n || secret >= Q) {
      throw new InvalidSignature('a signing key is a non-zero scalar');
    }
    this.#s = secret;
    this.public = mulBase(secret);
    this.publicHex = pointToHex(this.public);
    Object.freeze(this);
  }

  /** The secret scalar (only for signing and tests). */
  get secret() {
    return this.#s;
  }

  toJSON() {
    return { public: this.publicHex };
  }

  toString() {
    return `SigningKey(public=${this.publicHex.slice(0, 18)}…, secret=<redacted>)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

function challenge(context, publicHex, message, commitment) {
  return hashToScalar(
    Tag.SIGNATURE,
    context,
    { message, public: publicHex },
    { commitment: pointToHex(commitment) },
  );
}

/** The hedged nonce of §6.2 (32 random bytes `random`, fresh unless given for test vectors). */
export function signatureNonce(key, message, context, random) {
  const wide = sha512(
    concatBytes(NONCE_TAG, scalarToBytes(key.secret), random, utf8ToBytes(context), Uint8Array.of(0), utf8ToBytes(message)),
  );
  return bytesToBigint(wide) % Q;
}

/** Sign `message` (a string, in practice a 64-hex digest) in `context`. */
export function sign(key, message, { context, random = null }) {
  expectStr(message, 'message');
  const rho = random === null ? randomBytes(32) : random;
  if (!(rho instanceof Uint8Array) || rho.length !== 32) throw new InvalidSignature('the signature randomness is 32 bytes');
  const k = signatureNonce(key, message, context, rho);
  if (k === 0n) throw new InvalidSignature('degenerate nonce'); // probability 2^-256
  const R = mulBase(k);
  const c = challenge(context, key.publicHex, message, R);
  return new Signature(R, mod(k + c * key.secret));
}

/** Check `signature` on `message` by `publicPoint` in `context`; throws InvalidSignature. */
export function verifySignature(signature, { publicPoint, message, context, batch = null, label = 'signature' }) {
  if (publicPoint.is0()) throw new InvalidSignature(`${label}: the public key is the identity`);
  const c = challenge(context, pointToHex(publicPoint), message, signature.commitment);
  const terms = [[-c, publicPoint], [-1n, signature.commitment]];
  if (batch) batch.add(label, signature.response, terms, InvalidSignature);
  else checkEquation(label, signature.response, terms, InvalidSignature);
}
