// Main-thread client of the booth's Web Worker (booth-worker.mjs): the same operations as
// booth.mjs, off the main thread so the page stays responsive while a ballot is encrypted.
//
//   const booth = createBoothWorker(new URL('booth-worker.js', import.meta.url));
//   await booth.load(manifestText);
//   const {ballot, secrets, tracker} = await booth.encrypt(code, choices, {onProgress});

/**
 * `worker`: a Worker, or the URL of the worker bundle (started as a module worker).
 * Returns `{load, encrypt, verify, audit, terminate}`, each returning a Promise. Errors reject
 * with an Error whose `name` is the booth's error class (InvalidBallot, InvalidCredential…).
 */
export function createBoothWorker(worker) {
  const w = typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
  let nextId = 1;
  const pending = new Map();
  w.addEventListener('message', (event) => {
    const { id, progress, ok, result, error } = event.data || {};
    const entry = pending.get(id);
    if (!entry) return;
    if (progress) {
      if (entry.onProgress) entry.onProgress(progress);
      return;
    }
    pending.delete(id);
    if (ok) entry.resolve(result);
    else {
      const err = new Error(error?.message ?? 'booth worker error');
      err.name = error?.name ?? 'Error';
      entry.reject(err);
    }
  });
  w.addEventListener('error', (event) => {
    const err = new Error(event.message || 'booth worker failed');
    for (const entry of pending.values()) entry.reject(err);
    pending.clear();
  });
  function call(op, args, onProgress = null) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, onProgress });
      w.postMessage({ id, op, ...args });
    });
  }
  return {
    load: (manifest) => call('load', { manifest }),
    encrypt: (credential, choices, { onProgress = null, selfCheck = true } = {}) =>
      call('encrypt', { credential, choices, selfCheck }, onProgress),
    verify: (ballot) => call('verify', { ballot }),
    audit: (ballot, secrets) => call('audit', { ballot, secrets }),
    terminate: () => {
      w.terminate();
      const err = new Error('booth worker terminated');
      for (const entry of pending.values()) entry.reject(err);
      pending.clear();
    },
  };
}
