// The booth does no key ceremony, but observers' pages verify the published records: every proof
// of tests/vectors/threshold.json must verify with the JavaScript verifiers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadVector, clone } from '../support/vectors.mjs';
import { G, mulBase, pointFromHex, pointToHex, pointToHexAllowIdentity, scalarFromHex, scalarToHex, mod } from '../src/group.mjs';
import { digestJson } from '../src/hashing.mjs';
import { DleqProof, SchnorrProof, verifyDleq, verifyKnowledge } from '../src/proofs.mjs';
import {
  combinePartialDecryptions, lagrangeCoefficients, registrationContext, verifyPartialDecryption, verifyTrusteeKey,
} from '../src/observer.mjs';
import { InvalidEncoding, InvalidProof } from '../src/errors.mjs';

const V = loadVector('threshold.json');

test('threshold: trustee registrations verify', () => {
  for (const t of V.trustees) verifyTrusteeKey(t, V.election);
  const bad = clone(V.trustees[0]);
  bad.index = 2;
  assert.throws(() => verifyTrusteeKey(bad, V.election), InvalidProof);
  assert.throws(() => verifyTrusteeKey(V.trustees[0], '3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b12'), InvalidProof);
  assert.throws(() => registrationContext(V.election.toUpperCase()), InvalidEncoding);
  V.trustee_secrets.forEach((y, i) => assert.equal(pointToHex(mulBase(scalarFromHex(y))), V.trustees[i].public_key));
});

test('threshold: ceremony context, commitments and coefficient proofs', () => {
  const context = digestJson({
    election: V.election,
    threshold: V.threshold,
    trustees: V.trustees.map((t) => ({ index: t.index, public_key: t.public_key })),
    version: 1,
  });
  assert.equal(context, V.ceremony_context);
  V.deals.forEach((deal, i) => {
    assert.equal(digestJson({ coefficients: deal.coefficients, proofs: deal.proofs }), V.commitments[i].digest);
    deal.coefficients.forEach((C, k) => {
      verifyKnowledge(SchnorrProof.fromJSON(deal.proofs[k]), {
        publicPoint: pointFromHex(C),
        context,
        binding: { coefficient: k, dealer: deal.dealer, purpose: 'dkg-coefficient' },
      });
      assert.throws(() => verifyKnowledge(SchnorrProof.fromJSON(deal.proofs[k]), {
        publicPoint: pointFromHex(C),
        context,
        binding: { coefficient: k + 1, dealer: deal.dealer, purpose: 'dkg-coefficient' },
      }), InvalidProof);
    });
  });
  // election key = Σ Cᵢ₀; verification keys Xⱼ = Σᵢ Σₖ jᵏ·Cᵢₖ; shares match them
  const K = V.deals.map((d) => pointFromHex(d.coefficients[0])).reduce((a, b) => a.add(b));
  assert.equal(pointToHex(K), V.election_key);
  for (const [j, X] of Object.entries(V.verification_keys)) {
    let acc = null;
    for (const d of V.deals) {
      d.coefficients.forEach((C, k) => {
        const term = pointFromHex(C).multiplyUnsafe(BigInt(Number(j) ** k));
        acc = acc === null ? term : acc.add(term);
      });
    }
    assert.equal(pointToHex(acc), X);
    assert.equal(pointToHex(mulBase(scalarFromHex(V.shares[j]))), X);
  }
});

test('threshold: confirmations (proofs of knowledge of the shares) verify', () => {
  for (const c of V.confirmations) {
    assert.equal(c.verification_key, V.verification_keys[c.trustee]);
    const args = {
      publicPoint: pointFromHex(c.verification_key),
      context: V.ceremony_context,
      binding: { purpose: 'dkg-confirmation', qualified: c.qualified, trustee: c.trustee },
    };
    verifyKnowledge(SchnorrProof.fromJSON(c.proof), args);
    assert.throws(() => verifyKnowledge(SchnorrProof.fromJSON(c.proof), { ...args, binding: { ...args.binding, qualified: [1, 2] } }), InvalidProof);
  }
});

