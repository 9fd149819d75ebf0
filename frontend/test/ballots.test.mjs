import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector, replayRand, hexToBytes, clone } from '../support/vectors.mjs';
import {
  Ballot, BallotSecrets, ElectionSpec, QuestionSpec, answerCiphertexts, auditBallot, encryptBallot, encryptionSteps,
  verifyBallot,
} from '../src/ballot.mjs';
import { deriveSigningKey } from '../src/credentials.mjs';
import { canonicalJson, canonicalJsonText, digestJson } from '../src/hashing.mjs';
import { G, mulBase, pointFromHex, pointToHex, scalarFromHex, scalarToHex, mod } from '../src/group.mjs';
import { CryptoError, InvalidBallot, InvalidEncoding, InvalidProof } from '../src/errors.mjs';

const V = loadVector('ballots.json');

function vectorSpec() {
  const questions = V.spec.questions.map(({ label, ...q }) => QuestionSpec.fromJSON(q));
  return new ElectionSpec({
    fingerprint: V.spec.fingerprint,
    key: pointFromHex(V.spec.public_key),
    questions,
    electionUuid: V.election_uuid,
  });
}

function replay(spec = vectorSpec(), credential = V.credential_code, opts = {}) {
  const rand = replayRand(V.nonces);
  const out = encryptBallot(spec, credential, V.choices, {
    rand,
    signatureRandom: hexToBytes(V.signature_random),
    ...opts,
  });
  return { out, rand };
}

test('ballots: the vector ballot replays byte for byte', () => {
  const spec = vectorSpec();
  const { out, rand } = replay(spec);
  assert.equal(rand.remaining(), 0, 'every recorded nonce is consumed');
  assert.deepEqual(out.ballot, V.ballot);
  // identical key order too (Python's to_json), hence identical JSON text and canonical bytes
  assert.equal(JSON.stringify(out.ballot), JSON.stringify(V.ballot));
  assert.deepEqual(canonicalJson(out.ballot), canonicalJson(V.ballot));
  assert.equal(out.contentDigest, V.content_digest);
  assert.equal(out.tracker, V.tracker);
  assert.deepEqual(out.secrets, V.audit);
  assert.equal(JSON.stringify(out.secrets), JSON.stringify(V.audit));
  assert.equal(out.ballotObject.tracker(), V.tracker);
  assert.equal(out.ballotObject.contentDigest(), V.content_digest);
});

test('ballots: a signing key instead of the code gives the same ballot', () => {
  const key = deriveSigningKey(V.credential_code, V.election_uuid);
  const { out } = replay(vectorSpec(), key);
  assert.equal(out.tracker, V.tracker);
});

test('ballots: the vector ballot verifies and audits to its choices', () => {
  const spec = vectorSpec();
  const { tracker, contentDigest } = verifyBallot(V.ballot, spec);
  assert.equal(tracker, V.tracker);
  assert.equal(contentDigest, V.content_digest);
  assert.deepEqual(auditBallot(V.ballot, spec, V.audit), V.choices);
  assert.deepEqual(auditBallot(Ballot.fromJSON(V.ballot), spec, BallotSecrets.fromJSON(V.audit)), V.choices);
  assert.equal(digestJson(Ballot.fromJSON(V.ballot).toJSON()), V.tracker);
});

test('ballots: progress is reported once per step, in order', () => {
  const spec = vectorSpec();
  const seen = [];
  replay(spec, V.credential_code, { onProgress: (p) => seen.push(p) });
  const total = encryptionSteps(spec);
  // 4 + 2 (+ sum) + 4 (+ sum) + 4 (+ 7 budget bits) + 3 options, + signature
  assert.equal(total, 4 + 1 + 2 + 1 + 4 + 1 + 4 + 7 + 3 + 1);
  assert.deepEqual(seen.map((p) => p.done), [...Array(total + 1).keys()]);
  assert.ok(seen.every((p) => p.total === total));
});

