// Encrypted ballots (docs/protocol.md §7): encryption with proofs, verification, trackers and the
// Benaloh audit. Mirrors crypto/ballot.py; the JSON produced here is byte-for-byte Python's
// `Ballot.to_json()` / `BallotSecrets.to_json()` for the same randomness.

import { CryptoError, InvalidBallot, InvalidEncoding, InvalidProof } from './errors.mjs';
import { Ciphertext, ElectionKey, encrypt } from './elgamal.mjs';
import {
  G,
  mod,
  mulBase,
  pointFromHex,
  pointToHex,
  randomScalar,
  scalarFromHex,
  scalarToHex,
} from './group.mjs';
import { Tag, checkDigestHex, digestJson, canonicalJson, canonicalJsonText } from './hashing.mjs';
import { PROTOCOL_VERSION, expectInt, expectList, expectObject, expectVersion } from './json.mjs';
import {
  BatchVerifier,
  DisjunctiveProof,
  MAX_SET_SIZE,
  draw,
  encryptBitWithProof,
  proveMembership,
  verifyMembership,
} from './proofs.mjs';
import { Signature, SigningKey, sign, verifySignature } from './signature.mjs';
import { deriveSigningKey } from './credentials.mjs';

export const MAX_QUESTIONS = 100;
export const MAX_OPTIONS = 500;
export const MAX_AMOUNT = 2 ** 40; // largest cost or budget
export const MAX_SCORE = 10; // largest S of a score question (§5.5)
const MAX_AMOUNT_BITS = 41; // MAX_AMOUNT.bit_length()
const BIT_VALUES = [0, 1];

function bitLength(n) {
  return n === 0 ? 0 : n.toString(2).length;
}

// --- What a ballot must answer -------------------------------------------------------------------

/**
 * The cryptographic shape of a question (from the election manifest). For a score question
 * (`maxScore` = S) each option holds 0 … S and min/max bound the total score (§7.1).
 */
export class QuestionSpec {
  constructor({ options, min, max, costs = null, budget = null, maxScore = null }) {
    expectInt(options, 'options', 1, MAX_OPTIONS);
    if (maxScore !== null) {
      expectInt(maxScore, 'max_score', 1, MAX_SCORE);
      if (costs !== null || budget !== null) throw new InvalidEncoding('question: a score question has no costs');
    }
    const top = options * (maxScore ?? 1);
    expectInt(min, 'min', 0, top);
    expectInt(max, 'max', min, top);
    if (max - min + 1 > MAX_SET_SIZE && !(min === 0 && max === top)) {
      throw new InvalidEncoding('question: the range [min, max] is too wide');
    }
    if ((costs === null) !== (budget === null)) throw new InvalidEncoding('question: costs and budget come together');
    if (costs !== null) {
      if (!Array.isArray(costs) || costs.length !== options) throw new InvalidEncoding('question: one cost per option');
      costs.forEach((c, i) => expectInt(c, `question: costs[${i}]`, 0, MAX_AMOUNT));
      expectInt(budget, 'question: budget', 0, MAX_AMOUNT);
      if (!costs.some((c) => c > 0)) throw new InvalidEncoding('question: a budget question has at least one positive cost');
    }
    this.options = options;
    this.min = min;
    this.max = max;
    this.costs = costs === null ? null : Object.freeze([...costs]);
    this.budget = budget;
    this.maxScore = maxScore;
    Object.freeze(this);
  }

  /** The largest possible Σ xᵢ: n, or n·S for a score question. */
  get top() {
    return this.options * (this.maxScore ?? 1);
  }

  /** The set each option's ciphertext is proven to lie in: [0, 1], or [0 … S] (§5.5). */
  get choiceValues() {
    if (this.maxScore === null) return BIT_VALUES;
    return Array.from({ length: this.maxScore + 1 }, (_, i) => i);
  }

