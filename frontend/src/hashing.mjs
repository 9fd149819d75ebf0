// Hashing: canonical JSON (RFC 8785), SHA-256 digests, expand_message_xmd and hash_to_scalar
// (docs/protocol.md §3). Mirrors crypto/hashing.py.

import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { InvalidEncoding } from './errors.mjs';
import { Q, bytesToBigint } from './group.mjs';

export const DST_PREFIX = 'PNYX-V1/';
const L = 48; // ceil((ceil(log2(q)) + 128) / 8) for P-256: RFC 9380 §5 with k = 128
const HEX_DIGEST = /^[0-9a-f]{64}$/;
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // 2^53 − 1

/** Every domain-separation tag of the protocol (§3.3). */
export const Tag = Object.freeze({
  POK: 'pok',
  DLEQ: 'dleq',
  SELECTION: 'selection',
  SCORE: 'score',
  SUM: 'sum',
  BUDGET_BIT: 'budget-bit',
  SIGNATURE: 'credential-signature',
});

// The protocol's JSON subset (§2.4, §3.1): null, booleans, strings, integers of magnitude below
// 2^53, arrays, plain objects. Anything else (fractions, NaN, bigints, undefined, functions,
// class instances) is refused rather than serialised in some JavaScript-specific way.
function checkSubset(value, depth) {
  if (depth > 64) throw new InvalidEncoding('value cannot be canonicalised: nested too deeply');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidEncoding('value cannot be canonicalised: numbers are integers below 2^53');
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) checkSubset(item, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidEncoding('value cannot be canonicalised: only plain objects');
    }
    for (const key of Object.keys(value)) checkSubset(value[key], depth + 1);
    return;
  }
  throw new InvalidEncoding(`value cannot be canonicalised: ${typeof value}`);
}

/** RFC 8785 canonical JSON text of a protocol value (a JS string). */
export function canonicalJsonText(value) {
  checkSubset(value, 0);
  try {
    return canonicalize(value);
  } catch (exc) {
    throw new InvalidEncoding(`value cannot be canonicalised: ${exc.message}`);
  }
}

/** RFC 8785 canonical JSON of a protocol value as UTF-8 bytes (JCS(v) of §1). */
export function canonicalJson(value) {
  return utf8ToBytes(canonicalJsonText(value));
}

export function sha256Hex(bytes) {
  return bytesToHex(sha256(bytes));
}

/** `digest(v) = hex(SHA-256(JCS(v)))` (§3.2). */
export function digestJson(value) {
  return sha256Hex(canonicalJson(value));
}

export function checkDigestHex(text, what = 'digest') {
  if (typeof text !== 'string' || !HEX_DIGEST.test(text)) {
    throw new InvalidEncoding(`${what} must be 64 lowercase hex digits`);
  }
  return text;
}

/** RFC 9380 §5.3.1 expand_message_xmd with SHA-256 (msg, dst: Uint8Array or ASCII string). */
export function expandMessageXmd(msg, dst, length) {
  const dstBytes = typeof dst === 'string' ? utf8ToBytes(dst) : dst;
  if (!Number.isInteger(length) || length < 1 || length > 65535 || Math.ceil(length / 32) > 255) {
    throw new InvalidEncoding('expand_message_xmd: invalid length');
  }
  // RFC 9380 hashes an oversized DST; the protocol's DSTs are short, and the reference refuses.
  if (dstBytes.length < 1 || dstBytes.length > 255) {
    throw new InvalidEncoding('expand_message_xmd: DST must be 1 to 255 bytes');
  }
  return expand_message_xmd(msg, dstBytes, length, sha256);
}

const dstCache = new Map();

/** `OS2IP(expand_message_xmd(JCS([parts…]), "PNYX-V1/" ‖ tag, 48)) mod q` (§3.3). */
export function hashToScalar(tag, ...parts) {
  const msg = canonicalJson(parts);
  let dst = dstCache.get(tag);
  if (dst === undefined) {
    dst = utf8ToBytes(DST_PREFIX + tag);
    dstCache.set(tag, dst);
  }
  return bytesToBigint(expandMessageXmd(msg, dst, L)) % Q;
}

// --- Strict JSON parsing (§2.4) ------------------------------------------------------------------

/**
 * Parse JSON from outside, refusing what canonical JSON cannot represent exactly: numbers that
 * are not integers (fractions, exponents), integers of magnitude ≥ 2^53, duplicate object keys,
 * non-ASCII object keys, and (for bytes) invalid UTF-8. Accepts a string or a Uint8Array.
 */
export function parseJson(input) {
  let text = input;
  if (input instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      throw new InvalidEncoding('JSON must be UTF-8');
    }
  }
  if (typeof text !== 'string') throw new InvalidEncoding('JSON text expected');
  return new StrictParser(text).parseDocument();
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const INTEGER = /-?(?:0|[1-9][0-9]*)/y;
const NUMBER_TAIL = /[.eE]/y;

class StrictParser {
  constructor(text) {
    this.s = text;
    this.i = 0;
    this.depth = 0;
  }

  fail(msg) {
    throw new InvalidEncoding(`malformed JSON: ${msg} at position ${this.i}`);
  }

  ws() {
    const s = this.s;
    while (this.i < s.length && WS.has(s.charCodeAt(this.i))) this.i++;
  }

  parseDocument() {
    this.ws();
    const value = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('extra data');
    return value;
  }

  value() {
    const s = this.s;
    if (this.i >= s.length) this.fail('unexpected end');
    const ch = s[this.i];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return this.string();
    if (s.startsWith('true', this.i)) { this.i += 4; return true; }
    if (s.startsWith('false', this.i)) { this.i += 5; return false; }
    if (s.startsWith('null', this.i)) { this.i += 4; return null; }
    return this.number();
  }

  number() {
    INTEGER.lastIndex = this.i;
    const m = INTEGER.exec(this.s);
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    NUMBER_TAIL.lastIndex = this.i;
    if (NUMBER_TAIL.test(this.s)) {
      throw new InvalidEncoding('numbers other than integers are not allowed');
    }
    if (m[0].replace('-', '').length > 16) throw new InvalidEncoding('integer too large');
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) throw new InvalidEncoding('integer too large');
    return n === 0 ? 0 : n; // no -0
  }

  string() {
    const s = this.s;
    this.i++; // opening quote
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out += s.slice(start, this.i);
        const e = s[this.i + 1];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        if (simple !== undefined) {
          out += simple;
          this.i += 2;
        } else if (e === 'u') {
          const hex = s.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 6;
        } else {
          this.fail('bad escape');
        }
        start = this.i;
        continue;
      }
      this.i++;
    }
  }

  enter() {
    if (++this.depth > 512) throw new InvalidEncoding('JSON nested too deeply');
  }

  array() {
    this.enter();
    this.i++;
    const out = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const ch = this.s[this.i];
      if (ch === ',') { this.i++; continue; }
      if (ch === ']') { this.i++; this.depth--; return out; }
      this.fail("expected ',' or ']'");
    }
  }

  object() {
    this.enter();
    this.i++;
    const out = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]*$/.test(key)) throw new InvalidEncoding('object keys must be ASCII');
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        throw new InvalidEncoding('duplicate key in a JSON object');
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      const value = this.value();
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.ws();
      const ch = this.s[this.i];
      if (ch === ',') { this.i++; continue; }
      if (ch === '}') { this.i++; this.depth--; return out; }
      this.fail("expected ',' or '}'");
    }
  }
}
