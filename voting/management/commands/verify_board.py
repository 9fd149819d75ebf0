"""``manage.py verify_board ELECTION [--distributed] [--jobs N] [--json] [--since HASH]``.

Runs the observers' verifier on the board stored in the database. ``--distributed`` checks the
ballots in Celery tasks (on every machine running a worker) and merges the results into the same
report. Exit status as pnyx-verify: 0 verified, 1 verification failed, 2 usage error.
"""

from __future__ import annotations

import json
import re

from django.core.management.base import BaseCommand, CommandError

from board.verification import board_verify
from voting.models import Election


class Command(BaseCommand):
    help = "Verify an election's board from the database (optionally spread over Celery workers)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("election", help="slug or UUID of the election")
        parser.add_argument(
            "--distributed", action="store_true", help="check ballots in Celery tasks"
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=None,
            help="local worker processes, or chunks in flight per worker with --distributed",
        )
        parser.add_argument("--since", metavar="HEAD_HASH", help="skip proofs up to this head")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        ref = options["election"]
        query = {"pk": ref} if re.fullmatch(r"[0-9a-f-]{36}", ref) else {"slug": ref}
        try:
            election = Election.objects.get(**query)
        except Election.DoesNotExist as exc:
            raise CommandError(f"no election {ref!r}", returncode=2) from exc
        jobs = options["jobs"] or (4 if options["distributed"] else None)
        report = board_verify(
            election_id=election.pk,
            label=election.slug,
            distributed=options["distributed"],
            jobs=jobs,
            since=options["since"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json()))
        else:
            self.stdout.write(report.human())
        if not report.verified:
            raise SystemExit(1)
