// Voter credentials: typeable codes and the keys derived from them (docs/protocol.md §6.1).
// Mirrors crypto/credentials.py.
//
// A code is 20 characters of Crockford's base 32: 18 random characters and two check characters
// holding N mod 1021 (N = the integer the 18 characters spell). Typing is forgiving: case, spaces
// and hyphens are ignored, O reads as 0 and I/L as 1.
//
// s = OS2IP(PBKDF2-HMAC-SHA256(code, "pnyx/v1/credential/" ‖ election, 1000, 48)) mod q, S = s·G.

import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { InvalidCredential } from './errors.mjs';
import { Q, bytesToBigint, randomBytes } from './group.mjs';
import { SigningKey } from './signature.mjs';

export const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const DATA_LENGTH = 18;
export const CODE_LENGTH = 20;
export const CHECK_MODULUS = 1021;
export const PBKDF2_ITERATIONS = 1000;
const INDEX = new Map([...ALPHABET].map((ch, i) => [ch, i]));
const ALIASES = { O: '0', I: '1', L: '1' };
// Python's `\s` (str patterns) and `-`: whitespace as str.isspace() understands it.
const SEPARATORS = /[\s\u001c-\u001f\u0085\-]+/gu;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The two check characters of 18 data characters. */
export function checksum(data) {
  let n = 0n;
  for (const ch of data) n = n * 32n + BigInt(INDEX.get(ch));
  const check = Number(n % BigInt(CHECK_MODULUS));
  return ALPHABET[Math.floor(check / 32)] + ALPHABET[check % 32];
}

/** A fresh credential code (normalised, without separators). Not used by the booth itself. */
export function generateCode() {
  const bytes = randomBytes(DATA_LENGTH);
  let data = '';
  for (const b of bytes) data += ALPHABET[b & 31]; // 256 is a multiple of 32: uniform
  bytes.fill(0);
  return data + checksum(data);
}

/** Canonical 20-character form of a typed code; throws InvalidCredential. */
export function normalizeCode(text) {
  if (typeof text !== 'string' || text.length > 64) {
    throw new InvalidCredential('a credential is a 20-character code');
  }
  const code = text
    .replace(SEPARATORS, '')
    .toUpperCase()
    .replace(/[OIL]/g, (ch) => ALIASES[ch]);
  const length = [...code].length;
  if (length !== CODE_LENGTH) {
    throw new InvalidCredential(`a credential has ${CODE_LENGTH} characters (ignoring hyphens), got ${length}`);
  }
  for (const ch of code) {
    if (!INDEX.has(ch)) throw new InvalidCredential('a credential contains a character outside its alphabet');
  }
  if (checksum(code.slice(0, DATA_LENGTH)) !== code.slice(DATA_LENGTH)) {
    throw new InvalidCredential("the credential's check characters do not match: a character is mistyped");
  }
  return code;
}

/** `XXXXX-XXXXX-XXXXX-XXXXX` for display. */
export function formatCode(code) {
  const c = normalizeCode(code);
  return [0, 5, 10, 15].map((i) => c.slice(i, i + 5)).join('-');
}

/** Is `text` a well-formed code (length and checksum)? For live feedback while typing. */
export function isValidCode(text) {
  try {
    normalizeCode(text);
    return true;
  } catch {
    return false;
  }
}

/** The credential's secret scalar `s` (bigint). */
export function deriveSecret(code, electionUuid) {
  const normalised = normalizeCode(code);
  if (typeof electionUuid !== 'string' || !UUID.test(electionUuid)) {
    throw new InvalidCredential('the election UUID must be in lowercase hyphenated form');
  }
  const seed = pbkdf2(sha256, utf8ToBytes(normalised), utf8ToBytes('pnyx/v1/credential/' + electionUuid), {
    c: PBKDF2_ITERATIONS,
    dkLen: 48,
  });
  const s = bytesToBigint(seed) % Q;
  seed.fill(0);
  if (s === 0n) throw new InvalidCredential('degenerate credential'); // probability 2^-256
  return s;
}

/** The credential's signing key (secret `s` and public `S = s·G`). */
export function deriveSigningKey(code, electionUuid) {
  return new SigningKey(deriveSecret(code, electionUuid));
}
