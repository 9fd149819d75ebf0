import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector } from '../support/vectors.mjs';
import {
  G, O, Q, P, mulBase, mulPublic, mulSecret, pointFromHex, pointToHex, pointToHexAllowIdentity,
  randomScalar, scalarFromHex, scalarToHex,
} from '../src/group.mjs';
import { InvalidPoint, InvalidScalar } from '../src/errors.mjs';

const V = loadVector('group.json');

test('group: generator and order', () => {
  assert.equal(pointToHex(G), V.generator);
  assert.equal(scalarToHex(Q - 1n).length, 64);
  assert.equal(Q.toString(16), V.order);
  assert.equal(P, 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn);
});

test('group: k·G for every vector (secret and public multiplication)', () => {
  for (const { k, point } of V.base_mult) {
    const s = scalarFromHex(k);
    assert.equal(scalarToHex(s), k);
    assert.equal(pointToHex(mulBase(s)), point);
    assert.equal(pointToHex(mulPublic(G, s)), point);
    assert.equal(pointToHex(mulSecret(G, s)), point);
    assert.ok(pointFromHex(point).equals(mulBase(s)));
  }
});

test('group: addition, subtraction, identity encoding', () => {
  const a = pointFromHex(V.addition.a);
  const b = pointFromHex(V.addition.b);
  assert.equal(pointToHex(a.add(b)), V.addition.sum);
  assert.equal(pointToHex(a.subtract(b)), V.addition.difference);
  const a2 = pointFromHex(V.identity_allowed.a);
  const zero = a2.subtract(a2);
  assert.equal(pointToHexAllowIdentity(zero), V.identity_allowed.minus_a_plus_a);
  assert.throws(() => pointToHex(zero), InvalidPoint);
  assert.ok(pointFromHex('00', { allowIdentity: true }).is0());
});

test('group: invalid points are rejected', () => {
  for (const { hex, reason } of V.invalid_points) {
    assert.throws(() => pointFromHex(hex), InvalidPoint, reason);
    if (hex !== '00') assert.throws(() => pointFromHex(hex, { allowIdentity: true }), InvalidPoint, reason);
  }
  for (const bad of [null, 4, undefined, {}, ['04']]) assert.throws(() => pointFromHex(bad), InvalidPoint);
  // y ≥ p
  const x = V.generator.slice(2, 66);
  assert.throws(() => pointFromHex('04' + x + 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'), InvalidPoint);
  // compressed form of a valid point, with and without the allowIdentity flag
  assert.throws(() => pointFromHex('03' + x), InvalidPoint);
});

test('group: invalid scalars are rejected', () => {
  for (const { hex, reason } of V.invalid_scalars) assert.throws(() => scalarFromHex(hex), InvalidScalar, reason);
  assert.throws(() => scalarFromHex('0'.repeat(64), { nonzero: true }), InvalidScalar);
  assert.equal(scalarFromHex('0'.repeat(64)), 0n);
  assert.throws(() => scalarFromHex(5), InvalidScalar);
  assert.throws(() => scalarToHex(Q), InvalidScalar);
  assert.throws(() => scalarToHex(-1n), InvalidScalar);
});

test('group: 0·P is the identity; random scalars are in [1, q)', () => {
  assert.ok(mulBase(0n).is0());
  assert.ok(mulBase(Q).is0());
  assert.ok(mulPublic(G, 0n).is0());
  assert.ok(mulSecret(O, 5n).is0());
  const seen = new Set();
  for (let i = 0; i < 50; i++) {
    const k = randomScalar();
    assert.ok(k > 0n && k < Q);
    seen.add(k);
  }
  assert.equal(seen.size, 50);
});
