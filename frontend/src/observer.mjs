// Checks an observer's page can run on published key-ceremony and decryption records
// (docs/protocol.md §8–§9). Mirrors the verification side of crypto/threshold.py.

import { InvalidEncoding, InvalidProof } from './errors.mjs';
import { Ciphertext } from './elgamal.mjs';
import { G, Point, mod, pointFromHex } from './group.mjs';
import { digestJson } from './hashing.mjs';
import { PROTOCOL_VERSION, expectInt, expectList, expectObject, expectVersion } from './json.mjs';
import { BatchVerifier, DleqProof, SchnorrProof, linearCombination, verifyDleq, verifyKnowledge } from './proofs.mjs';
import { MAX_TRUSTEES } from './manifest.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function trusteeIndex(value, what) {
  return expectInt(value, what, 1, MAX_TRUSTEES);
}

/** Context of the trustees' registration proofs (§8.1). */
export function registrationContext(electionUuid) {
  if (typeof electionUuid !== 'string' || !UUID.test(electionUuid)) {
    throw new InvalidEncoding('the election UUID must be in lowercase hyphenated form');
  }
  return digestJson({ election: electionUuid, purpose: 'trustee-registration', version: PROTOCOL_VERSION });
}

/** Check a trustee registration `{"version", "index", "public_key", "proof"}` (§8.1). */
export function verifyTrusteeKey(value, electionUuid) {
  const obj = expectObject(value, ['version', 'index', 'public_key', 'proof'], 'trustee key');
  expectVersion(obj, 'trustee key');
  const index = trusteeIndex(obj.index, 'trustee key.index');
  verifyKnowledge(SchnorrProof.fromJSON(obj.proof, 'trustee key.proof'), {
    publicPoint: pointFromHex(obj.public_key, { what: 'trustee key.public_key' }),
    context: registrationContext(electionUuid),
    binding: { purpose: 'trustee-key', trustee: index },
    label: `trustee ${index}: key proof`,
  });
}

/**
 * Check a partial decryption `{"version", "trustee", "shares", "proofs"}` (§9.1) of `ciphertexts`
 * (JSON values `{"alpha", "beta"}`, identity allowed) under trustee j's verification key, with
 * context the election fingerprint. Throws InvalidProof naming the failing position.
 */
export function verifyPartialDecryption(value, { verificationKey, ciphertexts, context }) {
  const obj = expectObject(value, ['version', 'trustee', 'shares', 'proofs'], 'partial decryption');
  expectVersion(obj, 'partial decryption');
  const trustee = trusteeIndex(obj.trustee, 'partial decryption.trustee');
  const shares = expectList(obj.shares, 'partial decryption.shares', { minLength: 1 }).map((d, i) =>
    pointFromHex(d, { allowIdentity: true, what: `partial decryption.shares[${i}]` }),
  );
  const proofs = expectList(obj.proofs, 'partial decryption.proofs', { length: shares.length }).map((p, i) =>
    DleqProof.fromJSON(p, `partial decryption.proofs[${i}]`),
  );
  const cts = ciphertexts.map((c, i) =>
    c instanceof Ciphertext ? c : Ciphertext.fromJSON(c, `ciphertexts[${i}]`, { allowIdentity: true }),
  );
  const X = typeof verificationKey === 'string' ? pointFromHex(verificationKey, { what: 'verification key' }) : verificationKey;
  const label = `trustee ${trustee}: partial decryption`;
  if (shares.length !== cts.length) {
    throw new InvalidProof(`${label}: expected ${cts.length} shares, got ${shares.length}`);
  }
  const batch = new BatchVerifier();
  cts.forEach((ct, position) => {
    verifyDleq(proofs[position], {
      base1: G,
      value1: X,
      base2: ct.alpha,
      value2: shares[position],
      context,
      binding: { position, purpose: 'partial-decryption', trustee },
      batch,
      label: `${label} #${position}`,
    });
  });
  batch.verify();
  return { trustee, shares };
}

/** Lagrange coefficients at 0 for a set of trustee indices (§9.2): `{j: λⱼ}`. */
export function lagrangeCoefficients(indices) {
  const set = [...new Set(indices)].sort((a, b) => a - b);
  if (set.length === 0 || set[0] < 1) throw new InvalidEncoding('trustee indices are positive');
  const out = {};
  for (const j of set) {
    let num = 1n;
    let den = 1n;
    for (const m of set) {
      if (m === j) continue;
      num = mod(num * BigInt(m));
      den = mod(den * BigInt(m - j));
    }
    out[j] = mod(num * Point.Fn.inv(den));
  }
  return out;
}

/**
 * `Mₚ = Bₚ − Σ λⱼ·Dⱼₚ` from `threshold` partial decryptions (already verified), the `threshold`
 * smallest indices of `partials` ({j: [Dⱼₚ points]}), as the reference does (§9.2). Returns points.
 */
export function combinePartialDecryptions(ciphertexts, partials, threshold) {
  const indices = Object.keys(partials).map(Number).sort((a, b) => a - b);
  if (indices.length < threshold) throw new InvalidProof(`${indices.length} partial decryptions given, ${threshold} needed`);
  const chosen = indices.slice(0, threshold);
  const lambdas = lagrangeCoefficients(chosen);
  return ciphertexts.map((ct, position) => {
    const c = ct instanceof Ciphertext ? ct : Ciphertext.fromJSON(ct, `ciphertexts[${position}]`, { allowIdentity: true });
    const sum = linearCombination(0n, chosen.map((j) => [-lambdas[j], partials[j][position]]));
    return c.beta.add(sum);
  });
}
