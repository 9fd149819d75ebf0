"""The election's public pages and the officials' dashboard, rendered by the Django test client:
what each page says in each state, and that none carries an inline script or style."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crypto.hashing import digest_json
from tests.voting.factories import EVERY_KIND, SINGLE5, login, make_election, post_json
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db

#: for the tests whose election is tallied through the tally app: its Celery tasks run by a real
#: worker, which sees only committed data
committed = pytest.mark.django_db(transaction=True)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def assert_no_inline_code(html: str) -> None:
    # JSON data blocks would be allowed by the CSP, but the pages need none either.
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers


def page(client: Client, name: str, election, **kwargs) -> str:
    response = client.get(reverse(f"pages:{name}", kwargs={"slug": election.slug, **kwargs}))
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert_no_inline_code(html)
    return html


def cast(opened, voter: int, choices) -> str:
    client = login(Client(), opened.voters[voter])
    ballot = opened.ballot(voter, choices)
    response = post_json(client, f"{opened.url}/ballots/", ballot.to_json())
    assert response.status_code == 201, response.content
    return ballot.tracker()


def test_drafts_have_no_public_pages(client) -> None:
    election = make_election()
    for name in ("election", "booth", "check", "board", "results"):
        url = reverse(f"pages:{name}", kwargs={"slug": election.slug})
        assert client.get(url).status_code == 404, name


def test_election_page_of_an_open_election(client, open_election_factory) -> None:
    opened = open_election_factory(questions=EVERY_KIND)
    html = page(client, "election", opened.election)
    assert opened.election.title in html
    assert "Voting is open." in html
    assert "Chair" in html and "P1" in html and "cost 60" in html
    assert opened.election.fingerprint in html
    assert f"pnyx-verify http://testserver/api/elections/{opened.election.pk}/board.jsonl" in html
    assert reverse("pages:booth", kwargs={"slug": opened.election.slug}) in html
    # linked from the home page
    assert reverse("pages:election", kwargs={"slug": opened.election.slug}) in client.get(
        "/"
    ).content.decode("utf-8")


@pytest.mark.parametrize(
    ("language", "sentences"),
    [
        ("fr", ("Le vote est ouvert.", "Vérifier cette élection")),
        ("es", ("La votación está abierta.", "Verificar esta elección")),
    ],
)
def test_election_page_in_the_visitors_language(open_election, language, sentences) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    html = page(client, "election", open_election.election)
    assert f'<html lang="{language}">' in html
    for sentence in sentences:
        assert sentence in html


def test_booth_page_carries_the_api_and_the_catalogue(client, open_election_factory) -> None:
    opened = open_election_factory(questions=EVERY_KIND)
    html = page(client, "booth", opened.election)
    assert 'id="booth"' in html
    assert f'data-ballots-url="/api/elections/{opened.election.pk}/ballots/"' in html
    assert 'data-worker-url="/static/booth/booth-worker.js"' in html
    assert '<script type="module" src="/static/booth/booth-page.js"></script>' in html
    # radios for the referendum (with a blank option) and single choice, checkboxes otherwise
    assert 'type="radio" name="q1" id="q1o1"' in html
    assert 'id="q1-blank"' in html and 'id="q2-blank"' not in html
    assert 'type="checkbox" name="q3" id="q3o1"' in html
    catalogue = json.loads(re.search(r'data-i18n="([^"]*)"', html).group(1).replace("&quot;", '"'))
    assert catalogue["errors"]["unknown_credential"].startswith("This credential is not valid")


def test_booth_page_says_when_voting_is_not_possible(client, open_election_factory) -> None:
    now = timezone.now()
    later = open_election_factory(
        opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
    )
    html = page(client, "booth", later.election)
    assert "Voting has not started yet" in html and 'id="booth"' not in html
    assert "booth-page.js" not in html

    closed = open_election_factory()
    election_close(election=closed.election, acting_user=None)
    html = page(client, "booth", closed.election)
    assert "This election is closed" in html and 'id="booth"' not in html


def test_check_page(client, open_election_factory) -> None:
    opened = open_election_factory(voters=2)
    first = cast(opened, 0, [[1, 0, 0, 0, 0]])
    election = opened.election
    url = reverse("pages:check", kwargs={"slug": election.slug})
    html = client.get(url, {"tracker": first.upper()}).content.decode()
    assert "Your ballot is on the board" in html and "it is the one that counts" in html
    assert first in html

    second = cast(opened, 0, [[0, 1, 0, 0, 0]])  # a revote supersedes the first ballot
    html = client.get(url, {"tracker": f"  {first[:32]} {first[32:]} "}).content.decode()
    assert "A later ballot with the same credential replaced this one" in html
    assert "See the later ballot" in html

    html = client.get(url, {"tracker": "f" * 64}).content.decode()
    assert "Not on the board" in html
    html = client.get(url, {"tracker": "not a tracker"}).content.decode()
    assert "This is not a tracker" in html and 'aria-invalid="true"' in html
    assert second


def test_board_page_filters_pages_and_searches(client, open_election_factory) -> None:
    opened = open_election_factory(voters=3)
    trackers = [cast(opened, i, [[0, 0, 1, 0, 0]]) for i in range(3)]
    election = opened.election
    html = page(client, "board", election)
    assert 'data-head-url="/api/elections/' in html
    assert html.count('class="board-entry"') == 9  # genesis, 3 states, credentials, manifest, 3
    assert "board-page.js" in html
    url = reverse("pages:board", kwargs={"slug": election.slug})
    html = client.get(url, {"kind": "ballot"}).content.decode()
    assert html.count('class="board-entry"') == 3
    assert all(t in html for t in trackers)
    response = client.get(url, {"tracker": trackers[1]})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "pages:board-entry", kwargs={"slug": election.slug, "seq": 7}
    )
    assert "No ballot with this tracker" in client.get(url, {"tracker": "0" * 64}).content.decode()
    html = page(client, "board-entry", election, seq=7)
    assert trackers[1] in html and "the one that counts" in html
    assert client.get(reverse("pages:board-entry", args=[election.slug, 99])).status_code == 404


def test_board_pages_of_a_long_board(client, open_election_factory, monkeypatch) -> None:
    monkeypatch.setattr("voting.views.BOARD_PAGE_SIZE", 4)
    opened = open_election_factory(voters=3)
    for i in range(3):
        cast(opened, i, [[1, 0, 0, 0, 0]])
    url = reverse("pages:board", kwargs={"slug": opened.election.slug})
    html = client.get(url, {"page": 3}).content.decode()
    assert "Page 3 of 3" in html and html.count('class="board-entry"') == 1
    assert 'rel="prev"' in html and 'rel="next"' not in html


def test_manifest_download_is_the_fingerprinted_manifest(client, open_election) -> None:
    election = open_election.election
    response = client.get(reverse("pages:manifest", kwargs={"slug": election.slug}))
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == election.manifest_json
    assert digest_json(json.loads(response.content)) == election.fingerprint


@committed
@pytest.mark.slow
@pytest.mark.usefixtures("celery_worker_real")
def test_results_before_and_after_the_tally(client, trustee_election_factory) -> None:
    opened = trustee_election_factory(questions=EVERY_KIND, weights=[1, 2, 1])
    cast(opened, 0, [[1, 0], [0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]])
    cast(opened, 1, [[0, 0], [0, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]])
    html = page(client, "results", opened.election)
    assert "Not tallied yet." in html
    assert "2 of 3 voters have voted" in html

    result = opened.close_and_tally()
    assert result["counts"] == [[1, 0], [0, 3, 0], [1, 3, 2, 0], [1, 2, 2, 1]]
    html = page(client, "results", opened.election)
    assert "Not tallied yet." not in html
    assert "2 ballots counted" in html and "total weight 3" in html
    assert "Blank votes" in html  # the referendum allows one: weight 2 voted blank
    # by count then cost: P3 (2 votes, 15), P2 (2, 25), P4 (1, 40) fit; P1 (1, 60) does not
    assert html.count('class="funded"') == 3
    result_seq = opened.election.board_entries.get(kind="result").seq
    assert f'href="/e/{opened.election.slug}/board/{result_seq}"' in html
    assert "pnyx-verify http://testserver/api/elections/" in html
    close_seq = opened.election.board_entries.get(kind="tally").seq - 1  # state → closed
    assert f'href="/e/{opened.election.slug}/board/{close_seq}">#{close_seq}</a>' in html
    assert 'role="img"' in html  # the turnout chart


@committed
@pytest.mark.slow
@pytest.mark.usefixtures("celery_worker_real")
def test_results_in_french_keep_svg_numbers_valid(trustee_election_factory) -> None:
    opened = trustee_election_factory(questions=SINGLE5, weights=[1, 1, 1])
    cast(opened, 0, [[1, 0, 0, 0, 0]])
    cast(opened, 1, [[1, 0, 0, 0, 0]])
    cast(opened, 2, [[0, 1, 0, 0, 0]])
    opened.close_and_tally()
    html = page(Client(HTTP_ACCEPT_LANGUAGE="fr"), "results", opened.election)
    widths = re.findall(r'class="bar-value" x="0" y="0" width="([^"]+)"', html)
    assert widths == ["100.0", "50.0", "0.0", "0.0", "0.0"]
    points = re.findall(r'points="([^"]+)"', html)[0].split()
    assert all(re.fullmatch(r"[\d.]+,[\d.]+", p) for p in points)  # "x,y", no decimal comma


def test_dashboard_needs_an_official(client, open_election) -> None:
    url = reverse("operations:dashboard", kwargs={"election_id": open_election.election.pk})
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = User.objects.create_user("clerk", password="x", is_staff=True)  # noqa: S106
    client.force_login(staff)
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_election"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(url).status_code == 200


@committed
@pytest.mark.slow
@pytest.mark.usefixtures("celery_worker_real")
def test_dashboard_shows_turnout_ceremony_and_tally(admin_client, trustee_election_factory) -> None:
    opened = trustee_election_factory(questions=SINGLE5, weights=[1, 1, 1, 1])
    cast(opened, 0, [[1, 0, 0, 0, 0]])
    cast(opened, 0, [[0, 1, 0, 0, 0]])
    url = reverse("operations:dashboard", kwargs={"election_id": opened.election.pk})
    html = admin_client.get(url).content.decode()
    assert_no_inline_code(html.split('<div id="content-main"', 1)[1])
    assert "1 / 4" in html  # one voter of four voted (twice)
    assert re.search(r"Revotes \(replaced ballots\)</th><td>1<", html)
    # adding up, the encrypted tally, 2 decryptions, the result: 5 stages of 100
    assert 'id="tally-progress" value="0" max="500"' in html
    assert 'id="ceremony-progress" value="10" max="10"' in html  # 3 × 3 messages, the result
    assert reverse("admin:voting_election_action", args=[opened.election.pk, "close"]) in html

    election_close(election=opened.election, acting_user=None)
    opened.wait_until_tallying()  # the ballots added up, the encrypted tally published
    html = admin_client.get(url).content.decode()
    assert 'id="tally-progress" value="200" max="500"' in html
    assert "Waiting for partial decryptions" in html and "Waiting for trustees" in html
    assert "Ballots added up</th><td>2 / 2<" in html
    opened.decrypt(trustees=[2])
    html = admin_client.get(url).content.decode()
    assert 'id="tally-progress" value="300" max="500"' in html
    assert "1 (2 needed)" in html
    opened.decrypt(trustees=[3])
    opened.wait_for_result()
    html = admin_client.get(url).content.decode()
    assert 'id="tally-progress" value="500" max="500"' in html
    assert "Tallied" in html and "Result published" in html


def test_election_admin_page_offers_the_next_step(admin_client, open_election) -> None:
    """The election's admin page: its object tools name the life-cycle step in full ("Close the
    election", not a bare "Close" next to "History"), then the tally, and link the results."""
    election = open_election.election
    url = reverse("admin:voting_election_change", args=[election.pk])
    html = admin_client.get(url).content.decode()
    close = reverse("admin:voting_election_action", args=[election.pk, "close"])
    tally = reverse("admin:voting_election_action", args=[election.pk, "tally"])
    results = reverse("pages:results", kwargs={"slug": election.slug})
    assert f'<a href="{close}">Close the election</a>' in html
    assert tally not in html and f'href="{results}"' in html
    election_close(election=election, acting_user=None)
    html = admin_client.get(url).content.decode()
    assert close not in html
    assert f'<a href="{tally}">Start or resume the tally</a>' in html


