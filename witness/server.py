"""The witness's HTTP interface (c2sp.org/tlog-witness) on the standard library's threading server.

``POST /add-checkpoint`` and ``GET /<hex SHA-256 of the origin>/checkpoint`` (submission and
monitoring prefixes are both the root); ``GET /`` answers the witness's verifier key. Keep-alive
(HTTP/1.1) with a ``Content-Length`` on every answer; bodies larger than :data:`MAX_BODY` are
refused with 413 before they are read; anything unexpected answers 500 without details.
"""

from __future__ import annotations

import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crypto.note import MAX_NOTE_BYTES
from witness.service import TEXT, Response, Witness

#: old size line + 63 proof lines + the checkpoint note
MAX_BODY = 64 * 1024 + MAX_NOTE_BYTES
_CHECKPOINT_PATH = re.compile(r"/([0-9a-f]{64})/checkpoint\Z")
log = logging.getLogger("pnyx-witness")


class WitnessHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pnyx-witness"
    sys_version = ""
    witness: Witness  # set on the subclass made by make_server

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _text(self, status: int, message: str) -> None:
        self._send(Response(status, TEXT, (message + "\n").encode("utf-8")))

    def _guard(self, action) -> None:
        try:
            action()
        except Exception:  # a bug: answer 500 and keep serving, details only in our log
            log.exception("internal error on %s %s", self.command, self.path)
            self.close_connection = True
            self._text(500, "internal error")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._guard(self._post)

    def do_GET(self) -> None:  # noqa: N802
        self._guard(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._guard(self._get)

    def _post(self) -> None:
        if self.path != "/add-checkpoint":
            self._drain_or_close()
            known = self.path == "/" or _CHECKPOINT_PATH.match(self.path)
            return self._text(405 if known else 404, "not found" if not known else "use GET")
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None:
            self.close_connection = True
            return self._text(411, "a Content-Length is required")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True
            return self._text(413, f"the body is larger than {MAX_BODY} bytes")
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            self.close_connection = True
            return self._text(400, "the body is shorter than its Content-Length")
        self._send(self.witness.add_checkpoint(body))

    def _drain_or_close(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= MAX_BODY:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _get(self) -> None:
        if self.path == "/":
            return self._text(200, self.witness.signer.verifier.vkey)
        match = _CHECKPOINT_PATH.match(self.path)
        if match:
            return self._send(self.witness.latest(match.group(1)))
        if self.path == "/add-checkpoint":
            return self._text(405, "use POST")
        return self._text(404, "not found")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        log.info("%s %s", self.address_string(), format % args)


def make_server(witness: Witness, host: str = "127.0.0.1", port: int = 7380) -> ThreadingHTTPServer:
    handler = type("BoundWitnessHandler", (WitnessHandler,), {"witness": witness})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(witness: Witness, host: str = "127.0.0.1", port: int = 0):
    """Start a server on a background thread; returns ``(server, thread)`` (tests, demos)."""
    server = make_server(witness, host, port)
    thread = threading.Thread(target=server.serve_forever, name="pnyx-witness", daemon=True)
    thread.start()
    return server, thread
