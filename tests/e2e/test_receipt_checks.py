"""The booth and the check page verify the receipt's Ed25519 signature in the browser, with the
board key of the election's genesis entry (fetched through the public board API and compared with
/api/board-key), and say so; a receipt that fails is shown as the server's fault with the evidence
to download. The server's answers are altered in flight with Playwright's ``route`` (a forged
signature, another board key) — the server itself stays honest.

Also the booth's sentences for the rules of issue 9 §3: a credential that is not the voter's, and
revotes past the hourly limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from board.models import BoardEntry
from crypto.credentials import format_code
from tests.e2e.conftest import voter_session_cookie
from tests.voting.factories import login, post_json
from voting.receipts import receipt_message, receipt_signature_valid

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OTHER_KEY = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


def flip(signature: str) -> str:
    """The signature with one bit of its S changed."""
    raw = bytearray(bytes.fromhex(signature))
    raw[40] ^= 0x01
    return raw.hex()


def to_review(visit, opened, voter, choice: str = "#q1o2") -> None:
    """From the booth's start to the review step, logged in, credential from the link."""
    page = visit.page
    voter_session_cookie(page.context, visit.base_url, voter.voter)
    visit.goto(f"/e/{opened.election.slug}/vote#credential={format_code(voter.code)}")
    visit.wait_step("credential")
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.check(choice)
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")


def download_json(page, selector: str) -> dict:
    with page.expect_download() as download:
        page.click(selector)
    return json.loads(Path(download.value.path()).read_text())


def test_the_booth_checks_the_receipt_and_blames_a_forged_one(tour, open_election_factory) -> None:
    opened = open_election_factory(voters=2)
    genesis = json.loads(BoardEntry.objects.get(election=opened.election, seq=0).line)
    board_key = genesis["payload"]["board_key"]

    # An honest receipt: checked, and said so.
    visit = tour("receipt-good")
    page = visit.page
    to_review(visit, opened, opened.voters[0])
    page.click("#cast-button")
    visit.wait_step("receipt")
    verdict = page.locator("#receipt-verdict")
    verdict.get_by_text("Checked in this browser").wait_for()
    assert verdict.get_attribute("data-ok") == "true"
    assert board_key[:16] in verdict.inner_text()
    assert verdict.locator("a").count() == 0  # no evidence to offer
    visit.check("receipt checked in the browser")

    # A forged signature: the ballot is cast, the receipt the page gets is not the server's.
    visit = tour("receipt-forged")
    page = visit.page
    forged = {}

    def forge(route) -> None:
        response = route.fetch()
        receipt = response.json()
        forged.update(receipt, signature=flip(receipt["signature"]))
        route.fulfill(response=response, json=forged)

    page.route("**/ballots/", forge)
    to_review(visit, opened, opened.voters[1])
    page.click("#cast-button")
    visit.wait_step("receipt")
    verdict = page.locator("#receipt-verdict")
    verdict.get_by_text("The server is at fault").wait_for()
    assert verdict.get_attribute("data-ok") == "false"
    text = verdict.inner_text()
    assert "Your ballot was sent, but the receipt the server gave for it does not check out" in text
    assert "does not verify with the board key of this election’s first board entry" in text
    assert not receipt_signature_valid(forged)
    visit.check("forged receipt blamed on the server")

    evidence = download_json(page, "#receipt-verdict a")
    assert evidence["kind"] == "pnyx-receipt-evidence"
    assert [f["code"] for f in evidence["failures"]] == ["signature_invalid"]
    assert evidence["receipt"] == forged
    assert evidence["genesis_entry"] == genesis
    assert evidence["board_key_from_genesis"] == board_key
    assert evidence["board_key_api"]["public_key"] == board_key
    assert evidence["expected"]["tracker"] == forged["tracker"]
    assert evidence["signed_message_hex"] == receipt_message(forged).hex()
    assert "#" not in evidence["page"] and "credential" not in json.dumps(evidence["page"])


