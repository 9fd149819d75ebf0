"""The election manifest and its fingerprint (docs/protocol.md §10).

The manifest is frozen when an election opens: questions, options, costs, voting window,
trustees, threshold, election key, verification keys and the digest of the public credential
list. Its **fingerprint** ``SHA-256(JCS(manifest))`` is the context of every ballot proof and
credential signature, so a ballot made for one manifest verifies under no other.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crypto.ballot import (
    MAX_AMOUNT,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_SCORE,
    ElectionSpec,
    QuestionSpec,
)
from crypto.checkpoint import WitnessPolicy
from crypto.elgamal import ElectionKey
from crypto.encoding import (
    expect_int,
    expect_list,
    expect_object,
    expect_str,
    expect_version,
    read_point,
)
from crypto.errors import InvalidEncoding, InvalidNote
from crypto.group import Point
from crypto.hashing import canonical_json, check_digest_hex, digest_json
from crypto.note import SIG_COSIGNATURE_V1, NoteVerifier
from crypto.threshold import MAX_TRUSTEES

__all__ = [
    "QUESTION_KINDS",
    "MAX_WEIGHT",
    "Credential",
    "credentials_digest",
    "credentials_entries",
    "CredentialListReader",
    "CREDENTIALS_PER_ENTRY",
    "Manifest",
    "parse_timestamp",
]

QUESTION_KINDS = ("referendum", "single", "approval", "budget", "score")
#: kinds whose questions may be marked ``"mixed": true`` (§15.10)
MIXED_KINDS = ("approval", "budget")
CREDENTIALS_PER_ENTRY = 10_000
MAX_WEIGHT = 1_000_000
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_WITNESS_URL = re.compile(r"https?://[!-~]+\Z")
#: witnesses an election may name
MAX_WITNESSES = 32


def parse_timestamp(value: Any, what: str) -> datetime:
    """Timestamps are UTC, second precision: ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise InvalidEncoding(f"{what}: expected a UTC timestamp YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError as exc:
        raise InvalidEncoding(f"{what}: not a valid date") from exc


def _uuid(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidEncoding(f"{what}: expected a UUID string")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidEncoding(f"{what}: not a UUID") from exc
    if canonical != value:
        raise InvalidEncoding(f"{what}: UUIDs are lowercase and hyphenated")
    return value


# --- Credentials -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """One public credential with its voting weight."""

    public_key: Point  #: S = s·G
    weight: int  #: 1..MAX_WEIGHT

    def to_json(self) -> dict:
        return {"public_key": self.public_key.to_hex(), "weight": self.weight}

    @classmethod
    def from_json(cls, value: Any, what: str = "credential") -> Credential:
        obj = expect_object(value, ("public_key", "weight"), what)
        return cls(
            read_point(obj["public_key"], f"{what}.public_key"),
            expect_int(obj["weight"], f"{what}.weight", 1, MAX_WEIGHT),
        )


def credentials_digest(credentials: list[Credential]) -> str:
    """The list must be sorted by public key hex with no duplicate; digest of its JSON."""
    keys = [c.public_key.to_hex() for c in credentials]
    if keys != sorted(set(keys)):
        raise InvalidEncoding("credentials must be sorted by public key, without duplicates")
    return digest_json([c.to_json() for c in credentials])


def credentials_entries(credentials: list[Credential]) -> list[dict]:
    """The board payloads publishing a credential list: consecutive parts of at most
    ``CREDENTIALS_PER_ENTRY`` credentials, each carrying the digest, count and total weight of the
    whole list (docs/protocol.md §10), so that no board line grows with the electorate."""
    digest = credentials_digest(credentials)
    total = sum(c.weight for c in credentials)
    per = CREDENTIALS_PER_ENTRY
    parts = max(1, -(-len(credentials) // per))
    return [
        {
            "part": i,
            "parts": parts,
            "credentials": [c.to_json() for c in credentials[i * per : (i + 1) * per]],
            "digest": digest,
            "count": len(credentials),
            "total_weight": total,
        }
        for i in range(parts)
    ]


class CredentialListReader:
    """Reads the parts of a published credential list in order, checking them as they come.

    The digest ``SHA-256(JCS(list))`` is computed incrementally (``JCS`` of a list is ``[`` + the
    items' ``JCS`` joined by ``,`` + ``]``), and the sort order is checked across parts, so a
    verifier never holds more than one part's JSON at a time.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b"[")
        self._last = b""
        self.part = 0
        self.meta: dict | None = None
        self.count = 0
        self.total_weight = 0

    @property
    def complete(self) -> bool:
        return self.meta is not None and self.part == self.meta["parts"]

    def add_part(self, payload: Any) -> list[Credential]:
        obj = expect_object(
            payload,
            ("part", "parts", "credentials", "digest", "count", "total_weight"),
            "credentials",
        )
        meta = {
            "parts": expect_int(obj["parts"], "credentials.parts", 1, 10**4),
            "digest": check_digest_hex(obj["digest"], "credentials.digest"),
            "count": expect_int(obj["count"], "credentials.count", 1, 10**8),
            "total_weight": expect_int(obj["total_weight"], "credentials.total_weight", 1, 10**12),
        }
        if self.complete:
            raise InvalidEncoding("the credential list is already complete")
        if self.meta is None:
            self.meta = meta
        elif meta != self.meta:
            raise InvalidEncoding("a part disagrees with the first on digest, count or weight")
        if obj["part"] != self.part:
            raise InvalidEncoding(f"expected part {self.part} of the credential list")
        items = expect_list(obj["credentials"], "credentials.credentials", min_length=1)
        if len(items) > CREDENTIALS_PER_ENTRY:
            raise InvalidEncoding(f"a part holds at most {CREDENTIALS_PER_ENTRY} credentials")
        credentials = [Credential.from_json(c, f"credentials[{i}]") for i, c in enumerate(items)]
        for c in credentials:
            key = c.public_key.to_bytes()
            if key <= self._last:
                raise InvalidEncoding(
                    "credentials must be sorted by public key, without duplicates"
                )
            self._last = key
            self._sha.update((b"," if self.count else b"") + canonical_json(c.to_json()))
            self.count += 1
            self.total_weight += c.weight
        self.part += 1
        if self.complete:
            self._sha.update(b"]")
            if (
                self._sha.hexdigest() != meta["digest"]
                or self.count != meta["count"]
                or self.total_weight != meta["total_weight"]
            ):
                raise InvalidEncoding("digest, count or total weight do not match the list")
        return credentials


# --- Manifest ----------------------------------------------------------------------------------


def _question_spec(obj: dict, what: str) -> QuestionSpec:
    kind = obj["kind"]
    options = obj["options"]
    n = len(options)
    costs = [o["cost"] for o in options]
    max_score = obj.get("max_score")
    if (kind == "score") != (max_score is not None):
        raise InvalidEncoding(f"{what}: a score question, and only it, has max_score")
    if kind == "budget":
        if any(c is None for c in costs) or obj["budget"] is None:
            raise InvalidEncoding(f"{what}: a budget question has a cost per option and a budget")
        spec = QuestionSpec(n, obj["min"], obj["max"], tuple(costs), obj["budget"])
    elif kind == "score":
        if any(c is not None for c in costs) or obj["budget"] is not None:
            raise InvalidEncoding(f"{what}: only budget questions have costs")
        spec = QuestionSpec(n, obj["min"], obj["max"], max_score=max_score)
    else:
        if any(c is not None for c in costs) or obj["budget"] is not None:
            raise InvalidEncoding(f"{what}: only budget questions have costs")
        spec = QuestionSpec(n, obj["min"], obj["max"])
    if kind == "referendum" and (n != 2 or spec.max_selections != 1):
        raise InvalidEncoding(f"{what}: a referendum has two options (yes, no) and max 1")
    if kind == "single" and spec.max_selections != 1:
        raise InvalidEncoding(f"{what}: a single-choice question has max 1")
    if kind in ("referendum", "single") and spec.min_selections not in (0, 1):
        raise InvalidEncoding(f"{what}: min is 0 (blank allowed) or 1")
    if "mixed" in obj:
        # §15.10: present only as true; approval and budget questions listing every option
        if obj["mixed"] is not True:
            raise InvalidEncoding(f"{what}.mixed: true when present (absent: not mixed)")
        if kind not in MIXED_KINDS or spec.implicit_last:
            raise InvalidEncoding(
                f"{what}: only approval and budget questions with every option listed are mixed"
            )
    return spec


def _check_question(value: Any, index: int) -> dict:
    what = f"manifest.questions[{index}]"
    obj = expect_object(
        value,
        ("id", "kind", "title", "description", "options", "min", "max", "budget"),
        what,
        optional=("max_score", "mixed"),
    )
    expect_str(obj["id"], f"{what}.id", 64)
    if obj["kind"] not in QUESTION_KINDS:
        raise InvalidEncoding(f"{what}.kind: one of {', '.join(QUESTION_KINDS)}")
    expect_str(obj["title"], f"{what}.title", 500)
    expect_str(obj["description"], f"{what}.description", 5000)
    options = expect_list(obj["options"], f"{what}.options", min_length=1)
    if len(options) > MAX_OPTIONS:
        raise InvalidEncoding(f"{what}: too many options")
    ids = set()
    for oi, option in enumerate(options):
        ow = f"{what}.options[{oi}]"
        option = expect_object(option, ("id", "title", "description", "cost"), ow)
        ids.add(expect_str(option["id"], f"{ow}.id", 64))
        expect_str(option["title"], f"{ow}.title", 500)
        expect_str(option["description"], f"{ow}.description", 5000)
        if option["cost"] is not None:
            expect_int(option["cost"], f"{ow}.cost", 0, MAX_AMOUNT)
    if len(ids) != len(options):
        raise InvalidEncoding(f"{what}: option ids must be distinct")
    expect_int(obj["min"], f"{what}.min", 0)
    expect_int(obj["max"], f"{what}.max", 0)
    if obj["budget"] is not None:
        expect_int(obj["budget"], f"{what}.budget", 0, MAX_AMOUNT)
    if "max_score" in obj:
        expect_int(obj["max_score"], f"{what}.max_score", 1, MAX_SCORE)
    return obj


@dataclass(frozen=True)
class WitnessSpec:
    """A witness named in the manifest: its name, its cosignature/v1 verifier key (whose key name
    is the witness's name) and the URL of its c2sp.org/tlog-witness endpoint (informative)."""

    name: str
    key: NoteVerifier
    url: str


def manifest_witnesses(value: Any) -> tuple[tuple[WitnessSpec, ...], int]:
    """The optional ``witnesses`` field (§10, §14.4): ``{"quorum": k, "list": [{"name", "key",
    "url"}, …]}`` with 1 ≤ m ≤ MAX_WITNESSES distinct names and keys and 0 ≤ k ≤ m."""
    if value is None:
        return (), 0
    obj = expect_object(value, ("quorum", "list"), "manifest.witnesses")
    items = expect_list(obj["list"], "manifest.witnesses.list", min_length=1)
    if len(items) > MAX_WITNESSES:
        raise InvalidEncoding(f"manifest.witnesses: at most {MAX_WITNESSES} witnesses")
    out = []
    for i, item in enumerate(items):
        what = f"manifest.witnesses.list[{i}]"
        item = expect_object(item, ("name", "key", "url"), what)
        name = expect_str(item["name"], f"{what}.name", 200)
        try:
            key = NoteVerifier.from_vkey(expect_str(item["key"], f"{what}.key", 400))
        except InvalidNote as exc:
            raise InvalidEncoding(f"{what}.key: {exc}") from exc
        if key.sig_type != SIG_COSIGNATURE_V1:
            raise InvalidEncoding(f"{what}.key: a witness key is a cosignature/v1 (0x04) key")
        if key.name != name:
            raise InvalidEncoding(f"{what}.key: the key's name is the witness's name")
        url = expect_str(item["url"], f"{what}.url", 400)
        if url and not _WITNESS_URL.match(url):
            raise InvalidEncoding(f"{what}.url: an http(s) URL without spaces, or empty")
        out.append(WitnessSpec(name, key, url))
    if len({w.name for w in out}) != len(out) or len({w.key.public_key for w in out}) != len(out):
        raise InvalidEncoding("manifest.witnesses: names and keys are distinct")
    quorum = expect_int(obj["quorum"], "manifest.witnesses.quorum", 0, len(out))
    return tuple(out), quorum


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated manifest; ``data`` is its exact JSON (what the fingerprint hashes)."""

    data: dict
    fingerprint: str
    election_uuid: str
    key: ElectionKey
    questions: tuple[QuestionSpec, ...]
    threshold: int
    trustee_keys: tuple[Point, ...]  #: long-term ECIES keys Yᵢ, index i at position i−1
    verification_keys: tuple[Point, ...]  #: Xⱼ at position j−1
    ceremony: str  #: the key ceremony context digest
    credentials_digest: str
    credentials_count: int
    total_weight: int
    opens_at: datetime
    closes_at: datetime
    #: the log's witnesses (protocol §14.4) and how many must cosign a checkpoint; none for a
    #: manifest without the optional ``witnesses`` field
    witnesses: tuple[WitnessSpec, ...] = ()
    witness_quorum: int = 0

    @property
    def witness_policy(self) -> WitnessPolicy:
        """The quorum rule checkpoints are held to (crypto.checkpoint.open_checkpoint)."""
        return WitnessPolicy(tuple(w.key for w in self.witnesses), self.witness_quorum)

    @property
    def spec(self) -> ElectionSpec:
        return ElectionSpec(self.fingerprint, self.key, self.questions)

    def to_json(self) -> dict:
        return self.data

    @classmethod
    def from_json(cls, value: Any) -> Manifest:
        obj = expect_object(
            value,
            (
                "version",
                "election",
                "questions",
                "trustees",
                "threshold",
                "ceremony",
                "public_key",
                "verification_keys",
                "credentials",
            ),
            "manifest",
            optional=("witnesses",),
        )
        expect_version(obj, "manifest")
        election = expect_object(
            obj["election"],
            ("uuid", "slug", "title", "description", "opens_at", "closes_at"),
            "manifest.election",
        )
        election_uuid = _uuid(election["uuid"], "manifest.election.uuid")
        if not isinstance(election["slug"], str) or not _SLUG.match(election["slug"]):
            raise InvalidEncoding("manifest.election.slug: lowercase letters, digits and hyphens")
        expect_str(election["title"], "manifest.election.title", 500)
        expect_str(election["description"], "manifest.election.description", 20_000)
        opens = parse_timestamp(election["opens_at"], "manifest.election.opens_at")
        closes = parse_timestamp(election["closes_at"], "manifest.election.closes_at")
        if closes <= opens:
            raise InvalidEncoding("manifest.election: closes_at must be after opens_at")

        questions = expect_list(obj["questions"], "manifest.questions", min_length=1)
        if len(questions) > MAX_QUESTIONS:
            raise InvalidEncoding("manifest: too many questions")
        specs = []
        ids = set()
        for qi, question in enumerate(questions):
            q = _check_question(question, qi)
            ids.add(q["id"])
            specs.append(_question_spec(q, f"manifest.questions[{qi}]"))
        if len(ids) != len(questions):
            raise InvalidEncoding("manifest: question ids must be distinct")

        trustees = expect_list(obj["trustees"], "manifest.trustees", min_length=1)
        if len(trustees) > MAX_TRUSTEES:
            raise InvalidEncoding("manifest: too many trustees")
        trustee_keys = []
        for i, trustee in enumerate(trustees, start=1):
            what = f"manifest.trustees[{i - 1}]"
            trustee = expect_object(trustee, ("index", "name", "public_key"), what)
            if trustee["index"] != i:
                raise InvalidEncoding(f"{what}.index: trustees are indexed 1..n in order")
            expect_str(trustee["name"], f"{what}.name", 200)
            trustee_keys.append(read_point(trustee["public_key"], f"{what}.public_key"))
        threshold = expect_int(obj["threshold"], "manifest.threshold", 1, len(trustees))
        vkeys = expect_list(obj["verification_keys"], "manifest.verification_keys", len(trustees))
        verification_keys = tuple(
            read_point(v, f"manifest.verification_keys[{i}]") for i, v in enumerate(vkeys)
        )
        credentials = expect_object(
            obj["credentials"], ("count", "digest", "total_weight"), "manifest.credentials"
        )
        count = expect_int(credentials["count"], "manifest.credentials.count", 1, 10**8)
        total = expect_int(
            credentials["total_weight"], "manifest.credentials.total_weight", count, 10**12
        )
        witnesses, quorum = manifest_witnesses(obj.get("witnesses"))
        return cls(
            data=value,
            fingerprint=digest_json(value),
            election_uuid=election_uuid,
            key=ElectionKey(read_point(obj["public_key"], "manifest.public_key")),
            questions=tuple(specs),
            threshold=threshold,
            trustee_keys=tuple(trustee_keys),
            verification_keys=verification_keys,
            ceremony=check_digest_hex(obj["ceremony"], "manifest.ceremony"),
            credentials_digest=check_digest_hex(
                credentials["digest"], "manifest.credentials.digest"
            ),
            credentials_count=count,
            total_weight=total,
            opens_at=opens,
            closes_at=closes,
            witnesses=witnesses,
            witness_quorum=quorum,
        )
