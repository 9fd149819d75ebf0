"""``manage.py simulate_election``: a complete election with generated voters through the real code
paths (services, HTTP API, the trustee tool, Celery tasks on a real worker); see
operations/simulation.py. Prints the totals it expects and the published result; exits 1 if they
differ (or if ``--verify`` finds the board does not verify), 2 on bad options.
"""

from __future__ import annotations

import argparse
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from operations.simulation import (
    QUESTIONS_HELP,
    Simulation,
    SimulationError,
    SimulationOptions,
    SimulationResult,
)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


class Command(BaseCommand):
    help = (
        "Run a complete election with generated voters through the real code paths and check "
        "that the published result is the plaintext totals of the voters' choices."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = (
            QUESTIONS_HELP
            + "\n\nThe tally runs on a Celery worker consuming the 'celery' and 'tally' queues;"
            "\nwith --worker auto (default) one is started for the simulation's duration when"
            "\nnone answers. Login codes are read back from the worker's e-mail (file or locmem"
            "\nbackend). The election stays in the database (slug sim-…). Exit status: 0 the"
            "\nresult matches, 1 it does not (or --verify failed), 2 bad options or a step refused."
        )
        return parser

    def add_arguments(self, parser) -> None:
        d = SimulationOptions()
        parser.add_argument("--voters", type=int, default=d.voters, help="voters on the roll")
        parser.add_argument("--trustees", type=int, default=d.trustees, help="n trustees")
        parser.add_argument("--threshold", type=int, default=d.threshold, help="t of n")
        parser.add_argument(
            "--questions", default=d.questions, metavar="SPEC", help="questions (see below)"
        )
        parser.add_argument(
            "--revote-rate", type=_rate, default=d.revote_rate, help="share of voters voting twice"
        )
        parser.add_argument(
            "--audit-rate",
            type=_rate,
            default=d.audit_rate,
            help="share of voters auditing a ballot (Benaloh) before casting",
        )
        parser.add_argument(
            "--offline-trustees",
            type=int,
            default=d.offline_trustees,
            metavar="K",
            help="trustees who never send their partial decryption (K ≤ trustees − threshold)",
        )
        parser.add_argument(
            "--weights", default=d.weights, help='voter weights: "W" or random "LOW-HIGH"'
        )
        parser.add_argument(
            "--turnout", type=_rate, default=d.turnout, help="share of voters who vote"
        )
        parser.add_argument("--seed", type=int, default=None, help="reproducible choices")
        parser.add_argument("--title", default=d.title, help="the election's title")
        parser.add_argument("--out", metavar="BOARD_JSONL", help="write the board export here")
        parser.add_argument(
            "--verify", action="store_true", help="run pnyx-verify on --out at the end"
        )
        parser.add_argument(
            "--url",
            help="send the HTTP requests to this live server (using the same database and "
            "broker) instead of through Django in this process; its rate limits then see one "
            "client address for every voter",
        )
        parser.add_argument(
            "--worker",
            choices=("auto", "start", "existing"),
            default=d.worker,
            help="use a running Celery worker or start one (default: auto)",
        )
        parser.add_argument(
            "--timeout", type=float, default=d.timeout, help="seconds to wait for each step"
        )
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
        parser.add_argument(
            "--quiet", action="store_true", help="no progress output (the totals are printed)"
        )

    def handle(self, *args, **o) -> None:
        quiet = o["quiet"] or o["verbosity"] == 0 or o["json"]
        options = SimulationOptions(
            voters=o["voters"],
            trustees=o["trustees"],
            threshold=o["threshold"],
            questions=o["questions"],
            revote_rate=o["revote_rate"],
            audit_rate=o["audit_rate"],
            offline_trustees=o["offline_trustees"],
            weights=o["weights"],
            turnout=o["turnout"],
            seed=o["seed"],
            title=o["title"],
            out=o["out"],
            url=o["url"],
            worker=o["worker"],
            timeout=o["timeout"],
            verify=o["verify"],
        )
        if options.verify and not options.out:
            raise CommandError("--verify needs --out", returncode=2)

        def say(text: str) -> None:
            if not quiet:
                self.stderr.write(f"simulate_election: {text}")

        try:
            simulation = Simulation(options, say=say, progress=None if quiet else _progress)
            result = simulation.run()
        except SimulationError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if o["json"]:
            self.stdout.write(json.dumps(_as_json(result)))
        else:
            self._print(simulation, result)
        if not result.matches or result.verify_code not in (None, 0):
            raise SystemExit(1)

    def _print(self, simulation: Simulation, result: SimulationResult) -> None:
        w = self.stdout.write
        w(f"Election {result.slug} ({result.election_id})")
        w(
            f"  {result.voted} voters voted (weight {result.weight}), {result.ballots_cast} "
            f"ballots cast, {result.audits} audited; decrypted by trustees "
            f"{result.trustees_decrypting}"
        )
        published = result.published or {}
        for qi, plan in enumerate(simulation.plans):
            w(f"  {plan.title}")
            got = (published.get("counts") or [])[qi : qi + 1]
            for oi, option in enumerate(plan.options):
                expected = result.expected[qi][oi]
                seen = got[0][oi] if got and oi < len(got[0]) else None
                mark = "" if seen == expected else "   <-- MISMATCH"
                w(f"    {option:<12} expected {expected:>8}  published {seen!s:>8}{mark}")
            if result.expected_funded[qi] is not None:
                funded = (published.get("funded") or [None] * (qi + 1))[qi]
                w(f"    funded: expected {result.expected_funded[qi]}, published {funded}")
        if result.board_path:
            w(f"  board written to {result.board_path}")
        if result.verify_code is not None:
            failure = (result.verify_report or {}).get("failure")
            w(f"  pnyx-verify: exit {result.verify_code}" + (f" — {failure}" if failure else ""))
        w(f"  seconds: {json.dumps(result.seconds)}")
        if result.matches:
            w(self.style.SUCCESS("RESULT MATCHES the voters' choices"))
        else:
            w(self.style.ERROR("RESULT DIFFERS from the voters' choices"))


def _progress(what: str, total: int):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in requirements.txt
        return None
    return tqdm(total=total, desc=what, unit="ballot", file=sys.stderr, leave=False)


def _as_json(result: SimulationResult) -> dict:
    return {
        "election": result.election_id,
        "slug": result.slug,
        "matches": result.matches,
        "expected": {"counts": result.expected, "funded": result.expected_funded},
        "published": result.published,
        "ballots_cast": result.ballots_cast,
        "audits": result.audits,
        "voted": result.voted,
        "weight": result.weight,
        "trustees_decrypting": result.trustees_decrypting,
        "board": result.board_path,
        "verify_exit": result.verify_code,
        "verify_report": result.verify_report,
        "seconds": result.seconds,
    }
