"""The board the server writes passes the standalone verifier (pnyx-verify), fetched over HTTP."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.voting.factories import EVERY_KIND, login, post_json
from verifier.engine import verify_board
from verifier.source import BoardSource
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db(transaction=True)


def test_pnyx_verify_accepts_the_served_board(live_server, open_election_factory) -> None:
    election = open_election_factory(questions=EVERY_KIND, voters=3, weights=[1, 2, 3])
    choices = [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]]
    for i, voter in enumerate(election.voters):
        client = login(Client(), voter)
        ballot = election.ballot(i, choices)
        assert post_json(client, f"{election.url}/ballots/", ballot.to_json()).status_code == 201
    # A revote and an audit.
    client = login(Client(), election.voters[0])
    revote = election.ballot(0, [[0, 1], [1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]])
    assert post_json(client, f"{election.url}/ballots/", revote.to_json()).status_code == 201
    audited = election.ballot(0, choices)
    body = {
        "ballot": audited.to_json(),
        "randomness": election.secrets[audited.tracker()].to_json(),
    }
    assert post_json(client, f"{election.url}/audits/", body).status_code == 201
    election_close(election=election.election, acting_user=None, reason="test")

    source = BoardSource(f"{live_server.url}/api/elections/{election.election.pk}/board/")
    try:
        report, _ = verify_board(source, jobs=1)
    finally:
        source.close()
    assert report.failure is None, report.failure
    assert report.verified
    assert (report.ballots, report.ballots_verified, len(report.audits)) == (4, 4, 1)
    assert report.state == "closed"
