"""Voters and ballots: a voter's login is bound to the credential of its first ballot, revotes are
rate-limited per voter, and a ballot that reuses a ciphertext of an audited ballot is never cast.

Each rule holds on both append paths: PostgreSQL's single statement (``pnyx_append_ballot``) and
the portable Django transaction other databases take (``path`` fixture); the races run real
concurrent requests against PostgreSQL while the test holds the board lock, so that every request
has passed its pre-check (credential unbound) and the check under the lock decides.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

import psycopg
import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from board.services import board_lock
from crypto.ballot import Answer, Ballot, _prove_budget
from crypto.board import BoardEntry as ChainEntry
from crypto.board import verify_chain
from crypto.group import G, Q, Scalar
from crypto.hashing import Tag
from crypto.proofs.disjunctive import encrypt_bit_with_proof, prove_membership
from crypto.signatures import Signature, sign
from identity.models import Voter
from identity.services.voters import credential_tag
from tests.voting.factories import (
    OpenElection,
    RollVoter,
    board_head_of,
    build_election,
    login,
    post_json,
)
from voting.models import AuditedAlpha
from voting.models import Ballot as BallotRow
from voting.services import casting

BUDGET = [
    {
        "kind": "budget",
        "title": "Projects",
        "options": [("P1", 60), ("P2", 25), ("P3", 15), ("P4", 40)],
        "budget": 100,
    }
]


@pytest.fixture(params=["statement", "portable"])
def path(request, monkeypatch) -> str:
    """Cast through PostgreSQL's single statement, or through the portable transaction."""
    if request.param == "portable":
        monkeypatch.setattr(casting, "_single_statement", lambda: False)
    return request.param


def cast(client: Client, election: OpenElection, ballot: Ballot):
    return post_json(client, f"{election.url}/ballots/", ballot.to_json())


def audit(client: Client, election: OpenElection, ballot: Ballot):
    secrets = election.secrets[ballot.tracker()]
    return post_json(
        client,
        f"{election.url}/audits/",
        {"ballot": ballot.to_json(), "randomness": secrets.to_json()},
    )


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def tag_of(election: OpenElection, voter: RollVoter) -> str:
    return credential_tag(election_id=election.election.pk, credential=voter.credential_hex)


def bound_tag(voter: RollVoter) -> str | None:
    return Voter.objects.values_list("credential_tag", flat=True).get(pk=voter.voter.pk)


def resigned(ballot: Ballot, voter: RollVoter) -> Ballot:
    """The same ciphertexts and proofs under a fresh signature: another tracker."""
    signature = sign(voter.key, ballot.content_digest(), context=ballot.election)
    return Ballot(ballot.election, ballot.credential, ballot.answers, signature)


def ballot_with(
    election: OpenElection,
    voter: RollVoter,
    choices: Sequence[Sequence[int]],
    *,
    choice_r: dict[tuple[int, int], Scalar] | None = None,
    bit_rho: dict[int, Sequence[Scalar]] | None = None,
) -> Ballot:
    """A valid ballot of ``voter`` whose listed option (q, o) is encrypted with ``choice_r[q, o]``
    and whose budget bits j ≥ 1 of question q with ``bit_rho[q][j]`` (the rest fresh): what
    someone who read an audit's randomness can make, proofs and signature of its own."""
    spec = election.spec
    key, context = spec.key, spec.fingerprint
    credential = voter.credential_hex
    choice_r, bit_rho = choice_r or {}, bit_rho or {}
    answers = []
    for qi, (question, picks) in enumerate(zip(spec.questions, choices, strict=True)):
        listed = list(picks[: question.encrypted_options])
        cts, rs, proofs = [], [], []
        for oi, bit in enumerate(listed):
            ct, r, proof = encrypt_bit_with_proof(
                tag=Tag.SELECTION,
                context=context,
                key=key,
                bit=bit,
                binding={"credential": credential, "option": oi, "question": qi},
                randomness=choice_r.get((qi, oi)),
            )
            cts.append(ct)
            rs.append(r)
            proofs.append(proof)
        sum_proof = None
        if question.sum_values is not None:
            sum_proof = prove_membership(
                tag=Tag.SUM,
                context=context,
                key=key,
                ciphertexts=cts,
                randomness=Scalar(sum(int(r) for r in rs) % Q),
                plaintext=sum(listed),
                values=question.sum_values,
                binding={"credential": credential, "question": qi},
            )
        budget_proof = None
        if question.budget is not None:
            # _prove_budget draws ρ₁ … ρ_{κ−1} first (ρ₀ follows from them), then the nonces.
            chosen = iter(bit_rho.get(qi, [None])[1:])

            def rand(chosen=chosen) -> Scalar:
                return next(chosen, None) or Scalar.random()

            budget_proof, _ = _prove_budget(
                question, key, context, credential, qi, list(picks), rs, rand
            )
        answers.append(Answer(tuple(cts), tuple(proofs), sum_proof, budget_proof))
    unsigned = Ballot(context, voter.key.public, tuple(answers), Signature(G, Scalar(0)))
    signature = sign(voter.key, unsigned.content_digest(), context=context)
    return Ballot(context, voter.key.public, tuple(answers), signature)


