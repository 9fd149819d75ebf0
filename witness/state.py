"""The witness's files: its key, its configuration (the logs it witnesses) and its SQLite state.

A witness directory holds

- ``witness.key`` — one line ``PRIVATE+KEY+<name>+<key ID>+base64(0x04 ‖ seed)``, mode 0600;
- ``witness.json`` — ``{"name": …, "logs": [{"origin": …, "vkey": …}, …]}``;
- ``witness.sqlite3`` — the latest checkpoint cosigned per log, and the evidence of misbehaviour.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import InvalidNote
from crypto.note import SIG_COSIGNATURE_V1, SIG_ED25519, NoteSigner, NoteVerifier, check_key_name

KEY_FILE = "witness.key"
CONFIG_FILE = "witness.json"
STATE_FILE = "witness.sqlite3"
#: Evidence rows kept per log (a misbehaving log cannot fill the disk).
MAX_EVIDENCE_PER_LOG = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    origin      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,      -- the checkpoint, the log's signature(s) and our cosignature
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT NOT NULL,
    kind        TEXT NOT NULL,      -- same-size, prefix-mismatch, bad-proof, empty-root
    detected_at INTEGER NOT NULL,
    old_size    INTEGER NOT NULL,
    new_size    INTEGER NOT NULL,
    old_note    TEXT NOT NULL,      -- the checkpoint we had cosigned, as stored
    new_note    TEXT NOT NULL,      -- the refused checkpoint, signed by the log
    proof       TEXT NOT NULL,      -- the consistency proof sent with it, base64 lines
    UNIQUE (origin, old_note, new_note, proof)
);
"""


class WitnessSetupError(Exception):
    """The witness directory, key or configuration is missing or unsafe."""


@dataclass(frozen=True)
class LogConfig:
    origin: str
    key: NoteVerifier


@dataclass(frozen=True)
class WitnessConfig:
    name: str
    logs: dict[str, LogConfig]

    @classmethod
    def load(cls, path: Path) -> WitnessConfig:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WitnessSetupError(f"{path} is missing (run `pnyx-witness init`)") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise WitnessSetupError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(raw, dict) or set(raw) != {"name", "logs"}:
            raise WitnessSetupError(f"{path} holds exactly 'name' and 'logs'")
        if not isinstance(raw["logs"], list):
            raise WitnessSetupError(f"{path}: 'logs' is a list")
        logs = {}
        try:
            name = check_key_name(raw["name"])
            for item in raw["logs"]:
                if not isinstance(item, dict) or set(item) != {"origin", "vkey"}:
                    raise WitnessSetupError(f"{path}: each log has exactly 'origin' and 'vkey'")
                log = log_config(item["origin"], item["vkey"])
                if log.origin in logs:
                    raise WitnessSetupError(f"{path}: log {log.origin} is listed twice")
                logs[log.origin] = log
        except InvalidNote as exc:
            raise WitnessSetupError(f"{path}: {exc}") from None
        return cls(name, logs)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "logs": [{"origin": log.origin, "vkey": log.key.vkey} for log in self.logs.values()],
        }

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def log_config(origin: object, vkey: object) -> LogConfig:
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise InvalidNote("a log's origin is a non-empty line")
    key = NoteVerifier.from_vkey(vkey)  # type: ignore[arg-type]
    if key.sig_type != SIG_ED25519:
        raise InvalidNote("a log key is an Ed25519 (type 0x01) verifier key")
    return LogConfig(origin, key)


def write_private_key(path: Path, signer: NoteSigner) -> None:
    """Create the key file with mode 0600 (refusing to overwrite one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(signer.to_skey() + "\n")


def read_private_key(path: Path) -> NoteSigner:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise WitnessSetupError(f"{path} is missing (run `pnyx-witness init`)") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise WitnessSetupError(
            f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):04o}): chmod 600 it"
        )
    try:
        signer = NoteSigner.from_skey(path.read_text(encoding="ascii"))
    except (InvalidNote, UnicodeDecodeError) as exc:
        raise WitnessSetupError(f"{path} is not a witness key: {exc}") from None
    if signer.verifier.sig_type != SIG_COSIGNATURE_V1:
        raise WitnessSetupError(f"{path} is not a cosignature/v1 (type 0x04) key")
    return signer


def connect(path: Path) -> sqlite3.Connection:
    """Open the state database (autocommit mode: transactions are explicit)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a cosigned checkpoint is on disk before we answer
    db.executescript(SCHEMA)
    return db


def now() -> int:
    return int(time.time())
