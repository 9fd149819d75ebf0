"""Residents' pages: the process and its timeline, the e-mail code login, proposals (submit,
edit until the phase ends, status), the public list with filters and search."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from board.models import RecordEntry
from crypto.hashing import parse_json
from participation.models import Phase, Proposal, ResidentLoginCode
from participation.services import proposal_submit
from tests.participation.conftest import login, phase_set, process_make, resident_of

pytestmark = pytest.mark.django_db


def record_payloads(process, kind):
    return [
        parse_json(line)["payload"]
        for line in RecordEntry.objects.filter(log_id=process.record_id, kind=kind)
        .order_by("seq")
        .values_list("line", flat=True)
    ]


def submit(client, process, **fields):
    data = {
        "title": "A bench by the river",
        "description": "Three benches along the north bank.",
        "cost": "1200",
        "category": str(process.categories.get(name="Parks").pk),
        **fields,
    }
    return client.post(f"/p/{process.slug}/proposals/new", data)


def test_the_process_page_shows_the_timeline_and_rules(client, process) -> None:
    page = client.get(f"/p/{process.slug}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert process.title in html and "North" in html and "100000 EUR" in html
    assert html.count('<li class="timeline-') == 7
    assert 'class="timeline-current" aria-current="step"' in html
    assert "<script" not in html and "style=" not in html
    assert "script-src 'self'" in page["Content-Security-Policy"] or page["Content-Security-Policy"]


def test_the_pages_speak_french(client, process) -> None:
    page = client.get(f"/p/{process.slug}/", HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert 'lang="fr"' in html
    assert "Calendrier" in html and "Propositions" in html and "Quartiers et budgets" in html
    assert (
        "Le registre public" in html
        and "Chaque habitant peut soutenir jusqu’à 2 propositions" in html
    )


def test_an_unpublished_or_unknown_process_is_not_found(client) -> None:
    hidden = process_make(publish=False)
    assert client.get(f"/p/{hidden.slug}/").status_code == 404
    assert client.get("/p/nothing-here/").status_code == 404
    assert client.get(f"/p/{hidden.slug}/proposals/").status_code == 404


def test_a_resident_logs_in_with_a_code(
    client, process, django_capture_on_commit_callbacks
) -> None:
    login(client, process, "R1@example.org", django_capture_on_commit_callbacks)
    page = client.get(f"/p/{process.slug}/")
    assert "Log out (r1)" in page.content.decode()
    # the code is spent
    assert ResidentLoginCode.objects.get(resident__identifier="r1").used_at is not None
    client.post(f"/p/{process.slug}/logout")
    assert "Log out" not in client.get(f"/p/{process.slug}/").content.decode()


def test_the_login_says_the_same_for_anyone(
    client, process, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/p/{process.slug}/login", {"email": "nobody@example.org"})
    assert response.status_code == 302 and not mail.outbox
    page = client.get(response["Location"])
    assert "If you are on the process" in page.content.decode()
    bad = client.post(
        f"/p/{process.slug}/login/code", {"email": "nobody@example.org", "code": "12345678"}
    )
    assert bad.status_code == 400
    assert "wrong, expired or already used" in bad.content.decode()


def test_a_wrong_code_is_refused(client, process, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/p/{process.slug}/login", {"email": "r0@example.org"})
    code = re.search(r"\n    (\d{8})\n", mail.outbox[-1].body).group(1)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    response = client.post(
        f"/p/{process.slug}/login/code", {"email": "r0@example.org", "code": wrong}
    )
    assert response.status_code == 400
    assert "Log out" not in client.get(f"/p/{process.slug}/").content.decode()


def test_a_login_of_one_process_is_not_a_login_of_another(
    client, process, django_capture_on_commit_callbacks
) -> None:
    other = process_make()
    login(client, process, "r0@example.org", django_capture_on_commit_callbacks)
    assert client.get(f"/p/{other.slug}/proposals/new").status_code == 302
    # a resident of the other process with the same address gets no code for this one's roll
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/p/{other.slug}/login", {"email": "r0@example.org"})
    assert "Budget" in mail.outbox[-1].body and other.title in mail.outbox[-1].body


def test_malformed_login_input_is_a_clear_400(client, process) -> None:
    assert client.post(f"/p/{process.slug}/login", {"email": "not an address"}).status_code == 400
    assert (
        client.post(f"/p/{process.slug}/login/code", {"email": "r0@example.org"}).status_code == 400
    )


def test_a_resident_submits_a_proposal_for_their_district(resident_client, process) -> None:
    response = submit(resident_client, process)
    assert response.status_code == 302
    proposal = Proposal.objects.get(process=process)
    assert response["Location"] == f"/p/{process.slug}/proposals/{proposal.number}/"
    assert proposal.district.slug == "north" and proposal.author.identifier == "r0"
    assert (proposal.number, proposal.version, proposal.status) == (1, 1, "published")
    page = resident_client.get(response["Location"]).content.decode()
    assert "A bench by the river" in page and "Published" in page and "Edit your proposal" in page
    (entry,) = record_payloads(process, "proposal")
    assert entry == {
        "number": 1,
        "version": 1,
        "district": "north",
        "category": "Parks",
        "title": "A bench by the river",
        "description": "Three benches along the north bank.",
        "cost": 1200,
        "images": [],
    }


def test_submitting_needs_a_login(client, process) -> None:
    response = submit(client, process)
    assert response.status_code == 302 and response["Location"] == f"/p/{process.slug}/login"
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "This field is required"),
        ({"title": "x" * 201}, "at most 200 characters"),
        ({"description": ""}, "This field is required"),
        ({"cost": "0"}, "greater than or equal to 1"),
        ({"cost": "50001"}, "less than or equal to 50000"),
        ({"cost": "12.5"}, "Enter a whole number"),
        ({"cost": "-3"}, "greater than or equal to 1"),
        ({"category": "999999"}, "Select a valid choice"),
        ({"category": "parks"}, "Select a valid choice"),
    ],
)
def test_a_bad_proposal_is_refused_and_nothing_is_recorded(
    resident_client, process, fields, message
) -> None:
    before = RecordEntry.objects.count()
    response = submit(resident_client, process, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Proposal.objects.exists() and RecordEntry.objects.count() == before


def test_a_category_of_another_process_is_refused_by_the_service(process) -> None:
    other = process_make()
    from participation.errors import InvalidProposal

    with pytest.raises(InvalidProposal):
        proposal_submit(
            resident=resident_of(process, "r0"),
            title="T",
            description="D",
            cost=10,
            category_id=other.categories.first().pk,
        )
    with pytest.raises(InvalidProposal):
        proposal_submit(
            resident=resident_of(process, "r0"),
            title="T",
            description="D",
            cost=True,
            category_id=process.categories.first().pk,
        )
    assert not Proposal.objects.exists()


def test_proposals_are_submitted_only_in_their_phase(resident_client, process) -> None:
    phase_set(process, Phase.SUPPORTS)
    response = submit(resident_client, process)
    assert response.status_code == 409
    assert "proposals phase" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_author_edits_until_the_phase_ends(
    resident_client, process, django_capture_on_commit_callbacks
) -> None:
    submit(resident_client, process)
    url = f"/p/{process.slug}/proposals/1/edit"
    assert resident_client.get(url).status_code == 200
    data = {
        "title": "Four benches by the river",
        "description": "Four benches.",
        "cost": "1500",
        "category": str(process.categories.get(name="Streets").pk),
    }
    assert resident_client.post(url, data).status_code == 302
    proposal = Proposal.objects.get()
    assert (proposal.version, proposal.title, proposal.cost) == (
        2,
        "Four benches by the river",
        1500,
    )
    versions = record_payloads(process, "proposal")
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["category"] == "Streets"
    # the same content again is not a new version
    assert resident_client.post(url, data).status_code == 400
    # another resident may not edit it
    from django.test import Client

    other = Client()
    login(other, process, "r1@example.org", django_capture_on_commit_callbacks)
    assert other.post(url, {**data, "title": "Mine"}).status_code == 403
    # after the phase, not even the author
    phase_set(process, Phase.SUPPORTS)
    assert resident_client.post(url, {**data, "title": "Late"}).status_code == 409
    assert Proposal.objects.get().title == "Four benches by the river"
    assert len(record_payloads(process, "proposal")) == 2


def test_the_public_list_filters_and_searches(client, process) -> None:
    parks, streets = process.categories.get(name="Parks"), process.categories.get(name="Streets")
    for identifier, title, category in (
        ("r0", "Benches in the park", parks),
        ("r1", "Cycle lane", streets),
        ("r3", "Trees on the south square", parks),
    ):
        proposal_submit(
            resident=resident_of(process, identifier),
            title=title,
            description=f"About {title.lower()}.",
            cost=100,
            category_id=category.pk,
        )

    def titles(**params):
        page = client.get(f"/p/{process.slug}/proposals/", params)
        assert page.status_code == 200
        return re.findall(r'/proposals/\d+/">([^<]+)</a>', page.content.decode())

    assert titles() == ["Benches in the park", "Cycle lane", "Trees on the south square"]
    assert titles(district="south") == ["Trees on the south square"]
    assert titles(category=str(streets.pk)) == ["Cycle lane"]
    assert titles(q="TREES") == ["Trees on the south square"]
    assert titles(q="about benches") == ["Benches in the park"]
    assert titles(status="published", district="north", category=str(parks.pk)) == [
        "Benches in the park"
    ]
    # unknown or hostile filter values match nothing and are never an error
    for params in ({"status": "nope"}, {"category": "x' OR 1=1"}, {"district": "zz"}, {"q": "%"}):
        assert titles(**params) == []
    # a NUL character is refused before any view (config.middleware): a clear 400
    assert client.get(f"/p/{process.slug}/proposals/", {"q": "\x00"}).status_code == 400
    assert client.get(f"/p/{process.slug}/proposals/99/").status_code == 404


def test_every_residents_page_is_translated(client, resident_client, process) -> None:
    """The French pages carry no English sentence of the process pages (a sample of each)."""
    submit(resident_client, process)
    english = (
        "Submit a proposal",
        "Edit your proposal",
        "Comments",
        "The public record",
        "Timeline",
    )
    for path in ("/", "/proposals/", "/proposals/1/", "/proposals/new", "/record", "/login"):
        page = resident_client.get(f"/p/{process.slug}{path}", HTTP_ACCEPT_LANGUAGE="fr")
        assert page.status_code == 200, path
        html = page.content.decode()
        assert 'lang="fr"' in html
        assert not [s for s in english if f">{s}<" in html], path


def test_form_hints_and_errors_are_tied_to_their_fields(resident_client, process) -> None:
    """Accessible forms: each field has its label; the cost's hint is its description; a field
    with an error says so (aria-invalid)."""
    html = submit(resident_client, process, cost="0").content.decode()
    for name in ("title", "description", "cost", "category"):
        assert f'<label for="id_{name}">' in html
    assert 'id="id_cost_helptext"' in html and 'id="id_cost_error"' in html
    cost_input = re.search(r'<input[^>]*name="cost"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in cost_input
    assert 'aria-describedby="id_cost_helptext id_cost_error"' in cost_input


@pytest.mark.parametrize("number", ["0", "2147483648", "99999999999999999999999999"])
def test_out_of_range_numbers_are_not_found(resident_client, process, number) -> None:
    submit(resident_client, process)
    base = f"/p/{process.slug}/proposals"
    assert resident_client.get(f"{base}/{number}/").status_code == 404
    assert resident_client.post(f"{base}/{number}/support").status_code == 404
    flag = resident_client.post(f"{base}/1/comments/{number}/flag")
    assert flag.status_code == 400
    remove = resident_client.post(f"{base}/1/images/{number}/remove")
    assert remove.status_code == 400
