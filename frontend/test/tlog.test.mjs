// The browser's transparency-log library against tests/vectors/tlog.json (made by the Python
// core): every tree hash and proof of a 17-entry board, checkpoints with cosignatures, receipts
// as tlog proofs, and every invalid case refused with the error class Python raises.
import test from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { loadVector } from '../support/vectors.mjs';
import * as errors from '../src/errors.mjs';
import {
  EMPTY_ROOT,
  b64decode,
  b64encode,
  checkKeyName,
  consistencyRoots,
  cosignatureMessage,
  leafHash,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parsePnyxOrigin,
  parseTlogProof,
  parseVkey,
  pnyxOrigin,
  verifyCheckpointConsistency,
  verifyConsistency,
  verifyEntryProof,
  verifyInclusion,
  verifyTlogProof,
  witnessPolicy,
} from '../src/tlog.mjs';

const V = loadVector('tlog.json');
const LOG = parseVkey(V.log.vkey);
const POLICY = witnessPolicy(V.witnesses.map((w) => w.vkey), V.quorum);
const ROOTS = V.roots.map(hexToBytes);
const b64s = (list) => list.map((x) => b64decode(x, 'vector'));

function throwsExactly(fn, name, message) {
  assert.throws(fn, (err) => {
    assert.equal(err.name, name, `${message}: got ${err.name}: ${err.message}`);
    assert.ok(err instanceof errors[name]);
    return true;
  });
}

test('tlog: leaf hashes and tree roots', () => {
  assert.equal(bytesToHex(EMPTY_ROOT), V.roots[0]);
  V.leaves.forEach((leaf, i) => assert.equal(bytesToHex(leafHash(utf8ToBytes(leaf))), V.leaf_hashes[i]));
});

test('tlog: every inclusion and consistency proof of the board verifies', () => {
  for (const { index, size, proof } of V.inclusion) {
    verifyInclusion(hexToBytes(V.leaf_hashes[index]), index, size, b64s(proof), ROOTS[size]);
    verifyInclusion(hexToBytes(V.leaf_hashes[index]), BigInt(index), BigInt(size), b64s(proof), ROOTS[size]);
  }
  for (const { old, new: size, proof } of V.consistency) {
    verifyConsistency(old, size, ROOTS[old], ROOTS[size], b64s(proof));
  }
  assert.equal(V.inclusion.length, (17 * 18) / 2);
});

test('tlog: invalid proofs are refused', () => {
  for (const c of V.invalid_inclusion) {
    throwsExactly(
      () => verifyInclusion(hexToBytes(c.leaf), c.index, c.size, b64s(c.proof), ROOTS[c.size]),
      'InvalidMerkleProof',
      c.reason,
    );
  }
  for (const c of V.invalid_consistency) {
    const m = Math.min(c.old, 17);
    const n = Math.min(c.new, 17);
    throwsExactly(
      () => verifyConsistency(c.old, c.new, ROOTS[m], ROOTS[n], b64s(c.proof)),
      'InvalidMerkleProof',
      c.reason,
    );
  }
  // every single-hash change of every proof of the 13-leaf tree
  for (const { index, size, proof } of V.inclusion.filter((c) => c.size === 13)) {
    proof.forEach((_, k) => {
      const bad = b64s(proof);
      bad[k] = Uint8Array.from(bad[k], (b, j) => (j === 0 ? b ^ 1 : b));
      throwsExactly(
        () => verifyInclusion(hexToBytes(V.leaf_hashes[index]), index, size, bad, ROOTS[size]),
        'InvalidMerkleProof',
        `inclusion ${index}/${size} hash ${k}`,
      );
    });
  }
  for (const { old, new: size, proof } of V.consistency.filter((c) => c.new === 13 && c.old > 0 && c.old < 13)) {
    proof.forEach((_, k) => {
      const bad = b64s(proof);
      bad[k] = Uint8Array.from(bad[k], (b, j) => (j === 31 ? b ^ 0x80 : b));
      throwsExactly(
        () => verifyConsistency(old, size, ROOTS[old], ROOTS[size], bad),
        'InvalidMerkleProof',
        `consistency ${old}/${size} hash ${k}`,
      );
    });
  }
  throwsExactly(() => verifyInclusion(new Uint8Array(31), 0, 1, [], ROOTS[1]), 'InvalidEncoding', 'short leaf');
  throwsExactly(() => verifyInclusion(ROOTS[1], 0, 1.5, [], ROOTS[1]), 'InvalidMerkleProof', 'fractional size');
});

test('tlog: a forked prefix shows through consistencyRoots', () => {
  // the proof from 6 to 13 yields, from the proof alone, the root of the first 6 leaves
  const { proof } = V.consistency.find((c) => c.old === 6 && c.new === 13);
  const [fr, sr] = consistencyRoots(6, 13, b64s(proof), new Uint8Array(32));
  assert.equal(bytesToHex(fr), V.roots[6]);
  assert.equal(bytesToHex(sr), V.roots[13]);
});

test('tlog: the C2SP signed-note example verifies', () => {
  const example = loadVector('c2sp/signed-note-example.json');
  const verifier = parseVkey(example.vkey);
  assert.equal(verifier.vkey, example.vkey);
  const opened = openNote(example.note, [verifier]);
  assert.equal(opened.text, example.text);
  assert.equal(opened.verified.length, 1);
  assert.throws(() => openNote(example.note.replace('example message', 'example massage'), [verifier]), errors.InvalidSignature);
});

