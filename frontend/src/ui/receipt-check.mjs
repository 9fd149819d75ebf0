// Checking a board receipt in this browser, for the booth (right after casting or auditing) and
// the "check my ballot" page (a downloaded receipt file).
//
// The key to trust is the `board_key` of the election's genesis entry (fetched through the public
// board API, its hash recomputed here), not /api/board-key alone: both are fetched and must agree.
// A receipt that fails is the server's fault — it signed it — and the page offers the evidence as
// a JSON file: the receipt, the genesis entry, the /api/board-key answer, what failed, and the
// exact signed message, so that anyone can check it again offline (docs/protocol.md §11.9).

import { RECEIPT_TAG, boardKeyFromGenesis, checkReceipt, receiptMessage, verifyReceipt } from '../booth.mjs';
import { apiCall } from './api.mjs';
import { el, offerJsonDownload, setContent } from './dom.mjs';
import { t } from './i18n.mjs';

/** The genesis entry of the election's board and the /api/board-key answer (both public). */
export async function loadBoardKeys({ boardUrl, boardKeyUrl }) {
  const separator = boardUrl.includes('?') ? '&' : '?';
  const [page, boardKeyApi] = await Promise.all([
    apiCall('GET', `${boardUrl}${separator}limit=1`),
    apiCall('GET', boardKeyUrl),
  ]);
  return { genesis: Array.isArray(page?.results) ? (page.results[0] ?? null) : null, boardKeyApi };
}

/**
 * Judge a receipt against the genesis entry and the served board key; pure.
 * `expected` ({election, kind, tracker}) is what the booth sent, when it knows.
 * Returns {ok, failures: [code…], boardKey} — codes: genesis_invalid, board_key_mismatch,
 * receipt_malformed, receipt_mismatch, signature_invalid.
 */
export function judgeReceipt({ receipt, genesis, boardKeyApi, electionId, expected = null }) {
  const failures = [];
  let boardKey = null;
  try {
    boardKey = boardKeyFromGenesis(genesis, electionId);
  } catch {
    failures.push('genesis_invalid');
  }
  if (boardKey !== null && boardKeyApi?.public_key !== boardKey) failures.push('board_key_mismatch');
  let wellFormed = true;
  try {
    checkReceipt(receipt);
  } catch {
    wellFormed = false;
    failures.push('receipt_malformed');
  }
  if (
    wellFormed &&
    expected &&
    (receipt.election !== expected.election || receipt.kind !== expected.kind || receipt.tracker !== expected.tracker)
  ) {
    failures.push('receipt_mismatch');
  }
  if (wellFormed && boardKey !== null) {
    try {
      verifyReceipt(receipt, boardKey);
    } catch {
      failures.push('signature_invalid');
    }
  }
  return { ok: failures.length === 0, failures, boardKey };
}

/** The sentence shown for a failure (translated). */
export function failureText(code) {
  switch (code) {
    case 'genesis_invalid':
      return t('The first entry of this election’s board, which publishes the board key, is malformed or does not match its hash.');
    case 'board_key_mismatch':
      return t('The server announces a board key that differs from the one in the first entry of this election’s board.');
    case 'receipt_malformed':
      return t('The receipt does not have the form of a Pnyx receipt.');
    case 'receipt_mismatch':
      return t('The receipt does not describe the ballot this browser sent (another election, kind or tracker).');
    case 'signature_invalid':
      return t('The signature on the receipt does not verify with the board key of this election’s first board entry.');
    case 'server_denies':
      return t('The server says that its own signature on this receipt is not valid, although it verifies with its board key.');
    case 'not_on_board':
      return t('The receipt carries the board’s signature, but its ballot is not on the board.');
    default:
      return t('Something went wrong. Please try again in a moment.');
  }
}

function hexOf(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The evidence file's content: everything needed to check the failure again, offline. */
export function receiptEvidence({ receipt, genesis, boardKeyApi, electionId, expected = null, failures, boardKey }) {
  let signedMessage = null;
  try {
    signedMessage = hexOf(receiptMessage(checkReceipt(receipt)));
  } catch {
    signedMessage = null;
  }
  return {
    kind: 'pnyx-receipt-evidence',
    version: 1,
    checked_at: new Date().toISOString(),
    page: `${window.location.origin}${window.location.pathname}`,
    election: electionId,
    failures: failures.map((code) => ({ code, message: failureText(code) })),
    receipt,
    expected,
    genesis_entry: genesis,
    board_key_from_genesis: boardKey,
    board_key_api: boardKeyApi,
    receipt_domain: RECEIPT_TAG,
    signed_message_hex: signedMessage,
  };
}

/** What a valid signature means, said on the page. */
export function verifiedText(boardKey) {
  return t('Checked in this browser: the server’s signature on this receipt is valid. It was made with the board key published in the first entry of this election’s board (%(key)s…).', {
    key: boardKey.slice(0, 16),
  });
}

/**
 * Show the verdict in `box` (a .result-box with role=status) and, on failure, a link offering
 * the evidence. `intro` is the failure's first sentence for this page. Sets box.dataset.ok.
 */
export function showVerdict(box, { judgement, evidence, intro, filename }) {
  box.hidden = false;
  box.dataset.ok = String(judgement.ok);
  if (judgement.ok) {
    setContent(box, el('p', {}, verifiedText(judgement.boardKey)));
    return;
  }
  const link = el('a', { class: 'button', href: '#', download: filename }, t('Download the evidence (JSON)'));
  offerJsonDownload(link, filename, evidence);
  setContent(
    box,
    el('h3', {}, t('The server is at fault')),
    el('p', {}, intro),
    el('ul', {}, judgement.failures.map((code) => el('li', {}, failureText(code)))),
    el('p', {}, t('Keep this evidence and give it to the election officials or the observers: it lets anyone check what went wrong.')),
    el('p', {}, link),
  );
}

/** Say that the receipt could not be checked now (the board could not be reached). */
export function showUnchecked(box) {
  box.hidden = false;
  box.dataset.ok = 'unknown';
  setContent(
    box,
    el('p', {}, t('The receipt could not be checked in this browser: the board could not be reached. Download the receipt and check it later on the “Check my ballot” page.')),
  );
}
