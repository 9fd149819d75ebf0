// The board's transparency log in the browser (docs/protocol.md §14): RFC 9162 leaf and node
// hashes, inclusion and consistency proof verification, C2SP signed notes with Ed25519 and
// cosignature/v1, checkpoints, the witness quorum and tlog proofs (receipts). Mirrors
// crypto/tlog.py, crypto/note.py and crypto/checkpoint.py; tests/vectors/tlog.json is shared.
//
// Verification needs only hashes and keys, never the server. Every check throws a subclass of
// CryptoError (InvalidNote, InvalidMerkleProof, InvalidSignature, UnverifiedNote, QuorumNotMet);
// nothing returns false. Tree sizes and indices are BigInt internally (a checkpoint's size may
// be up to 2^63 − 1); the functions accept Numbers or BigInts.

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  InvalidChain,
  InvalidEncoding,
  InvalidMerkleProof,
  InvalidNote,
  InvalidSignature,
  QuorumNotMet,
  UnverifiedNote,
} from './errors.mjs';
import { canonicalJson, digestJson, parseJson } from './hashing.mjs';

export const HASH_SIZE = 32;
export const EMPTY_ROOT = sha256(new Uint8Array(0));
export const MAX_TREE_SIZE = (1n << 63n) - 1n;
export const MAX_PROOF_LENGTH = 64;
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
export const MAX_NOTE_BYTES = 256 * 1024;
export const MAX_SIGNATURES = 100;
export const PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const MAX_WITNESS_PROOF_LINES = 63;
const EM_DASH_SPACE = '\u2014 ';
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;
// Unicode White_Space, spelled out as in crypto/note.py (JavaScript's \s differs on U+0085, U+FEFF)
const SPACE = /[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const DECIMAL = /^(0|[1-9][0-9]{0,18})$/;
const HEX8 = /^[0-9a-f]{8}$/;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOST = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~-]+)*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ENTRY_FIELDS = ['election', 'hash', 'kind', 'payload', 'prev', 'seq', 'time', 'version'];

// --- bytes ----------------------------------------------------------------------------------

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard padded base64 (RFC 4648 §4). */
export function b64encode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64_ALPHABET[(n >> 18) & 63] + B64_ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64_ALPHABET[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64_ALPHABET[n & 63] : '=';
  }
  return out;
}

/** Decode standard padded base64, accepting only its one canonical spelling. */
export function b64decode(text, what) {
  if (typeof text !== 'string' || !B64.test(text)) throw new InvalidNote(`${what}: not base64`);
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let at = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text[i + j];
      n = (n << 6) | (c === '=' ? 0 : B64_ALPHABET.indexOf(c));
    }
    for (const shift of [16, 8, 0]) if (at < out.length) out[at++] = (n >> shift) & 255;
  }
  if (b64encode(out) !== text) throw new InvalidNote(`${what}: not the canonical base64 spelling`);
  return out;
}

function hash32(value, what) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new InvalidEncoding(`${what} must be a 32-byte hash`);
  }
  return value;
}

function hashLine(text, what) {
  const raw = b64decode(text, what);
  if (raw.length !== HASH_SIZE) throw new InvalidNote(`${what}: a base64 SHA-256 hash (32 bytes)`);
  return raw;
}

function decimal(text, what) {
  if (!DECIMAL.test(text) || BigInt(text) > MAX_TREE_SIZE) {
    throw new InvalidNote(`${what}: a decimal in [0, 2^63 − 1] without leading zeros`);
  }
  return BigInt(text);
}

// --- the tree (RFC 9162 §2.1) -------------------------------------------------------------------

/** SHA-256(0x00 ‖ data). */
export function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

function count(value, what, minimum = 0n) {
  let n;
  if (typeof value === 'bigint') n = value;
  else if (Number.isSafeInteger(value)) n = BigInt(value);
  else throw new InvalidMerkleProof(`${what} must be an integer`);
  if (n < minimum || n > MAX_TREE_SIZE) {
    throw new InvalidMerkleProof(`${what} must be in [${minimum}, 2^63 − 1]`);
  }
  return n;
}

function proofList(proof, what) {
  if (!Array.isArray(proof)) throw new InvalidEncoding(`${what} must be a list of 32-byte hashes`);
  if (proof.length > MAX_PROOF_LENGTH) {
    throw new InvalidMerkleProof(`${what} has ${proof.length} hashes (at most ${MAX_PROOF_LENGTH})`);
  }
  return proof.map((h, i) => hash32(h, `${what}[${i}]`));
}