test('tlog: strict base64, key names, vkeys and origins', () => {
  assert.deepEqual(b64decode('AAAA', 'x'), new Uint8Array(3));
  for (const bad of ['AAA', 'AA=A', 'AAB=', 'AAAA\n', ' AAAA', 'AA==AA==', 'AA-_', 'ÄAAA']) {
    assert.throws(() => b64decode(bad, 'x'), errors.InvalidNote, bad);
  }
  for (let n = 0; n < 40; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    assert.deepEqual(b64decode(b64encode(bytes), 'x'), bytes);
    assert.equal(b64encode(bytes), Buffer.from(bytes).toString('base64'));
  }
  for (const name of ['a b', 'a+b', 'a\u00a0b', 'a\u0085b', 'a\u3000b', 'a\tb', '']) {
    assert.throws(() => checkKeyName(name), errors.InvalidNote, JSON.stringify(name));
  }
  checkKeyName('a\ufeffb'); // not White_Space, accepted by Python too
  assert.equal(LOG.vkey, V.log.vkey);
  for (const { vkey, reason } of V.invalid_vkeys) throwsExactly(() => parseVkey(vkey), 'InvalidNote', reason);
  assert.deepEqual(parsePnyxOrigin(V.origin), { host: 'vote.example.org', election: V.origin.split('/').pop() });
  assert.equal(pnyxOrigin('vote.example.org', V.origin.split('/').pop()), V.origin);
  assert.throws(() => pnyxOrigin('Vote.example.org', V.origin.split('/').pop()), errors.InvalidNote);
});

test('tlog: cosignature/v1 message and checkpoints with their witnesses', () => {
  const c = V.cosignature;
  assert.equal(new TextDecoder().decode(cosignatureMessage(c.text, c.timestamp)), c.message);
  const opened = openNote(`${c.text}\n${c.line}`, [POLICY.witnesses[0]]);
  assert.equal(opened.verified[0].timestamp, BigInt(c.timestamp));
  for (const cp of V.checkpoints) {
    const plain = openCheckpoint(cp.note, { origin: V.origin, logKey: LOG });
    assert.equal(plain.checkpoint.size, BigInt(cp.size));
    if (cp.witnesses >= V.quorum) {
      const checked = openCheckpoint(cp.note, { origin: V.origin, logKey: V.log.vkey, policy: POLICY });
      assert.equal(checked.witnesses.length, cp.witnesses);
    } else {
      throwsExactly(() => openCheckpoint(cp.note, { origin: V.origin, logKey: LOG, policy: POLICY }), 'QuorumNotMet', `size ${cp.size}`);
    }
  }
  for (const { note, reason, error } of V.invalid_checkpoints) {
    throwsExactly(() => openCheckpoint(note, { origin: V.origin, logKey: LOG, policy: POLICY }), error, reason);
  }
  // bytes in, bytes refused: invalid UTF-8 and lone surrogates
  const good = V.checkpoints[1].note;
  assert.throws(() => parseNote(Uint8Array.of(...utf8ToBytes(good), 0xff)), errors.InvalidNote);
  assert.throws(() => parseNote(good.replace('vote', 'vo\ud800te')), errors.InvalidNote);
  assert.throws(() => parseCheckpoint('a\n01\n' + b64encode(new Uint8Array(32)) + '\n'), errors.InvalidNote);
});

test('tlog: every single-byte change of a cosigned checkpoint is refused', () => {
  // exactly a quorum of witnesses: a line turned into an unknown key's leaves too few
  const { note: text, witnesses } = V.checkpoints[1];
  assert.equal(witnesses, V.quorum);
  const note = utf8ToBytes(text);
  const policy = POLICY;
  for (let i = 0; i < note.length; i++) {
    const bad = note.slice();
    bad[i] ^= 0x04;
    assert.throws(
      () => openCheckpoint(bad, { origin: V.origin, logKey: LOG, policy }),
      errors.CryptoError,
      `byte ${i}`,
    );
  }
});

test('tlog: receipts as tlog proofs, and forged ones', () => {
  for (const { index, tracker, proof } of V.tlog_proofs) {
    const { entry, checkpoint, witnesses } = verifyEntryProof(proof, { origin: V.origin, logKey: LOG, policy: POLICY, tracker });
    assert.equal(entry.seq, index);
    assert.equal(checkpoint.size, 17n);
    assert.equal(witnesses.length, 2);
    const parsed = parseTlogProof(proof);
    verifyTlogProof(parsed, { leaf: utf8ToBytes(V.leaves[index]), origin: V.origin, logKey: LOG, policy: POLICY });
  }
  const { proof } = V.tlog_proofs[1];
  throwsExactly(
    () => verifyEntryProof(proof, { origin: V.origin, logKey: LOG, policy: POLICY, tracker: V.tlog_proofs[2].tracker }),
    'InvalidMerkleProof',
    'another tracker',
  );
  for (const { proof: bad, reason, error } of V.invalid_tlog_proofs) {
    throwsExactly(() => verifyEntryProof(bad, { origin: V.origin, logKey: LOG, policy: POLICY }), error, reason);
  }
});

test('tlog: the check page steps from the receipt checkpoint to a later one', () => {
  const earlier = parseCheckpoint(parseNote(V.checkpoints.find((c) => c.size === 8).note).text);
  const later = parseCheckpoint(parseNote(V.checkpoints.at(-1).note).text);
  const { proof } = V.consistency.find((c) => c.old === 8 && c.new === 17);
  verifyCheckpointConsistency(earlier, later, b64s(proof));
  throwsExactly(() => verifyCheckpointConsistency(later, earlier, b64s(proof)), 'InvalidMerkleProof', 'backwards');
  // the add-checkpoint body's proof takes the witness from 12 to 17
  const body = V.add_checkpoint;
  const lines = body.split('\n\n')[0].split('\n');
  assert.equal(lines[0], 'old 12');
  verifyConsistency(12, 17, ROOTS[12], ROOTS[17], b64s(lines.slice(1)));
});
