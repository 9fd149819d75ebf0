"""Comments with residents' flags and officials' moderation (hidden with a public reason), and
the officials' review (feasible or not, public reason, adjusted cost): both on the record."""

from __future__ import annotations

import hashlib

import pytest

from board.models import RecordEntry
from participation.errors import InvalidComment, ModerationRefused, ReviewRefused, WrongPhase
from participation.models import Comment, CommentFlag, Phase, Proposal, ProposalStatus
from participation.services import comment_add, comment_flag, comment_hide, proposal_review
from tests.participation.conftest import phase_set, process_make, resident_of
from tests.participation.test_participation_pages import record_payloads, submit
from tests.participation.test_participation_supports import proposals_in

pytestmark = pytest.mark.django_db


def test_residents_comment_and_flag(resident_client, process) -> None:
    submit(resident_client, process)
    url = f"/p/{process.slug}/proposals/1/"
    assert resident_client.post(url + "comments", {"body": "Good idea!"}).status_code == 302
    comment = Comment.objects.get()
    page = resident_client.get(url).content.decode()
    assert "Good idea!" in page and "Flag for the officials" in page
    assert resident_client.post(url + f"comments/{comment.pk}/flag").status_code == 302
    assert CommentFlag.objects.filter(comment=comment).count() == 1
    again = resident_client.post(url + f"comments/{comment.pk}/flag")
    assert again.status_code == 400 and "already flagged" in again.content.decode()
    assert resident_client.post(url + "comments/999999/flag").status_code == 400
    assert CommentFlag.objects.count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_a_bad_comment_is_refused(resident_client, process, body) -> None:
    submit(resident_client, process)
    response = resident_client.post(f"/p/{process.slug}/proposals/1/comments", {"body": body})
    assert response.status_code == 400 and not Comment.objects.exists()


def test_commenting_needs_a_login_and_an_open_phase(client, resident_client, process) -> None:
    submit(resident_client, process)
    proposal = Proposal.objects.get()
    resident_client.post(f"/p/{process.slug}/logout")
    response = client.post(f"/p/{process.slug}/proposals/1/comments", {"body": "Hi"})
    assert response.status_code == 302 and response["Location"].endswith("/login")
    phase_set(process, Phase.VOTING)
    with pytest.raises(WrongPhase):
        comment_add(resident=resident_of(process, "r0"), proposal=proposal, body="Late")
    other = process_make()
    with pytest.raises(InvalidComment):
        comment_add(resident=resident_of(other, "r0"), proposal=proposal, body="Elsewhere")
    assert not Comment.objects.exists()


def test_officials_hide_a_comment_with_a_public_reason(
    admin_client, resident_client, process
) -> None:
    submit(resident_client, process)
    resident_client.post(f"/p/{process.slug}/proposals/1/comments", {"body": "Buy my product!"})
    comment = Comment.objects.get()
    url = f"/admin/participation/comment/{comment.pk}/hide/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"reason": "  "}).status_code == 400
    assert Comment.objects.get().hidden_at is None and record_payloads(process, "moderation") == []
    assert admin_client.post(url, {"reason": "Advertising."}).status_code == 302
    page = resident_client.get(f"/p/{process.slug}/proposals/1/").content.decode()
    assert "Buy my product!" not in page
    assert "Hidden by the officials." in page and "Reason: Advertising." in page
    assert record_payloads(process, "moderation") == [
        {
            "number": 1,
            "comment": comment.pk,
            "action": "hide",
            "digest": hashlib.sha256(b"Buy my product!").hexdigest(),
            "reason": "Advertising.",
        }
    ]
    again = admin_client.post(url, {"reason": "Twice."})
    assert again.status_code == 409
    with pytest.raises(ModerationRefused):
        comment_hide(comment=comment, reason="Twice.")
    with pytest.raises(InvalidComment):
        comment_flag(resident=resident_of(process, "r1"), comment=Comment.objects.get())
    assert len(record_payloads(process, "moderation")) == 1


