"""manage.py verify_board: the stored board verifies locally and with Celery workers alike, and a
tampered entry is caught by both."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.voting.factories import EVERY_KIND, login, post_json
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db(transaction=True)


def _cast_some(election) -> None:
    choices = [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]]
    for i, voter in enumerate(election.voters):
        client = login(Client(), voter)
        ballot = election.ballot(i, choices)
        assert post_json(client, f"{election.url}/ballots/", ballot.to_json()).status_code == 201
    client = login(Client(), election.voters[1])  # a revote
    revote = election.ballot(1, [[0, 1], [1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]])
    assert post_json(client, f"{election.url}/ballots/", revote.to_json()).status_code == 201


def _run(election, *extra) -> tuple[int, dict]:
    out = StringIO()
    code = 0
    try:
        call_command("verify_board", election.slug, "--json", *extra, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_local_and_distributed_verification_agree(open_election_factory, celery_worker_real):
    election = open_election_factory(questions=EVERY_KIND, voters=4, weights=[1, 2, 1, 3])
    _cast_some(election)
    election_close(election=election.election, acting_user=None, reason="test")

    code, local = _run(election.election, "--jobs", "1")
    assert code == 0, local["failure"]
    code, distributed = _run(election.election, "--distributed")
    assert code == 0, distributed["failure"]
    for report in (local, distributed):
        assert (report["ballots"], report["ballots_verified"], report["state"]) == (5, 5, "closed")
    local.pop("seconds"), distributed.pop("seconds")
    local.pop("source"), distributed.pop("source")
    assert local == distributed


def test_tampered_stored_ballot_is_caught_by_workers(open_election_factory, celery_worker_real):
    election = open_election_factory(questions=EVERY_KIND, voters=2)
    _cast_some(election)
    with connection.cursor() as cursor:  # an operator editing the database behind the app's back
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE voting_boardentry DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE voting_boardentry SET line = replace(line, '\"version\":1}', '\"version\":1 }')"
            " WHERE kind = 'ballot' AND seq = (SELECT min(seq) FROM voting_boardentry"
            " WHERE kind = 'ballot' AND election_id = %s)",
            [str(election.election.pk)],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE voting_boardentry ENABLE TRIGGER USER")
    for extra in (("--jobs", "1"), ("--distributed",)):
        code, report = _run(election.election, *extra)
        assert code == 1
        assert report["failure"]["kind"] == "ballot", report["failure"]
