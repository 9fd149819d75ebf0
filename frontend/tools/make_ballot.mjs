#!/usr/bin/env node
// Make a ballot with real randomness, for cross-language checks (tests/test_js_interop.py).
//
//   node frontend/tools/make_ballot.mjs < request.json > response.json
//
// Request (JSON on stdin), one of:
//   {"spec": {"fingerprint", "public_key", "questions": [{"options","min","max","costs","budget"}…]},
//    "election_uuid": "…", "credential": "<code>", "choices": [[0|1…]…]}
//   {"manifest": {…§10 manifest…}, "credential": "<code>", "choices": [[…]…]}
// Response (JSON on stdout):
//   {"ballot", "secrets", "tracker", "content_digest", "fingerprint", "progress_steps"}
// On failure: {"error": {"name", "message"}} on stdout and exit status 2.

import { readFileSync } from 'node:fs';
import { ElectionSpec, encryptBallot, verifyBallot } from '../src/ballot.mjs';
import { specFromManifest } from '../src/manifest.mjs';
import { parseJson } from '../src/hashing.mjs';
import { expectObject } from '../src/json.mjs';

function main() {
  const request = parseJson(readFileSync(0));
  let spec;
  if (request && typeof request === 'object' && 'manifest' in request) {
    expectObject(request, ['manifest', 'credential', 'choices'], 'request');
    spec = specFromManifest(request.manifest);
  } else {
    expectObject(request, ['spec', 'election_uuid', 'credential', 'choices'], 'request');
    spec = ElectionSpec.fromJSON(request.spec, { electionUuid: request.election_uuid });
  }
  let steps = 0;
  const out = encryptBallot(spec, request.credential, request.choices, { onProgress: ({ done }) => { steps = done; } });
  verifyBallot(out.ballot, spec);
  return {
    ballot: out.ballot,
    secrets: out.secrets,
    tracker: out.tracker,
    content_digest: out.contentDigest,
    fingerprint: spec.fingerprint,
    progress_steps: steps,
  };
}

try {
  process.stdout.write(JSON.stringify(main()) + '\n');
} catch (exc) {
  process.stdout.write(JSON.stringify({ error: { name: exc?.name ?? 'Error', message: exc?.message ?? String(exc) } }) + '\n');
  process.exitCode = 2;
}
