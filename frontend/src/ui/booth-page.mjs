// The voting booth (/e/<slug>/vote, templates/booth/booth.html): log in, enter the credential,
// answer, encrypt in a Web Worker, then audit (Benaloh challenge, docs/protocol.md §7.8) or cast.
//
// The server renders every step as a hidden <section> and the questions as a form; this script
// shows one step at a time, moves the focus to its heading, validates answers live and talks to
// the API. Secrets (the credential code, the encryption randomness) stay in this page's memory
// and the worker's; they are never stored, logged or sent, except the randomness of an audited
// ballot, which the voter chooses to publish.

import { checkSupport, createBoothWorker } from '../booth.mjs';
import { ApiError, apiCall } from './api.mjs';
import { CAST_TIMEOUT_MS, sendUntilAnswered } from './retry.mjs';
import {
  choiceVector,
  describeChoice,
  questionRules,
  questionState,
  sameChoices,
  serverPlaintexts,
  setLocale,
} from './choices.mjs';
import { credentialFeedback, displayCode, takeCredentialFromFragment } from './credential.mjs';
import { byId, el, offerJsonDownload, setContent } from './dom.mjs';
import { errorMessage, loadCatalogue, t } from './i18n.mjs';
import { checkProofReceipt } from './proof-check.mjs';
import { judgeReceipt, loadBoardKeys, receiptEvidence, showUnchecked, showVerdict } from './receipt-check.mjs';

// The fragment goes first, before anything can fail or navigate.
const fragmentCredential = takeCredentialFromFragment();

const root = byId('booth');
loadCatalogue(root);
setLocale(document.documentElement.lang);
const urls = root.dataset;
const STEPS = ['start', 'login', 'credential', 'questions', 'encrypt', 'review', 'audit', 'receipt'];
const baseTitle = document.title;

const state = {
  election: null, // the API's election detail (manifest included)
  questions: [], // manifest questions
  worker: null,
  loaded: null, // Promise of the worker's manifest load
  loginAs: null, // {email} or {identifier}
  code: null, // normalised credential code (memory only)
  choices: null, // [[0|1…]…] as last submitted
  encrypted: null, // {ballot, secrets, tracker} not yet cast or audited
  boardKeys: null, // Promise of {genesis, boardKeyApi}: the receipts are checked against them
  busy: false,
};

// --- Steps, messages, focus ---------------------------------------------------------------------

function show(step, { focus = true } = {}) {
  for (const name of STEPS) {
    const section = document.getElementById(`step-${name}`);
    if (section) section.hidden = name !== step;
  }
  for (const item of root.querySelectorAll('[data-step-indicator]')) {
    const names = item.dataset.stepIndicator.split(' ');
    if (names.includes(step)) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  }
  clearError(step);
  const heading = document.querySelector(`#step-${step} h2`);
  if (heading) {
    document.title = `${heading.textContent.trim()} — ${baseTitle}`;
    if (focus) heading.focus();
  }
}

function stepError(step) {
  return document.querySelector(`#step-${step} .step-error`);
}

function clearError(step) {
  const box = stepError(step);
  if (box) {
    setContent(box);
    box.hidden = true;
  }
}

