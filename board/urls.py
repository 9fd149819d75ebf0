"""API routes of the board, mounted under /api/ by config/urls.py."""

from django.urls import path

from board import api

app_name = "board"

election = "elections/<uuid:election_id>"

urlpatterns = [
    path(f"{election}/board/", api.BoardListApi.as_view(), name="entries"),
    path(f"{election}/board.jsonl", api.BoardExportApi.as_view(), name="export"),
    path(f"{election}/board/head", api.BoardHeadApi.as_view(), name="head"),
]
