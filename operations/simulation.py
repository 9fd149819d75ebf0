"""A complete election with generated voters, through the real code paths (``manage.py
simulate_election``): used by demos, tests and benchmarks.

* The election and its questions are made by the officials' services; the voter roll goes through
  the roll import service (CSV, with weights).
* The credentials are generated as an independent authority does (``credentials_generate``, so the
  simulation knows every voter's code) and their public file is published through the service.
* The trustees are offline trustees: each has its own passphrase-protected key store (in a private
  temporary directory) and runs the trustee tool's steps (``tally.trustee_steps``) on the board it
  downloads, uploading every message to the trustees' API — a real DKG.
* Every voter logs in by the real login flow (asks for a code, reads it from the e-mail the Celery
  worker sent, verifies it) and casts through the HTTP API with the CSRF token, exactly like the
  booth: ballots encrypted by ``crypto.ballot``; some voters audit a ballot first (Benaloh), some
  vote again.
* The election is closed by the service; the tally runs as Celery tasks on a real worker (started
  here for the duration when none consumes the queues); ``offline_trustees`` trustees never send
  their partial decryption, the others decrypt with the trustee tool and upload.

The simulation keeps the plaintext of every voter's choices, so it knows the totals the result must
show (weighted, last ballot per credential, audited ballots excluded) and compares them with the
published result.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.cookiejar
import io
import json
import os
import random
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crypto.ballot import ballot_encrypt
from crypto.credentials import derive_signing_key
from crypto.hashing import parse_json
from crypto.manifest import Manifest
from crypto.tally import funded_projects
from operations.workers import CeleryWorkerProcess, WorkerFailed

PASSPHRASE_BYTES = 24
ROOT = Path(__file__).resolve().parents[1]

QUESTIONS_HELP = """\
Questions SPEC: comma-separated items, one per question, in ballot order:
  referendum[:blank]          yes/no (":blank": a blank vote is allowed)
  single:N[:blank]            one of N options
  approval:N[:MIN-MAX]        between MIN and MAX of N options (default 1-N)
  budget:N:cap=B[:MIN-MAX][:costs=C1/C2/…]
                              participatory budget: N projects, total cost at most B, between
                              MIN and MAX projects (default 0-N); costs default to seeded
                              random amounts between B/10 and B/2
