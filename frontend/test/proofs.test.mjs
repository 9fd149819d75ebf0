import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector, replayRand, clone } from '../support/vectors.mjs';
import { Ciphertext, ElectionKey } from '../src/elgamal.mjs';
import { G, Q, mod, mulBase, pointFromHex, pointToHex, scalarFromHex, scalarToHex } from '../src/group.mjs';
import {
  BatchVerifier, DisjunctiveProof, DleqProof, SchnorrProof, encryptBitWithProof, proveDleq, proveKnowledge,
  proveMembership, verifyDleq, verifyKnowledge, verifyMembership,
} from '../src/proofs.mjs';
import { CryptoError, InvalidEncoding, InvalidProof } from '../src/errors.mjs';

const V = loadVector('proofs.json');
const context = V.context;

/** Every way to alter one hex string of a proof JSON: yields [path, altered JSON]. */
function* tamperings(json) {
  const paths = [];
  const walk = (v, path) => {
    if (typeof v === 'string') paths.push(path);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  };
  walk(json, []);
  for (const path of paths) {
    const copy = clone(json);
    let parent = copy;
    for (const k of path.slice(0, -1)) parent = parent[k];
    const last = path[path.length - 1];
    const old = parent[last];
    // a different valid value of the same kind: scalars + 1, points + G
    parent[last] = old.length === 64 ? scalarToHex(mod(BigInt('0x' + old) + 1n)) : pointToHex(pointFromHex(old).add(G));
    yield [path.join('.'), copy];
  }
}

test('proofs: Schnorr proof of knowledge replays and verifies', () => {
  const { secret, public: pub, binding, nonces, proof } = V.pok;
  const x = scalarFromHex(secret);
  assert.equal(pointToHex(mulBase(x)), pub);
  const rand = replayRand(nonces);
  const made = proveKnowledge(x, { context, binding, rand });
  assert.equal(rand.remaining(), 0);
  assert.deepEqual(made.toJSON(), proof);
  const publicPoint = pointFromHex(pub);
  verifyKnowledge(SchnorrProof.fromJSON(proof), { publicPoint, context, binding });
  // wrong context, binding, public key
  const p = SchnorrProof.fromJSON(proof);
  assert.throws(() => verifyKnowledge(p, { publicPoint, context: '0'.repeat(64), binding }), InvalidProof);
  assert.throws(() => verifyKnowledge(p, { publicPoint, context, binding: { ...binding, trustee: 2 } }), InvalidProof);
  assert.throws(() => verifyKnowledge(p, { publicPoint: publicPoint.add(G), context, binding }), InvalidProof);
  assert.throws(() => verifyKnowledge(p, { publicPoint: G.subtract(G), context, binding }), InvalidProof);
  for (const [where, bad] of tamperings(proof)) {
    assert.throws(() => verifyKnowledge(SchnorrProof.fromJSON(bad), { publicPoint, context, binding }), InvalidProof, where);
  }
  assert.throws(() => SchnorrProof.fromJSON({ ...proof, extra: 1 }), InvalidEncoding);
});

test('proofs: DLEQ replays and verifies', () => {
  const { secret, base1, value1, base2, value2, binding, nonces, proof } = V.dleq;
  const x = scalarFromHex(secret);
  const [B1, V1, B2, V2] = [base1, value1, base2, value2].map((h) => pointFromHex(h));
  assert.ok(B1.equals(G));
  const rand = replayRand(nonces);
  const made = proveDleq(x, { base1: G, base2: B2, context, binding, rand });
  assert.equal(rand.remaining(), 0);
  assert.deepEqual(made.toJSON(), proof);
  const args = { base1: B1, value1: V1, base2: B2, value2: V2, context, binding };
  verifyDleq(DleqProof.fromJSON(proof), args);
  const batch = new BatchVerifier();
  verifyDleq(DleqProof.fromJSON(proof), { ...args, batch });
  batch.verify();
  for (const [where, bad] of tamperings(proof)) {
    assert.throws(() => verifyDleq(DleqProof.fromJSON(bad), args), InvalidProof, where);
  }
  const p = DleqProof.fromJSON(proof);
  assert.throws(() => verifyDleq(p, { ...args, value2: V2.add(G) }), InvalidProof);
  assert.throws(() => verifyDleq(p, { ...args, value1: V1.add(G) }), InvalidProof);
  assert.throws(() => verifyDleq(p, { ...args, binding: { ...binding, position: 1 } }), InvalidProof);
  // a general first base: both equations with explicit bases
  const B = mulBase(7n);
  const q2 = proveDleq(x, { base1: B, base2: B2, context, binding });
  verifyDleq(q2, { base1: B, value1: B.multiply(x), base2: B2, value2: V2, context, binding });
  assert.throws(() => verifyDleq(q2, { base1: B, value1: V1, base2: B2, value2: V2, context, binding }), InvalidProof);
});

test('proofs: DLEQ with the identity as second base ("00")', () => {
  const x = 12345n;
  const O = G.subtract(G);
  const binding = { position: 3, purpose: 'partial-decryption', trustee: 1 };
  const proof = proveDleq(x, { base1: G, base2: O, context, binding });
  const json = proof.toJSON();
  assert.equal(json.commitment2, '00');
  verifyDleq(DleqProof.fromJSON(json), { base1: G, value1: mulBase(x), base2: O, value2: O, context, binding });
  assert.throws(() => verifyDleq(DleqProof.fromJSON(json), { base1: G, value1: mulBase(x + 1n), base2: O, value2: O, context, binding }), InvalidProof);
  assert.throws(() => DleqProof.fromJSON({ ...json, commitment1: '00' }), InvalidEncoding);
});

