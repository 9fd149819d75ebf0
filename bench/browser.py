"""Browser booth benchmark: prints one JSON object.

``browser_encrypt20_ms``: median time to encrypt and prove a ballot of 20 options (one approval
question, min 0, max 5, 5 chosen, signature included) in headless Chromium (Playwright driving
/usr/bin/chromium), with the built bundle static/booth/booth.js, called as the booth calls it
(``encryptBallot`` with the credential code) but without its self-check. Goal ≤ 300 ms.
``browser_encrypt20_selfcheck_ms``: the same with the booth's default self-check (it verifies its
own ballot before showing the tracker), i.e. what a voter waits for.
``browser_score10_ms``: the same for a score ballot (one score question of 10 options, each
scored 0…10 at random: 10 range proofs of 11 branches, docs/protocol.md §5.5), without the
self-check; same goal.

The page is a static page served from a temporary directory on 127.0.0.1 (the bundle is copied
there); the election key and the credential code come from the Python core. ``make js`` first.

    python bench/browser.py [--runs 21]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crypto.credentials import generate_code  # noqa: E402
from crypto.group import Scalar, base_mul  # noqa: E402
from crypto.hashing import digest_json  # noqa: E402

BUNDLE = ROOT / "static" / "booth" / "booth.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
GOAL_MS = 300

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>booth bench</title>
<script type="module" src="bench.mjs"></script></head><body></body></html>
"""

# Runs in the page: builds the spec as loadElection would (precomputed key table), warms up,
# then times each ballot; each run chooses 5 of the 20 options at random.
SCRIPT = """
import { ElectionSpec, encryptBallot } from './booth.js';

function choices() {
  const picks = Array(20).fill(0);
  const order = [...Array(20).keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const i of order.slice(0, 5)) picks[i] = 1;
  return [picks];
}

function scores() {
  return [Array.from({ length: 10 }, () => Math.floor(Math.random() * 11))];
}

window.runBench = (params) => {
  const spec = ElectionSpec.fromJSON(params.spec, { electionUuid: params.uuid });
  spec.key.precompute();
  const scoreSpec = ElectionSpec.fromJSON(params.scoreSpec, { electionUuid: params.uuid });
  scoreSpec.key.precompute();
  for (let i = 0; i < 3; i++) encryptBallot(spec, params.code, choices());  // warm-up (JIT)
  encryptBallot(scoreSpec, params.code, scores(), { selfCheck: false });
  const times = { plain: [], selfCheck: [], score: [] };
  for (let i = 0; i < params.runs; i++) {
    for (const [name, selfCheck] of [['plain', false], ['selfCheck', true]]) {
      const c = choices();
      const t = performance.now();
      const out = encryptBallot(spec, params.code, c, { selfCheck });
      times[name].push(performance.now() - t);
      if (out.ballot.answers[0].choices.length !== 20) throw new Error('wrong ballot');
    }
    const t = performance.now();
    const out = encryptBallot(scoreSpec, params.code, scores(), { selfCheck: false });
    times.score.push(performance.now() - t);
    if (out.ballot.answers[0].choice_proofs[0].commitments.length !== 11) throw new Error('wrong ballot');
  }
  return times;
};
window.benchReady = true;
"""


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description="browser booth benchmark (JSON on stdout)")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    if not BUNDLE.exists():
        print("bench/browser.py: static/booth/booth.js is missing: run `make js`", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    key_hex = base_mul(Scalar.random()).to_hex()
    params = {
        "spec": {
            "fingerprint": digest_json({"bench": "approval-20"}),
            "public_key": key_hex,
            "questions": [{"options": 20, "min": 0, "max": 5, "costs": None, "budget": None}],
        },
        "scoreSpec": {
            "fingerprint": digest_json({"bench": "score-10"}),
            "public_key": key_hex,
            "questions": [
                {
                    "options": 10,
                    "min": 0,
                    "max": 100,
                    "costs": None,
                    "budget": None,
                    "max_score": 10,
                }
            ],
        },
        "uuid": str(uuid.uuid4()),
        "code": generate_code(),
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        shutil.copy(BUNDLE, directory / "booth.js")
        (directory / "index.html").write_text(PAGE)
        (directory / "bench.mjs").write_text(SCRIPT)
        server, url = serve(directory)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page()
                page.goto(f"{url}/index.html")
                page.wait_for_function("window.benchReady === true")
                times = page.evaluate("(params) => window.runBench(params)", params)
                version = browser.version
                browser.close()
        finally:
            server.shutdown()
    result = {
        "browser_encrypt20_ms": round(float(statistics.median(times["plain"])), 1),
        "browser_encrypt20_selfcheck_ms": round(float(statistics.median(times["selfCheck"])), 1),
        "browser_score10_ms": round(float(statistics.median(times["score"])), 1),
    }
    print(json.dumps(result))
    for key in ("browser_encrypt20_ms", "browser_score10_ms"):
        verdict = "ok" if result[key] <= GOAL_MS else "ABOVE GOAL"
        print(
            f"{key} = {result[key]} (goal ≤ {GOAL_MS}) {verdict}; "
            f"Chromium {version}, {args.runs} runs",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
