// Sending a cast ballot again when its answer was lost (issue 10; docs/faults.md).
//
// A ballot may reach the board while its answer never reaches the browser: the web worker died
// after the commit, the connection broke, a proxy timed out. Casting is idempotent — the server
// answers the very same ballot sent again with the receipt of the entry already on the board
// (200) — so the booth sends the same bytes again after no answer or a 5xx (a 503 during a
// database outage carries Retry-After), waiting longer each time, and shows the receipt that
// finally comes. Any other answer (a 4xx) is final and goes to the page's error handling.
// tests/faults/kit.py send_until_answered does the same in Python, for the fault tests and
// bench/faults.py.

import { ApiError } from './api.mjs';

/** The booth's casting: 8 tries over about 20 s, then the page says what went wrong. */
export const CAST_RETRY = Object.freeze({ attempts: 8, firstWaitMs: 500, capWaitMs: 4000 });
/** A cast that has had no answer for this long is taken as lost and sent again. */
export const CAST_TIMEOUT_MS = 45000;

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether sending the same request again may help: no answer at all, or a server error. */
export function retryable(exc) {
  return exc instanceof ApiError && (exc.status === 0 || exc.status >= 500);
}

/**
 * Call `send()` (an async function) until it resolves, at most `attempts` times. After a
 * retryable failure wait `firstWaitMs`, doubled each time up to `capWaitMs`, or the answer's
 * Retry-After when longer (still at most `capWaitMs`); `onRetry({attempt, next, attempts, waitMs,
 * error})` is told before each wait. Resolves to what `send` resolved to; rejects with the last
 * error once the tries are used up, or at once with an error that is not retryable.
 */
export async function sendUntilAnswered(
  send,
  { attempts = CAST_RETRY.attempts, firstWaitMs = CAST_RETRY.firstWaitMs, capWaitMs = CAST_RETRY.capWaitMs, onRetry = () => {}, sleep = pause } = {},
) {
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('attempts must be a positive integer');
  let wait = firstWaitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (exc) {
      if (!retryable(exc) || attempt >= attempts) throw exc;
      let waitMs = wait;
      const retryAfter = Number(exc.retryAfter);
      if (Number.isFinite(retryAfter) && retryAfter > 0) waitMs = Math.min(capWaitMs, Math.max(wait, retryAfter * 1000));
      onRetry({ attempt, next: attempt + 1, attempts, waitMs, error: exc });
      await sleep(waitMs);
      wait = Math.min(capWaitMs, wait * 2);
    }
  }
}
