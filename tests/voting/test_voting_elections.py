"""An election's life cycle: guarded transitions, key installation, the frozen manifest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from board.models import BoardEntry
from crypto.hashing import digest_json, parse_json
from crypto.manifest import Manifest
from tests.voting.factories import (
    EVERY_KIND,
    SINGLE5,
    board_head_of,
    build_election,
    key_ceremony,
    make_election,
)
from voting.errors import (
    CredentialsNotPublished,
    InvalidCeremonyOutput,
    QuestionsInvalid,
    TransitionNotAllowed,
    VotingWindowOver,
)
from voting.models import AuditEvent, ElectionState
from voting.services.elections import (
    election_close,
    election_finish_tally,
    election_install_key,
    election_open,
    election_start_ceremony,
    election_start_tally,
)

pytestmark = pytest.mark.django_db


def state_entries(election) -> list[dict]:
    return [
        parse_json(line)["payload"]
        for line in BoardEntry.objects.filter(election=election, kind="state")
        .order_by("seq")
        .values_list("line", flat=True)
    ]


def test_transitions_in_order_each_with_a_state_entry(open_election_factory) -> None:
    election = open_election_factory().election
    assert election.state == ElectionState.OPEN
    election_close(election=election, acting_user=None)
    election_start_tally(election=election, acting_user=None)
    election_finish_tally(election=election, acting_user=None)
    assert [(p["from"], p["to"]) for p in state_entries(election)] == [
        ("draft", "key_ceremony"),
        ("key_ceremony", "ready"),
        ("ready", "open"),
        ("open", "closed"),
        ("closed", "tallying"),
        ("tallying", "tallied"),
    ]
    actions = list(
        AuditEvent.objects.filter(election=election).order_by("id").values_list("action", flat=True)
    )
    assert actions[0] == "create" and actions[-1] == "state:tallied"


@pytest.mark.parametrize(
    ("service", "state"),
    [
        (election_open, "draft"),
        (election_close, "draft"),
        (election_start_tally, "draft"),
    ],
)
def test_transitions_out_of_order_are_refused(service, state) -> None:
    election = make_election()
    head = board_head_of(election)
    with pytest.raises(TransitionNotAllowed) as caught:
        service(election=election, acting_user=None)
    assert caught.value.code == "transition_not_allowed"
    assert caught.value.details["state"] == state
    assert board_head_of(election) == head


def test_install_key_only_during_the_ceremony() -> None:
    election = make_election()
    ceremony = key_ceremony(str(election.pk))
    with pytest.raises(TransitionNotAllowed):
        election_install_key(election=election, acting_user=None, **ceremony.public)


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "no question"),
        ([{"kind": "referendum", "title": "R", "options": ["Yes", "No", "Maybe"]}], "two options"),
        ([{"kind": "single", "title": "S", "options": ["Only"]}], "at least two"),
        (
            [{"kind": "single", "title": "S", "options": ["A", "B"], "max": 2}],
            "approval, budget and score",
        ),
        (
            [{"kind": "approval", "title": "A", "options": ["A", "B"], "min": 2, "max": 1}],
            "minimum",
        ),
        (
            [{"kind": "budget", "title": "B", "options": [("A", 1), ("B", None)], "budget": 5}],
            "cost",
        ),
        ([{"kind": "budget", "title": "B", "options": [("A", 1)]}], "budget"),
        ([{"kind": "single", "title": "S", "options": [("A", 3), ("B", 1)]}], "only budget"),
    ],
)
def test_invalid_questions_block_the_ceremony(questions, message) -> None:
    election = make_election(questions=questions)
    head = board_head_of(election)
    with pytest.raises(QuestionsInvalid) as caught:
        election_start_ceremony(election=election, acting_user=None)
    assert message in caught.value.message
    assert board_head_of(election) == head


def _ceremony_election():
    election = make_election()
    election_start_ceremony(election=election, acting_user=None)
    return election, key_ceremony(str(election.pk))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.update(ceremony_context="0" * 64),
        lambda p: p.update(threshold=3),  # the context binds the threshold
        lambda p: p.update(public_key=p["verification_keys"][0]),
        lambda p: p["verification_keys"].reverse(),
        lambda p: p.update(verification_keys=p["verification_keys"][:2]),
        lambda p: p.update(public_key="04" + "00" * 64),
        lambda p: p["trustees"][0].update(name=""),
    ],
    ids=["context", "threshold", "key", "vkeys-order", "vkeys-count", "not-a-point", "name"],
)
def test_inconsistent_ceremony_output_is_refused(tamper) -> None:
    election, ceremony = _ceremony_election()
    head = board_head_of(election)
    tamper(ceremony.public)
    with pytest.raises(InvalidCeremonyOutput):
        election_install_key(election=election, acting_user=None, **ceremony.public)
    assert board_head_of(election) == head
    election.refresh_from_db()
    assert election.state == ElectionState.KEY_CEREMONY and not election.public_key


def test_install_key_stores_the_public_output() -> None:
    election, ceremony = _ceremony_election()
    election_install_key(election=election, acting_user=None, **ceremony.public)
    assert election.state == ElectionState.READY
    assert election.public_key == ceremony.public["public_key"]
    assert [t["index"] for t in election.trustees] == [1, 2, 3]
    assert state_entries(election)[-1] == {"from": "key_ceremony", "to": "ready", "reason": ""}


def test_install_key_must_match_the_ceremony_on_the_board() -> None:
    """When the ceremony's transcript is on the board, the installed key must be its result."""
    from django.db import transaction

    from board.services import board_append

    election, ceremony = _ceremony_election()
    other = key_ceremony(str(election.pk))
    with transaction.atomic():
        board_append(
            election_id=election.pk,
            kind="ceremony-result",
            payload={
                "qualified": [1, 2, 3],
                "disqualified": [],
                "public_key": other.public["public_key"],
                "verification_keys": other.public["verification_keys"],
            },
        )
    with pytest.raises(InvalidCeremonyOutput, match="ceremony result on the board"):
        election_install_key(election=election, acting_user=None, **ceremony.public)
    election_install_key(election=election, acting_user=None, **other.public)


