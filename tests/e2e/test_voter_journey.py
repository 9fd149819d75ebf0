"""The voter's whole journey in Chromium, against the live server and a real Celery worker:
election page → booth (credential from the e-mailed link's fragment) → login by e-mailed code →
answers with live validation → encrypt → audit (checked in Python: the posted randomness opens the
posted ballot to the voter's choices) → encrypt afresh → cast (the posted ballot verifies in
Python) → receipt (downloaded, its signature checked here and in the page) → the tracker on the board and on "check my
ballot" → revote, which supersedes → the official closes the election from the admin dashboard →
the Celery worker publishes the encrypted tally, the dashboard waits for the trustees → two of the
three trustees (real key ceremony, offline, their own key stores) upload partial decryptions → the
result task → results page → the exported board passes pnyx-verify. Every step is screenshotted
and audited by axe-core under the app's strict CSP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from board.models import BoardEntry
from crypto.ballot import Ballot, BallotSecrets, ballot_audit, ballot_verify
from crypto.credentials import format_code
from tests.e2e.conftest import admin_session_cookie, funded_shown, login_code, results_shown
from tests.tally.helpers import expected_counts
from tests.voting.factories import EVERY_KIND, login, post_json
from verifier.cli import main as pnyx_verify
from voting.receipts import receipt_signature_valid

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

FIRST = {"q1o1", "q2o2", "q3o1", "q3o3", "q4o2", "q4o4"}  # yes · Ben · F1 F3 · P2 P4 (65)
FIRST_CHOICES = [[1, 0], [0, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]]
REVOTE = {"q1-blank", "q2o3", "q3o2", "q4o1", "q4o3"}  # blank · Cy · F2 · P1 P3 (75)
REVOTE_CHOICES = [[0, 0], [0, 0, 1], [0, 1, 0, 0], [1, 0, 1, 0]]
OTHER_CHOICES = [[0, 1], [1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]


def answer(tour, picks: set[str]) -> None:
    page = tour.page
    for box in page.locator("#questions-form input[type=checkbox]").all():
        box.uncheck()
    for option in sorted(picks):
        page.check(f"#{option}")


def test_vote_audit_cast_revote_and_verify(
    tour,
    live_server,
    celery_worker_real,
    trustee_election_factory,
    admin_user,
    tmp_path: Path,
    capsys,
) -> None:
    opened = trustee_election_factory(questions=EVERY_KIND, weights=[1, 1])
    election = opened.election
    voter = opened.voters[0]
    spec = opened.spec
    slug = election.slug
    visit = tour("journey")
    page = visit.page

    # --- The election page, then the booth through the e-mailed link --------------------------
    visit.goto(f"/e/{slug}/")
    assert page.get_by_role("heading", level=1).inner_text() == election.title
    visit.check("election page")
    link = f"/e/{slug}/vote#credential={format_code(voter.code)}"
    visit.goto(link)
    visit.wait_step("login")
    # The fragment was read and removed from the address bar (it never reaches the server).
    assert "#" not in page.url and page.url.endswith(f"/e/{slug}/vote")
    assert page.evaluate("location.hash") == ""
    visit.check("login")

    # --- Login with the code the Celery worker e-mails ------------------------------------------
    page.fill("#login-email", voter.voter.email)
    page.click("#login-request-button")
    page.locator("#login-code").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "login-code"
    visit.check("login code sent")
    code = login_code(voter.voter.email)
    assert any(voter.voter.email in m.to for m in mail.outbox)
    page.fill("#login-code", code)
    page.click("#login-verify-button")

    # --- The credential, filled in from the link ------------------------------------------------
    visit.wait_step("credential")
    assert page.input_value("#credential") == format_code(voter.code)
    assert page.locator("#credential-from-link").is_visible()
    assert "well formed" in visit.text("#credential-feedback")
    assert page.evaluate("document.activeElement.id") == "credential-heading"
    visit.check("credential")
    page.click("#credential-form button[type=submit]")

    # --- Answers, with live validation ----------------------------------------------------------
    visit.wait_step("questions")
    page.check("#q3o1")
    page.check("#q3o2")
    page.check("#q3o3")
    assert "Too many choices: choose at most 2." in visit.text("#q3-error")
    page.check("#q4o1")
    page.check("#q4o4")
    page.check("#q4o2")
    assert "Over budget by 25" in visit.text("#q4-error")
    page.click("#questions-form button[type=submit]")
    assert page.locator("#questions-errors").is_visible()
    assert page.evaluate("document.activeElement.id") == "questions-errors"
    visit.check("answers with errors")
    answer(visit, FIRST)
    assert visit.text("#q4-status") == "2 chosen. Spent 65 of 100; 35 left."
    assert page.locator("#q3-error").is_hidden() and page.locator("#q4-error").is_hidden()
    visit.check("answers")
    page.click("#questions-form button[type=submit]")

    # --- Encrypted: review, then audit --------------------------------------------------------
    visit.wait_step("review")
    audited_tracker = visit.text("#review-tracker")
    assert len(audited_tracker) == 64
    assert page.locator("#encrypt-progress").evaluate("p => p.value === p.max && p.max > 1")
    visit.check("review")
    with page.expect_request(lambda r: r.url.endswith("/audits/") and r.method == "POST") as sent:
        page.click("#audit-button")
    visit.wait_step("audit")
    posted = sent.value.post_data_json
    audited = Ballot.from_json(posted["ballot"])
    ballot_verify(audited, spec)
    assert audited.tracker() == audited_tracker
    # The revealed randomness reproduces every ciphertext and opens them to the choices.
    assert ballot_audit(audited, spec, BallotSecrets.from_json(posted["randomness"])) == (
        FIRST_CHOICES
    )
    entry = BoardEntry.objects.get(election=election, tracker=audited_tracker)
    assert entry.kind == "audit"
    assert page.locator("#audit-verdict").get_attribute("data-ok") == "true"
    assert "contains exactly your choices" in visit.text("#audit-verdict")
    rows = page.locator("#audit-rows tr").all_inner_texts()
    assert rows[1].split("\t") == ["Chair", "Ben", "Ben", "Ben"]
    assert rows[3].split("\t")[1:] == ["P2, P4"] * 3
    with page.expect_download() as download:
        page.click("#audit-download")
    audit_file = json.loads(Path(download.value.path()).read_text())
    assert audit_file["tracker"] == audited_tracker
    assert audit_file["plaintexts"] == FIRST_CHOICES
    assert audit_file["receipt"]["kind"] == "audit" and audit_file["receipt"]["seq"] == entry.seq
    assert receipt_signature_valid(audit_file["receipt"])
    verdict = page.locator("#audit-receipt-verdict")
    verdict.get_by_text("Checked in this browser: the server’s signature").wait_for()
    assert verdict.get_attribute("data-ok") == "true"
    visit.check("audit")

    # --- Encrypted afresh, then cast --------------------------------------------------------------
    page.click("#audit-again")
    visit.wait_step("review")
    tracker = visit.text("#review-tracker")
    assert tracker != audited_tracker  # fresh randomness
    with page.expect_request(lambda r: r.url.endswith("/ballots/") and r.method == "POST") as sent:
        page.click("#cast-button")
    visit.wait_step("receipt")
    cast = Ballot.from_json(sent.value.post_data_json)
    ballot_verify(cast, spec)  # the browser's ballot passes the Python verifier
    assert cast.tracker() == tracker == visit.text("#receipt-tracker")
    with page.expect_download() as download:
        page.click("#receipt-download")
    receipt_file = tmp_path / "receipt.json"
    download.value.save_as(receipt_file)
    receipt = json.loads(receipt_file.read_text())
    assert receipt["tracker"] == tracker and receipt["kind"] == "ballot"
    assert receipt_signature_valid(receipt)
    assert visit.text("#receipt-seq") == str(receipt["seq"])
    assert visit.text("#receipt-signature") == receipt["signature"]
    verdict = page.locator("#receipt-verdict")
    verdict.get_by_text("Checked in this browser: the server’s signature").wait_for()
    assert verdict.get_attribute("data-ok") == "true"
    assert "your new ballot replaces this one" in visit.text("#step-receipt")
    visit.check("receipt")

    # --- The tracker on "check my ballot" and on the board ----------------------------------------
    page.click("#receipt-check")
    page.wait_for_url(lambda url: url.endswith(f"/e/{slug}/check?tracker={tracker}"))
    assert "Your ballot is on the board" in visit.text("#tracker-result")
    assert "it is the one that counts" in visit.text("#tracker-result")
    visit.check("check my ballot")
    # The downloaded receipt, checked on the same page; then a doctored one.
    result = page.locator("#receipt-result")
    page.set_input_files("#receipt-file", str(receipt_file))
    result.get_by_text("The receipt is genuine and its ballot is on the board: it is").wait_for()
    assert result.get_attribute("data-ok") == "true"
    doctored = tmp_path / "doctored.json"
    doctored.write_text(json.dumps({**receipt, "seq": receipt["seq"] + 1}))
    page.set_input_files("#receipt-file", str(doctored))
    result.get_by_text("The server is at fault").wait_for()
    assert "does not verify with the board key" in result.inner_text()
    assert result.get_attribute("data-ok") == "false"
    visit.check("receipt checked")
    visit.goto(f"/e/{slug}/board")
    page.fill("#board-tracker", tracker)
    page.click(".search-form button")
    page.wait_for_url(f"**/e/{slug}/board/{receipt['seq']}")
    assert tracker in visit.text("main")
    visit.check("board entry")
    visit.goto(f"/e/{slug}/board?kind=ballot")
    assert tracker in visit.text(".board-table")
    visit.check("board")

    # --- Another voter votes (through the API), then the first one revotes -----------------------
    other = login(Client(), opened.voters[1])
    ballot = opened.ballot(1, OTHER_CHOICES)
    assert post_json(other, f"{opened.url}/ballots/", ballot.to_json()).status_code == 201
    visit.goto(f"/e/{slug}/vote")  # no fragment now: the credential is typed
    visit.wait_step("credential")
    assert page.locator("#already-voted").is_visible()
    page.fill("#credential", voter.code.lower())
    page.click("#credential-form button[type=submit]")
    visit.wait_step("questions")
    answer(visit, REVOTE)
    assert visit.text("#q1-status") == "No choice yet: this is a blank vote."
    page.click("#questions-form button[type=submit]")
    visit.wait_step("review")
    revote_tracker = visit.text("#review-tracker")
    page.click("#cast-button")
    visit.wait_step("receipt")
    assert visit.text("#receipt-tracker") == revote_tracker
    visit.check("revote receipt")
    visit.goto(f"/e/{slug}/check?tracker={tracker}")
    replaced = "A later ballot with the same credential replaced this one"
    assert replaced in visit.text("#tracker-result")
    page.set_input_files("#receipt-file", str(receipt_file))
    page.locator("#receipt-result").get_by_text("a later ballot with the same").wait_for()
    visit.check("superseded ballot")

    # --- The official closes the election from the dashboard; the tally runs ------------------
    official = tour("official")
    admin_page = official.page
    admin_session_cookie(admin_page.context, official.base_url, admin_user)
    dashboard = f"/admin/voting/election/{election.pk}/dashboard/"
    official.goto(dashboard)
    assert "Open" in official.text("#dash-state + p")
    official.check("dashboard open")
    admin_page.get_by_role("link", name="Close the election").click()
    official.check("close confirmation")
    admin_page.get_by_role("button", name="Yes, close the election").click()
    assert "The election is closed" in official.text(".messagelist")
    opened.wait_until_tallying()  # the worker added the ballots up and published the tally
    official.goto(dashboard)
    assert "Waiting for trustees" in official.text("#tally-waiting")
    progress = admin_page.locator("#tally-progress")
    assert progress.evaluate("p => 0 < p.value && p.value < p.max")
    official.check("dashboard waiting for trustees")
    opened.decrypt(trustees=(1, 3))  # two of the three trustees, offline
    opened.wait_for_result()
    official.goto(dashboard)
    assert progress.evaluate("p => p.value === p.max")
    assert "Tallied" in official.text("#dash-state + p")
    official.check("dashboard tallied")

    # --- The result, and the whole board through pnyx-verify -----------------------------------
    result = opened.result()
    assert result["counts"] == expected_counts(
        opened.ce.manifest, {0: (1, REVOTE_CHOICES), 1: (1, OTHER_CHOICES)}
    )
    assert result["trustees"] == [1, 3]
    visit.goto(f"/e/{slug}/results")
    assert "2 ballots counted" in visit.text("main")
    assert results_shown(page) == result["counts"]
    titles = {
        o["id"]: o["title"] for q in opened.ce.manifest.data["questions"] for o in q["options"]
    }
    assert funded_shown(page) == [titles[i] for i in result["funded"][3]]
    result_entry = BoardEntry.objects.get(election=election, kind="result")
    assert result_entry.hash in visit.text(".verified-by")
    visit.check("results")
    visit.goto(f"/e/{slug}/board")
    with page.expect_download() as download:
        page.click("a[href$='board.jsonl']")
    board_file = tmp_path / "board.jsonl"
    download.value.save_as(board_file)
    capsys.readouterr()
    assert pnyx_verify([str(board_file), "--json", "--jobs", "1", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] and report["result_verified"] and report["tally_verified"]
    assert (report["ballots"], report["counted"], report["superseded"]) == (3, 2, 1)
    assert [a["tracker"] for a in report["audits"]] == [audited_tracker]
    assert report["head"]["seq"] == BoardEntry.objects.filter(election=election).count() - 1
