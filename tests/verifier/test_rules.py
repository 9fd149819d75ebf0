"""Boards pnyx-verify must reject, one explicit rule of docs/protocol.md each (issue 9 §2).

Every test builds a valid board, breaks exactly one rule, re-chains it where a forger would
(so that only the rule under test can catch it), and checks the failure names the entry and the
check. Each of these boards verified with the engine before issue 9.
"""

from __future__ import annotations

import json
import re

import pytest

from crypto.ballot import Ballot, ballot_encrypt
from crypto.board import BoardEntry
from crypto.elgamal import ElectionKey
from crypto.group import Scalar, base_mul
from crypto.signatures import SigningKey, sign
from crypto.threshold import (
    Ceremony,
    decryption_sign,
    dkg_combine_shares,
    dkg_complain,
    dkg_confirm,
    dkg_deal,
    dkg_election_key,
    dkg_new_polynomial,
    dkg_open_share,
    dkg_verification_key,
    trustee_keygen,
    trustee_sign,
)
from tests.verifier.boardgen import SINGLE5, BoardBuilder, full_election, random_choices
from tests.verifier.test_verifier import index_of, rechain, run_cli, with_payload, write
from verifier.report import VerificationFailed


@pytest.fixture(scope="module")
def election():
    return full_election(voters=4, revotes=(1,), audits=1, weights=lambda i: 1 + i % 2)


def failure_of(tmp_path, lines: list[bytes], name="board.jsonl") -> dict:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    code, out = run_cli(path, "--json")
    report = json.loads(out)
    assert code == 1, f"not rejected: {report.get('summary')}"
    assert report["verified"] is False
    return report["failure"]


def lines_of(entries) -> list[bytes]:
    return [e.to_line() for e in entries]


def test_the_valid_board_verifies(election, tmp_path):
    code, out = run_cli(write(tmp_path, election.entries), "--json")
    assert code == 0, json.loads(out)["failure"]


# --- §11.1, §12.5 step 1: every line is exactly JCS(entry) ‖ "\n" ------------------------------


def _respell(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("state", b'{"election":', b'{ "election":'),  # whitespace
        ("state", b'"payload":{', b'"payload": {'),
        ("tally", b'"kind":"tally"', b'"kind":"t\\u0061lly"'),  # \u0061 for a
        ("manifest", b'"fingerprint":"', b'"fingerprint":\t"'),
        ("ballot", b'"kind":"ballot"', b'"kind":"b\\u0061llot"'),
    ],
)
def test_a_line_spelled_otherwise_is_rejected(election, tmp_path, kind, old, new):
    """The hash covers JCS(entry), so another spelling of the same entry keeps a valid hash:
    only the byte comparison of §11.1 catches it."""
    lines = lines_of(election.entries)
    i = index_of(election.entries, kind)
    lines[i] = _respell(lines[i], old, new)
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_unsorted_keys_are_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    i = index_of(election.entries, "result")
    entry = election.entries[i].to_json()
    reordered = {"version": entry.pop("version"), **entry}  # same members, "version" first
    lines[i] = json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_crlf_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    i = index_of(election.entries, "ceremony")
    lines[i] = lines[i][:-1] + b"\r\n"
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (i, "canonical"), failure


def test_a_missing_final_newline_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    lines[-1] = lines[-1][:-1]
    failure = failure_of(tmp_path, lines)
    assert (failure["seq"], failure["check"]) == (len(lines) - 1, "canonical"), failure


def test_an_empty_line_is_rejected(election, tmp_path):
    lines = lines_of(election.entries)
    lines.insert(3, b"\n")
    assert failure_of(tmp_path, lines)["check"] == "entry"


# --- §11.3: the genesis entry --------------------------------------------------------------------


@pytest.mark.parametrize("board_key", ["AB" * 32, "ab" * 31, "xy" * 32, 7, "ab" * 32 + "\n"])
def test_board_key_must_be_64_lowercase_hex(election, tmp_path, board_key):
    entries = with_payload(election.entries, 0, lambda p: p.update(board_key=board_key))
    failure = failure_of(tmp_path, lines_of(entries))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure


