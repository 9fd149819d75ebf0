"""Fault injection under load (issue 10): prints JSON {"acknowledged", "on_board", "lost",
"duplicated", "cast_5xx", "worst_latency_s", "faults": {<kind>: {"heal_s", …}}, "verified", …}.

Many voters cast at once through the real stack — ``gunicorn config.wsgi`` (sync workers), a
Celery worker with beat (the sweeper) on a private ``redis-server``, PostgreSQL reached through a
TCP proxy that can be cut (tests/faults/proxy.py, a process of its own) — while:

* a gunicorn worker is SIGKILLed every ``--kill-every`` seconds (its master starts another);
* Redis is killed and started again (empty: no persistence) at a quarter of the run, down
  ``--redis-down`` seconds, while a prober asks for login codes every 0.25 s;
* PostgreSQL is cut (every connection closed, new ones refused) at half of the run, for
  ``--pg-down`` seconds;
* after the casting the election closes and Redis is restarted again in the middle of the
  tally's aggregation (the queued chunks and their state lost).

Every voter's client does what the booth does (frontend/src/ui/retry.mjs, here
tests/faults/kit.py ``send_until_answered``): it sends its ballot again, the same bytes, after no
answer or a 5xx. Nobody presses anything. At the end: every acknowledged ballot must be on the
board (``lost``: acknowledged but absent), none twice (``duplicated``), and the exported board
must pass pnyx-verify (ballots, chain, log, the encrypted tally recomputed). ``heal_s`` per fault
kind: a killed worker — SIGKILL until its replacement is listed (``respawn_s``) and the worst time
a voter caught by it waited for a receipt; Redis — restart until a login request is queued again;
PostgreSQL — restore until the next ballot is accepted; Redis during the tally — restart until
the encrypted tally is on the board. The exit status is 1 when anything was lost, duplicated, or
the board does not verify.

The database ``pnyx_bench_faults`` (``PNYX_FAULTS_DATABASE_URL``) is dropped and re-created. The
server processes use the fault tests' settings (tests/faults/process_settings.py: login codes
written to files); the worker is tests/tally/worker_app.py, whose aggregation chunks sleep
``--chunk-delay`` seconds so that the restart falls inside the aggregation.

    python bench/faults.py [--clients 64] [--seconds 60] [--ballots 12000] [--workers 4]
    python bench/faults.py --small   # 8 clients, 20 s: what tests/faults/test_bench_faults.py runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cast import (  # noqa: E402 - after the path
    CSRF_CHARS,
    drop_database,
    make_ballots,
    make_sessions,
    recreate_database,
)

DATABASE_URL = os.environ.get(
    "PNYX_FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pnyx_bench_faults"
)


def progress(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup_django(mail_dir: Path) -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.faults.process_settings"
    os.environ["PNYX_TEST_MAIL_DIR"] = str(mail_dir)
    os.environ.setdefault("PNYX_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def proxied(url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urllib.parse.urlunsplit(
        parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)
    )


class ProxyProcess:
    """tests/faults/proxy.py as a process of its own: SIGUSR1 cuts, SIGUSR2 restores."""

    def __init__(self, target: str) -> None:
        from tests.faults.proxy import free_port

        self.port = free_port()
        self.proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "tests.faults.proxy", "--port", str(self.port)]
            + ["--target", target],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "proxy ready":
            raise SystemExit("the proxy did not start")

    def cut(self) -> None:
        self.proc.send_signal(signal.SIGUSR1)

    def restore(self) -> None:
        self.proc.send_signal(signal.SIGUSR2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def ceremony_election(tmp: Path, voters: int):
    """An open election (one single-choice question of 5) whose key comes from a 2-of-3 key
    ceremony run on this server by offline trustees played here (tests/tally/helpers.py), with
    ``voters`` voters; returns it and the voters' credential codes, in the voters' order."""
    from django.test import Client
    from django.test.utils import setup_test_environment

    from identity.models import Voter
    from identity.services.credentials import (
        RollEntry,
        credentials_generate,
        credentials_publish,
    )
    from tests.tally.helpers import run_offline_ceremony, setup_ceremony
    from tests.voting.factories import SINGLE5
    from voting.services.elections import election_open

    setup_test_environment()  # the trustees played here talk to the API through Django's Client
    ce = setup_ceremony(tmp, questions=SINGLE5)
    run_offline_ceremony(ce, tmp, Client())
    election = ce.election
    rows = [RollEntry(f"v{i}", f"v{i}@bench.example", 1) for i in range(voters)]
    Voter.objects.bulk_create(
        (Voter(election=election, identifier=r.identifier, email=r.email) for r in rows),
        batch_size=5000,
    )
    issued, public = credentials_generate(election_uuid=str(election.pk), roll=rows)
    credentials_publish(election=election, credentials=public, acting_user=None, source="bench")
    election_open(election=election, acting_user=None)
    return ce.refresh(), [item.code for item in issued]


def decrypt(ce, tmp: Path, timeout: float) -> float:
    """Trustees 1 and 3 (offline) send their partial decryptions; seconds until the result."""
    from django.test import Client

    from voting.models import Election

    started = time.monotonic()
    for trustee in (ce.trustees[0], ce.trustees[2]):
        response = trustee.send(Client(), "decrypt", tmp)
        if response.status_code != 202:
            raise SystemExit(f"trustee {trustee.index}: {response.status_code} {response.content}")
    while time.monotonic() - started < timeout:
        if Election.objects.get(pk=ce.election.pk).state == "tallied":
            return round(time.monotonic() - started, 2)
        time.sleep(0.2)
    raise SystemExit(f"no result within {timeout:.0f} s")


# --- The load ------------------------------------------------------------------------------------


@dataclass
class Try:
    started: float
    ended: float
    status: int  #: 0: no answer


@dataclass
class Load:
    """What every client saw, shared (appends are atomic under the GIL)."""

    tries: list[Try] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  #: tracker → final status
    gave_up: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  #: final 4xx code → count
    to_receipt: list[float] = field(default_factory=list)  #: seconds, first send to receipt
    caught: list[float] = field(default_factory=list)  #: the same, for sends with a failed try
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(base, election_id, jobs, load: Load, stop: threading.Event, think: float) -> None:
    from tests.faults.kit import NoAnswer, http, send_until_answered

    url = f"{base}/api/elections/{election_id}/ballots/"
    while not stop.is_set():
        with load.lock:
            if not jobs:
                return
            body, tracker, (session, csrf) = jobs.pop()
            load.sent += 1
        headers = {
            "Content-Type": "application/json",
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
        }

        def send(body=body, headers=headers):
            started = time.monotonic()
            try:
                answer = http("POST", url, body, headers=headers, timeout=60)
            except NoAnswer:
                load.tries.append(Try(started, time.monotonic(), 0))
                raise
            load.tries.append(Try(started, time.monotonic(), answer.status))
            return answer

        delivery = send_until_answered(send, attempts=15, backoff=0.25, cap=2.0)
        answer = delivery.answer
        if answer is not None and answer.status in (200, 201):
            load.acknowledged[tracker] = answer.status
            load.to_receipt.append(delivery.seconds)
            if delivery.tries:
                load.caught.append(delivery.seconds)
        elif answer is None or answer.status >= 500:
            load.gave_up.append(tracker)
        else:
            code = answer.code or str(answer.status)
            with load.lock:
                load.refused[code] = load.refused.get(code, 0) + 1
        if think:
            time.sleep(think)


def login_prober(base, election, voters: int, probes: list[Try], stop: threading.Event) -> None:
    from tests.faults.kit import NoAnswer, http

    url = f"{base}/api/elections/{election.pk}/login/"
    rng = random.Random(1)
    while not stop.is_set():
        csrf = "".join(rng.choice(CSRF_CHARS) for _ in range(32))
        started = time.monotonic()
        try:
            answer = http(
                "POST",
                url,
                json.dumps({"identifier": f"v{rng.randrange(voters)}"}),
                headers={
                    "Content-Type": "application/json",
                    "Cookie": f"csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                },
                timeout=60,
            )
            status = answer.status
        except NoAnswer:
            status = 0
        probes.append(Try(started, time.monotonic(), status))
        stop.wait(0.25)


# --- The faults ----------------------------------------------------------------------------------


def first_after(tries: list[Try], moment: float, ok) -> float | None:
    """Seconds from ``moment`` to the end of the first try after it whose status passes ``ok``."""
    ends = [t.ended for t in tries if t.ended >= moment and ok(t.status)]
    return round(min(ends) - moment, 2) if ends else None


def faults(args, server, broker, proxy, stop: threading.Event, record: dict) -> None:
    """The fault schedule of the casting phase, from now for ``args.seconds``."""
    started = time.monotonic()
    plan = [
        (args.seconds * 0.25, "redis"),
        (args.seconds * 0.5, "postgres"),
    ]
    plan += [(t, "kill") for t in _every(args.kill_every, args.seconds)]
    plan.sort()
    kills = record["gunicorn_worker_killed"] = []
    for at, kind in plan:
        if stop.wait(max(0.0, started + at - time.monotonic())):
            return
        if kind == "kill":
            pids = server.worker_pids()
            if not pids:
                continue
            victim = random.choice(pids)
            killed_at = time.monotonic()
            server.kill_worker(victim)
            kills.append(replacement(server, set(pids), killed_at))
        elif kind == "redis":
            progress("Redis killed")
            broker.kill()
            down_at = time.monotonic()
            stop.wait(args.redis_down)
            broker.start()
            progress("Redis started again")
            record["redis_restart_login"] = {"down_at": down_at, "up_at": time.monotonic()}
        else:
            progress("PostgreSQL cut")
            log_before = server.log.stat().st_size
            proxy.cut()
            cut_at = time.monotonic()
            stop.wait(args.pg_down)
            proxy.restore()
            progress("PostgreSQL restored")
            record["postgres_cut"] = {
                "cut_at": cut_at,
                "restored_at": time.monotonic(),
                "log_before": log_before,
            }


def replacement(server, before: set[int], killed_at: float, timeout: float = 60.0) -> dict:
    """Seconds from the kill until the master has forked a replacement (``respawn_s``) and until
    that replacement has loaded the application and takes requests (``ready_s``)."""
    out: dict = {"at": killed_at, "respawn_s": None, "ready_s": None}
    new: set[int] = set()
    while time.monotonic() - killed_at < timeout:
        if not new:
            new = set(server.worker_pids()) - before
            if new:
                out["respawn_s"] = time.monotonic() - killed_at
        if new and new & server.ready_workers():
            out["ready_s"] = time.monotonic() - killed_at
            break
        time.sleep(0.05)
    return out


def _every(step: float, seconds: float) -> list[float]:
    out, t = [], step
    while t < seconds:
        out.append(t)
        t += step
    return out


def tally_with_redis_restart(election, broker, timeout: float) -> dict:
    """Close; once the first aggregation chunk is added up, restart Redis; wait for the encrypted
    tally on the board. Returns the seconds each took."""
    from django.utils import timezone

    from board.models import BoardEntry
    from tally.models import TallyRun
    from voting.models import AuditEvent
    from voting.services.elections import election_close

    closed_at = time.monotonic()
    election_close(election=election, acting_user=None)
    deadline = closed_at + timeout
    restarted_at = None
    while time.monotonic() < deadline:
        run = TallyRun.objects.filter(election=election).first()
        if run is not None and run.chunks_done >= 1:
            queued = broker.queue_length("tally")
            broker.restart()
            restarted_at = time.monotonic()
            restarted_wall = timezone.now()
            progress(f"Redis restarted mid-aggregation ({queued} chunks were queued)")
            break
        time.sleep(0.05)
    while time.monotonic() < deadline:
        if BoardEntry.objects.filter(election=election, kind="tally").exists():
            done = time.monotonic()
            run = TallyRun.objects.get(election=election)
            resumed = AuditEvent.objects.filter(election=election, action="tally:auto-resume")
            first = resumed.order_by("at").first()
            return {
                "tally_s": round(done - closed_at, 2),
                "chunks": run.chunks_total,
                "queued_chunks_lost": queued if restarted_at else 0,
                # restart → the sweeper drives the lost chunks again (PNYX_STALL_SECONDS)
                "redriven_after_s": round((first.at - restarted_wall).total_seconds(), 2)
                if restarted_at and first
                else None,
                "auto_resumes": resumed.count(),
                # restart → the encrypted tally on the board
                "heal_s": round(done - restarted_at, 2) if restarted_at else None,
            }
        time.sleep(0.1)
    raise SystemExit(f"the encrypted tally was not published within {timeout:.0f} s")


# --- Main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0, help="casting under faults")
    parser.add_argument("--ballots", type=int, default=12000, help="ballots made beforehand")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--kill-every", type=float, default=3.0)
    parser.add_argument("--redis-down", type=float, default=3.0)
    parser.add_argument("--pg-down", type=float, default=4.0)
    parser.add_argument("--think", type=float, default=0.0, help="a client's pause between votes")
    parser.add_argument("--chunk-delay", type=float, default=0.5)
    parser.add_argument("--small", action="store_true", help="8 clients, 20 s, 900 ballots")
    parser.add_argument(
        "--drop",
        action="store_true",
        help="drop the database and the files at the end if all went well",
    )
    args = parser.parse_args(argv)
    if args.small:
        args.clients, args.seconds, args.ballots, args.workers = 8, 20.0, 900, 2
        args.think, args.redis_down, args.pg_down = 0.2, 2.0, 3.0

    tmp = Path(tempfile.mkdtemp(prefix="pnyx-faults-"))
    (tmp / "mail").mkdir()
    recreate_database(DATABASE_URL)
    setup_django(tmp / "mail")
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)

    from tests.faults.kit import Gunicorn
    from tests.tally.faults import fault_env, private_broker, server_worker

    db = urllib.parse.urlsplit(DATABASE_URL)
    with private_broker(tmp / "redis") as broker:
        proxy = ProxyProcess(f"{db.hostname}:{db.port or 5432}")
        extra = {
            "DATABASE_URL": proxied(DATABASE_URL, proxy.port),
            "DJANGO_SETTINGS_MODULE": "tests.faults.process_settings",
            "PNYX_TEST_MAIL_DIR": str(tmp / "mail"),
            "PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR": "1000000",
            "PNYX_TALLY_CHUNK_BALLOTS": str(max(1, args.ballots // 16)),
            "PNYX_TEST_CHUNK_DELAY": str(args.chunk_delay),
        }
        worker = server_worker(tmp, broker, "server", beat=True, **extra)
        # the web server logs warnings and errors only: what an outage writes is measured
        server_env = fault_env(broker, **extra, PNYX_LOG_LEVEL="WARNING")
        server = Gunicorn(server_env, tmp / "gunicorn.log", workers=args.workers)
        try:
            worker.wait_ready()
            ce, codes = ceremony_election(tmp, args.ballots)
            election = ce.election
            sessions = make_sessions(election)
            bodies = make_ballots(json.loads(election.manifest_json), codes)
            from crypto.ballot import Ballot
            from crypto.hashing import parse_json

            trackers = [Ballot.from_json(parse_json(body)).tracker() for body in bodies]
            progress(f"{args.ballots} voters, sessions and ballots made")
            connections.close_all()
            server.start()
            progress(f"serving on {server.url} with {args.workers} workers; casting")
            load = Load()
            probes: list[Try] = []
            jobs = list(zip(bodies, trackers, sessions, strict=True))
            jobs.reverse()  # pop() takes them in order
            stop = threading.Event()
            record: dict = {}
            threads = [
                threading.Thread(
                    target=client,
                    args=(server.url, election.pk, jobs, load, stop, args.think),
                    daemon=True,
                )
                for _ in range(args.clients)
            ]
            threads.append(
                threading.Thread(
                    target=login_prober,
                    args=(server.url, election, args.ballots, probes, stop),
                    daemon=True,
                )
            )
            injector = threading.Thread(
                target=faults, args=(args, server, broker, proxy, stop, record), daemon=True
            )
            load_started = time.monotonic()
            for thread in [*threads, injector]:
                thread.start()
            injector.join(timeout=args.seconds + 120)
            stop.set()  # no new ballot; those under way finish
            for thread in threads:
                thread.join(timeout=120)
            load_seconds = time.monotonic() - load_started
            progress(f"casting over: {len(load.acknowledged)} acknowledged; tallying")
            log_text = server.output()
            tally = tally_with_redis_restart(election, broker, timeout=300)
            progress("encrypted tally published; two trustees decrypt")
            tally["result_s"] = decrypt(ce, tmp, timeout=600)
        finally:
            server.stop()
            worker.stop()
            proxy.stop()

    result = report(args, election, load, probes, record, tally, log_text, load_seconds)
    progress("pnyx-verify on the exported board")
    from tests.tally.helpers import pnyx_verify

    with contextlib.redirect_stdout(sys.stderr):
        result["verified"] = pnyx_verify(election, tmp) == 0
    print(json.dumps(result))
    if args.drop:
        connections.close_all()
        drop_database(DATABASE_URL)
    ok = result["lost"] == 0 and result["duplicated"] == 0 and result["verified"]
    if ok and args.drop:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        progress(f"logs, key stores and the exported board kept in {tmp}")
    return 0 if ok else 1


def report(args, election, load, probes, record, tally, log_text, load_seconds) -> dict:
    from django.db.models import Count

    from board.models import BoardEntry
    from voting.models import Ballot

    entries = BoardEntry.objects.filter(election=election, kind="ballot")
    counts = dict(entries.values("tracker").annotate(n=Count("seq")).values_list("tracker", "n"))
    acknowledged = set(load.acknowledged)
    tries = load.tries
    latencies = sorted(t.ended - t.started for t in tries)
    cast_5xx = sum(1 for t in tries if t.status >= 500)
    faults: dict = {}
    kills = record.get("gunicorn_worker_killed", [])
    respawns = [k["respawn_s"] for k in kills if k["respawn_s"] is not None]
    ready = [k["ready_s"] for k in kills if k["ready_s"] is not None]
    faults["gunicorn_worker_killed"] = {
        "count": len(kills),
        "respawn_s_max": round(max(respawns), 2) if respawns else None,
        # heal: the replacement has loaded the application and takes requests
        "heal_s_median": round(statistics.median(ready), 2) if ready else None,
        "heal_s_max": round(max(ready), 2) if ready else None,
        "never_healed": len(kills) - len(ready),
        # a voter whose send failed (on any fault) until the receipt came
        "worst_resend_to_receipt_s": round(max(load.caught), 2) if load.caught else None,
    }
    if "redis_restart_login" in record:
        r = record["redis_restart_login"]
        during = [p for p in probes if r["down_at"] <= p.started < r["up_at"]]
        faults["redis_restart_login"] = {
            "down_s": round(r["up_at"] - r["down_at"], 2),
            "heal_s": first_after(probes, r["up_at"], lambda s: s == 202),
            "logins_refused_503": sum(1 for p in during if p.status == 503),
            "worst_login_latency_down_s": round(max(p.ended - p.started for p in during), 3)
            if during
            else None,
        }
    if "postgres_cut" in record:
        c = record["postgres_cut"]
        outage = log_text.encode()[c["log_before"] :].decode("utf-8", "replace")
        faults["postgres_cut"] = {
            "down_s": round(c["restored_at"] - c["cut_at"], 2),
            "heal_s": first_after(tries, c["restored_at"], lambda s: s in (200, 201)),
            # answered 5xx during the cut (those under way when it came included)
            "casts_refused_5xx": sum(
                1 for t in tries if c["cut_at"] <= t.ended <= c["restored_at"] and t.status >= 500
            ),
            "log_lines_database_unavailable": outage.count("database unavailable"),
        }
    faults["redis_restart_tally"] = tally
    return {
        "clients": args.clients,
        "workers": args.workers,
        "seconds": round(load_seconds, 1),
        "ballots_sent": load.sent,
        "acknowledged": len(acknowledged),
        "acknowledged_on_resend_200": sum(1 for s in load.acknowledged.values() if s == 200),
        "on_board": len(counts),
        "lost": len(acknowledged - set(counts)),
        "duplicated": sum(1 for n in counts.values() if n > 1)
        + max(0, Ballot.objects.filter(election=election).count() - len(counts)),
        "on_board_not_acknowledged": len(set(counts) - acknowledged),
        "gave_up": len(load.gave_up),
        "refused_4xx": load.refused,
        "cast_tries": len(tries),
        "cast_5xx": cast_5xx,
        "cast_no_answer": sum(1 for t in tries if t.status == 0),
        "cast_per_s": round(len(acknowledged) / load_seconds, 1),
        "worst_latency_s": round(latencies[-1], 3) if latencies else None,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1)
        if latencies
        else None,
        "worst_time_to_receipt_s": round(max(load.to_receipt), 2) if load.to_receipt else None,
        "login_probes": len(probes),
        "login_5xx": sum(1 for p in probes if p.status >= 500),
        "login_worst_latency_s": round(max(p.ended - p.started for p in probes), 3)
        if probes
        else None,
        "server_log_bytes": len(log_text.encode()),
        "server_tracebacks": log_text.count("Traceback"),
        "faults": faults,
    }


if __name__ == "__main__":
    sys.exit(main())
