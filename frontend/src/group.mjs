// The group: NIST P-256 through @noble/curves, with the protocol's strict wire encodings
// (docs/protocol.md §2). Mirrors crypto/group.py.
//
// Points are noble `Point` instances (projective, immutable). Scalars are bigints in [0, q).
//
// Wire encodings: a point is SEC1 *uncompressed* (04 ‖ X ‖ Y, 130 lowercase hex digits); the
// identity, only where a field explicitly allows it, is "00"; a scalar is 64 lowercase hex digits
// and must be < q.
//
// Multiplications: `mulBase`/`mulSecret` are noble's constant-time (blinded) multiplications, for
// secret scalars (encryption randomness, proof nonces, credential keys). `mulPublic` is
// noble's variable-time `multiplyUnsafe`, for public scalars only (verification).

import { p256 } from '@noble/curves/nist.js';
import { InvalidPoint, InvalidScalar, CryptoError } from './errors.mjs';

export const Point = p256.Point;
/** The standard generator of P-256. */
export const G = Point.BASE;
/** The identity (point at infinity). */
export const O = Point.ZERO;
/** Order of the group. */
export const Q = Point.Fn.ORDER;
/** The field prime. */
export const P = Point.Fp.ORDER;

const HEX_SCALAR = /^[0-9a-f]{64}$/;
const HEX_POINT = /^04[0-9a-f]{128}$/;
export const IDENTITY_HEX = '00';

// Wider windows for the generator than noble's default (6): faster fixed-base multiplications
// for ≈ 40 ms of table building, done lazily on the first multiplication.
G.precompute(8, true);

// --- Scalars -------------------------------------------------------------------------------------

/** `a mod q` in [0, q) (for bigints; negative values are reduced too). */
export function mod(a) {
  const r = a % Q;
  return r < 0n ? r + Q : r;
}

export function isScalar(k) {
  return typeof k === 'bigint' && k >= 0n && k < Q;
}

function whereOf(what) {
  return what ? `${what}: ` : '';
}

/** Strict decoding: 64 lowercase hex digits, value < q (and ≠ 0 with `nonzero`). */
export function scalarFromHex(text, { nonzero = false, what = '' } = {}) {
  if (typeof text !== 'string' || !HEX_SCALAR.test(text)) {
    throw new InvalidScalar(`${whereOf(what)}a scalar is exactly 64 lowercase hex digits`);
  }
  const value = BigInt('0x' + text);
  if (value >= Q) throw new InvalidScalar(`${whereOf(what)}scalar is not reduced modulo q`);
  if (nonzero && value === 0n) throw new InvalidScalar(`${whereOf(what)}scalar must not be zero`);
  return value;
}

export function scalarToHex(k) {
  if (!isScalar(k)) throw new InvalidScalar('scalar out of range [0, q)');
  return k.toString(16).padStart(64, '0');
}

export function scalarToBytes(k) {
  if (!isScalar(k)) throw new InvalidScalar('scalar out of range [0, q)');
  return bigintToBytes(k, 32);
}

export function bytesToBigint(bytes) {
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, '0');
  return hex ? BigInt('0x' + hex) : 0n;
}

export function bigintToBytes(value, length) {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new CryptoError('integer too large for its byte length');
  return out;
}

function cryptoObject() {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== 'function') {
    throw new CryptoError('no secure random source (crypto.getRandomValues) is available');
  }
  return c;
}

/** `n` bytes from the platform CSPRNG. */
export function randomBytes(n) {
  const out = new Uint8Array(n);
  cryptoObject().getRandomValues(out);
  return out;
}

/**
 * A uniformly random scalar in [1, q) from crypto.getRandomValues, by rejection sampling of
 * 256-bit strings (q > 2^256 − 2^224, so a draw is rejected with probability < 2^-32).
 */
export function randomScalar() {
  for (;;) {
    const bytes = randomBytes(32);
    const k = bytesToBigint(bytes);
    bytes.fill(0);
    if (k > 0n && k < Q) return k;
  }
}

// --- Points --------------------------------------------------------------------------------------

const hexCache = new WeakMap();

/**
 * Strict wire decoding of a point: "04" + 128 lowercase hex digits of a point of P-256, or "00"
 * (the identity) only with `allowIdentity`. Rejects compressed and hybrid forms, upper case,
 * coordinates ≥ p and points off the curve.
 */
export function pointFromHex(text, { allowIdentity = false, what = '' } = {}) {
  if (typeof text !== 'string') throw new InvalidPoint(`${whereOf(what)}a point is encoded as a hex string`);
  if (text === IDENTITY_HEX) {
    if (allowIdentity) return O;
    throw new InvalidPoint(`${whereOf(what)}the point at infinity is not allowed here`);
  }
  if (!HEX_POINT.test(text)) {
    throw new InvalidPoint(`${whereOf(what)}a point is 130 lowercase hex digits starting with 04`);
  }
  // Explicit range checks (noble checks them too).
  if (BigInt('0x' + text.slice(2, 66)) >= P || BigInt('0x' + text.slice(66)) >= P) {
    throw new InvalidPoint(`${whereOf(what)}coordinate not reduced modulo p`);
  }
  let point;
  try {
    point = Point.fromHex(text); // checks y² = x³ − 3x + b
  } catch {
    throw new InvalidPoint(`${whereOf(what)}not a point of P-256`);
  }
  if (point.is0()) throw new InvalidPoint(`${whereOf(what)}the point at infinity is not allowed here`);
  hexCache.set(point, text);
  return point;
}

/** Wire form (130 hex digits). Throws InvalidPoint for the identity. */
export function pointToHex(point) {
  let text = hexCache.get(point);
  if (text === undefined) {
    if (point.is0()) throw new InvalidPoint('the point at infinity has no encoding here');
    text = point.toHex(false);
    hexCache.set(point, text);
  }
  return text;
}

/** Wire form where the identity is allowed (encoded "00"). */
export function pointToHexAllowIdentity(point) {
  return point.is0() ? IDENTITY_HEX : pointToHex(point);
}

// --- Multiplication ------------------------------------------------------------------------------

/** `k·G` for a secret scalar (constant-time, blinded); `0·G` is the identity. */
export function mulBase(k) {
  const s = mod(k);
  return s === 0n ? O : G.multiply(s);
}

/** `k·P` for a secret scalar (constant-time, blinded). */
export function mulSecret(point, k) {
  const s = mod(k);
  return s === 0n || point.is0() ? O : point.multiply(s);
}

/** `k·P` for a public scalar (variable time). */
export function mulPublic(point, k) {
  return point.multiplyUnsafe(mod(k));
}
