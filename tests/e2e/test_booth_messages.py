"""What the booth tells a voter when something is wrong: a closed election, voting not open yet,
a wrong or mistyped credential, a wrong login code, an ended session, an election that closes
while the voter is deciding. Always a plain sentence, never an error code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from crypto.credentials import format_code, generate_code
from tests.e2e.conftest import login_code, voter_session_cookie
from voting.js_messages import ERRORS
from voting.services.elections import election_close

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ERROR_CODE = re.compile(r"\b(" + "|".join(ERRORS) + r")\b")


def no_error_codes(text: str) -> None:
    assert ERROR_CODE.search(text) is None, ERROR_CODE.search(text).group(0)


def test_closed_and_not_yet_open_elections(tour, open_election_factory) -> None:
    closed = open_election_factory()
    election_close(election=closed.election, acting_user=None)
    now = timezone.now()
    later = open_election_factory(
        opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
    )
    visit = tour("closed")
    visit.goto(f"/e/{closed.election.slug}/vote#credential={format_code(closed.voters[0].code)}")
    assert "This election is closed: voting ended on" in visit.text("main")
    assert visit.page.locator("#booth").count() == 0
    visit.check("closed election")
    visit.goto(f"/e/{later.election.slug}/vote")
    assert "Voting has not started yet: it opens on" in visit.text("main")
    visit.check("not open yet")


def test_wrong_login_code_and_mistyped_credential(
    tour, celery_worker_real, open_election_factory
) -> None:
    opened = open_election_factory()
    voter = opened.voters[0]
    visit = tour("login-errors")
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/vote")
    visit.wait_step("login")
    page.click("#login-request-button")  # nothing typed
    assert "Enter your e-mail address." in visit.text("#step-login .step-error")
    page.fill("#login-email", voter.voter.email)
    page.click("#login-request-button")
    page.locator("#login-code").wait_for(state="visible")
    good = login_code(voter.voter.email)
    wrong = f"{(int(good) + 1) % 10**8:08d}"
    page.fill("#login-code", "1234")
    page.click("#login-verify-button")
    assert "The code has 8 digits." in visit.text("#step-login .step-error")
    page.fill("#login-code", wrong)
    page.click("#login-verify-button")
    error = page.locator("#step-login .step-error")
    error.get_by_text("This login code is wrong").wait_for()
    no_error_codes(visit.text("main"))
    visit.check("wrong login code")
    page.fill("#login-code", good)
    page.click("#login-verify-button")
    visit.wait_step("credential")

    # Live feedback while typing, and a refusal on submit.
    code = format_code(voter.code)
    page.type("#credential", code[:8])
    assert visit.text("#credential-feedback") == "7 of 20 characters."
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    page.fill("#credential", mistyped)
    page.dispatch_event("#credential", "input")
    assert "typing mistake" in visit.text("#credential-feedback")
    assert page.get_attribute("#credential", "aria-invalid") == "true"
    page.click("#credential-form button[type=submit]")
    assert "typing mistake" in visit.text("#step-credential .step-error")
    assert page.evaluate("document.activeElement.id") == "credential"
    visit.check("mistyped credential")


def test_credential_of_another_election_session_over_and_closing(
    tour, open_election_factory
) -> None:
    opened = open_election_factory()
    slug = opened.election.slug
    visit = tour("booth-errors")
    page = visit.page
    voter_session_cookie(page.context, visit.base_url, opened.voters[0].voter)
    # A well-formed credential that is not on this election's list.
    foreign = format_code(generate_code())
    visit.goto(f"/e/{slug}/vote#credential={foreign}")
    visit.wait_step("credential")
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.check("#q1o2")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    page.click("#cast-button")
    visit.wait_step("credential")
    message = visit.text("#step-credential .step-error")
    assert message.startswith("This credential is not valid for this election.")
    no_error_codes(visit.text("main"))
    visit.check("credential of another election")

    # The right credential, but the session ends before casting.
    page.fill("#credential", opened.voters[0].code)
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    page.context.clear_cookies()
    page.click("#cast-button")
    visit.wait_step("login")
    assert "You are not logged in, or your session has ended" in visit.text("#step-login")
    visit.check("session over")

    # Logged in again; the election closes while the voter looks at the review screen.
    voter_session_cookie(page.context, visit.base_url, opened.voters[0].voter)
    visit.goto(f"/e/{slug}/vote")
    visit.wait_step("credential")
    page.fill("#credential", opened.voters[0].code)
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.check("#q1o3")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    election_close(election=opened.election, acting_user=None)
    page.click("#cast-button")
    page.locator("#step-review .step-error").get_by_text(
        "This election is not open for voting."
    ).wait_for()
    assert page.locator("#cast-button").is_disabled()
    no_error_codes(visit.text("main"))
    visit.check("closed while voting")
