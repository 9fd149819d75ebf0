// The public board browser (/e/<slug>/board, templates/voting/board.html): the table is
// server-rendered; this script keeps the head (seq, hash, counts by kind) live by polling
// GET …/board/head every few seconds while the page is visible, and says when new entries
// arrived since the page was loaded.

import { apiCall } from './api.mjs';
import { byId, el, setContent } from './dom.mjs';
import { loadCatalogue, t } from './i18n.mjs';

const POLL_MS = 4000;
const root = byId('board-live');
loadCatalogue(root);
const loadedSeq = Number(root.dataset.headSeq);
let timer = null;

function render(head) {
  setContent(byId('head-seq'), String(head.seq));
  setContent(byId('head-hash'), head.hash);
  setContent(byId('head-time'), head.time);
  setContent(byId('head-count'), String(head.count));
  const kinds = Object.entries(head.kinds).sort(([a], [b]) => a.localeCompare(b));
  setContent(
    byId('head-kinds'),
    kinds.flatMap(([kind, n]) => [el('dt', {}, kind), el('dd', {}, String(n))]),
  );
  const fresh = byId('head-fresh');
  if (head.seq > loadedSeq) {
    setContent(
      fresh,
      t('New entries since this page was loaded: %(n)s.', { n: head.seq - loadedSeq }),
      ' ',
      el('a', { href: window.location.pathname + window.location.search }, t('Reload the page')),
    );
    fresh.hidden = false;
  }
  root.dataset.lastSeq = String(head.seq);
}

async function poll() {
  timer = null;
  const status = byId('head-status');
  try {
    render(await apiCall('GET', root.dataset.headUrl));
    setContent(status, t('Live: checked at %(time)s.', { time: new Date().toLocaleTimeString(document.documentElement.lang) }));
  } catch {
    setContent(status, t('The board could not be reached; trying again.'));
  }
  schedule();
}

function schedule() {
  if (timer === null && !document.hidden) timer = window.setTimeout(poll, POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
  } else {
    schedule();
  }
});

root.dataset.live = 'true';
schedule();
