// Booth benchmark: encrypt + prove a 20-option approval ballot (min 0, max 5, 5 chosen) in Node.
// Prints one JSON object. The booth's goal in headless Chromium is ≤ 300 ms for node_encrypt20_ms.
//
//   node bench.mjs            (or: npm run bench)

import { ElectionSpec, QuestionSpec, encryptBallot, verifyBallot } from './src/ballot.mjs';
import { deriveSigningKey, generateCode } from './src/credentials.mjs';
import { ElectionKey } from './src/elgamal.mjs';
import { mulBase, randomScalar } from './src/group.mjs';
import { digestJson } from './src/hashing.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const UUID = '3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const round = (x) => Math.round(x * 10) / 10;

let t = performance.now();
const key = new ElectionKey(mulBase(randomScalar()));
key.precompute();
const precomputeMs = performance.now() - t;

const spec = new ElectionSpec({
  fingerprint: digestJson({ bench: 'approval-20' }),
  key,
  questions: [new QuestionSpec({ options: 20, min: 0, max: 5 })],
  electionUuid: UUID,
});
const code = generateCode();
t = performance.now();
const signingKey = deriveSigningKey(code, UUID);
const deriveMs = performance.now() - t;

function choices() {
  const picks = Array(20).fill(0);
  const order = [...Array(20).keys()].sort(() => Math.random() - 0.5);
  for (const i of order.slice(0, 5)) picks[i] = 1;
  return [picks];
}

t = performance.now();
const first = encryptBallot(spec, signingKey, choices());
const coldMs = performance.now() - t;

const encryptTimes = [];
const verifyTimes = [];
let bytes = 0;
for (let i = 0; i < RUNS; i++) {
  const c = choices();
  t = performance.now();
  const out = encryptBallot(spec, signingKey, c);
  encryptTimes.push(performance.now() - t);
  t = performance.now();
  verifyBallot(out.ballotObject, spec);
  verifyTimes.push(performance.now() - t);
  bytes = JSON.stringify(out.ballot).length;
}
t = performance.now();
verifyBallot(first.ballot, spec); // from JSON, strict decoding included
const verifyJsonMs = performance.now() - t;

console.log(
  JSON.stringify({
    node_encrypt20_ms: round(median(encryptTimes)),
    node_encrypt20_min_ms: round(Math.min(...encryptTimes)),
    node_encrypt20_first_ms: round(coldMs),
    node_verify20_ms: round(median(verifyTimes)),
    node_verify20_from_json_ms: round(verifyJsonMs),
    node_key_precompute_ms: round(precomputeMs),
    node_credential_derive_ms: round(deriveMs),
    ballot_json_bytes: bytes,
    runs: RUNS,
    node: process.version,
  }),
);
