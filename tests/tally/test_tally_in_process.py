"""The tally services called in process (no worker), every question kind: the result verifies."""

import pytest
from django.test import Client

from crypto.hashing import parse_json
from tally.models import CeremonyPhase
from tally.services.tally import tally_aggregate_chunk, tally_combine, tally_plan, tally_publish
from tests.tally.helpers import (
    add_voters_and_open,
    ceremony_of,
    expected_counts,
    pnyx_verify,
    run_offline_ceremony,
    setup_ceremony,
)
from tests.voting.factories import EVERY_KIND, SCORES
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db


def test_every_question_kind_tallied_in_process_verifies(tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=EVERY_KIND)
    run_offline_ceremony(ce, tmp_path, client)
    assert ceremony_of(ce.election).phase == CeremonyPhase.DONE
    add_voters_and_open(ce, [1, 2, 3])
    ce.cast(client, 0, [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]])
    ce.cast(Client(), 1, [[0, 1], [0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]])
    election_close(election=ce.election, acting_user=None)
    run = ce.election.tally_run
    for chunk_id in tally_plan(run_id=run.pk):
        assert tally_aggregate_chunk(chunk_id=chunk_id)["added"]
    tally_publish(run_id=run.pk)
    for t in ce.trustees[:2]:
        r = t.send(client, "decrypt", tmp_path)
        assert r.status_code == 202, r.content
    tally_combine(run_id=run.pk)
    ce.refresh()
    assert ce.election.state == "tallied"
    assert pnyx_verify(ce.election, tmp_path) == 0


def test_an_election_without_ballots_is_tallied_to_zero(tmp_path) -> None:
    """No ballot cast: no chunk, an encrypted tally of identities, partial decryptions of
    identities, every count 0 (budget: nothing funded), and the board verifies."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=EVERY_KIND)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [1, 2])
    election_close(election=ce.election, acting_user=None)
    run = ce.election.tally_run
    assert tally_plan(run_id=run.pk) == []
    tally_publish(run_id=run.pk)
    for t in ce.trustees[1:]:
        r = t.send(client, "decrypt", tmp_path)
        assert r.status_code == 202 and r.json()["status"] == "accepted", r.content
    tally_combine(run_id=run.pk)
    ce.refresh()
    assert ce.election.state == "tallied"
    run.refresh_from_db()
    assert (run.counted, run.superseded, run.weight) == (0, 0, 0)
    result = parse_json(run.result_entry.line)["payload"]
    assert result["counts"] == [[0] * q.options for q in ce.manifest.questions]
    assert result["funded"] == [None, None, None, []] and result["trustees"] == [2, 3]
    assert pnyx_verify(ce.election, tmp_path) == 0


def test_score_questions_tallied_by_the_trustees_verify(tmp_path) -> None:
    """Score questions (0…10 without a limit, 0…3 with a total of 1 to 5) beside an approval
    question, weights 3, 5 and 2 and a revote: the totals exceed the counted weight (the
    discrete logarithms are bounded by S·W, §12.4), equal the weighted sums of the last ballots,
    and the board passes pnyx-verify."""
    client = Client()
    questions = [*SCORES, EVERY_KIND[2]]
    ce = setup_ceremony(tmp_path, questions=questions)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, [3, 5, 2])
    last = {}
    for voter, choices in [
        (0, [[10, 10, 0], [3, 0, 1, 1], [1, 0, 0, 0]]),
        (1, [[7, 0, 10], [0, 0, 0, 1], [0, 1, 1, 0]]),
        (0, [[10, 9, 1], [3, 2, 0, 0], [1, 1, 0, 0]]),  # replaces voter 0's first ballot
        (2, [[0, 0, 0], [0, 3, 0, 0], [0, 0, 0, 1]]),
    ]:
        ce.cast(Client(), voter, choices)
        last[voter] = (ce.voters[voter].voter.weight, choices)
    election_close(election=ce.election, acting_user=None)
    run = ce.election.tally_run
    for chunk_id in tally_plan(run_id=run.pk):
        tally_aggregate_chunk(chunk_id=chunk_id)
    tally_publish(run_id=run.pk)
    for t in ce.trustees[1:]:
        r = t.send(client, "decrypt", tmp_path)
        assert r.status_code == 202, r.content
    tally_combine(run_id=run.pk)
    ce.refresh()
    assert ce.election.state == "tallied"
    result = parse_json(ce.election.tally_run.result_entry.line)["payload"]
    assert result["counts"] == expected_counts(ce.manifest, last)
    assert result["counts"][0] == [30 + 35, 27, 3 + 50] and result["weight"] == 10
    assert result["funded"] == [None, None, None]
    assert pnyx_verify(ce.election, tmp_path) == 0