@committed
@pytest.mark.slow
@pytest.mark.usefixtures("celery_worker_real")
def test_results_of_score_questions_show_totals_and_averages(trustee_election_factory) -> None:
    """Tallied by the worker trustees: the totals are weighted sums of scores (above the counted
    weight), the averages are total / weight, in English and in French."""
    from tests.voting.factories import SCORES

    opened = trustee_election_factory(questions=SCORES, weights=[1, 2, 1])
    cast(opened, 0, [[10, 0, 7], [3, 0, 1, 1]])
    cast(opened, 1, [[5, 10, 0], [0, 0, 0, 1]])
    result = opened.close_and_tally()
    assert result["counts"] == [[20, 20, 7], [3, 0, 1, 3]] and result["weight"] == 3
    html = page(Client(), "results", opened.election)
    assert "Total score" in html and "Average (0 to 10)" in html and "Average (0 to 3)" in html
    rows = re.findall(
        r'<th scope="row">(\w+)</th>\s*<td class="num">(\d+)</td>\s*<td class="num">([\d.,]+)</td>',
        html,
    )
    assert rows[:3] == [("North", "20", "6.67"), ("South", "20", "6.67"), ("East", "7", "2.33")]
    assert rows[3:] == [
        ("Soup", "3", "1.00"),
        ("Salad", "0", "0.00"),
        ("Pie", "1", "0.33"),
        ("Stew", "3", "1.00"),
    ]
    assert "%" not in "".join(r[2] for r in rows)
    election_page = page(Client(), "election", opened.election)
    assert "each option scored from 0 to 10" in election_page
    html = page(Client(HTTP_ACCEPT_LANGUAGE="fr"), "results", opened.election)
    assert "Total des notes" in html and "Moyenne (de 0 à 10)" in html and "6,67" in html