def test_genesis_title_must_be_a_string(election, tmp_path):
    entries = with_payload(election.entries, 0, lambda p: p.update(title=None))
    failure = failure_of(tmp_path, lines_of(entries))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure


def test_the_election_is_a_lowercase_uuid(election, tmp_path):
    upper = election.election.upper()
    entries = [
        BoardEntry(upper, e.seq, e.kind, e.time, e.prev, e.payload, e.hash)
        for e in election.entries
    ]
    entries[0] = BoardEntry(
        upper,
        0,
        "election",
        entries[0].time,
        entries[0].prev,
        {**entries[0].payload, "uuid": upper},
        "",
    )
    failure = failure_of(tmp_path, lines_of(rechain(entries)))
    assert (failure["seq"], failure["check"]) == (0, "genesis"), failure


# --- helpers for crafted boards ----------------------------------------------------------------


def retimed(entries: list[BoardEntry]) -> list[BoardEntry]:
    """Re-chain from the start with times made non-decreasing (after moving entries around)."""
    out: list[BoardEntry] = []
    for e in entries:
        time = max(e.time, out[-1].time) if out else e.time
        out.append(
            BoardEntry.create(
                election=e.election,
                seq=len(out),
                kind=e.kind,
                time=time,
                prev=out[-1].hash if out else e.prev,
                payload=e.payload,
            )
        )
    return out


def verify_lines(tmp_path, entries, *extra) -> tuple[int, dict]:
    path = tmp_path / "crafted.jsonl"
    path.write_bytes(b"".join(e.to_line() for e in entries))
    code, out = run_cli(path, "--json", *extra)
    return code, json.loads(out)


def rejected(tmp_path, entries, check: str, *extra) -> dict:
    code, report = verify_lines(tmp_path, entries, *extra)
    assert code == 1, "not rejected"
    failure = report["failure"]
    assert failure["check"] == check, failure
    return failure


class CeremonyBoard:
    """A board up to the key ceremony's result, each message made by hand so that a test can
    publish exactly the messages it wants, in the order it wants."""

    def __init__(self, n: int = 3, t: int = 2, *, names=None) -> None:
        self.b = BoardBuilder(questions=[SINGLE5])
        self.n, self.t = n, t
        keys = [trustee_keygen(i, self.b.election) for i in range(1, n + 1)]
        self.secrets = {i: s for i, (s, _) in enumerate(keys, start=1)}
        self.public = [pub for _, pub in keys]
        names = names or [f"Trustee {i}" for i in range(1, n + 1)]
        for pub, name in zip(self.public, names, strict=True):
            self.b.append("trustee", {"name": name, "key": pub.to_json()})
        self.b.transition("key_ceremony")
        self.ceremony = Ceremony(self.b.election, t, tuple(self.public))
        self.b.append(
            "ceremony",
            {
                "threshold": t,
                "trustees": [
                    {"index": p.index, "name": name, "public_key": p.public_key.to_hex()}
                    for p, name in zip(self.public, names, strict=True)
                ],
                "context": self.ceremony.context,
            },
        )
        self.dealt = {i: dkg_deal(dkg_new_polynomial(t), i, self.ceremony) for i in range(1, n + 1)}

    def sign(self, i: int, message: dict) -> dict:
        return trustee_sign(self.secrets[i], message, self.ceremony)

    def commit(self, *dealers: int) -> None:
        for i in dealers or range(1, self.n + 1):
            self.b.append("dkg-commitment", self.sign(i, self.dealt[i][0].to_json()))

    def deal(self, *dealers: int) -> None:
        for i in dealers or range(1, self.n + 1):
            self.b.append("dkg-deal", self.sign(i, self.dealt[i][1].to_json()))

    def complaint(self, complainer: int, dealer: int) -> dict:
        deal = self.dealt[dealer][1]
        return dkg_complain(deal, complainer, self.secrets[complainer], self.ceremony).to_json()

    def qualified(self, dealers) -> list:
        return [self.dealt[i][1] for i in sorted(dealers)]

    def confirm(self, trustees, dealers=None) -> None:
        qualified = self.qualified(dealers or range(1, self.n + 1))
        for j in trustees:
            share = dkg_combine_shares(
                dkg_open_share(d, j, self.secrets[j], self.ceremony) for d in qualified
            )
            confirmation = dkg_confirm(share, j, [d.dealer for d in qualified], self.ceremony)
            self.b.append("dkg-confirmation", self.sign(j, confirmation.to_json()))

    def result(self, dealers=None) -> None:
        qualified = self.qualified(dealers or range(1, self.n + 1))
        out = sorted(set(range(1, self.n + 1)) - {d.dealer for d in qualified})
        self.b.append(
            "ceremony-result",
            {
                "qualified": [d.dealer for d in qualified],
                "disqualified": [{"dealer": i, "reason": "x"} for i in out],
                "public_key": dkg_election_key(qualified).to_json(),
                "verification_keys": [
                    dkg_verification_key(qualified, j).to_hex() for j in range(1, self.n + 1)
                ],
            },
        )
        self.b.transition("ready")

    @property
    def entries(self) -> list[BoardEntry]:
        return self.b.entries


