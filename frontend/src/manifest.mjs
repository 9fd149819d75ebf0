// The election manifest and its fingerprint (docs/protocol.md §10). Mirrors crypto/manifest.py:
// the same manifests are accepted and refused, and the fingerprint is SHA-256(JCS(manifest)).

import { InvalidEncoding } from './errors.mjs';
import { ElectionKey } from './elgamal.mjs';
import { pointFromHex } from './group.mjs';
import { checkDigestHex, digestJson, parseJson } from './hashing.mjs';
import { expectInt, expectList, expectObject, expectStr, expectVersion } from './json.mjs';
import { ElectionSpec, MAX_AMOUNT, MAX_OPTIONS, MAX_QUESTIONS, MAX_SCORE, QuestionSpec } from './ballot.mjs';

export const QUESTION_KINDS = Object.freeze(['referendum', 'single', 'approval', 'budget', 'score']);
export const MAX_TRUSTEES = 64;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** UTC timestamp `YYYY-MM-DDTHH:MM:SSZ` → Date (throws InvalidEncoding). */
export function parseTimestamp(value, what) {
  const m = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  if (!m) throw new InvalidEncoding(`${what}: expected a UTC timestamp YYYY-MM-DDTHH:MM:SSZ`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y); // Date.UTC maps years 0–99 to 1900–1999
  if (
    y < 1 ||
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    throw new InvalidEncoding(`${what}: not a valid date`);
  }
  return date;
}

function questionSpec(obj, what) {
  const { kind, options } = obj;
  const n = options.length;
  const costs = options.map((o) => o.cost);
  let spec;
  const maxScore = obj.max_score ?? null;
  if ((kind === 'score') !== (maxScore !== null)) {
    throw new InvalidEncoding(`${what}: a score question, and only it, has max_score`);
  }
  if (kind === 'budget') {
    if (costs.some((c) => c === null) || obj.budget === null) {
      throw new InvalidEncoding(`${what}: a budget question has a cost per option and a budget`);
    }
    spec = new QuestionSpec({ options: n, min: obj.min, max: obj.max, costs, budget: obj.budget });
  } else {
    if (costs.some((c) => c !== null) || obj.budget !== null) {
      throw new InvalidEncoding(`${what}: only budget questions have costs`);
    }
    spec = new QuestionSpec({ options: n, min: obj.min, max: obj.max, maxScore });
  }
  if (kind === 'referendum' && (n !== 2 || spec.max !== 1)) {
    throw new InvalidEncoding(`${what}: a referendum has two options (yes, no) and max 1`);
  }
  if (kind === 'single' && spec.max !== 1) throw new InvalidEncoding(`${what}: a single-choice question has max 1`);
  if ((kind === 'referendum' || kind === 'single') && spec.min !== 0 && spec.min !== 1) {
    throw new InvalidEncoding(`${what}: min is 0 (blank allowed) or 1`);
  }
  return spec;
}

function checkQuestion(value, index) {
  const what = `manifest.questions[${index}]`;
  const obj = expectObject(value, ['id', 'kind', 'title', 'description', 'options', 'min', 'max', 'budget'], what, ['max_score']);
  expectStr(obj.id, `${what}.id`, 64);
  if (!QUESTION_KINDS.includes(obj.kind)) throw new InvalidEncoding(`${what}.kind: one of ${QUESTION_KINDS.join(', ')}`);
  expectStr(obj.title, `${what}.title`, 500);
  expectStr(obj.description, `${what}.description`, 5000);
  const options = expectList(obj.options, `${what}.options`, { minLength: 1 });
  if (options.length > MAX_OPTIONS) throw new InvalidEncoding(`${what}: too many options`);
  const ids = new Set();
  options.forEach((option, oi) => {
    const ow = `${what}.options[${oi}]`;
    expectObject(option, ['id', 'title', 'description', 'cost'], ow);
    ids.add(expectStr(option.id, `${ow}.id`, 64));
    expectStr(option.title, `${ow}.title`, 500);
    expectStr(option.description, `${ow}.description`, 5000);
    if (option.cost !== null) expectInt(option.cost, `${ow}.cost`, 0, MAX_AMOUNT);
  });
  if (ids.size !== options.length) throw new InvalidEncoding(`${what}: option ids must be distinct`);
  expectInt(obj.min, `${what}.min`, 0);
  expectInt(obj.max, `${what}.max`, 0);
  if (obj.budget !== null) expectInt(obj.budget, `${what}.budget`, 0, MAX_AMOUNT);
  if ('max_score' in obj) expectInt(obj.max_score, `${what}.max_score`, 1, MAX_SCORE);
  return obj;
}

