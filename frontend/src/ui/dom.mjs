// Small DOM helpers shared by the page scripts (no framework: the pages are server-rendered and
// the scripts fill in and show parts of them).

/** The element with this id; throws if the template lacks it (a bug, caught by the e2e tests). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing element #${id}`);
  return element;
}

/** Replace an element's children by text, or by a list of nodes/strings. */
export function setContent(element, ...children) {
  element.replaceChildren(...children.flat().map((c) => (typeof c === 'string' ? document.createTextNode(c) : c)));
}

/** `el('li', {class: 'x'}, 'text', child…)`: attributes are set as attributes (no inline styles). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  setContent(element, ...children);
  return element;
}

/** Offer a JSON value as a file through a link with a `download` attribute. */
export function offerJsonDownload(link, filename, value) {
  if (link.href && link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  link.href = URL.createObjectURL(blob);
  link.download = filename;
}