  /** The tag of the per-option proofs: `selection`, or `score`. */
  get choiceTag() {
    return this.maxScore === null ? Tag.SELECTION : Tag.SCORE;
  }

  /** Exactly k options must be selected, no costs, no scores: the last option is implied (§7.2). */
  get implicitLast() {
    return this.min === this.max && this.options >= 2 && this.costs === null && this.maxScore === null;
  }

  /** How many ciphertexts a ballot carries for this question (L). */
  get encryptedOptions() {
    return this.implicitLast ? this.options - 1 : this.options;
  }

  /** The set the sum of the ballot's ciphertexts is proven to lie in, or null (§7.3). */
  get sumValues() {
    let lo, hi;
    if (this.implicitLast) {
      const k = this.max;
      lo = Math.max(0, k - 1);
      hi = Math.min(k, this.options - 1);
    } else if (this.min === 0 && this.max === this.top) {
      return null;
    } else {
      lo = this.min;
      hi = this.max;
    }
    const out = [];
    for (let v = lo; v <= hi; v++) out.push(v);
    return out;
  }

  /** κ = max(1, bitlength(budget)), or 0 without a budget. */
  get budgetBits() {
    return this.budget === null ? 0 : Math.max(1, bitLength(this.budget));
  }

  /** Throws InvalidBallot unless `choices` is a valid answer (0/1 or 0…S per option, min/max, budget). */
  checkChoices(choices) {
    const top = this.maxScore ?? 1;
    if (!Array.isArray(choices) || choices.length !== this.options || choices.some((c) => !Number.isInteger(c) || c < 0 || c > top)) {
      if (this.maxScore !== null) throw new InvalidBallot(`expected ${this.options} scores, each from 0 to ${this.maxScore}`);
      throw new InvalidBallot(`expected ${this.options} selections of 0 or 1`);
    }
    const n = choices.reduce((a, b) => a + b, 0);
    if (n < this.min || n > this.max) {
      if (this.maxScore !== null) throw new InvalidBallot(`the scores must add up to between ${this.min} and ${this.max}`);
      throw new InvalidBallot(`select between ${this.min} and ${this.max} options`);
    }
    if (this.costs !== null && choices.reduce((t, x, i) => t + x * this.costs[i], 0) > this.budget) {
      throw new InvalidBallot('the selected options cost more than the budget');
    }
  }

  toJSON() {
    const out = {
      options: this.options,
      min: this.min,
      max: this.max,
      costs: this.costs === null ? null : [...this.costs],
      budget: this.budget,
    };
    if (this.maxScore !== null) out.max_score = this.maxScore;
    return out;
  }

  static fromJSON(value, what = 'question') {
    const obj = expectObject(value, ['options', 'min', 'max', 'costs', 'budget'], what, ['max_score']);
    const costs = obj.costs === null ? null : expectList(obj.costs, `${what}.costs`);
    if ('max_score' in obj && obj.max_score === null) throw new InvalidEncoding(`${what}.max_score: an integer when present`);
    return new QuestionSpec({ options: obj.options, min: obj.min, max: obj.max, costs, budget: obj.budget, maxScore: obj.max_score ?? null });
  }
}

/** What ballot encryption and verification need: fingerprint, key, question shapes (+ UUID). */
export class ElectionSpec {
  constructor({ fingerprint, key, questions, electionUuid = null, manifest = null }) {
    checkDigestHex(fingerprint, 'fingerprint');
    if (!Array.isArray(questions) || questions.length < 1 || questions.length > MAX_QUESTIONS) {
      throw new InvalidEncoding(`an election has 1 to ${MAX_QUESTIONS} questions`);
    }
    this.fingerprint = fingerprint;
    this.key = key instanceof ElectionKey ? key : new ElectionKey(key);
    this.questions = Object.freeze(questions.map((q) => (q instanceof QuestionSpec ? q : new QuestionSpec(q))));
    this.electionUuid = electionUuid;
    this.manifest = manifest;
    Object.freeze(this);
  }