def test_a_crafted_ceremony_board_verifies(tmp_path):
    c = CeremonyBoard()
    c.commit()
    c.deal()
    c.b.append("dkg-complaint", c.complaint(2, 1))  # unjustified: the share was good
    c.confirm([1, 2])
    c.result()
    code, report = verify_lines(tmp_path, c.entries)
    assert code == 0, report["failure"]
    assert report["state"] == "ready" and report["qualified"] == [1, 2, 3]


# --- §11.2 qualifiers, §12.1 ceremony rules -----------------------------------------------------


def test_a_second_ceremony_result_is_rejected(election, tmp_path):
    i = index_of(election.entries, "ceremony-result")
    entries = retimed([*election.entries[: i + 1], election.entries[i], *election.entries[i + 1 :]])
    failure = rejected(tmp_path, entries, "order")
    assert failure["seq"] == i + 1


def test_ceremony_result_needs_threshold_confirmations(tmp_path):
    for confirmed in ([], [3]):
        c = CeremonyBoard()
        c.commit()
        c.deal()
        c.confirm(confirmed)
        c.result()
        failure = rejected(tmp_path, c.entries, "ceremony")
        assert failure["kind"] == "ceremony-result" and "threshold" in failure["reason"]


def test_a_confirmation_twice_is_rejected(tmp_path):
    c = CeremonyBoard()
    c.commit()
    c.deal()
    c.confirm([1, 2, 1])
    c.result()
    failure = rejected(tmp_path, c.entries, "ceremony")
    assert failure["kind"] == "dkg-confirmation" and "twice" in failure["reason"]


def test_a_complaint_after_a_confirmation_is_rejected(tmp_path):
    """QUAL is fixed once a trustee has confirmed it: no complaint may follow."""
    c = CeremonyBoard()
    c.commit()
    c.deal()
    c.confirm([1])
    c.b.append("dkg-complaint", c.complaint(2, 1))  # unjustified: QUAL would not even change
    c.confirm([2])
    c.result()
    failure = rejected(tmp_path, c.entries, "ceremony")
    assert failure["kind"] == "dkg-complaint" and "after a confirmation" in failure["reason"]


def test_a_deal_after_a_complaint_is_rejected(tmp_path):
    c = CeremonyBoard()
    c.commit()
    c.deal(1, 2)
    c.b.append("dkg-complaint", c.complaint(2, 1))
    c.deal(3)
    c.confirm([1, 2])
    c.result()
    failure = rejected(tmp_path, c.entries, "ceremony")
    assert failure["kind"] == "dkg-deal" and "deal phase" in failure["reason"]


