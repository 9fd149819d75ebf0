"""Trustee verification benchmark: prints JSON {"ballots", "full_s_jobs1", "full_s_jobs2",
"after_ceremony_s", "after_voting_s", "repeat_s", "ratio_after_voting_to_full"}.

What a worker trustee verifies before it decrypts (tally/trustee_worker.py ``board_sync``), on a
board of 1,000 ballots (one single-choice question of 5 options, a 2-of-3 key ceremony, closed and
tallied, no decryption yet) built once with the crypto core (tests/verifier/boardgen.py) and
cached under var/bench/:

* ``full_s_jobs1`` / ``full_s_jobs2``: the whole board, nothing verified before (1 and 2 verifier
  processes);
* ``after_ceremony_s``: the trustee last verified the board after the key ceremony (its usual
  state: it was asked nothing while voters voted), so every ballot is new;
* ``after_voting_s``: it last verified the board at the last ballot (had it been asked to look
  during voting), so only the close and the tally are new: the chain and the tally are
  recomputed over every ballot, no ballot proof is checked again;
* ``repeat_s``: a second request once the tally is verified.

Each figure is ``board_sync`` with a file source (the copy, the verifier, the reading of the step's
inputs, the key store's head) with 1 verifier process unless said; wall-clock seconds, best of 3.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "var" / "bench"
BALLOTS = 1000
PASSPHRASE = "bench trustee passphrase, not a secret"  # noqa: S105 - a bench key store


def build_board(ballots: int) -> Path:
    from tests.verifier.boardgen import SINGLE5, BoardBuilder

    path = CACHE / f"trustee-board-{ballots}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(ballots)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as sink:
        b = BoardBuilder(questions=[SINGLE5], sink=sink)
        b.run_ceremony(3, 2)
        b.publish_credentials(ballots)
        b.open()
        batch = []
        for v in range(ballots):
            picks = [0] * 5
            picks[rng.randrange(5)] = 1
            batch.append((v, [picks]))
        b.cast_many(batch)
        b.close_and_tally()
    tmp.rename(path)
    return path


def head_at(lines: list[bytes], index: int) -> dict:
    digest = re.search(rb'"hash":"([0-9a-f]{64})"', lines[index][:400]).group(1).decode()
    return {"seq": index, "hash": digest}


def timed_sync(board: Path, head: dict | None, jobs: int, workdir: Path) -> float:
    """``board_sync`` from a trustee state whose last verified head is ``head``."""
    from tally import keystore
    from tally.trustee_worker import board_sync, local_board

    lines = board.read_bytes().splitlines(keepends=True)
    election = json.loads(lines[0])["election"]
    store_path = workdir / "trustee.json"
    if not store_path.exists():
        keystore.create(
            store_path,
            election=election,
            index=1,
            public_key="00",
            y_hex="00",
            passphrase=PASSPHRASE,
        )
    store = keystore.unlock(store_path, PASSPHRASE)
    best = float("inf")
    for _ in range(3):
        if head is None:
            store.secrets.pop("board", None)
            local_board(store_path).unlink(missing_ok=True)
        else:
            store.secrets["board"] = dict(head)
            local_board(store_path).write_bytes(b"".join(lines[: head["seq"] + 1]))
        started = time.perf_counter()
        board_sync(store, str(board), jobs=jobs)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    board = build_board(BALLOTS)
    lines = board.read_bytes().splitlines(keepends=True)
    kinds = [re.search(rb'"kind":"([a-z-]+)"', line[:400]).group(1).decode() for line in lines]
    last_before_ballots = kinds.index("manifest") - 1
    last_ballot = len(kinds) - 1 - kinds[::-1].index("ballot")
    tally = kinds.index("tally")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        full1 = timed_sync(board, None, 1, workdir)
        full2 = timed_sync(board, None, 2, workdir)
        after_ceremony = timed_sync(board, head_at(lines, last_before_ballots), 1, workdir)
        after_voting = timed_sync(board, head_at(lines, last_ballot), 1, workdir)
        repeat = {**head_at(lines, len(lines) - 1), "since": head_at(lines, tally - 1)["hash"]}
        repeated = timed_sync(board, repeat, 1, workdir)
    print(
        json.dumps(
            {
                "ballots": BALLOTS,
                "full_s_jobs1": round(full1, 3),
                "full_s_jobs2": round(full2, 3),
                "after_ceremony_s": round(after_ceremony, 3),
                "after_voting_s": round(after_voting, 3),
                "repeat_s": round(repeated, 3),
                "ratio_after_voting_to_full": round(after_voting / full1, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