Example: "referendum,single:5,approval:6:1-3,budget:5:cap=100"."""


class SimulationError(Exception):
    """The simulation cannot run (bad options, no worker, a step refused): the message says why."""


# --- Options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionPlan:
    kind: str
    title: str
    options: list[str]
    blank_allowed: bool = False
    min_selections: int | None = None
    max_selections: int | None = None
    budget: int | None = None
    costs: list[int] | None = None


_ITEM = re.compile(r"(referendum|single|approval|budget)((?::[^:,]+)*)\Z")


def parse_questions(spec: str, rng: random.Random) -> list[QuestionPlan]:
    """Read a questions SPEC (see ``QUESTIONS_HELP``)."""
    plans = []
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        raise SimulationError(f"--questions: empty item in {spec!r}")
    for number, item in enumerate(items, start=1):
        match = _ITEM.match(item)
        if not match:
            raise SimulationError(f"--questions: cannot read {item!r}\n{QUESTIONS_HELP}")
        kind, parts = match.group(1), [p for p in match.group(2).split(":") if p]
        title = f"Question {number} ({kind})"
        plan = _question(kind, title, parts, item, rng)
        plans.append(plan)
    return plans


def _int(text: str, item: str) -> int:
    if not text.isdigit():
        raise SimulationError(f"--questions: {text!r} in {item!r} is not a number")
    return int(text)


def _question(kind: str, title: str, parts: list[str], item: str, rng: random.Random):
    blank = "blank" in parts
    parts = [p for p in parts if p != "blank"]
    if blank and kind not in ("referendum", "single"):
        raise SimulationError(f"--questions: {item!r}: ':blank' is for referendum and single")
    if kind == "referendum":
        if parts:
            raise SimulationError(f"--questions: {item!r}: a referendum takes no number")
        return QuestionPlan(kind, title, ["Yes", "No"], blank_allowed=blank)
    if not parts:
        raise SimulationError(f"--questions: {item!r}: give the number of options ({kind}:N)")
    n = _int(parts[0], item)
    options = [f"Option {i}" for i in range(1, n + 1)]
    rest = parts[1:]
    if kind == "single":
        if rest:
            raise SimulationError(f"--questions: {item!r}: single takes N[:blank] only")
        return QuestionPlan(kind, title, options, blank_allowed=blank)
    low, high, cap, costs = (1 if kind == "approval" else 0), n, None, None
    for part in rest:
        if m := re.fullmatch(r"(\d+)-(\d+)", part):
            low, high = int(m.group(1)), int(m.group(2))
        elif kind == "budget" and part.startswith("cap="):
            cap = _int(part[4:], item)
        elif kind == "budget" and part.startswith("costs="):
            costs = [_int(c, item) for c in part[6:].split("/")]
        else:
            raise SimulationError(f"--questions: {item!r}: unknown part {part!r}")
    if not 0 <= low <= high <= n or high == 0:
        raise SimulationError(
            f"--questions: {item!r}: selections must satisfy 0 ≤ MIN ≤ MAX ≤ {n} and MAX ≥ 1"
        )
    if kind == "approval":
        return QuestionPlan(kind, title, options, min_selections=low, max_selections=high)
    if cap is None:
        raise SimulationError(f"--questions: {item!r}: a budget needs cap=B")
    if costs is None:
        costs = [rng.randint(max(1, cap // 10), max(1, cap // 2)) for _ in options]
    if len(costs) != n:
        raise SimulationError(f"--questions: {item!r}: {len(costs)} costs for {n} projects")
    return QuestionPlan(
        kind,
        title,
        [f"Project {i}" for i in range(1, n + 1)],
        min_selections=low,
        max_selections=high,
        budget=cap,
        costs=costs,
    )


def parse_weights(text: str) -> tuple[int, int]:
    """``"1"`` (every voter weighs 1) or ``"LOW-HIGH"`` (uniform random weights)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text or "")
    if not m:
        raise SimulationError(f"--weights: {text!r} is neither W nor LOW-HIGH")
    low = int(m.group(1))
    high = int(m.group(2) or low)
    if not 1 <= low <= high:
        raise SimulationError(f"--weights: {text!r} is not 1 ≤ LOW ≤ HIGH")
    return low, high


