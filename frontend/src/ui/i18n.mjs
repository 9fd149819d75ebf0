// Translations for the page scripts. The server renders the catalogue of the page's language
// (voting/js_messages.py) into the `data-i18n` attribute of the page's root element: no inline
// script, no extra request. Messages are looked up by their English text, so that the scripts
// read like templates (t with the English sentence). A message missing from the catalogue is
// shown in English; tests/pages/test_js_messages.py checks that every one used here is in it.

let catalogue = { messages: {}, errors: {} };

/** Load the catalogue from `element.dataset.i18n` (JSON). */
export function loadCatalogue(element) {
  const text = element?.dataset?.i18n;
  if (!text) return;
  const data = JSON.parse(text);
  catalogue = { messages: data.messages ?? {}, errors: data.errors ?? {} };
}

/** `%(name)s` placeholders, as in Python's format strings (the .po files use python-format). */
export function interpolate(text, params = {}) {
  return text.replace(/%\((\w+)\)s/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The translation of an English message, with its placeholders filled in. */
export function t(message, params) {
  const translated = Object.prototype.hasOwnProperty.call(catalogue.messages, message)
    ? catalogue.messages[message]
    : message;
  return interpolate(translated, params);
}

/**
 * The plain sentence for an API error code (voting/errors.py, identity/errors.py,
 * config/api_errors.py): never the code itself.
 */
export function errorMessage(code) {
  if (Object.prototype.hasOwnProperty.call(catalogue.errors, code)) return catalogue.errors[code];
  return catalogue.errors.unexpected ?? t('Something went wrong. Please try again in a moment.');
}
