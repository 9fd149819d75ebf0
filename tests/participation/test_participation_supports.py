"""Supports: up to N per resident, only in their district and phase; counts public; at the
phase's close the totals go on the record and the proposals above the threshold to review."""

from __future__ import annotations

import pytest

from participation.errors import SupportRefused, WrongPhase
from participation.models import Phase, Proposal, ProposalStatus, Support
from participation.services import proposal_submit, support_add, support_withdraw, supports_close
from tests.participation.conftest import phase_set, process_make, resident_of
from tests.participation.test_participation_pages import record_payloads

pytestmark = pytest.mark.django_db


def proposals_in(process, *authors):
    category = process.categories.first()
    made = [
        proposal_submit(
            resident=resident_of(process, author),
            title=f"Proposal of {author} #{i}",
            description="Something good.",
            cost=100,
            category_id=category.pk,
        )
        for i, author in enumerate(authors)
    ]
    phase_set(process, Phase.SUPPORTS)
    for proposal in made:
        proposal.refresh_from_db()
    return made


def test_a_resident_supports_from_the_page(resident_client, process) -> None:
    (proposal,) = proposals_in(process, "r1")
    url = f"/p/{process.slug}/proposals/{proposal.number}/"
    page = resident_client.get(url).content.decode()
    assert "Support this proposal" in page and "You have 2 supports left." in page
    assert resident_client.post(url + "support").status_code == 302
    page = resident_client.get(url).content.decode()
    assert "Withdraw my support" in page and "You have 1 support left." in page
    assert "<dt>Supports</dt><dd>1" in page
    # twice is refused, clearly
    again = resident_client.post(url + "support")
    assert again.status_code == 409 and "already support" in again.content.decode()
    assert resident_client.post(url + "support/withdraw").status_code == 302
    assert not Support.objects.exists()
    assert resident_client.post(url + "support/withdraw").status_code == 409


def test_supports_are_limited_per_resident(process) -> None:
    a, b, c = proposals_in(process, "r1", "r1", "r2")
    r0 = resident_of(process, "r0")
    support_add(resident=r0, proposal=a)
    support_add(resident=r0, proposal=b)
    with pytest.raises(SupportRefused, match="all your 2 supports"):
        support_add(resident=r0, proposal=c)
    support_withdraw(resident=r0, proposal=a)
    support_add(resident=r0, proposal=c)
    assert sorted(
        Support.objects.filter(resident=r0).values_list("proposal_id", flat=True)
    ) == sorted([b.pk, c.pk])


def test_only_proposals_of_ones_district(resident_client, process) -> None:
    (south,) = proposals_in(process, "r3")
    with pytest.raises(SupportRefused, match="own district"):
        support_add(resident=resident_of(process, "r0"), proposal=south)
    response = resident_client.post(f"/p/{process.slug}/proposals/{south.number}/support")
    assert response.status_code == 409 and not Support.objects.exists()
    assert (
        "Support this proposal"
        not in resident_client.get(f"/p/{process.slug}/proposals/1/").content.decode()
    )


def test_a_proposal_of_another_process_cannot_be_supported(process) -> None:
    other = process_make()
    (theirs,) = proposals_in(other, "r1")
    phase_set(process, Phase.SUPPORTS)
    with pytest.raises(SupportRefused):
        support_add(resident=resident_of(process, "r0"), proposal=theirs)


@pytest.mark.parametrize("phase", [Phase.PROPOSALS, Phase.REVIEW])
def test_supports_only_during_their_phase(resident_client, process, phase) -> None:
    (proposal,) = proposals_in(process, "r1")
    phase_set(process, phase)
    with pytest.raises(WrongPhase):
        support_add(resident=resident_of(process, "r0"), proposal=proposal)
    assert resident_client.post(f"/p/{process.slug}/proposals/1/support").status_code == 409
    assert not Support.objects.exists()


def test_supporting_needs_a_login(client, process) -> None:
    proposals_in(process, "r1")
    response = client.post(f"/p/{process.slug}/proposals/1/support")
    assert response.status_code == 302 and response["Location"].endswith("/login")
    assert not Support.objects.exists()


