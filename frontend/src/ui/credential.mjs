// The credential the voter types (or follows a link to): live feedback while typing, and the
// `#credential=…` URL fragment of the e-mailed link. A fragment is never sent to the server; the
// booth reads it once and removes it from the address bar (and from the history entry).

import { checkCode, formatCode } from '../booth.mjs';
import { t } from './i18n.mjs';

const CODE_LENGTH = 20;
// The separators normalizeCode ignores (docs/protocol.md §6.1).
const SEPARATORS = /[\s\u001c-\u001f\u0085-]+/gu;

/**
 * `{state, message, code}` for the text typed so far: state `empty`, `typing` (too short yet),
 * `invalid` (cannot become valid by typing more, or complete but mistyped) or `ok` (well formed,
 * `code` normalised). Whether the credential belongs to this election only the server can say.
 */
export function credentialFeedback(text) {
  const compact = String(text ?? '').replace(SEPARATORS, '');
  const length = [...compact].length;
  if (length === 0) return { state: 'empty', message: '', code: null };
  if (/[^0-9A-Za-z]/u.test(compact) || /[uU]/.test(compact)) {
    return {
      state: 'invalid',
      message: t('A credential has only digits and letters (never the letter U); hyphens and spaces are optional.'),
      code: null,
    };
  }
  if (length < CODE_LENGTH) {
    return { state: 'typing', message: t('%(n)s of 20 characters.', { n: length }), code: null };
  }
  if (length > CODE_LENGTH) {
    return { state: 'invalid', message: t('Too many characters: a credential has 20.'), code: null };
  }
  const check = checkCode(compact);
  if (!check.ok) {
    return {
      state: 'invalid',
      message: t('This credential has a typing mistake: compare each character with your e-mail.'),
      code: null,
    };
  }
  return { state: 'ok', message: t('The credential is well formed.'), code: check.code };
}

/** The credential in `#credential=…`, or null; removes the fragment from the address bar. */
export function takeCredentialFromFragment(location = window.location, history = window.history) {
  const match = /^#credential=([^&]*)/.exec(location.hash || '');
  if (!match) return null;
  let value = '';
  try {
    value = decodeURIComponent(match[1]);
  } catch {
    value = '';
  }
  history.replaceState(history.state, '', location.pathname + location.search);
  return value || null;
}

/** `XXXXX-XXXXX-XXXXX-XXXXX` when well formed, else the text as given. */
export function displayCode(text) {
  const check = checkCode(text);
  return check.ok ? formatCode(check.code) : text;
}
