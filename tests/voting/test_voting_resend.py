"""Sending a ballot again (issue 10): a voter whose answer was lost — the worker died after the
commit, the connection broke, a 503 — sends the very same bytes again and gets the receipt of the
entry already on the board (``200``), nothing appended, exactly the receipt first given
(docs/protocol.md §11.9). Before, it got ``409 duplicate_ballot`` and never a receipt.

What stays refused: the same ballot from another voter, a ballot a later one of its credential
superseded, an audited ballot (or its ciphertexts re-signed), another voter's ciphertexts under
one's own credential. On both append paths (``path``: PostgreSQL's single statement, the portable
transaction).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from board.models import BoardEntry
from crypto.ballot import Ballot
from identity.models import Voter
from tests.voting.factories import board_head_of, login
from tests.voting.test_voting_voters_ballots import (
    audit,
    cast,
    refused,
    resigned,
)
from voting.models import Ballot as BallotRow
from voting.receipts import receipt_signature_valid
from voting.selectors import BallotPrecheck, ballots_counted
from voting.services import casting

pytestmark = pytest.mark.django_db


def entries(election) -> int:
    return BoardEntry.objects.filter(election=election.election).count()


def test_the_same_ballot_sent_again_gets_its_receipt(path, open_election_factory) -> None:
    election = open_election_factory(voters=2)
    voter = election.voters[0]
    client = login(Client(), voter)
    ballot = election.ballot(voter)
    first = cast(client, election, ballot)
    assert first.status_code == 201, first.content
    head, count = board_head_of(election.election), entries(election)
    voted_at = Voter.objects.get(pk=voter.voter.pk).voted_at

    for _ in range(3):
        again = cast(client, election, ballot)
        assert again.status_code == 200, again.content
        assert again.content == first.content  # the very receipt, signature included
    receipt = again.json()
    assert receipt_signature_valid(receipt)
    assert receipt["tracker"] == ballot.tracker() and receipt["kind"] == "ballot"
    assert board_head_of(election.election) == head and entries(election) == count
    assert BallotRow.objects.filter(election=election.election).count() == 1
    assert Voter.objects.get(pk=voter.voter.pk).voted_at == voted_at
    # The re-post is no revote: it appended nothing and counts against no limit.
    verify = client.post(
        f"{election.url}/receipts/verify/", receipt, content_type="application/json"
    ).json()
    assert verify == {"signature_valid": True, "on_board": True, "superseded_by": None}


def test_a_re_post_is_not_a_revote(path, open_election_factory, settings) -> None:
    """With no revote allowed at all, sending the cast ballot again still gets its receipt."""
    settings.PNYX_REVOTES_PER_VOTER_PER_HOUR = 0
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    ballot = election.ballot(voter)
    assert cast(client, election, ballot).status_code == 201
    assert cast(client, election, ballot).status_code == 200
    refused(cast(client, election, election.ballot(voter)), 429, "revote_rate_limited")
    assert cast(client, election, ballot).status_code == 200


def test_the_same_ballot_from_another_voter_is_refused(path, open_election_factory) -> None:
    election = open_election_factory(voters=2)
    alice, bob = election.voters
    ballot = election.ballot(alice)
    assert cast(login(Client(), alice), election, ballot).status_code == 201
    head = board_head_of(election.election)
    bob_client = login(Client(), bob)
    refused(cast(bob_client, election, ballot), 409, "duplicate_ballot")
    # also once Bob is bound to a credential of his own
    assert cast(bob_client, election, election.ballot(bob)).status_code == 201
    head = board_head_of(election.election)
    refused(cast(bob_client, election, ballot), 409, "duplicate_ballot")
    assert board_head_of(election.election) == head


def test_a_superseded_ballot_sent_again_is_refused(path, open_election_factory) -> None:
    """Cast A, then B: A sent again (a retry that arrives late) would not make A count, so it is
    refused; B sent again gets B's receipt."""
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    first = election.ballot(voter, [[1, 0, 0, 0, 0]])
    second = election.ballot(voter, [[0, 1, 0, 0, 0]])
    assert cast(client, election, first).status_code == 201
    second_receipt = cast(client, election, second)
    assert second_receipt.status_code == 201
    head = board_head_of(election.election)

    error = refused(cast(client, election, first), 409, "duplicate_ballot")
    assert "a later ballot of the same credential replaced it" in error["message"]
    again = cast(client, election, second)
    assert (again.status_code, again.content) == (200, second_receipt.content)
    assert board_head_of(election.election) == head
    counted = list(ballots_counted(election=election.election).values_list("tracker", flat=True))
    assert counted == [second.tracker()]


