"""Where a board comes from: a ``board.jsonl`` file or an election's board URL.

A URL is streamed to a temporary file first, so that the verifier can re-read superseded ballots by
byte offset without keeping them in memory. ``refresh`` appends what a live board added since.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

_MAX_LINE = 64 * 1024 * 1024
_BOARD_PATH = re.compile(r"(/api/elections/[^/]+)(/board)?(/|\.jsonl)?/?$")


class SourceError(Exception):
    """The board cannot be read (missing file, network error, bad URL): exit code 2."""


def export_url(url: str) -> str:
    """Accept the election page, its API URL, its board URL or the export URL itself."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"unsupported URL scheme {parts.scheme!r}")
    path = parts.path
    if not path.endswith("board.jsonl"):
        match = _BOARD_PATH.search(path)
        if not match:
            raise SourceError(
                "expected an election board URL such as https://host/api/elections/<id>/board.jsonl"
            )
        path = path[: match.start()] + match.group(1) + "/board.jsonl"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class BoardSource:
    def __init__(self, source: str, *, timeout: float = 60.0) -> None:
        self.source = source
        self.timeout = timeout
        self.url: str | None = None
        self._tmp: Path | None = None
        if re.match(r"^https?://", source):
            self.url = export_url(source)
            fd, name = tempfile.mkstemp(prefix="pnyx-board-", suffix=".jsonl")
            os.close(fd)
            self._tmp = Path(name)
            self.path = self._tmp
            self._download(self.url, self.path, append=False)
        else:
            self.path = Path(source)
            if not self.path.is_file():
                raise SourceError(f"no such file: {source}")

    def _download(self, url: str, path: Path, *, append: bool) -> int:
        # export_url() admitted only http and https
        request = urllib.request.Request(url, headers={"Accept": "application/x-ndjson"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                with open(path, "ab" if append else "wb") as out:
                    before = out.tell()
                    shutil.copyfileobj(response, out, 1 << 20)
                    return out.tell() - before
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"cannot download {url}: {exc}") from exc

    def lines(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(offset, line)`` for every line from byte ``start``; a line too long is an error."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(start)
                offset = start
                while True:
                    line = fh.readline(_MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > _MAX_LINE:
                        raise SourceError(f"line at byte {offset} is longer than {_MAX_LINE} bytes")
                    if not line.endswith(b"\n"):
                        # a live download may end mid-line: leave it for the next refresh
                        if self.url is not None:
                            return
                    yield offset, line
                    offset += len(line)
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc}") from exc

    def read_at(self, offset: int) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return fh.readline(_MAX_LINE + 1)

    def refresh(self, after_seq: int, complete_bytes: int) -> bool:
        """Fetch entries after ``after_seq`` from a live board; True if anything arrived."""
        if self.url is None:
            return os.path.getsize(self.path) > complete_bytes
        with open(self.path, "r+b") as fh:  # drop a partial last line before appending
            fh.truncate(complete_bytes)
        added = self._download(f"{self.url}?after={after_seq}", self.path, append=True)
        return added > 0

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