/** RFC 9162 §2.1.3.2: `leaf` (a leaf hash) is at `index` in the tree of `size` with `root`. */
export function verifyInclusion(leaf, index, size, proof, root) {
  hash32(leaf, 'the leaf hash');
  hash32(root, 'the root hash');
  const path = proofList(proof, 'the inclusion proof');
  const n = count(size, 'the tree size', 1n);
  const i = count(index, 'the leaf index');
  if (i >= n) throw new InvalidMerkleProof(`leaf ${i} cannot be in a tree of ${n} leaves`);
  let fn = i;
  let sn = n - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new InvalidMerkleProof('the inclusion proof is longer than the path to the root');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while (fn !== 0n && (fn & 1n) === 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InvalidMerkleProof('the inclusion proof is shorter than the path to the root');
  if (!equalBytes(r, root)) {
    throw new InvalidMerkleProof(`leaf ${i} is not in the tree of ${n} leaves with this root`);
  }
}

/** RFC 9162 §2.1.4.2 steps 1–6 for 0 < old < new: the roots `[fr, sr]` the proof implies. */
export function consistencyRoots(oldSize, newSize, proof, oldRoot) {
  hash32(oldRoot, 'the old root hash');
  let path = proofList(proof, 'the consistency proof');
  const m = count(oldSize, 'the old tree size', 1n);
  const n = count(newSize, 'the new tree size', 1n);
  if (!(m < n)) throw new InvalidMerkleProof('consistencyRoots needs 0 < old size < new size');
  if (path.length === 0) throw new InvalidMerkleProof('the consistency proof is empty');
  if ((m & (m - 1n)) === 0n) path = [oldRoot, ...path];
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new InvalidMerkleProof('the consistency proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while (fn !== 0n && (fn & 1n) === 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InvalidMerkleProof('the consistency proof is too short');
  return [fr, sr];
}

/** The tree of `newSize` with `newRoot` extends the tree of `oldSize` with `oldRoot`. */
export function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  hash32(oldRoot, 'the old root hash');
  hash32(newRoot, 'the new root hash');
  const path = proofList(proof, 'the consistency proof');
  const m = count(oldSize, 'the old tree size');
  const n = count(newSize, 'the new tree size');
  if (m > n) throw new InvalidMerkleProof(`a tree of ${n} leaves cannot extend one of ${m}`);
  if (m === 0n) {
    if (!equalBytes(oldRoot, EMPTY_ROOT) || (n === 0n && !equalBytes(newRoot, EMPTY_ROOT))) {
      throw new InvalidMerkleProof('the root of the empty tree is SHA-256 of the empty string');
    }
    if (path.length) throw new InvalidMerkleProof('a consistency proof from the empty tree is empty');
    return;
  }
  if (m === n) {
    if (path.length) throw new InvalidMerkleProof('a consistency proof between equal sizes is empty');
    if (!equalBytes(oldRoot, newRoot)) {
      throw new InvalidMerkleProof(`two different roots for the tree of ${m} leaves`);
    }
    return;
  }
  const [fr, sr] = consistencyRoots(m, n, path, oldRoot);
  if (!equalBytes(fr, oldRoot)) {
    throw new InvalidMerkleProof(`the tree of ${n} leaves does not extend this tree of ${m}`);
  }
  if (!equalBytes(sr, newRoot)) {
    throw new InvalidMerkleProof(`the proof does not lead to the new root of ${n} leaves`);
  }
}

// --- keys and signed notes (c2sp.org/signed-note, c2sp.org/tlog-cosignature) ---------------------

/** A key name: non-empty, no Unicode space, no '+', no control character. */
export function checkKeyName(name) {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidNote('a key name is a non-empty string');
  if (name.includes('+') || CONTROL.test(name) || SPACE.test(name)) {
    throw new InvalidNote(`key name ${JSON.stringify(name.slice(0, 60))} has a space, a '+' or a control character`);
  }
  if (utf8ToBytes(name).length > 1024) throw new InvalidNote('a key name is at most 1024 bytes');
  return name;
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] as a number (uint32). */
export function keyId(name, type, publicKey) {
  const d = sha256(concat(utf8ToBytes(name), Uint8Array.of(0x0a, type), publicKey));
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

function primeOrderPoint(bytes, what, ErrorClass) {
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes, false); // canonical encodings only (no ZIP-215)
  } catch {
    throw new ErrorClass(`${what} is not a canonical point encoding`);
  }
  if (point.is0() || !point.isTorsionFree()) {
    throw new ErrorClass(`${what} is not a point of the prime-order subgroup`);
  }
  return point;
}

