// Exponential ElGamal on P-256 (docs/protocol.md §4). Mirrors crypto/elgamal.py.
//
// Enc(m; r) = (α, β) = (r·G, m·G + r·K) under the election key K.

import { InvalidPoint, InvalidEncoding } from './errors.mjs';
import {
  G,
  O,
  mod,
  mulBase,
  mulPublic,
  mulSecret,
  pointFromHex,
  pointToHex,
  pointToHexAllowIdentity,
  randomScalar,
} from './group.mjs';
import { expectObject } from './json.mjs';

/** The election public key K with a fixed-base table (noble `precompute(8)`). */
export class ElectionKey {
  constructor(point) {
    if (!point || typeof point.is0 !== 'function' || point.is0()) {
      throw new InvalidPoint('the election key must be a real point');
    }
    // A private copy: noble keys its precomputed tables by point instance.
    this.point = pointFromHex(pointToHex(point));
    this.hex = pointToHex(this.point);
    this._ready = false;
  }

  static fromJSON(value, what = 'election key') {
    return new ElectionKey(pointFromHex(value, { what }));
  }

  toJSON() {
    return this.hex;
  }

  /** Build the fixed-base table now (≈ 40 ms) rather than on the first multiplication. */
  precompute() {
    if (!this._ready) {
      this.point.precompute(8, false);
      this._ready = true;
    }
    return this;
  }

  /** `k·K` for a secret scalar (constant time, through the table). */
  mul(k) {
    if (!this._ready) this.precompute();
    return mulSecret(this.point, k);
  }

  /** `k·K` for a public scalar. */
  mulPublic(k) {
    return mulPublic(this.point, k);
  }

  equals(other) {
    return other instanceof ElectionKey && other.hex === this.hex;
  }
}

/** A ciphertext (α, β). */
export class Ciphertext {
  constructor(alpha, beta) {
    this.alpha = alpha;
    this.beta = beta;
    Object.freeze(this);
  }

  add(other) {
    return new Ciphertext(this.alpha.add(other.alpha), this.beta.add(other.beta));
  }

  subtract(other) {
    return new Ciphertext(this.alpha.subtract(other.alpha), this.beta.subtract(other.beta));
  }

  /** `w·(α, β)` = an encryption of `w·m` (public weight). */
  scale(weight) {
    return new Ciphertext(mulPublic(this.alpha, weight), mulPublic(this.beta, weight));
  }

  static zero() {
    return new Ciphertext(O, O);
  }

  static sum(items) {
    let acc = null;
    for (const c of items) acc = acc === null ? c : acc.add(c);
    return acc === null ? Ciphertext.zero() : acc;
  }

  toJSON({ allowIdentity = false } = {}) {
    const enc = allowIdentity ? pointToHexAllowIdentity : pointToHex;
    return { alpha: enc(this.alpha), beta: enc(this.beta) };
  }

  static fromJSON(value, what = 'ciphertext', { allowIdentity = false } = {}) {
    const obj = expectObject(value, ['alpha', 'beta'], what);
    return new Ciphertext(
      pointFromHex(obj.alpha, { allowIdentity, what: `${what}.alpha` }),
      pointFromHex(obj.beta, { allowIdentity, what: `${what}.beta` }),
    );
  }
}

/**
 * Encrypt the small integer `m ≥ 0`: returns `{ciphertext, r}`. `r` is drawn from `rand` (one
 * draw) unless given.
 */
export function encrypt(key, m, { r = null, rand = randomScalar } = {}) {
  if (!Number.isSafeInteger(m) || m < 0) throw new InvalidEncoding('a plaintext is an integer ≥ 0');
  const rr = r === null ? rand() : r;
  if (mod(rr) === 0n || rr !== mod(rr)) throw new InvalidPoint('encryption randomness must be in [1, q)');
  const alpha = mulBase(rr);
  let beta = key.mul(rr);
  if (m === 1) beta = beta.add(G);
  else if (m) beta = beta.add(mulBase(BigInt(m)));
  return { ciphertext: new Ciphertext(alpha, beta), r: rr };
}
