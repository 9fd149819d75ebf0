"""Boards as an attacker would rewrite them (rechained: the chain itself stays consistent, so only
the verifier's deeper checks can tell), and a real HTTP server that serves them to a trustee."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crypto.ballot import Ballot
from crypto.board import BoardEntry
from crypto.tally import ballot_option_ciphertexts, tally_from_json, tally_to_json


def entries_of(lines: list[bytes]) -> list[dict]:
    return [json.loads(line) for line in lines]


def rechain(entries: list[dict]) -> list[bytes]:
    """Canonical lines for ``entries`` with seq, prev and hash recomputed: a consistent chain."""
    out, prev = [], "0" * 64
    for seq, e in enumerate(entries):
        entry = BoardEntry.create(
            election=e["election"],
            seq=seq,
            kind=e["kind"],
            time=e["time"],
            prev=prev,
            payload=e["payload"],
        )
        out.append(entry.to_line())
        prev = entry.hash
    return out


def ballot_entry(entries: list[dict], tracker: str) -> dict:
    return next(e for e in entries if e["kind"] == "ballot" and e["payload"]["tracker"] == tracker)


def modify_ballot(tracker: str) -> Callable[[list[dict], object], list[dict]]:
    """Swap the first two choices of a ballot (its proofs and tracker no longer hold)."""

    def transform(entries, spec):
        payload = ballot_entry(entries, tracker)["payload"]
        choices = payload["ballot"]["answers"][0]["choices"]
        choices[0], choices[1] = choices[1], choices[0]
        return entries

    return transform


def forge_tally(tracker: str) -> Callable[[list[dict], object], list[dict]]:
    """The tally entry's ciphertexts replaced by one ballot's: its decryption would be that
    voter's choices (the oracle attack, through the board)."""

    def transform(entries, spec):
        ballot = Ballot.from_json(ballot_entry(entries, tracker)["payload"]["ballot"])
        tally = next(e for e in entries if e["kind"] == "tally")
        tally["payload"]["ciphertexts"] = tally_to_json(
            ballot_option_ciphertexts(ballot, spec), spec.questions
        )
        return entries

    return transform


def drop_ballot(tracker: str, weight: int) -> Callable[[list[dict], object], list[dict]]:
    """A valid fork: the board without one (never superseded) ballot, its tally recomputed —
    what a server that censors a ballot after the fact would publish."""

    def transform(entries, spec):
        entry = ballot_entry(entries, tracker)
        entries = [e for e in entries if e is not entry]
        ballot = Ballot.from_json(entry["payload"]["ballot"])
        tally = next((e for e in entries if e["kind"] == "tally"), None)
        if tally is not None:
            payload = tally["payload"]
            totals = tally_from_json(payload["ciphertexts"], spec.questions)
            minus = ballot_option_ciphertexts(ballot, spec)
            payload["ciphertexts"] = tally_to_json(
                [t - m.scale(weight) for t, m in zip(totals, minus, strict=True)], spec.questions
            )
            payload["counted"] -= 1
            payload["weight"] -= weight
        return entries

    return transform


class BoardProxy:
    """A real HTTP server in front of the live server's board export: it forwards requests as they
    are (``honest``) or serves the whole board rewritten by ``transform`` (then rechained), with
    ``?after=`` honoured as the server does. It counts the requests it answered."""

    def __init__(self, upstream: str, spec) -> None:
        self.upstream = upstream
        self.spec = spec
        self.transform: Callable | None = None
        self.requests: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                proxy.requests.append(self.path)
                body = proxy.answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str) -> bytes:
        parts = urllib.parse.urlsplit(path)
        if self.transform is None:
            with urllib.request.urlopen(self.upstream + path, timeout=30) as response:  # noqa: S310
                return response.read()
        with urllib.request.urlopen(self.upstream + parts.path, timeout=30) as response:  # noqa: S310
            lines = response.read().splitlines(keepends=True)
        tampered = rechain(self.transform(entries_of(lines), self.spec))
        after = int(urllib.parse.parse_qs(parts.query).get("after", ["-1"])[0])
        return b"".join(tampered[after + 1 :])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
