// The booth page's pure logic (src/ui/): question rules and live validation, credential feedback,
// the URL fragment, audit comparisons, translations. The pages themselves are tested in Chromium
// (tests/e2e/).
import test from 'node:test';
import assert from 'node:assert/strict';
import { choiceVector, describeChoice, questionRules, questionState, sameChoices, serverPlaintexts, setLocale } from '../src/ui/choices.mjs';
import { credentialFeedback, displayCode, takeCredentialFromFragment } from '../src/ui/credential.mjs';
import { errorMessage, interpolate, loadCatalogue, t } from '../src/ui/i18n.mjs';
import { loadVector } from '../support/vectors.mjs';

const V = loadVector('ballots.json');
const option = (id, title, cost = null) => ({ id, title, description: '', cost });
const single = { id: 'q1', kind: 'single', min: 1, max: 1, budget: null, options: [option('q1o1', 'Ann'), option('q1o2', 'Ben'), option('q1o3', 'Cy')] };
const referendum = { id: 'q2', kind: 'referendum', min: 0, max: 1, budget: null, options: [option('q2o1', 'Yes'), option('q2o2', 'No')] };
const approval = { id: 'q3', kind: 'approval', min: 1, max: 2, budget: null, options: ['A', 'B', 'C', 'D'].map((x, i) => option(`q3o${i + 1}`, x)) };
const budget = { id: 'q4', kind: 'budget', min: 0, max: 4, budget: 100, options: [option('q4o1', 'P1', 60), option('q4o2', 'P2', 25), option('q4o3', 'P3', 15), option('q4o4', 'P4', 40)] };

test('rules say how many to choose, and the budget', () => {
  setLocale('en');
  assert.equal(questionRules(single), 'Choose one option.');
  assert.equal(questionRules(referendum), 'Choose one option, or vote blank.');
  assert.equal(questionRules(approval), 'Choose between 1 and 2.');
  assert.equal(questionRules({ ...approval, min: 0, max: 4 }), 'Choose as many as you like, or none.');
  assert.equal(questionRules({ ...approval, min: 0, max: 3 }), 'Choose at most 3.');
  assert.equal(questionRules({ ...approval, min: 2, max: 4 }), 'Choose at least 2.');
  assert.equal(questionRules({ ...approval, min: 2, max: 2 }), 'Choose exactly 2.');
  assert.equal(questionRules(budget), 'Choose as many as you like, or none. The projects you choose may cost 100 in total at most.');
});

test('live state: counts, budget left, errors', () => {
  assert.deepEqual(questionState(single, [false, false, false]).errors, ['Choose an option.']);
  assert.equal(questionState(single, [false, false, false]).status, 'No choice yet.');
  assert.equal(questionState(referendum, [false, false]).status, 'No choice yet: this is a blank vote.');
  assert.deepEqual(questionState(referendum, [false, false]).errors, []);
  assert.deepEqual(questionState(approval, [true, true, true, false]).errors, ['Too many choices: choose at most 2.']);
  assert.deepEqual(questionState(approval, [false, false, false, false]).errors, ['Too few choices: choose at least 1.']);
  assert.equal(questionState(approval, [true, false, true, false]).status, '2 chosen.');
  const ok = questionState(budget, [true, true, true, false]);
  assert.deepEqual([ok.spent, ok.left, ok.errors], [100, 0, []]);
  assert.equal(ok.status, '3 chosen. Spent 100 of 100; 0 left.');
  const over = questionState(budget, [true, false, false, true]);
  assert.deepEqual([over.errors, over.left], [[], 0]); // exactly the budget
  const tooMuch = questionState(budget, [true, true, true, true]);
  assert.deepEqual(tooMuch.errors, ['Over budget by 40: remove a project.']);
  assert.equal(tooMuch.status, '4 chosen. Spent 140 of 100.');
  assert.throws(() => questionState(single, [true]));
});

test('numbers follow the page language', () => {
  setLocale('fr');
  const big = { ...budget, budget: 1500000, options: budget.options.map((o) => ({ ...o, cost: o.cost * 10000 })) };
  assert.match(questionState(big, [true, false, false, false]).status, /600\s000/u);
  setLocale('en');
});

test('choices: vectors, descriptions, comparisons, the server audit answer', () => {
  assert.deepEqual(choiceVector([true, false, true]), [1, 0, 1]);
  assert.deepEqual(describeChoice(approval, [1, 0, 1, 0]), ['A', 'C']);
  assert.deepEqual(describeChoice(referendum, [0, 0]), ['Blank vote (no choice)']);
  assert.ok(sameChoices([[1, 0], [0, 1]], [[1, 0], [0, 1]]));
  assert.ok(!sameChoices([[1, 0], [0, 1]], [[1, 0], [1, 0]]));
  assert.ok(!sameChoices([[1, 0]], [[1, 0], [0, 1]]));
  const plaintexts = [
    { question: 'q1', selections: [{ option: 'q1o1', selected: false }, { option: 'q1o2', selected: true }, { option: 'q1o3', selected: false }] },
    { question: 'q2', selections: [{ option: 'q2o1', selected: false }, { option: 'q2o2', selected: false }] },
  ];
  assert.deepEqual(serverPlaintexts([single, referendum], plaintexts), [[0, 1, 0], [0, 0]]);
  assert.equal(serverPlaintexts([single], plaintexts), null);
  assert.equal(serverPlaintexts([referendum, single], plaintexts), null);
  const shuffled = structuredClone(plaintexts);
  shuffled[0].selections.reverse();
  assert.equal(serverPlaintexts([single, referendum], shuffled), null);
});

