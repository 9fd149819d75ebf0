"""The booth sends a ballot again when its answer was lost (issue 10, frontend/src/ui/retry.mjs),
in Chromium against the real server.

The network between the page and the server is cut twice, as Playwright routes it: the first
send never reaches the server (connection refused); the second reaches it — the ballot is
committed to the board — and its answer is dropped on the way back (the connection reset), as
when the web worker dies after the commit. The booth sends the same bytes a third time and shows
the receipt the server gives for the entry already on the board; the board holds the ballot once.
Before issue 10 the voter saw an error (and a second send got ``409 duplicate_ballot``).
"""

from __future__ import annotations

import json

import pytest

from board.models import BoardEntry
from tests.e2e.conftest import voter_session_cookie
from voting.models import Ballot
from voting.receipts import receipt_signature_valid

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECORD_STATUS = """
window.__statuses = [];
new MutationObserver(() => {
  const text = document.getElementById('booth-status')?.textContent ?? '';
  if (text && window.__statuses[window.__statuses.length - 1] !== text) window.__statuses.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_the_booth_sends_again_after_a_lost_answer_and_shows_the_receipt(
    tmp_path, tour, open_election_factory
) -> None:
    opened = open_election_factory()
    voter = opened.voters[0]
    election = opened.election
    visit = tour("booth-retry")
    page = visit.page
    page.context.add_init_script(RECORD_STATUS)
    voter_session_cookie(page.context, visit.base_url, voter.voter)

    sends: list[dict] = []

    def ballots(route) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        sends.append({"body": request.post_data})
        if len(sends) == 1:
            route.abort("connectionrefused")  # never reached the server
        elif len(sends) == 2:
            answer = route.fetch()  # the server commits the ballot…
            sends[-1]["status"] = answer.status
            route.abort("connectionreset")  # …and its answer is lost
        else:
            route.continue_()

    page.route(f"**/api/elections/{election.pk}/ballots/", ballots)

    visit.goto(f"/e/{election.slug}/vote")
    visit.wait_step("credential")
    page.fill("#credential", voter.code)
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.check("#q1o2")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    tracker = visit.text("#review-tracker").strip()
    page.click("#cast-button")
    visit.wait_step("receipt", timeout=40_000)

    assert len(sends) == 3
    assert sends[1]["status"] == 201  # committed, the voter never saw it
    assert sends[0]["body"] == sends[1]["body"] == sends[2]["body"]  # the very same bytes
    assert visit.text("#receipt-tracker") == tracker
    statuses = page.evaluate("window.__statuses")
    assert any("Sending your ballot again (try 2 of 8)" in s for s in statuses), statuses
    assert any("(try 3 of 8)" in s for s in statuses), statuses
    assert visit.text("#booth-status").strip() == ""

    entries = BoardEntry.objects.filter(election=election, kind="ballot")
    assert list(entries.values_list("tracker", flat=True)) == [tracker]
    assert Ballot.objects.filter(election=election).count() == 1
    with page.expect_download() as download:
        page.click("#receipt-download")
    receipt_file = tmp_path / "receipt.json"
    download.value.save_as(receipt_file)
    receipt = json.loads(receipt_file.read_text())
    entry = entries.get()
    assert (receipt["tracker"], receipt["seq"], receipt["entry_hash"]) == (
        tracker,
        entry.seq,
        entry.hash,
    )
    assert receipt_signature_valid(receipt)
    verdict = page.locator("#receipt-verdict")
    verdict.get_by_text("Checked in this browser: the server’s signature").wait_for()
    assert verdict.get_attribute("data-ok") == "true"
    visit.check("receipt after resending")
