// "Check my ballot" (/e/<slug>/check, templates/voting/check.html): the tracker search is a plain
// form; this script adds the check of a downloaded receipt file. It reads the file in the
// browser and asks the server (POST …/receipts/verify/) whether the receipt carries this
// board's signature and whether its ballot is on the board. (Receipts can also be checked
// offline with the board key: docs/protocol.md §11.)

import { ApiError, apiCall } from './api.mjs';
import { byId, el, setContent } from './dom.mjs';
import { errorMessage, loadCatalogue, t } from './i18n.mjs';

const root = byId('receipt-check');
loadCatalogue(root);
root.hidden = false;

function verdict(receipt, answer) {
  if (!answer.signature_valid) {
    return { ok: false, text: t('The signature is not valid: this receipt was not issued by this board, or it was changed.') };
  }
  if (!answer.on_board) {
    return {
      ok: false,
      text: t('Warning: this receipt carries the board’s signature, but its ballot is not on the board. Keep the file and tell the election officials.'),
    };
  }
  if (receipt.kind === 'audit') {
    return { ok: true, text: t('The receipt is genuine. It is the receipt of an audited ballot, which is never counted.') };
  }
  if (answer.superseded_by) {
    return { ok: true, text: t('The receipt is genuine and its ballot is on the board, but a later ballot with the same credential replaced it.') };
  }
  return { ok: true, text: t('The receipt is genuine and its ballot is on the board: it is the one that counts.') };
}

async function check(file) {
  const box = byId('receipt-result');
  box.hidden = false;
  let receipt;
  try {
    receipt = JSON.parse(await file.text());
  } catch {
    receipt = null;
  }
  if (!receipt || typeof receipt !== 'object' || Array.isArray(receipt)) {
    box.dataset.ok = 'false';
    setContent(box, el('p', {}, errorMessage('invalid_receipt')));
    return;
  }
  let answer;
  try {
    answer = await apiCall('POST', root.dataset.verifyUrl, receipt);
  } catch (exc) {
    box.dataset.ok = 'false';
    setContent(box, el('p', {}, errorMessage(exc instanceof ApiError ? exc.code : 'unexpected')));
    return;
  }
  const { ok, text } = verdict(receipt, answer);
  box.dataset.ok = String(ok);
  const children = [el('p', {}, text)];
  if (answer.on_board && typeof receipt.seq === 'number') {
    children.push(
      el('p', {}, el('a', { href: root.dataset.entryUrl.replace(/0$/, String(receipt.seq)) }, t('See the entry on the board'))),
    );
  }
  setContent(box, children);
}

byId('receipt-file').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (file) check(file);
});
