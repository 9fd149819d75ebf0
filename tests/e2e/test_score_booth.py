"""A score ballot cast with the keyboard alone in Chromium: one labelled select of 0…S per option
(arrows and type-ahead), the live total and its error as sentences, the review listing each
option's score, a Benaloh audit that opens the scores, then the cast ballot on the board — with
no axe violation at each step."""

from __future__ import annotations

import pytest

from board.models import BoardEntry
from crypto.ballot import Ballot, ballot_verify
from crypto.credentials import format_code
from crypto.hashing import parse_json
from tests.e2e.conftest import DESKTOP, login_code
from tests.e2e.test_keyboard_and_phone import active, audit_by_keyboard, tab_to
from tests.voting.factories import SCORES

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def value(page, element_id: str) -> str:
    return page.evaluate(f"document.getElementById('{element_id}').value")


def test_a_score_ballot_cast_by_keyboard(tour, celery_worker_real, open_election_factory) -> None:
    opened = open_election_factory(questions=SCORES)
    voter = opened.voters[0]
    visit = tour("score-keyboard", viewport=DESKTOP)
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/vote#credential={format_code(voter.code)}")
    visit.wait_step("login")
    tab_to(page, "login-email")
    page.keyboard.type(voter.voter.email)
    page.keyboard.press("Enter")
    page.locator("#login-code").wait_for(state="visible")
    page.keyboard.type(login_code(voter.voter.email))
    page.keyboard.press("Enter")
    visit.wait_step("credential")
    tab_to(page, "credential")
    page.keyboard.press("Enter")

    visit.wait_step("questions")
    assert visit.text("#q1-rules") == "Give each option a score from 0 to 10."
    assert visit.text("#q2-rules") == (
        "Give each option a score from 0 to 3. Your scores must add up to at least 1. "
        "Your scores may add up to 5 at most."
    )
    # every select is named by its option and described by its range
    north = page.get_by_role("combobox", name="North")
    assert north.get_attribute("id") == "q1o1"
    assert "score from 0 to 10" in page.evaluate(
        "document.getElementById(document.getElementById('q1o1')"
        ".getAttribute('aria-describedby').split(' ')[0]).textContent"
    )
    tab_to(page, "q1o1")
    page.keyboard.type("10")  # type-ahead
    assert value(page, "q1o1") == "10"
    tab_to(page, "q1o3")
    for _ in range(7):
        page.keyboard.press("ArrowDown")
    assert value(page, "q1o3") == "7"
    assert visit.text("#q1-status") == "Total of your scores: 17."
    tab_to(page, "q2o1")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    tab_to(page, "q2o3")
    page.keyboard.press("ArrowDown")
    tab_to(page, "q2o4")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # 3 + 1 + 2 = 6 > 5
    assert visit.text("#q2-error") == "Your scores add up to too much: give at most 5 in all."
    assert page.locator("#q2o4").get_attribute("aria-invalid") == "true"
    visit.check("total too high", full_page=False)
    page.keyboard.press("ArrowUp")  # 5: allowed
    assert visit.text("#q2-status") == "Total of your scores: 5."
    assert page.locator("#q2-error").is_hidden()
    tab_to(page, "questions-submit")
    visit.check("scores", full_page=False)
    page.keyboard.press("Enter")

    visit.wait_step("review")
    review = visit.text("#review-choices")
    assert "North: 10, South: 0, East: 7" in review
    assert "Soup: 3, Salad: 0, Pie: 1, Stew: 1" in review
    visit.check("review")
    audit_by_keyboard(visit)
    tab_to(page, "cast-button")
    page.keyboard.press("Enter")
    visit.wait_step("receipt")
    tracker = visit.text("#receipt-tracker")
    visit.check("receipt", full_page=False)

    entry = BoardEntry.objects.get(election=opened.election, tracker=tracker, kind="ballot")
    ballot = Ballot.from_json(parse_json(entry.line)["payload"]["ballot"])
    ballot_verify(ballot, opened.spec)
    assert [len(p.commitments) for p in ballot.answers[0].choice_proofs] == [11, 11, 11]
    assert len(ballot.answers[1].sum_proof.commitments) == 5  # totals 1…5
    assert active(page) != ""