# --- 1. A voter's login is bound to the credential of its first ballot ---------------------------


def test_a_later_ballot_with_another_credential_is_refused(path, open_election_factory) -> None:
    """Reproduced on the old code: dave's session cast with bob's credential."""
    election = open_election_factory(voters=2)
    dave, bob = election.voters
    client = login(Client(), dave)
    assert cast(client, election, election.ballot(dave)).status_code == 201
    assert bound_tag(dave) == tag_of(election, dave)
    head = board_head_of(election.election)

    error = refused(cast(client, election, election.ballot(bob)), 403, "credential_mismatch")
    assert "first ballot with another credential" in error["message"]
    assert board_head_of(election.election) == head
    assert BallotRow.objects.filter(election=election.election).count() == 1
    # Dave revotes with his own credential; Bob votes with his.
    assert cast(client, election, election.ballot(dave, [[0, 1, 0, 0, 0]])).status_code == 201
    assert cast(login(Client(), bob), election, election.ballot(bob)).status_code == 201
    assert bound_tag(bob) == tag_of(election, bob)


def test_a_credential_belongs_to_the_first_voter_who_casts_with_it(
    path, open_election_factory
) -> None:
    """Someone who learnt Bob's credential and casts with it first owns it: Bob is refused (and
    learns that his credential leaked), the thief cannot switch back to his own."""
    election = open_election_factory(voters=2)
    thief, bob = election.voters
    thief_client, bob_client = login(Client(), thief), login(Client(), bob)
    assert cast(thief_client, election, election.ballot(bob)).status_code == 201
    head = board_head_of(election.election)

    error = refused(cast(bob_client, election, election.ballot(bob)), 403, "credential_taken")
    assert error["message"] == "Another voter has already cast a ballot with this credential."
    refused(cast(thief_client, election, election.ballot(thief)), 403, "credential_mismatch")
    assert board_head_of(election.election) == head
    assert bound_tag(bob) is None and bound_tag(thief) == tag_of(election, bob)
    assert Voter.objects.get(pk=bob.voter.pk).voted_at is None


def test_the_binding_is_checked_only_after_the_signature(path, open_election_factory) -> None:
    """Nothing is said about a credential's binding to someone who has not proved, by a valid
    signature, that it holds the credential: a bound voter sending another (published)
    credential with a bad signature hears about the signature."""
    election = open_election_factory(voters=3)
    voter, other, third = election.voters
    client = login(Client(), voter)
    assert cast(client, election, election.ballot(voter)).status_code == 201
    assert cast(login(Client(), third), election, election.ballot(third)).status_code == 201
    for stolen in (other, third):  # unbound, and bound to a third voter
        data = election.ballot(stolen).to_json()
        data["signature"] = election.ballot(voter).to_json()["signature"]
        response = post_json(client, f"{election.url}/ballots/", data)
        refused(response, 400, "invalid_signature")