test('credential feedback while typing', () => {
  assert.equal(credentialFeedback('').state, 'empty');
  assert.deepEqual(credentialFeedback('nvxxn-tov').state, 'typing');
  assert.equal(credentialFeedback('nvxxn-tov').message, '8 of 20 characters.');
  assert.equal(credentialFeedback('nvxxn-tovau').state, 'invalid');
  assert.equal(credentialFeedback('nvxxn-tova!').state, 'invalid');
  assert.equal(credentialFeedback('nvxxn-tovam-hnl23-xo73kk').message, 'Too many characters: a credential has 20.');
  assert.equal(credentialFeedback('nvxxn-tovam-hnl23-xo73j').message, 'This credential has a typing mistake: compare each character with your e-mail.');
  const ok = credentialFeedback(' nvxxn tovam hnl23 xo73k ');
  assert.deepEqual([ok.state, ok.code], ['ok', V.credential_code]);
  assert.equal(displayCode('nvxxntovamhnl23xo73k'), 'NVXXN-T0VAM-HN123-X073K');
  assert.equal(displayCode('not a code'), 'not a code');
});

test('the credential in the URL fragment is read once and removed', () => {
  const calls = [];
  const history = { state: { a: 1 }, replaceState: (...args) => calls.push(args) };
  const location = { hash: '#credential=NVXXN-TOVAM%20HNL23-XO73K', pathname: '/e/x/vote', search: '?lang=fr' };
  assert.equal(takeCredentialFromFragment(location, history), 'NVXXN-TOVAM HNL23-XO73K');
  assert.deepEqual(calls, [[{ a: 1 }, '', '/e/x/vote?lang=fr']]);
  assert.equal(takeCredentialFromFragment({ ...location, hash: '#other' }, history), null);
  assert.equal(takeCredentialFromFragment({ ...location, hash: '' }, history), null);
  assert.equal(calls.length, 1);
});

test('translations: catalogue, placeholders, error sentences', () => {
  assert.equal(interpolate('%(a)s and %(b)s, %(c)s', { a: 1, b: 'x' }), '1 and x, %(c)s');
  loadCatalogue({ dataset: { i18n: JSON.stringify({ messages: { 'Choose one option.': 'Choisissez une option.' }, errors: { unknown_credential: 'Identifiant inconnu.', unexpected: 'Erreur.' } }) } });
  assert.equal(t('Choose one option.'), 'Choisissez une option.');
  assert.equal(t('Choose at most %(max)s.', { max: 3 }), 'Choose at most 3.');
  assert.equal(errorMessage('unknown_credential'), 'Identifiant inconnu.');
  assert.equal(errorMessage('no_such_code'), 'Erreur.');
  // Spanish (any language: the catalogue comes from its django.po), placeholders in a translation
  loadCatalogue({ dataset: { i18n: JSON.stringify({ messages: { 'Choose at most %(max)s.': 'Elija como máximo %(max)s.', 'Spent %(spent)s of %(budget)s; %(left)s left.': 'Gastado %(spent)s de %(budget)s; quedan %(left)s.' }, errors: { unexpected: 'Algo salió mal.' } }) } });
  assert.equal(t('Choose at most %(max)s.', { max: 3 }), 'Elija como máximo 3.');
  assert.equal(t('Spent %(spent)s of %(budget)s; %(left)s left.', { spent: 40, budget: 100, left: 60 }), 'Gastado 40 de 100; quedan 60.');
  assert.equal(t('Choose one option.'), 'Choose one option.');
  assert.equal(errorMessage('unknown_credential'), 'Algo salió mal.');
  loadCatalogue({ dataset: { i18n: '{}' } });
  assert.equal(errorMessage('no_such_code'), 'Something went wrong. Please try again in a moment.');
});

const score = { id: 'q5', kind: 'score', min: 0, max: 30, max_score: 10, budget: null, options: ['North', 'South', 'East'].map((x, i) => option(`q5o${i + 1}`, x)) };

test('score questions: rules, live total, errors, descriptions and audit answers', () => {
  setLocale('en');
  assert.equal(questionRules(score), 'Give each option a score from 0 to 10.');
  assert.equal(
    questionRules({ ...score, min: 2, max: 12 }),
    'Give each option a score from 0 to 10. Your scores must add up to at least 2. Your scores may add up to 12 at most.',
  );
  const ok = questionState(score, [10, 0, 7]);
  assert.equal(ok.count, 17);
  assert.equal(ok.status, 'Total of your scores: 17.');
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(questionState({ ...score, max: 12 }, [10, 0, 7]).errors, ['Your scores add up to too much: give at most 12 in all.']);
  assert.deepEqual(questionState({ ...score, min: 1 }, [0, 0, 0]).errors, ['Your scores add up to too little: give at least 1 in all.']);
  assert.deepEqual(questionState(score, [11, 0, 0]).errors, ['Each score is a whole number from 0 to 10.']);
  assert.deepEqual(choiceVector([10, 0, 7]), [10, 0, 7]);
  assert.deepEqual(choiceVector([true, false]), [1, 0]);
  assert.deepEqual(describeChoice(score, [10, 0, 7]), ['North: 10', 'South: 0', 'East: 7']);
  const answer = (scores) => [{ question: 'q5', selections: score.options.map((o, i) => ({ option: o.id, score: scores[i] })) }];
  assert.deepEqual(serverPlaintexts([score], answer([10, 0, 7])), [[10, 0, 7]]);
  assert.equal(serverPlaintexts([score], answer([11, 0, 7])), null);
  assert.equal(serverPlaintexts([score], answer([1.5, 0, 7])), null);
  assert.equal(serverPlaintexts([score], [{ question: 'q5', selections: score.options.map((o) => ({ option: o.id, selected: true })) }]), null);
});
