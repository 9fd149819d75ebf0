// Strict decoding helpers for the protocol's JSON objects. Mirrors crypto/encoding.py: an object
// must have exactly the expected keys, each field the expected type.

import { InvalidEncoding } from './errors.mjs';

export const PROTOCOL_VERSION = 1;

export function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `value` must be a JSON object whose keys are exactly `keys` (plus any of `optional`). */
export function expectObject(value, keys, what, optional = []) {
  if (!isPlainObject(value)) throw new InvalidEncoding(`${what}: expected a JSON object`);
  const present = Object.keys(value);
  const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(value, k));
  if (missing.length) throw new InvalidEncoding(`${what}: missing field(s) ${JSON.stringify(missing.sort())}`);
  const allowed = new Set([...keys, ...optional]);
  const extra = present.filter((k) => !allowed.has(k));
  if (extra.length) throw new InvalidEncoding(`${what}: unexpected field(s) ${JSON.stringify(extra.sort())}`);
  return value;
}

export function expectVersion(obj, what) {
  if (obj.version !== PROTOCOL_VERSION) {
    throw new InvalidEncoding(`${what}: unsupported version (expected ${PROTOCOL_VERSION})`);
  }
}

export function expectList(value, what, { length = null, minLength = 0 } = {}) {
  if (!Array.isArray(value)) throw new InvalidEncoding(`${what}: expected a JSON array`);
  if (length !== null && value.length !== length) {
    throw new InvalidEncoding(`${what}: expected ${length} items, got ${value.length}`);
  }
  if (value.length < minLength) throw new InvalidEncoding(`${what}: expected at least ${minLength} items`);
  return value;
}

export function expectInt(value, what, minimum = null, maximum = null) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidEncoding(`${what}: expected an integer`);
  }
  if (minimum !== null && value < minimum) throw new InvalidEncoding(`${what}: must be ≥ ${minimum}`);
  if (maximum !== null && value > maximum) throw new InvalidEncoding(`${what}: must be ≤ ${maximum}`);
  return value;
}

export function expectStr(value, what, maxLength = 10000) {
  if (typeof value !== 'string') throw new InvalidEncoding(`${what}: expected a string`);
  // Python counts code points, JavaScript UTF-16 units: count code points like the reference.
  if (value.length > maxLength && [...value].length > maxLength) throw new InvalidEncoding(`${what}: longer than ${maxLength} characters`);
  return value;
}
