"""The public pages in Chromium: accessible (axe) and readable at 360 px, the board's live head,
the booth in French, and the officials' dashboard."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    admin_session_cookie,
    results_shown,
    voter_session_cookie,
)
from tests.voting.factories import EVERY_KIND, login, post_json

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def cast(opened, voter: int, choices) -> str:
    client = login(Client(), opened.voters[voter])
    ballot = opened.ballot(voter, choices)
    assert post_json(client, f"{opened.url}/ballots/", ballot.to_json()).status_code == 201
    return ballot.tracker()


#: voter 0's ballot and voter 1's revote (voter 2, of weight 2, abstains)
TALLY = [[1, 0], [1, 1, 0], [1, 0, 1, 1], [1, 0, 0, 1]]


@pytest.fixture
def tallied(trustee_election_factory, celery_worker_real):
    """Tallied through the tally app: real key ceremony, Celery tally, trustees 1 and 2."""
    opened = trustee_election_factory(questions=EVERY_KIND, weights=[1, 1, 2])
    trackers = [
        cast(opened, 0, [[1, 0], [1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1]]),
        cast(opened, 1, [[0, 1], [0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0]]),
        cast(opened, 1, [[0, 0], [0, 1, 0], [0, 0, 1, 1], [0, 0, 0, 0]]),  # a revote
    ]
    opened.close_and_tally()
    opened.trackers = trackers
    return opened


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_public_pages_are_accessible(tour, tallied, viewport) -> None:
    slug = tallied.election.slug
    name = "public-phone" if viewport is PHONE else "public-desktop"
    visit = tour(name, viewport=viewport)
    pages = [
        ("home", "/"),
        ("election", f"/e/{slug}/"),
        ("board", f"/e/{slug}/board"),
        ("board ballots", f"/e/{slug}/board?kind=ballot"),
        ("board entry", f"/e/{slug}/board/6"),
        ("check found", f"/e/{slug}/check?tracker={tallied.trackers[0]}"),
        ("check superseded", f"/e/{slug}/check?tracker={tallied.trackers[1]}"),
        ("check not found", f"/e/{slug}/check?tracker={'0' * 64}"),
        ("check malformed", f"/e/{slug}/check?tracker=xyz"),
        ("results", f"/e/{slug}/results"),
        ("booth closed", f"/e/{slug}/vote"),
    ]
    for step, path in pages:
        visit.goto(path)
        visit.check(step)
        if step == "results":  # the tally app's result, as the board has it
            assert results_shown(visit.page) == tallied.result()["counts"] == TALLY
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{step}: the page scrolls sideways ({width} px)"
    assert len(visit.audited) == len(pages)


def test_board_head_is_live(tour, open_election_factory) -> None:
    opened = open_election_factory(voters=2)
    visit = tour("board-live")
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/board")
    head = page.locator("#head-seq").inner_text()
    assert page.locator("#head-fresh").is_hidden()
    tracker = cast(opened, 0, [[0, 0, 0, 1, 0]])
    page.locator("#head-fresh").wait_for(state="visible", timeout=15_000)
    assert int(page.locator("#head-seq").inner_text()) == int(head) + 1
    assert "New entries since this page was loaded: 1." in page.locator("#head-fresh").inner_text()
    assert page.locator("#head-kinds").inner_text().count("ballot") == 1
    assert "Live: checked at" in page.locator("#head-status").inner_text()
    visit.check("live head")
    page.get_by_role("link", name="Reload the page").click()
    page.wait_for_load_state()
    assert tracker in page.locator(".board-table").inner_text()


@pytest.mark.parametrize(
    ("locale", "typed", "choose_one", "spent"),
    [
        ("fr-FR", "3 caractères sur 20.", "Choisissez une option.", "Budget"),
        ("es-MX", "3 de 20 caracteres.", "Elija una opción.", "Gastado"),
    ],
)
def test_booth_in_the_browser_language(
    tour, open_election_factory, locale, typed, choose_one, spent
) -> None:
    """The page scripts' sentences come from the request language's gettext catalogue."""
    language = locale.split("-")[0]
    opened = open_election_factory(questions=EVERY_KIND)
    visit = tour(f"booth-{language}", locale=locale)
    page = visit.page
    voter_session_cookie(page.context, visit.base_url, opened.voters[0].voter)
    visit.goto(f"/e/{opened.election.slug}/vote")
    visit.wait_step("credential")
    assert page.locator("html").get_attribute("lang") == language
    page.fill("#credential", "abc")
    assert page.locator("#credential-feedback").inner_text() == typed
    page.fill("#credential", opened.voters[0].code)
    page.click("#credential-submit")
    visit.wait_step("questions")
    assert page.locator("#q2-rules").inner_text() == choose_one
    assert spent in page.locator("#q4-status").inner_text()
    page.click("#questions-submit")
    assert choose_one in page.locator("#q2-error").inner_text()
    visit.check(f"questions in {language}")


def test_officials_dashboard(tour, tallied, admin_user) -> None:
    visit = tour("dashboard")
    page = visit.page
    admin_session_cookie(page.context, visit.base_url, admin_user)
    visit.goto(f"/admin/voting/election/{tallied.election.pk}/dashboard/")
    assert page.locator("#tally-progress").evaluate("p => p.value === p.max")
    assert "Tallied" in page.locator(".pnyx-dashboard").inner_text()
    visit.check("dashboard")