def test_moderation_needs_an_official(client, resident_client, process, django_user_model) -> None:
    submit(resident_client, process)
    resident_client.post(f"/p/{process.slug}/proposals/1/comments", {"body": "Fine."})
    comment = Comment.objects.get()
    # a resident's session is not an official's
    response = resident_client.post(
        f"/admin/participation/comment/{comment.pk}/hide/", {"reason": "x"}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    response = client.post(f"/admin/participation/comment/{comment.pk}/hide/", {"reason": "x"})
    assert response.status_code == 403
    assert Comment.objects.get().hidden_at is None


# --- Review --------------------------------------------------------------------------------------


def in_review(process_kwargs=None):
    process = process_make(support_threshold=1, **(process_kwargs or {}))
    a, b = proposals_in(process, "r1", "r2")
    from participation.services import support_add, supports_close

    support_add(resident=resident_of(process, "r0"), proposal=a)
    phase_set(process, Phase.REVIEW)
    supports_close(process=process)
    a.refresh_from_db()
    b.refresh_from_db()
    return process, a, b


def test_officials_review_a_selected_proposal(admin_client) -> None:
    process, selected, not_selected = in_review()
    url = f"/admin/participation/proposal/{selected.pk}/review/"
    response = admin_client.post(
        url, {"feasible": "yes", "reason": "Can be done.", "adjusted_cost": "900"}
    )
    assert response.status_code == 302
    selected.refresh_from_db()
    assert selected.status == ProposalStatus.FEASIBLE and selected.adjusted_cost == 900
    assert record_payloads(process, "review") == [
        {"number": selected.number, "feasible": True, "reason": "Can be done.", "cost": 900}
    ]
    page = admin_client.get(f"/p/{process.slug}/proposals/{selected.number}/").content.decode()
    assert "Can be done." in page and "Adjusted cost: 900 EUR" in page and "Feasible" in page
    # once only; a proposal that was not selected is not reviewed
    assert (
        admin_client.post(url, {"feasible": "no", "reason": "Changed my mind."}).status_code == 409
    )
    other = f"/admin/participation/proposal/{not_selected.pk}/review/"
    assert admin_client.post(other, {"feasible": "no", "reason": "No."}).status_code == 409
    assert len(record_payloads(process, "review")) == 1


def test_a_proposal_that_is_not_feasible(admin_client) -> None:
    process, selected, _ = in_review()
    url = f"/admin/participation/proposal/{selected.pk}/review/"
    bad = admin_client.post(url, {"feasible": "no", "reason": "Not ours.", "adjusted_cost": "5"})
    assert bad.status_code == 409 and "no adjusted cost" in bad.content.decode()
    assert admin_client.post(url, {"feasible": "no", "reason": "Not ours."}).status_code == 302
    selected.refresh_from_db()
    assert selected.status == ProposalStatus.UNFEASIBLE and selected.adjusted_cost is None
    assert record_payloads(process, "review") == [
        {"number": selected.number, "feasible": False, "reason": "Not ours.", "cost": None}
    ]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"feasible": "yes", "reason": "OK"}, 409),  # a feasible proposal needs its cost
        ({"feasible": "yes", "reason": "OK", "adjusted_cost": "100001"}, 409),  # above the budget
        ({"feasible": "yes", "reason": "OK", "adjusted_cost": "0"}, 400),
        ({"feasible": "yes", "reason": "OK", "adjusted_cost": "1e3"}, 400),
        ({"feasible": "maybe", "reason": "OK", "adjusted_cost": "10"}, 400),
        ({"feasible": "yes", "reason": "", "adjusted_cost": "10"}, 400),
        ({"feasible": "yes", "reason": "x" * 1001, "adjusted_cost": "10"}, 400),
    ],
)
def test_a_bad_review_changes_nothing(admin_client, data, status) -> None:
    process, selected, _ = in_review()
    before = RecordEntry.objects.filter(log_id=process.record_id).count()
    response = admin_client.post(f"/admin/participation/proposal/{selected.pk}/review/", data)
    assert response.status_code == status
    selected.refresh_from_db()
    assert selected.status == ProposalStatus.SELECTED and selected.review_reason == ""
    assert RecordEntry.objects.filter(log_id=process.record_id).count() == before


def test_review_only_in_the_review_phase() -> None:
    process, selected, _ = in_review()
    phase_set(process, Phase.VOTING)
    with pytest.raises(WrongPhase):
        proposal_review(proposal=selected, feasible=True, reason="OK", adjusted_cost=10)
    with pytest.raises(ReviewRefused):
        phase_set(process, Phase.REVIEW)
        proposal_review(proposal=selected, feasible="yes", reason="OK", adjusted_cost=10)