def test_moot_duplicated_and_void_complaints_are_rejected(tmp_path):
    def board(complaints) -> list[BoardEntry]:
        c = CeremonyBoard()
        c.commit()
        c.deal(1, 2)  # dealer 3 never dealt (the deal phase was closed): out of QUAL
        for complaint in complaints(c):
            c.b.append("dkg-complaint", complaint)
        c.confirm([1, 2], dealers=[1, 2])
        c.result(dealers=[1, 2])
        return c.entries

    def void(c):
        complaint = c.complaint(2, 1)
        proof = complaint["proof"]
        proof["response"] = Scalar.reduce(int(proof["response"], 16) + 1).to_hex()
        return [complaint]

    def malformed(c):
        complaint = c.complaint(2, 1)
        complaint["shared_point"] = complaint["shared_point"].upper()
        return [complaint]

    code, report = verify_lines(tmp_path, board(lambda c: [c.complaint(2, 1)]))
    assert code == 0, report["failure"]
    for name, complaints, check in [
        ("moot (no deal)", lambda c: [c.complaint(1, 3)], "ceremony"),
        ("duplicated", lambda c: [c.complaint(2, 1), c.complaint(2, 1)], "ceremony"),
        ("void (proof fails)", void, "ceremony"),
        ("malformed", malformed, "ceremony"),
    ]:
        code, report = verify_lines(tmp_path, board(complaints))
        assert code == 1, name
        assert report["failure"]["kind"] == "dkg-complaint", (name, report["failure"])
        assert report["failure"]["check"] == check, (name, report["failure"])


def test_a_share_of_zero_is_judged_by_its_equation(tmp_path):
    """§8.6: 32 zero bytes are a canonical scalar; a complaint about a share of 0 is justified
    only if 0·G ≠ Σₖ jᵏ·Cᵢₖ (here it is, the dealer's polynomial being anything else)."""
    from crypto.ecies import ecies_encrypt
    from crypto.threshold import DkgDeal, _share_aad

    c = CeremonyBoard()
    commitment, deal = c.dealt[1]
    zero = ecies_encrypt(c.public[1].public_key, bytes(32), _share_aad(c.ceremony.context, 1, 2))
    deal = DkgDeal(1, deal.coefficients, deal.proofs, (deal.shares[0], zero, deal.shares[2]))
    c.dealt[1] = (commitment, deal)
    c.commit()
    c.deal()
    c.b.append("dkg-complaint", c.complaint(2, 1))  # justified: 0·G = O ≠ f₁(2)·G
    c.confirm([1, 2], dealers=[2, 3])
    c.result(dealers=[2, 3])
    code, report = verify_lines(tmp_path, c.entries)
    assert code == 0, report["failure"]
    assert report["qualified"] == [2, 3]


def test_ceremony_names_must_be_the_registered_ones(tmp_path):
    c = CeremonyBoard()
    i = index_of(c.entries, "ceremony")
    entries = with_payload(c.entries, i, lambda p: p["trustees"][1].update(name="Mallory"))
    failure = rejected(tmp_path, entries, "ceremony")
    assert failure["seq"] == i and "name" in failure["reason"]


def test_nothing_between_the_ceremony_result_and_the_ready_state(election, tmp_path):
    """`ceremony-result` comes right before state → ready (§11.2); here the credential list is
    published between them (its kind is allowed in key_ceremony)."""
    e = election.entries
    i = index_of(e, "ceremony-result")
    creds = [x for x in e if x.kind == "credentials"]
    rest = [x for x in e[i + 1 :] if x.kind != "credentials"]
    failure = rejected(tmp_path, retimed([*e[: i + 1], *creds, *rest]), "order")
    assert failure["seq"] == i + 1


def test_nothing_between_the_result_and_the_tallied_state(election, tmp_path):
    """Trustee 3's valid decryption, published after the result (§12.4: none is)."""
    e = election.entries
    r = index_of(e, "result")
    late = BoardEntry(
        e[r].election, 0, "partial-decryption", e[r].time, "", election.signed_decryption(3), ""
    )
    failure = rejected(tmp_path, retimed([*e[: r + 1], late, *e[r + 1 :]]), "order")
    assert failure["seq"] == r + 1


