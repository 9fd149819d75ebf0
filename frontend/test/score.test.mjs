// Score questions (docs/protocol.md §5.5) in the booth's crypto: Python's vectors
// (tests/vectors/score.json) replay byte for byte and verify; tampered and out-of-range proofs fail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector, replayRand, hexToBytes, clone } from '../support/vectors.mjs';
import {
  Ballot, BallotSecrets, ElectionSpec, QuestionSpec, auditBallot, encryptBallot, encryptScoreWithProof, verifyBallot,
} from '../src/ballot.mjs';
import { Ciphertext, ElectionKey, encrypt } from '../src/elgamal.mjs';
import { Q, mod, mulBase, pointFromHex, pointToHex, randomScalar, scalarFromHex, scalarToHex } from '../src/group.mjs';
import { DisjunctiveProof, proveMembership, verifyMembership } from '../src/proofs.mjs';
import { CryptoError, InvalidBallot, InvalidEncoding, InvalidProof } from '../src/errors.mjs';
import { parseManifest } from '../src/manifest.mjs';

const V = loadVector('score.json');
const KEY = ElectionKey.fromJSON(V.public_key);
const range = (s) => Array.from({ length: s + 1 }, (_, i) => i);

function check(proof, ct, s, { binding, tag = 'score', values = range(s) }) {
  verifyMembership(proof, { tag, context: V.context, key: KEY, ciphertexts: [ct], values, binding });
}

test('score: every range proof of the vectors replays byte for byte and verifies', () => {
  for (const c of V.proofs) {
    const question = new QuestionSpec({ options: 1, min: 0, max: c.max_score, maxScore: c.max_score });
    const rand = replayRand(c.nonces);
    const { ciphertext, proof } = encryptScoreWithProof({
      question, key: KEY, context: V.context, score: c.score, binding: c.binding, rand,
    });
    assert.equal(rand.remaining(), 0);
    assert.deepEqual(ciphertext.toJSON(), c.ciphertext);
    assert.deepEqual(proof.toJSON(), c.proof);
    const parsed = DisjunctiveProof.fromJSON(c.proof, 'proof', c.max_score + 1);
    check(parsed, Ciphertext.fromJSON(c.ciphertext), c.max_score, { binding: c.binding });
  }
});

test('score: every field of a proof, the statement and the tag are bound', () => {
  const c = V.proofs.find((p) => p.max_score === 10 && p.score === 4);
  const ct = Ciphertext.fromJSON(c.ciphertext);
  const other = pointToHex(mulBase(12345n));
  const mutations = [];
  for (let j = 0; j <= 10; j++) {
    for (const k of [0, 1]) {
      mutations.push((p) => { p.commitments[j][k] = other; });
    }
    mutations.push((p) => { p.challenges[j] = scalarToHex(mod(scalarFromHex(p.challenges[j]) + 1n)); });
    mutations.push((p) => { p.responses[j] = scalarToHex(mod(scalarFromHex(p.responses[j]) + 1n)); });
  }
  for (const mutate of mutations) {
    const bad = clone(c.proof);
    mutate(bad);
    assert.throws(() => check(DisjunctiveProof.fromJSON(bad), ct, 10, { binding: c.binding }), InvalidProof);
  }
  const proof = DisjunctiveProof.fromJSON(c.proof);
  assert.throws(() => check(proof, ct, 10, { binding: { ...c.binding, option: 1 } }), InvalidProof);
  assert.throws(() => check(proof, ct, 10, { binding: c.binding, tag: 'selection' }), InvalidProof);
  assert.throws(() => check(proof, ct, 10, { binding: c.binding, values: range(11).slice(1) }), InvalidProof);
  assert.throws(() => check(proof, new Ciphertext(ct.alpha, ct.beta.add(mulBase(1n))), 10, { binding: c.binding }), InvalidProof);
});

test('score: an out-of-range ciphertext (S + 1, −1) has no verifying proof', () => {
  const s = 3;
  const binding = { credential: '04', option: 0, question: 0 };
  for (const m of [BigInt(s + 1), Q - 1n]) {
    const r = randomScalar();
    const alpha = mulBase(r);
    const beta = KEY.mul(r).add(mulBase(m));
    const ct = new Ciphertext(alpha, beta);
    for (const claimed of range(s)) {
      const proof = proveMembership({
        tag: 'score', context: V.context, key: KEY, ciphertexts: [ct], randomness: r, plaintext: claimed, values: range(s), binding,
      });
      assert.throws(() => check(proof, ct, s, { binding }), InvalidProof);
    }
  }
  const question = new QuestionSpec({ options: 1, min: 0, max: s, maxScore: s });
  for (const score of [s + 1, -1, 1.5]) {
    assert.throws(() => encryptScoreWithProof({ question, key: KEY, context: V.context, score, binding }), InvalidBallot);
  }
  assert.throws(
    () => proveMembership({ tag: 'score', context: V.context, key: KEY, ciphertexts: [encrypt(KEY, 4).ciphertext], randomness: 1n, plaintext: 4, values: range(s), binding }),
    CryptoError,
  );
});