def test_an_audited_ballot_never_gets_a_cast_receipt(path, open_election_factory) -> None:
    """The audit entry's tracker is on the board, but as an audit: casting it, or its ciphertexts
    re-signed, is refused as before, and sending the audit again is refused too."""
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    audited = election.ballot(voter)
    assert audit(client, election, audited).status_code == 201
    head = board_head_of(election.election)
    refused(cast(client, election, audited), 409, "ballot_was_audited")
    refused(cast(client, election, resigned(audited, voter)), 409, "ballot_was_audited")
    refused(audit(client, election, audited), 409, "ballot_was_audited")
    assert board_head_of(election.election) == head
    assert not BallotRow.objects.filter(election=election.election).exists()


def test_another_voters_ciphertexts_are_refused(path, open_election_factory) -> None:
    """A ballot that reuses the ciphertexts and proofs of one on the board under another
    credential fails its proofs (they bind the credential, §7.3): the re-post rule is about the
    same bytes only."""
    election = open_election_factory(voters=2)
    alice, bob = election.voters
    ballot = election.ballot(alice)
    assert cast(login(Client(), alice), election, ballot).status_code == 201
    head = board_head_of(election.election)
    copied = Ballot(ballot.election, bob.key.public, ballot.answers, ballot.signature)
    copied = resigned(copied, bob)
    refused(cast(login(Client(), bob), election, copied), 400, "invalid_proof")
    assert board_head_of(election.election) == head


def test_own_ciphertexts_re_signed_are_a_new_ballot(path, open_election_factory) -> None:
    """The voter's own cast ciphertexts under a fresh signature have another tracker: not a
    re-post but a new ballot of the same credential (valid, §11.7), which supersedes the first —
    the count is the same vote."""
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    ballot = election.ballot(voter)
    assert cast(client, election, ballot).status_code == 201
    again = resigned(ballot, voter)
    response = cast(client, election, again)
    assert response.status_code == 201
    assert response.json()["tracker"] == again.tracker() != ballot.tracker()
    counted = list(ballots_counted(election=election.election).values_list("tracker", flat=True))
    assert counted == [again.tracker()]


@pytest.mark.parametrize(
    "transactional",
    [pytest.param(False, id="in-a-transaction"), pytest.param(True, id="committed")],
)
def test_a_re_post_racing_its_first_post_gets_the_receipt(
    request, transactional, monkeypatch, open_election_factory
) -> None:
    """The browser sent the ballot again while the first request still ran: the second passed
    the pre-check (tracker not on the board yet) and meets the first's entry under the board
    lock (unique tracker). It gets the first's receipt, and the board holds one entry."""
    if transactional:
        request.getfixturevalue("transactional_db")
    election = open_election_factory(voters=1)
    voter = election.voters[0]
    client = login(Client(), voter)
    ballot = election.ballot(voter)
    first = cast(client, election, ballot)
    assert first.status_code == 201
    head = board_head_of(election.election)
    real = casting.ballot_precheck

    def before_the_first_committed(**kwargs) -> BallotPrecheck:
        seen = real(**kwargs)
        return BallotPrecheck(published=seen.published, on_board=None, bound_tag=None)

    monkeypatch.setattr(casting, "ballot_precheck", before_the_first_committed)
    again = cast(client, election, ballot)
    assert (again.status_code, again.content) == (200, first.content)
    assert board_head_of(election.election) == head
    assert BallotRow.objects.filter(election=election.election).count() == 1
    assert json.loads(again.content)["seq"] == head[0]