test('ballots: shape of the vector (exact-count, sum proofs, budget bits)', () => {
  const spec = vectorSpec();
  const q = spec.questions;
  assert.deepEqual(q.map((x) => x.implicitLast), [true, false, false, false, false]);
  assert.deepEqual(q.map((x) => x.sumValues), [[0, 1], [0, 1], [0, 1, 2], null, null]);
  assert.deepEqual(q.map((x) => x.budgetBits), [0, 0, 0, 7, 0]);
  assert.deepEqual(V.ballot.answers.map((a) => a.choices.length), [4, 2, 4, 4, 3]);
  // the implied last option of the exact-count question encrypts 0 with randomness −Σ r
  const ballot = Ballot.fromJSON(V.ballot);
  const all = answerCiphertexts(ballot.answers[0], q[0]);
  assert.equal(all.length, 5);
  const rs = V.audit.randomness[0].choices.map((h) => scalarFromHex(h));
  const rLast = mod(-rs.reduce((a, b) => a + b, 0n));
  assert.ok(all[4].alpha.equals(mulBase(rLast)));
  assert.ok(all[4].beta.equals(spec.key.mul(rLast)), 'x₄ = 0');
});

function mutate(fn) {
  const b = clone(V.ballot);
  fn(b);
  return b;
}

function bumpScalar(hex) {
  return scalarToHex(mod(BigInt('0x' + hex) + 1n));
}

function bumpPoint(hex) {
  return pointToHex(pointFromHex(hex).add(G));
}

test('ballots: tampering is rejected', () => {
  const spec = vectorSpec();
  const cases = {
    'election': (b) => { b.election = '0'.repeat(64); },
    'credential': (b) => { b.credential = bumpPoint(b.credential); },
    'choice alpha': (b) => { b.answers[2].choices[1].alpha = bumpPoint(b.answers[2].choices[1].alpha); },
    'choice beta': (b) => { b.answers[2].choices[1].beta = bumpPoint(b.answers[2].choices[1].beta); },
    'swapped choices': (b) => { const c = b.answers[2].choices; [c[0], c[1]] = [c[1], c[0]]; },
    'swapped choice proofs': (b) => { const c = b.answers[2].choice_proofs; [c[0], c[1]] = [c[1], c[0]]; },
    'choice proof challenge': (b) => { const p = b.answers[0].choice_proofs[0]; p.challenges[0] = bumpScalar(p.challenges[0]); },
    'choice proof response': (b) => { const p = b.answers[0].choice_proofs[0]; p.responses[1] = bumpScalar(p.responses[1]); },
    'choice proof commitment': (b) => { const p = b.answers[0].choice_proofs[0]; p.commitments[1][0] = bumpPoint(p.commitments[1][0]); },
    'sum proof response': (b) => { const p = b.answers[2].sum_proof; p.responses[2] = bumpScalar(p.responses[2]); },
    'sum proof commitment': (b) => { const p = b.answers[2].sum_proof; p.commitments[0][1] = bumpPoint(p.commitments[0][1]); },
    'budget bit': (b) => { const p = b.answers[3].budget_proof; p.bits[0].beta = bumpPoint(p.bits[0].beta); },
    'budget bit proof': (b) => { const p = b.answers[3].budget_proof; p.bit_proofs[6].responses[0] = bumpScalar(p.bit_proofs[6].responses[0]); },
    'swapped budget bits': (b) => {
      const p = b.answers[3].budget_proof;
      [p.bits[0], p.bits[1]] = [p.bits[1], p.bits[0]];
      [p.bit_proofs[0], p.bit_proofs[1]] = [p.bit_proofs[1], p.bit_proofs[0]];
    },
    'signature commitment': (b) => { b.signature.commitment = bumpPoint(b.signature.commitment); },
    'signature response': (b) => { b.signature.response = bumpScalar(b.signature.response); },
    'missing sum proof': (b) => { b.answers[2].sum_proof = null; },
    'extra sum proof': (b) => { b.answers[4].sum_proof = clone(V.ballot.answers[2].sum_proof); },
    'missing budget proof': (b) => { b.answers[3].budget_proof = null; },
    'budget proof elsewhere': (b) => { b.answers[4].budget_proof = clone(V.ballot.answers[3].budget_proof); },
    'dropped budget bit': (b) => { b.answers[3].budget_proof.bits.pop(); b.answers[3].budget_proof.bit_proofs.pop(); },
    'dropped option': (b) => { b.answers[4].choices.pop(); b.answers[4].choice_proofs.pop(); },
    'all options of an exact-count question': (b) => {
      b.answers[0].choices.push(clone(b.answers[0].choices[0]));
      b.answers[0].choice_proofs.push(clone(b.answers[0].choice_proofs[0]));
    },
    'dropped answer': (b) => { b.answers.pop(); },
    'swapped answers': (b) => { [b.answers[1], b.answers[4]] = [b.answers[4], b.answers[1]]; },
    'version': (b) => { b.version = 2; },
    'extra field': (b) => { b.extra = 1; },
    'missing signature': (b) => { delete b.signature; },
    'upper-case hex': (b) => { b.credential = b.credential.toUpperCase(); },
    'identity alpha': (b) => { b.answers[1].choices[0].alpha = '00'; },
    'non-integer version': (b) => { b.version = '1'; },
  };
  for (const [name, fn] of Object.entries(cases)) {
    assert.throws(
      () => verifyBallot(mutate(fn), spec),
      (e) => e instanceof InvalidProof || e instanceof InvalidBallot || e instanceof InvalidEncoding,
      name,
    );
  }
});