@dataclass
class SimulationOptions:
    voters: int = 30
    trustees: int = 3
    threshold: int = 2
    questions: str = "referendum,single:5,approval:6:1-3,budget:5:cap=100"
    revote_rate: float = 0.1
    audit_rate: float = 0.05
    offline_trustees: int = 0
    weights: str = "1"
    turnout: float = 1.0
    seed: int | None = None
    title: str = "Simulated election"
    out: str | None = None
    url: str | None = None  #: a live server (same database) instead of in-process requests
    worker: str = "auto"  #: auto | start | existing
    timeout: float = 600.0
    verify: bool = False

    def problems(self) -> list[str]:
        out = []
        if self.voters < 1:
            out.append("--voters must be at least 1")
        if self.trustees < 1:
            out.append("--trustees must be at least 1")
        if not 1 <= self.threshold <= self.trustees:
            out.append("--threshold must be between 1 and --trustees")
        if not 0 <= self.offline_trustees <= self.trustees - self.threshold:
            out.append(
                f"--offline-trustees must be between 0 and trustees − threshold = "
                f"{self.trustees - self.threshold}: with {self.offline_trustees} silent trustees "
                f"fewer than {self.threshold} partial decryptions would arrive and the tally "
                "could never finish"
            )
        for name in ("revote_rate", "audit_rate", "turnout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                out.append(f"--{name.replace('_', '-')} must be between 0 and 1")
        if self.worker not in ("auto", "start", "existing"):
            out.append("--worker is auto, start or existing")
        return out


# --- HTTP: in process (Django test client, full middleware stack) or a live server -----------


@dataclass
class HttpAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def _allowed_host() -> str:
    """A host name the site accepts (the test client's "testserver" is not one)."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*":
            return host.lstrip(".")
    return "localhost"


class InProcessHttp:
    """Requests through Django's whole stack (middleware, CSRF, sessions) without a socket."""

    def __init__(self, remote_addr: str = "127.0.0.1") -> None:
        from django.test import Client

        self.client = Client(
            enforce_csrf_checks=True, REMOTE_ADDR=remote_addr, HTTP_HOST=_allowed_host()
        )

    def _csrf(self) -> dict:
        cookie = self.client.cookies.get(settings.CSRF_COOKIE_NAME)
        return {"HTTP_X_CSRFTOKEN": cookie.value} if cookie is not None else {}

    def get(self, path: str) -> HttpAnswer:
        response = self.client.get(path)
        body = (
            b"".join(response.streaming_content)
            if getattr(response, "streaming", False)
            else response.content
        )
        return HttpAnswer(response.status_code, body)

    def post(self, path: str, data: Any) -> HttpAnswer:
        response = self.client.post(
            path, json.dumps(data), content_type="application/json", **self._csrf()
        )
        return HttpAnswer(response.status_code, response.content)


class LiveHttp:
    """The same requests to a live server (``--url``): a cookie jar, the CSRF header."""

    def __init__(self, base: str, remote_addr: str = "") -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _request(self, method: str, path: str, body: bytes | None, headers: dict) -> HttpAnswer:
        request = urllib.request.Request(  # noqa: S310 - http(s) checked by the command
            self.base + path, data=body, headers=headers, method=method
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                return HttpAnswer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return HttpAnswer(exc.code, exc.read())

    def get(self, path: str) -> HttpAnswer:
        return self._request("GET", path, None, {"Accept": "application/json"})

    def post(self, path: str, data: Any) -> HttpAnswer:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Referer": self.base + "/",
        }
        for cookie in self.jar:
            if cookie.name == settings.CSRF_COOKIE_NAME:
                headers["X-CSRFToken"] = cookie.value
        return self._request("POST", path, json.dumps(data).encode(), headers)


# --- Login codes from the e-mail the worker sent ---------------------------------------------

_LOGIN_CODE = re.compile(r"^\s+(\d{8})\s*$", re.MULTILINE)


class Mailbox:
    """Where the worker's e-mail backend puts login codes: Django's ``locmem`` outbox (a worker
    in this process, as in tests) or the ``file`` backend's directory."""

    def __init__(self, *, directory: Path | None = None, outbox: bool = False) -> None:
        self.directory = directory
        self.outbox = outbox or directory is None
        self._seen: dict[str, int] = {}
        self._codes: dict[str, list[str]] = {}

    @classmethod
    def for_settings(cls) -> Mailbox:
        backend = settings.EMAIL_BACKEND
        if backend.endswith("locmem.EmailBackend"):
            return cls(outbox=True)
        if backend.endswith("filebased.EmailBackend"):
            return cls(directory=Path(settings.EMAIL_FILE_PATH))
        raise SimulationError(
            f"the login codes cannot be read back: EMAIL_BACKEND is {backend}; run with "
            "PNYX_DEMO=1 (e-mails as files, make run) or let simulate_election start its own "
            "worker"
        )

    def _messages(self) -> list[email.message.EmailMessage]:
        out = []
        if self.outbox:
            from django.core import mail

            found = getattr(mail, "outbox", [])[self._seen.get("", 0) :]
            self._seen[""] = self._seen.get("", 0) + len(found)
            out += [
                email.message_from_bytes(m.message().as_bytes(), policy=email.policy.default)
                for m in found
            ]
        if self.directory is None or not self.directory.is_dir():
            return out
        separator = b"\n" + b"-" * 79 + b"\n"
        for path in self.directory.iterdir():
            size = path.stat().st_size
            done = self._seen.get(path.name, 0)
            if size <= done:
                continue
            data = path.read_bytes()
            end = data.rfind(separator) + len(separator)
            if end < len(separator) or end <= done:
                continue
            self._seen[path.name] = end
            for chunk in data[done:end].split(separator):
                if chunk.strip():
                    out.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return out

    def code_for(self, address: str, *, timeout: float) -> str:
        """The newest login code sent to ``address`` (waits for the e-mail)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self._messages():
                body = message.get_body(preferencelist=("plain",))
                text = body.get_content() if body is not None else ""
                match = _LOGIN_CODE.search(text)
                if match:
                    for to in str(message.get("To", "")).split(","):
                        self._codes.setdefault(to.strip().lower(), []).append(match.group(1))
            codes = self._codes.get(address.lower())
            if codes:
                return codes.pop()
            if time.monotonic() > deadline:
                raise SimulationError(
                    f"no login code e-mail to {address} within {timeout:.0f} s: is a Celery "
                    "worker consuming the 'celery' queue?"
                )
            time.sleep(0.05)


# --- The Celery worker ------------------------------------------------------------------------


def queues_consumed(timeout: float = 2.0) -> set[str]:
    """The queues some live worker consumes (asked over the broker)."""
    from config.celery import app

    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # noqa: BLE001 - an unreachable broker: no worker
        return set()
    return {q["name"] for queues in replies.values() for q in queues or ()}


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Worker:
    """``celery -A config worker -Q celery,tally`` for the simulation's duration."""

    def __init__(self, workdir: Path) -> None:
        self.mail = workdir / "mail"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            # the simulated voters' login codes are read back from files: a demo worker
            PNYX_DEMO="1",
            EMAIL_BACKEND="file",
            EMAIL_FILE_PATH=str(self.mail),
            PYTHONUNBUFFERED="1",
        )
        self.process = CeleryWorkerProcess(
            [
                *("-Q", "celery,tally", "--concurrency", "2"),
                *("--hostname", f"simulate-{os.getpid()}@%h"),
            ],
            env,
            workdir / "worker.log",
        )
        self.proc = self.process.proc

    def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            self.process.wait_ready(timeout)
        except WorkerFailed as exc:
            raise SimulationError(str(exc)) from exc

    def tail(self, size: int = 3000) -> str:
        """The end of the worker's output (its log file goes with the temporary directory)."""
        return self.process.tail(size)

    def stop(self) -> None:
        self.process.stop()


