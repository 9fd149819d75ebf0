// Reads a JSON batch of transparency-log checks on stdin, answers one verdict per check on
// stdout: "ok" or the name of the error class thrown. Used by tests/test_tlog_js_interop.py to
// compare the browser library with the Python core on random cases.
import { readFileSync } from 'node:fs';
import { b64decode, openCheckpoint, parseVkey, verifyConsistency, verifyEntryProof, verifyInclusion, witnessPolicy } from '../src/tlog.mjs';

const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const b64s = (list) => list.map((x) => b64decode(x, 'proof'));

function run(check) {
  switch (check.op) {
    case 'inclusion':
      return verifyInclusion(hex(check.leaf), BigInt(check.index), BigInt(check.size), b64s(check.proof), hex(check.root));
    case 'consistency':
      return verifyConsistency(BigInt(check.old), BigInt(check.new), hex(check.old_root), hex(check.new_root), b64s(check.proof));
    case 'checkpoint':
      return openCheckpoint(check.note, {
        origin: check.origin,
        logKey: parseVkey(check.log_vkey),
        policy: witnessPolicy(check.witness_vkeys, check.quorum),
      });
    case 'entry-proof':
      return verifyEntryProof(check.proof, {
        origin: check.origin,
        logKey: parseVkey(check.log_vkey),
        policy: witnessPolicy(check.witness_vkeys, check.quorum),
      });
    default:
      throw new Error(`unknown op ${check.op}`);
  }
}

const checks = JSON.parse(readFileSync(0, 'utf8'));
const verdicts = checks.map((check) => {
  try {
    run(check);
    return 'ok';
  } catch (err) {
    return err.name;
  }
});
process.stdout.write(JSON.stringify(verdicts));
