// The booth's resending of a cast ballot (src/ui/retry.mjs): after no answer or a 5xx the very
// same bytes go again, waiting longer each time (or the server's Retry-After), and the receipt
// that finally comes is the result; a 4xx is final. The last tests run apiCall against a real
// HTTP server on this machine that drops the first answer, as a web worker dying after its
// commit does. tests/e2e/test_booth_retry.py does the same in Chromium against the real server.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ApiError, apiCall } from '../src/ui/api.mjs';
import { CAST_RETRY, retryable, sendUntilAnswered } from '../src/ui/retry.mjs';

function scripted(outcomes) {
  const calls = [];
  const send = async () => {
    calls.push(calls.length);
    const next = outcomes[Math.min(calls.length - 1, outcomes.length - 1)];
    if (next instanceof Error) throw next;
    return next;
  };
  return { send, calls };
}

function recorder() {
  const waits = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

const lost = () => new ApiError(0, 'network_error');
const unavailable = (retryAfter = null) => new ApiError(503, 'service_unavailable', null, retryAfter);

test('what is worth sending again: no answer and 5xx only', () => {
  assert.ok(retryable(lost()));
  assert.ok(retryable(unavailable()));
  assert.ok(retryable(new ApiError(502, 'unexpected')));
  assert.ok(retryable(new ApiError(500, 'internal_error')));
  for (const status of [400, 403, 404, 409, 413, 429]) assert.ok(!retryable(new ApiError(status, 'x')));
  assert.ok(!retryable(new TypeError('a bug in the page')));
});

test('sends again after lost answers and 5xx, with doubling waits up to the cap, then the receipt', async () => {
  const receipt = { seq: 7, tracker: 'ab' };
  const { send, calls } = scripted([lost(), unavailable(), lost(), lost(), lost(), receipt]);
  const { waits, sleep } = recorder();
  const retries = [];
  const got = await sendUntilAnswered(send, { sleep, onRetry: (r) => retries.push([r.attempt, r.next, r.attempts]) });
  assert.equal(got, receipt);
  assert.equal(calls.length, 6);
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000]);
  assert.deepEqual(retries.map((r) => r[1]), [2, 3, 4, 5, 6]);
  assert.ok(retries.every((r) => r[2] === CAST_RETRY.attempts));
});

test('a Retry-After longer than the wait is honoured, within the cap', async () => {
  const { send } = scripted([unavailable(2), unavailable(60), unavailable(0), 'ok']);
  const { waits, sleep } = recorder();
  assert.equal(await sendUntilAnswered(send, { sleep }), 'ok');
  assert.deepEqual(waits, [2000, 4000, 2000]);
});

test('a 4xx or a bug is final: one try, that error', async () => {
  for (const error of [new ApiError(409, 'duplicate_ballot'), new ApiError(403, 'forbidden'), new TypeError('bug')]) {
    const { send, calls } = scripted([error, 'never']);
    const { waits, sleep } = recorder();
    await assert.rejects(sendUntilAnswered(send, { sleep }), (exc) => exc === error);
    assert.equal(calls.length, 1);
    assert.deepEqual(waits, []);
  }
});

test('gives up after the tries with the last error; one try means no resending', async () => {
  const last = unavailable();
  const { send, calls } = scripted([lost(), lost(), last]);
  const { waits, sleep } = recorder();
  await assert.rejects(sendUntilAnswered(send, { attempts: 3, sleep }), (exc) => exc === last);
  assert.equal(calls.length, 3);
  assert.equal(waits.length, 2);
  const once = scripted([lost(), 'late']);
  await assert.rejects(sendUntilAnswered(once.send, { attempts: 1, sleep }));
  assert.equal(once.calls.length, 1);
  for (const attempts of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(sendUntilAnswered(once.send, { attempts, sleep }), RangeError);
  }
});

// --- against a real HTTP server ------------------------------------------------------------------

async function serve(handler) {
  const bodies = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      bodies.push(body);
      handler(bodies.length, request, response);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/api/ballots/`, bodies, close: () => {
    server.closeAllConnections();
    server.close();
  } };
}

globalThis.document ??= { cookie: 'csrftoken=test-token' };

test('a lost answer and a 503: the same bytes are sent again and the receipt comes back', async () => {
  const receipt = { seq: 3, tracker: 'cd', entry_hash: '00' };
  const server = await serve((n, request, response) => {
    if (n === 1) return request.socket.destroy(); // the worker died after the commit
    if (n === 2) {
      response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      return response.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'later' } }));
    }
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(receipt));
  });
  try {
    const ballot = { version: 1, tracker: 'cd', questions: [[1, 0]] };
    const errors = [];
    const { waits, sleep } = recorder();
    const got = await sendUntilAnswered(() => apiCall('POST', server.url, ballot, { timeoutMs: 5000 }), {
      sleep,
      onRetry: ({ error }) => errors.push([error.status, error.code, error.retryAfter]),
    });
    assert.deepEqual(got, receipt);
    assert.deepEqual(errors, [[0, 'network_error', null], [503, 'service_unavailable', 1]]);
    assert.deepEqual(waits, [500, 1000]);
    assert.equal(server.bodies.length, 3);
    assert.ok(server.bodies.every((body) => body === JSON.stringify(ballot)));
  } finally {
    server.close();
  }
});

test('an answer that does not come within the timeout counts as lost', async () => {
  const server = await serve((n, request, response) => {
    if (n === 1) return; // never answers
    response.writeHead(201, { 'Content-Type': 'application/json' });
    response.end('{"seq": 1}');
  });
  try {
    const { sleep } = recorder();
    const started = Date.now();
    const got = await sendUntilAnswered(() => apiCall('POST', server.url, '{}', { timeoutMs: 300 }), { sleep });
    assert.deepEqual(got, { seq: 1 });
    assert.ok(Date.now() - started < 5000);
    assert.equal(server.bodies.length, 2);
  } finally {
    server.close();
  }
});
