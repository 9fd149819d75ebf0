import test from 'node:test';
import assert from 'node:assert/strict';
import { sampleManifest, clone } from '../support/vectors.mjs';
import { parseManifest, specFromManifest } from '../src/manifest.mjs';
import { encryptBallot, verifyBallot, auditBallot } from '../src/ballot.mjs';
import { canonicalJsonText, digestJson } from '../src/hashing.mjs';
import { generateCode } from '../src/credentials.mjs';
import { mulBase, pointToHex } from '../src/group.mjs';
import { InvalidEncoding, InvalidPoint } from '../src/errors.mjs';

const points = [11n, 12n, 13n, 14n].map((k) => pointToHex(mulBase(k)));
const key = pointToHex(mulBase(0xc0ffeen));
const manifest = sampleManifest({ key, points });

test('manifest: parses, fingerprint = digest(manifest), spec shapes', () => {
  const m = parseManifest(manifest);
  assert.equal(m.fingerprint, digestJson(manifest));
  assert.equal(m.electionUuid, manifest.election.uuid);
  assert.equal(m.threshold, 2);
  assert.deepEqual(m.questions.map((q) => [q.options, q.min, q.max, q.budget]), [[2, 1, 1, null], [3, 0, 1, null], [4, 1, 3, null], [3, 0, 3, 100]]);
  assert.equal(m.spec.questions[0].implicitLast, true);
  assert.equal(m.spec.key.hex, key);
  // from text: the same spec
  const text = JSON.stringify(manifest, null, 2);
  assert.equal(specFromManifest(text).fingerprint, m.fingerprint);
  assert.equal(specFromManifest(new TextEncoder().encode(text)).fingerprint, m.fingerprint);
  assert.ok(canonicalJsonText(manifest).includes('😀'));
});

test('manifest: a ballot for the manifest round-trips', () => {
  const spec = specFromManifest(manifest);
  const choices = [[0, 1], [0, 0, 0], [1, 0, 1, 0], [1, 0, 1]];
  const { ballot, secrets, tracker } = encryptBallot(spec, generateCode(), choices);
  assert.equal(verifyBallot(ballot, spec).tracker, tracker);
  assert.deepEqual(auditBallot(ballot, spec, secrets), choices);
  assert.equal(ballot.election, spec.fingerprint);
});

test('manifest: invalid manifests are refused', () => {
  const cases = {
    'extra field': (m) => { m.extra = 1; },
    version: (m) => { m.version = 2; },
    'upper-case uuid': (m) => { m.election.uuid = m.election.uuid.toUpperCase(); },
    slug: (m) => { m.election.slug = 'Bad Slug'; },
    'bad date': (m) => { m.election.opens_at = '2025-02-30T08:00:00Z'; },
    'fractional seconds': (m) => { m.election.opens_at = '2025-03-01T08:00:00.5Z'; },
    'closes before opens': (m) => { m.election.closes_at = m.election.opens_at; },
    'no questions': (m) => { m.questions = []; },
    'duplicate question ids': (m) => { m.questions[1].id = 'q1'; },
    'duplicate option ids': (m) => { m.questions[1].options[1].id = 'a'; },
    'referendum with three options': (m) => { m.questions[0].options.push({ id: 'x', title: 'x', description: '', cost: null }); },
    'single with max 2': (m) => { m.questions[1].max = 2; },
    'single with min 2': (m) => { m.questions[1].min = 2; },
    'cost on approval': (m) => { m.questions[2].options[0].cost = 3; },
    'budget without cost': (m) => { m.questions[3].options[0].cost = null; },
    'budget without budget': (m) => { m.questions[3].budget = null; },
    'unknown kind': (m) => { m.questions[2].kind = 'ranked'; },
    'max above options': (m) => { m.questions[2].max = 5; },
    'long id': (m) => { m.questions[2].id = 'x'.repeat(65); },
    'trustee index': (m) => { m.trustees[1].index = 3; },
    threshold: (m) => { m.threshold = 3; },
    'verification keys': (m) => { m.verification_keys.pop(); },
    'credentials total': (m) => { m.credentials.total_weight = 2; },
    'credentials digest': (m) => { m.credentials.digest = 'B'.repeat(64); },
    ceremony: (m) => { m.ceremony = 'x'; },
  };
  for (const [name, fn] of Object.entries(cases)) {
    const m = clone(manifest);
    fn(m);
    assert.throws(() => parseManifest(m), InvalidEncoding, name);
  }
  const badKey = clone(manifest);
  badKey.public_key = '00';
  assert.throws(() => parseManifest(badKey), InvalidPoint);
  // strict text parsing: duplicate keys, fractions
  assert.throws(() => specFromManifest(JSON.stringify(manifest).replace('"threshold":2', '"threshold":2,"threshold":1')), InvalidEncoding);
  assert.throws(() => specFromManifest(JSON.stringify(manifest).replace('"threshold":2', '"threshold":2.0')), InvalidEncoding);
});