def test_counts_are_public(client, process) -> None:
    a, b = proposals_in(process, "r1", "r2")
    for identifier in ("r0", "r1", "r2"):
        support_add(resident=resident_of(process, identifier), proposal=a)
    page = client.get(f"/p/{process.slug}/proposals/").content.decode()
    cells = page.split(f'/proposals/{a.number}/">')[1].split("</tr>")[0]
    assert "<td>3</td>" in cells


@pytest.mark.parametrize("threshold", [1, 2, 3])
def test_the_close_records_totals_and_selects_at_the_threshold(threshold) -> None:
    process = process_make(support_threshold=threshold, max_supports=3)
    a, b, c = proposals_in(process, "r0", "r1", "r2")
    for identifier in ("r0", "r1"):
        support_add(resident=resident_of(process, identifier), proposal=a)
    support_add(resident=resident_of(process, "r2"), proposal=b)
    with pytest.raises(WrongPhase):
        supports_close(process=process)  # still the supports phase
    assert Proposal.objects.filter(supports_final__isnull=False).count() == 0
    phase_set(process, Phase.REVIEW)
    supports_close(process=process)
    totals = {p.number: p.supports_final for p in Proposal.objects.filter(process=process)}
    assert totals == {a.number: 2, b.number: 1, c.number: 0}
    for proposal in Proposal.objects.filter(process=process):
        expected = (
            ProposalStatus.SELECTED
            if proposal.supports_final >= threshold
            else ProposalStatus.NOT_SELECTED
        )
        assert proposal.status == expected
    assert record_payloads(process, "supports") == [
        {"number": n, "supports": t, "threshold": threshold, "selected": t >= threshold}
        for n, t in sorted(totals.items())
    ]
    with pytest.raises(WrongPhase, match="already counted"):
        supports_close(process=process)
    assert len(record_payloads(process, "supports")) == 3


def test_a_process_without_proposals_closes_with_no_entry() -> None:
    process = process_make(phase=Phase.REVIEW)
    supports_close(process=process)
    assert record_payloads(process, "supports") == []
    process.refresh_from_db()
    assert process.supports_closed_at is not None


def test_officials_count_the_supports_from_the_admin(admin_client, process) -> None:
    (proposal,) = proposals_in(process, "r1")
    response = admin_client.post(
        "/admin/participation/process/",
        {"action": "count_supports", "_selected_action": [process.pk]},
        follow=True,
    )
    assert "only be counted once the supports phase is over" in response.content.decode()
    phase_set(process, Phase.REVIEW)
    response = admin_client.post(
        "/admin/participation/process/",
        {"action": "count_supports", "_selected_action": [process.pk]},
        follow=True,
    )
    assert "supports counted" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.NOT_SELECTED and proposal.supports_final == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_supports_never_pass_the_limit() -> None:
    """Eight supports of one resident at once, limit 2: exactly two are kept (the resident's row
    is locked while counting)."""
    import threading

    from django.db import connection

    process = process_make(max_supports=2)
    proposals = proposals_in(process, *(["r1"] * 8))
    resident = resident_of(process, "r0")
    barrier = threading.Barrier(len(proposals))
    outcomes = []

    def support(proposal):
        try:
            barrier.wait()
            support_add(resident=resident, proposal=proposal)
            outcomes.append("ok")
        except SupportRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=support, args=(p,)) for p in proposals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 2 + ["refused"] * 6
    assert Support.objects.filter(resident=resident).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_numbers() -> None:
    import threading

    from django.db import connection

    process = process_make()
    category = process.categories.first()
    barrier = threading.Barrier(6)

    def submit(i):
        try:
            barrier.wait()
            proposal_submit(
                resident=resident_of(process, f"r{i % 4}"),
                title=f"P{i}",
                description="D",
                cost=10,
                category_id=category.pk,
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(Proposal.objects.filter(process=process).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert [p["number"] for p in record_payloads(process, "proposal")] == [1, 2, 3, 4, 5, 6]
