// Zero-knowledge proofs (docs/protocol.md §5), in commitment form, with their verifiers and a
// batch verifier. Mirrors crypto/proofs/{batch,schnorr,dleq,disjunctive}.py.
//
// Provers take an injectable `rand()` returning scalars in [1, q) and draw from it in exactly
// the order of the reference implementation (tests/vectors/README.md), so fixed vectors replay.

import { pippenger, mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { CryptoError, InvalidEncoding, InvalidProof } from './errors.mjs';
import {
  G,
  O,
  Point,
  Q,
  mod,
  mulBase,
  mulSecret,
  pointFromHex,
  pointToHex,
  pointToHexAllowIdentity,
  randomBytes,
  randomScalar,
  scalarFromHex,
  scalarToHex,
  bytesToBigint,
} from './group.mjs';
import { Tag, hashToScalar } from './hashing.mjs';
import { Ciphertext } from './elgamal.mjs';
import { expectList, expectObject } from './json.mjs';

export const MAX_SET_SIZE = 1024;

/** One scalar from `rand`, checked to be in [1, q). */
export function draw(rand) {
  const k = rand();
  if (typeof k !== 'bigint' || k <= 0n || k >= Q) {
    throw new CryptoError('the random source must return bigint scalars in [1, q)');
  }
  return k;
}

// --- Group equations -----------------------------------------------------------------------------

/** `g·G + Σ c·P` (public scalars, variable time). Terms are `[coefficient (bigint), point]`. */
export function linearCombination(gCoeff, terms) {
  const points = [];
  const scalars = [];
  const g = mod(gCoeff);
  if (g !== 0n) {
    points.push(G);
    scalars.push(g);
  }
  for (const [c, point] of terms) {
    const s = mod(c);
    if (s === 0n || point.is0()) continue;
    points.push(point);
    scalars.push(s);
  }
  if (points.length === 0) return O;
  return points.length <= 16 ? mulAddUnsafe(Point, points, scalars) : pippenger(Point, points, scalars);
}

/** Check one equation `g·G + Σ c·P = O` on its own. */
export function checkEquation(label, gCoeff, terms, ErrorClass = InvalidProof) {
  if (!linearCombination(gCoeff, terms).is0()) {
    throw new ErrorClass(`${label}: verification equation does not hold`);
  }
}

function randomWeight() {
  // uniform in [1, 2^128)
  for (;;) {
    const rho = bytesToBigint(randomBytes(16));
    if (rho !== 0n) return rho;
  }
}

/**
 * Collects equations `g·G + Σ c·P = O`, weights the i-th by a fresh random 128-bit ρᵢ and checks
 * `Σ ρᵢ·(equationᵢ) = O` with one multi-scalar multiplication, merging the terms of a point
 * (by identity) that occurs in several equations (§5.4). On failure the equations are checked one
 * by one so that the error names the failing proof.
 */
export class BatchVerifier {
  constructor() {
    this.reset();
  }

  reset() {
    this._g = 0n;
    this._acc = new Map();
    this._equations = [];
  }

  get length() {
    return this._equations.length;
  }

  add(label, gCoeff, terms, ErrorClass = InvalidProof) {
    this._equations.push([label, gCoeff, terms, ErrorClass]);
    const rho = randomWeight();
    this._g += rho * gCoeff;
    for (const [c, point] of terms) {
      const prev = this._acc.get(point);
      this._acc.set(point, prev === undefined ? rho * c : prev + rho * c);
    }
  }

  verify() {
    if (this._equations.length === 0) return;
    const terms = [...this._acc].map(([point, c]) => [c, point]);
    if (linearCombination(this._g, terms).is0()) return;
    for (const [label, g, t, ErrorClass] of this._equations) checkEquation(label, g, t, ErrorClass);
    throw new InvalidProof('batch verification failed'); // probability 2^-128
  }
}

function queue(batch, label, g, terms, ErrorClass = InvalidProof) {
  if (batch) batch.add(label, g, terms, ErrorClass);
  else checkEquation(label, g, terms, ErrorClass);
}

// --- Schnorr proof of knowledge (§5.1) -----------------------------------------------------------

export class SchnorrProof {
  constructor(commitment, response) {
    this.commitment = commitment; // R = w·G
    this.response = response; // z = w + c·x
    Object.freeze(this);
  }

  toJSON() {
    return { commitment: pointToHex(this.commitment), response: scalarToHex(this.response) };
  }

  static fromJSON(value, what = 'proof') {
    const obj = expectObject(value, ['commitment', 'response'], what);
    return new SchnorrProof(
      pointFromHex(obj.commitment, { what: `${what}.commitment` }),
      scalarFromHex(obj.response, { what: `${what}.response` }),
    );
  }
}

function pokChallenge(context, publicPoint, binding, commitment) {
  return hashToScalar(
    Tag.POK,
    context,
    { binding, public: pointToHex(publicPoint) },
    { commitment: pointToHex(commitment) },
  );
}

/** Prove knowledge of `secret` for `public = secret·G` (draws `w`). */
export function proveKnowledge(secret, { context, binding, publicPoint = null, rand = randomScalar }) {
  const X = publicPoint ?? mulBase(secret);
  const w = draw(rand);
  const R = mulBase(w);
  const c = pokChallenge(context, X, binding, R);
  return new SchnorrProof(R, mod(w + c * secret));
}

export function verifyKnowledge(proof, { publicPoint, context, binding, batch = null, label = 'proof of knowledge' }) {
  if (publicPoint.is0()) throw new InvalidProof(`${label}: the public value is the identity`);
  const c = pokChallenge(context, publicPoint, binding, proof.commitment);
  queue(batch, label, proof.response, [[-c, publicPoint], [-1n, proof.commitment]]);
}

// --- Chaum–Pedersen equality of discrete logs (§5.2) ---------------------------------------------

export class DleqProof {
  constructor(commitment1, commitment2, response) {
    this.commitment1 = commitment1; // a₁ = w·B₁
    this.commitment2 = commitment2; // a₂ = w·B₂ (may be the identity)
    this.response = response; // z = w + c·x
    Object.freeze(this);
  }

  toJSON() {
    return {
      commitment1: pointToHex(this.commitment1),
      commitment2: pointToHexAllowIdentity(this.commitment2),
      response: scalarToHex(this.response),
    };
  }

  static fromJSON(value, what = 'proof') {
    const obj = expectObject(value, ['commitment1', 'commitment2', 'response'], what);
    return new DleqProof(
      pointFromHex(obj.commitment1, { what: `${what}.commitment1` }),
      pointFromHex(obj.commitment2, { allowIdentity: true, what: `${what}.commitment2` }),
      scalarFromHex(obj.response, { what: `${what}.response` }),
    );
  }
}

function dleqChallenge(context, base1, value1, base2, value2, binding, a1, a2) {
  const statement = {
    base1: pointToHex(base1),
    base2: pointToHexAllowIdentity(base2),
    binding,
    value1: pointToHex(value1),
    value2: pointToHexAllowIdentity(value2),
  };
  const commitments = { commitment1: pointToHex(a1), commitment2: pointToHexAllowIdentity(a2) };
  return hashToScalar(Tag.DLEQ, context, statement, commitments);
}

/** Prove `log_{B₁} V₁ = log_{B₂} V₂ = secret` (draws `w`). */
export function proveDleq(secret, { base1, base2, context, binding, value1 = null, value2 = null, rand = randomScalar }) {
  const V1 = value1 ?? mulSecret(base1, secret);
  const V2 = value2 ?? mulSecret(base2, secret);
  const w = draw(rand);
  const a1 = mulSecret(base1, w);
  const a2 = mulSecret(base2, w);
  const c = dleqChallenge(context, base1, V1, base2, V2, binding, a1, a2);
  return new DleqProof(a1, a2, mod(w + c * secret));
}

export function verifyDleq(proof, { base1, value1, base2, value2, context, binding, batch = null, label = 'equality proof' }) {
  if (base1.is0() || value1.is0()) {
    throw new InvalidProof(`${label}: the first base and value must be real points`);
  }
  const c = dleqChallenge(context, base1, value1, base2, value2, binding, proof.commitment1, proof.commitment2);
  const z = proof.response;
  if (base1 === G || base1.equals(G)) {
    queue(batch, label, z, [[-c, value1], [-1n, proof.commitment1]]);
  } else {
    queue(batch, label, 0n, [[z, base1], [-c, value1], [-1n, proof.commitment1]]);
  }
  queue(batch, label, 0n, [[z, base2], [-c, value2], [-1n, proof.commitment2]]);
}

// --- Disjunctive proof: a sum of ciphertexts encrypts a value of a set (§5.3) -------------------

export class DisjunctiveProof {
  constructor(commitments, challenges, responses) {
    this.commitments = commitments; // [[aⱼ, bⱼ], …]
    this.challenges = challenges; // cⱼ, summing to the Fiat–Shamir challenge
    this.responses = responses; // vⱼ
    Object.freeze(this);
  }

  toJSON() {
    return {
      commitments: this.commitments.map(([a, b]) => [pointToHex(a), pointToHex(b)]),
      challenges: this.challenges.map(scalarToHex),
      responses: this.responses.map(scalarToHex),
    };
  }

  static fromJSON(value, what = 'proof', size = null) {
    const obj = expectObject(value, ['commitments', 'challenges', 'responses'], what);
    const commitments = expectList(obj.commitments, `${what}.commitments`, { length: size, minLength: 1 });
    if (commitments.length > MAX_SET_SIZE) throw new InvalidEncoding(`${what}: too many branches`);
    const k = commitments.length;
    const pairs = commitments.map((pair, j) => {
      const p = expectList(pair, `${what}.commitments[${j}]`, { length: 2 });
      return [
        pointFromHex(p[0], { what: `${what}.commitments[${j}][0]` }),
        pointFromHex(p[1], { what: `${what}.commitments[${j}][1]` }),
      ];
    });
    const challenges = expectList(obj.challenges, `${what}.challenges`, { length: k });
    const responses = expectList(obj.responses, `${what}.responses`, { length: k });
    return new DisjunctiveProof(
      pairs,
      challenges.map((c, j) => scalarFromHex(c, { what: `${what}.challenges[${j}]` })),
      responses.map((v, j) => scalarFromHex(v, { what: `${what}.responses[${j}]` })),
    );
  }
}

export function checkValues(values) {
  const vals = [...values];
  if (vals.length === 0 || vals.length > MAX_SET_SIZE) {
    throw new CryptoError('the value set of a disjunctive proof has 1 to 1024 elements');
  }
  for (let i = 0; i < vals.length; i++) {
    if (!Number.isSafeInteger(vals[i]) || vals[i] < 0 || (i > 0 && vals[i] <= vals[i - 1])) {
      throw new CryptoError('the value set must be strictly increasing non-negative integers');
    }
  }
  return vals;
}

function membershipStatement(key, ciphertexts, values, binding) {
  return {
    binding,
    ciphertexts: ciphertexts.map((c) => [pointToHex(c.alpha), pointToHex(c.beta)]),
    public_key: key.hex,
    values: [...values],
  };
}

function membershipChallenge(tag, context, statement, commitments) {
  return hashToScalar(tag, context, statement, {
    commitments: commitments.map(([a, b]) => [pointToHex(a), pointToHex(b)]),
  });
}

/**
 * Prove that `Σ ciphertexts` (total randomness `randomness`) encrypts `plaintext ∈ values`.
 * Draws, for j = 0 … k−1 in order: `w` for the real branch, `cⱼ` then `vⱼ` for the others.
 */
export function proveMembership({ tag, context, key, ciphertexts, randomness, plaintext, values, binding, rand = randomScalar }) {
  const vals = checkValues(values);
  const real = vals.indexOf(plaintext);
  if (real < 0) throw new CryptoError('the plaintext is not in the proven set');
  const r = randomness;
  const commitments = [];
  const challenges = [];
  const responses = [];
  let w = 0n;
  for (let j = 0; j < vals.length; j++) {
    if (j === real) {
      w = draw(rand);
      commitments.push([mulBase(w), key.mul(w)]);
      challenges.push(0n);
      responses.push(0n);
    } else {
      const c = draw(rand);
      const v = draw(rand);
      const t = mod(v - c * r);
      let b = key.mul(t);
      const shift = mod(c * BigInt(vals[j] - plaintext));
      if (shift !== 0n) b = b.add(mulBase(shift));
      commitments.push([mulBase(t), b]);
      challenges.push(c);
      responses.push(v);
    }
  }
  const statement = membershipStatement(key, ciphertexts, vals, binding);
  const cTotal = membershipChallenge(tag, context, statement, commitments);
  const cReal = mod(cTotal - challenges.reduce((a, b) => a + b, 0n));
  challenges[real] = cReal;
  responses[real] = mod(w + cReal * r);
  return new DisjunctiveProof(commitments, challenges, responses);
}

/**
 * Encrypt `bit` ∈ {0, 1} and prove it (values [0, 1]) in one pass: the hot path of ballot
 * encryption. Draws `r` (unless `randomness` is given), then for bit 0: `w, c₁, v₁`; for bit 1:
 * `c₀, v₀, w`. Returns `{ciphertext, r, proof}`.
 */
export function encryptBitWithProof({ tag, context, key, bit, binding, rand = randomScalar, randomness = null }) {
  if (bit !== 0 && bit !== 1) throw new CryptoError('a bit is 0 or 1');
  const r = randomness === null ? draw(rand) : randomness;
  if (typeof r !== 'bigint' || r <= 0n || r >= Q) throw new CryptoError('encryption randomness must be in [1, q)');
  const alpha = mulBase(r);
  let beta = key.mul(r);
  if (bit) beta = beta.add(G);
  let w, c, v;
  if (bit === 0) {
    w = draw(rand);
    c = draw(rand);
    v = draw(rand);
  } else {
    c = draw(rand);
    v = draw(rand);
    w = draw(rand);
  }
  const t = mod(v - c * r);
  const realPair = [mulBase(w), key.mul(w)];
  // simulated branch s = 1 − bit: b = t·K + c·(s − bit)·G
  const simPair = [mulBase(t), key.mul(t).add(mulBase(bit === 0 ? c : Q - c))];
  const commitments = bit === 0 ? [realPair, simPair] : [simPair, realPair];
  const ciphertext = new Ciphertext(alpha, beta);
  const statement = {
    binding,
    ciphertexts: [[pointToHex(alpha), pointToHex(beta)]],
    public_key: key.hex,
    values: [0, 1],
  };
  const cTotal = membershipChallenge(tag, context, statement, commitments);
  const cReal = mod(cTotal - c);
  const vReal = mod(w + cReal * r);
  const proof =
    bit === 0
      ? new DisjunctiveProof(commitments, [cReal, c], [vReal, v])
      : new DisjunctiveProof(commitments, [c, cReal], [v, vReal]);
  return { ciphertext, r, proof };
}

/** Check a disjunctive proof; with `batch`, queue its group equations there. */
export function verifyMembership(proof, { tag, context, key, ciphertexts, values, binding, batch = null, label = 'membership proof' }) {
  const vals = checkValues(values);
  if (proof.commitments.length !== vals.length || proof.challenges.length !== vals.length || proof.responses.length !== vals.length) {
    throw new InvalidProof(`${label}: expected ${vals.length} branches, got ${proof.commitments.length}`);
  }
  const statement = membershipStatement(key, ciphertexts, vals, binding);
  const cTotal = membershipChallenge(tag, context, statement, proof.commitments);
  if (mod(proof.challenges.reduce((a, b) => a + b, 0n)) !== cTotal) {
    throw new InvalidProof(`${label}: the challenges do not add up to the Fiat–Shamir challenge`);
  }
  const K = key.point;
  for (let j = 0; j < vals.length; j++) {
    const [a, b] = proof.commitments[j];
    const c = proof.challenges[j];
    const v = proof.responses[j];
    const eqA = ciphertexts.map((ct) => [-c, ct.alpha]);
    eqA.push([-1n, a]);
    const eqB = ciphertexts.map((ct) => [-c, ct.beta]);
    eqB.push([v, K]);
    eqB.push([-1n, b]);
    queue(batch, label, v, eqA);
    queue(batch, label, c * BigInt(vals[j]), eqB);
  }
}