# --- Voters' choices --------------------------------------------------------------------------


def random_choice(plan: QuestionPlan, spec, rng: random.Random) -> list[int]:
    """A valid random selection for one question (``spec``: its crypto QuestionSpec)."""
    n, low, high = spec.options, spec.min_selections, spec.max_selections
    for _ in range(200):
        k = rng.randint(low, high)
        order = rng.sample(range(n), n)
        picks = [0] * n
        chosen = 0
        spent = 0
        for i in order:
            if chosen == k:
                break
            cost = spec.costs[i] if spec.costs is not None else 0
            if spec.budget is not None and spent + cost > spec.budget:
                continue
            picks[i] = 1
            chosen += 1
            spent += cost
        if chosen >= low:
            return picks
    raise SimulationError(f"{plan.title}: no valid selection found (budget too small?)")


def verify_board_file(path: str) -> tuple[int, dict | None]:
    """``pnyx-verify --json PATH``: its exit status and its report."""
    from verifier.cli import main as verify_main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = verify_main([path, "--json", "--no-progress", "--jobs", "1"])
    lines = out.getvalue().strip().splitlines()
    return code, json.loads(lines[-1]) if lines else None


# --- The simulation ---------------------------------------------------------------------------


@dataclass
class SimVoter:
    identifier: str
    email: str
    weight: int
    code: str = ""
    ip: str = ""
    http: Any = None
    last: list[list[int]] | None = None  #: plaintext of the last ballot cast
    casts: int = 0
    audits: int = 0


@dataclass
class SimTrustee:
    index: int
    store_path: Path
    passphrase: str
    offline_at_tally: bool = False
    _store: object = field(default=None, repr=False, compare=False)

    def unlocked(self):
        """The trustee's key store, unlocked once (scrypt at 2¹⁷ costs ≈ 0.3 s and 128 MiB, as a
        trustee keeps its tool's process); only this trustee's own steps change it."""
        if self._store is None:
            from tally import keystore

            self._store = keystore.unlock(self.store_path, self.passphrase)
        return self._store


@dataclass
class SimulationResult:
    election_id: str
    slug: str
    expected: list[list[int]]
    expected_funded: list[list[str] | None]
    published: dict | None
    ballots_cast: int
    audits: int
    voted: int
    weight: int
    board_path: str | None
    trustees_decrypting: list[int]
    seconds: dict[str, float] = field(default_factory=dict)
    verify_code: int | None = None
    verify_report: dict | None = None

    @property
    def matches(self) -> bool:
        return (
            self.published is not None
            and self.published.get("counts") == self.expected
            and self.published.get("funded") == self.expected_funded
        )