/** Show a message in the step's alert box (announced by screen readers). */
function showError(step, message) {
  const box = stepError(step);
  if (!box) return;
  setContent(box, el('p', {}, message));
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

function setStatus(message) {
  setContent(byId('booth-status'), message);
}

function apiErrorText(exc) {
  if (exc instanceof ApiError) return errorMessage(exc.code);
  return t('Something went wrong in this page. Reload it and try again.');
}

async function busy(buttons, action) {
  if (state.busy) return;
  state.busy = true;
  for (const button of buttons) button.setAttribute('aria-disabled', 'true');
  try {
    await action();
  } finally {
    state.busy = false;
    for (const button of buttons) button.removeAttribute('aria-disabled');
  }
}

/**
 * What an API error means for the journey: back to the login step (session over), to the
 * credential step (credential not on the list), or an error shown where the voter is.
 */
function handleApiError(exc, step) {
  const code = exc instanceof ApiError ? exc.code : null;
  if (code === 'not_authenticated' || code === 'authentication_failed') {
    goLogin();
    showError('login', errorMessage(code));
    return;
  }
  if (
    code === 'unknown_credential' ||
    code === 'invalid_signature' ||
    code === 'credential_mismatch' ||
    code === 'credential_taken'
  ) {
    goCredential();
    showError('credential', errorMessage(code));
    byId('credential').focus();
    return;
  }
  if (code === 'revote_rate_limited') {
    const seconds = Number(exc.details?.retry_after);
    showError(
      step,
      Number.isFinite(seconds) && seconds > 0
        ? t('You have changed your vote many times in a short while. You can vote again in %(minutes)s min.', {
            minutes: Math.ceil(seconds / 60),
          })
        : errorMessage(code),
    );
    return;
  }
  if (code === 'election_not_open' || code === 'outside_voting_window') {
    showError(step, errorMessage(code));
    for (const button of root.querySelectorAll(`#step-${step} button`)) button.disabled = true;
    return;
  }
  showError(step, apiErrorText(exc));
}

// --- Start --------------------------------------------------------------------------------------

async function start() {
  show('start', { focus: false });
  const support = checkSupport();
  if (!support.ok || typeof Worker !== 'function') {
    showError('start', t('This browser lacks features the booth needs. Please use an up-to-date browser.'));
    return;
  }
  try {
    state.election = await apiCall('GET', urls.electionUrl);
  } catch (exc) {
    showError('start', apiErrorText(exc));
    return;
  }
  const manifest = state.election.manifest;
  if (state.election.state !== 'open' || !manifest) {
    showError('start', errorMessage('election_not_open'));
    return;
  }
  state.questions = manifest.questions;
  state.worker = createBoothWorker(new URL(urls.workerUrl, window.location.href));
  state.loaded = state.worker.load(manifest).then((loaded) => {
    if (loaded.fingerprint !== state.election.fingerprint) {
      throw new ApiError(0, 'wrong_election');
    }
    return loaded;
  });
  state.loaded.catch(() => {}); // reported when the voter encrypts
  state.boardKeys = boardKeys();
  setUpQuestions();
  setUpForms();
  let me;
  try {
    me = await apiCall('GET', urls.meUrl); // also sets the CSRF cookie
  } catch (exc) {
    showError('start', apiErrorText(exc));
    return;
  }
  if (me.authenticated) goCredential(me);
  else goLogin();
}

// --- Login (one-time code by e-mail) ------------------------------------------------------------

function goLogin() {
  byId('login-verify').hidden = true;
  byId('login-request').hidden = false;
  byId('logout').hidden = true;
  show('login');
}

function loginIdentity(value) {
  const text = value.trim();
  return text.includes('@') ? { email: text } : { identifier: text };
}

async function requestCode(event) {
  event.preventDefault();
  const input = byId('login-email');
  if (!input.value.trim()) {
    showError('login', t('Enter your e-mail address.'));
    input.focus();
    return;
  }
  const button = event.submitter ?? byId('login-request-button');
  await busy([button], async () => {
    try {
      state.loginAs = loginIdentity(input.value);
      await apiCall('POST', urls.loginUrl, state.loginAs);
    } catch (exc) {
      handleApiError(exc, 'login');
      return;
    }
    clearError('login');
    byId('login-request').hidden = true;
    byId('login-verify').hidden = false;
    setContent(byId('login-sent'), t('If you are on the voter roll, a code is on its way to %(address)s. It is valid for a few minutes and works once.', { address: input.value.trim() }));
    byId('login-code').value = '';
    byId('login-code').focus();
  });
}

async function verifyCode(event) {
  event.preventDefault();
  const input = byId('login-code');
  const code = input.value.replace(/[\s-]+/g, '');
  if (!/^\d{8}$/.test(code)) {
    showError('login', t('The code has 8 digits.'));
    input.focus();
    return;
  }
  const button = event.submitter ?? byId('login-verify-button');
  await busy([button], async () => {
    let me;
    try {
      me = await apiCall('POST', urls.loginVerifyUrl, { ...state.loginAs, code });
    } catch (exc) {
      handleApiError(exc, 'login');
      input.focus();
      return;
    }
    goCredential(me);
  });
}

function restartLogin() {
  clearError('login');
  byId('login-verify').hidden = true;
  byId('login-request').hidden = false;
  byId('login-email').focus();
}

async function logout() {
  try {
    await apiCall('POST', urls.logoutUrl);
  } catch {
    // the session ends on the server anyway when it expires
  }
  state.code = null;
  state.encrypted = null;
  byId('credential').value = '';
  updateCredentialFeedback();
  goLogin();
  setStatus(t('You are logged out.'));
}

// --- Credential -----------------------------------------------------------------------------------

function goCredential(me = null) {
  byId('logout').hidden = false;
  if (me) byId('already-voted').hidden = !me.voted;
  const input = byId('credential');
  if (fragmentCredential && !input.value && state.code === null) {
    input.value = displayCode(fragmentCredential);
    byId('credential-from-link').hidden = false;
  }
  updateCredentialFeedback();
  show('credential');
}

function updateCredentialFeedback() {
  const input = byId('credential');
  const feedback = credentialFeedback(input.value);
  const box = byId('credential-feedback');
  setContent(box, feedback.message);
  box.dataset.state = feedback.state;
  if (feedback.state === 'invalid') input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  return feedback;
}

function submitCredential(event) {
  event.preventDefault();
  const input = byId('credential');
  const feedback = updateCredentialFeedback();
  if (feedback.state !== 'ok') {
    showError('credential', feedback.message || t('Enter the credential from your e-mail.'));
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  state.code = feedback.code;
  goQuestions();
}

// --- Questions ------------------------------------------------------------------------------------

function questionInputs(qi) {
  return [...byId(`question-${state.questions[qi].id}`).querySelectorAll('[data-option]')];
}

/** One boolean per option, or for a score question one score (each option's select). */
function selections(qi) {
  return questionInputs(qi).map((input) => ('score' in input.dataset ? Number(input.value) : input.checked));
}

function updateQuestion(qi, { showErrors = false } = {}) {
  const question = state.questions[qi];
  const result = questionState(question, selections(qi));
  setContent(byId(`${question.id}-status`), result.status);
  const errorBox = byId(`${question.id}-error`);
  const fieldset = byId(`question-${question.id}`);
  // Errors appear as soon as a rule is broken by choosing too much; a missing choice only
  // when the voter tries to go on.
  const errors = showErrors || !isMissingChoice(question, result) ? result.errors : [];
  setContent(errorBox, errors.join(' '));
  errorBox.hidden = errors.length === 0;
  fieldset.classList.toggle('has-error', errors.length > 0);
  for (const input of questionInputs(qi)) {
    if (errors.length) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  return result;
}

function isMissingChoice(question, result) {
  return result.count < question.min && result.count <= question.max && (result.left === null || result.left >= 0);
}

function setUpQuestions() {
  state.questions.forEach((question, qi) => {
    setContent(byId(`${question.id}-rules`), questionRules(question));
    const fieldset = byId(`question-${question.id}`);
    fieldset.addEventListener('change', () => updateQuestion(qi));
    updateQuestion(qi);
  });
}

function goQuestions() {
  show('questions');
}

function currentChoices() {
  return state.questions.map((_, qi) => choiceVector(selections(qi)));
}

function submitQuestions(event) {
  event.preventDefault();
  const problems = [];
  state.questions.forEach((question, qi) => {
    const result = updateQuestion(qi, { showErrors: true });
    if (result.errors.length) problems.push({ question, message: result.errors.join(' ') });
  });
  const summary = byId('questions-errors');
  if (problems.length) {
    setContent(
      summary,
      el('h3', {}, t('Some answers need a change')),
      el(
        'ul',
        {},
        problems.map(({ question, message }) =>
          el('li', {}, el('a', { href: `#question-${question.id}` }, `${question.title} — ${message}`)),
        ),
      ),
    );
    summary.hidden = false;
    summary.focus();
    return;
  }
  summary.hidden = true;
  state.choices = currentChoices();
  encrypt();
}

function errorSummaryLink(event) {
  const link = event.target.closest('a[href^="#question-"]');
  if (!link) return;
  event.preventDefault();
  const fieldset = document.getElementById(link.getAttribute('href').slice(1));
  const first = fieldset?.querySelector('input:checked, input');
  fieldset?.scrollIntoView({ block: 'start' });
  first?.focus();
}

// --- Encrypting -------------------------------------------------------------------------------------

async function encrypt() {
  state.encrypted = null;
  show('encrypt');
  const bar = byId('encrypt-progress');
  const text = byId('encrypt-progress-text');
  bar.value = 0;
  setContent(text, t('Preparing…'));
  let result;
  try {
    await state.loaded;
    result = await state.worker.encrypt(state.code, state.choices, {
      onProgress: ({ done, total }) => {
        bar.max = total;
        bar.value = done;
        setContent(text, t('%(done)s of %(total)s proofs computed.', { done, total }));
      },
    });
  } catch (exc) {
    if (exc.name === 'InvalidCredential') {
      goCredential();
      showError('credential', t('This credential has a typing mistake: compare each character with your e-mail.'));
      return;
    }
    if (exc.name === 'InvalidBallot') {
      goQuestions();
      showError('questions', t('These answers break a rule of the election: check each question.'));
      return;
    }
    if (exc instanceof ApiError) {
      showError('encrypt', errorMessage(exc.code));
      return;
    }
    showError('encrypt', t('Your ballot could not be encrypted in this browser. Reload the page and try again.'));
    return;
  }
  state.encrypted = result;
  showReview();
}

function choicesList(target, choices) {
  setContent(
    target,
    state.questions.flatMap((question, qi) => [
      el('dt', {}, question.title),
      el('dd', {}, describeChoice(question, choices[qi]).join(', ')),
    ]),
  );
}

function showReview() {
  choicesList(byId('review-choices'), state.choices);
  setContent(byId('review-tracker'), state.encrypted.tracker);
  byId('cast-button').disabled = false;
  byId('audit-button').disabled = false;
  show('review');
}

// --- Casting ------------------------------------------------------------------------------------------

async function cast() {
  const encrypted = state.encrypted;
  if (!encrypted) return;
  await busy([byId('cast-button'), byId('audit-button')], async () => {
    setStatus(t('Sending your ballot…'));
    let receipt;
    try {
      // the very same ballot again after a lost answer: the server answers it with its receipt
      receipt = await sendUntilAnswered(
        () => apiCall('POST', urls.ballotsUrl, encrypted.ballot, { timeoutMs: CAST_TIMEOUT_MS }),
        {
          onRetry: ({ next, attempts }) =>
            setStatus(
              t('The server did not answer. Sending your ballot again (try %(n)s of %(total)s)…', {
                n: next,
                total: attempts,
              }),
            ),
        },
      );
    } catch (exc) {
      setStatus('');
      if (exc instanceof ApiError && exc.code === 'ballot_was_audited') {
        // a ballot that was audited is never cast: encrypt afresh
        encrypt();
        return;
      }
      handleApiError(exc, 'review');
      return;
    }
    state.encrypted = null;
    setStatus('');
    showReceipt(receipt, encrypted);
  });
}

function showReceipt(receipt, encrypted) {
  const tracker = String(receipt?.tracker ?? '');
  setContent(byId('receipt-tracker'), tracker);
  setContent(byId('receipt-seq'), String(receipt?.seq));
  setContent(byId('receipt-head-seq'), String(receipt?.head?.seq));
  setContent(byId('receipt-head-hash'), String(receipt?.head?.hash ?? ''));
  setContent(byId('receipt-signature'), String(receipt?.signature ?? ''));
  offerJsonDownload(byId('receipt-download'), `pnyx-receipt-${encrypted.tracker.slice(0, 12)}.json`, receipt);
  byId('receipt-check').href = `${urls.checkUrl}?tracker=${encodeURIComponent(encrypted.tracker)}`;
  byId('receipt-entry').href = urls.boardEntryUrl.replace(/0$/, String(Number(receipt?.seq) || 0));
  choicesList(byId('receipt-choices'), state.choices);
  show('receipt');
  offerProof(Number(receipt?.seq), encrypted.tracker);
  checkReceiptHere(byId('receipt-verdict'), receipt, {
    kind: 'ballot',
    tracker: encrypted.tracker,
    intro: t('Your ballot was sent, but the receipt the server gave for it does not check out.'),
  });
}

// --- The proof of inclusion (proof-check.mjs): once a checkpoint covers the ballot ------------

const PROOF_TRIES = 20;
const PROOF_WAIT_MS = 2000;

/** Fetch the ballot's proof of inclusion as soon as a checkpoint covers it, check it here (the
 *  entry in the tree, the latest checkpoint extending it, the witnesses), and offer it. */
async function offerProof(seq, tracker) {
  const box = byId('receipt-proof');
  const link = byId('receipt-proof-download');
  if (!box || !link || !Number.isSafeInteger(seq)) return;
  const boardUrl = state.election.board.entries;
  box.hidden = false;
  setContent(box, t('Waiting for the board’s next checkpoint to prove your ballot is in it…'));
  for (let attempt = 0; attempt < PROOF_TRIES; attempt += 1) {
    let text = null;
    try {
      const response = await fetch(`${boardUrl}proof/${seq}`, { credentials: 'same-origin', cache: 'no-store' });
      if (response.ok) text = await response.text();
    } catch {
      text = null;
    }
    if (text !== null) {
      try {
        const verdict = await checkProofReceipt(text, { boardUrl, electionId: state.election.id });
        if (verdict.entry?.payload?.tracker !== tracker) throw new Error('the proof is for another ballot');
        setContent(
          box,
          verdict.witnesses
            ? t('Checked in this browser: your ballot is in the board’s tree, and the latest checkpoint is witnessed by %(k)s of %(m)s.', { k: verdict.cosigned, m: verdict.witnesses })
            : t('Checked in this browser: your ballot is in the board’s tree.'),
        );
        const blob = new Blob([text], { type: 'text/plain' });
        link.href = URL.createObjectURL(blob);
        link.download = `pnyx-proof-${tracker.slice(0, 12)}.txt`;
        link.hidden = false;
      } catch (exc) {
        box.dataset.ok = 'false';
        setContent(box, t('The proof of inclusion the server gave does not check out: %(reason)s', { reason: String(exc?.message ?? exc) }));
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, PROOF_WAIT_MS));
  }
  setContent(box, t('No checkpoint covers your ballot yet; the signed receipt above still proves that the server accepted it.'));
}

// --- Checking receipts in this browser (receipt-check.mjs) -----------------------------------

function boardKeys() {
  const keys = loadBoardKeys({ boardUrl: state.election.board.entries, boardKeyUrl: urls.boardKeyUrl });
  keys.catch(() => {}); // reported where a receipt is checked
  return keys;
}

/** Check a receipt against the genesis entry's board key and say so in `box`. */
async function checkReceiptHere(box, receipt, { kind, tracker, intro }) {
  box.hidden = false;
  box.dataset.ok = 'pending';
  setContent(box, el('p', {}, t('Checking the server’s signature on the receipt…')));
  let keys;
  try {
    keys = await state.boardKeys;
  } catch {
    state.boardKeys = boardKeys(); // once more, now
    try {
      keys = await state.boardKeys;
    } catch {
      showUnchecked(box);
      return;
    }
  }
  const electionId = state.election.id;
  const expected = { election: electionId, kind, tracker };
  const judgement = judgeReceipt({ receipt, ...keys, electionId, expected });
  showVerdict(box, {
    judgement,
    intro,
    evidence: judgement.ok ? null : receiptEvidence({ receipt, ...keys, electionId, expected, ...judgement }),
    filename: `pnyx-receipt-evidence-${tracker.slice(0, 12)}.json`,
  });
}

// --- Auditing (Benaloh challenge) ---------------------------------------------------------------

async function audit() {
  const encrypted = state.encrypted;
  if (!encrypted) return;
  await busy([byId('cast-button'), byId('audit-button')], async () => {
    setStatus(t('Publishing the audited ballot…'));
    let answer;
    try {
      answer = await apiCall('POST', urls.auditsUrl, { ballot: encrypted.ballot, randomness: encrypted.secrets });
    } catch (exc) {
      setStatus('');
      handleApiError(exc, 'review');
      return;
    }
    // From here on this ballot can never be cast: its randomness is public.
    state.encrypted = null;
    let local = null;
    try {
      local = await state.worker.audit(encrypted.ballot, encrypted.secrets);
    } catch {
      local = null;
    }
    setStatus('');
    showAudit(encrypted, answer, local);
  });
}

function showAudit(encrypted, answer, local) {
  const server = serverPlaintexts(state.questions, answer.plaintexts);
  const localOk = local !== null && sameChoices(local, state.choices);
  const serverOk = server !== null && sameChoices(server, state.choices);
  const describe = (row, question) => (row ? describeChoice(question, row).join(', ') : t('(could not be read)'));
  setContent(
    byId('audit-rows'),
    state.questions.map((question, qi) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, question.title),
        el('td', {}, describe(state.choices[qi], question)),
        el('td', {}, describe(local?.[qi], question)),
        el('td', {}, describe(server?.[qi], question)),
      ),
    ),
  );
  const verdict = byId('audit-verdict');
  verdict.dataset.ok = String(localOk && serverOk);
  setContent(
    verdict,
    localOk && serverOk
      ? t('The audited ballot contains exactly your choices: this browser encrypted them faithfully.')
      : t('Warning: the audited ballot does not contain your choices. Do not vote with this device; tell the election officials.'),
  );
  setContent(byId('audit-tracker'), String(answer.receipt?.tracker ?? ''));
  setContent(byId('audit-seq'), String(answer.receipt?.seq));
  byId('audit-entry').href = urls.boardEntryUrl.replace(/0$/, String(Number(answer.receipt?.seq) || 0));
  offerJsonDownload(byId('audit-download'), `pnyx-audit-${encrypted.tracker.slice(0, 12)}.json`, {
    kind: 'pnyx-audit',
    election: state.election.id,
    fingerprint: state.election.fingerprint,
    tracker: encrypted.tracker,
    ballot: encrypted.ballot,
    randomness: encrypted.secrets,
    plaintexts: local,
    server_plaintexts: answer.plaintexts,
    receipt: answer.receipt,
    board: urls.exportUrl,
  });
  show('audit');
  checkReceiptHere(byId('audit-receipt-verdict'), answer.receipt, {
    kind: 'audit',
    tracker: encrypted.tracker,
    intro: t('The receipt the server gave for this audited ballot does not check out.'),
  });
}

// --- Wiring ---------------------------------------------------------------------------------------

function setUpForms() {
  byId('login-request').addEventListener('submit', requestCode);
  byId('login-verify').addEventListener('submit', verifyCode);
  byId('login-restart').addEventListener('click', restartLogin);
  byId('logout').addEventListener('click', logout);
  byId('credential').addEventListener('input', updateCredentialFeedback);
  byId('credential-form').addEventListener('submit', submitCredential);
  byId('questions-form').addEventListener('submit', submitQuestions);
  byId('questions-errors').addEventListener('click', errorSummaryLink);
  byId('questions-back').addEventListener('click', () => goCredential());
  byId('cast-button').addEventListener('click', cast);
  byId('audit-button').addEventListener('click', audit);
  byId('change-button').addEventListener('click', () => {
    state.encrypted = null;
    goQuestions();
  });
  byId('audit-again').addEventListener('click', () => encrypt());
  byId('audit-change').addEventListener('click', () => goQuestions());
  byId('vote-again').addEventListener('click', () => goQuestions());
}

// Exposed for the browser tests' sanity checks only (no secrets: the step names).
root.dataset.ready = 'false';
start().finally(() => {
  root.dataset.ready = 'true';
});
