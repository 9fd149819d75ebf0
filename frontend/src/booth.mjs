// Pnyx booth: the public entry point of the browser-side cryptography (bundled into
// static/booth/booth.js). Everything the voting booth, the receipt page and observers' pages call.
//
// Values crossing this API are plain JSON (strings, numbers, arrays, objects), so they can also
// cross a Web Worker boundary (see booth-worker.mjs and createBoothWorker below). The credential
// code and the encryption randomness are kept in memory only, never logged, never stored.
//
//   const spec = loadElection(manifestText);               // validates, computes the fingerprint
//   const {ballot, secrets, tracker} = encryptBallot(spec, code, choices, {onProgress});
//   // cast `ballot` (its tracker is the receipt), or audit: auditBallot(ballot, spec, secrets)

import { encryptBallot as encryptBallotCore, verifyBallot as verifyBallotCore } from './ballot.mjs';
import { specFromManifest } from './manifest.mjs';
import { deriveSigningKey, normalizeCode } from './credentials.mjs';
import { InvalidBallot, InvalidCredential, CryptoError } from './errors.mjs';

export {
  auditBallot,
  answerCiphertexts,
  ballotCanonicalText,
  ballotContentDigest,
  ballotTracker,
  checkBallotShape,
  encryptionSteps,
  Ballot,
  BallotSecrets,
  ElectionSpec,
  QuestionSpec,
} from './ballot.mjs';
export { parseManifest, specFromManifest } from './manifest.mjs';
export {
  ALPHABET,
  formatCode,
  isValidCode,
  normalizeCode,
  deriveSigningKey,
} from './credentials.mjs';
export { canonicalJson, canonicalJsonText, digestJson, hashToScalar, parseJson, sha256Hex } from './hashing.mjs';
export {
  BatchVerifier,
  DisjunctiveProof,
  DleqProof,
  SchnorrProof,
  verifyDleq,
  verifyKnowledge,
  verifyMembership,
} from './proofs.mjs';
export { Signature, verifySignature } from './signature.mjs';
export { RECEIPT_TAG, boardKeyFromGenesis, checkReceipt, receiptMessage, verifyReceipt } from './receipt.mjs';
export { Ciphertext, ElectionKey } from './elgamal.mjs';
export { pointFromHex, pointToHex, scalarFromHex, scalarToHex } from './group.mjs';
export { registrationContext, verifyPartialDecryption, verifyTrusteeKey } from './observer.mjs';
export * from './errors.mjs';
export { createBoothWorker } from './worker-client.mjs';

/** The ElectionSpec of a manifest (JSON text, bytes or value); builds the key's table now. */
export function loadElection(manifest) {
  const spec = specFromManifest(manifest);
  spec.key.precompute();
  return spec;
}

/**
 * Encrypt, prove and sign a ballot; then (unless `selfCheck: false`) verify it before handing it
 * out, so that a faulty computation is caught before the voter sees a tracker.
 *
 * `credential`: the voter's code as typed (normalised here). `choices`: per question, 0/1 (or
 * booleans) per option. `onProgress({done, total})` is called after each option's proof.
 * Returns plain JSON: `{ballot, secrets, tracker, contentDigest, credential}` (`credential` is the
 * public key). `secrets` is the randomness for a Benaloh audit: show it only if the voter audits.
 */
export function encryptBallot(spec, credential, choices, { onProgress = null, selfCheck = true, rand, signatureRandom } = {}) {
  const opts = { onProgress };
  if (rand !== undefined) opts.rand = rand;
  if (signatureRandom !== undefined) opts.signatureRandom = signatureRandom;
  const out = encryptBallotCore(spec, credential, choices, opts);
  if (selfCheck) {
    // from the JSON, so that the encoding is checked too (strict decoding, as the server will)
    const { tracker } = verifyBallotCore(out.ballot, spec);
    if (tracker !== out.tracker) throw new CryptoError('self-check failed: tracker mismatch');
  }
  return {
    ballot: out.ballot,
    secrets: out.secrets,
    tracker: out.tracker,
    contentDigest: out.contentDigest,
    credential: out.ballot.credential,
  };
}

/** Verify a ballot JSON value against the election; throws, or returns `{tracker, contentDigest}`. */
export function verifyBallot(ballot, spec) {
  return verifyBallotCore(ballot, spec);
}

/** The public key (hex) of a credential code in an election, e.g. to show the voter's identity. */
export function credentialPublicKey(code, electionUuid) {
  return deriveSigningKey(code, electionUuid).publicHex;
}

/**
 * Check a typed code without deriving anything: `{ok: true, code}` (normalised) or
 * `{ok: false, message}` for live feedback in the form.
 */
export function checkCode(text) {
  try {
    return { ok: true, code: normalizeCode(text) };
  } catch (exc) {
    if (exc instanceof InvalidCredential) return { ok: false, message: exc.message };
    throw exc;
  }
}

/** The browser features the booth needs; `{ok, missing: [...]}`. */
export function checkSupport() {
  const missing = [];
  if (typeof BigInt !== 'function') missing.push('BigInt');
  if (!globalThis.crypto || typeof globalThis.crypto.getRandomValues !== 'function') missing.push('crypto.getRandomValues');
  if (typeof TextEncoder !== 'function') missing.push('TextEncoder');
  return { ok: missing.length === 0, missing };
}

/** Plain `{name, message}` of an error (for the UI or a worker message). */
export function describeError(exc) {
  return { name: exc?.name ?? 'Error', message: exc?.message ?? String(exc), invalidBallot: exc instanceof InvalidBallot };
}
