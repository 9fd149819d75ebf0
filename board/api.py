"""The bulletin board's public read API: entries a page at a time, the export, the head, and the
transparency log's checkpoints and proofs.

The views return the stored entries (the export streams the stored canonical lines byte for
byte). An election id without a board is a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from board.errors import NotCheckpointedYet
from board.models import BoardCheckpoint
from board.selectors import (
    board_entries,
    board_entry_json,
    board_genesis,
    board_get_head,
    board_head,
    board_lines,
)
from board.tree import (
    board_checkpoint_latest,
    board_checkpoint_text,
    board_consistency_proof,
    board_entry_proof,
    board_inclusion_proof,
)
from config.api_schema import error_responses
from config.api_views import PublicApiView
from crypto.board import ENTRY_KINDS
from crypto.errors import TreeRangeError
from crypto.note import b64encode
from crypto.tlog import MAX_TREE_SIZE

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


# --- The transparency log (protocol §14) ----------------------------------------------------------


class _TextApi(PublicApiView):
    """Answers in text whatever the client accepts; errors stay in the API's JSON shape."""

    def perform_content_negotiation(self, request, force=False):
        renderer = renderers.JSONRenderer()
        return renderer, renderer.media_type


def _text(body: str) -> HttpResponse:
    response = HttpResponse(body.encode("utf-8"), content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _int_param(request: Request, name: str, *, minimum: int = 0, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise exceptions.ValidationError({name: "required"})
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise exceptions.ValidationError({name: "a non-negative decimal integer"})
    value = int(raw)
    if value < minimum or value > MAX_TREE_SIZE:
        raise exceptions.ValidationError({name: f"an integer from {minimum} to 2^63 − 1"})
    return value


def _b64(hashes: list[bytes]) -> list[str]:
    return [b64encode(h) for h in hashes]


CHECKPOINT_TEXT = OpenApiResponse(
    OpenApiTypes.STR,
    description="A signed note (c2sp.org/signed-note): the checkpoint text (origin, size, "
    "base64 root hash), a blank line, the board key's signature line, then the witnesses' "
    "cosignature/v1 lines (docs/protocol.md §14).",
)


class CheckpointApi(_TextApi):
    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_checkpoint",
        responses={(200, "text/plain"): CHECKPOINT_TEXT, **error_responses(404)},
        description="The latest checkpoint of the election's board with its cosignatures.",
    )
    def get(self, request: Request, election_id):
        board_get_head(election_id=election_id)
        checkpoint = board_checkpoint_latest(election_id=election_id)
        if checkpoint is None:
            raise NotCheckpointedYet("The board has no checkpoint yet; try again in a few seconds.")
        return _text(board_checkpoint_text(checkpoint))


class CheckpointOutput(serializers.Serializer):
    size = serializers.IntegerField()
    root = serializers.CharField(help_text="Root hash, 64 hex digits")
    note = serializers.CharField(help_text="The signed checkpoint note with its cosignatures")
    created_at = serializers.DateTimeField()


class CheckpointListApi(PublicApiView):
    MAX_LIMIT = 500

    class OutputSerializer(serializers.Serializer):
        results = CheckpointOutput(many=True)
        next = serializers.CharField(allow_null=True, help_text="URL of the next page")

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_checkpoints",
        parameters=[
            OpenApiParameter("after", int, description="Checkpoints of size > after (default 0)."),
            OpenApiParameter("limit", int, description="Page size, 1–500 (default 100)."),
        ],
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description="Every checkpoint of the board in increasing size, with its cosignatures: "
        "what pnyx-verify checks against the export and the manifest's witnesses.",
    )
    def get(self, request: Request, election_id) -> Response:
        board_get_head(election_id=election_id)
        after = _int_param(request, "after", default=0)
        limit = max(1, min(_int_param(request, "limit", minimum=1, default=100), self.MAX_LIMIT))
        rows = list(
            BoardCheckpoint.objects.filter(election_id=election_id, size__gt=after).order_by(
                "size"
            )[: limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
        results = [
            {
                "size": row.size,
                "root": row.root,
                "note": board_checkpoint_text(row),
                "created_at": row.created_at,
            }
            for row in rows
        ]
        next_url = None
        if more:
            query = request.query_params.copy()
            query["after"] = str(rows[-1].size)
            query["limit"] = str(limit)
            next_url = f"{request.path}?{query.urlencode()}"
        return Response(self.OutputSerializer({"results": results, "next": next_url}).data)


class InclusionProofApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        index = serializers.IntegerField()
        size = serializers.IntegerField()
        proof = serializers.ListField(
            child=serializers.CharField(), help_text="RFC 9162 PATH, base64 hashes, leaf side first"
        )

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_inclusion_proof",
        parameters=[
            OpenApiParameter("index", int, required=True, description="The entry's seq"),
            OpenApiParameter("size", int, required=True, description="A checkpointed tree size"),
        ],
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description="The inclusion proof of entry `index` in the tree of `size` entries.",
    )
    def get(self, request: Request, election_id) -> Response:
        board_get_head(election_id=election_id)
        size = _int_param(request, "size", minimum=1)
        index = _int_param(request, "index")
        if index >= size:
            raise exceptions.ValidationError({"index": "less than size"})
        try:
            proof = board_inclusion_proof(election_id=election_id, index=index, size=size)
        except TreeRangeError:
            raise NotCheckpointedYet(
                f"The board's tree does not hold {size} entries yet."
            ) from None
        return Response({"index": index, "size": size, "proof": _b64(proof)})


class ConsistencyProofApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        old = serializers.IntegerField()
        new = serializers.IntegerField()
        proof = serializers.ListField(
            child=serializers.CharField(), help_text="RFC 9162 PROOF, base64 hashes"
        )

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_consistency_proof",
        parameters=[
            OpenApiParameter("old", int, required=True, description="The smaller tree size"),
            OpenApiParameter("new", int, required=True, description="The larger tree size"),
        ],
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description="The consistency proof from the tree of `old` entries to the tree of `new`.",
    )
    def get(self, request: Request, election_id) -> Response:
        board_get_head(election_id=election_id)
        old = _int_param(request, "old")
        new = _int_param(request, "new")
        if old > new:
            raise exceptions.ValidationError({"old": "at most new"})
        try:
            proof = board_consistency_proof(election_id=election_id, old=old, new=new)
        except TreeRangeError:
            raise NotCheckpointedYet(f"The board's tree does not hold {new} entries yet.") from None
        return Response({"old": old, "new": new, "proof": _b64(proof)})


class EntryProofApi(_TextApi):
    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_entry_proof",
        parameters=[
            OpenApiParameter("seq", int, OpenApiParameter.PATH, description="The entry's seq")
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR,
                description="c2sp.org/tlog-proof@v1 with the entry's canonical line as extra "
                "data, its inclusion proof and the latest checkpoint with its cosignatures: "
                "a receipt anyone checks offline (docs/protocol.md §14.6).",
            ),
            **error_responses(404),
        },
    )
    def get(self, request: Request, election_id, seq: int):
        head = board_get_head(election_id=election_id)
        if seq > head.seq:
            raise Http404("No such entry on the board.")
        proof = board_entry_proof(election_id=election_id, seq=seq)
        if proof is None:
            raise NotCheckpointedYet(
                "No checkpoint covers this entry yet; try again in a few seconds."
            )
        return _text(proof.to_text())
