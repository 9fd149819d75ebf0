"""The trustee's worker: what ``tally.trustee_step`` does on a trustee's own machine.

Framework-free (the key store, tally.trustee_board, the standard library): ``celery -A config
worker -Q trustee.<id>`` runs it with the trustee's environment (docs/trustees.md):

* ``PNYX_TRUSTEE_KEYSTORE``, ``PNYX_TRUSTEE_PASSPHRASE_FILE``: its key store(s) and passphrase;
* ``PNYX_TRUSTEE_BOARD``: where it reads the public board — the server's public address
  (``https://vote.example.org``: it reads ``/api/elections/<id>/board.jsonl``), a URL holding
  ``{election}``, or an export file (a path, ``{election}`` replaced); default ``PNYX_BASE_URL``,
  else ``http://127.0.0.1:8000`` (``make run``);
* ``PNYX_TRUSTEE_VERIFY_JOBS``: the verifier's processes (default: every core, or 1 inside a
  daemonic pool process).

A request only says "look at election E now" (with the step the server expects as a hint):
:func:`task_request` refuses anything else — a task carrying ciphertexts, deals, parameters…
is the decryption-oracle attack of issue 9. For each request the worker brings its copy of the
board up to date (:func:`board_sync`: what the server appended since the head it verified last,
``?after=<seq>``), verifies it with the standalone verifier (``since`` = that head, so a fork or a
rewrite of what it verified before fails), records the new head in the key store (authenticated
by its AEAD), and acts only if the verified board allows the step (tally.trustee_board.act).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

from crypto.board import BoardEntry, InvalidChain
from crypto.errors import CryptoError
from tally import keystore
from tally.keystore import KeyStore
from tally.trustee_board import (
    BoardRefused,
    NothingToDo,
    VerifiedBoard,
    act,
    board_url,
    download,
    is_url,
    verify_file,
)
from tally.trustee_steps import BOARD_STEPS, TrusteeError

logger = logging.getLogger("pnyx.trustee")

BOARD_ENV = "PNYX_TRUSTEE_BOARD"
JOBS_ENV = "PNYX_TRUSTEE_VERIFY_JOBS"
DEFAULT_SERVER = "http://127.0.0.1:8000"
TASK_FIELDS = ("election", "trustee", "step")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_TAIL_BLOCK = 1 << 16
_MAX_LINE = 64 * 1024 * 1024


class TaskRefused(TrusteeError):
    """The request carries more than "look at election E now": refused without reading anything."""


# --- The request ---------------------------------------------------------------------------------


def task_request(args: tuple, kwargs: dict) -> tuple[str, int, str | None]:
    """``(election, trustee index, step hint)`` of a ``tally.trustee_step`` request, or
    :class:`TaskRefused`: a trustee takes no input from the server, only the election to look at."""
    extra = sorted(set(kwargs) - set(TASK_FIELDS))
    if args or extra:
        what = [f"{len(args)} positional argument(s)"] if args else []
        raise TaskRefused(
            "the request carries "
            + ", ".join(what + [f"'{name}'" for name in extra])
            + ": a trustee takes every input of a step from the board it verifies itself, never "
            "from the request (which may only name the election, the trustee and the step)"
        )
    election, index, step = kwargs.get("election"), kwargs.get("trustee"), kwargs.get("step")
    if not isinstance(election, str) or not _UUID.match(election):
        raise TaskRefused("the request names no election (a UUID)")
    if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 64:
        raise TaskRefused("the request names no trustee index (1 to 64)")
    if step is not None and step not in BOARD_STEPS:
        raise TaskRefused(f"unknown step {step!r}")
    return election, index, step


# --- The environment -----------------------------------------------------------------------------


def board_location(election: str, env: dict | None = None) -> str:
    """The URL or file the worker reads ``election``'s board from (module docstring)."""
    env = os.environ if env is None else env
    value = (env.get(BOARD_ENV) or env.get("PNYX_BASE_URL") or DEFAULT_SERVER).strip()
    if is_url(value):
        return board_url(value, election)
    return value.replace("{election}", election)