test('proofs: disjunctive proofs replay and verify', () => {
  const key = ElectionKey.fromJSON(V.disjunctive.public_key);
  for (const c of V.disjunctive.cases) {
    const label = `values ${c.values} plaintexts ${c.plaintexts}`;
    const rand = replayRand(c.nonces);
    const cts = [];
    const rs = [];
    for (const m of c.plaintexts) {
      const r = rand();
      rs.push(r);
      const alpha = mulBase(r);
      let beta = key.mul(r);
      if (m) beta = beta.add(mulBase(BigInt(m)));
      cts.push(new Ciphertext(alpha, beta));
    }
    assert.deepEqual(cts.map((x) => x.toJSON()), c.ciphertexts, label);
    const proof = proveMembership({
      tag: c.tag, context, key, ciphertexts: cts, randomness: mod(rs.reduce((a, b) => a + b, 0n)),
      plaintext: c.plaintexts.reduce((a, b) => a + b, 0), values: c.values, binding: c.binding, rand,
    });
    assert.equal(rand.remaining(), 0, label);
    assert.deepEqual(proof.toJSON(), c.proof, label);
    const ciphertexts = c.ciphertexts.map((x) => Ciphertext.fromJSON(x));
    const args = { tag: c.tag, context, key, ciphertexts, values: c.values, binding: c.binding };
    verifyMembership(DisjunctiveProof.fromJSON(c.proof), args);
    for (const [where, bad] of tamperings(c.proof)) {
      assert.throws(() => verifyMembership(DisjunctiveProof.fromJSON(bad), args), InvalidProof, `${label}: ${where}`);
    }
    const p = DisjunctiveProof.fromJSON(c.proof);
    assert.throws(() => verifyMembership(p, { ...args, tag: 'selection' }), InvalidProof);
    assert.throws(() => verifyMembership(p, { ...args, binding: { question: 1 } }), InvalidProof);
    assert.throws(() => verifyMembership(p, { ...args, context: '1'.repeat(64) }), InvalidProof);
    const otherCts = ciphertexts.length > 1 ? ciphertexts.slice(1) : [ciphertexts[0].add(ciphertexts[0])];
    assert.throws(() => verifyMembership(p, { ...args, ciphertexts: otherCts }), InvalidProof);
    assert.throws(() => verifyMembership(p, { ...args, values: c.values.map((v) => v + 1) }), InvalidProof);
    assert.throws(() => verifyMembership(p, { ...args, values: [...c.values, 99] }), InvalidProof);
  }
});

test('proofs: encryptBitWithProof draws like encrypt + proveMembership', () => {
  const key = ElectionKey.fromJSON(V.disjunctive.public_key);
  for (const c of V.disjunctive.cases.filter((x) => x.plaintexts.length === 1 && x.values.join() === '0,1')) {
    const rand = replayRand(c.nonces);
    const { ciphertext, r, proof } = encryptBitWithProof({ tag: c.tag, context, key, bit: c.plaintexts[0], binding: c.binding, rand });
    assert.equal(rand.remaining(), 0);
    assert.equal(r, BigInt('0x' + c.nonces[0]));
    assert.deepEqual(ciphertext.toJSON(), c.ciphertexts[0]);
    assert.deepEqual(proof.toJSON(), c.proof);
  }
  assert.throws(() => encryptBitWithProof({ tag: 'x', context, key, bit: 2, binding: {} }), CryptoError);
});

test('proofs: provers refuse bad inputs; rand must return scalars in [1, q)', () => {
  const key = ElectionKey.fromJSON(V.disjunctive.public_key);
  const base = { tag: 'sum', context, key, ciphertexts: [], randomness: 1n, binding: {} };
  assert.throws(() => proveMembership({ ...base, plaintext: 3, values: [0, 1] }), CryptoError);
  assert.throws(() => proveMembership({ ...base, plaintext: 1, values: [1, 0] }), CryptoError);
  assert.throws(() => proveMembership({ ...base, plaintext: 1, values: [] }), CryptoError);
  for (const bad of [0n, Q, -1n, 5]) {
    assert.throws(() => proveKnowledge(3n, { context, binding: {}, rand: () => bad }), CryptoError);
  }
  // a proof with the wrong number of branches
  const p = DisjunctiveProof.fromJSON(V.disjunctive.cases[2].proof);
  assert.throws(() => DisjunctiveProof.fromJSON(V.disjunctive.cases[2].proof, 'p', 2), InvalidEncoding);
  assert.throws(() => verifyMembership(p, { tag: 'sum', context, key, ciphertexts: [], values: [0, 1], binding: {} }), InvalidProof);
});

test('proofs: batch verifier accepts good equations, names the bad one', () => {
  const batch = new BatchVerifier();
  batch.add('one', 5n, [[-1n, mulBase(5n)]]);
  batch.add('two', 0n, [[3n, G], [-1n, mulBase(3n)]]);
  batch.verify();
  batch.add('bad', 1n, [[-1n, mulBase(2n)]]);
  assert.throws(() => batch.verify(), (e) => e instanceof InvalidProof && e.message.startsWith('bad'));
  new BatchVerifier().verify();
});
