// Board receipts signed by the server's Python code (tests/vectors/receipts.json, made with
// voting.receipts and pyca/cryptography) verify here under the genesis entry's board key; every
// altered receipt and a forged genesis are refused, and so is a signature that only a cofactored
// (ZIP-215-style) verifier would accept, which OpenSSL refuses.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { clone, loadVector } from '../support/vectors.mjs';
import { boardKeyFromGenesis, checkReceipt, receiptMessage, verifyReceipt } from '../src/receipt.mjs';
import { InvalidChain, InvalidEncoding, InvalidSignature } from '../src/errors.mjs';

const V = loadVector('receipts.json');

test('receipts: the genesis entry gives the board key; Python receipts verify', () => {
  assert.equal(boardKeyFromGenesis(V.genesis, V.election_uuid), V.board_key);
  for (const { receipt, message } of V.receipts) {
    assert.equal(bytesToHex(receiptMessage(receipt)), message);
    verifyReceipt(receipt, V.board_key);
  }
});

test('receipts: every altered receipt is refused', () => {
  assert.ok(V.invalid_receipts.length >= 7);
  for (const { receipt, reason } of V.invalid_receipts) {
    assert.throws(() => verifyReceipt(receipt, V.board_key), InvalidSignature, reason);
  }
  // under another key, the good ones fail too
  const other = V.invalid_genesis[0].entry.payload.board_key;
  assert.throws(() => verifyReceipt(V.receipts[0].receipt, other), InvalidSignature);
});

test('receipts: a forged or foreign genesis entry is refused', () => {
  for (const { entry, reason } of V.invalid_genesis) {
    assert.throws(() => boardKeyFromGenesis(entry, V.election_uuid), InvalidChain, reason);
  }
  const otherElection = '00000000-0000-4000-8000-000000000000';
  assert.throws(() => boardKeyFromGenesis(V.genesis, otherElection), InvalidChain);
  const extra = { ...clone(V.genesis), extra: 1 };
  assert.throws(() => boardKeyFromGenesis(extra, V.election_uuid), InvalidEncoding);
});

test('receipts: malformed receipts are refused as encodings', () => {
  const good = V.receipts[0].receipt;
  const cases = [
    { ...good, signature: good.signature.toUpperCase() },
    { ...good, seq: '42' },
    { ...good, seq: 1.5 },
    { ...good, kind: 'tally' },
    { ...good, extra: true },
    { ...good, head: { seq: 42 } },
    { ...good, election: good.election.toUpperCase() },
    (({ tracker, ...rest }) => rest)(good),
  ];
  for (const receipt of cases) {
    assert.throws(() => checkReceipt(receipt), InvalidEncoding, JSON.stringify(receipt));
    assert.throws(() => verifyReceipt(receipt, V.board_key), InvalidEncoding);
  }
  assert.throws(() => verifyReceipt(good, V.board_key.slice(2)), InvalidEncoding);
});

test('receipts: a signature whose R has a small-order part is refused (OpenSSL refuses it too)', () => {
  // Made with a key of our own: R' = r·B + T (T of order 4), S = r + H(R' ‖ A ‖ M)·a. The
  // cofactored equation [8]S·B = [8]R' + [8]k·A holds, the cofactorless one that OpenSSL checks
  // does not.
  const { Point } = ed25519;
  const L = Point.Fn.ORDER;
  const seed = new Uint8Array(32).fill(7);
  const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(seed);
  const receipt = { ...clone(V.receipts[0].receipt) };
  const message = receiptMessage(receipt);
  const T = Point.fromBytes(new Uint8Array(32), false); // y = 0: a point of order 4
  assert.ok(T.multiplyUnsafe(4n).is0() && !T.multiplyUnsafe(2n).is0());
  const r = 123456789n;
  const R = Point.BASE.multiply(r).add(T).toBytes();
  const le = (bytes) => BigInt('0x' + bytesToHex(Uint8Array.from(bytes).reverse()));
  const k = le(sha512(Uint8Array.from([...R, ...A, ...message]))) % L;
  const S = (r + k * a) % L;
  const Sbytes = hexToBytes(S.toString(16).padStart(64, '0')).reverse();
  const signature = bytesToHex(Uint8Array.from([...R, ...Sbytes]));
  // noble's own verify (cofactored) accepts it; ours does not.
  assert.equal(ed25519.verify(hexToBytes(signature), message, A, { zip215: false }), true);
  assert.throws(() => verifyReceipt({ ...receipt, signature }, bytesToHex(A)), InvalidSignature);
  // the same key and message signed normally verify
  const honest = bytesToHex(ed25519.sign(message, seed));
  verifyReceipt({ ...receipt, signature: honest }, bytesToHex(A));
});

test('receipts: the pages judge a receipt against the genesis entry and the served key', async () => {
  const { judgeReceipt } = await import('../src/ui/receipt-check.mjs');
  const receipt = V.receipts[0].receipt;
  const genesis = V.genesis;
  const electionId = V.election_uuid;
  const boardKeyApi = { algorithm: 'Ed25519', public_key: V.board_key };
  const expected = { election: electionId, kind: 'ballot', tracker: receipt.tracker };
  const judge = (changes) => judgeReceipt({ receipt, genesis, boardKeyApi, electionId, expected, ...changes });

  assert.deepEqual(judge({}), { ok: true, failures: [], boardKey: V.board_key });
  const other = V.invalid_genesis[0].entry.payload.board_key;
  // the API serves another key than the genesis entry: refused even though the signature is good
  assert.deepEqual(judge({ boardKeyApi: { ...boardKeyApi, public_key: other } }).failures, ['board_key_mismatch']);
  // a forged genesis (its key replaced) cannot vouch for anything
  assert.deepEqual(
    judge({ genesis: V.invalid_genesis[0].entry, boardKeyApi: { public_key: other } }).failures,
    ['genesis_invalid'],
  );
  assert.deepEqual(judge({ genesis: null }).failures, ['genesis_invalid']);
  assert.deepEqual(judge({ receipt: V.invalid_receipts[4].receipt }).failures, ['signature_invalid']);
  assert.deepEqual(judge({ receipt: { ...receipt, seq: 'x' } }).failures, ['receipt_malformed']);
  // a genuine receipt, but for another ballot than the one this browser sent
  assert.deepEqual(judge({ expected: { ...expected, tracker: '0'.repeat(64) } }).failures, ['receipt_mismatch']);
  assert.deepEqual(judge({ expected: { ...expected, kind: 'audit' } }).failures, ['receipt_mismatch']);
  assert.deepEqual(judge({ expected: null }).failures, []);
});
