"""Check 4 of §12.5, second half: the manifest (§10, §11.6) — valid, its fingerprint correct, its
credential summary, keys, trustees and threshold equal to the board's. An election key installed
without a ceremony on the board is taken from the manifest as given, after the checks anyone can
make on it (§10): the ceremony context is the digest of its parameters, the election key and the
verification keys lie on one polynomial of degree t − 1. The report then warns that the server
could know the key."""

from __future__ import annotations

from crypto.board import BoardEntry
from crypto.group import Q, multi_mul
from crypto.manifest import Manifest
from crypto.threshold import Ceremony, TrusteePublicKey, lagrange_coefficients
from verifier.facts import Facts
from verifier.report import Report, fail

NO_CEREMONY_WARNING = (
    "The election key was installed without a key ceremony on this board: nothing here shows "
    "that the trustees generated it. Whoever installed it — the server's operator included — "
    "could know the decryption key and decrypt every ballot. Only trust this election if you "
    "trust how its key was made (pnyx-verify --require-ceremony refuses such boards)."
)


def lagrange_at(indices: list[int], x: int) -> list[int]:
    """``λⱼ(x) = Π_{l≠j} (x − l)/(j − l) mod q`` for the points ``indices``."""
    out = []
    for j in indices:
        num, den = 1, 1
        for m in indices:
            if m != j:
                num = num * (x - m) % Q
                den = den * (j - m) % Q
        out.append(num * pow(den, -1, Q) % Q)
    return out


def check_key_polynomial(manifest: Manifest) -> str | None:
    """Why the election key and the verification keys do not lie on one polynomial of degree
    t − 1 (K at 0, Xⱼ at j), or None if they do."""
    t, vkeys = manifest.threshold, manifest.verification_keys
    first = list(range(1, t + 1))
    lambdas = lagrange_coefficients(first)
    if multi_mul(0, [int(lambdas[j]) for j in first], vkeys[:t]) != manifest.key.point:
        return "the election key is not Σ λⱼ·Xⱼ over trustees 1 … t"
    for x in range(t + 1, len(vkeys) + 1):
        if multi_mul(0, lagrange_at(first, x), vkeys[:t]) != vkeys[x - 1]:
            return f"verification key {x} is not on the polynomial of the first {t}"
    return None


class ManifestChecker:
    def __init__(self, facts: Facts, report: Report) -> None:
        self.facts = facts
        self.report = report

    def on_manifest(self, entry: BoardEntry) -> None:
        facts = self.facts
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
            self._from_ceremony(entry, manifest, ceremony)
        else:
            self._without_ceremony(entry, manifest)
        facts.manifest = manifest
        report = self.report
        report.fingerprint = manifest.fingerprint
        report.threshold = manifest.threshold
        report.trustees = len(manifest.trustee_keys)

    def _from_ceremony(self, entry: BoardEntry, manifest: Manifest, ceremony: Ceremony) -> None:
        data, output = manifest.data, self.facts.ceremony_output
        trustees = [
            {"index": i, "name": name, "public_key": key.public_key.to_hex()}
            for i, (name, key) in enumerate(
                zip(self.facts.trustee_names, ceremony.trustees, strict=True), start=1
            )
        ]
        if (
            output is None
            or data["public_key"] != output.public_key
            or data["verification_keys"] != output.verification_keys
            or data["threshold"] != ceremony.threshold
            or data["ceremony"] != ceremony.context
            or data["trustees"] != trustees
        ):
            fail(
                entry.seq,
                entry.kind,
                "manifest",
                "key, trustees (index, name, key) or threshold differ from the key ceremony",
            )
        self.report.key_from_ceremony = True

    def _without_ceremony(self, entry: BoardEntry, manifest: Manifest) -> None:
        data = manifest.data
        context = Ceremony(
            manifest.election_uuid,
            manifest.threshold,
            tuple(
                TrusteePublicKey(t["index"], key, None)
                for t, key in zip(data["trustees"], manifest.trustee_keys, strict=True)
            ),
        ).context
        if data["ceremony"] != context:
            fail(
                entry.seq,
                entry.kind,
                "manifest",
                "'ceremony' is not the §8.2 context of this election, threshold and trustees",
            )
        problem = check_key_polynomial(manifest)
        if problem is not None:
            fail(entry.seq, entry.kind, "manifest", problem)
        self.report.key_from_ceremony = False
        self.report.warnings.append(NO_CEREMONY_WARNING)
