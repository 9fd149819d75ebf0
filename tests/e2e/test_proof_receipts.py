"""Receipts that are proofs (protocol §14.6) checked in Chromium: the booth fetches the ballot's
proof of inclusion once a checkpoint covers it, checks it and offers it; the check page checks a
proof file — the entry in the tree, the latest checkpoint extending it — and blames a server that
hands a consistency proof that does not hold (altered in flight with Playwright's ``route``)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.test import Client

from board.tree import board_checkpoint
from tests.e2e.test_receipt_checks import to_review
from tests.voting.factories import login, post_json

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_booth_offers_a_checked_proof_of_inclusion(tour, open_election_factory) -> None:
    opened = open_election_factory(voters=1)
    visit = tour("proof-booth")
    page = visit.page
    to_review(visit, opened, opened.voters[0])
    page.click("#cast-button")
    visit.wait_step("receipt")
    proof = page.locator("#receipt-proof")
    proof.get_by_text("Waiting for the board").wait_for()
    board_checkpoint(election_id=opened.election.pk)  # what the beat task does every few seconds
    proof.get_by_text("Checked in this browser: your ballot is in the board").wait_for(
        timeout=30_000
    )
    with page.expect_download() as download:
        page.click("#receipt-proof-download")
    text = Path(download.value.path()).read_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\n")
    visit.check("proof of inclusion checked in the booth")


def test_the_check_page_checks_a_proof_file_and_blames_a_bad_consistency_proof(
    tour, open_election_factory, tmp_path: Path
) -> None:
    opened = open_election_factory(voters=2)
    response = post_json(
        login(Client(), opened.voters[0]), f"{opened.url}/ballots/", opened.ballot(0).to_json()
    )
    seq = response.json()["seq"]
    board_checkpoint(election_id=opened.election.pk)
    proof = Client().get(f"/api/elections/{opened.election.pk}/board/proof/{seq}")
    assert proof.status_code == 200
    path = tmp_path / "proof.txt"
    path.write_bytes(proof.content)
    # the board grows: the latest checkpoint is larger than the receipt's
    post_json(
        login(Client(), opened.voters[1]), f"{opened.url}/ballots/", opened.ballot(1).to_json()
    )
    board_checkpoint(election_id=opened.election.pk)

    visit = tour("proof-check")
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/check")
    result = page.locator("#receipt-result")
    page.set_input_files("#receipt-file", str(path))
    result.get_by_text("This receipt proves, in your browser").wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert "extends it" in result.inner_text()
    visit.check("proof file checked")

    def lie(route) -> None:
        answer = route.fetch().json()
        answer["proof"] = [base64.b64encode(bytes(32)).decode()] * max(1, len(answer["proof"]))
        route.fulfill(json=answer)

    page.route("**/board/proof/consistency*", lie)
    again = tmp_path / "proof-again.txt"  # another file: the input's change event fires
    again.write_bytes(proof.content)
    page.set_input_files("#receipt-file", str(again))
    result.get_by_text("This receipt does not check out").wait_for()
    assert result.get_attribute("data-ok") == "false"
    visit.check("a lying consistency proof is blamed")