def test_an_audit_never_binds_and_uses_only_the_voters_credential(
    path, open_election_factory
) -> None:
    """An audit is not a vote: it binds nothing (so auditing with someone else's credential takes
    nothing from its owner), and a bound voter, or a credential bound to another voter, cannot
    audit with it (the same rule as for casting, after the signature is checked)."""
    election = open_election_factory(voters=3)
    first, second, third = election.voters
    client = login(Client(), first)
    assert audit(client, election, election.ballot(second)).status_code == 201
    assert bound_tag(first) is None and bound_tag(second) is None
    # The owner casts with it; the auditor casts with its own.
    assert cast(login(Client(), second), election, election.ballot(second)).status_code == 201
    assert cast(client, election, election.ballot(first)).status_code == 201
    head = board_head_of(election.election)
    audits = Voter.objects.get(pk=first.voter.pk).audits

    refused(audit(client, election, election.ballot(third)), 403, "credential_mismatch")
    third_client = login(Client(), third)
    refused(audit(third_client, election, election.ballot(second)), 403, "credential_taken")
    assert board_head_of(election.election) == head
    assert Voter.objects.get(pk=first.voter.pk).audits == audits
    assert bound_tag(third) is None
    assert audit(client, election, election.ballot(first)).status_code == 201


def test_the_binding_is_private(path, open_election_factory, admin_client) -> None:
    """Stored as a keyed tag (not the credential), and shown nowhere: not in the voter's own
    answers, the board, the public pages or the officials' admin."""
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    assert cast(client, election, election.ballot(voter)).status_code == 201
    tag = bound_tag(voter)
    assert tag is not None and voter.credential_hex not in tag
    assert len(tag) == 64 and tag != credential_tag(
        election_id=build_election(voters=1).election.pk, credential=voter.credential_hex
    )

    me = client.get(f"{election.url}/me/").json()
    assert set(me) == {"election", "authenticated", "voted"}
    slug = election.election.slug
    pages = [
        f"{election.url}/board.jsonl",
        f"{election.url}/board/",
        f"{election.url}/board/head",
        f"/e/{slug}/",
        f"/e/{slug}/board",
        f"/e/{slug}/check",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert tag.encode() not in body, url
    for url in (
        reverse("admin:identity_voter_changelist"),
        reverse("admin:identity_voter_change", args=[voter.voter.pk]),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert tag.encode() not in page.content and b"credential_tag" not in page.content, url


# --- The binding under concurrency ---------------------------------------------------------------


def _watcher() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _race(election: OpenElection, requests: list[tuple[RollVoter, Ballot]]) -> list:
    """Send every (session of voter, ballot) at once while this test holds the board lock;
    release it once they all wait for it: each on its own connection (the portable path), or
    queued in this process's casting batcher behind a leader that waits for it (PostgreSQL's
    path, where a batch's ballots are appended one after another in one transaction). Returns
    (status, error code or None) in order."""
    batched = casting._single_statement()
    if batched:
        casting._batcher = None  # a fresh one (settings as now)
    answers: list = [None] * len(requests)

    def send(i: int) -> None:
        voter, ballot = requests[i]
        try:
            response = cast(login(Client(), voter), election, ballot)
            code = response.json().get("error", {}).get("code")
            answers[i] = (response.status_code, code)
        except Exception as exc:  # reported by the assertions below
            answers[i] = ("error", repr(exc))
        finally:
            connection.close()

    watcher = _watcher()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    try:
        with transaction.atomic():
            board_lock(election_id=election.election.pk)
            for thread in threads:
                thread.start()
            for _ in range(1500):  # until every request waits for the board lock
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                if waiting == len(requests) or (
                    batched and waiting >= 1 and casting.cast_batcher().in_flight == len(requests)
                ):
                    break
                time.sleep(0.02)
            else:
                pytest.fail(f"only {waiting} of {len(requests)} requests reached the lock")
    finally:
        for thread in threads:
            thread.join(timeout=120)
        watcher.close()
    return answers


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_racing_first_ballots_exactly_one_binds(path) -> None:
    """Voters 0 and 1 each send two first ballots at once, with their own credential and with
    another's (of voters 4 and 5, who do not vote); voters 2 and 3 both send a first ballot with
    voter 2's credential. Exactly one ballot of each race is accepted."""
    election = build_election(voters=6)
    v = election.voters
    requests = [
        (v[0], election.ballot(v[0])),
        (v[0], election.ballot(v[4])),
        (v[1], election.ballot(v[5])),
        (v[1], election.ballot(v[1])),
        (v[2], election.ballot(v[2])),
        (v[3], election.ballot(v[2])),
    ]
    answers = _race(election, requests)

    for pair, loser_code in (((0, 1), "credential_mismatch"), ((2, 3), "credential_mismatch")):
        statuses = sorted(answers[i] for i in pair)
        assert statuses == [(201, None), (403, loser_code)], answers
    taken = sorted(answers[4:])
    assert taken == [(201, None), (403, "credential_taken")], answers
    accepted = [requests[i] for i, answer in enumerate(answers) if answer[0] == 201]
    assert len(accepted) == 3
    for voter, ballot in accepted:
        assert bound_tag(voter) == credential_tag(
            election_id=election.election.pk, credential=ballot.credential.to_hex()
        )
    rows = BallotRow.objects.filter(election=election.election)
    assert sorted(rows.values_list("tracker", flat=True)) == sorted(
        b.tracker() for _, b in accepted
    )
    lines = b"".join(Client().get(f"{election.url}/board.jsonl").streaming_content)
    entries = list(verify_chain(ChainEntry.from_line(line) for line in lines.splitlines()))
    assert sum(e.kind == "ballot" for e in entries) == 3


# --- 2. Revotes are rate-limited per voter, first ballots never ---------------------------------


def _clear_of_the_hour_boundary() -> None:
    """The limit counts per clock hour: keep a test's casts inside one hour."""
    left = 3600 - time.time() % 3600
    if left < 15:
        time.sleep(left + 0.5)


def test_revotes_are_rate_limited(path, open_election_factory, settings) -> None:
    settings.PNYX_REVOTES_PER_VOTER_PER_HOUR = 2
    election = open_election_factory(voters=2)
    voter = election.voters[0]
    client = login(Client(), voter)
    _clear_of_the_hour_boundary()
    for pick in range(3):  # the first ballot, then the two revotes allowed
        choice = [[int(i == pick) for i in range(5)]]
        assert cast(client, election, election.ballot(voter, choice)).status_code == 201
    head = board_head_of(election.election)

    response = cast(client, election, election.ballot(voter))
    error = refused(response, 429, "revote_rate_limited")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 3600
    assert abs(retry_after - (3600 - time.time() % 3600)) < 5
    assert error["details"] == {"retry_after": retry_after}
    assert board_head_of(election.election) == head
    assert BallotRow.objects.filter(election=election.election).count() == 3

    # Another voter is not affected; a refused ballot (another credential) is not a revote.
    other = login(Client(), election.voters[1])
    assert cast(other, election, election.ballot(1)).status_code == 201
    refused(cast(other, election, election.ballot(voter)), 403, "credential_mismatch")
    assert cast(other, election, election.ballot(1)).status_code == 201


def test_a_first_ballot_is_never_rate_limited(path, open_election_factory, settings) -> None:
    settings.PNYX_REVOTES_PER_VOTER_PER_HOUR = 0
    election = open_election_factory(voters=2)
    _clear_of_the_hour_boundary()
    for voter in election.voters:
        client = login(Client(), voter)
        assert cast(client, election, election.ballot(voter)).status_code == 201
        refused(cast(client, election, election.ballot(voter)), 429, "revote_rate_limited")


# --- 3. An audited ballot is never cast ----------------------------------------------------------


def test_an_audited_ballot_re_signed_is_never_cast(path, open_election_factory) -> None:
    """Reproduced on the old code: an audit entry's ciphertexts, re-signed, were accepted and
    counted, with their plaintext public."""
    election = open_election_factory(voters=2)
    voter = election.voters[0]
    client = login(Client(), voter)
    audited = election.ballot(voter, [[0, 0, 1, 0, 0]])
    assert audit(client, election, audited).status_code == 201
    again = resigned(audited, voter)
    assert again.tracker() != audited.tracker()
    head = board_head_of(election.election)

    error = refused(cast(client, election, again), 409, "ballot_was_audited")
    assert "audited ballot" in error["message"]
    assert board_head_of(election.election) == head
    assert not BallotRow.objects.filter(election=election.election).exists()
    assert bound_tag(voter) is None  # nothing written, not even the binding
    # A fresh encryption of the same choices is cast.
    assert cast(client, election, election.ballot(voter, [[0, 0, 1, 0, 0]])).status_code == 201


def test_one_reused_audited_ciphertext_is_enough_to_refuse(path, open_election_factory) -> None:
    """Another voter re-encrypts one option with the audit's public randomness (proofs and
    signature of its own): refused."""
    election = open_election_factory(voters=2)
    auditor, copier = election.voters
    audited = election.ballot(auditor, [[0, 0, 1, 0, 0]])
    assert audit(login(Client(), auditor), election, audited).status_code == 201
    r = election.secrets[audited.tracker()].choices[0][2]
    copy = ballot_with(election, copier, [[0, 0, 1, 0, 0]], choice_r={(0, 2): r})
    assert copy.answers[0].choices[2] == audited.answers[0].choices[2]
    assert copy.answers[0].choices[1] != audited.answers[0].choices[1]
    client = login(Client(), copier)
    head = board_head_of(election.election)

    refused(cast(client, election, copy), 409, "ballot_was_audited")
    assert board_head_of(election.election) == head
    fresh = ballot_with(election, copier, [[0, 0, 1, 0, 0]])
    assert cast(client, election, fresh).status_code == 201


def test_a_reused_budget_bit_is_refused(path, open_election_factory) -> None:
    """The budget proof's bit ciphertexts count too: a ballot whose choices are fresh but whose
    bits j ≥ 1 reuse an audit's (its ρ₀ adjusted to them) is refused."""
    election = open_election_factory(questions=BUDGET, voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    audited = election.ballot(voter, [[0, 1, 0, 0]])
    assert audit(client, election, audited).status_code == 201
    bits = audited.answers[0].budget_proof.bits
    # Every choice and bit α of the audit is recorded, once.
    assert AuditedAlpha.objects.filter(election=election.election).count() == 4 + len(bits)

    rhos = election.secrets[audited.tracker()].bits[0]
    copy = ballot_with(election, voter, [[1, 0, 0, 0]], bit_rho={0: rhos})
    copy_bits = copy.answers[0].budget_proof.bits
    assert {c.alpha for c in copy.answers[0].choices}.isdisjoint(
        c.alpha for c in audited.answers[0].choices
    )
    assert copy_bits[0].alpha != bits[0].alpha and copy_bits[1].alpha == bits[1].alpha
    refused(cast(client, election, copy), 409, "ballot_was_audited")
    assert cast(client, election, ballot_with(election, voter, [[1, 0, 0, 0]])).status_code == 201


def test_a_ballot_may_be_audited_twice(path, open_election_factory) -> None:
    """Auditing ciphertexts already audited (a re-signed audited ballot) is allowed: the audited
    alphas are recorded once."""
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    audited = election.ballot(voter)
    assert audit(client, election, audited).status_code == 201
    again = resigned(audited, voter)
    election.secrets[again.tracker()] = election.secrets[audited.tracker()]
    assert audit(client, election, again).status_code == 201
    assert AuditedAlpha.objects.filter(election=election.election).count() == 4
    assert json.loads(client.get(f"{election.url}/board/head").content)["kinds"]["audit"] == 2
