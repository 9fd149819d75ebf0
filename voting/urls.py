"""API routes of this app, mounted under /api/ by config/urls.py."""

from django.urls import path

from voting import api

app_name = "voting"

election = "elections/<uuid:election_id>"

urlpatterns = [
    path("elections/", api.ElectionListApi.as_view(), name="elections"),
    path(f"{election}/", api.ElectionDetailApi.as_view(), name="election"),
    path(
        f"{election}/board/ballots/<str:tracker>",
        api.BoardBallotApi.as_view(),
        name="board-ballot",
    ),
    path(f"{election}/ballots/", api.BallotCastApi.as_view(), name="ballots"),
    path(f"{election}/audits/", api.AuditApi.as_view(), name="audits"),
    path(f"{election}/receipts/verify/", api.ReceiptVerifyApi.as_view(), name="receipt-verify"),
    path("board-key", api.BoardKeyApi.as_view(), name="board-key"),
]