  /** `{"fingerprint", "public_key", "questions": [...]}` (the shape used by the test vectors). */
  static fromJSON(value, { electionUuid = null } = {}) {
    const obj = expectObject(value, ['fingerprint', 'public_key', 'questions'], 'spec', ['election_uuid']);
    const questions = expectList(obj.questions, 'spec.questions', { minLength: 1 }).map((q, i) =>
      QuestionSpec.fromJSON(q, `spec.questions[${i}]`),
    );
    return new ElectionSpec({
      fingerprint: obj.fingerprint,
      key: ElectionKey.fromJSON(obj.public_key, 'spec.public_key'),
      questions,
      electionUuid: electionUuid ?? obj.election_uuid ?? null,
    });
  }

  toJSON() {
    const out = { fingerprint: this.fingerprint, public_key: this.key.hex, questions: this.questions.map((q) => q.toJSON()) };
    if (this.electionUuid !== null) out.election_uuid = this.electionUuid;
    return out;
  }
}

// --- The ballot ----------------------------------------------------------------------------------

export class BudgetProof {
  constructor(bits, bitProofs) {
    this.bits = bits;
    this.bitProofs = bitProofs;
    Object.freeze(this);
  }

  toJSON() {
    return { bits: this.bits.map((b) => b.toJSON()), bit_proofs: this.bitProofs.map((p) => p.toJSON()) };
  }

  static fromJSON(value, what) {
    const obj = expectObject(value, ['bits', 'bit_proofs'], what);
    const bits = expectList(obj.bits, `${what}.bits`, { minLength: 1 });
    if (bits.length > MAX_AMOUNT_BITS) throw new InvalidEncoding(`${what}: too many bits`);
    const proofs = expectList(obj.bit_proofs, `${what}.bit_proofs`, { length: bits.length });
    return new BudgetProof(
      bits.map((b, j) => Ciphertext.fromJSON(b, `${what}.bits[${j}]`)),
      proofs.map((p, j) => DisjunctiveProof.fromJSON(p, `${what}.bit_proofs[${j}]`, 2)),
    );
  }
}

export class Answer {
  constructor(choices, choiceProofs, sumProof, budgetProof) {
    this.choices = choices;
    this.choiceProofs = choiceProofs;
    this.sumProof = sumProof;
    this.budgetProof = budgetProof;
    Object.freeze(this);
  }

  toJSON() {
    return {
      choices: this.choices.map((c) => c.toJSON()),
      choice_proofs: this.choiceProofs.map((p) => p.toJSON()),
      sum_proof: this.sumProof === null ? null : this.sumProof.toJSON(),
      budget_proof: this.budgetProof === null ? null : this.budgetProof.toJSON(),
    };
  }

  static fromJSON(value, what) {
    const obj = expectObject(value, ['choices', 'choice_proofs', 'sum_proof', 'budget_proof'], what);
    const choices = expectList(obj.choices, `${what}.choices`, { minLength: 1 });
    if (choices.length > MAX_OPTIONS) throw new InvalidEncoding(`${what}: too many options`);
    const proofs = expectList(obj.choice_proofs, `${what}.choice_proofs`, { length: choices.length });
    return new Answer(
      choices.map((c, i) => Ciphertext.fromJSON(c, `${what}.choices[${i}]`)),
      proofs.map((p, i) => DisjunctiveProof.fromJSON(p, `${what}.choice_proofs[${i}]`)),
      obj.sum_proof === null ? null : DisjunctiveProof.fromJSON(obj.sum_proof, `${what}.sum_proof`),
      obj.budget_proof === null ? null : BudgetProof.fromJSON(obj.budget_proof, `${what}.budget_proof`),
    );
  }
}

export class Ballot {
  constructor(election, credential, answers, signature) {
    this.election = election; // the election fingerprint
    this.credential = credential; // the credential's public key S
    this.answers = answers;
    this.signature = signature; // by the credential, over contentDigest()
    Object.freeze(this);
  }