def test_credential_parts_must_be_consecutive(tmp_path, monkeypatch):
    """Parts 0, 1, 2 of the list, with the state change to key_ceremony between parts 0 and 1."""
    import crypto.manifest

    monkeypatch.setattr(crypto.manifest, "CREDENTIALS_PER_ENTRY", 2)
    b = BoardBuilder(questions=[SINGLE5])
    b.publish_credentials(5)
    parts = b.entries[1:]
    b2 = BoardBuilder(questions=[SINGLE5])
    b2.election = b.election
    b2.entries = [b.entries[0]]
    b2.last = b.entries[0]
    b2.clock = b.clock
    b2.transition("key_ceremony")
    entries = retimed([b.entries[0], parts[0], b2.entries[1], *parts[1:]])
    code, report = verify_lines(tmp_path, [b.entries[0], *parts])
    assert code == 0, report["failure"]
    failure = rejected(tmp_path, entries, "order")
    assert failure["seq"] == 2  # the state entry, where part 1 was due


# --- a key installed without a ceremony (§11.2, §10) ---------------------------------------------


def no_ceremony_board(*, registered: bool = False, tamper=None) -> BoardBuilder:
    """An election whose key was made elsewhere (a 2-of-3 sharing) and installed directly."""
    b = BoardBuilder(questions=[SINGLE5])
    keys = [trustee_keygen(i, b.election) for i in range(1, 4)]
    if registered:
        for i, (_, pub) in enumerate(keys, start=1):
            b.append("trustee", {"name": f"Trustee {i}", "key": pub.to_json()})
    b.transition("key_ceremony")
    b.transition("ready")
    poly = dkg_new_polynomial(2)
    b.trustee_secrets = {i: s for i, (s, _) in enumerate(keys, start=1)}
    b.trustee_keys = [pub for _, pub in keys]
    b.threshold = 2
    b.ceremony = Ceremony(b.election, 2, tuple(b.trustee_keys))
    b.key = ElectionKey(base_mul(poly(0)))
    b.shares = {j: poly(j) for j in range(1, 4)}
    b.verification_keys = [base_mul(poly(j)) for j in range(1, 4)]
    if tamper is not None:
        tamper(b)
    b.publish_credentials(3)
    b.open()
    for v in range(3):
        b.cast(v, [[0, 1, 0, 0, 0]])
    b.close_and_tally()
    b.decrypt((1, 2))
    return b


def test_a_key_installed_without_ceremony_verifies_with_a_warning(tmp_path):
    code, report = verify_lines(tmp_path, no_ceremony_board().entries)
    assert code == 0, report["failure"]
    assert report["key_from_ceremony"] is False and report["result_verified"]
    assert any("could know the decryption key" in w for w in report["warnings"])
    code, human = run_cli(write(tmp_path, no_ceremony_board().entries))
    assert code == 0 and "WARNING" in human


def test_without_ceremony_the_context_must_be_its_digest(tmp_path):
    def wrong_context(b):
        b.ceremony = Ceremony(b.election, 1, tuple(b.trustee_keys))  # another threshold

    failure = rejected(tmp_path, no_ceremony_board(tamper=wrong_context).entries, "manifest")
    assert failure["kind"] == "manifest" and "context" in failure["reason"]


def test_without_ceremony_the_keys_must_lie_on_one_polynomial(tmp_path):
    def third_key(b):
        b.verification_keys[2] = base_mul(Scalar.random())  # trustee 3 never decrypts here

    failure = rejected(tmp_path, no_ceremony_board(tamper=third_key).entries, "manifest")
    assert "verification key 3" in failure["reason"]


def test_registered_trustees_but_no_ceremony_is_rejected(tmp_path):
    failure = rejected(tmp_path, no_ceremony_board(registered=True).entries, "order")
    assert failure["kind"] == "state" and "without its ceremony" in failure["reason"]


