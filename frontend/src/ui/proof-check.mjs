// A receipt that is a proof (docs/protocol.md §14.6, §14.11), checked in the browser: the entry is
// in the tree of the receipt's checkpoint, signed by the board key of the election's genesis
// entry; the latest checkpoint extends it (a consistency proof); and the latest checkpoint is
// cosigned by the quorum of witnesses the manifest names. The server only hands over hashes and
// signed notes: it cannot make a false receipt check out, nor show a board that drops it.

import { hexToBytes } from '@noble/hashes/utils.js';
import {
  PROOF_HEADER,
  SIG_ED25519,
  b64decode,
  b64encode,
  keyId,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parsePnyxOrigin,
  parseTlogProof,
  parseVkey,
  verifyCheckpointConsistency,
  verifyEntryProof,
  witnessPolicy,
} from '../tlog.mjs';
import { ApiError, apiCall } from './api.mjs';

export function isProofReceipt(text) {
  return typeof text === 'string' && text.startsWith(`${PROOF_HEADER}\n`);
}

/** The log key: the genesis board key as a type-0x01 note key named by the origin (§14.4). */
export function logKeyFor(origin, boardKeyHex) {
  const key = hexToBytes(boardKeyHex);
  const material = new Uint8Array(33);
  material[0] = SIG_ED25519;
  material.set(key, 1);
  const id = keyId(origin, SIG_ED25519, key).toString(16).padStart(8, '0');
  return parseVkey(`${origin}+${id}+${b64encode(material)}`);
}

async function fetchText(url) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network_error');
  }
  if (!response.ok) {
    let code = 'unexpected';
    try {
      code = (await response.json())?.error?.code ?? code;
    } catch {
      /* not the API's JSON */
    }
    throw new ApiError(response.status, code);
  }
  return response.text();
}

/**
 * Check `text` (a tlog proof) for the election `electionId` whose board API is `boardUrl`
 * (…/board/). Resolves to `{entry, receiptSize, latestSize, cosigned, witnesses, quorum}`;
 * rejects with a CryptoError when something does not check out (the server's fault: keep the
 * evidence), or with an ApiError when the server cannot be asked.
 */
export async function checkProofReceipt(text, { boardUrl, electionId }) {
  const proof = parseTlogProof(text);
  const mine = parseCheckpoint(parseNote(proof.checkpoint).text);
  if (parsePnyxOrigin(mine.origin).election !== electionId) {
    const error = new Error('another election');
    error.code = 'other_election';
    throw error;
  }
  const [genesis] = (await apiCall('GET', `${boardUrl}?kind=election&limit=1`)).results;
  const [manifestEntry] = (await apiCall('GET', `${boardUrl}?kind=manifest&limit=1`)).results;
  const named = manifestEntry?.payload?.manifest?.witnesses ?? { list: [], quorum: 0 };
  const keys = named.list.map((w) => w.key);
  const logKey = logKeyFor(mine.origin, genesis.payload.board_key);
  const origin = mine.origin;
  const { entry } = verifyEntryProof(proof, { origin, logKey, policy: witnessPolicy(keys, 0) });
  const latestText = await fetchText(boardUrl.replace(/board\/$/, 'checkpoint'));
  const latest = openCheckpoint(latestText, { origin, logKey, policy: witnessPolicy(keys, named.quorum) });
  const answer = await apiCall(
    'GET',
    `${boardUrl}proof/consistency?old=${mine.size}&new=${latest.checkpoint.size}`,
  );
  const hashes = answer.proof.map((h) => b64decode(h, 'consistency proof'));
  verifyCheckpointConsistency(mine, latest.checkpoint, hashes);
  return {
    entry,
    receiptSize: Number(mine.size),
    latestSize: Number(latest.checkpoint.size),
    cosigned: latest.witnesses.length,
    witnesses: keys.length,
    quorum: named.quorum,
    latest: latestText,
  };
}
