import test from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { loadVector, hexToBytes, clone } from '../support/vectors.mjs';
import { Signature, SigningKey, sign, verifySignature } from '../src/signature.mjs';
import { G, pointFromHex, pointToHex, scalarFromHex } from '../src/group.mjs';
import { BatchVerifier } from '../src/proofs.mjs';
import { InvalidEncoding, InvalidSignature } from '../src/errors.mjs';

const V = loadVector('signatures.json');

test('signatures: hedged signature replays byte for byte and verifies', () => {
  const key = new SigningKey(scalarFromHex(V.secret));
  assert.equal(key.publicHex, V.public);
  const sig = sign(key, V.message, { context: V.context, random: hexToBytes(V.random) });
  assert.deepEqual(sig.toJSON(), V.signature);
  const publicPoint = pointFromHex(V.public);
  verifySignature(Signature.fromJSON(V.signature), { publicPoint, message: V.message, context: V.context });
  const batch = new BatchVerifier();
  verifySignature(Signature.fromJSON(V.signature), { publicPoint, message: V.message, context: V.context, batch });
  batch.verify();
});

test('signatures: tampering is rejected', () => {
  const publicPoint = pointFromHex(V.public);
  const args = { publicPoint, message: V.message, context: V.context };
  const s = Signature.fromJSON(V.signature);
  assert.throws(() => verifySignature(s, { ...args, message: V.message.replace(/.$/, '0') }), InvalidSignature);
  assert.throws(() => verifySignature(s, { ...args, context: '0'.repeat(64) }), InvalidSignature);
  assert.throws(() => verifySignature(s, { ...args, publicPoint: publicPoint.add(G) }), InvalidSignature);
  assert.throws(() => verifySignature(s, { ...args, publicPoint: G.subtract(G) }), InvalidSignature);
  const bad1 = clone(V.signature);
  bad1.commitment = pointToHex(pointFromHex(bad1.commitment).add(G));
  assert.throws(() => verifySignature(Signature.fromJSON(bad1), args), InvalidSignature);
  const bad2 = clone(V.signature);
  bad2.response = (BigInt('0x' + bad2.response) + 1n).toString(16).padStart(64, '0');
  assert.throws(() => verifySignature(Signature.fromJSON(bad2), args), InvalidSignature);
  assert.throws(() => Signature.fromJSON({ ...V.signature, response: V.signature.response.toUpperCase() }), InvalidEncoding);
});

test('signatures: fresh randomness gives a different valid signature', () => {
  const key = new SigningKey(scalarFromHex(V.secret));
  const a = sign(key, V.message, { context: V.context });
  const b = sign(key, V.message, { context: V.context });
  assert.notDeepEqual(a.toJSON(), b.toJSON());
  verifySignature(a, { publicPoint: key.public, message: V.message, context: V.context });
  assert.throws(() => sign(key, V.message, { context: V.context, random: new Uint8Array(31) }), InvalidSignature);
});

test('signatures: the secret never shows in JSON, inspection or enumeration', () => {
  const key = new SigningKey(scalarFromHex(V.secret));
  const text = JSON.stringify(key) + inspect(key) + String(key) + Object.keys(key).join();
  assert.ok(!text.includes(V.secret));
  assert.ok(!text.includes(BigInt('0x' + V.secret).toString()));
  assert.throws(() => new SigningKey(0n), InvalidSignature);
});