test('threshold: the complaint DLEQ (revealed shared point) verifies', () => {
  const c = V.complaint_unjustified;
  const deal = V.deals[c.dealer - 1];
  const args = {
    base1: G,
    value1: pointFromHex(V.trustees[c.complainer - 1].public_key),
    base2: pointFromHex(deal.shares[c.complainer - 1].ephemeral),
    value2: pointFromHex(c.shared_point),
    context: V.ceremony_context,
    binding: { complainer: c.complainer, dealer: c.dealer, purpose: 'dkg-complaint' },
  };
  verifyDleq(DleqProof.fromJSON(c.proof), args);
  assert.throws(() => verifyDleq(DleqProof.fromJSON(c.proof), { ...args, value2: args.value2.add(G) }), InvalidProof);
});

test('threshold: partial decryptions verify with the DLEQ verifier (identity position included)', () => {
  for (const [j, partial] of Object.entries(V.partial_decryptions)) {
    const { shares } = verifyPartialDecryption(partial, {
      verificationKey: V.verification_keys[j],
      ciphertexts: V.ciphertexts,
      context: V.context,
    });
    assert.equal(shares.length, V.ciphertexts.length);
    assert.equal(partial.shares[3], '00');
    assert.equal(partial.proofs[3].commitment2, '00');
    // each proof on its own with the plain DLEQ verifier
    partial.proofs.forEach((proof, position) => {
      verifyDleq(DleqProof.fromJSON(proof), {
        base1: G,
        value1: pointFromHex(V.verification_keys[j]),
        base2: pointFromHex(V.ciphertexts[position].alpha, { allowIdentity: true }),
        value2: pointFromHex(partial.shares[position], { allowIdentity: true }),
        context: V.context,
        binding: { position, purpose: 'partial-decryption', trustee: Number(j) },
      });
    });
  }
});

test('threshold: tampered partial decryptions are rejected', () => {
  const [j, partial] = Object.entries(V.partial_decryptions)[0];
  const args = { verificationKey: V.verification_keys[j], ciphertexts: V.ciphertexts, context: V.context };
  const cases = {
    share: (p) => { p.shares[1] = pointToHex(pointFromHex(p.shares[1]).add(G)); },
    'identity share': (p) => { p.shares[1] = '00'; },
    response: (p) => { p.proofs[2].response = scalarToHex(mod(BigInt('0x' + p.proofs[2].response) + 1n)); },
    commitment1: (p) => { p.proofs[0].commitment1 = pointToHex(pointFromHex(p.proofs[0].commitment1).add(G)); },
    commitment2: (p) => { p.proofs[0].commitment2 = pointToHex(pointFromHex(p.proofs[0].commitment2).add(G)); },
    'swapped shares': (p) => { [p.shares[0], p.shares[1]] = [p.shares[1], p.shares[0]]; [p.proofs[0], p.proofs[1]] = [p.proofs[1], p.proofs[0]]; },
    trustee: (p) => { p.trustee = 2; },
    'missing share': (p) => { p.shares.pop(); p.proofs.pop(); },
  };
  for (const [name, fn] of Object.entries(cases)) {
    const p = clone(partial);
    fn(p);
    assert.throws(() => verifyPartialDecryption(p, args), (e) => e instanceof InvalidProof || e instanceof InvalidEncoding, name);
  }
  assert.throws(() => verifyPartialDecryption(partial, { ...args, verificationKey: V.verification_keys['2'] }), InvalidProof);
  assert.throws(() => verifyPartialDecryption(partial, { ...args, context: '0'.repeat(64) }), InvalidProof);
});

test('threshold: combining two partial decryptions gives the plaintext points', () => {
  const partials = Object.fromEntries(
    Object.entries(V.partial_decryptions).map(([j, p]) => [j, p.shares.map((d) => pointFromHex(d, { allowIdentity: true }))]),
  );
  const points = combinePartialDecryptions(V.ciphertexts, partials, V.threshold);
  assert.deepEqual(points.map(pointToHexAllowIdentity), V.plaintext_points);
  V.plaintexts.forEach((m, i) => assert.ok(m === 0 ? points[i].is0() : points[i].equals(mulBase(BigInt(m)))));
  const l = lagrangeCoefficients([1, 3]);
  assert.equal(mod(l[1] + l[3]), 1n); // Σ λⱼ = 1 (f constant)
});