class Simulation:
    def __init__(
        self,
        options: SimulationOptions,
        *,
        say: Callable[[str], None] = lambda _: None,
        progress: Callable[[str, int], Any] | None = None,
        hook: Callable[..., Any] | None = None,
    ) -> None:
        """``say``: one line of progress; ``progress(what, total)``: a bar with ``update(n)`` and
        ``close()``; ``hook(event, **details)``: called at "opened", after every ballot cast
        ("cast", ballots=n), "closed" and "tallied" (tests watch the board grow)."""
        problems = options.problems()
        if problems:
            raise SimulationError("; ".join(problems))
        if options.url and not re.match(r"https?://", options.url):
            raise SimulationError("--url is an http(s) URL, e.g. http://127.0.0.1:8000")
        self.o = options
        self.say = say
        self.progress = progress
        self.rng = random.Random(options.seed)  # noqa: S311 - simulated choices, not secrets
        self.plans = parse_questions(options.questions, self.rng)
        self.weights = parse_weights(options.weights)
        self.seconds: dict[str, float] = {}
        self.hook = hook or (lambda event, **details: None)
        self.audited: list[list[list[int]]] = []  #: plaintexts of the audited ballots, in order
        self.worker_pid: int | None = None  #: the worker started for the simulation, if any

    # -- helpers

    def _http(self, ip: str = "127.0.0.1"):
        return LiveHttp(self.o.url) if self.o.url else InProcessHttp(ip)

    def _expect(self, answer: HttpAnswer, statuses: Sequence[int], what: str) -> Any:
        if answer.status not in statuses:
            raise SimulationError(
                f"{what}: HTTP {answer.status} {answer.body[:500].decode('utf-8', 'replace')}"
            )
        return answer.json() if answer.body else None

    def _wait(self, predicate: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + self.o.timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise SimulationError(f"timed out after {self.o.timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def _timed(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.perf_counter() - started, 2)

    # -- the steps

    def run(self) -> SimulationResult:
        workdir = Path(tempfile.mkdtemp(prefix="pnyx-simulate-"))
        workdir.chmod(0o700)
        worker = None
        try:
            worker, mailbox = self._worker(workdir)
            return self._run(workdir, mailbox)
        finally:
            if worker is not None:
                self.say("stopping the Celery worker started for the simulation")
                worker.stop()
            # the trustees' key stores: secrets of this simulated election only
            shutil.rmtree(workdir, ignore_errors=True)

    def _worker(self, workdir: Path) -> tuple[Worker | None, Mailbox]:
        mode = self.o.worker
        if mode != "start":
            consumed = queues_consumed()
            if {"celery", "tally"} <= consumed:
                self.say("a Celery worker consumes the celery and tally queues: using it")
                return None, Mailbox.for_settings()
            if mode == "existing":
                raise SimulationError(
                    "no Celery worker consumes the 'celery' and 'tally' queues "
                    f"(found: {sorted(consumed) or 'none'}); start one or use --worker auto"
                )
        self.say("starting a Celery worker (celery -A config worker -Q celery,tally)")
        worker = Worker(workdir)
        try:
            worker.wait_ready()
        except SimulationError:
            worker.stop()
            raise
        self.worker_pid = worker.proc.pid
        # another worker in this process (tests) may take some of the tasks: read its outbox too
        outbox = settings.EMAIL_BACKEND.endswith("locmem.EmailBackend")
        return worker, Mailbox(directory=worker.mail, outbox=outbox)

    def _run(self, workdir: Path, mailbox: Mailbox) -> SimulationResult:
        from identity.services.credentials import (
            RollEntry,
            credentials_generate,
            public_credentials_file,
        )

        started = time.perf_counter()
        election = self._create_election()
        self.election = election
        self.base = f"/api/elections/{election.pk}"
        self.say(f"election {election.slug} ({election.pk}): {len(self.plans)} questions")
        voters = self._import_roll(election)
        self._timed("setup", started)

        started = time.perf_counter()
        trustees = self._key_ceremony(election, workdir)
        self._timed("key_ceremony", started)

        started = time.perf_counter()
        issued, credentials = credentials_generate(
            election_uuid=str(election.pk),
            roll=[RollEntry(v.identifier, v.email, v.weight) for v in voters],
        )
        for voter, item in zip(voters, issued, strict=True):
            voter.code = item.code
        public = public_credentials_file(election_uuid=str(election.pk), credentials=credentials)
        self._publish_and_open(election, json.dumps(public))
        self.manifest = Manifest.from_json(parse_json(election.manifest_json))
        self._timed("credentials_and_open", started)
        self.say(f"opened: {len(voters)} voters, credentials published")
        self.hook("opened")

        started = time.perf_counter()
        self._vote(voters, mailbox)
        self._timed("voting", started)

        started = time.perf_counter()
        published = self._close_and_tally(election, trustees, workdir)
        self._timed("tally", started)

        expected = self.expected_counts(voters)
        result = SimulationResult(
            election_id=str(election.pk),
            slug=election.slug,
            expected=expected,
            expected_funded=self.expected_funded(expected),
            published=published,
            ballots_cast=sum(v.casts for v in voters),
            audits=sum(v.audits for v in voters),
            voted=sum(1 for v in voters if v.last is not None),
            weight=sum(v.weight for v in voters if v.last is not None),
            board_path=None,
            trustees_decrypting=[t.index for t in trustees if not t.offline_at_tally],
            seconds=self.seconds,
        )
        if self.o.out:
            result.board_path = self._export(self.o.out)
            if self.o.verify:
                result.verify_code, result.verify_report = verify_board_file(result.board_path)
        return result

    def _create_election(self):
        from voting.models import Option, Question
        from voting.services.elections import election_create
        from voting.services.manifest import election_questions, question_problems

        now = timezone.now()
        slug = f"sim-{now:%Y%m%d%H%M%S}-{self.rng.randrange(16**6):06x}"
        with transaction.atomic():
            election = election_create(
                slug=slug,
                title=self.o.title,
                description=f"manage.py simulate_election --questions {self.o.questions!r}",
                opens_at=now - timedelta(minutes=1),
                closes_at=now + timedelta(days=1),
            )
            # No service edits questions (officials use the admin's forms): the same rows, then
            # the manifest service's own checks.
            for position, plan in enumerate(self.plans):
                question = Question.objects.create(
                    election=election,
                    position=position,
                    kind=plan.kind,
                    title=plan.title,
                    blank_allowed=plan.blank_allowed,
                    min_selections=plan.min_selections,
                    max_selections=plan.max_selections,
                    budget=plan.budget,
                )
                Option.objects.bulk_create(
                    Option(
                        question=question,
                        position=i,
                        title=title,
                        cost=plan.costs[i] if plan.costs else None,
                    )
                    for i, title in enumerate(plan.options)
                )
            problems = [
                p
                for q, options in election_questions(election)
                for p in question_problems(q, options)
            ]
            if problems:
                raise SimulationError("--questions: " + " ".join(problems))
        return election

    def _import_roll(self, election) -> list[SimVoter]:
        from identity.services.voters import voter_roll_import

        low, high = self.weights
        voters = [
            SimVoter(
                identifier=f"voter{i:06d}",
                email=f"voter{i:06d}@{election.slug}.example.org",
                weight=self.rng.randint(low, high),
                ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            )
            for i in range(1, self.o.voters + 1)
        ]
        lines = [b"identifier,email,weight\n"] + [
            f"{v.identifier},{v.email},{v.weight}\n".encode() for v in voters
        ]
        voter_roll_import(election=election, lines=lines, acting_user=None)
        return voters

    # -- key ceremony: offline trustees running the trustee tool's steps

    def _board(self, workdir: Path):
        """The board as the trustees read it: downloaded once, verified with the standalone
        verifier (tally.trustee_board); every trustee then takes its inputs from those bytes."""
        from tally.trustee_board import verify_file

        answer = self.http.get(f"{self.base}/board.jsonl")
        self._expect(HttpAnswer(answer.status, b""), (200,), "board export")
        path = workdir / "board-view.jsonl"
        path.write_bytes(answer.body)
        return verify_file(path, jobs=os.cpu_count() or 1)

    def _ceremony_phase(self) -> str:
        answer = self.http.get(f"{self.base}/ceremony/")
        return self._expect(answer, (200,), "ceremony status")["phase"]

    def _key_ceremony(self, election, workdir: Path) -> list[SimTrustee]:
        from tally import keystore
        from tally.services.ceremony import ceremony_configure, trustee_enrolment_issue
        from tally.trustee_board import act
        from tally.trustee_steps import keygen
        from voting.services.elections import election_start_ceremony

        self.http = self._http()
        ceremony = ceremony_configure(
            election=election,
            threshold=self.o.threshold,
            trustees=[
                {"name": f"Trustee {i}", "email": f"trustee{i}@example.org", "mode": "offline"}
                for i in range(1, self.o.trustees + 1)
            ],
            acting_user=None,
        )
        silent = set(self.rng.sample(range(1, self.o.trustees + 1), self.o.offline_trustees))
        trustees = []
        for model in ceremony.trustees.order_by("index"):
            trustee = SimTrustee(
                model.index,
                workdir / f"trustee-{model.index}.json",
                os.urandom(PASSPHRASE_BYTES).hex(),
                offline_at_tally=model.index in silent,
            )
            token = trustee_enrolment_issue(trustee=model, acting_user=None)
            _, registration = keygen(
                trustee.store_path,
                election=str(election.pk),
                index=trustee.index,
                passphrase=trustee.passphrase,
            )
            registration["token"] = token
            self._expect(
                self.http.post(self._messages(trustee), registration),
                (200, 202),
                f"trustee {trustee.index} registration",
            )
            trustees.append(trustee)
        election_start_ceremony(election=election, acting_user=None)
        for step in ("commit", "deal", "check", "confirm"):
            self._wait(lambda s=step: self._ceremony_phase() == s, f"ceremony phase {step}")
            board = self._board(workdir)
            for trustee in trustees:
                with keystore.locked(trustee.store_path):
                    message = act(trustee.unlocked(), board, step)
                self._expect(
                    self.http.post(self._messages(trustee), message),
                    (200, 202),
                    f"trustee {trustee.index} {step}",
                )
        phase = self._wait(
            lambda: (p := self._ceremony_phase()) in ("done", "failed") and p, "the election key"
        )
        if phase != "done":
            raise SimulationError("the key ceremony failed")
        self.say(f"key ceremony done: {self.o.trustees} trustees, threshold {self.o.threshold}")
        return trustees

    def _messages(self, trustee: SimTrustee) -> str:
        return f"{self.base}/trustees/{trustee.index}/messages/"

    def _publish_and_open(self, election, public_file: str) -> None:
        from identity.services.credentials import credentials_publish_file
        from voting.services.elections import election_open

        credentials_publish_file(election=election, data=public_file, acting_user=None)
        election_open(election=election, acting_user=None)
        election.refresh_from_db()

    # -- voting

    def _login(self, voter: SimVoter, mailbox: Mailbox) -> None:
        voter.http = self._http(voter.ip)
        self._expect(voter.http.get(f"{self.base}/me/"), (200,), "me (CSRF cookie)")
        self._expect(
            voter.http.post(f"{self.base}/login/", {"identifier": voter.identifier}),
            (202,),
            f"{voter.identifier} login request",
        )
        code = mailbox.code_for(voter.email, timeout=min(self.o.timeout, 120.0))
        me = self._expect(
            voter.http.post(
                f"{self.base}/login/verify/", {"identifier": voter.identifier, "code": code}
            ),
            (200,),
            f"{voter.identifier} login",
        )
        if not me.get("authenticated"):
            raise SimulationError(f"{voter.identifier}: the login did not authenticate")

    def _choices(self) -> list[list[int]]:
        return [
            random_choice(plan, spec, self.rng)
            for plan, spec in zip(self.plans, self.manifest.spec.questions, strict=True)
        ]

    def _cast(self, voter: SimVoter) -> None:
        choices = self._choices()
        key = derive_signing_key(voter.code, str(self.election.pk))
        ballot, _ = ballot_encrypt(self.manifest.spec, key, choices)
        self._expect(
            voter.http.post(f"{self.base}/ballots/", ballot.to_json()),
            (201,),
            f"{voter.identifier} casting",
        )
        voter.last = choices
        voter.casts += 1
        self.cast_count += 1
        self.hook("cast", ballots=self.cast_count)

    def _audit(self, voter: SimVoter) -> None:
        choices = self._choices()
        key = derive_signing_key(voter.code, str(self.election.pk))
        ballot, secrets = ballot_encrypt(self.manifest.spec, key, choices)
        answer = self._expect(
            voter.http.post(
                f"{self.base}/audits/",
                {"ballot": ballot.to_json(), "randomness": secrets.to_json()},
            ),
            (201,),
            f"{voter.identifier} audit",
        )
        shown = [[int(bool(s["selected"])) for s in q["selections"]] for q in answer["plaintexts"]]
        if shown != choices:
            raise SimulationError(f"{voter.identifier}: the audit shows {shown}, not {choices}")
        voter.audits += 1
        self.audited.append(choices)

    def _vote(self, voters: list[SimVoter], mailbox: Mailbox) -> None:
        turnout = [v for v in voters if self.rng.random() < self.o.turnout]
        self.rng.shuffle(turnout)
        plan: list[tuple[str, SimVoter]] = []
        for voter in turnout:
            if self.rng.random() < self.o.audit_rate:
                plan.append(("audit", voter))
            plan.append(("cast", voter))
        revoters = [v for v in turnout if self.rng.random() < self.o.revote_rate]
        plan += [("cast", v) for v in revoters]
        bar = self.progress("voting", len(plan)) if self.progress else None
        self.cast_count = 0
        for action, voter in plan:
            if voter.http is None:
                self._login(voter, mailbox)
            (self._audit if action == "audit" else self._cast)(voter)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        self.say(
            f"voted: {len(turnout)} voters, {sum(v.casts for v in voters)} ballots "
            f"({len(revoters)} revotes), {sum(v.audits for v in voters)} audits"
        )

    # -- close and tally

    def _tally_status(self) -> dict:
        return self._expect(self.http.get(f"{self.base}/tally/"), (200,), "tally status")

    def _close_and_tally(self, election, trustees: list[SimTrustee], workdir: Path) -> dict:
        from tally import keystore
        from tally.trustee_board import act
        from voting.services.elections import election_close

        election_close(election=election, acting_user=None, reason="simulation")
        self.say("closed; the tally runs on the Celery worker")
        self.hook("closed")
        self._wait(
            lambda: self._tally_status()["status"] in ("decrypting", "done"),
            "the encrypted tally (is a worker consuming the 'tally' queue?)",
        )
        board = self._board(workdir)
        for trustee in trustees:
            if trustee.offline_at_tally:
                self.say(f"trustee {trustee.index} stays away (no partial decryption)")
                continue
            with keystore.locked(trustee.store_path):
                message = act(trustee.unlocked(), board, "decrypt")
            self._expect(
                self.http.post(self._messages(trustee), message),
                (200, 202),
                f"trustee {trustee.index} partial decryption",
            )
        status = self._wait(
            lambda: (s := self._tally_status())["status"] == "done" and s, "the result"
        )
        self.hook("tallied")
        return status.get("result")

    # -- expectations and output

    def expected_counts(self, voters: Sequence[SimVoter]) -> list[list[int]]:
        out = [[0] * len(plan.options) for plan in self.plans]
        for voter in voters:
            if voter.last is None:
                continue
            for qi, picks in enumerate(voter.last):
                for oi, x in enumerate(picks):
                    out[qi][oi] += voter.weight * x
        return out

    def expected_funded(self, counts: list[list[int]]) -> list[list[str] | None]:
        out = []
        for question, spec, row in zip(
            self.manifest.data["questions"], self.manifest.spec.questions, counts, strict=True
        ):
            if spec.costs is None:
                out.append(None)
            else:
                ids = funded_projects(row, spec.costs, spec.budget)
                out.append([question["options"][i]["id"] for i in ids])
        return out

    def _export(self, out: str) -> str:
        from board.selectors import board_lines

        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as sink:
            for line in board_lines(election_id=self.election.pk):
                sink.write(line.encode() + b"\n")
        return str(path)