test('ballots: copying a proof under another credential fails (bindings)', () => {
  const spec = vectorSpec();
  // re-sign the same ciphertexts and proofs with another credential: the signature is fine, the
  // proofs are bound to the first credential
  const other = deriveSigningKey(loadVector('credentials.json').valid[1].code, V.election_uuid);
  const ballot = Ballot.fromJSON(V.ballot);
  const content = { ...ballot.contentJSON(), credential: other.publicHex };
  const stolen = Ballot.fromJSON({ ...content, signature: V.ballot.signature });
  assert.throws(() => verifyBallot(stolen, spec), InvalidProof);
});

test('ballots: another election (fingerprint or key) rejects the ballot', () => {
  const spec = vectorSpec();
  const other = new ElectionSpec({ fingerprint: '1'.repeat(64), key: spec.key, questions: spec.questions });
  assert.throws(() => verifyBallot(V.ballot, other), InvalidBallot);
  const otherKey = new ElectionSpec({ fingerprint: spec.fingerprint, key: mulBase(5n), questions: spec.questions });
  assert.throws(() => verifyBallot(V.ballot, otherKey), InvalidProof);
  const moreQuestions = new ElectionSpec({ fingerprint: spec.fingerprint, key: spec.key, questions: [...spec.questions, spec.questions[4]] });
  assert.throws(() => verifyBallot(V.ballot, moreQuestions), InvalidBallot);
});

test('ballots: audit rejects wrong randomness', () => {
  const spec = vectorSpec();
  const bad = clone(V.audit);
  bad.randomness[2].choices[0] = bumpScalar(bad.randomness[2].choices[0]);
  assert.throws(() => auditBallot(V.ballot, spec, bad), InvalidProof);
  const badBits = clone(V.audit);
  badBits.randomness[3].bits[2] = bumpScalar(badBits.randomness[3].bits[2]);
  assert.throws(() => auditBallot(V.ballot, spec, badBits), InvalidProof);
  const noBits = clone(V.audit);
  noBits.randomness[3].bits = null;
  assert.throws(() => auditBallot(V.ballot, spec, noBits), InvalidProof);
  const short = clone(V.audit);
  short.randomness.pop();
  assert.throws(() => auditBallot(V.ballot, spec, short), InvalidProof);
  const fewer = clone(V.audit);
  fewer.randomness[4].choices.pop();
  assert.throws(() => auditBallot(V.ballot, spec, fewer), InvalidProof);
  // randomness that opens α but a β that encrypts 2
  const b = Ballot.fromJSON(V.ballot).toJSON();
  b.answers[4].choices[0].beta = bumpPoint(b.answers[4].choices[0].beta);
  assert.throws(() => auditBallot(b, spec, V.audit), /does not encrypt 0 or 1/);
  assert.throws(() => BallotSecrets.fromJSON({ ...V.audit, version: 2 }), InvalidEncoding);
  const text = JSON.stringify(BallotSecrets.fromJSON(V.audit).toString());
  assert.ok(!text.includes(V.audit.randomness[0].choices[0]));
});

