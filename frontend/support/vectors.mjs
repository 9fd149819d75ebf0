// Helpers for the tests: the protocol's test vectors (tests/vectors/*.json, the single source,
// never copied) and a random source that replays a vector's recorded nonces.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VECTORS = new URL('../../tests/vectors/', import.meta.url);

export function vectorPath(name) {
  return fileURLToPath(new URL(name, VECTORS));
}

/** The parsed JSON of tests/vectors/<name>. */
export function loadVector(name) {
  return JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));
}

/**
 * A `rand()` answering its i-th call with `nonces[i]` (hex scalars). `rand.remaining()` tells how
 * many were not consumed (a replay must consume them all); drawing past the end throws.
 */
export function replayRand(nonces) {
  let i = 0;
  const rand = () => {
    if (i >= nonces.length) throw new Error(`replay: nonce ${i} requested, only ${nonces.length} recorded`);
    return BigInt('0x' + nonces[i++]);
  };
  rand.remaining = () => nonces.length - i;
  rand.used = () => i;
  return rand;
}

export function hexToBytes(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** A deep copy of a JSON value. */
export function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

/** A valid manifest (§10) with one question of each kind, for tests. `key` is a hex point. */
export function sampleManifest({ key, points, uuid = '3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11' }) {
  const option = (id, title, cost = null) => ({ id, title, description: `${title} — détails`, cost });
  return {
    version: 1,
    election: {
      uuid,
      slug: 'city-council-2025',
      title: 'Élection du conseil 😀',
      description: 'Line one\nLine two "quoted" \\ backslash',
      opens_at: '2025-03-01T08:00:00Z',
      closes_at: '2025-03-08T20:00:00Z',
    },
    questions: [
      { id: 'q1', kind: 'referendum', title: 'Adopt?', description: '', options: [option('yes', 'Yes'), option('no', 'No')], min: 1, max: 1, budget: null },
      { id: 'q2', kind: 'single', title: 'Mayor', description: '', options: [option('a', 'Ada'), option('b', 'Bo'), option('c', 'Cy')], min: 0, max: 1, budget: null },
      { id: 'q3', kind: 'approval', title: 'Council', description: '', options: [option('a', 'A'), option('b', 'B'), option('c', 'C'), option('d', 'D')], min: 1, max: 3, budget: null },
      { id: 'q4', kind: 'budget', title: 'Projects', description: '', options: [option('p', 'Park', 40), option('s', 'School', 70), option('l', 'Library', 25)], min: 0, max: 3, budget: 100 },
    ],
    trustees: [
      { index: 1, name: 'Alice', public_key: points[0] },
      { index: 2, name: 'Bob', public_key: points[1] },
    ],
    threshold: 2,
    ceremony: 'a'.repeat(64),
    public_key: key,
    verification_keys: [points[2], points[3]],
    credentials: { count: 3, digest: 'b'.repeat(64), total_weight: 5 },
  };
}
