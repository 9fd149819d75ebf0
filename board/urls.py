"""API routes of the board, mounted under /api/ by config/urls.py."""

from django.urls import path

from board import api

app_name = "board"

election = "elections/<uuid:election_id>"

urlpatterns = [
    path(f"{election}/board/", api.BoardListApi.as_view(), name="entries"),
    path(f"{election}/board.jsonl", api.BoardExportApi.as_view(), name="export"),
    path(f"{election}/board/head", api.BoardHeadApi.as_view(), name="head"),
    path(f"{election}/checkpoint", api.CheckpointApi.as_view(), name="checkpoint"),
    path(f"{election}/checkpoints/", api.CheckpointListApi.as_view(), name="checkpoints"),
    path(f"{election}/board/proof/inclusion", api.InclusionProofApi.as_view(), name="inclusion"),
    path(
        f"{election}/board/proof/consistency",
        api.ConsistencyProofApi.as_view(),
        name="consistency",
    ),
    path(f"{election}/board/proof/<int:seq>", api.EntryProofApi.as_view(), name="entry-proof"),
]
