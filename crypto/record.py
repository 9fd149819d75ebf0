"""A record: an append-only hash chain that belongs to no election (docs/protocol.md §17).

A participatory process keeps its public record in one: every proposal version, support total,
review decision and moderation decision. An entry is the JSON object

    {"version": 1, "log": UUID, "seq": n, "kind": K, "time": T, "prev": H(n−1),
     "payload": {...}, "hash": H(n)}

with ``H(n) = SHA-256(JCS(entry without "hash"))``, exactly as an election's board entry (§11.1)
but with ``log`` where a board entry has ``election``, so that no record entry is ever a valid
board entry or the other way round. The export ``record.jsonl`` is one canonical entry per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crypto.board import GENESIS_PREV, InvalidChain, chained_fields
from crypto.encoding import PROTOCOL_VERSION, expect_int, expect_object, expect_version
from crypto.errors import InvalidEncoding
from crypto.hashing import canonical_json, check_digest_hex, digest_json, parse_json

__all__ = ["RECORD_KINDS", "RecordEntry", "record_verify_chain", "record_verify_process"]

RECORD_KINDS = (
    "process",  # genesis: the process exists (uuid, slug, title, origin)
    "proposal",  # a version of a proposal (its first, or an edit)
    "supports",  # a proposal's support total at the supports phase's close
    "review",  # officials' feasibility decision on a proposal
    "moderation",  # a comment hidden by officials, with the public reason
    "elections",  # the district elections created from the feasible proposals
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_MAX_LINE = 1024 * 1024
MAX_PROPOSAL_IMAGES = 3


@dataclass(frozen=True)
class RecordEntry:
    log: str
    seq: int
    kind: str
    time: str
    prev: str
    payload: dict
    hash: str

    def body(self) -> dict:
        return {
            "version": PROTOCOL_VERSION,
            "log": self.log,
            "seq": self.seq,
            "kind": self.kind,
            "time": self.time,
            "prev": self.prev,
            "payload": self.payload,
        }

    def to_json(self) -> dict:
        return {**self.body(), "hash": self.hash}

    def to_line(self) -> bytes:
        return canonical_json(self.to_json()) + b"\n"

    @classmethod
    def create(
        cls, *, log: str, seq: int, kind: str, time: str, prev: str, payload: dict
    ) -> RecordEntry:
        if kind not in RECORD_KINDS:
            raise InvalidEncoding(f"unknown record entry kind {kind!r}")
        entry = cls(log, seq, kind, time, prev, payload, "")
        return cls(log, seq, kind, time, prev, payload, digest_json(entry.body()))

    @classmethod
    def from_json(cls, value: Any) -> RecordEntry:
        obj = expect_object(
            value,
            ("version", "log", "seq", "kind", "time", "prev", "payload", "hash"),
            "record entry",
        )
        expect_version(obj, "record entry")
        if not isinstance(obj["log"], str) or not _UUID.match(obj["log"]):
            raise InvalidEncoding("record entry.log: expected a lower-case UUID")
        return cls(obj["log"], *chained_fields(obj, "record entry", RECORD_KINDS))

    @classmethod
    def from_line(cls, line: bytes) -> RecordEntry:
        """Parse an exported line, which must be exactly ``JCS(entry) + "\\n"``."""
        if len(line) > _MAX_LINE:
            raise InvalidEncoding("record entry line too long")
        if not line.endswith(b"\n"):
            raise InvalidEncoding("record entry line must end with a newline")
        entry = cls.from_json(parse_json(line[:-1]))
        if entry.to_line() != line:
            raise InvalidEncoding(f"record entry {entry.seq}: the line is not canonical JSON")
        return entry


def record_verify_chain(entries: Iterable[RecordEntry]) -> Iterator[RecordEntry]:
    """Yield each entry after checking its place in the chain; raise :class:`InvalidChain` (or
    :class:`InvalidEncoding`): seq from 0 without gaps, ``prev`` the previous hash, the hash
    right, one log, time never decreasing, a ``process`` genesis entry and no other."""
    prev, log, time = GENESIS_PREV, None, ""
    for expected, entry in enumerate(entries):
        if entry.seq != expected:
            raise InvalidChain(f"record entry {expected}: found seq {entry.seq}")
        if entry.prev != prev:
            raise InvalidChain(f"record entry {entry.seq}: prev is not the previous entry's hash")
        if digest_json(entry.body()) != entry.hash:
            raise InvalidChain(f"record entry {entry.seq}: its hash does not match its content")
        if (entry.kind == "process") != (entry.seq == 0):
            raise InvalidChain(f"record entry {entry.seq}: only entry 0 is the process entry")
        if log is not None and entry.log != log:
            raise InvalidChain(f"record entry {entry.seq}: belongs to another log")
        if entry.time < time:
            raise InvalidChain(f"record entry {entry.seq}: time goes backwards")
        prev, log, time = entry.hash, entry.log, entry.time
        yield entry


_PAYLOAD_KEYS = {
    "process": (
        "uuid",
        "process",
        "slug",
        "title",
        "currency",
        "phases",
        "limits",
        "districts",
        "categories",
    ),
    "proposal": (
        "number",
        "version",
        "district",
        "category",
        "title",
        "description",
        "cost",
        "images",
    ),
    "supports": ("number", "supports", "threshold", "selected"),
    "review": ("number", "feasible", "reason", "cost"),
    "moderation": ("number", "comment", "action", "digest", "reason"),
    "elections": ("elections",),
}


def record_verify_process(entries: Iterable[RecordEntry]) -> None:
    """Check a participatory process's record (docs/protocol.md §17.1 and §17.2): the chain,
    every payload's members, proposal versions, supports after every proposal and each once,
    reviews only of selected proposals and once. Raises :class:`InvalidChain` or
    :class:`InvalidEncoding`."""
    versions: dict[int, int] = {}
    selected: dict[int, bool] = {}
    reviewed: set[int] = set()
    feasible: set[int] = set()
    elections_done = False
    for entry in record_verify_chain(entries):
        payload = expect_object(entry.payload, _PAYLOAD_KEYS[entry.kind], f"{entry.kind} payload")
        where = f"record entry {entry.seq}"
        if entry.kind == "process":
            if payload["uuid"] != entry.log:
                raise InvalidChain(f"{where}: the process entry names another log")
            continue
        if entry.kind == "elections":
            if elections_done:
                raise InvalidChain(f"{where}: the elections were already created")
            _check_elections(payload, where, selected, reviewed, feasible)
            elections_done = True
            continue
        if elections_done and entry.kind != "moderation":
            raise InvalidChain(f"{where}: a {entry.kind} entry after the elections were created")
        number = expect_int(payload["number"], f"{where}.number", 1, 2**53 - 1)
        if entry.kind == "proposal":
            if selected:
                raise InvalidChain(f"{where}: a proposal after the supports were counted")
            version = expect_int(payload["version"], f"{where}.version", 1, 2**53 - 1)
            if number not in versions and versions and number <= max(versions):
                raise InvalidChain(f"{where}: proposal numbers must increase")
            if version != versions.get(number, 0) + 1:
                raise InvalidChain(f"{where}: proposal {number} skips or repeats a version")
            versions[number] = version
            images = payload["images"]
            if not isinstance(images, list) or len(images) > MAX_PROPOSAL_IMAGES:
                raise InvalidEncoding(f"{where}.images: at most {MAX_PROPOSAL_IMAGES} images")
            for image in images:
                image = expect_object(image, ("sha256", "description"), f"{where}.images[]")
                check_digest_hex(image["sha256"], f"{where}.images[].sha256")
                if not isinstance(image["description"], str):
                    raise InvalidEncoding(f"{where}.images[].description: expected a string")
        elif entry.kind == "supports":
            if number not in versions or number in selected:
                raise InvalidChain(f"{where}: supports of an unknown or already counted proposal")
            total = expect_int(payload["supports"], f"{where}.supports", 0, 2**53 - 1)
            threshold = expect_int(payload["threshold"], f"{where}.threshold", 1, 2**53 - 1)
            if payload["selected"] is not (total >= threshold):
                raise InvalidChain(f"{where}: selected does not follow from the threshold")
            selected[number] = payload["selected"]
        elif entry.kind == "review":
            if not selected.get(number) or number in reviewed:
                raise InvalidChain(f"{where}: review of a proposal that is not in review")
            if type(payload["feasible"]) is not bool:
                raise InvalidEncoding(f"{where}.feasible: expected a boolean")
            if payload["feasible"]:
                expect_int(payload["cost"], f"{where}.cost", 1, 10**12)
                feasible.add(number)
            elif payload["cost"] is not None:
                raise InvalidChain(f"{where}: a proposal that is not feasible has no cost")
            reviewed.add(number)
        elif entry.kind == "moderation" and number not in versions:
            raise InvalidChain(f"{where}: moderation of a comment on an unknown proposal")


def _check_elections(
    payload: dict, where: str, selected: dict[int, bool], reviewed: set[int], feasible: set[int]
) -> None:
    """The ``elections`` entry: after every selected proposal was reviewed, each feasible
    proposal in exactly one district's election, each district once."""
    if any(chosen and number not in reviewed for number, chosen in selected.items()):
        raise InvalidChain(f"{where}: elections created before every review")
    listed: list[int] = []
    districts: set[str] = set()
    for item in payload["elections"] if isinstance(payload["elections"], list) else [None]:
        item = expect_object(
            item, ("district", "election", "slug", "budget", "proposals"), f"{where}.elections[]"
        )
        if not isinstance(item["district"], str) or item["district"] in districts:
            raise InvalidChain(f"{where}: a district twice or without a code")
        districts.add(item["district"])
        if not isinstance(item["election"], str) or not _UUID.match(item["election"]):
            raise InvalidEncoding(f"{where}.elections[].election: expected a lower-case UUID")
        expect_int(item["budget"], f"{where}.elections[].budget", 1, 10**12)
        if not isinstance(item["proposals"], list) or not item["proposals"]:
            raise InvalidChain(f"{where}: an election without proposals")
        for proposal in item["proposals"]:
            proposal = expect_object(proposal, ("number", "cost"), f"{where}.proposals[]")
            listed.append(expect_int(proposal["number"], f"{where}.proposals[].number", 1))
            expect_int(proposal["cost"], f"{where}.proposals[].cost", 1, 10**12)
    if sorted(listed) != sorted(feasible) or len(set(listed)) != len(listed):
        raise InvalidChain(f"{where}: the elections do not hold exactly the feasible proposals")
