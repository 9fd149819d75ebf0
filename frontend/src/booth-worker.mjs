// The booth's Web Worker (bundled into static/booth/booth-worker.js, started as a module worker
// by createBoothWorker). Messages: {id, op, ...}; replies {id, ok, result | error} and, while
// encrypting, {id, progress: {done, total}}. The credential code arrives in a message, is used
// once and is not kept; nothing is logged.

import { auditBallot, describeError, encryptBallot, loadElection, verifyBallot } from './booth.mjs';

let spec = null;

function needSpec() {
  if (spec === null) throw new Error('no election loaded: send {op: "load", manifest} first');
  return spec;
}

const handlers = {
  load({ manifest }) {
    spec = loadElection(manifest);
    return { fingerprint: spec.fingerprint, electionUuid: spec.electionUuid };
  },
  encrypt({ id, credential, choices, selfCheck = true }) {
    return encryptBallot(needSpec(), credential, choices, {
      selfCheck,
      onProgress: (progress) => self.postMessage({ id, progress }),
    });
  },
  verify({ ballot }) {
    return verifyBallot(ballot, needSpec());
  },
  audit({ ballot, secrets }) {
    return auditBallot(ballot, needSpec(), secrets);
  },
};

self.addEventListener('message', (event) => {
  const data = event.data || {};
  const { id, op } = data;
  const handler = Object.prototype.hasOwnProperty.call(handlers, op) ? handlers[op] : null;
  try {
    if (!handler) throw new Error(`unknown operation ${String(op)}`);
    self.postMessage({ id, ok: true, result: handler(data) });
  } catch (exc) {
    self.postMessage({ id, ok: false, error: describeError(exc) });
  }
});