def test_a_board_key_that_differs_from_the_genesis_entry_is_shown(
    tour, open_election_factory
) -> None:
    """/api/board-key alone is not trusted: the server announcing another key than its genesis
    entry's is shown, even on an audit whose receipt is otherwise good."""
    opened = open_election_factory(voters=1)
    visit = tour("board-key-mismatch")
    page = visit.page
    page.route(
        "**/api/board-key",
        lambda route: route.fulfill(
            json={**route.fetch().json(), "public_key": OTHER_KEY},
        ),
    )
    to_review(visit, opened, opened.voters[0])
    page.click("#audit-button")
    visit.wait_step("audit")
    verdict = page.locator("#audit-receipt-verdict")
    verdict.get_by_text("The server is at fault").wait_for()
    assert "announces a board key that differs" in verdict.inner_text()
    assert "audited ballot does not check out" in verdict.inner_text()
    evidence = download_json(page, "#audit-receipt-verdict a")
    assert [f["code"] for f in evidence["failures"]] == ["board_key_mismatch"]
    assert evidence["board_key_api"]["public_key"] == OTHER_KEY
    assert receipt_signature_valid(evidence["receipt"])
    visit.check("board key mismatch")


def test_the_check_page_verifies_a_receipt_file_in_the_browser(
    tour, open_election_factory, tmp_path: Path
) -> None:
    opened = open_election_factory(voters=1)
    client = login(Client(), opened.voters[0])
    response = post_json(client, f"{opened.url}/ballots/", opened.ballot(0).to_json())
    receipt = response.json()
    good, forged = tmp_path / "receipt.json", tmp_path / "forged.json"
    good.write_text(json.dumps(receipt))
    forged.write_text(json.dumps({**receipt, "signature": flip(receipt["signature"])}))

    visit = tour("check-receipt")
    page = visit.page
    visit.goto(f"/e/{opened.election.slug}/check")
    result = page.locator("#receipt-result")
    page.set_input_files("#receipt-file", str(good))
    result.get_by_text("it is the one that counts").wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert "Checked in this browser" in result.inner_text()
    visit.check("good receipt file")

    # The server is never asked about a receipt whose signature fails here.
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "receipts/verify" in r.url else None)
    page.set_input_files("#receipt-file", str(forged))
    result.get_by_text("The server is at fault").wait_for()
    assert result.get_attribute("data-ok") == "false"
    assert "If this file is the receipt the booth gave you, unchanged" in result.inner_text()
    evidence = download_json(page, "#receipt-result a")
    assert [f["code"] for f in evidence["failures"]] == ["signature_invalid"]
    assert evidence["receipt"]["signature"] == flip(receipt["signature"])
    assert asked == []
    visit.check("forged receipt file")

    # A server that disowns its own good signature is caught too.
    page.route(
        "**/receipts/verify/",
        lambda route: route.fulfill(json={**route.fetch().json(), "signature_valid": False}),
    )
    page.set_input_files("#receipt-file", str(tmp_path / "receipt.json"))
    result.get_by_text("says that its own signature on this receipt is not valid").wait_for()
    evidence = download_json(page, "#receipt-result a")
    assert [f["code"] for f in evidence["failures"]] == ["server_denies"]
    visit.check("server disowns its signature")


def test_the_booth_explains_a_credential_that_is_not_the_voters(
    tour, open_election_factory, settings
) -> None:
    settings.PNYX_REVOTES_PER_VOTER_PER_HOUR = 0
    opened = open_election_factory(voters=2)
    dave, bob = opened.voters
    visit = tour("binding")
    page = visit.page
    to_review(visit, opened, dave)
    page.click("#cast-button")
    visit.wait_step("receipt")

    # A revote past the limit: the sentence says when voting works again.
    page.click("#vote-again")
    visit.wait_step("questions")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    page.click("#cast-button")
    error = page.locator("#step-review .step-error")
    error.get_by_text("You have changed your vote many times in a short while").wait_for()
    assert "You can vote again in" in error.inner_text()
    visit.check("revote limit")

    # Dave types Bob's credential: back to the credential step, with the reason.
    page.click("#change-button")
    visit.wait_step("questions")
    page.click("#questions-back")
    visit.wait_step("credential")
    page.fill("#credential", format_code(bob.code))
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    page.click("#cast-button")
    visit.wait_step("credential")
    message = visit.text("#step-credential .step-error")
    assert message.startswith("You cast your first ballot in this election with another")
    visit.check("credential of another voter")
