"""Casting benchmark: prints JSON {"cast_per_s", "limit_ratio", "p99_ms", "ballots", …}.

Ballots accepted per second through the real HTTP stack: gunicorn (gthread workers by default, so
that each worker batches the ballots that arrive together: voting/services/cast_batch.py) serving
the app against PostgreSQL, voters logged in (sessions made beforehand), 5-option single-choice
ballots encrypted and signed beforehand (in parallel), fired by many concurrent clients. Every
answer must be 201 and every acknowledged ballot on the board.

``limit_ratio`` = ``cast_per_s`` ÷ (cores × 10⁶ ÷ ``ballot5_verify_us``): the rate reached over the
rate of a machine doing nothing but verify these ballots one by one on every core, both measured in
this run. Goal (issue 11): limit_ratio ≥ 0.5 with p99 ≤ 1 s at 64 clients (docs/performance-cast.md).
``--instances 2`` starts two gunicorn instances on different ports against the one database (the
web tier is stateless) and reports each (``per_instance``) besides the total.

Set-up: the database ``pnyx_bench`` (``PNYX_BENCH_DATABASE_URL``) is dropped and re-created, then
migrated; one election is created, taken through a 2-of-3 key ceremony (run here, as a test
would), given N voters with credentials (generated here, as an offline authority would) and
opened. The load generator is asyncio on raw sockets with pre-built requests (one process per
instance by default); it reports its own CPU use (``client_cpu``, in cores) so that one can see how
much of the machine it took from the server. ``ballot5_verify_us`` is, in this process, the time to
decode one of these ballots from JSON and verify all its proofs and its signature (crypto alone).

    python bench/cast.py [--ballots 6000] [--clients 64] [--workers 2] [--threads 16]
                         [--instances 1] [--client-procs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DATABASE_URL = os.environ.get(
    "PNYX_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pnyx_bench"
)
CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# --- Database and election -----------------------------------------------------------------------


def _admin_sql(url: str, *statements: str) -> None:
    """Run ``statements`` (``{name}``: the database of ``url``) on the server's ``postgres``."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"unexpected database name {name!r}")
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        for statement in statements:
            conn.execute(statement.format(name=name))


