import test from 'node:test';
import assert from 'node:assert/strict';
import { p256_hasher } from '@noble/curves/nist.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { loadVector, hexToBytes } from '../support/vectors.mjs';
import {
  BYTES_PER_POINT, MAX_POINTS, decodeBlock, decodeBytes, encodeBlock, encodeBytes, pointsNeeded,
} from '../src/pointenc.mjs';
import { G, pointFromHex, pointToHex, randomBytes } from '../src/group.mjs';
import { InvalidEncoding } from '../src/errors.mjs';
import { canonicalJson } from '../src/hashing.mjs';

const V = loadVector('pointenc.json');
const toHex = (bytes) => Buffer.from(bytes).toString('hex');

test('pointenc: every vector encodes to the same points, counters and back', () => {
  assert.equal(V.bytes_per_point, BYTES_PER_POINT);
  for (const { data_hex: dataHex, points, encoded, counters } of V.cases) {
    const data = hexToBytes(dataHex);
    const out = encodeBytes(data, points);
    assert.deepEqual(out.map(pointToHex), encoded);
    assert.deepEqual(out.map((p) => Number(p.toAffine().x & 0xffn)), counters);
    assert.equal(toHex(decodeBytes(encoded.map((h) => pointFromHex(h)))), dataHex);
  }
});

test('pointenc: the vectors\' invalid encodings are refused', () => {
  for (const { encoded, reason } of V.invalid) {
    assert.throws(() => decodeBytes(encoded.map((h) => pointFromHex(h))), InvalidEncoding, reason);
  }
});

test('pointenc: every length up to four points round-trips, in the fewest points and more', () => {
  for (let length = 0; length <= 4 * BYTES_PER_POINT + 1; length++) {
    const data = randomBytes(length);
    const points = encodeBytes(data);
    assert.equal(points.length, pointsNeeded(length));
    assert.equal(points.length, Math.floor(length / BYTES_PER_POINT) + 1);
    assert.deepEqual(decodeBytes(points), data);
    assert.deepEqual(decodeBytes(encodeBytes(data, points.length + 1)), data);
    for (const p of points) assert.deepEqual(encodeBlock(decodeBlock(p)), p);
  }
  const text = utf8ToBytes('Ελευθερία, égalité — 🗳️');
  assert.deepEqual(decodeBytes(encodeBytes(text)), text);
});

test('pointenc: refusals', () => {
  assert.throws(() => encodeBytes('text'), InvalidEncoding);
  assert.throws(() => encodeBytes(new Uint8Array(BYTES_PER_POINT), 1), InvalidEncoding);
  for (const bad of [0, -1, MAX_POINTS + 1, 1.5]) {
    assert.throws(() => encodeBytes(new Uint8Array(0), bad), InvalidEncoding);
  }
  assert.throws(() => encodeBlock(new Uint8Array(BYTES_PER_POINT - 1)), InvalidEncoding);
  assert.throws(() => decodeBytes([]), InvalidEncoding);
  assert.throws(() => decodeBlock(G), InvalidEncoding); // G's abscissa is ≥ 2^248
  assert.throws(() => decodeBlock(encodeBlock(new Uint8Array(BYTES_PER_POINT)).negate()), InvalidEncoding);
  assert.throws(() => pointsNeeded(-1), InvalidEncoding);
});

test('mix generators: the vectors are RFC 9380 hash_to_curve as @noble/curves computes it', () => {
  const M = loadVector('mix.json');
  const DST = M.generator_dst;
  const hash = (parts) => pointToHex(p256_hasher.hashToCurve(canonicalJson(parts), { DST }));
  assert.equal(hash([M.fingerprint, 'chain']), M.generators.chain_base);
  M.generators.rows.forEach((h, i) => assert.equal(hash([M.fingerprint, 'row', i]), h));
});

test('pointenc: decoding the mix vectors\' messages gives the recorded texts', () => {
  const M = loadVector('mix.json');
  const texts = M.messages.map((row) => toHex(decodeBytes([pointFromHex(row[0])])));
  assert.deepEqual(texts, M.decoded.map((d) => d.text_hex));
});