@pytest.mark.parametrize("kind", ["trustee", "ceremony"])
def test_install_key_refuses_a_ceremony_that_began_on_the_board_and_did_not_finish(kind) -> None:
    """Protocol §11.2: a board with registrations but no ``ceremony`` entry, or a ``ceremony``
    entry without its ``ceremony-result``, before state → ready is invalid: the server must not
    write one by installing a key made elsewhere."""
    from django.db import transaction

    from board.services import board_append

    election, ceremony = _ceremony_election()
    payloads = {
        "trustee": {"name": "T1", "key": {"version": 1, "index": 1}},
        "ceremony": {
            "threshold": ceremony.public["threshold"],
            "trustees": [
                {"index": i, "name": t["name"], "public_key": t["public_key"]}
                for i, t in enumerate(ceremony.public["trustees"], start=1)
            ],
            "context": ceremony.public["ceremony_context"],
        },
    }
    with transaction.atomic():
        board_append(election_id=election.pk, kind=kind, payload=payloads[kind])
    head = board_head_of(election)
    match = "never started" if kind == "trustee" else "has not finished"
    with pytest.raises(InvalidCeremonyOutput, match=match):
        election_install_key(election=election, acting_user=None, **ceremony.public)
    assert board_head_of(election) == head
    election.refresh_from_db()
    assert election.state == ElectionState.KEY_CEREMONY and not election.public_key


def test_open_needs_the_public_credentials(open_election_factory) -> None:
    election = open_election_factory(publish=False, open_it=False).election
    with pytest.raises(CredentialsNotPublished):
        election_open(election=election, acting_user=None)


def test_open_needs_time_left(open_election_factory) -> None:
    now = timezone.now()
    election = open_election_factory(
        open_it=False, opens_at=now - timedelta(hours=2), closes_at=now - timedelta(hours=1)
    ).election
    with pytest.raises(VotingWindowOver):
        election_open(election=election, acting_user=None)


def test_the_manifest_maps_every_kind(open_election_factory) -> None:
    opened = open_election_factory(questions=EVERY_KIND, voters=2, weights=[1, 3])
    election = opened.election
    manifest = Manifest.from_json(parse_json(election.manifest_json))
    assert manifest.fingerprint == election.fingerprint == digest_json(manifest.data)
    assert manifest.election_uuid == str(election.pk)
    questions = manifest.data["questions"]
    assert [q["id"] for q in questions] == ["q1", "q2", "q3", "q4"]
    assert [o["id"] for o in questions[0]["options"]] == ["q1o1", "q1o2"]
    assert [(q["kind"], q["min"], q["max"], q["budget"]) for q in questions] == [
        ("referendum", 0, 1, None),  # blank allowed
        ("single", 1, 1, None),
        ("approval", 1, 2, None),
        ("budget", 0, 4, 100),
    ]
    assert [o["cost"] for o in questions[3]["options"]] == [60, 25, 15, 40]
    assert manifest.credentials_count == 2 and manifest.total_weight == 4
    assert manifest.threshold == 2 and len(manifest.trustee_keys) == 3
    # The manifest entry on the board is the same manifest.
    entry = parse_json(BoardEntry.objects.get(election=election, kind="manifest").line)
    assert entry["payload"] == {"manifest": manifest.data, "fingerprint": manifest.fingerprint}


def test_the_election_api_shows_the_manifest(client, open_election) -> None:
    data = client.get(f"{open_election.url}/").json()
    assert data["fingerprint"] == open_election.election.fingerprint
    assert data["manifest"] == open_election.manifest.data
    assert data["questions"][0]["options"][4]["id"] == "q1o5"
    assert data["credentials"]["count"] == 3
    listed = client.get("/api/elections/", {"slug": open_election.election.slug}).json()
    assert [e["id"] for e in listed] == [str(open_election.election.pk)]


def test_drafts_are_not_listed(client) -> None:
    make_election(slug="secret-draft")
    assert client.get("/api/elections/").json() == []


def test_openapi_schema_documents_casting(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    cast = schema["paths"]["/api/elections/{election_id}/ballots/"]["post"]
    assert cast["operationId"] == "ballots_cast"
    assert {"201", "401", "409", "413"} <= set(cast["responses"])
    for path in (
        "/api/elections/",
        "/api/elections/{election_id}/board/",
        "/api/elections/{election_id}/board.jsonl",
        "/api/elections/{election_id}/board/head",
        "/api/elections/{election_id}/board/ballots/{tracker}",
        "/api/elections/{election_id}/audits/",
        "/api/elections/{election_id}/login/",
        "/api/elections/{election_id}/login/verify/",
        "/api/elections/{election_id}/me/",
        "/api/board-key",
    ):
        assert path in schema["paths"], path


def test_the_home_page_lists_open_elections(client, open_election) -> None:
    html = client.get("/").content.decode()
    assert open_election.election.title in html


def test_defaults_are_reusable() -> None:
    """The factory's default question is the benchmark's shape (5 options, single choice)."""
    opened = build_election(questions=SINGLE5, voters=1)
    assert opened.spec.questions[0].options == 5
