"""Check 4 of §12.5, second half: the manifest (§10, §11.6) — valid, its fingerprint correct, its
credential summary, keys, trustees and threshold equal to the board's."""

from __future__ import annotations

from crypto.board import BoardEntry
from crypto.manifest import Manifest
from verifier.facts import Facts
from verifier.report import Report, fail


class ManifestChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report

    def on_manifest(self, entry: BoardEntry) -> None:
        facts = self.facts
        if facts.manifest is not None:
            fail(entry.seq, entry.kind, "manifest", "a second manifest")
        manifest = Manifest.from_json(entry.payload["manifest"])
        if entry.payload["fingerprint"] != manifest.fingerprint:
            fail(
                entry.seq, entry.kind, "manifest", "the fingerprint is not the hash of the manifest"
            )
        if manifest.election_uuid != facts.election:
            fail(entry.seq, entry.kind, "manifest", "the manifest is for another election")
        data = manifest.data
        if facts.credentials_meta is None or data["credentials"] != facts.credentials_meta:
            fail(
                entry.seq,
                entry.kind,
                "manifest",
                "the credential list digest does not match the published list",
            )
        ceremony = facts.ceremony
        if ceremony is not None:
            output = facts.ceremony_output
            if (
                output is None
                or data["public_key"] != output.public_key
                or data["verification_keys"] != output.verification_keys
                or data["threshold"] != ceremony.threshold
                or data["ceremony"] != ceremony.context
                or [t["public_key"] for t in data["trustees"]]
                != [k.public_key.to_hex() for k in ceremony.trustees]
            ):
                fail(
                    entry.seq,
                    entry.kind,
                    "manifest",
                    "key, trustees or threshold differ from the key ceremony",
                )
        facts.manifest = manifest
        report = self.report
        report.fingerprint = manifest.fingerprint
        report.threshold = manifest.threshold
        report.trustees = len(manifest.trustee_keys)