function makeVerifier(name, type, publicKey) {
  checkKeyName(name);
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) {
    throw new InvalidNote(`signature type 0x${type.toString(16).padStart(2, '0')} is not supported`);
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new InvalidNote(`the public key of ${name}: 32 bytes expected`);
  }
  primeOrderPoint(publicKey, `the public key of ${name}`, InvalidNote);
  const id = keyId(name, type, publicKey);
  const vkey = `${name}+${id.toString(16).padStart(8, '0')}+${b64encode(concat(Uint8Array.of(type), publicKey))}`;
  return Object.freeze({ name, type, publicKey, keyId: id, vkey });
}

/** Parse a verifier key `name+hex(key ID)+base64(type ‖ key)`; the ID must match. */
export function parseVkey(vkey) {
  if (typeof vkey !== 'string') throw new InvalidNote('a verifier key is a string');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new InvalidNote('a verifier key is name+keyid+key');
  const name = vkey.slice(0, first);
  const hexId = vkey.slice(first + 1, second);
  checkKeyName(name);
  if (!HEX8.test(hexId)) throw new InvalidNote("a verifier key's ID is 8 lowercase hex digits");
  const raw = b64decode(vkey.slice(second + 1), 'verifier key');
  if (raw.length !== 33) throw new InvalidNote('a verifier key holds a type byte and a 32-byte Ed25519 key');
  const verifier = makeVerifier(name, raw[0], raw.slice(1));
  if (verifier.keyId !== parseInt(hexId, 16)) {
    throw new InvalidNote(`the verifier key's ID ${hexId} does not match its name and key`);
  }
  return verifier;
}

/** The message a cosignature/v1 signs. */
export function cosignatureMessage(text, timestamp) {
  return utf8ToBytes(`cosignature/v1\ntime ${BigInt(timestamp)}\n${text}`);
}

function verifyEd25519(publicKey, signature, message, who, kind) {
  primeOrderPoint(signature.subarray(0, 32), `the ${kind} by ${who}: R`, InvalidSignature);
  let valid = false;
  try {
    valid = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new InvalidSignature(`the ${kind} by ${who} does not verify`);
}

/** Check one signature (the bytes after the key ID); returns the cosignature's timestamp or null. */
export function verifySignature(verifier, text, signature) {
  if (verifier.type === SIG_COSIGNATURE_V1) {
    if (signature.length !== 72) throw new InvalidSignature(`a cosignature by ${verifier.name} is 72 bytes after its key ID`);
    let timestamp = 0n;
    for (const b of signature.subarray(0, 8)) timestamp = (timestamp << 8n) | BigInt(b);
    if (timestamp > MAX_TREE_SIZE) throw new InvalidSignature(`the cosignature by ${verifier.name} has a timestamp ≥ 2^63`);
    verifyEd25519(verifier.publicKey, signature.subarray(8), cosignatureMessage(text, timestamp), verifier.name, 'cosignature');
    return timestamp;
  }
  if (signature.length !== 64) throw new InvalidSignature(`an Ed25519 signature by ${verifier.name} is 64 bytes`);
  verifyEd25519(verifier.publicKey, signature, utf8ToBytes(text), verifier.name, 'signature');
  return null;
}

function decodeNote(data, what) {
  let bytes = data;
  if (typeof data === 'string') {
    if (LONE_SURROGATE.test(data)) throw new InvalidNote(`${what} is not valid UTF-8`);
    bytes = utf8ToBytes(data);
  }
  if (!(bytes instanceof Uint8Array)) throw new InvalidNote(`${what} is bytes or text`);
  if (bytes.length > MAX_NOTE_BYTES) throw new InvalidNote(`${what} is longer than ${MAX_NOTE_BYTES} bytes`);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidNote(`${what} is not valid UTF-8`);
  }
  if (CONTROL.test(text)) throw new InvalidNote(`${what} holds a control character other than newline`);
  return text;
}

