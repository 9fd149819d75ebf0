// The voter's answers: rules and live validation of each question (docs/protocol.md §7.1), as
// the booth shows them while the voter chooses. Pure functions of the manifest's question and the
// voter's selections, so that they are tested under Node (frontend/test/ui-choices.test.mjs).
//
// A question is the manifest's JSON (§10): {id, kind, min, max, budget, options: [{id, title,
// cost}]}. `selected` is one boolean per option, the last option of exact-count questions
// included (the crypto drops it itself).

import { t } from './i18n.mjs';

let numberFormat = new Intl.NumberFormat('en');

/** Format amounts and counts in the page's language. */
export function setLocale(lang) {
  try {
    numberFormat = new Intl.NumberFormat(lang || 'en');
  } catch {
    numberFormat = new Intl.NumberFormat('en');
  }
}

export const formatNumber = (n) => numberFormat.format(n);

/** Radio buttons (one choice) for referendums and single-choice questions, else checkboxes. */
export function isSingleChoice(question) {
  return (question.kind === 'referendum' || question.kind === 'single') && question.max === 1;
}

/** May the voter leave the question without any choice? */
export function blankAllowed(question) {
  return question.min === 0;
}

/** The sentence that states the question's rules. */
export function questionRules(question) {
  const n = question.options.length;
  const { min, max } = question;
  let rule;
  if (isSingleChoice(question)) {
    rule = min === 0 ? t('Choose one option, or vote blank.') : t('Choose one option.');
  } else if (min === max) {
    rule = t('Choose exactly %(n)s.', { n: formatNumber(min) });
  } else if (min === 0 && max === n) {
    rule = t('Choose as many as you like, or none.');
  } else if (min === 0) {
    rule = t('Choose at most %(max)s.', { max: formatNumber(max) });
  } else if (max === n) {
    rule = t('Choose at least %(min)s.', { min: formatNumber(min) });
  } else {
    rule = t('Choose between %(min)s and %(max)s.', { min: formatNumber(min), max: formatNumber(max) });
  }
  if (question.budget !== null && question.budget !== undefined) {
    rule += ' ' + t('The projects you choose may cost %(budget)s in total at most.', { budget: formatNumber(question.budget) });
  }
  return rule;
}

/**
 * Live state of a question: `{count, spent, left, status, errors}`. `status` is what the voter
 * sees while choosing (how many chosen, budget spent and left); `errors` lists what must change
 * before the ballot can be encrypted (empty when the answer is valid).
 */
export function questionState(question, selected) {
  if (!Array.isArray(selected) || selected.length !== question.options.length) {
    throw new Error(`question ${question.id}: one selection per option`);
  }
  const count = selected.filter(Boolean).length;
  const hasBudget = question.budget !== null && question.budget !== undefined;
  const spent = hasBudget ? question.options.reduce((sum, option, i) => sum + (selected[i] ? option.cost : 0), 0) : 0;
  const left = hasBudget ? question.budget - spent : null;
  const errors = [];
  if (count < question.min) {
    errors.push(
      question.max === 1 ? t('Choose an option.') : t('Too few choices: choose at least %(min)s.', { min: formatNumber(question.min) }),
    );
  }
  if (count > question.max) {
    errors.push(t('Too many choices: choose at most %(max)s.', { max: formatNumber(question.max) }));
  }
  if (hasBudget && left < 0) {
    errors.push(t('Over budget by %(over)s: remove a project.', { over: formatNumber(-left) }));
  }
  let status;
  if (isSingleChoice(question)) {
    status = count === 0 ? (blankAllowed(question) ? t('No choice yet: this is a blank vote.') : t('No choice yet.')) : t('1 chosen.');
  } else {
    status = t('%(count)s chosen.', { count: formatNumber(count) });
  }
  if (hasBudget) {
    status +=
      ' ' +
      (left >= 0
        ? t('Spent %(spent)s of %(budget)s; %(left)s left.', {
            spent: formatNumber(spent),
            budget: formatNumber(question.budget),
            left: formatNumber(left),
          })
        : t('Spent %(spent)s of %(budget)s.', { spent: formatNumber(spent), budget: formatNumber(question.budget) }));
  }
  return { count, spent, left, status, errors };
}

/** The 0/1 vector the crypto takes for one question. */
export function choiceVector(selected) {
  return selected.map((x) => (x ? 1 : 0));
}

/** What the voter chose, in words: option titles, or "Blank vote". */
export function describeChoice(question, vector) {
  const titles = question.options.filter((_, i) => vector[i]).map((option) => option.title);
  return titles.length ? titles : [t('Blank vote (no choice)')];
}

/** Do two answers (arrays of 0/1 per option, per question) agree? */
export function sameChoices(a, b) {
  return (
    Array.isArray(a) &&
    Array.isArray(b) &&
    a.length === b.length &&
    a.every((row, qi) => Array.isArray(b[qi]) && row.length === b[qi].length && row.every((x, oi) => Number(x) === Number(b[qi][oi])))
  );
}

/**
 * The server's answer to an audit (`plaintexts`: [{question, selections: [{option, selected}]}])
 * as 0/1 vectors in the manifest's order; null if it does not name the manifest's questions and
 * options in order.
 */
export function serverPlaintexts(questions, plaintexts) {
  if (!Array.isArray(plaintexts) || plaintexts.length !== questions.length) return null;
  const out = [];
  for (const [qi, question] of questions.entries()) {
    const item = plaintexts[qi];
    if (!item || item.question !== question.id || !Array.isArray(item.selections)) return null;
    if (item.selections.length !== question.options.length) return null;
    const row = [];
    for (const [oi, option] of question.options.entries()) {
      const selection = item.selections[oi];
      if (!selection || selection.option !== option.id || typeof selection.selected !== 'boolean') return null;
      row.push(selection.selected ? 1 : 0);
    }
    out.push(row);
  }
  return out;
}