def verify_jobs(env: dict | None = None) -> int:
    env = os.environ if env is None else env
    if env.get(JOBS_ENV):
        try:
            return max(1, int(env[JOBS_ENV]))
        except ValueError as exc:
            raise TrusteeError(f"{JOBS_ENV} is a number of processes") from exc
    # a daemonic process (a prefork pool's child) cannot start the verifier's own processes
    if multiprocessing.current_process().daemon:
        return 1
    return os.cpu_count() or 1


def local_board(store_path: Path) -> Path:
    """The trustee's copy of the board it verified: next to its key store."""
    return store_path.with_name(f"{store_path.stem}.board.jsonl")


# --- The verified board, incrementally ------------------------------------------------------------


def _last_entry(path: Path) -> tuple[int, str] | None:
    """(seq, hash) of the last line of ``path``, or None if it is missing or not a board line."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            if end == 0:
                return None
            start, data = end, b""
            while start > 0 and data.count(b"\n") < 2 and end - start <= _MAX_LINE:
                start = max(0, start - _TAIL_BLOCK)
                fh.seek(start)
                data = fh.read(end - start)
    except OSError:
        return None
    if not data.endswith(b"\n"):
        return None
    body = data[:-1]
    line = body[body.rfind(b"\n") + 1 :] + b"\n"
    try:
        entry = BoardEntry.from_canonical_line(line)
    except (CryptoError, InvalidChain):
        return None
    return entry.seq, entry.hash


def recorded_head(store: KeyStore) -> tuple[int, str] | None:
    head = store.secrets.get("board")
    if (
        isinstance(head, dict)
        and isinstance(head.get("seq"), int)
        and isinstance(head.get("hash"), str)
    ):
        return head["seq"], head["hash"]
    return None


def _since(store: KeyStore) -> str | None:
    """The hash given to the verifier as ``since``: the head verified last (its entries' proofs
    are not checked again; the chain over them is)."""
    head = recorded_head(store)
    return head[1] if head is not None else None


def _hash_at(path: Path, seq: int) -> str | None:
    """The declared hash of entry ``seq`` of a board file the verifier accepted (its lines are
    entries 0, 1, 2, … in order, each line's hash checked)."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh):
            if number == seq:
                match = re.search(rb'"hash":"([0-9a-f]{64})"', line[:400])
                return match.group(1).decode() if match else None
    return None


#: the board each key store's worker verified last, in this process: local copy → (the copy's
#: stamp, the verified board). A request that finds nothing appended since reuses it — no new
#: bytes, nothing new to verify — so that a look at an idle board costs one HTTP request.
_VERIFIED: dict[str, tuple[tuple[int, int], VerifiedBoard]] = {}


def board_sync(store: KeyStore, location: str, *, jobs: int = 1) -> VerifiedBoard:
    """The board of ``store``'s election, verified, from ``location`` (a URL or an export file).

    The local copy (:func:`local_board`) ends at the head recorded in the key store; only what the
    server appended since is fetched (``?after=<seq>``), and the whole is verified with ``since``
    (:func:`_since`): proofs are checked for the new entries only; the chain, the state machine,
    the ceremony, the tally and the decryptions over everything. A board that does not extend the
    head verified before (a fork, a rewrite) fails. On success the copy and the recorded head move
    forward (the key store is saved: hold ``keystore.locked``); on failure nothing changes and
    :class:`BoardRefused` says why. When the server has appended nothing since the head this
    process verified last (and the copy is unchanged), that verified board is returned as it is."""
    head = recorded_head(store)
    local = local_board(store.path)
    token = secrets.token_hex(4)
    work = local.with_name(f".{local.name}.{token}.tmp")
    tail = local.with_name(f".{local.name}.{token}.tail")
    try:
        after = None
        if head is not None and _last_entry(local) == head:
            after = head[0]
        elif head is not None:
            logger.warning(
                "trustee %d of election %s: the local board copy %s does not end at the verified "
                "head #%d: reading the whole board again",
                store.index,
                store.election,
                local,
                head[0],
            )
        if is_url(location) and after is None:
            download(location, work)
        elif is_url(location):
            separator = "&" if "?" in location else "?"
            appended = download(f"{location}{separator}after={after}", tail)
            cached = _VERIFIED.get(str(local))
            if (
                appended == 0
                and cached is not None
                and cached[0] == _stamp(local)
                and cached[1].head == head
            ):
                return cached[1]
            shutil.copyfile(local, work)
            with open(work, "ab") as out, open(tail, "rb") as new:
                shutil.copyfileobj(new, out, 1 << 20)
        else:
            try:
                shutil.copyfile(location, work)
            except OSError as exc:
                raise BoardRefused(f"cannot read {location}: {exc.strerror}") from exc
        extends = ""
        if head is not None:
            extends = (
                f" (this trustee verified the board up to entry #{head[0]} before: a board that "
                "does not extend it is refused)"
            )
        try:
            board = verify_file(work, since=_since(store), jobs=jobs)
        except BoardRefused as exc:
            raise BoardRefused(f"{exc}{extends}") from exc
        # read from the start (no local copy): the head verified before must be on it, unchanged
        if head is not None and after is None and _hash_at(work, head[0]) != head[1]:
            raise BoardRefused(f"the board does not verify: entry #{head[0]} differs{extends}")
        os.replace(work, local)
    finally:
        work.unlink(missing_ok=True)
        tail.unlink(missing_ok=True)
    report = board.report
    new_head = {"seq": report.head_seq, "hash": report.head_hash}
    if store.secrets.get("board") != new_head:
        store.secrets["board"] = new_head
        store.save()
    verified = replace(board, path=local)
    if board.checked is not None:
        # the verifier re-reads lists by offset (the mix's rows): from the copy kept, whose bytes
        # are the ones it verified (the next sync only appends to them)
        board.checked.source.path = local
    _VERIFIED[str(local)] = (_stamp(local), verified)
    return verified


# --- Key stores -----------------------------------------------------------------------------------

_UNLOCKED: dict[str, tuple[tuple[int, int], KeyStore]] = {}


def _store_for(election: str, index: int, env: dict | None) -> Path:
    for path in keystore.keystore_paths_from_environment(env):
        header = keystore.read_header(path)
        if header["election"] == election and header["index"] == index:
            return path
    raise TrusteeError(
        f"no key store for trustee {index} of election {election} in PNYX_TRUSTEE_KEYSTORE"
    )


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _unlocked(path: Path, env: dict | None) -> KeyStore:
    """The unlocked store, cached per process while the file is unchanged (scrypt at 2¹⁷ costs
    ≈ 0.3 s and 128 MiB): a worker derives the key once. Call it holding ``keystore.locked``."""
    cached = _UNLOCKED.get(str(path))
    if cached is not None and cached[0] == _stamp(path):
        return cached[1]
    store = keystore.unlock(path, keystore.passphrase_from_environment(env))
    keystore.upgrade(store)  # a store written at the earlier scrypt cost is re-saved at 2¹⁷
    _UNLOCKED[str(path)] = (_stamp(path), store)
    return store


def _remember(path: Path, store: KeyStore) -> None:
    _UNLOCKED[str(path)] = (_stamp(path), store)


def unlock_all(env: dict | None = None) -> list[KeyStore]:
    """Unlock every key store named by the environment (a trustee's worker does it at start)."""
    stores = []
    for path in keystore.keystore_paths_from_environment(env):
        with keystore.locked(path):
            stores.append(_unlocked(path, env))
    return stores


def run_step(*, election: str, index: int, step: str | None, env: dict | None = None) -> dict:
    """Look at ``election``'s board now as trustee ``index`` (the key store named by the
    environment): verify it, and do ``step`` (or what the board calls for) if the verified board
    allows it. Returns the signed envelope; raises :class:`TrusteeError` (refusals included)."""
    path = _store_for(election, index, env)
    with keystore.locked(path):
        store = _unlocked(path, env)
        try:
            board = board_sync(store, board_location(election, env), jobs=verify_jobs(env))
            try:
                return act(store, board, step)
            except NothingToDo as exc:
                exc.head = board.head[0]
                raise
        finally:
            _remember(path, store)  # a step may have saved the store: remember the new file