/** Parse complete signature lines `— name base64\n`. */
export function parseSignatureLines(block) {
  if (!block || !block.endsWith('\n')) throw new InvalidNote('signature lines end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new InvalidNote(`more than ${MAX_SIGNATURES} signatures`);
  return lines.map((line, k) => {
    if (!line.startsWith(EM_DASH_SPACE)) throw new InvalidNote(`signature line ${k + 1} does not start with '— '`);
    const rest = line.slice(EM_DASH_SPACE.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw new InvalidNote(`signature line ${k + 1} has no signature`);
    const name = checkKeyName(rest.slice(0, space));
    const raw = b64decode(rest.slice(space + 1), `signature line ${k + 1}`);
    if (raw.length < 5) throw new InvalidNote(`signature line ${k + 1} is too short`);
    const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    return Object.freeze({ name, keyId: id, signature: raw.slice(4), line: line + '\n' });
  });
}

/** Split a signed note into `{text, signatures}`, strictly. */
export function parseNote(data) {
  const message = decodeNote(data, 'the note');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new InvalidNote('a note has a blank line between its text and its signatures');
  return { text: message.slice(0, split + 1), signatures: parseSignatureLines(message.slice(split + 2)) };
}

/**
 * Verify a note against trusted verifiers: lines by unknown keys are ignored, lines by known keys
 * must verify. Returns `{text, verified: [{verifier, timestamp}], unknown}`.
 */
export function openNote(data, verifiers) {
  const note = typeof data === 'object' && data !== null && 'signatures' in data ? data : parseNote(data);
  const known = new Map();
  for (const v of verifiers) {
    const slot = `${v.name}\n${v.keyId}`;
    if (known.has(slot) && known.get(slot).vkey !== v.vkey) {
      throw new InvalidNote(`two trusted keys share the name and ID of ${v.name}`);
    }
    known.set(slot, v);
  }
  const verified = [];
  const unknown = [];
  for (const sig of note.signatures) {
    const verifier = known.get(`${sig.name}\n${sig.keyId}`);
    if (verifier === undefined) {
      unknown.push(sig);
      continue;
    }
    verified.push({ verifier, timestamp: verifySignature(verifier, note.text, sig.signature) });
  }
  if (!verified.length) throw new UnverifiedNote('the note has no signature by a trusted key');
  return { text: note.text, verified, unknown };
}

// --- checkpoints, origins and the witness quorum (§14.2, §14.5) ----------------------------------

/** `<host>/pnyx/<election UUID>` */
export function pnyxOrigin(host, election) {
  if (typeof host !== 'string' || !HOST.test(host)) {
    throw new InvalidNote("an origin's host is a lowercase scheme-less host[:port][/path]");
  }
  if (typeof election !== 'string' || !UUID.test(election)) {
    throw new InvalidNote('an origin names the election by its lowercase UUID');
  }
  return `${host}/pnyx/${election}`;
}

/** `{host, election}` of a Pnyx origin line. */
export function parsePnyxOrigin(origin) {
  const at = typeof origin === 'string' ? origin.lastIndexOf('/pnyx/') : -1;
  if (at < 0) throw new InvalidNote('a Pnyx origin is <host>/pnyx/<election UUID>');
  const host = origin.slice(0, at);
  const election = origin.slice(at + 6);
  pnyxOrigin(host, election);
  return { host, election };
}

/** Parse a checkpoint's note text: `{origin, size (BigInt), root, extensions}`. */
export function parseCheckpoint(text) {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new InvalidNote("a checkpoint's text ends with a newline");
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new InvalidNote('a checkpoint has an origin, a size and a root hash line');
  if (lines.some((line) => line === '')) throw new InvalidNote("a checkpoint's lines are non-empty");
  return {
    origin: lines[0],
    size: decimal(lines[1], 'checkpoint size'),
    root: hashLine(lines[2], 'checkpoint root hash'),
    extensions: lines.slice(3),
  };
}

/** A witness policy: `k` of the listed cosignature/v1 keys (vkey strings or parsed verifiers). */
export function witnessPolicy(witnesses, quorum) {
  const list = witnesses.map((w) => (typeof w === 'string' ? parseVkey(w) : w));
  const names = new Set();
  const keys = new Set();
  for (const w of list) {
    if (w.type !== SIG_COSIGNATURE_V1) throw new InvalidNote('witnesses are cosignature/v1 (type 0x04) verifier keys');
    const key = bytesToHex(w.publicKey);
    if (names.has(w.name) || keys.has(key)) throw new InvalidNote(`witness ${w.name} is listed twice (by name or by key)`);
    names.add(w.name);
    keys.add(key);
  }
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > list.length) {
    throw new InvalidNote('the witness quorum k is an integer with 0 ≤ k ≤ m');
  }
  return Object.freeze({ witnesses: list, quorum });
}

/**
 * Verify a signed checkpoint: origin, the log's signature and (with a policy) a quorum of
 * witnesses, each distinct witness key counted once. Returns `{checkpoint, witnesses}` where
 * `witnesses` is `[{verifier, timestamp}]`, one per distinct key.
 */
export function openCheckpoint(data, { origin, logKey, policy = null }) {
  const log = typeof logKey === 'string' ? parseVkey(logKey) : logKey;
  if (log.type !== SIG_ED25519) throw new InvalidNote('the log key is an Ed25519 (type 0x01) verifier key');
  if (log.name !== origin) throw new InvalidNote("the log key's name is the checkpoint origin");
  const note = parseNote(data);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== origin) {
    throw new InvalidNote(`the checkpoint is for ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`);
  }
  const opened = openNote(note, [log, ...(policy ? policy.witnesses : [])]);
  if (!opened.verified.some(({ verifier }) => verifier === log)) {
    throw new UnverifiedNote('the checkpoint is not signed by the log key');
  }
  const seen = new Map();
  for (const { verifier, timestamp } of opened.verified) {
    const key = bytesToHex(verifier.publicKey);
    if (verifier.type === SIG_COSIGNATURE_V1 && !seen.has(key)) seen.set(key, { verifier, timestamp });
  }
  if (policy && seen.size < policy.quorum) {
    throw new QuorumNotMet(
      `the checkpoint is cosigned by ${seen.size} of the ${policy.witnesses.length} witnesses; the quorum is ${policy.quorum}`,
    );
  }
  return { checkpoint, witnesses: [...seen.values()], text: note.text };
}