def recreate_database(url: str) -> None:
    _admin_sql(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    _admin_sql(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PNYX_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def build_election(voters: int) -> tuple[object, list[str], dict]:
    """An open election (single choice of 5) with ``voters`` voters; returns it, their codes and
    the manifest JSON."""
    from datetime import timedelta

    from django.utils import timezone

    from crypto.threshold import (
        Ceremony,
        dkg_deal,
        dkg_election_key,
        dkg_new_polynomial,
        dkg_verification_key,
        trustee_keygen,
    )
    from identity.models import Voter
    from identity.services.credentials import (
        RollEntry,
        credentials_generate,
        credentials_publish,
    )
    from voting.models import Option, Question
    from voting.services.elections import (
        election_create,
        election_install_key,
        election_open,
        election_start_ceremony,
    )

    now = timezone.now()
    election = election_create(
        slug=f"bench-{int(time.time())}",
        title="Casting benchmark",
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=6),
    )
    question = Question.objects.create(election=election, kind="single", title="Pick one")
    Option.objects.bulk_create(
        Option(question=question, position=i, title=f"Option {i + 1}") for i in range(5)
    )
    election_start_ceremony(election=election, acting_user=None)
    uuid = str(election.pk)
    keys = [trustee_keygen(i, uuid) for i in (1, 2, 3)]
    ceremony = Ceremony(uuid, 2, tuple(public for _, public in keys))
    deals = [dkg_deal(dkg_new_polynomial(2), i, ceremony)[1] for i in (1, 2, 3)]
    election_install_key(
        election=election,
        acting_user=None,
        public_key=dkg_election_key(deals).point.to_hex(),
        verification_keys=[dkg_verification_key(deals, j).to_hex() for j in (1, 2, 3)],
        trustees=[
            {"name": f"T{i}", "public_key": k.public_key.to_hex()}
            for i, (_, k) in enumerate(keys, 1)
        ],
        threshold=2,
        ceremony_context=ceremony.context,
    )
    rows = [RollEntry(f"v{i}", f"v{i}@bench.example", 1) for i in range(voters)]
    Voter.objects.bulk_create(
        (Voter(election=election, identifier=r.identifier, email=r.email) for r in rows),
        batch_size=5000,
    )
    issued, public = credentials_generate(election_uuid=uuid, roll=rows)
    credentials_publish(election=election, credentials=public, acting_user=None, source="bench")
    election_open(election=election, acting_user=None)
    return election, [item.code for item in issued], json.loads(election.manifest_json)


def make_sessions(election) -> list[tuple[str, str]]:
    """One logged-in voter session per voter, with the data identity.sessions.voter_session_login
    stores, and a CSRF secret for each: [(session key, csrf token)]."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from identity.models import Voter
    from identity.sessions import SESSION_KEY

    seconds = settings.PNYX_VOTER_SESSION_SECONDS
    expire = timezone.now() + timedelta(seconds=seconds)
    codec = SessionStore()
    rows, out = [], []
    for voter_id in (
        Voter.objects.filter(election=election).order_by("pk").values_list("pk", flat=True)
    ):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {SESSION_KEY: {str(election.pk): voter_id}, "_session_expiry": seconds}
        rows.append(Session(session_key=key, session_data=codec.encode(data), expire_date=expire))
        out.append((key, get_random_string(32, CSRF_CHARS)))
    Session.objects.bulk_create(rows, batch_size=5000)
    return out


# --- Ballots (made beforehand, in parallel) ---------------------------------------------------


_MANIFEST = {}


def _init_worker(manifest_json: dict) -> None:
    from crypto.manifest import Manifest

    _MANIFEST["m"] = Manifest.from_json(manifest_json)


def _encrypt(job: tuple[str, int]) -> bytes:
    from crypto.ballot import ballot_encrypt
    from crypto.credentials import derive_signing_key
    from crypto.hashing import canonical_json

    code, pick = job
    manifest = _MANIFEST["m"]
    key = derive_signing_key(code, manifest.election_uuid)
    choice = [1 if i == pick else 0 for i in range(5)]
    ballot, _ = ballot_encrypt(manifest.spec, key, [choice])
    return canonical_json(ballot.to_json())


def make_ballots(manifest_json: dict, codes: list[str]) -> list[bytes]:
    jobs = [(code, i % 5) for i, code in enumerate(codes)]
    with multiprocessing.Pool(os.cpu_count(), _init_worker, (manifest_json,)) as pool:
        return pool.map(_encrypt, jobs, chunksize=64)


def verify_microbench(manifest_json: dict, bodies: list[bytes]) -> float:
    from crypto.ballot import Ballot, ballot_verify
    from crypto.hashing import parse_json
    from crypto.manifest import Manifest

    spec = Manifest.from_json(manifest_json).spec
    sample = [parse_json(b) for b in bodies[:300]]
    ballot_verify(Ballot.from_json(sample[0]), spec)  # warm up
    started = time.perf_counter()
    for raw in sample:
        ballot_verify(Ballot.from_json(raw), spec)
    return (time.perf_counter() - started) / len(sample) * 1e6


# --- Server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, threads: int, log) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE_URL, "PNYX_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
            "--backlog",
            "4096",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(
                    b"GET /api/board-key HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process of the (local) server, from /proc."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if "\nName:\tpostgres" not in "\n" + status.read_text()[:64]:
                continue
            total += process_cpu_seconds(int(status.parent.name))
        except (OSError, ValueError):
            continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def start_py_spy(path: str, pid: int) -> subprocess.Popen:
    """py-spy (``pip install py-spy``) sampling every worker of the gunicorn master ``pid``
    (``PY_SPY_ARGS``: more options, e.g. ``--gil`` to see only what holds the GIL)."""
    spy = subprocess.Popen(  # noqa: S603
        [
            os.environ.get("PY_SPY", "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            path,
            *os.environ.get("PY_SPY_ARGS", "").split(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # py-spy attaches
    return spy


# --- Load generator ----------------------------------------------------------------------------


def request_bytes(port: int, election_id: str, body: bytes, session: tuple[str, str]) -> bytes:
    key, csrf = session
    head = (
        f"POST /api/elections/{election_id}/ballots/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: sessionid={key}; csrftoken={csrf}\r\n"
        f"X-CSRFToken: {csrf}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _fire(port: int, requests: list[bytes], concurrency: int) -> tuple[list, list]:
    statuses, latencies = [], []
    queue = list(reversed(requests))

    async def client() -> None:
        while queue:
            data = queue.pop()
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            # Close at once: a sync gunicorn worker lingers until the client has closed.
            writer.transport.abort()
            latencies.append(time.perf_counter() - started)
            statuses.append((head[9:12].decode("ascii", "replace"), body[-300:]))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses, latencies


def _client_process(port, requests, concurrency, start, tagged_out) -> None:
    tag, out = tagged_out
    start.wait()
    statuses, latencies = asyncio.run(_fire(port, requests, concurrency))
    finished = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((tag, statuses, latencies, usage.ru_utime + usage.ru_stime, finished))


def fire(targets: list[tuple[int, list[bytes]]], clients: int, procs: int) -> dict:
    """Fire each target's requests at its port, ``clients`` connections in all shared among the
    targets, ``procs`` client processes per target. Per-target results under ``by_port``."""
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    per_target = max(1, clients // len(targets))
    workers = [
        ctx.Process(
            target=_client_process,
            args=(port, share, max(1, per_target // procs), start, (port, out)),
        )
        for port, requests in targets
        for share in (requests[i::procs] for i in range(procs))
    ]
    for w in workers:
        w.start()
    time.sleep(0.5)  # let the client processes reach the start line
    busy0, total0 = machine_busy()
    started = time.perf_counter()
    start.set()
    results = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    busy1, total1 = machine_busy()
    for w in workers:
        w.join()
    by_port: dict[int, dict] = {}
    for port, statuses, latencies, _, finished in results:
        slot = by_port.setdefault(port, {"statuses": [], "latencies": [], "elapsed": 0.0})
        slot["statuses"] += statuses
        slot["latencies"] += latencies
        slot["elapsed"] = max(slot["elapsed"], finished - started)
    return {
        "elapsed": elapsed,
        "statuses": [s for r in results for s in r[1]],
        "latencies": sorted(lat for r in results for lat in r[2]),
        "by_port": by_port,
        "client_cpu": sum(r[3] for r in results) / elapsed,
        "machine_busy": (busy1 - busy0) / max(1, total1 - total0),
    }


def p99_ms(latencies: list[float]) -> float:
    latencies = sorted(latencies)
    return round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1)


_T0 = time.perf_counter()


def progress(message: str) -> None:
    """Set-up progress on stderr (stdout carries the JSON only)."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ballots", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="workers per instance"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="threads per worker (gthread workers when > 1: ballots are batched within a worker)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="gunicorn instances on different ports against the one database",
    )
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="record the server's workers during the run with py-spy (collapsed stacks to FILE)",
    )
    args = parser.parse_args()

    recreate_database(BENCH_DATABASE_URL)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    progress("database migrated")
    total = args.ballots + args.warmup
    election, codes, manifest_json = build_election(total)
    progress(f"election open with {total} voters")
    sessions = make_sessions(election)
    bodies = make_ballots(manifest_json, codes)
    progress(f"{total} sessions and ballots made")
    verify_us = verify_microbench(manifest_json, bodies)
    from django.db import connections

    connections.close_all()

    ports = [free_port() for _ in range(args.instances)]
    log_path = Path(tempfile.gettempdir()) / "pnyx-bench-gunicorn.log"
    log = log_path.open("w")
    servers = [start_server(port, args.workers, args.threads, log) for port in ports]
    try:
        election_id = str(election.pk)
        # Ballot i goes to instance i mod n (one database behind them all).
        requests = {
            port: [
                request_bytes(port, election_id, body, session)
                for body, session in list(zip(bodies, sessions, strict=True))[k :: len(ports)]
            ]
            for k, port in enumerate(ports)
        }
        warmup = max(1, args.warmup // len(ports))
        progress("servers up; warming up")
        warm = fire(
            [(port, requests[port][:warmup]) for port in ports],
            min(args.clients, args.warmup),
            1,
        )
        bad = [s for s in warm["statuses"] if s[0] != "201"]
        if bad:
            raise SystemExit(
                f"warm-up: {len(bad)} ballots refused, e.g. {bad[0]} (server log: {log_path})"
            )
        worker_pids = [
            int(p)
            for server in servers
            for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        ]
        server_cpu0 = sum(process_cpu_seconds(p) for p in worker_pids)
        pg_cpu0 = postgres_cpu_seconds()
        spy = start_py_spy(args.py_spy, servers[0].pid) if args.py_spy else None
        cast_count = sum(len(r) - warmup for r in requests.values())
        progress(f"casting {cast_count} ballots")
        run = fire(
            [(port, requests[port][warmup:]) for port in ports], args.clients, args.client_procs
        )
        progress("cast")
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        elapsed = run["elapsed"]
        server_cpu = (sum(process_cpu_seconds(p) for p in worker_pids) - server_cpu0) / elapsed
        pg_cpu = (postgres_cpu_seconds() - pg_cpu0) / elapsed
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        log.close()
        progress("servers stopped")

    bad = [s for s in run["statuses"] if s[0] != "201"]
    if bad:
        raise SystemExit(
            f"{len(bad)} of {len(run['statuses'])} ballots refused, e.g. {bad[0]} "
            f"(server log: {log_path})"
        )
    from voting.models import Ballot

    on_board = Ballot.objects.filter(election=election).count()
    acknowledged = len(warm["statuses"]) + len(run["statuses"])
    if on_board != acknowledged:
        raise SystemExit(f"{on_board} ballots on the board, {acknowledged} acknowledged")
    latencies = run["latencies"]
    cpus = os.cpu_count() or 1
    cast_per_s = cast_count / elapsed
    # What the machine could do if it did nothing but verify these ballots, one after another
    # on every core: the proof-verification limit, measured in this run.
    limit_per_s = cpus * 1e6 / verify_us
    print(
        json.dumps(
            {
                "cast_per_s": round(cast_per_s, 1),
                "limit_ratio": round(cast_per_s / limit_per_s, 3),
                "verify_limit_per_s": round(limit_per_s, 1),
                # The same ratio over the CPU the server and PostgreSQL actually got (on a shared
                # machine, less than every core): cast_per_s ÷ ((their cores) × 10⁶ ÷ verify_us).
                "limit_ratio_of_cpu_used": round(
                    cast_per_s / max(1e-9, (server_cpu + pg_cpu) * 1e6 / verify_us), 3
                ),
                "ballots": cast_count,
                "clients": args.clients,
                "ballot5_verify_us": round(verify_us, 1),
                "instances": len(ports),
                "workers": args.workers,
                "threads": args.threads,
                "p50_ms": round(1000 * statistics.median(latencies), 1),
                "p99_ms": p99_ms(latencies),
                "per_instance": [
                    {
                        "port": port,
                        "cast_per_s": round(
                            len(run["by_port"][port]["statuses"]) / run["by_port"][port]["elapsed"],
                            1,
                        ),
                        "p99_ms": p99_ms(run["by_port"][port]["latencies"]),
                    }
                    for port in ports
                ],
                "cpus": cpus,
                "machine_busy": round(run["machine_busy"], 3),
                "server_workers_cpu": round(server_cpu, 2),
                "postgres_cpu": round(pg_cpu, 2),
                "client_cpu": round(run["client_cpu"], 2),
                # what else ran on the machine meanwhile (should be ≈ 0 for a clean measure)
                "other_cpu": round(
                    max(
                        0.0,
                        run["machine_busy"] * cpus - server_cpu - pg_cpu - run["client_cpu"],
                    ),
                    2,
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
