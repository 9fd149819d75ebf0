"""Board append benchmark (issue 11): prints JSON {"append_per_s_<n>", …, "flatness", …}.

Pre-verified ballot entries (the canonical JSON of a real single-choice-of-5 ballot, so each line
has a real ballot's size) are appended to one election's board on PostgreSQL the way the casting
path appends them: in group commits of ``--batch`` entries (one head lock, one multi-row INSERT,
one head update, one commit per batch; board.services.board_append_many). The transparency log is
included: every ``--checkpoint-every`` seconds the tree is caught up and a checkpoint signed
(board.tree.board_checkpoint), in the same loop, so its cost is in the rate.

``append_per_s_<n>`` is the rate over the last ``--window`` entries before the board reached
``n`` entries; ``flatness`` the rate at the largest size ÷ the rate at the smallest (1.0: flat).
Goal: ≥ 5,000 entries/s, flat from 10⁴ to 10⁶ entries.

    python bench/append.py [--sizes 10000,100000,1000000] [--batch 64] [--checkpoint-every 2]

The database is ``PNYX_BENCH_APPEND_DATABASE_URL`` (default postgres://…/pnyx_bench_append),
dropped and re-created by each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get(
    "PNYX_BENCH_APPEND_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pnyx_bench_append"
)


def _recreate_database() -> None:
    name = DB_URL.rsplit("/", 1)[1]
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-q", "-c", sql], check=True)  # noqa: S603, S607


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--checkpoint-every", type=float, default=2.0)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    _recreate_database()
    os.environ["DATABASE_URL"] = DB_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from board.models import BoardTreeHash
    from board.services import board_append_many, board_lock
    from board.tree import board_checkpoint
    from voting.services.elections import election_create

    call_command("migrate", verbosity=0)
    ballot = json.loads((ROOT / "tests" / "vectors" / "ballots.json").read_text())
    # a ballot of one question with four options (the vectors' first answer), as cast
    sample = {**ballot["ballot"], "answers": ballot["ballot"]["answers"][:1]}
    now = timezone.now()
    with transaction.atomic():
        election = election_create(
            slug="bench-append",
            title="Append benchmark",
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(days=1),
        )
    eid = election.pk

    count, marks, results = 1, [], {}
    last_checkpoint = time.perf_counter()
    checkpoints = 0
    started = time.perf_counter()
    target = sizes[-1]
    while count < target:
        n = min(args.batch, target - count)
        items = [
            ("ballot", {"ballot": sample, "tracker": f"{count + i:064x}"}, f"{count + i:064x}")
            for i in range(n)
        ]
        with transaction.atomic():
            head = board_lock(election_id=eid)
            board_append_many(head=head, items=items)
        count += n
        if time.perf_counter() - last_checkpoint >= args.checkpoint_every:
            board_checkpoint(election_id=eid)
            checkpoints += 1
            last_checkpoint = time.perf_counter()
        marks.append((count, time.perf_counter()))
        for size in sizes:
            if f"append_per_s_{size}" not in results and count >= size:
                earlier = [m for m in marks if m[0] <= count - args.window]
                base = earlier[-1] if earlier else (1, started)
                results[f"append_per_s_{size}"] = round(
                    (count - base[0]) / (marks[-1][1] - base[1])
                )
        if len(marks) > 4096:  # keep the window's marks only
            marks = marks[-2048:]
    board_checkpoint(election_id=eid)
    total = time.perf_counter() - started
    rates = [results[f"append_per_s_{s}"] for s in sizes]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('voting_boardentry')")
        (table_bytes,) = cursor.fetchone()
    print(
        json.dumps(
            {
                **results,
                "flatness": round(rates[-1] / rates[0], 2),
                "append_per_s_overall": round(count / total),
                "batch": args.batch,
                "checkpoints": checkpoints + 1,
                "stored_hashes": BoardTreeHash.objects.filter(election_id=eid).count(),
                "entry_bytes": len(json.dumps(sample)) + 300,
                "board_table_mb": round(table_bytes / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