/**
 * Parse and validate a manifest (a JSON value, JSON text or UTF-8 bytes; text is parsed strictly,
 * §2.4). Returns its parts; `fingerprint = digest(manifest)` and `spec` is the ElectionSpec for
 * ballot encryption and verification.
 */
export function parseManifest(input) {
  const value = typeof input === 'string' || input instanceof Uint8Array ? parseJson(input) : input;
  const obj = expectObject(
    value,
    ['version', 'election', 'questions', 'trustees', 'threshold', 'ceremony', 'public_key', 'verification_keys', 'credentials'],
    'manifest',
  );
  expectVersion(obj, 'manifest');
  const election = expectObject(
    obj.election,
    ['uuid', 'slug', 'title', 'description', 'opens_at', 'closes_at'],
    'manifest.election',
  );
  if (typeof election.uuid !== 'string' || !UUID.test(election.uuid)) {
    throw new InvalidEncoding('manifest.election.uuid: UUIDs are lowercase and hyphenated');
  }
  if (typeof election.slug !== 'string' || !SLUG.test(election.slug)) {
    throw new InvalidEncoding('manifest.election.slug: lowercase letters, digits and hyphens');
  }
  expectStr(election.title, 'manifest.election.title', 500);
  expectStr(election.description, 'manifest.election.description', 20000);
  const opensAt = parseTimestamp(election.opens_at, 'manifest.election.opens_at');
  const closesAt = parseTimestamp(election.closes_at, 'manifest.election.closes_at');
  if (closesAt <= opensAt) throw new InvalidEncoding('manifest.election: closes_at must be after opens_at');

  const questions = expectList(obj.questions, 'manifest.questions', { minLength: 1 });
  if (questions.length > MAX_QUESTIONS) throw new InvalidEncoding('manifest: too many questions');
  const ids = new Set();
  const specs = questions.map((question, qi) => {
    const q = checkQuestion(question, qi);
    ids.add(q.id);
    return questionSpec(q, `manifest.questions[${qi}]`);
  });
  if (ids.size !== questions.length) throw new InvalidEncoding('manifest: question ids must be distinct');

  const trustees = expectList(obj.trustees, 'manifest.trustees', { minLength: 1 });
  if (trustees.length > MAX_TRUSTEES) throw new InvalidEncoding('manifest: too many trustees');
  const trusteeKeys = trustees.map((trustee, i) => {
    const what = `manifest.trustees[${i}]`;
    expectObject(trustee, ['index', 'name', 'public_key'], what);
    if (trustee.index !== i + 1) throw new InvalidEncoding(`${what}.index: trustees are indexed 1..n in order`);
    expectStr(trustee.name, `${what}.name`, 200);
    return pointFromHex(trustee.public_key, { what: `${what}.public_key` });
  });
  const threshold = expectInt(obj.threshold, 'manifest.threshold', 1, trustees.length);
  const vkeys = expectList(obj.verification_keys, 'manifest.verification_keys', { length: trustees.length });
  const verificationKeys = vkeys.map((v, i) => pointFromHex(v, { what: `manifest.verification_keys[${i}]` }));
  const credentials = expectObject(obj.credentials, ['count', 'digest', 'total_weight'], 'manifest.credentials');
  const count = expectInt(credentials.count, 'manifest.credentials.count', 1, 10 ** 8);
  const totalWeight = expectInt(credentials.total_weight, 'manifest.credentials.total_weight', count, 10 ** 12);
  const key = ElectionKey.fromJSON(obj.public_key, 'manifest.public_key');
  const ceremony = checkDigestHex(obj.ceremony, 'manifest.ceremony');
  const credentialsDigest = checkDigestHex(credentials.digest, 'manifest.credentials.digest');
  const fingerprint = digestJson(value);
  const spec = new ElectionSpec({ fingerprint, key, questions: specs, electionUuid: election.uuid, manifest: value });
  return {
    data: value,
    fingerprint,
    electionUuid: election.uuid,
    key,
    questions: specs,
    threshold,
    trusteeKeys,
    verificationKeys,
    ceremony,
    credentialsDigest,
    credentialsCount: count,
    totalWeight,
    opensAt,
    closesAt,
    spec,
  };
}

/** The ElectionSpec of a manifest (JSON value, text or bytes): fingerprint, key, questions, UUID. */
export function specFromManifest(input) {
  return parseManifest(input).spec;
}