def test_manifest_trustee_names_must_be_the_ceremony_ones(election, tmp_path):
    """Only the entries up to the opening: the manifest's fingerprint binds the ballots."""
    e = election.entries
    m = index_of(e, "manifest")

    def rename(p):
        p["manifest"]["trustees"][0]["name"] = "Someone else"
        from crypto.hashing import digest_json

        p["fingerprint"] = digest_json(p["manifest"])

    entries = with_payload(e[: m + 2], m, rename)
    failure = rejected(tmp_path, entries, "manifest")
    assert failure["seq"] == m


# --- ballots and audits (§11.7, §11.8, §12.2) ------------------------------------------------------


def small_election(audit_at=None, extra=None, questions=None) -> BoardBuilder:
    """Four voters; ``extra(b)`` appends more entries while the election is open."""
    import random

    rng = random.Random(3)
    b = BoardBuilder(questions=questions or [SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(4)
    b.open()
    for v in range(4):
        b.cast(v, random_choices(b.manifest, rng))
    if extra is not None:
        extra(b)
    b.close_and_tally()
    b.decrypt((1, 2))
    return b


def _outsider_audit(b):
    outsider = SigningKey(Scalar.random())
    ballot, secrets = ballot_encrypt(b.manifest.spec, outsider, [[0, 0, 0, 1, 0]])
    b.append(
        "audit",
        {"ballot": ballot.to_json(), "randomness": secrets.to_json(), "tracker": ballot.tracker()},
    )


def test_an_audit_signed_by_a_credential_not_on_the_list_is_rejected(tmp_path):
    """The server could otherwise publish fake audits (§11.8: they pass the same checks)."""
    b = small_election(extra=_outsider_audit)
    failure = rejected(tmp_path, b.entries, "credential")
    assert failure["kind"] == "audit" and failure["seq"] == index_of(b.entries, "audit")


def test_an_audit_outside_the_voting_window_is_rejected(tmp_path):
    from datetime import timedelta

    def late_audit(b):
        b.clock += timedelta(days=3)  # the window closes 2 days after it opened
        b.audit(1, [[1, 0, 0, 0, 0]])

    b = small_election(extra=late_audit)
    failure = rejected(tmp_path, b.entries, "window")
    assert failure["kind"] == "audit"


def _recast_audited(b):
    """An audited ballot's ciphertexts (and proofs), re-signed by its credential and cast: a
    valid ballot with a new tracker, whose plaintext the audit made public."""
    ballot, secrets = b.ballot(0, [[0, 1, 0, 0, 0]])
    b.append(
        "audit",
        {"ballot": ballot.to_json(), "randomness": secrets.to_json(), "tracker": ballot.tracker()},
    )
    unsigned = Ballot(ballot.election, ballot.credential, ballot.answers, ballot.signature)
    signature = sign(b.signers[0], unsigned.content_digest(), context=b.manifest.fingerprint)
    recast = Ballot(ballot.election, ballot.credential, ballot.answers, signature)
    assert recast.tracker() != ballot.tracker()
    b.cast(0, [[0, 1, 0, 0, 0]], ballot=recast)


def test_a_ballot_reusing_an_audited_ciphertext_is_rejected(tmp_path):
    b = small_election(extra=_recast_audited)
    failure = rejected(tmp_path, b.entries, "audited")
    assert failure["kind"] == "ballot" and failure["seq"] == index_of(b.entries, "ballot", 4)
    assert f"entry {index_of(b.entries, 'audit')}" in failure["reason"]


def test_the_audited_alpha_rule_covers_budget_bits(tmp_path):
    """A valid budget ballot whose only reused α is a budget bit's: the bit's randomness ρ₁ was
    revealed by an audit and drawn again (§7.4: ρ₁ is the first budget draw, after the 4
    selections' 4 draws each)."""
    import random

    from tests.verifier.boardgen import BUDGET

    b = BoardBuilder(questions=[BUDGET])
    b.run_ceremony(3, 2)
    b.publish_credentials(3)
    b.open()
    b.cast(0, random_choices(b.manifest, random.Random(4)))
    audited, secrets = b.ballot(1, [[1, 0, 1, 0]])
    b.append(
        "audit",
        {
            "ballot": audited.to_json(),
            "randomness": secrets.to_json(),
            "tracker": audited.tracker(),
        },
    )
    from verifier.ballots import ballot_alphas

    draws = iter([Scalar.random() for _ in range(16)] + [secrets.bits[0][1]])
    ballot, _ = ballot_encrypt(
        b.manifest.spec,
        b.signers[1],
        [[0, 1, 1, 0]],
        rand=lambda: next(draws, None) or Scalar.random(),
    )
    reused = set(ballot_alphas(ballot)) & set(ballot_alphas(audited))
    assert reused == {audited.answers[0].budget_proof.bits[1].alpha.to_bytes()}
    b.cast(1, [[0, 1, 1, 0]], ballot=ballot)
    b.close_and_tally()
    b.decrypt((1, 2))
    failure = rejected(tmp_path, b.entries, "audited")
    assert failure["seq"] == index_of(b.entries, "ballot", 1)


def test_the_audited_alpha_rule_looks_only_at_earlier_audits(tmp_path):
    """The rule's exact scope (§12.2): an audit published after a ballot does not make it
    invalid (that ballot's plaintext becomes known; it stays counted)."""

    def audit_after(b):
        ballot, secrets = b.ballot(0, [[0, 1, 0, 0, 0]])
        b.cast(0, [[0, 1, 0, 0, 0]], ballot=ballot)
        again = Ballot(
            ballot.election,
            ballot.credential,
            ballot.answers,
            sign(b.signers[0], ballot.content_digest(), context=b.manifest.fingerprint),
        )
        b.append(
            "audit",
            {
                "ballot": again.to_json(),
                "randomness": secrets.to_json(),
                "tracker": again.tracker(),
            },
        )

    code, report = verify_lines(tmp_path, small_election(extra=audit_after).entries)
    assert code == 0, report["failure"]


def test_ballot_book_compares_whole_trackers(tmp_path):
    """Two trackers with the same first 16 bytes are two ballots (the engine before issue 9
    compared 16-byte prefixes); a whole tracker seen before is a replay. The book keeps 16 bytes
    a tracker and reads the board again on a 16-byte match."""
    from verifier.ballots import BallotBook
    from verifier.facts import Facts
    from verifier.report import Report
    from verifier.source import BoardSource

    first = bytes(range(32))
    second = first[:16] + bytes(16)
    lines = [
        b'{"kind":"ballot","payload":{"ballot":{},"tracker":"%s"}}\n' % t.hex().encode()
        for t in (first, second)
    ]
    path = tmp_path / "trackers.jsonl"
    path.write_bytes(b"".join(lines) + b'{"kind":"ballot"}\n')

    class TwoCredentials:
        count = 2

    book = BallotBook(
        Facts(credentials=TwoCredentials()), Report(source="-"), BoardSource(str(path))
    )
    book.open()
    book.on_ballot(0, 0, first, 0, True, b"")
    book.on_ballot(1, len(lines[0]), second, 1, True, b"")  # same 16 bytes, another tracker
    assert book.report.ballots == 2
    with pytest.raises(VerificationFailed) as caught:
        book.on_ballot(2, len(lines[0]) + len(lines[1]), first, 1, True, b"")
    assert caught.value.finding.check == "replay" and caught.value.finding.seq == 2


# --- decryptions (§12.4) -------------------------------------------------------------------------


def _rejection(reason):
    def mutate(p):
        p["reason"] = reason

    return mutate


@pytest.mark.parametrize(
    ("reason", "ok"),
    [("x" * 480, True), ("é" * 480, True), ("x" * 481, False), ("", False), (None, False)],
)
def test_a_rejection_reason_is_1_to_480_characters(tmp_path, reason, ok):
    b = full_election(voters=2, audits=0, bad_trustee=3)
    i = index_of(b.entries, "decryption-rejected")
    entries = with_payload(b.entries, i, _rejection(reason))
    code, report = verify_lines(tmp_path, entries)
    if ok:
        assert code == 0, report["failure"]
    else:
        assert code == 1 and report["failure"]["seq"] == i, report["failure"]
        assert report["failure"]["check"] == "decryption"


def test_a_rejection_must_follow_its_decryption_immediately(tmp_path):
    b = full_election(voters=2, audits=0, bad_trustee=3)
    e = b.entries
    bad = next(
        i
        for i, x in enumerate(e)
        if x.kind == "partial-decryption" and x.payload["decryption"]["trustee"] == 3
    )
    first = index_of(e, "partial-decryption", 0)
    moved = [
        *e[:first],
        e[bad],
        *e[first:bad],
        *e[bad + 1 :],
    ]  # trustee 3's first, its rejection later
    failure = rejected(tmp_path, retimed(moved), "order")
    assert failure["seq"] == first + 1 and "decryption-rejected" in failure["reason"]


def test_a_share_other_than_00_where_the_tally_is_O_is_a_failed_decryption(tmp_path):
    """§9.1: with no ballot counted every Aₚ is O; a trustee's decryption with another share
    there is invalid (published, then rejected): without its rejection the board is invalid."""
    b = BoardBuilder(questions=[SINGLE5])
    b.run_ceremony(3, 2)
    b.publish_credentials(2)
    b.open()
    b.close_and_tally()
    assert all(ct.alpha.is_identity() for ct in b.tally)
    payload = b.signed_decryption(1)
    payload["decryption"]["shares"][0] = base_mul(Scalar.random()).to_hex()
    payload = decryption_sign(
        b.trustee_secrets[1], payload["decryption"], fingerprint=b.manifest.fingerprint
    )
    b.append("partial-decryption", payload)
    end = len(b.entries)
    b.append("decryption-rejected", {"trustee": 1, "reason": "position 0: Aₚ is O"})
    b.decrypt((2, 3))
    code, report = verify_lines(tmp_path, b.entries)
    assert code == 0, report["failure"]
    assert report["decryptions_rejected"] == [1] and report["decryptions_valid"] == [2, 3]
    failure = rejected(tmp_path, retimed(b.entries[:end] + b.entries[end + 1 :]), "order")
    assert failure["seq"] == end


@pytest.mark.parametrize(
    "respell",
    [
        lambda line: line.replace(b'{"alpha":', b'{ "alpha":', 1),
        lambda line: line.replace(b'"beta":"04', b'"beta":"\\u00304', 1),
        lambda line: re.sub(
            rb'\{"alpha":("[0-9a-f]+"),"beta":("[0-9a-f]+")\}',
            lambda m: b'{"beta":' + m.group(2) + b',"alpha":' + m.group(1) + b"}",
            line,
            count=1,
        ),
        lambda line: re.sub(
            rb'\{"alpha":("[0-9a-f]+")',
            lambda m: b'{"alpha":' + m.group(1) + b',"alpha":' + m.group(1),
            line,
            count=1,
        ),
        lambda line: line.replace(b',"kind":"ballot"', b',\n"kind":"ballot"', 1),
        lambda line: b'{"version":1,' + line[1:].replace(b',"version":1}\n', b"}\n"),
    ],
    ids=["space", "escape", "unsorted", "duplicate key", "newline", "envelope order"],
)
def test_ballot_lines_spelled_otherwise_are_rejected(election, tmp_path, respell):
    """Ballot lines take the workers' fast path: it must never vouch for another spelling."""
    lines = lines_of(election.entries)
    i = index_of(election.entries, "ballot", 1)
    respelled = respell(lines[i])
    assert respelled != lines[i]
    assert json.loads(respelled) == json.loads(lines[i])  # the same JSON value
    lines[i] = respelled
    failure = failure_of(tmp_path, lines)
    if b"\n" in respelled[:-1]:  # the file's line ends there: half an entry, not JSON
        assert failure["check"] == "entry", failure
    else:
        assert (failure["seq"], failure["check"]) == (i, "canonical"), failure
