// The voter's answers: rules and live validation of each question (docs/protocol.md §7.1), as
// the booth shows them while the voter chooses. Pure functions of the manifest's question and the
// voter's selections, so that they are tested under Node (frontend/test/ui-choices.test.mjs).
//
// A question is the manifest's JSON (§10): {id, kind, min, max, budget, max_score, options: [{id,
// title, cost}]}. `selected` is one boolean per option (for a score question, one score 0 … S per
// option), the last option of exact-count questions included (the crypto drops it itself).

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

/** A score question: each option gets 0 … max_score, and min/max bound the total (§7.1). */
export function isScore(question) {
  return question.kind === 'score';
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
  if (isScore(question)) {
    rule = t('Give each option a score from 0 to %(s)s.', { s: formatNumber(question.max_score) });
    if (min > 0) rule += ' ' + t('Your scores must add up to at least %(min)s.', { min: formatNumber(min) });
    if (max < n * question.max_score) rule += ' ' + t('Your scores may add up to %(max)s at most.', { max: formatNumber(max) });
    return rule;
  }
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
  if (isScore(question)) return scoreState(question, selected);
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

/** A score question's live state: `count` is the total score (checked against min and max). */
function scoreState(question, scores) {
  const count = scores.reduce((a, b) => a + b, 0);
  const errors = [];
  if (scores.some((x) => !Number.isInteger(x) || x < 0 || x > question.max_score)) {
    errors.push(t('Each score is a whole number from 0 to %(s)s.', { s: formatNumber(question.max_score) }));
  }
  if (count < question.min) {
    errors.push(t('Your scores add up to too little: give at least %(min)s in all.', { min: formatNumber(question.min) }));
  }
  if (count > question.max) {
    errors.push(t('Your scores add up to too much: give at most %(max)s in all.', { max: formatNumber(question.max) }));
  }
  return { count, spent: 0, left: null, status: t('Total of your scores: %(total)s.', { total: formatNumber(count) }), errors };
}

/** The vector the crypto takes for one question: 0/1 per option, or the scores as given. */
export function choiceVector(selected) {
  return selected.map((x) => (typeof x === 'number' ? x : x ? 1 : 0));
}

/** What the voter chose, in words: option titles (with their scores), or "Blank vote". */
export function describeChoice(question, vector) {
  if (isScore(question)) {
    return question.options.map((option, i) => t('%(option)s: %(score)s', { option: option.title, score: formatNumber(vector[i]) }));
  }
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
 * The server's answer to an audit (`plaintexts`: [{question, selections: [{option, selected}]}],
 * `{option, score}` for a score question) as vectors in the manifest's order; null if it does not
 * name the manifest's questions and options in order.
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
      if (!selection || selection.option !== option.id) return null;
      if (isScore(question)) {
        const { score } = selection;
        if (!Number.isInteger(score) || score < 0 || score > question.max_score) return null;
        row.push(score);
        continue;
      }
      if (typeof selection.selected !== 'boolean') return null;
      row.push(selection.selected ? 1 : 0);
    }
    out.push(row);
  }
  return out;
}
