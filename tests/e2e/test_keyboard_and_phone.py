"""Voting with the keyboard alone (Tab, Shift+Tab, arrows, Space, Enter; no mouse) on a phone-sized
screen (360 × 740), with a visible focus at each stop; screenshots of the viewport at each step."""

from __future__ import annotations

import pytest

from board.models import BoardEntry
from crypto.credentials import format_code
from tests.e2e.conftest import PHONE, login_code
from tests.voting.factories import EVERY_KIND

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def active(page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def tab_to(page, element_id: str, *, limit: int = 40) -> None:
    """Press Tab until the element has the focus; its focus must be visible."""
    for _ in range(limit):
        if active(page) == element_id:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"#{element_id} has no visible focus"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id} (stuck at #{active(page)})")


def audit_by_keyboard(visit) -> None:
    """From the review: audit the ballot (Enter), check the verdict, and back to a fresh one."""
    page = visit.page
    tab_to(page, "audit-button")
    page.keyboard.press("Enter")
    visit.wait_step("audit")
    assert page.locator("#audit-verdict").get_attribute("data-ok") == "true"
    visit.check("audit", full_page=False)
    tab_to(page, "audit-again")
    page.keyboard.press("Enter")
    visit.wait_step("review")


def test_keyboard_only_voting_on_a_phone(tour, celery_worker_real, open_election_factory) -> None:
    opened = open_election_factory(questions=EVERY_KIND)
    voter = opened.voters[0]
    visit = tour("keyboard-phone", viewport=PHONE)
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/vote#credential={format_code(voter.code)}")
    visit.wait_step("login")
    assert active(page) == "login-heading"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visit.check("login", full_page=False)

    tab_to(page, "login-email")
    page.keyboard.type(voter.voter.email)
    page.keyboard.press("Enter")
    page.locator("#login-code").wait_for(state="visible")
    assert active(page) == "login-code"
    page.keyboard.type(login_code(voter.voter.email))
    visit.check("login code", full_page=False)
    page.keyboard.press("Enter")

    visit.wait_step("credential")
    visit.check("credential", full_page=False)
    tab_to(page, "credential")
    page.keyboard.press("Enter")  # submits the form

    visit.wait_step("questions")
    tab_to(page, "q1o1")
    page.keyboard.press("Space")  # yes
    tab_to(page, "q2o1")
    page.keyboard.press("ArrowDown")  # radios: the arrow moves and selects: Ben
    assert active(page) == "q2o2"
    tab_to(page, "q3o2")
    page.keyboard.press("Space")
    tab_to(page, "q3o4")
    page.keyboard.press("Space")
    tab_to(page, "q4o1")
    page.keyboard.press("Space")
    tab_to(page, "q4o4")
    page.keyboard.press("Space")  # 60 + 40 = 100: the whole budget
    assert visit.text("#q4-status") == "2 chosen. Spent 100 of 100; 0 left."
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert active(page) == "q4o2"
    page.keyboard.press("Space")  # over budget now
    assert "Over budget by 25" in visit.text("#q4-error")
    visit.check("over budget", full_page=False)
    page.keyboard.press("Space")  # and back
    tab_to(page, "questions-submit")
    visit.check("answers", full_page=False)
    page.keyboard.press("Enter")

    visit.wait_step("review")
    visit.check("review", full_page=False)
    audit_by_keyboard(visit)
    tab_to(page, "cast-button")
    page.keyboard.press("Space")  # buttons answer Space as well as Enter
    visit.wait_step("receipt")
    tracker = visit.text("#receipt-tracker")
    visit.check("receipt", full_page=False)
    visit.screenshot("receipt whole page")
    assert BoardEntry.objects.filter(election=opened.election, tracker=tracker, kind="ballot")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
