// Property-style tests: random question shapes and random valid choices round-trip through
// encrypt → verify → audit; random invalid choices are refused. The seed is printed on failure
// and can be fixed with PNYX_PROPERTY_SEED.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ElectionSpec, QuestionSpec, auditBallot, encryptBallot, verifyBallot, Ballot } from '../src/ballot.mjs';
import { generateCode } from '../src/credentials.mjs';
import { digestJson } from '../src/hashing.mjs';
import { mulBase, randomScalar } from '../src/group.mjs';
import { ElectionKey } from '../src/elgamal.mjs';
import { InvalidBallot } from '../src/errors.mjs';

const SEED = Number(process.env.PNYX_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.PNYX_PROPERTY_ROUNDS ?? 25);

function prng(seed) {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(rng, lo, hi) {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function randomShape(rng) {
  const kind = int(rng, 0, 2);
  if (kind === 0) {
    const n = int(rng, 1, 8);
    const min = int(rng, 0, n);
    return { options: n, min, max: int(rng, min, n), costs: null, budget: null };
  }
  if (kind === 1) {
    const n = int(rng, 2, 6);
    const k = int(rng, 0, n);
    return { options: n, min: k, max: k, costs: null, budget: null };
  }
  const n = int(rng, 1, 6);
  const min = int(rng, 0, Math.min(n, 2));
  return {
    options: n,
    min,
    max: int(rng, min, n),
    // a budget question has at least one positive cost (§10): the first option costs ≥ 1
    costs: Array.from({ length: n }, (_, i) => int(rng, i === 0 ? 1 : 0, 60)),
    budget: int(rng, 0, 1) ? int(rng, 0, 200) : int(rng, 0, 2 ** 20),
  };
}

/** The rules of §7.1, independently of QuestionSpec.checkChoices. */
function valid(shape, picks) {
  if (picks.length !== shape.options || picks.some((x) => x !== 0 && x !== 1)) return false;
  const n = picks.reduce((a, b) => a + b, 0);
  if (n < shape.min || n > shape.max) return false;
  return shape.costs === null || picks.reduce((t, x, i) => t + x * shape.costs[i], 0) <= shape.budget;
}

function randomValidChoice(rng, shape) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const count = int(rng, shape.min, shape.max);
    const order = [...Array(shape.options).keys()].sort(() => rng() - 0.5);
    const picks = Array(shape.options).fill(0);
    for (const i of order.slice(0, count)) picks[i] = 1;
    if (valid(shape, picks)) return picks;
  }
  return null;
}

// A few election keys, each with its fixed-base table built once (≈ 40 ms each).
const KEYS = Array.from({ length: 3 }, () => new ElectionKey(mulBase(randomScalar())));

function randomElection(rng) {
  const questions = [];
  const choices = [];
  while (questions.length < int(rng, 1, 3)) {
    const shape = randomShape(rng);
    const picks = randomValidChoice(rng, shape);
    if (picks === null) continue;
    questions.push(shape);
    choices.push(picks);
  }
  const spec = new ElectionSpec({
    fingerprint: digestJson({ property: Math.floor(rng() * 2 ** 32) }),
    key: KEYS[int(rng, 0, KEYS.length - 1)],
    questions: questions.map((q) => new QuestionSpec(q)),
    electionUuid: '3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11',
  });
  return { spec, questions, choices };
}

test(`property: random shapes round-trip encrypt → verify → audit (seed ${SEED})`, () => {
  const rng = prng(SEED);
  for (let round = 0; round < ROUNDS; round++) {
    const { spec, questions, choices } = randomElection(rng);
    const where = `seed ${SEED} round ${round}: ${JSON.stringify(questions)} ${JSON.stringify(choices)}`;
    const { ballot, secrets, tracker, contentDigest } = encryptBallot(spec, generateCode(), choices);
    const checked = verifyBallot(ballot, spec);
    assert.equal(checked.tracker, tracker, where);
    assert.equal(checked.contentDigest, contentDigest, where);
    assert.deepEqual(auditBallot(ballot, spec, secrets), choices, where);
    assert.deepEqual(Ballot.fromJSON(JSON.parse(JSON.stringify(ballot))).toJSON(), ballot, where);
    ballot.answers.forEach((a, qi) => {
      const q = spec.questions[qi];
      assert.equal(a.choices.length, q.encryptedOptions, where);
      assert.equal(a.sum_proof === null, q.sumValues === null, where);
      assert.equal(a.budget_proof === null ? 0 : a.budget_proof.bits.length, q.budgetBits, where);
    });
  }
});

test(`property: random invalid choices are refused (seed ${SEED})`, () => {
  const rng = prng(SEED + 1);
  let refused = 0;
  for (let round = 0; round < ROUNDS * 8; round++) {
    const { spec, questions, choices } = randomElection(rng);
    const qi = int(rng, 0, questions.length - 1);
    const picks = [...choices[qi]];
    const mutation = int(rng, 0, 3);
    if (mutation === 0) picks[int(rng, 0, picks.length - 1)] ^= 1;
    else if (mutation === 1) picks.push(int(rng, 0, 1));
    else if (mutation === 2) picks.pop();
    else picks[int(rng, 0, picks.length - 1)] = 2;
    const bad = choices.map((c, i) => (i === qi ? picks : c));
    const where = `seed ${SEED} round ${round}: ${JSON.stringify(questions[qi])} ${JSON.stringify(picks)}`;
    if (valid(questions[qi], picks)) {
      assert.doesNotThrow(() => spec.questions[qi].checkChoices(picks), where);
      continue;
    }
    assert.throws(() => encryptBallot(spec, generateCode(), bad, { rand: () => assert.fail('drew randomness') }), InvalidBallot, where);
    refused++;
  }
  assert.ok(refused > ROUNDS, `only ${refused} invalid cases generated`);
});
