import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector } from '../support/vectors.mjs';
import {
  ALPHABET, PBKDF2_ITERATIONS, checksum, deriveSigningKey, formatCode, generateCode, isValidCode, normalizeCode,
} from '../src/credentials.mjs';
import { scalarToHex } from '../src/group.mjs';
import { InvalidCredential } from '../src/errors.mjs';

const V = loadVector('credentials.json');

test('credentials: alphabet and iteration count', () => {
  assert.equal(ALPHABET, V.alphabet);
  assert.equal(PBKDF2_ITERATIONS, V.pbkdf2_iterations);
});

test('credentials: valid codes normalise, format and derive the vector keys', () => {
  for (const c of V.valid) {
    assert.equal(normalizeCode(c.code), c.code);
    assert.equal(normalizeCode(c.formatted), c.code);
    assert.equal(normalizeCode(c.typed), c.code);
    assert.equal(normalizeCode(` ${c.typed.toUpperCase()}\t`), c.code);
    assert.equal(formatCode(c.typed), c.formatted);
    assert.ok(isValidCode(c.typed));
    const key = deriveSigningKey(c.typed, c.election);
    assert.equal(scalarToHex(key.secret), c.secret);
    assert.equal(key.publicHex, c.public);
  }
});

test('credentials: invalid codes are rejected', () => {
  for (const { typed, reason } of V.invalid) {
    assert.throws(() => normalizeCode(typed), InvalidCredential, reason);
    assert.ok(!isValidCode(typed));
  }
  for (const bad of [null, 42, '', 'x'.repeat(65), V.valid[0].code + '0']) {
    assert.throws(() => normalizeCode(bad), InvalidCredential);
  }
});

test('credentials: the election UUID must be lowercase hyphenated', () => {
  const { code, election } = V.valid[0];
  for (const bad of [election.toUpperCase(), election.replace(/-/g, ''), `{${election}}`, `urn:uuid:${election}`, '']) {
    assert.throws(() => deriveSigningKey(code, bad), InvalidCredential, bad);
  }
});

test('credentials: generated codes are valid; every single substitution is caught', () => {
  for (let i = 0; i < 20; i++) {
    const code = generateCode();
    assert.equal(normalizeCode(code), code);
    assert.equal(checksum(code.slice(0, 18)), code.slice(18));
  }
  const code = V.valid[1].code;
  for (let i = 0; i < 20; i++) {
    for (const ch of ALPHABET) {
      if (ch === code[i]) continue;
      assert.ok(!isValidCode(code.slice(0, i) + ch + code.slice(i + 1)), `position ${i} → ${ch}`);
    }
  }
});
