"""The bulletin board's public read API: entries a page at a time, the export, the head.

The views return the stored entries (the export streams the stored canonical lines byte for
byte). An election id without a board is a 404.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from board.selectors import (
    board_entries,
    board_entry_json,
    board_genesis,
    board_get_head,
    board_head,
    board_lines,
)
from config.api_schema import error_responses
from config.api_views import PublicApiView
from crypto.board import ENTRY_KINDS

BOARD_TAGS = ["board"]


class BoardEntryOutput(serializers.Serializer):
    """A board entry exactly as hashed (crypto/board.py); docs/protocol.md §11 lists payloads."""

    version = serializers.IntegerField()
    election = serializers.UUIDField()
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ENTRY_KINDS)
    time = serializers.CharField()
    prev = serializers.CharField()
    payload = serializers.JSONField()
    hash = serializers.CharField()


class BoardListApi(PublicApiView):
    MAX_LIMIT = 1000

    class OutputSerializer(serializers.Serializer):
        results = BoardEntryOutput(many=True)
        next = serializers.CharField(allow_null=True, help_text="URL of the next page")

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_list",
        parameters=[
            OpenApiParameter("kind", str, enum=list(ENTRY_KINDS)),
            OpenApiParameter("after", int, description="Entries with seq > after (default −1)."),
            OpenApiParameter("limit", int, description="Page size, 1–1000 (default 100)."),
        ],
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description="Board entries in order, a page at a time (pages follow `next`).",
    )
    def get(self, request: Request, election_id) -> Response:
        board_get_head(election_id=election_id)
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in ENTRY_KINDS:
            raise exceptions.ValidationError({"kind": f"one of {', '.join(ENTRY_KINDS)}"})
        try:
            after = int(request.query_params.get("after", -1))
            limit = int(request.query_params.get("limit", 100))
        except ValueError as exc:
            raise exceptions.ValidationError("after and limit are integers") from exc
        limit = max(1, min(limit, self.MAX_LIMIT))
        rows = list(
            board_entries(election_id=election_id, kind=kind).filter(seq__gt=after)[: limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_url = None
        if more:
            query = request.query_params.copy()
            query["after"] = str(rows[-1].seq)
            query["limit"] = str(limit)
            next_url = f"{request.path}?{query.urlencode()}"
        return Response({"results": [board_entry_json(r) for r in rows], "next": next_url})


class BoardExportApi(PublicApiView):
    def perform_content_negotiation(self, request, force=False):
        # The export is JSON Lines whatever the client accepts (pnyx-verify asks for
        # application/x-ndjson); errors stay in the API's JSON shape.
        renderer = renderers.JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_export",
        parameters=[
            OpenApiParameter(
                "after", int, description="Only entries with seq > after (default −1)."
            )
        ],
        responses={
            (200, "application/jsonl"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One canonical JSON entry per line, in order: the file observers "
                "verify (crypto.board.verify_chain, pnyx-verify).",
            ),
            **error_responses(400, 404),
        },
    )
    def get(self, request: Request, election_id) -> StreamingHttpResponse:
        slug = board_genesis(election_id=election_id)["slug"]
        try:
            after = int(request.query_params.get("after", -1))
        except ValueError as exc:
            raise exceptions.ValidationError({"after": "an integer"}) from exc
        lines = (
            line.encode("utf-8") + b"\n"
            for line in board_lines(election_id=election_id, after=after)
        )
        response = StreamingHttpResponse(lines, content_type="application/jsonl; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{slug}-board.jsonl"'
        response["Cache-Control"] = "no-cache"
        return response


class BoardHeadApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        election = serializers.UUIDField()
        seq = serializers.IntegerField(help_text="Sequence number of the last entry")
        hash = serializers.CharField(help_text="Hash of the last entry")
        time = serializers.CharField()
        count = serializers.IntegerField(help_text="Number of entries")
        kinds = serializers.DictField(child=serializers.IntegerField(), help_text="Count by kind")

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_head",
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, election_id) -> Response:
        return Response(self.OutputSerializer(board_head(election_id=election_id)).data)
