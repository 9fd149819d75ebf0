// The built bundles (static/booth/*.js, `npm run build`) and the worker message protocol.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadVector, replayRand, hexToBytes, sampleManifest } from '../support/vectors.mjs';

const V = loadVector('ballots.json');
const BUNDLE = new URL('../../static/booth/booth.js', import.meta.url);
const WORKER_BUNDLE = new URL('../../static/booth/booth-worker.js', import.meta.url);
const built = existsSync(fileURLToPath(BUNDLE)) && existsSync(fileURLToPath(WORKER_BUNDLE));

function vectorSpec(booth) {
  return booth.ElectionSpec.fromJSON(
    { ...V.spec, questions: V.spec.questions.map(({ label, ...q }) => q) },
    { electionUuid: V.election_uuid },
  );
}

async function checkBooth(booth) {
  const spec = vectorSpec(booth);
  const out = booth.encryptBallot(spec, V.credential_code, V.choices, {
    rand: replayRand(V.nonces),
    signatureRandom: hexToBytes(V.signature_random),
  });
  assert.equal(out.tracker, V.tracker);
  assert.deepEqual(out.ballot, V.ballot);
  assert.deepEqual(out.secrets, V.audit);
  assert.equal(out.contentDigest, V.content_digest);
  assert.equal(booth.verifyBallot(V.ballot, spec).tracker, V.tracker);
  assert.deepEqual(booth.auditBallot(V.ballot, spec, V.audit), V.choices);
  assert.equal(booth.ballotTracker(V.ballot), V.tracker);
  // error classes keep their names after minification
  try {
    booth.encryptBallot(spec, V.credential_code, [[1, 1, 1, 1, 1]]);
    assert.fail('accepted bad choices');
  } catch (exc) {
    assert.equal(exc.name, 'InvalidBallot');
    assert.ok(exc instanceof booth.InvalidBallot);
    assert.ok(exc instanceof booth.CryptoError);
  }
  assert.deepEqual(booth.checkCode('nvxxn-tovam-hnl23-xo73k'), { ok: true, code: V.credential_code });
  assert.equal(booth.checkCode('nvxxn-tovam-hnl23-xo73j').ok, false);
  assert.equal(booth.checkSupport().ok, true);
  assert.equal(
    booth.credentialPublicKey(V.credential_code, V.election_uuid),
    V.ballot.credential,
  );
}

test('booth.mjs (sources) exposes the booth API', async () => {
  await checkBooth(await import('../src/booth.mjs'));
});

test('static/booth/booth.js (bundle) reproduces the vector ballot', { skip: !built && 'bundle not built: npm run build' }, async () => {
  await checkBooth(await import(BUNDLE.href));
});

/** A fake Worker pair in one thread: the worker module sees `self`, the client a Worker-like object. */
function workerPair() {
  const toWorker = new EventTarget();
  const toClient = new EventTarget();
  const send = (target, data) =>
    queueMicrotask(() => target.dispatchEvent(Object.assign(new Event('message'), { data: structuredClone(data) })));
  globalThis.self = {
    addEventListener: (type, fn) => toWorker.addEventListener(type, fn),
    postMessage: (data) => send(toClient, data),
  };
  const worker = {
    addEventListener: (type, fn) => toClient.addEventListener(type, fn),
    postMessage: (data) => send(toWorker, data),
    terminate() {},
  };
  return worker;
}

async function checkWorker(workerUrl, booth) {
  const worker = workerPair();
  await import(workerUrl);
  const client = booth.createBoothWorker(worker);
  const points = [11n, 12n, 13n, 14n].map((k) => booth.pointToHex(booth.ElectionKey.fromJSON(V.spec.public_key).mulPublic(k)));
  const manifest = sampleManifest({ key: V.spec.public_key, points });
  const loaded = await client.load(JSON.stringify(manifest));
  assert.equal(loaded.fingerprint, booth.digestJson(manifest));
  assert.equal(loaded.electionUuid, manifest.election.uuid);
  const choices = [[1, 0], [0, 0, 1], [0, 1, 1, 1], [1, 0, 1]];
  const progress = [];
  const out = await client.encrypt('NVXXN-T0VAM-HN123-X073K', choices, { onProgress: (p) => progress.push(p.done) });
  assert.equal(progress.at(-1), progress.length - 1);
  assert.equal(progress.length - 1, (1 + 1) + (3 + 1) + (4 + 1) + (3 + 7) + 1);
  assert.equal(out.credential, V.ballot.credential);
  assert.equal((await client.verify(out.ballot)).tracker, out.tracker);
  assert.deepEqual(await client.audit(out.ballot, out.secrets), choices);
  await assert.rejects(client.encrypt('NVXXN-T0VAM-HN123-X073J', choices), { name: 'InvalidCredential' });
  await assert.rejects(client.encrypt(V.credential_code, [[1, 1], ...choices.slice(1)]), { name: 'InvalidBallot' });
  const tampered = structuredClone(out.ballot);
  tampered.signature.response = tampered.signature.response.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await assert.rejects(client.verify(tampered), { name: 'InvalidSignature' });
  delete globalThis.self;
}

test('worker protocol (sources): load, encrypt with progress, verify, audit, errors', async () => {
  await checkWorker(new URL('../src/booth-worker.mjs', import.meta.url).href, await import('../src/booth.mjs'));
});

test('worker protocol (bundles)', { skip: !built && 'bundle not built: npm run build' }, async () => {
  await checkWorker(WORKER_BUNDLE.href + '?bundle', await import(BUNDLE.href));
});