test('ballots: invalid choices are refused before anything is encrypted', () => {
  const spec = vectorSpec();
  const good = V.choices;
  const bad = {
    'too few answers': good.slice(1),
    'not 0/1': [[0, 0, 2, 0, 0], ...good.slice(1)],
    'too many options': [[0, 0, 1, 0, 0, 0], ...good.slice(1)],
    'none on an exact-count question': [[0, 0, 0, 0, 0], ...good.slice(1)],
    'two on a single choice': [[1, 0, 1, 0, 0], ...good.slice(1)],
    'two on a referendum': [good[0], [1, 1], ...good.slice(2)],
    'three of at most two': [good[0], good[1], [1, 1, 1, 0], good[3], good[4]],
    'over budget': [good[0], good[1], good[2], [1, 1, 0, 1], good[4]],
    'string choice': [['1', 0, 0, 0, 0], ...good.slice(1)],
  };
  for (const [name, choices] of Object.entries(bad)) {
    let drawn = 0;
    assert.throws(
      () => encryptBallot(spec, V.credential_code, choices, { rand: () => { drawn++; return 1n; } }),
      InvalidBallot,
      name,
    );
    assert.equal(drawn, 0, name);
  }
  assert.throws(() => encryptBallot(spec, 'AAAAA', good), CryptoError);
  const noUuid = new ElectionSpec({ fingerprint: spec.fingerprint, key: spec.key, questions: spec.questions });
  assert.throws(() => encryptBallot(noUuid, V.credential_code, good), CryptoError);
  // booleans are accepted as selections
  const asBools = good.map((q) => q.map((x) => x === 1));
  const { out } = (() => {
    const rand = replayRand(V.nonces);
    return { out: encryptBallot(spec, V.credential_code, asBools, { rand, signatureRandom: hexToBytes(V.signature_random) }) };
  })();
  assert.equal(out.tracker, V.tracker);
});

test('ballots: canonical text of the ballot is JCS', () => {
  assert.equal(digestJson(V.ballot), V.tracker);
  const text = canonicalJsonText(V.ballot);
  assert.ok(text.startsWith('{"answers":[{"budget_proof":null,"choice_proofs":'));
  assert.ok(!/\s/.test(text));
});

test('ballots: QuestionSpec validation mirrors the reference', () => {
  const ok = [
    { options: 1, min: 0, max: 1 },
    { options: 1, min: 1, max: 1 },
    { options: 500, min: 0, max: 500 },
    { options: 3, min: 0, max: 3, costs: [0, 0, 1], budget: 0 },
    { options: 2, min: 0, max: 2, costs: [2 ** 40, 1], budget: 2 ** 40 },
  ];
  for (const q of ok) new QuestionSpec(q);
  const bad = [
    { options: 0, min: 0, max: 0 },
    { options: 501, min: 0, max: 1 },
    { options: 3, min: 2, max: 1 },
    { options: 3, min: 0, max: 4 },
    { options: 3, min: -1, max: 1 },
    { options: 3, min: 0, max: 1, costs: [1, 2, 3] },
    { options: 3, min: 0, max: 1, budget: 3 },
    { options: 3, min: 0, max: 1, costs: [1, 2], budget: 3 },
    { options: 3, min: 0, max: 1, costs: [1, 2, 2 ** 40 + 1], budget: 3 },
    { options: 3, min: 0, max: 1, costs: [1, 2, 1.5], budget: 3 },
    { options: 2, min: 0, max: 1.5 },
    { options: 3, min: 0, max: 3, costs: [0, 0, 0], budget: 5 }, // no positive cost
    { options: '2', min: 0, max: 1 },
  ];
  for (const q of bad) assert.throws(() => new QuestionSpec(q), InvalidEncoding, JSON.stringify(q));
  assert.deepEqual(new QuestionSpec({ options: 1, min: 1, max: 1 }).sumValues, [1]);
  assert.equal(new QuestionSpec({ options: 1, min: 1, max: 1 }).implicitLast, false);
  assert.deepEqual(new QuestionSpec({ options: 4, min: 4, max: 4 }).sumValues, [3]);
  assert.deepEqual(new QuestionSpec({ options: 4, min: 0, max: 0 }).sumValues, [0]);
  assert.deepEqual(new QuestionSpec({ options: 2, min: 0, max: 2, costs: [1, 1], budget: 0 }).budgetBits, 1);
  assert.deepEqual(new QuestionSpec({ options: 2, min: 0, max: 2, costs: [1, 1], budget: 2 ** 40 }).budgetBits, 41);
});
