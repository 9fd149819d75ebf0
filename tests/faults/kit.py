"""Fault injection against the real server processes (issue 10), for tests/faults/ and
bench/faults.py.

- :class:`Gunicorn`: the web server as production runs it (``gunicorn config.wsgi``, sync
  workers), in a process group of its own; :meth:`Gunicorn.kill_worker` SIGKILLs one worker, as
  the OOM killer or a crash does (its master starts another).
- :class:`TcpProxy` (tests/faults/proxy.py): a TCP proxy in front of PostgreSQL that the test
  *cuts* (every open connection closed, new ones refused, as when PostgreSQL stops or fails over)
  and *restores*. The machine's shared PostgreSQL is never stopped: other tests and other people
  use it.
- :class:`tests.tally.faults.RedisServer`: a private ``redis-server`` to kill and restart.
- :class:`BlackHole`: a port that accepts connections and never answers (a broker behind a
  dead network path).
- :func:`http` and :func:`send_until_answered`: a plain HTTP/1.1 client, and what the booth does
  when casting (frontend/src/ui/retry.mjs): send again after no answer or a 5xx, with backoff.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from tests.faults.gunicorn_hooks import READY
from tests.faults.proxy import TcpProxy, free_port
from tests.tally.faults import RedisServer

__all__ = [
    "Answer",
    "BlackHole",
    "Gunicorn",
    "NoAnswer",
    "RedisServer",
    "TcpProxy",
    "free_port",
    "http",
    "send_until_answered",
]

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = re.compile(re.escape(READY).replace(r"\{pid\}", r"(\d+)"))
CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  #: names in lower case
    body: bytes
    seconds: float
    cookies: dict[str, str] = field(default_factory=dict)  #: what its Set-Cookie headers set

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The API error code, if the body is the API's error envelope."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


class NoAnswer(Exception):
    """The connection was refused, reset or closed before a whole answer arrived."""


def http(
    method: str,
    url: str,
    body: bytes | str | None = None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Answer:
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(body, str):
        body = body.encode("utf-8")
    started = time.monotonic()
    connection = HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(
            method, path, body=body, headers={"Connection": "close", **(headers or {})}
        )
        response = connection.getresponse()
        data = response.read()
    except (OSError, HTTPException) as exc:
        raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key.strip()] = rest.split(";", 1)[0]
    return Answer(
        response.status,
        {name.lower(): value for name, value in response.getheaders()},
        data,
        time.monotonic() - started,
        cookies,
    )


def voter_headers(session_key: str, csrf: str) -> dict[str, str]:
    """A logged-in voter's cookie and CSRF token (a 32-character CSRF secret in the cookie, the
    same in the header, as Django accepts)."""
    return {
        "Content-Type": "application/json",
        "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }


def csrf_token() -> str:
    import secrets

    return "".join(secrets.choice(CSRF_CHARS) for _ in range(32))


@dataclass
class Delivery:
    """What a client that sends again after failures went through."""

    answer: Answer | None  #: the final answer (None: gave up without one)
    tries: list[str] = field(default_factory=list)  #: each failed try: "no answer" or the status
    seconds: float = 0.0  #: from the first send to the final answer


def send_until_answered(
    send: Callable[[], Answer],
    *,
    attempts: int = 8,
    backoff: float = 0.25,
    cap: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send, and send the same again after no answer or a 5xx (waiting ``backoff``, doubling up to
    ``cap``, or the answer's ``Retry-After`` if shorter than ``cap``), at most ``attempts`` times:
    what the booth does when casting (frontend/src/ui/retry.mjs)."""
    delivery = Delivery(None)
    started = time.monotonic()
    wait = backoff
    for attempt in range(attempts):
        try:
            answer = send()
        except NoAnswer as exc:
            delivery.tries.append(f"no answer ({exc})")
            answer = None
        if answer is not None and answer.status < 500:
            delivery.answer = answer
            break
        if answer is not None:
            delivery.tries.append(str(answer.status))
            delivery.answer = answer
        if attempt == attempts - 1:
            break
        pause = wait
        if answer is not None and answer.headers.get("retry-after", "").isdigit():
            pause = min(cap, max(wait, float(answer.headers["retry-after"])))
        sleep(pause)
        wait = min(cap, wait * 2)
    delivery.seconds = time.monotonic() - started
    return delivery


# --- A broker that never answers ----------------------------------------------------------------


class BlackHole:
    """A port that accepts connections and never answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


# --- gunicorn --------------------------------------------------------------------------------


class Gunicorn:
    """``gunicorn config.wsgi`` with sync workers on a free port; its log goes to a file."""

    def __init__(self, env: dict, log: Path, *, workers: int = 2, timeout: int = 30) -> None:
        self.env = env
        self.log = log
        self.workers = workers
        self.timeout = timeout
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._out = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Gunicorn:
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                str(self.timeout),
                "--graceful-timeout",
                "2",
                "--backlog",
                "2048",
                "--log-level",
                "info",
                "--config",
                "python:tests.faults.gunicorn_hooks",
                # gunicorn's default control socket is one path per user (~/.gunicorn/): servers
                # started side by side would take it from each other
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker has booted and the site answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()[-3000:]}")
            if len(self.worker_pids()) >= self.workers:
                with contextlib.suppress(NoAnswer):
                    if http("GET", f"{self.url}/api/board-key", timeout=5).status == 200:
                        return
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer: {self.output()[-3000:]}")

    def worker_pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def ready_workers(self) -> set[int]:
        """The workers that have logged they take requests (tests/faults/gunicorn_hooks.py)."""
        return {int(pid) for pid in READY_LINE.findall(self.output())}

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (the first, or ``pid``); its master starts another."""
        pid = pid or self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def output(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._out is not None:
            self._out.close()
            self._out = None


def database_url(*, port: int | None = None) -> str:
    """The test database's URL (pytest-django renamed it), optionally through another port."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db.get('USER') or 'postgres'}{password}"
        f"@{db.get('HOST') or '127.0.0.1'}:{port or db.get('PORT') or 5432}/{db['NAME']}"
    )


@contextlib.contextmanager
def running(*things) -> Iterator[None]:
    """Stop (``stop()``) every server given, whatever happens."""
    try:
        yield
    finally:
        for thing in reversed(things):
            with contextlib.suppress(Exception):
                thing.stop()