// --- tlog proofs (c2sp.org/tlog-proof) and receipts (§14.6) ---------------------------------------

/** Parse a tlog proof: `{index (BigInt), proof, checkpoint (note text), extra (bytes or null)}`. */
export function parseTlogProof(data) {
  const text = typeof data === 'string' ? data : decodeNote(data, 'the tlog proof');
  const cut = text.indexOf('\n\n');
  if (cut < 0) throw new InvalidNote('a tlog proof has a blank line before its checkpoint');
  const lines = text.slice(0, cut).split('\n');
  const checkpoint = text.slice(cut + 2);
  if (lines[0] !== PROOF_HEADER) throw new InvalidNote(`a tlog proof starts with ${PROOF_HEADER}`);
  let at = 1;
  let extra = null;
  if (lines.length > at && lines[at].startsWith('extra ')) {
    extra = b64decode(lines[at].slice(6), 'tlog proof extra data');
    if (!extra.length) throw new InvalidNote("a tlog proof's extra line is omitted when there is no data");
    at += 1;
  }
  if (lines.length <= at || !lines[at].startsWith('index ')) throw new InvalidNote("a tlog proof has an 'index N' line");
  const index = decimal(lines[at].slice(6), 'tlog proof index');
  if (index >= MAX_TREE_SIZE) throw new InvalidNote('a tlog proof index is below 2^63 − 1');
  const proof = lines.slice(at + 1).map((line) => hashLine(line, 'inclusion proof line'));
  if (proof.length > MAX_WITNESS_PROOF_LINES) throw new InvalidNote('an inclusion proof has at most 63 hashes');
  parseCheckpoint(parseNote(checkpoint).text);
  return { index, proof, checkpoint, extra };
}

/** c2sp.org/tlog-proof §Verifying, with the leaf's bytes; returns openCheckpoint's result. */
export function verifyTlogProof(data, { leaf, origin, logKey, policy }) {
  const proof = typeof data === 'string' || data instanceof Uint8Array ? parseTlogProof(data) : data;
  const checked = openCheckpoint(proof.checkpoint, { origin, logKey, policy });
  verifyInclusion(leafHash(leaf), proof.index, checked.checkpoint.size, proof.proof, checked.checkpoint.root);
  return checked;
}

