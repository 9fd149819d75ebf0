import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector } from '../support/vectors.mjs';
import { Ciphertext, ElectionKey, encrypt } from '../src/elgamal.mjs';
import { G, mulBase, pointFromHex, pointToHex, scalarFromHex } from '../src/group.mjs';
import { InvalidEncoding, InvalidPoint } from '../src/errors.mjs';

const V = loadVector('elgamal.json');

test('elgamal: public key and every encryption of the vectors', () => {
  const x = scalarFromHex(V.secret_key);
  assert.equal(pointToHex(mulBase(x)), V.public_key);
  const key = ElectionKey.fromJSON(V.public_key);
  assert.equal(key.toJSON(), V.public_key);
  for (const { m, r, ciphertext } of V.encryptions) {
    const out = encrypt(key, m, { r: scalarFromHex(r) });
    assert.deepEqual(out.ciphertext.toJSON(), ciphertext);
    // decryption: β − x·α = m·G
    const ct = Ciphertext.fromJSON(ciphertext);
    const M = ct.beta.subtract(ct.alpha.multiply(x));
    assert.ok(m === 0 ? M.is0() : M.equals(mulBase(BigInt(m))));
  }
  // the same with the random source drawn once
  const { r } = V.encryptions[1];
  let calls = 0;
  const out = encrypt(key, 1, { rand: () => { calls++; return scalarFromHex(r); } });
  assert.equal(calls, 1);
  assert.deepEqual(out.ciphertext.toJSON(), V.encryptions[1].ciphertext);
});

test('elgamal: homomorphic addition and weighting', () => {
  const c1 = Ciphertext.fromJSON(V.encryptions[1].ciphertext);
  const c2 = Ciphertext.fromJSON(V.encryptions[3].ciphertext);
  assert.deepEqual(c1.add(c2).toJSON(), V.sum_of_1_and_1000);
  assert.deepEqual(Ciphertext.sum([c1, c2]).toJSON(), V.sum_of_1_and_1000);
  assert.deepEqual(Ciphertext.fromJSON(V.encryptions[2].ciphertext).scale(3n).toJSON(), V.weighted_3_times_m2);
  const zero = Ciphertext.zero();
  assert.deepEqual(zero.toJSON({ allowIdentity: true }), { alpha: '00', beta: '00' });
  assert.throws(() => zero.toJSON(), InvalidPoint);
  assert.deepEqual(Ciphertext.sum([]).toJSON({ allowIdentity: true }), { alpha: '00', beta: '00' });
});

test('elgamal: strict decoding', () => {
  const good = V.encryptions[0].ciphertext;
  assert.throws(() => Ciphertext.fromJSON({ ...good, extra: 1 }), InvalidEncoding);
  assert.throws(() => Ciphertext.fromJSON({ alpha: good.alpha }), InvalidEncoding);
  assert.throws(() => Ciphertext.fromJSON({ alpha: '00', beta: good.beta }), InvalidPoint);
  assert.ok(Ciphertext.fromJSON({ alpha: '00', beta: '00' }, 'ct', { allowIdentity: true }).alpha.is0());
  assert.throws(() => new ElectionKey(G.subtract(G)), InvalidPoint);
  assert.throws(() => ElectionKey.fromJSON('00'), InvalidPoint);
  assert.throws(() => encrypt(ElectionKey.fromJSON(V.public_key), 1, { r: 0n }), InvalidPoint);
  assert.ok(pointFromHex(V.public_key));
});