function vectorSpec() {
  const b = V.ballot;
  return new ElectionSpec({
    fingerprint: b.spec.fingerprint,
    key: pointFromHex(b.spec.public_key),
    questions: b.spec.questions.map(({ label, ...q }) => QuestionSpec.fromJSON(q)),
    electionUuid: b.election_uuid,
  });
}

test('score: the vector ballot replays byte for byte, verifies and audits', () => {
  const b = V.ballot;
  const spec = vectorSpec();
  const rand = replayRand(b.nonces);
  const out = encryptBallot(spec, b.credential_code, b.choices, { rand, signatureRandom: hexToBytes(b.signature_random) });
  assert.equal(rand.remaining(), 0);
  assert.equal(JSON.stringify(out.ballot), JSON.stringify(b.ballot));
  assert.equal(out.tracker, b.tracker);
  assert.deepEqual(out.secrets, b.audit);
  assert.equal(verifyBallot(b.ballot, spec).tracker, b.tracker);
  assert.deepEqual(auditBallot(b.ballot, spec, b.audit), b.choices);
  assert.deepEqual(spec.questions.map((q) => q.toJSON()), b.spec.questions.map(({ label, ...q }) => q));
});

test('score: ballots with the wrong proof shape or out-of-range scores are refused', () => {
  const spec = vectorSpec();
  const wrongBranches = clone(V.ballot.ballot);
  wrongBranches.answers[0].choice_proofs[0] = clone(V.ballot.ballot.answers[2].choice_proofs[0]);
  assert.throws(() => verifyBallot(wrongBranches, spec), (e) => e instanceof InvalidBallot && /11 branches/.test(e.message));
  assert.throws(() => encryptBallot(spec, V.ballot.credential_code, [[11, 0, 0], [1, 0, 0, 0], [0, 0, 0]]), /each from 0 to 10/);
  assert.throws(() => encryptBallot(spec, V.ballot.credential_code, [[0, 0, 0], [3, 3, 0, 0], [0, 0, 0]]), /between 1 and 5/);
  // an audit that opens a score above S is refused
  const secrets = BallotSecrets.fromJSON(V.ballot.audit);
  const r = secrets.choices[0][0];
  const forged = clone(V.ballot.ballot);
  forged.answers[0].choices[0] = new Ciphertext(mulBase(r), spec.key.mul(r).add(mulBase(11n))).toJSON();
  assert.throws(() => auditBallot(Ballot.fromJSON(forged), spec, secrets), /score from 0 to 10/);
});

test('score: question shapes and the manifest', () => {
  const q = new QuestionSpec({ options: 4, min: 0, max: 40, maxScore: 10 });
  assert.equal(q.sumValues, null);
  assert.equal(q.implicitLast, false);
  assert.deepEqual(q.choiceValues, range(10));
  assert.equal(new QuestionSpec({ options: 3, min: 6, max: 6, maxScore: 2 }).encryptedOptions, 3);
  assert.deepEqual(new QuestionSpec({ options: 3, min: 0, max: 4, maxScore: 2 }).sumValues, [0, 1, 2, 3, 4]);
  for (const bad of [
    { options: 3, min: 0, max: 3, maxScore: 0 },
    { options: 3, min: 0, max: 33, maxScore: 11 },
    { options: 3, min: 0, max: 16, maxScore: 5 },
    { options: 2, min: 0, max: 2, maxScore: 1, costs: [1, 1], budget: 2 },
  ]) {
    assert.throws(() => new QuestionSpec(bad), InvalidEncoding);
  }
});

test('score: manifests accept score questions with max_score, and only them', () => {
  const key = pointToHex(mulBase(7n));
  const manifest = (question) => ({
    version: 1,
    election: { uuid: V.ballot.election_uuid, slug: 's', title: 't', description: '', opens_at: '2025-01-01T00:00:00Z', closes_at: '2025-01-02T00:00:00Z' },
    questions: [{ id: 'q1', title: 'Rate', description: '', min: 0, max: 20, budget: null, options: [{ id: 'a', title: 'A', description: '', cost: null }, { id: 'b', title: 'B', description: '', cost: null }], ...question }],
    trustees: [{ index: 1, name: 'T', public_key: key }],
    threshold: 1,
    ceremony: '0'.repeat(64),
    public_key: key,
    verification_keys: [key],
    credentials: { count: 1, digest: '0'.repeat(64), total_weight: 1 },
  });
  const parsed = parseManifest(manifest({ kind: 'score', max_score: 10 }));
  assert.equal(parsed.spec.questions[0].maxScore, 10);
  assert.throws(() => parseManifest(manifest({ kind: 'score' })), InvalidEncoding);
  assert.throws(() => parseManifest(manifest({ kind: 'score', max_score: 11 })), InvalidEncoding);
  assert.throws(() => parseManifest(manifest({ kind: 'score', max_score: null })), InvalidEncoding);
  assert.throws(() => parseManifest(manifest({ kind: 'approval', max: 2, max_score: 3 })), InvalidEncoding);
});