// The board entry's form (§11.1), checked in the order crypto/board.py checks it, so that both
// name the same first fault.
const ENTRY_KINDS = new Set([
  'election', 'trustee', 'ceremony', 'dkg-commitment', 'dkg-deal', 'dkg-complaint', 'dkg-confirmation',
  'ceremony-result', 'credentials', 'manifest', 'state', 'ballot', 'audit', 'tally',
  'partial-decryption', 'decryption-rejected', 'result',
]);
const ENTRY_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX64 = /^[0-9a-f]{64}$/;

function checkEntry(entry) {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new InvalidEncoding('board entry: expected a JSON object');
  }
  if (Object.keys(entry).sort().join() !== ENTRY_FIELDS.join()) {
    throw new InvalidEncoding('board entry: exactly the fields of §11.1');
  }
  if (entry.version !== 1) throw new InvalidEncoding('board entry: unsupported version');
  if (typeof entry.election !== 'string' || entry.election.length !== 36) {
    throw new InvalidEncoding('board entry.election: expected a UUID');
  }
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) throw new InvalidEncoding('board entry.seq: an integer ≥ 0');
  if (!ENTRY_KINDS.has(entry.kind)) throw new InvalidEncoding(`board entry ${entry.seq}: unknown kind`);
  if (typeof entry.time !== 'string' || !ENTRY_TIME.test(entry.time)) {
    throw new InvalidEncoding(`board entry ${entry.seq}: time must be YYYY-MM-DDTHH:MM:SS.mmmZ`);
  }
  if (typeof entry.payload !== 'object' || entry.payload === null || Array.isArray(entry.payload)) {
    throw new InvalidEncoding(`board entry ${entry.seq}: payload must be an object`);
  }
  for (const field of ['prev', 'hash']) {
    if (typeof entry[field] !== 'string' || !HEX64.test(entry[field])) {
      throw new InvalidEncoding(`board entry ${entry.seq}.${field} must be 64 lowercase hex digits`);
    }
  }
  return entry;
}

/**
 * A Pnyx receipt proof (§14.6): `extra` is the board entry's canonical line without its newline.
 * Checks that it is canonical JSON with a correct hash, that its `seq` is the index and its
 * `election` the origin's, optionally that it is the ballot or audit of `tracker`, and that it is
 * included under a checkpoint witnessed by the quorum. Returns `{entry, ...openCheckpoint}`.
 */
export function verifyEntryProof(data, { origin, logKey, policy, tracker = null }) {
  const proof = typeof data === 'string' || data instanceof Uint8Array ? parseTlogProof(data) : data;
  if (proof.extra === null) throw new InvalidNote('a Pnyx receipt proof carries the entry in its extra line');
  const entry = checkEntry(parseJson(proof.extra));
  const { hash, ...body } = entry;
  if (digestJson(body) !== hash) throw new InvalidChain(`entry ${entry.seq}: its hash does not match its content`);
  if (!equalBytes(canonicalJson(entry), proof.extra)) throw new InvalidEncoding('the entry is not in canonical form');
  if (!Number.isSafeInteger(entry.seq) || BigInt(entry.seq) !== proof.index) {
    throw new InvalidMerkleProof(`the entry is number ${entry.seq}, the proof is for ${proof.index}`);
  }
  if (entry.election !== parsePnyxOrigin(origin).election) {
    throw new InvalidMerkleProof("the entry belongs to another election than the log's");
  }
  if (tracker !== null && (!['ballot', 'audit'].includes(entry.kind) || entry.payload?.tracker !== tracker)) {
    throw new InvalidMerkleProof('the entry is not the ballot with this tracker');
  }
  return { entry, ...verifyTlogProof(proof, { leaf: proof.extra, origin, logKey, policy }) };
}

/**
 * The check page's second step: the witnessed checkpoint `later` extends the receipt's
 * checkpoint `earlier` (both already opened), with the consistency proof the server gave.
 */
export function verifyCheckpointConsistency(earlier, later, proof) {
  if (earlier.origin !== later.origin) throw new InvalidMerkleProof('checkpoints of two different logs');
  verifyConsistency(earlier.size, later.size, earlier.root, later.root, proof);
}
