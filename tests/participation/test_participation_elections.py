"""Creating the district elections from the feasible proposals (operations.participation): one
draft election per district with feasible proposals, a budget question at the district's
budget, the district's residents as voters, and the ``elections`` entry on the record."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from board.selectors import board_genesis
from crypto.record import RecordEntry, record_verify_process
from identity.models import Voter
from operations.participation import process_elections_create
from participation.errors import WrongPhase
from participation.models import Phase, Process, ProposalStatus
from participation.services import proposal_review, support_add, supports_close
from tests.participation.conftest import phase_set, process_make, resident_of
from tests.participation.test_participation_pages import record_payloads
from voting.models import Election, ElectionState
from voting.services.elections import election_create

pytestmark = pytest.mark.django_db


def reviewed_process(*, decisions=((True, 900), (False, None), (True, 300))):
    """North: proposals 1 and 2 (r1, r2); South: proposal 3 (r3); all selected and reviewed."""
    from tests.participation.test_participation_supports import proposals_in

    process = process_make(support_threshold=1, max_supports=3)
    proposals = proposals_in(process, "r1", "r2", "r3")
    for proposal, supporter in zip(proposals, ("r0", "r0", "r3"), strict=True):
        support_add(resident=resident_of(process, supporter), proposal=proposal)
    phase_set(process, Phase.REVIEW)
    supports_close(process=process)
    for proposal, (feasible, cost) in zip(proposals, decisions, strict=True):
        proposal.refresh_from_db()
        proposal_review(proposal=proposal, feasible=feasible, reason="Decided.", adjusted_cost=cost)
    process.refresh_from_db()
    return process, proposals


def test_one_election_per_district_with_feasible_proposals(client) -> None:
    process, proposals = reviewed_process()
    elections = process_elections_create(process=process)
    assert [e.slug for e in elections] == [f"{process.slug}-north", f"{process.slug}-south"]
    north, south = elections
    assert north.state == ElectionState.DRAFT
    # the election keeps whole seconds
    assert (north.opens_at, north.closes_at) == (
        process.voting_start.replace(microsecond=0),
        process.results_start.replace(microsecond=0),
    )
    (question,) = north.questions.all()
    assert question.kind == "budget" and question.budget == 100_000
    assert [(o.title, o.cost) for o in question.options.order_by("position")] == [
        (proposals[0].title, 900)
    ]
    assert [(o.cost) for o in south.questions.get().options.all()] == [300]
    assert sorted(Voter.objects.filter(election=north).values_list("identifier", flat=True)) == [
        "r0",
        "r1",
        "r2",
    ]
    assert list(Voter.objects.filter(election=south).values_list("email", flat=True)) == [
        "r3@example.org"
    ]
    assert board_genesis(election_id=north.pk)["slug"] == north.slug
    (entry,) = record_payloads(process, "elections")
    assert entry == {
        "elections": [
            {
                "district": "north",
                "election": str(north.pk),
                "slug": north.slug,
                "budget": 100_000,
                "proposals": [{"number": proposals[0].number, "cost": 900}],
            },
            {
                "district": "south",
                "election": str(south.pk),
                "slug": south.slug,
                "budget": 80_000,
                "proposals": [{"number": proposals[2].number, "cost": 300}],
            },
        ]
    }
    lines = b"".join(client.get(f"/p/{process.slug}/record.jsonl").streaming_content)
    record_verify_process([RecordEntry.from_line(x) for x in lines.splitlines(keepends=True)])
    page = client.get(f"/p/{process.slug}/").content.decode()
    assert f'href="/e/{north.slug}/"' in page and f'href="/e/{south.slug}/"' in page
    # once only
    with pytest.raises(WrongPhase, match="already created"):
        process_elections_create(process=process)
    assert Election.objects.count() == 2


def test_a_district_without_feasible_proposals_gets_no_election() -> None:
    process, _ = reviewed_process(decisions=((True, 900), (False, None), (False, None)))
    (election,) = process_elections_create(process=process)
    assert election.slug.endswith("-north")
    assert process.districts.get(slug="south").election_id is None


def test_nothing_feasible_nothing_created() -> None:
    process, _ = reviewed_process(decisions=((False, None),) * 3)
    with pytest.raises(WrongPhase, match="nothing to vote on"):
        process_elections_create(process=process)
    assert not Election.objects.exists() and record_payloads(process, "elections") == []


def test_not_before_every_review() -> None:
    from tests.participation.test_participation_supports import proposals_in

    process = process_make(support_threshold=1)
    (proposal,) = proposals_in(process, "r1")
    support_add(resident=resident_of(process, "r0"), proposal=proposal)
    phase_set(process, Phase.REVIEW)
    with pytest.raises(WrongPhase, match="Count the supports first"):
        process_elections_create(process=process)
    supports_close(process=process)
    with pytest.raises(WrongPhase, match="Review every proposal"):
        process_elections_create(process=process)
    assert not Election.objects.exists()


def test_not_after_the_review_phase() -> None:
    process, _ = reviewed_process()
    phase_set(process, Phase.VOTING)
    with pytest.raises(WrongPhase):
        process_elections_create(process=process)
    assert not Election.objects.exists()


def test_a_taken_slug_rolls_everything_back() -> None:
    process, _ = reviewed_process()
    taken = election_create(
        slug=f"{process.slug}-south",
        title="Taken",
        opens_at=process.voting_start,
        closes_at=process.results_start,
    )
    with pytest.raises(WrongPhase, match="cannot be created"):
        process_elections_create(process=process)
    assert list(Election.objects.values_list("pk", flat=True)) == [taken.pk]
    assert not Voter.objects.exists() and record_payloads(process, "elections") == []
    assert not process.districts.filter(election_id__isnull=False).exists()
    assert all(p.status != ProposalStatus.SELECTED for p in process.proposals.all())


def test_the_management_command(capsys) -> None:
    process, _ = reviewed_process()
    call_command("process_elections", process.slug)
    out = capsys.readouterr().out
    assert f"{process.slug}-north:" in out and f"{process.slug}-south:" in out
    with pytest.raises(CommandError, match="already created"):
        call_command("process_elections", process.slug)
    with pytest.raises(CommandError, match="No process"):
        call_command("process_elections", "no-such-process")
    assert Process.objects.filter(pk=process.pk).exists()


def test_the_record_rules_for_the_elections_entry(client) -> None:
    from dataclasses import replace

    from crypto.board import InvalidChain
    from crypto.errors import InvalidEncoding

    process, _ = reviewed_process()
    process_elections_create(process=process)
    lines = b"".join(client.get(f"/p/{process.slug}/record.jsonl").streaming_content)
    entries = [RecordEntry.from_line(x) for x in lines.splitlines(keepends=True)]
    record_verify_process(entries)

    def rechained(changed):
        out, prev = [], "0" * 64
        for seq, entry in enumerate(changed):
            out.append(
                RecordEntry.create(
                    log=entry.log,
                    seq=seq,
                    kind=entry.kind,
                    time=entry.time,
                    prev=prev,
                    payload=entry.payload,
                )
            )
            prev = out[-1].hash
        return out

    last = entries[-1]
    north, south = last.payload["elections"]
    forgeries = {
        "a feasible proposal left out": [{**north, "proposals": []}, south],
        "a proposal that is not feasible": [
            {**north, "proposals": [*north["proposals"], {"number": 2, "cost": 5}]},
            south,
        ],
        "a district twice": [north, {**south, "district": "north"}],
        "not a UUID": [{**north, "election": "E1"}, south],
    }
    for name, items in forgeries.items():
        forged = rechained([*entries[:-1], replace(last, payload={"elections": items})])
        with pytest.raises((InvalidChain, InvalidEncoding)):
            record_verify_process(forged)
            pytest.fail(name)
    for extra in (last, entries[1]):  # the elections twice; a proposal after them
        with pytest.raises(InvalidChain):
            record_verify_process(rechained([*entries, extra]))


def test_officials_create_them_from_the_admin(admin_client) -> None:
    process, _ = reviewed_process(decisions=((False, None),) * 3)
    change = admin_client.get(f"/admin/participation/process/{process.pk}/change/").content.decode()
    url = f"/admin/participation/process/{process.pk}/elections/"
    assert f'href="{url}"' in change
    assert admin_client.get(url).status_code == 200
    refused = admin_client.post(url)
    assert refused.status_code == 409 and "nothing to vote on" in refused.content.decode()
    assert not Election.objects.exists()


def test_creating_them_needs_an_official_allowed_to(client, django_user_model) -> None:
    process, _ = reviewed_process()
    url = f"/admin/participation/process/{process.pk}/elections/"
    assert client.post(url).status_code == 302  # to the admin's login
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.post(url).status_code == 403
    assert not Election.objects.exists()


def test_the_admin_button_creates_them(admin_client) -> None:
    process, _ = reviewed_process()
    response = admin_client.post(f"/admin/participation/process/{process.pk}/elections/")
    assert response.status_code == 302
    assert Election.objects.count() == 2
