#!/usr/bin/env node
// Encode byte strings as points with the booth's code, for cross-language checks
// (tests/test_js_interop.py).
//
//   node frontend/tools/encode_text.mjs < request.json > response.json
//
// Request: {"messages": [{"hex": "<bytes>", "points": <n> | null}…], "decode": ["<point hex>"…]…}
//   "decode" is a list of point lists to decode.
// Response: {"encoded": [["<point hex>"…]…], "decoded": ["<bytes hex>" | {"error": "<name>"}…]}

import { readFileSync } from 'node:fs';
import { decodeBytes, encodeBytes } from '../src/pointenc.mjs';
import { pointFromHex, pointToHex } from '../src/group.mjs';
import { parseJson } from '../src/hashing.mjs';
import { hexToBytes } from '../support/vectors.mjs';

const request = parseJson(readFileSync(0));
const encoded = request.messages.map(({ hex, points }) =>
  encodeBytes(hexToBytes(hex), points === null ? undefined : points).map(pointToHex),
);
const decoded = request.decode.map((list) => {
  try {
    return Buffer.from(decodeBytes(list.map((h) => pointFromHex(h)))).toString('hex');
  } catch (exc) {
    return { error: exc.constructor.name };
  }
});
process.stdout.write(JSON.stringify({ encoded, decoded }));
