"""What a log uses to ask a witness for a cosignature (c2sp.org/tlog-witness), stdlib only.

:func:`add_checkpoint` posts ``old size ‖ proof ‖ checkpoint`` and returns the witness's
signature lines, or raises :class:`WitnessConflict` carrying the size the witness last cosigned
(409: send a consistency proof from that size) or :class:`WitnessRefused` (any other answer).
The caller checks the returned cosignature against the witness's key before publishing it.
"""

from __future__ import annotations

import http.client
import urllib.parse

from crypto.checkpoint import AddCheckpoint, parse_size_body
from crypto.errors import InvalidNote
from crypto.note import NoteSignature, parse_signature_lines

#: a witness answer (some signature lines) is small
MAX_RESPONSE = 64 * 1024


class WitnessError(Exception):
    """The witness could not be asked, or did not cosign."""


class WitnessConflict(WitnessError):
    def __init__(self, size: int) -> None:
        super().__init__(f"the witness last cosigned size {size}")
        self.size = size


class WitnessRefused(WitnessError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the witness answered {status}: {message}")
        self.status = status


def add_checkpoint(
    url: str, request: AddCheckpoint, *, timeout: float = 10.0
) -> tuple[NoteSignature, ...]:
    """POST ``request`` to ``<url>/add-checkpoint`` (``url``: the witness's submission prefix)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WitnessError(f"not an http(s) URL: {url!r}")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = parts.path.rstrip("/") + "/add-checkpoint"
    try:
        connection.request(
            "POST", path, body=request.to_bytes(), headers={"Content-Type": "text/plain"}
        )
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise WitnessError(f"the witness at {url} did not answer: {exc}") from None
    finally:
        connection.close()
    if len(body) > MAX_RESPONSE:
        raise WitnessError("the witness's answer is too long")
    if response.status == 409:
        try:
            size = parse_size_body(body)
        except InvalidNote as exc:
            raise WitnessError(f"malformed 409 answer: {exc}") from None
        raise WitnessConflict(size)
    text = body.decode("utf-8", errors="replace")
    if response.status != 200:
        raise WitnessRefused(response.status, text.strip()[:300])
    try:
        return parse_signature_lines(text)
    except InvalidNote as exc:
        raise WitnessError(f"the witness's answer is not signature lines: {exc}") from None
