// Board receipts (docs/protocol.md §11.9) and the genesis entry that publishes the board key
// (§11.3), checked in the browser: mirrors voting/receipts.py and crypto/board.py.
//
// A receipt is Ed25519 by the board key over
//   "PNYX-V1/board-receipt" ‖ 0x00 ‖ JCS({election, entry_hash, head, kind, seq, tracker}).
// The key to trust is the `board_key` of the election's genesis entry (seq 0, hash-chained into
// the board every observer verifies), not whatever /api/board-key says today.
//
// Verification is as strict as the server's (OpenSSL, RFC 8032 cofactorless): canonical
// encodings, S < L, and the key and R in the prime-order subgroup — so a receipt this accepts
// also verifies in Python, and the server cannot hand out a receipt that only browsers accept.

import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { InvalidChain, InvalidEncoding, InvalidSignature } from './errors.mjs';
import { canonicalJson, digestJson } from './hashing.mjs';
import { expectObject } from './json.mjs';

export const RECEIPT_TAG = 'PNYX-V1/board-receipt';
export const RECEIPT_FIELDS = Object.freeze(['election', 'entry_hash', 'head', 'kind', 'seq', 'tracker']);
export const GENESIS_PREV = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENTRY_FIELDS = ['election', 'hash', 'kind', 'payload', 'prev', 'seq', 'time', 'version'];

function hex(value, pattern, what) {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new InvalidEncoding(`${what} must be ${pattern === HEX128 ? 128 : 64} lowercase hex digits`);
  }
  return value;
}

function count(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidEncoding(`${what} must be an integer ≥ 0`);
  return value;
}

/** Check a receipt's shape (the fields of §11.9, exactly); returns it. */
export function checkReceipt(receipt) {
  expectObject(receipt, [...RECEIPT_FIELDS, 'signature'], 'receipt');
  if (typeof receipt.election !== 'string' || !UUID.test(receipt.election)) {
    throw new InvalidEncoding('receipt.election must be a lowercase UUID');
  }
  hex(receipt.entry_hash, HEX64, 'receipt.entry_hash');
  hex(receipt.tracker, HEX64, 'receipt.tracker');
  hex(receipt.signature, HEX128, 'receipt.signature');
  count(receipt.seq, 'receipt.seq');
  if (receipt.kind !== 'ballot' && receipt.kind !== 'audit') {
    throw new InvalidEncoding('receipt.kind must be "ballot" or "audit"');
  }
  expectObject(receipt.head, ['hash', 'seq'], 'receipt.head');
  hex(receipt.head.hash, HEX64, 'receipt.head.hash');
  count(receipt.head.seq, 'receipt.head.seq');
  return receipt;
}

/** The signed message: the tag, a zero byte, the canonical JSON of the receipt's fields. */
export function receiptMessage(receipt) {
  const fields = Object.fromEntries(RECEIPT_FIELDS.map((name) => [name, receipt[name]]));
  const tag = utf8ToBytes(RECEIPT_TAG);
  const body = canonicalJson(fields);
  const message = new Uint8Array(tag.length + 1 + body.length);
  message.set(tag, 0);
  message.set(body, tag.length + 1);
  return message;
}

function primeOrderPoint(bytes, what) {
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes, false); // canonical encoding only (no ZIP-215)
  } catch {
    throw new InvalidSignature(`${what} is not a valid Ed25519 point`);
  }
  if (point.is0() || !point.isTorsionFree()) {
    throw new InvalidSignature(`${what} is not in the prime-order subgroup`);
  }
  return point;
}

/**
 * Verify a receipt's signature under `boardKeyHex` (64 hex, raw Ed25519). Returns nothing;
 * throws InvalidEncoding for a malformed receipt or key, InvalidSignature for a bad signature.
 */
export function verifyReceipt(receipt, boardKeyHex) {
  checkReceipt(receipt);
  const publicKey = hexToBytes(hex(boardKeyHex, HEX64, 'board key'));
  const signature = hexToBytes(receipt.signature);
  primeOrderPoint(publicKey, 'the board key');
  primeOrderPoint(signature.subarray(0, 32), 'the signature’s R');
  let valid = false;
  try {
    valid = ed25519.verify(signature, receiptMessage(receipt), publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new InvalidSignature('the receipt’s signature does not verify under the board key');
}

/**
 * The board key published by an election's genesis entry (§11.3), after checking that the entry
 * is the genesis of this election (seq 0, kind `election`, prev zeros, uuid) and that its hash is
 * the SHA-256 of its canonical form (§11.1). Throws InvalidChain (or InvalidEncoding).
 */
export function boardKeyFromGenesis(entry, electionId) {
  expectObject(entry, ENTRY_FIELDS, 'genesis entry');
  if (entry.seq !== 0 || entry.kind !== 'election' || entry.prev !== GENESIS_PREV) {
    throw new InvalidChain('this is not a genesis entry (seq 0, kind election, prev zeros)');
  }
  if (entry.election !== electionId || entry.payload?.uuid !== electionId) {
    throw new InvalidChain('the genesis entry is another election’s');
  }
  const { hash, ...body } = entry;
  if (digestJson(body) !== hash) throw new InvalidChain('the genesis entry does not match its hash');
  expectObject(entry.payload, ['board_key', 'slug', 'title', 'uuid'], 'genesis payload');
  return hex(entry.payload.board_key, HEX64, 'genesis board_key');
}
