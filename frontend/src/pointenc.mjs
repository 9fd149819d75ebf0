// Byte strings as points of P-256, for encrypting text in the booth (docs/protocol.md §15.2).
// Mirrors crypto/pointenc.py; tests/vectors/pointenc.json fixes the bytes of both.
//
// A message of L bytes takes n ≥ ⌊L/30⌋ + 1 points: padded = data ‖ 0x80 ‖ 0x00… to 30·n bytes;
// block i (30 bytes) becomes the point with abscissa x = OS2IP(block ‖ k) for the smallest
// counter k ∈ [0, 255] that gives a point of the curve, and the even ordinate. Decoding refuses
// every other point (odd ordinate, a smaller counter that works, x ≥ 2^248) and a message whose
// blocks do not end with 0x80 followed by zero bytes: each message has exactly one encoding.

import { Point, P } from './group.mjs';
import { InvalidEncoding } from './errors.mjs';

/** Bytes of message carried by one point. */
export const BYTES_PER_POINT = 30;
/** The largest number of points one message may take. */
export const MAX_POINTS = 1024;

const PAD = 0x80;
const X_LIMIT = 1n << 248n;
const { a: A, b: B } = Point.CURVE();
const SQRT_EXP = (P + 1n) / 4n; // p ≡ 3 (mod 4)
const EULER_EXP = (P - 1n) / 2n;
const Fp = Point.Fp;

function rhs(x) {
  return Fp.add(Fp.add(Fp.mul(Fp.sqr(x), x), Fp.mul(A, x)), B);
}

function bytesOf(value, length) {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function bigintOf(bytes) {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function asBytes(data, what) {
  if (!(data instanceof Uint8Array)) throw new InvalidEncoding(`${what}: expected a Uint8Array`);
  return data;
}

/** The fewest points that carry `length` bytes (the padding byte included). */
export function pointsNeeded(length) {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new InvalidEncoding('a length is a non-negative integer');
  }
  return Math.floor(length / BYTES_PER_POINT) + 1;
}

/** One 30-byte block as a point (the smallest counter, the even ordinate). */
export function encodeBlock(block) {
  asBytes(block, 'block');
  if (block.length !== BYTES_PER_POINT) {
    throw new InvalidEncoding(`a block is exactly ${BYTES_PER_POINT} bytes`);
  }
  const base = bigintOf(block) << 8n;
  for (let counter = 0n; counter < 256n; counter++) {
    const x = base | counter;
    const y2 = rhs(x);
    const y = Fp.pow(y2, SQRT_EXP);
    if (Fp.eql(Fp.sqr(y), y2)) {
      const even = (y & 1n) === 0n ? y : P - y;
      const point = Point.fromAffine({ x, y: even });
      point.assertValidity();
      return point;
    }
  }
  throw new InvalidEncoding('no counter maps this block to a point of P-256');
}

/** The 30-byte block of a canonically encoded point; throws InvalidEncoding otherwise. */
export function decodeBlock(point) {
  if (!(point instanceof Point) || point.is0()) {
    throw new InvalidEncoding('the point at infinity encodes no block');
  }
  const { x, y } = point.toAffine();
  if (x >= X_LIMIT) throw new InvalidEncoding('not an encoded block: the abscissa is 2^248 or more');
  if ((y & 1n) === 1n) throw new InvalidEncoding('not an encoded block: the ordinate is odd');
  const base = x & ~0xffn;
  for (let counter = 0n; counter < (x & 0xffn); counter++) {
    if (Fp.pow(rhs(base | counter), EULER_EXP) === 1n) {
      throw new InvalidEncoding('not an encoded block: a smaller counter gives a point');
    }
  }
  return bytesOf(x >> 8n, BYTES_PER_POINT);
}

/** `data` (Uint8Array) as exactly `points` points (by default the fewest). */
export function encodeBytes(data, points = undefined) {
  asBytes(data, 'message');
  const needed = pointsNeeded(data.length);
  const n = points === undefined ? needed : points;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_POINTS) {
    throw new InvalidEncoding(`a message takes 1 to ${MAX_POINTS} points`);
  }
  if (n < needed) {
    throw new InvalidEncoding(
      `${data.length} bytes do not fit in ${n} point(s) (at most ${BYTES_PER_POINT * n - 1} bytes)`,
    );
  }
  const padded = new Uint8Array(BYTES_PER_POINT * n);
  padded.set(data);
  padded[data.length] = PAD;
  const out = [];
  for (let i = 0; i < padded.length; i += BYTES_PER_POINT) {
    out.push(encodeBlock(padded.subarray(i, i + BYTES_PER_POINT)));
  }
  return out;
}

/** The message of encodeBytes; throws InvalidEncoding for anything else. */
export function decodeBytes(points) {
  if (!Array.isArray(points) || points.length < 1 || points.length > MAX_POINTS) {
    throw new InvalidEncoding(`a message takes 1 to ${MAX_POINTS} points`);
  }
  const padded = new Uint8Array(BYTES_PER_POINT * points.length);
  points.forEach((p, i) => padded.set(decodeBlock(p), i * BYTES_PER_POINT));
  let end = padded.length;
  while (end > 0 && padded[end - 1] === 0) end--;
  if (end === 0 || padded[end - 1] !== PAD) {
    throw new InvalidEncoding('not an encoded message: the padding byte 0x80 is missing');
  }
  return padded.slice(0, end - 1);
}
