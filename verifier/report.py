"""What the verifier found: a failure names the entry, the check and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn


@dataclass(frozen=True)
class Finding:
    seq: int | None  #: board entry, or None for a board-wide check
    kind: str | None
    check: str  #: which check failed (short, stable identifier)
    reason: str  #: why, in a sentence

    def to_json(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "check": self.check, "reason": self.reason}

    def __str__(self) -> str:
        where = f"entry {self.seq} ({self.kind})" if self.seq is not None else "board"
        return f"{where}: {self.check}: {self.reason}"


class VerificationFailed(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


def fail(seq: int | None, kind: str | None, check: str, reason: str) -> NoReturn:
    """Stop the verification: entry ``seq`` (of ``kind``) breaks ``check``, because ``reason``."""
    raise VerificationFailed(Finding(seq, kind, check, reason))


@dataclass
class Report:
    source: str
    election: str | None = None
    title: str | None = None
    fingerprint: str | None = None
    state: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    entries: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    trustees: int = 0
    threshold: int | None = None
    qualified: list[int] = field(default_factory=list)
    #: True if the election key comes from a key ceremony on the board, False if it was installed
    #: without one (see ``warnings``), None before the manifest
    key_from_ceremony: bool | None = None
    warnings: list[str] = field(default_factory=list)
    credentials: int = 0
    ballots: int = 0
    ballots_verified: int = 0
    counted: int = 0
    superseded: int = 0
    counted_weight: int = 0
    audits: list[dict[str, Any]] = field(default_factory=list)
    tally_verified: bool = False
    #: the mixnet (§15.11): rows, width, each mixer's shuffle or skip, rows published
    mix: dict | None = None
    decryptions_valid: list[int] = field(default_factory=list)
    decryptions_rejected: list[int] = field(default_factory=list)
    result: dict[str, Any] | None = None
    result_verified: bool = False
    since: str | None = None
    #: what this run was asked to require (``--require-result``, ``--require-ceremony``)
    required: list[str] = field(default_factory=list)
    failure: Finding | None = None
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return self.failure is None

    @property
    def complete(self) -> bool:
        """The board is verified to its end, the result included (state ``tallied``)."""
        return self.failure is None and self.result_verified

    @property
    def summary(self) -> str:
        """The verdict in words: exactly one of "result verified", "verified up to state X, no
        result yet", "verification failed: …"."""
        if self.failure is not None:
            return f"verification failed: {self.failure}"
        if self.result_verified:
            return "result verified"
        return f"verified up to state {self.state}, no result yet"

    def to_json(self) -> dict:
        return {
            "verified": self.verified,
            "summary": self.summary,
            "complete": self.complete,
            "required": self.required,
            "source": self.source,
            "election": self.election,
            "title": self.title,
            "fingerprint": self.fingerprint,
            "state": self.state,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "entries": self.entries,
            "kinds": dict(sorted(self.kinds.items())),
            "trustees": self.trustees,
            "threshold": self.threshold,
            "qualified": self.qualified,
            "key_from_ceremony": self.key_from_ceremony,
            "warnings": self.warnings,
            "credentials": self.credentials,
            "ballots": self.ballots,
            "ballots_verified": self.ballots_verified,
            "counted": self.counted,
            "superseded": self.superseded,
            "counted_weight": self.counted_weight,
            "audits": self.audits,
            "tally_verified": self.tally_verified,
            "mix": self.mix,
            "decryptions_valid": self.decryptions_valid,
            "decryptions_rejected": self.decryptions_rejected,
            "result": self.result,
            "result_verified": self.result_verified,
            "since": self.since,
            "failure": self.failure.to_json() if self.failure else None,
            "seconds": round(self.seconds, 3),
        }

    def human(self) -> str:
        lines = []
        title = f"{self.title} ({self.election})" if self.title else (self.election or self.source)
        lines.append(f"Election: {title}")
        if self.fingerprint:
            lines.append(f"Fingerprint: {self.fingerprint}")
        lines.append(f"Board: {self.entries} entries, head #{self.head_seq} {self.head_hash}")
        if self.since:
            lines.append(f"Incremental: proofs re-checked after head {self.since}")
        lines.append(f"State: {self.state}")
        for warning in self.warnings:
            lines.append(f"WARNING: {warning}")
        if self.threshold is not None:
            lines.append(
                f"Key ceremony: {self.trustees} trustees, threshold {self.threshold}, "
                f"qualified dealers {self.qualified}"
            )
        if self.credentials:
            lines.append(f"Credentials: {self.credentials}")
        if self.ballots:
            lines.append(
                f"Ballots: {self.ballots} on the board, {self.ballots_verified} proofs checked, "
                f"{self.counted} counted (weight {self.counted_weight}), {self.superseded} superseded"
            )
        for audit in self.audits:
            lines.append(
                f"Audited ballot {audit['tracker'][:16]}… (entry {audit['seq']}): {audit['plaintexts']}"
            )
        if self.tally_verified:
            lines.append("Encrypted tally: recomputed and matches")
        if self.mix is not None:
            turns = ", ".join(
                f"trustee {t['mixer']} "
                + (f"shuffled (entry {t['entry']})" if "entry" in t else "skipped")
                for t in self.mix["shuffles"]
            )
            lines.append(
                f"Mixnet: {self.mix['rows']} rows of width {self.mix['width']}"
                + (f"; {turns}" if turns else "")
                + (
                    f"; {self.mix['published']} rows decrypted and published"
                    if "published" in self.mix
                    else ""
                )
            )
        if self.decryptions_valid or self.decryptions_rejected:
            lines.append(
                f"Partial decryptions: valid from trustees {self.decryptions_valid}"
                + (f", rejected {self.decryptions_rejected}" if self.decryptions_rejected else "")
            )
        if self.result is not None:
            lines.append("Result: " + ("verified" if self.result_verified else "NOT verified"))
            for q in self.result.get("questions", []):
                counts = ", ".join(f"{o}: {c}" for o, c in q["counts"].items())
                funded = (
                    f" — funded: {', '.join(q['funded'])}" if q.get("funded") is not None else ""
                )
                lines.append(f"  {q['title']}: {counts}{funded}")
        lines.append(f"Time: {self.seconds:.2f} s")
        if self.failure:
            lines.append(f"VERIFICATION FAILED — {self.failure}")
        elif self.result_verified:
            lines.append("RESULT VERIFIED: every check passed, up to the decrypted result")
        else:
            lines.append(
                f"VERIFIED UP TO STATE {self.state}, NO RESULT YET: every entry so far passed "
                "its checks; this board does not prove any result"
            )
        return "\n".join(lines)
