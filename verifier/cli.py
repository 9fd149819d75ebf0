"""Command line: ``pnyx-verify SOURCE`` (exit 0 verified, 1 verification failed, 2 usage or I/O)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
from pathlib import Path

from crypto.errors import CryptoError
from verifier.engine import verify_board
from verifier.log import (
    LogProblem,
    LogReport,
    check_log,
    check_receipt,
    checkpoints_url,
    follow_checkpoint,
    load_checkpoints,
)
from verifier.report import VerificationFailed
from verifier.source import BoardSource, SourceError, export_url

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
    p.add_argument(
        "--checkpoints",
        metavar="FILE_OR_URL",
        help="the board's published checkpoints (the API's checkpoints URL, or a JSON file of "
        "notes); for a board URL they are fetched from the server by default",
    )
    p.add_argument(
        "--no-checkpoints", action="store_true", help="do not check the transparency log"
    )
    p.add_argument(
        "--require-witnessed",
        action="store_true",
        help="exit 1 unless a checkpoint covers the whole board and is cosigned by the quorum of "
        "witnesses the manifest names",
    )
    p.add_argument(
        "--receipt",
        metavar="FILE",
        help="check only this voter's receipt (a tlog proof) against the election's latest "
        "witnessed checkpoint, downloading O(log n) data; SOURCE is the election's URL",
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
    if args.receipt:
        return _receipt(args)
    notes = None
    try:
        # the checkpoints first: the export fetched after them covers every one
        if args.checkpoints:
            notes = load_checkpoints(args.checkpoints)
        elif not args.no_checkpoints and re.match(r"^https?://", args.source):
            try:
                notes = load_checkpoints(checkpoints_url(export_url(args.source)))
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
                # a server of protocol version 1 publishes no log: verify the board alone
                print("pnyx-verify: this server publishes no checkpoints", file=sys.stderr)
    except (OSError, ValueError, KeyError, LogProblem, SourceError) as exc:
        print(f"pnyx-verify: cannot read the checkpoints: {exc}", file=sys.stderr)
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
        log = None
        # --follow holds back the entries past the largest checkpoint: each later checkpoint is
        # checked against them when it comes (consistency proof, then its root)
        held: list | None = [] if args.follow else None
        if notes is not None and report.failure is None:
            log = check_log(
                ((seq, line.rstrip(b"\n")) for seq, (_, line) in enumerate(source.lines())),
                notes,
                hold_back=held,
            )
        _emit(report, args.json, log)
        if log is not None and log.problem:
            return EXIT_FAILED
        if args.require_witnessed and not _witnessed(log, report):
            print(
                "pnyx-verify: --require-witnessed: no checkpoint covering the whole board "
                "with the witness quorum",
                file=sys.stderr,
            )
            return EXIT_FAILED
        if not args.follow or report.failure is not None:
            return EXIT_VERIFIED if report.verified else EXIT_FAILED
        return _follow(source, verifier, report, args, log if held is not None else None, held)
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


def _emit(report, as_json: bool, log: LogReport | None = None) -> None:
    if as_json:
        data = report.to_json()
        if log is not None:
            data["log"] = log.to_json()
        print(json.dumps(data), flush=True)
    else:
        print(report.human(), flush=True)
        if log is not None:
            print(log.human(), flush=True)
            if log.fork is not None:
                print("fork proof:\n" + json.dumps(log.fork, indent=2), flush=True)


def _witnessed(log: LogReport | None, report) -> bool:
    return (
        log is not None
        and not log.problem
        and log.largest == report.entries
        and log.witnesses > 0
        and log.cosigned_largest >= max(log.quorum, 1)
    )


def _receipt(args) -> int:
    """``--receipt FILE SOURCE``: one voter's receipt against the latest witnessed checkpoint."""
    try:
        receipt = Path(args.receipt).read_bytes()
        api = export_url(args.source).rsplit("/", 1)[0]
    except (OSError, SourceError) as exc:
        print(f"pnyx-verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        verdict = check_receipt(receipt, api)
    except LogProblem as exc:
        if args.json:
            print(json.dumps({"verified": False, "problem": str(exc), "fork": exc.fork}))
        else:
            print(f"receipt NOT verified: {exc}")
            if exc.fork is not None:
                print("fork proof:\n" + json.dumps(exc.fork, indent=2))
        return EXIT_FAILED
    except CryptoError as exc:
        if args.json:
            print(json.dumps({"verified": False, "problem": str(exc)}))
        else:
            print(f"receipt NOT verified: {exc}")
        return EXIT_FAILED
    except (OSError, ValueError, KeyError, IndexError) as exc:
        print(f"pnyx-verify: cannot fetch what the receipt needs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(verdict.to_json()) if args.json else verdict.human())
    return EXIT_VERIFIED


def _follow(source: BoardSource, verifier, report, args, log=None, held=None) -> int:
    """Poll the live board; verify what it appends; print one line (or JSON) per new head. With
    the log (``log.checker``): at each poll, advance to the server's latest checkpoint with its
    consistency proof from the last one checked, and check its root against the entries."""
    checker = getattr(log, "checker", None)
    api = export_url(args.source).rsplit("/", 1)[0]
    try:
        while True:
            if report.state == "tallied" and report.result_verified:
                return EXIT_VERIFIED
            time.sleep(args.interval)
            grew = source.refresh(verifier.seq - 1, verifier.bytes_done)
            before, start = report.entries, verifier.bytes_done
            if grew:
                try:
                    verifier.feed(source.lines(verifier.bytes_done))
                    verifier.finish()
                except VerificationFailed as exc:
                    report.failure = exc.finding
                    _emit(report, args.json)
                    return EXIT_FAILED
                if checker is not None:
                    held.extend(
                        (before + i, line.rstrip(b"\n"))
                        for i, (_, line) in enumerate(source.lines(start))
                        if before + i < report.entries
                    )
            if checker is not None:
                checked = checker.last[0] if checker.last else 0
                try:
                    follow_checkpoint(checker, api, held)
                except (LogProblem, CryptoError) as exc:
                    log.problem, log.fork = str(exc), getattr(exc, "fork", None) or log.fork
                    _emit(report, args.json, log)
                    return EXIT_FAILED
                except (OSError, ValueError, KeyError) as exc:  # the server, for now: next poll
                    print(
                        f"pnyx-verify: cannot fetch the latest checkpoint: {exc}", file=sys.stderr
                    )
                if checker.last and checker.last[0] != checked and not args.json:
                    print(
                        f"checkpoint of {checker.last[0]} entries verified: consistent with the "
                        f"one of {checked}, its root matches the verified entries",
                        flush=True,
                    )
            if not grew:
                continue
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
