"""Command line: ``pnyx-verify SOURCE`` (exit 0 verified, 1 verification failed, 2 usage or I/O)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from verifier.engine import verify_board
from verifier.report import VerificationFailed
from verifier.source import BoardSource, SourceError

EXIT_VERIFIED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pnyx-verify",
        description="Verify a Pnyx election from its public bulletin board (board.jsonl file or URL).",
        epilog="Exit status: 0 verified (the last line of the report says how far: 'result "
        "verified' or 'verified up to state X, no result yet'), 1 verification failed (or less "
        "than --require-result / --require-ceremony asked for), 2 usage or I/O error.",
    )
    p.add_argument("source", help="board.jsonl file, or the election's board URL")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for ballots (default: all cores)",
    )
    p.add_argument(
        "--since",
        metavar="HEAD_HASH",
        help="re-check proofs only after this previously verified head hash",
    )
    p.add_argument(
        "--require-result",
        action="store_true",
        help="exit 1 unless the board is verified up to its decrypted result (state tallied); "
        "without it a board that stops earlier verifies 'up to state X, no result yet'",
    )
    p.add_argument(
        "--require-ceremony",
        action="store_true",
        help="exit 1 if the election key was installed without a key ceremony on the board "
        "(the server could know it); without it such a board verifies with a warning",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep polling a live board URL and verify new entries as they arrive; stops with "
        "exit 0 once the election is tallied and its result verified (1 at the first failure)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds between polls with --follow (default 5)",
    )
    progress = p.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="show a progress bar"
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    return p


def _progress_bar(source: BoardSource, enabled: bool | None):
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None, None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None, None
    bar = tqdm(
        total=os.path.getsize(source.path),
        unit="B",
        unit_scale=True,
        desc="verifying",
        file=sys.stderr,
    )

    def update(done: int) -> None:
        bar.update(done - bar.n)

    return bar, update


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        print("pnyx-verify: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.since is not None and not re.fullmatch(r"[0-9a-f]{64}", args.since):
        print("pnyx-verify: --since takes a head hash (64 lowercase hex digits)", file=sys.stderr)
        return EXIT_USAGE
    try:
        source = BoardSource(args.source)
    except SourceError as exc:
        print(f"pnyx-verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.follow and source.url is None:
        print("pnyx-verify: --follow needs a board URL", file=sys.stderr)
        return EXIT_USAGE
    bar, update = _progress_bar(source, args.progress)
    try:
        report, verifier = verify_board(
            source,
            jobs=args.jobs,
            since=args.since,
            progress=update,
            keep_open=args.follow,
            # with --follow the result may still come: required once following stops
            require_result=args.require_result and not args.follow,
            require_ceremony=args.require_ceremony,
        )
        if bar is not None:
            bar.close()
        _emit(report, args.json)
        if not args.follow or report.failure is not None:
            return EXIT_VERIFIED if report.verified else EXIT_FAILED
        return _follow(source, verifier, report, args)
    except SourceError as exc:
        print(f"pnyx-verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if "report" not in locals() or not report.verified:
            return EXIT_FAILED
        if args.require_result and not report.result_verified:
            return EXIT_FAILED
        return EXIT_VERIFIED
    finally:
        source.close()


def _emit(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json()), flush=True)
    else:
        print(report.human(), flush=True)


def _follow(source: BoardSource, verifier, report, args) -> int:
    """Poll the live board; verify what it appends; print one line (or JSON) per new head."""
    try:
        while True:
            if report.state == "tallied" and report.result_verified:
                return EXIT_VERIFIED
            time.sleep(args.interval)
            if not source.refresh(verifier.seq - 1, verifier.bytes_done):
                continue
            before = report.entries
            try:
                verifier.feed(source.lines(verifier.bytes_done))
                verifier.finish()
            except VerificationFailed as exc:
                report.failure = exc.finding
                _emit(report, args.json)
                return EXIT_FAILED
            if report.entries != before:
                if args.json:
                    print(json.dumps(report.to_json()), flush=True)
                else:
                    print(
                        f"head #{report.head_seq} {report.head_hash}: {report.entries - before} new entries verified "
                        f"({report.ballots} ballots, state {report.state})",
                        flush=True,
                    )
    finally:
        verifier.close()
