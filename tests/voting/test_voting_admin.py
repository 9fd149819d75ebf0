"""Officials' admin: pages render, actions go through the services with confirmation pages and
clear errors, the roll import shows its report, the board is read-only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from board.models import BoardEntry
from crypto.note import SIG_COSIGNATURE_V1, NoteSigner
from identity.models import CredentialIssuance, Voter
from identity.services.credentials import (
    RollEntry,
    credentials_generate,
    public_credentials_file,
)
from tests.voting.factories import build_election, make_election
from voting.models import Election, ElectionState

pytestmark = pytest.mark.django_db


def action_url(election, action: str) -> str:
    return reverse("admin:voting_election_action", args=[election.pk, action])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_index_and_changelists_render(admin_client, open_election) -> None:
    for name in (
        "admin:index",
        "admin:voting_election_changelist",
        "admin:voting_election_add",
        "admin:board_boardentry_changelist",
        "admin:voting_auditevent_changelist",
        "admin:identity_voter_changelist",
        "admin:identity_publiccredential_changelist",
        "admin:identity_credentialissuance_changelist",
        "admin:identity_voter_import",
    ):
        assert admin_client.get(reverse(name)).status_code == 200, name


def test_create_an_election_with_questions(admin_client) -> None:
    now = timezone.now()
    data = {
        "title": "Spring assembly",
        "slug": "spring",
        "description": "",
        "opens_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
        "opens_at_1": "10:00:00",
        "closes_at_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"),
        "closes_at_1": "10:00:00",
        "questions-TOTAL_FORMS": "1",
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
        "questions-0-position": "1",
        "questions-0-kind": "referendum",
        "questions-0-title": "Build the new stoa?",
        "questions-0-blank_allowed": "on",
        "witness_quorum": "1",
        "witnesses-TOTAL_FORMS": "1",
        "witnesses-INITIAL_FORMS": "0",
        "witnesses-MIN_NUM_FORMS": "0",
        "witnesses-MAX_NUM_FORMS": "1000",
        "witnesses-0-position": "1",
        "witnesses-0-name": "news.example.org",
        "witnesses-0-key": "not a key",
        "witnesses-0-url": "https://witness.news.example.org/pnyx",
    }
    refused = admin_client.post(reverse("admin:voting_election_add"), data)
    assert (
        refused.status_code == 200 and "verifier key is name+keyid+key" in refused.content.decode()
    )
    data["witnesses-0-key"] = NoteSigner.generate(
        "news.example.org", SIG_COSIGNATURE_V1
    ).verifier.vkey
    response = admin_client.post(reverse("admin:voting_election_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    election = Election.objects.get(slug="spring")
    assert election.witness_quorum == 1
    assert election.witnesses.get().key == data["witnesses-0-key"]
    assert election.state == ElectionState.DRAFT
    assert election.questions.get().title == "Build the new stoa?"
    genesis = BoardEntry.objects.get(election=election)
    assert genesis.kind == "election" and genesis.seq == 0

    page = admin_client.get(reverse("admin:voting_election_change", args=[election.pk]))
    html = page.content.decode()
    assert action_url(election, "start-ceremony") in html
    assert reverse("admin:voting_election_board", args=[election.pk]) in html
    question = election.questions.get()
    assert (
        admin_client.get(reverse("admin:voting_question_change", args=[question.pk])).status_code
        == 200
    )


def test_start_ceremony_with_confirmation(admin_client) -> None:
    election = make_election()
    page = admin_client.get(action_url(election, "start-ceremony"))
    assert page.status_code == 200
    assert b"Yes, start the key ceremony" in page.content
    response = admin_client.post(action_url(election, "start-ceremony"))
    assert response.status_code == 302
    election.refresh_from_db()
    assert election.state == ElectionState.KEY_CEREMONY
    assert "The key ceremony has started." in messages_of(response)


def test_actions_that_are_not_allowed_say_why(admin_client) -> None:
    election = make_election(questions=[])
    page = admin_client.get(action_url(election, "open")).content.decode()
    assert "This is not possible now" in page
    assert "must be ready" in page and "credentials are not published" in page
    assert 'type="submit"' not in page.split('id="content-main"')[1]

    response = admin_client.post(action_url(election, "open"))
    assert response.status_code == 302
    assert any("Cannot open the election" in m for m in messages_of(response))
    response = admin_client.post(action_url(election, "start-ceremony"))
    assert any("no question" in m for m in messages_of(response))
    election.refresh_from_db()
    assert election.state == ElectionState.DRAFT


def test_open_and_close_from_the_admin(admin_client) -> None:
    election = build_election(open_it=False).election
    response = admin_client.post(action_url(election, "open"))
    assert "The election is open." in messages_of(response)
    election.refresh_from_db()
    assert election.state == ElectionState.OPEN and election.fingerprint
    admin_client.post(action_url(election, "close"))
    election.refresh_from_db()
    assert election.state == ElectionState.CLOSED


def test_the_election_is_read_only_after_the_draft(admin_client) -> None:
    election = build_election(open_it=False).election
    url = reverse("admin:voting_election_change", args=[election.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="title"' not in html
    admin_client.post(url, {"title": "Changed"})
    election.refresh_from_db()
    assert election.title == "Test election"
    question = election.questions.first()
    html = admin_client.get(
        reverse("admin:voting_question_change", args=[question.pk])
    ).content.decode()
    assert 'name="title"' not in html


def test_board_turnout_and_entries_are_read_only(admin_client, open_election) -> None:
    election = open_election.election
    board = admin_client.get(reverse("admin:voting_election_board", args=[election.pk]))
    html = board.content.decode()
    assert board.status_code == 200
    assert reverse("board:export", kwargs={"election_id": election.pk}) in html
    assert "credentials" in html
    filtered = admin_client.get(
        reverse("admin:voting_election_board", args=[election.pk]), {"kind": "state"}
    )
    assert filtered.content.decode().count('<tr class="board-entry">') == 3  # the state entries

    turnout = admin_client.get(reverse("admin:voting_election_turnout", args=[election.pk]))
    assert turnout.status_code == 200 and "0 / 3" in turnout.content.decode()

    entry = BoardEntry.objects.filter(election=election).first()
    url = reverse("admin:board_boardentry_change", args=[entry.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"board_key" in page.content
    assert admin_client.post(url, {"kind": "result"}).status_code == 403
    assert (
        admin_client.post(reverse("admin:board_boardentry_delete", args=[entry.pk])).status_code
        == 403
    )
    assert (
        admin_client.get(reverse("admin:voting_election_delete", args=[election.pk])).status_code
        == 403
    )


def test_send_credentials_action_starts_the_authority(
    admin_client, django_capture_on_commit_callbacks
) -> None:
    election = make_election()
    Voter.objects.create(election=election, identifier="a", email="a@example.org")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(action_url(election, "send-credentials"))
    assert len(callbacks) == 1
    assert any("Credential generation started" in m for m in messages_of(response))
    assert CredentialIssuance.objects.get(election=election).status == "pending"
    page = admin_client.get(action_url(election, "send-credentials")).content.decode()
    assert "being generated and sent already" in page


def test_upload_public_credentials(admin_client) -> None:
    election = make_election()
    Voter.objects.create(election=election, identifier="a", email="a@example.org", weight=2)
    url = reverse("admin:voting_election_credentials_upload", args=[election.pk])
    assert admin_client.get(url).status_code == 200

    _, public = credentials_generate(
        election_uuid=str(election.pk), roll=[RollEntry("a", "a@example.org", 1)]
    )
    wrong = public_credentials_file(election_uuid=str(election.pk), credentials=public)
    upload = SimpleUploadedFile("public.json", json.dumps(wrong).encode())
    page = admin_client.post(url, {"file": upload})
    assert page.status_code == 200 and "same weights" in page.content.decode()

    _, public = credentials_generate(
        election_uuid=str(election.pk), roll=[RollEntry("a", "a@example.org", 2)]
    )
    good = public_credentials_file(election_uuid=str(election.pk), credentials=public)
    response = admin_client.post(
        url, {"file": SimpleUploadedFile("p.json", json.dumps(good).encode())}
    )
    assert response.status_code == 302
    election.refresh_from_db()
    assert election.credentials_published


def test_roll_import_page_reports_and_imports(admin_client) -> None:
    election = make_election()
    url = reverse("admin:identity_voter_import")
    assert admin_client.get(url, {"election": election.pk}).status_code == 200

    bad = SimpleUploadedFile(
        "roll.csv", b"identifier,email\na,a@example.org\na,b@example.org\nc,nope\n"
    )
    page = admin_client.post(url, {"election": election.pk, "file": bad})
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 problems: nothing was imported." in html
    assert "duplicate identifier (also on line 2)" in html and "not a valid e-mail" in html
    assert not Voter.objects.filter(election=election).exists()

    good = SimpleUploadedFile("roll.csv", b"\xef\xbb\xbfa,a@example.org,3\nb,b@example.org\n")
    response = admin_client.post(url, {"election": election.pk, "file": good})
    assert response.status_code == 302
    assert Voter.objects.filter(election=election).count() == 2
    assert any("2 voters imported" in m for m in messages_of(response))
