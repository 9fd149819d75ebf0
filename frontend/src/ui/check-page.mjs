// "Check my ballot" (/e/<slug>/check, templates/voting/check.html): the tracker search is a plain
// form; this script adds the check of a downloaded receipt file. The receipt's signature is
// checked here, in the browser, with the board key of the election's genesis entry (and that key
// compared with /api/board-key: receipt-check.mjs); then the server says whether its ballot is on
// the board (POST …/receipts/verify/). A receipt that fails, or a server that contradicts it, is
// shown as the server's fault with the evidence to download.

import { ApiError, apiCall } from './api.mjs';
import { byId, el, setContent } from './dom.mjs';
import { errorMessage, loadCatalogue, t } from './i18n.mjs';
import { checkProofReceipt, isProofReceipt } from './proof-check.mjs';
import { judgeReceipt, loadBoardKeys, receiptEvidence, showUnchecked, showVerdict, verifiedText } from './receipt-check.mjs';

const root = byId('receipt-check');
loadCatalogue(root);
root.hidden = false;
const electionId = root.dataset.electionId;
let keys = null;

function where(receipt, answer) {
  if (receipt.kind === 'audit') {
    return t('The receipt is genuine. It is the receipt of an audited ballot, which is never counted.');
  }
  if (answer.superseded_by) {
    return t('The receipt is genuine and its ballot is on the board, but a later ballot with the same credential replaced it.');
  }
  return t('The receipt is genuine and its ballot is on the board: it is the one that counts.');
}

function refuse(box, message) {
  box.dataset.ok = 'false';
  setContent(box, el('p', {}, message));
}

async function checkProof(box, text) {
  let verdict;
  try {
    verdict = await checkProofReceipt(text, { boardUrl: root.dataset.boardUrl, electionId });
  } catch (exc) {
    if (exc instanceof ApiError) {
      refuse(box, errorMessage(exc.code));
      return;
    }
    if (exc?.code === 'other_election') {
      refuse(box, t('This receipt is for another election: check it on that election’s page.'));
      return;
    }
    box.dataset.ok = 'false';
    const evidence = new Blob([text], { type: 'text/plain' });
    setContent(
      box,
      el('p', {}, t('This receipt does not check out: %(reason)s', { reason: String(exc?.message ?? exc) })),
      el('p', {}, t('If this file is the receipt the booth gave you, unchanged, the server issued a receipt that does not check out.')),
      el('p', {}, el('a', { href: URL.createObjectURL(evidence), download: 'pnyx-receipt-evidence.txt' }, t('Download the evidence (text)'))),
    );
    return;
  }
  box.dataset.ok = 'true';
  const witnessed = verdict.witnesses
    ? t('The latest checkpoint (%(size)s entries) extends it and is witnessed by %(k)s of %(m)s (quorum %(q)s).', {
        size: verdict.latestSize, k: verdict.cosigned, m: verdict.witnesses, q: verdict.quorum,
      })
    : t('The latest checkpoint (%(size)s entries) extends it; this election names no witnesses.', { size: verdict.latestSize });
  setContent(
    box,
    el('p', {}, t('This receipt proves, in your browser, that entry #%(seq)s is in the board signed by this election’s board key (%(n)s entries at the time).', {
      seq: verdict.entry.seq, n: verdict.receiptSize,
    })),
    el('p', {}, witnessed),
    el('p', {}, el('a', { href: root.dataset.entryUrl.replace(/0$/, String(verdict.entry.seq)) }, t('See the entry on the board'))),
  );
}

async function check(file) {
  const box = byId('receipt-result');
  box.hidden = false;
  const text = await file.text();
  if (isProofReceipt(text)) {
    await checkProof(box, text);
    return;
  }
  let receipt;
  try {
    receipt = JSON.parse(text);
  } catch {
    receipt = null;
  }
  if (!receipt || typeof receipt !== 'object' || Array.isArray(receipt)) {
    refuse(box, errorMessage('invalid_receipt'));
    return;
  }
  if (receipt.election !== electionId) {
    refuse(box, t('This receipt is for another election: check it on that election’s page.'));
    return;
  }
  try {
    keys ??= await loadBoardKeys({ boardUrl: root.dataset.boardUrl, boardKeyUrl: root.dataset.boardKeyUrl });
  } catch {
    showUnchecked(box);
    return;
  }
  const filename = `pnyx-receipt-evidence-${String(receipt.tracker).slice(0, 12)}.json`;
  const blame = (judgement, intro) =>
    showVerdict(box, {
      judgement,
      intro,
      filename,
      evidence: receiptEvidence({ receipt, ...keys, electionId, ...judgement }),
    });
  const judgement = judgeReceipt({ receipt, ...keys, electionId });
  if (!judgement.ok) {
    blame(judgement, t('If this file is the receipt the booth gave you, unchanged, the server issued a receipt that does not check out.'));
    return;
  }
  let answer;
  try {
    answer = await apiCall('POST', root.dataset.verifyUrl, receipt);
  } catch (exc) {
    refuse(box, errorMessage(exc instanceof ApiError ? exc.code : 'unexpected'));
    return;
  }
  const genuine = t('This receipt is genuine: its signature verifies with the board key of this election.');
  if (!answer.signature_valid) {
    blame({ ...judgement, ok: false, failures: ['server_denies'] }, genuine);
    return;
  }
  if (!answer.on_board) {
    blame({ ...judgement, ok: false, failures: ['not_on_board'] }, genuine);
    return;
  }
  box.dataset.ok = 'true';
  setContent(
    box,
    el('p', {}, verifiedText(judgement.boardKey)),
    el('p', {}, where(receipt, answer)),
    el('p', {}, el('a', { href: root.dataset.entryUrl.replace(/0$/, String(receipt.seq)) }, t('See the entry on the board'))),
  );
}

byId('receipt-file').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (file) check(file);
});