  /** The ballot without its signature: what the credential signs. */
  contentJSON() {
    return {
      version: PROTOCOL_VERSION,
      election: this.election,
      credential: pointToHex(this.credential),
      answers: this.answers.map((a) => a.toJSON()),
    };
  }

  toJSON() {
    const body = this.contentJSON();
    body.signature = this.signature.toJSON();
    return body;
  }

  contentDigest() {
    return digestJson(this.contentJSON());
  }

  /** SHA-256 of the canonical ballot (64 hex digits): the voter's receipt and the board's key. */
  tracker() {
    return digestJson(this.toJSON());
  }

  canonicalBytes() {
    return canonicalJson(this.toJSON());
  }

  static fromJSON(value) {
    const obj = expectObject(value, ['version', 'election', 'credential', 'answers', 'signature'], 'ballot');
    expectVersion(obj, 'ballot');
    const answers = expectList(obj.answers, 'ballot.answers', { minLength: 1 });
    if (answers.length > MAX_QUESTIONS) throw new InvalidEncoding('ballot: too many answers');
    return new Ballot(
      checkDigestHex(obj.election, 'ballot.election'),
      pointFromHex(obj.credential, { what: 'ballot.credential' }),
      answers.map((a, i) => Answer.fromJSON(a, `ballot.answers[${i}]`)),
      Signature.fromJSON(obj.signature, 'ballot.signature'),
    );
  }
}

/** The encryption randomness of a ballot: revealed only to audit it (Benaloh challenge, §7.8). */
export class BallotSecrets {
  #choices;
  #bits;

  constructor(choices, bits) {
    this.#choices = choices.map((q) => [...q]);
    this.#bits = bits.map((b) => (b === null ? null : [...b]));
    Object.freeze(this);
  }

  get choices() {
    return this.#choices;
  }

  get bits() {
    return this.#bits;
  }

