import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector, hexToBytes } from '../support/vectors.mjs';
import {
  canonicalJson, canonicalJsonText, digestJson, expandMessageXmd, hashToScalar, parseJson, sha256Hex, DST_PREFIX,
} from '../src/hashing.mjs';
import { scalarToHex } from '../src/group.mjs';
import { InvalidEncoding } from '../src/errors.mjs';

const V = loadVector('hashing.json');

test('hashing: canonical JSON of every vector', () => {
  for (const { value, canonical } of V.canonical_json) {
    assert.equal(canonicalJsonText(value), canonical);
    assert.deepEqual(canonicalJson(value), new TextEncoder().encode(canonical));
  }
});

test('hashing: expand_message_xmd of every vector (incl. RFC 9380 K.1)', () => {
  for (const { msg_hex: msg, dst, length, output } of V.expand_message_xmd) {
    const out = expandMessageXmd(hexToBytes(msg), dst, length);
    assert.equal(Buffer.from(out).toString('hex'), output);
  }
});

test('hashing: hash_to_scalar of every vector', () => {
  assert.equal(DST_PREFIX, V.dst_prefix);
  for (const { tag, parts, message_jcs: jcs, scalar } of V.hash_to_scalar) {
    assert.equal(canonicalJsonText(parts), jcs);
    assert.equal(scalarToHex(hashToScalar(tag, ...parts)), scalar);
  }
});

test('hashing: digests', () => {
  assert.equal(sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(digestJson({ b: 1, a: 2 }), sha256Hex(new TextEncoder().encode('{"a":2,"b":1}')));
});

test('hashing: canonical JSON refuses values outside the protocol subset', () => {
  for (const bad of [1.5, NaN, Infinity, 2 ** 53, -(2 ** 53), 1n, undefined, () => 1, new Date(0), '\ud800', { a: [1e300] }]) {
    assert.throws(() => canonicalJsonText(bad), InvalidEncoding, String(bad));
  }
  // escapes: control characters lower-case \u00xx, short forms, no escaping of U+2028 or DEL
  assert.equal(canonicalJsonText('\u001f\b\t\n\f\r\u007f\u2028/'), '"\\u001f\\b\\t\\n\\f\\r\u007f\u2028/"');
});

test('hashing: expand_message_xmd bounds', () => {
  assert.throws(() => expandMessageXmd(new Uint8Array(), 'x'.repeat(256), 32), InvalidEncoding);
  assert.throws(() => expandMessageXmd(new Uint8Array(), '', 32), InvalidEncoding);
  assert.throws(() => expandMessageXmd(new Uint8Array(), 'x', 255 * 32 + 1), InvalidEncoding);
});

test('hashing: strict JSON parser (§2.4)', () => {
  assert.deepEqual(parseJson(' {"a": [1, -2, "x\\u00e9\\n", true, false, null], "b": {}} '), {
    a: [1, -2, 'x\u00e9\n', true, false, null],
    b: {},
  });
  assert.equal(parseJson('9007199254740991'), 9007199254740991);
  assert.equal(Object.is(parseJson('-0'), 0), true);
  const proto = parseJson('{"__proto__": {"x": 1}}');
  assert.deepEqual(Object.keys(proto), ['__proto__']);
  assert.equal({}.x, undefined);
  for (const bad of [
    '1.0', '1e3', '1E3', 'NaN', 'Infinity', '9007199254740992', '-9007199254740992', '{"a":1,"a":2}',
    '{"é":1}', '[1,]', '{"a":1,}', '01', '"\u0001"', '"\\x"', '[1] 2', '', '{a:1}', "'x'", '[', '"abc',
  ]) {
    assert.throws(() => parseJson(bad), InvalidEncoding, bad);
  }
  assert.throws(() => parseJson(Uint8Array.of(0x22, 0xff, 0x22)), InvalidEncoding);
  assert.equal(parseJson(new TextEncoder().encode('"é"')), 'é');
});