  toJSON() {
    return {
      version: PROTOCOL_VERSION,
      randomness: this.#choices.map((rs, i) => ({
        choices: rs.map(scalarToHex),
        bits: this.#bits[i] === null ? null : this.#bits[i].map(scalarToHex),
      })),
    };
  }

  static fromJSON(value) {
    const obj = expectObject(value, ['version', 'randomness'], 'ballot randomness');
    expectVersion(obj, 'ballot randomness');
    const choices = [];
    const bits = [];
    expectList(obj.randomness, 'randomness', { minLength: 1 }).forEach((item, i) => {
      expectObject(item, ['choices', 'bits'], `randomness[${i}]`);
      choices.push(expectList(item.choices, 'choices').map((r) => scalarFromHex(r, { what: `randomness[${i}].choices` })));
      bits.push(
        item.bits === null ? null : expectList(item.bits, 'bits').map((r) => scalarFromHex(r, { what: `randomness[${i}].bits` })),
      );
    });
    return new BallotSecrets(choices, bits);
  }

  toString() {
    return 'BallotSecrets(<redacted>)';
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

// --- Encryption ----------------------------------------------------------------------------------

function selectionBinding(credentialHex, question, option) {
  return { credential: credentialHex, option, question };
}

/** Total number of progress steps of `encryptBallot` for `spec`. */
export function encryptionSteps(spec) {
  let total = 1; // the signature
  for (const q of spec.questions) {
    total += q.encryptedOptions + (q.sumValues === null ? 0 : 1) + q.budgetBits;
  }
  return total;
}

function normaliseChoices(picks) {
  if (!Array.isArray(picks)) throw new InvalidBallot('each answer is a list of selections');
  return picks.map((x) => (x === true ? 1 : x === false ? 0 : x));
}

function resolveSigningKey(spec, credential) {
  if (credential instanceof SigningKey) return credential;
  if (typeof credential === 'string') {
    if (spec.electionUuid === null) throw new CryptoError('the spec has no election UUID to derive the credential');
    return deriveSigningKey(credential, spec.electionUuid);
  }
  throw new CryptoError('a credential is a code or a SigningKey');
}

/**
 * Encrypt `choices` (per question, 0/1 per option), prove and sign the ballot.
 *
 * `credential` is the voter's code (derived with `spec.electionUuid`) or a SigningKey.
 * Options: `rand()` (scalars in [1, q), default crypto.getRandomValues), `signatureRandom`
 * (32 bytes, default fresh), `onProgress({done, total})` called after each step.
 * Returns `{ballot, secrets, ballotObject, secretsObject, contentDigest, tracker}` where `ballot`
 * and `secrets` are the JSON values of §7.5 and §7.8.
 */
export function encryptBallot(spec, credential, choices, { rand = randomScalar, signatureRandom = null, onProgress = null } = {}) {
  if (!(spec instanceof ElectionSpec)) throw new CryptoError('encryptBallot needs an ElectionSpec');
  if (!Array.isArray(choices) || choices.length !== spec.questions.length) {
    throw new InvalidBallot(`expected answers to ${spec.questions.length} questions`);
  }
  const allPicks = choices.map(normaliseChoices);
  spec.questions.forEach((q, qi) => {
    try {
      q.checkChoices(allPicks[qi]);
    } catch (exc) {
      if (exc instanceof InvalidBallot) throw new InvalidBallot(`question ${qi + 1}: ${exc.message}`);
      throw exc;
    }
  });
  const signingKey = resolveSigningKey(spec, credential);
  const { key, fingerprint: context } = spec;
  key.precompute();
  const credentialHex = signingKey.publicHex;
  const total = encryptionSteps(spec);
  let done = 0;
  const step = () => {
    done += 1;
    if (onProgress) onProgress({ done, total });
  };
  if (onProgress) onProgress({ done: 0, total });

  const answers = [];
  const secretChoices = [];
  const secretBits = [];
  spec.questions.forEach((question, qi) => {
    const picks = allPicks[qi];
    const listed = picks.slice(0, question.encryptedOptions);
    const cts = [];
    const rs = [];
    const proofs = [];
    listed.forEach((m, oi) => {
      const binding = selectionBinding(credentialHex, qi, oi);
      const { ciphertext, r, proof } =
        question.maxScore === null
          ? encryptBitWithProof({ tag: Tag.SELECTION, context, key, bit: m, binding, rand })
          : encryptScoreWithProof({ question, key, context, score: m, binding, rand });
      cts.push(ciphertext);
      rs.push(r);
      proofs.push(proof);
      step();
    });
    let sumProof = null;
    const values = question.sumValues;
    if (values !== null) {
      sumProof = proveMembership({
        tag: Tag.SUM,
        context,
        key,
        ciphertexts: cts,
        randomness: mod(rs.reduce((a, b) => a + b, 0n)),
        plaintext: listed.reduce((a, b) => a + b, 0),
        values,
        binding: { credential: credentialHex, question: qi },
        rand,
      });
      step();
    }
    let budgetProof = null;
    let bitRs = null;
    if (question.budget !== null) {
      ({ budgetProof, bitRs } = proveBudget(question, key, context, credentialHex, qi, picks, rs, rand, step));
    }
    answers.push(new Answer(cts, proofs, sumProof, budgetProof));
    secretChoices.push(rs);
    secretBits.push(bitRs);
  });

  const unsigned = new Ballot(context, signingKey.public, answers, null);
  const contentDigest = unsigned.contentDigest();
  const signature = sign(signingKey, contentDigest, { context, random: signatureRandom });
  step();
  const ballotObject = new Ballot(context, signingKey.public, answers, signature);
  const secretsObject = new BallotSecrets(secretChoices, secretBits);
  const ballot = ballotObject.toJSON();
  return {
    ballot,
    secrets: secretsObject.toJSON(),
    ballotObject,
    secretsObject,
    contentDigest,
    tracker: digestJson(ballot),
  };
}

/**
 * A score question's option (§5.5): `E = Enc(score; r)` and a disjunctive proof with tag `score`
 * and values [0 … S]. Draws `r`, then the proof's nonces (§5.3). Returns `{ciphertext, r, proof}`.
 */
export function encryptScoreWithProof({ question, key, context, score, binding, rand = randomScalar }) {
  if (!Number.isInteger(score) || score < 0 || score > question.maxScore) {
    throw new InvalidBallot(`a score is an integer from 0 to ${question.maxScore}`);
  }
  const { ciphertext, r } = encrypt(key, score, { r: draw(rand) });
  const proof = proveMembership({
    tag: Tag.SCORE,
    context,
    key,
    ciphertexts: [ciphertext],
    randomness: r,
    plaintext: score,
    values: question.choiceValues,
    binding,
    rand,
  });
  return { ciphertext, r, proof };
}

/**
 * Bits of d = budget − total encrypted with randomness chosen so that
 * Σ 2ʲ·Bⱼ + Σ costᵢ·Eᵢ = (O, budget·G) exactly (§7.4). Draws ρ₁ … ρ_{κ−1} (again if ρ₀ = 0), then
 * each bit's proof nonces.
 */
function proveBudget(question, key, context, credentialHex, qi, picks, rs, rand, step) {
  const k = question.budgetBits;
  const spent = picks.reduce((t, x, i) => t + x * question.costs[i], 0);
  const d = BigInt(question.budget - spent);
  if (d < 0n || d >= 1n << BigInt(k)) throw new InvalidBallot('the selected options cost more than the budget');
  const costR = question.costs.reduce((t, c, i) => t + BigInt(c) * rs[i], 0n);
  let rhos;
  for (;;) {
    rhos = [0n];
    for (let j = 1; j < k; j++) rhos.push(draw(rand));
    const rho0 = mod(-(costR + rhos.reduce((t, rho, j) => t + (1n << BigInt(j)) * rho, 0n)));
    if (rho0 !== 0n) {
      rhos[0] = rho0;
      break;
    }
  }
  const bits = [];
  const proofs = [];
  const bitRs = [];
  for (let j = 0; j < k; j++) {
    const { ciphertext, r, proof } = encryptBitWithProof({
      tag: Tag.BUDGET_BIT,
      context,
      key,
      bit: Number((d >> BigInt(j)) & 1n),
      binding: { bit: j, credential: credentialHex, question: qi },
      rand,
      randomness: rhos[j],
    });
    bits.push(ciphertext);
    proofs.push(proof);
    bitRs.push(r);
    step();
  }
  return { budgetProof: new BudgetProof(bits, proofs), bitRs };
}

// --- Verification --------------------------------------------------------------------------------

function asBallot(ballot) {
  return ballot instanceof Ballot ? ballot : Ballot.fromJSON(ballot);
}

/** Structure against the election: fingerprint, number of questions, options, proofs, bits. */
export function checkBallotShape(ballot, spec) {
  if (ballot.election !== spec.fingerprint) {
    throw new InvalidBallot('the ballot is for another election (fingerprint mismatch)');
  }
  if (ballot.answers.length !== spec.questions.length) {
    throw new InvalidBallot(`expected ${spec.questions.length} answers, got ${ballot.answers.length}`);
  }
  ballot.answers.forEach((answer, qi) => {
    const question = spec.questions[qi];
    const where = `question ${qi + 1}`;
    if (answer.choices.length !== question.encryptedOptions) {
      throw new InvalidBallot(`${where}: expected ${question.encryptedOptions} ciphertexts, got ${answer.choices.length}`);
    }
    const branches = question.choiceValues.length;
    answer.choiceProofs.forEach((proof, oi) => {
      if (proof.commitments.length !== branches) {
        throw new InvalidBallot(`${where} option ${oi + 1}: expected a proof with ${branches} branches`);
      }
    });
    const values = question.sumValues;
    if (values === null && answer.sumProof !== null) throw new InvalidBallot(`${where}: unexpected sum proof`);
    if (values !== null && (answer.sumProof === null || answer.sumProof.commitments.length !== values.length)) {
      throw new InvalidBallot(`${where}: missing or malformed sum proof`);
    }
    if (question.budget === null && answer.budgetProof !== null) throw new InvalidBallot(`${where}: unexpected budget proof`);
    if (question.budget !== null && (answer.budgetProof === null || answer.budgetProof.bits.length !== question.budgetBits)) {
      throw new InvalidBallot(`${where}: missing or malformed budget proof`);
    }
  });
}

/**
 * Verify a ballot (JSON value or Ballot) against the election (§7.7): strict decoding, shape,
 * every proof and the signature. Throws (InvalidEncoding, InvalidBallot, InvalidProof…) on the
 * first failure; returns `{contentDigest, tracker}` otherwise.
 */
export function verifyBallot(ballotValue, spec, { batch = null } = {}) {
  const ballot = asBallot(ballotValue);
  checkBallotShape(ballot, spec);
  const ownBatch = batch === null;
  const b = ownBatch ? new BatchVerifier() : batch;
  const { key, fingerprint: context } = spec;
  const credentialHex = pointToHex(ballot.credential);
  ballot.answers.forEach((answer, qi) => {
    const question = spec.questions[qi];
    const where = `question ${qi + 1}`;
    const what = question.maxScore === null ? 'selection proof' : 'score proof (0 … S)';
    answer.choices.forEach((ct, oi) => {
      verifyMembership(answer.choiceProofs[oi], {
        tag: question.choiceTag,
        context,
        key,
        ciphertexts: [ct],
        values: question.choiceValues,
        binding: selectionBinding(credentialHex, qi, oi),
        batch: b,
        label: `${where} option ${oi + 1}: ${what}`,
      });
    });
    if (answer.sumProof !== null) {
      verifyMembership(answer.sumProof, {
        tag: Tag.SUM,
        context,
        key,
        ciphertexts: answer.choices,
        values: question.sumValues,
        binding: { credential: credentialHex, question: qi },
        batch: b,
        label: `${where}: sum proof (min/max selections)`,
      });
    }
    if (answer.budgetProof !== null) verifyBudget(answer, question, key, context, credentialHex, qi, b, where);
  });
  const contentDigest = ballot.contentDigest();
  verifySignature(ballot.signature, {
    publicPoint: ballot.credential,
    message: contentDigest,
    context,
    batch: b,
    label: 'credential signature',
  });
  if (ownBatch) b.verify();
  return { contentDigest, tracker: ballot.tracker() };
}

function verifyBudget(answer, question, key, context, credentialHex, qi, batch, where) {
  const proof = answer.budgetProof;
  proof.bits.forEach((ct, j) => {
    verifyMembership(proof.bitProofs[j], {
      tag: Tag.BUDGET_BIT,
      context,
      key,
      ciphertexts: [ct],
      values: BIT_VALUES,
      binding: { bit: j, credential: credentialHex, question: qi },
      batch,
      label: `${where}: budget proof bit ${j}`,
    });
  });
  // Σ 2^j·B_j + Σ cost_i·E_i = (O, budget·G)
  const alphaTerms = proof.bits.map((ct, j) => [1n << BigInt(j), ct.alpha]);
  const betaTerms = proof.bits.map((ct, j) => [1n << BigInt(j), ct.beta]);
  question.costs.forEach((cost, i) => {
    if (cost) {
      alphaTerms.push([BigInt(cost), answer.choices[i].alpha]);
      betaTerms.push([BigInt(cost), answer.choices[i].beta]);
    }
  });
  const label = `${where}: budget proof (total cost within the budget)`;
  batch.add(label, 0n, alphaTerms);
  batch.add(label, -BigInt(question.budget), betaTerms);
}

/** One ciphertext per option, deriving the omitted last one of an exact-count question (§7.2). */
export function answerCiphertexts(answer, question) {
  if (!question.implicitLast) return answer.choices;
  const listed = Ciphertext.sum(answer.choices);
  const derived = new Ciphertext(listed.alpha.negate(), mulBase(BigInt(question.max)).subtract(listed.beta));
  return [...answer.choices, derived];
}

// --- Benaloh audit (§7.8) ------------------------------------------------------------------------

/** The plaintext m ∈ [0, top] of `ct` under randomness `r` (top = 1, or S of a score question). */
function open(ct, r, key, where, top = 1) {
  if (!mulBase(r).equals(ct.alpha)) throw new InvalidProof(`audit: ${where}: the randomness does not reproduce α`);
  const mPoint = ct.beta.subtract(key.mul(r));
  if (mPoint.is0()) return 0;
  let step = G;
  for (let m = 1; m <= top; m++) {
    if (mPoint.equals(step)) return m;
    step = step.add(G);
  }
  if (top === 1) throw new InvalidProof(`audit: ${where}: the ciphertext does not encrypt 0 or 1`);
  throw new InvalidProof(`audit: ${where}: the ciphertext does not encrypt a score from 0 to ${top}`);
}

/**
 * Check that the revealed randomness reproduces every ciphertext; return the plaintexts (per
 * question, one 0/1 per option, the implied last option of exact-count questions included).
 * Throws InvalidProof if a ciphertext is not (r·G, m·G + r·K) with m ∈ {0, 1}.
 */
export function auditBallot(ballotValue, spec, secretsValue) {
  const ballot = asBallot(ballotValue);
  const secrets = secretsValue instanceof BallotSecrets ? secretsValue : BallotSecrets.fromJSON(secretsValue);
  checkBallotShape(ballot, spec);
  if (secrets.choices.length !== ballot.answers.length) {
    throw new InvalidProof('audit: randomness for a different number of questions');
  }
  return ballot.answers.map((answer, qi) => {
    const rs = secrets.choices[qi];
    const bitRs = secrets.bits[qi];
    if (rs.length !== answer.choices.length) {
      throw new InvalidProof(`audit: question ${qi + 1}: wrong number of randomness values`);
    }
    const question = spec.questions[qi];
    const top = question.maxScore ?? 1;
    const opened = answer.choices.map((ct, oi) => open(ct, rs[oi], spec.key, `question ${qi + 1} option ${oi + 1}`, top));
    if (question.implicitLast) {
      const implied = question.max - opened.reduce((a, b) => a + b, 0);
      if (implied !== 0 && implied !== 1) {
        throw new InvalidProof(`audit: question ${qi + 1}: the implied last option is ${implied}`);
      }
      opened.push(implied);
    }
    if (answer.budgetProof !== null) {
      if (bitRs === null || bitRs.length !== answer.budgetProof.bits.length) {
        throw new InvalidProof(`audit: question ${qi + 1}: missing budget randomness`);
      }
      answer.budgetProof.bits.forEach((ct, j) => open(ct, bitRs[j], spec.key, `question ${qi + 1} budget bit ${j}`));
    }
    return opened;
  });
}

/** The ballot's tracker (digest of the canonical ballot JSON, §7.6). */
export function ballotTracker(ballotValue) {
  return asBallot(ballotValue).tracker();
}

/** The ballot's content digest (digest of the ballot without its signature, §7.6). */
export function ballotContentDigest(ballotValue) {
  return asBallot(ballotValue).contentDigest();
}

/** Canonical JSON text of the ballot (what the board stores). */
export function ballotCanonicalText(ballotValue) {
  return canonicalJsonText(asBallot(ballotValue).toJSON());
}
