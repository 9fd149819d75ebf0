"""Trustees' uploads and the ceremony's and tally's progress.

One view per operation. Trustee messages authenticate themselves (enrolment token, or the
trustee's signature on its envelope): the upload endpoint takes no session and no CSRF token.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api_parsers import DeferredJsonParser, InvalidJson, api_json_load
from config.api_schema import error_responses
from config.api_views import PublicApiView
from crypto.ballot import MAX_OPTIONS, MAX_QUESTIONS
from crypto.hashing import parse_json
from tally.errors import InvalidTrusteeMessage, NoCeremony
from tally.selectors import ceremony_status, tally_status
from tally.services.messages import trustee_message_receive
from voting.api import request_content_length, require_json
from voting.selectors import election_get

TAGS = ["trustees and tally"]
STALL_HELP = (
    'null while it moves; else {"since", "attempts" (automatic resumptions since), '
    '"last_attempt_at", "resuming" (the server resumes it by itself), "waiting_for": '
    '[{"index", "name", "mode", "reason"}] (trustees only they can bring), "message"}'
)
#: room for a partial decryption of the largest tally (≈ 700 bytes per option) and then some
BYTES_PER_POSITION = 800
MIN_BODY = 1024 * 1024
#: the largest message any election can need (its own limit, :func:`_body_limit`, is tighter)
MAX_BODY = MAX_QUESTIONS * MAX_OPTIONS * BYTES_PER_POSITION + 65536


def _body_limit(election) -> int:
    if election.manifest_json:
        manifest = parse_json(election.manifest_json)
        positions = sum(len(q["options"]) for q in manifest["questions"])
        return max(MIN_BODY, positions * BYTES_PER_POSITION + 65536)
    return MIN_BODY


class TrusteeMessageApi(PublicApiView):
    parser_classes = [DeferredJsonParser]
    #: the request guard (config/middleware.py) lets a body this large reach the view, which
    #: reads it as a stream up to the election's own limit
    request_max_bytes = MAX_BODY

    class InputDocumentation(serializers.Serializer):
        version = serializers.IntegerField()
        election = serializers.UUIDField()
        trustee = serializers.IntegerField(help_text="The trustee's index, as in the URL")
        kind = serializers.ChoiceField(
            choices=["registration", "commitment", "deal", "check", "confirmation", "decryption"]
        )
        message = serializers.JSONField(help_text="The board payload (docs/protocol.md §12)")
        signature = serializers.JSONField(
            required=False, help_text="Trustee signature on the envelope (all but registration)"
        )
        token = serializers.CharField(required=False, help_text="Registration only")

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected", "late"])
        kind = serializers.CharField()
        entries = serializers.ListField(
            child=serializers.IntegerField(), required=False, help_text="Board entries appended"
        )
        phase = serializers.CharField(required=False)
        reason = serializers.CharField(required=False)

    @extend_schema(
        tags=TAGS,
        operation_id="trustee_message",
        request={"application/json": InputDocumentation},
        responses={
            200: OutputSerializer,
            202: OutputSerializer,
            **error_responses(400, 403, 404, 409, 413, 415),
        },
        description=(
            "A trustee's message, as written by `pnyx-trustee` (docs/trustees.md). A "
            "registration carries the one-time enrolment token e-mailed to the trustee; every "
            "other message is an envelope signed by the trustee's registered key. Answers 202 "
            "when accepted (`rejected`: a partial decryption whose proof failed, published with "
            "its rejection; the trustee may send a corrected one), 200 for a message received "
            "before (`duplicate`) or a partial decryption after the result (`late`). Errors: "
            "`enrolment_refused` (403), `invalid_trustee_signature` (403), "
            "`invalid_trustee_message` (400; e.g. a commitment, deal, confirmation or partial "
            "decryption whose own signature, §8.9, fails), `wrong_phase`, `already_registered`, "
            "`decryption_attempts_exhausted` (409: 3 rejected partial decryptions), "
            "`unknown_trustee` (404)."
        ),
        examples=[
            OpenApiExample(
                "Accepted",
                response_only=True,
                status_codes=["202"],
                value={"status": "accepted", "kind": "deal", "entries": [17], "phase": "deal"},
            )
        ],
    )
    def post(self, request: Request, election_id, index: int) -> Response:
        election = election_get(election_id=election_id)
        require_json(request)
        limit = _body_limit(election)
        length = request_content_length(request)
        if length is not None and length > limit:
            return _too_large(limit)
        body = request._request.read(limit + 1)
        if len(body) > limit:
            return _too_large(limit)
        try:
            data = api_json_load(body)
        except InvalidJson as exc:
            raise InvalidTrusteeMessage(f"The body is not valid JSON: {exc}") from exc
        answer = trustee_message_receive(election=election, index=index, body=data, via="upload")
        accepted = answer["status"] in ("accepted", "rejected")
        return Response(
            self.OutputSerializer(answer).data,
            status=status.HTTP_202_ACCEPTED if accepted else status.HTTP_200_OK,
        )


def _too_large(limit: int) -> Response:
    from config.api_errors import error_body

    return Response(
        error_body(
            code="payload_too_large", message=f"A trustee message here has at most {limit} bytes."
        ),
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


class CeremonyStatusApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        class TrusteeRow(serializers.Serializer):
            index = serializers.IntegerField()
            name = serializers.CharField()
            mode = serializers.ChoiceField(choices=["worker", "offline"])
            state = serializers.CharField()
            registered = serializers.BooleanField()
            public_key = serializers.CharField(allow_null=True)
            committed = serializers.BooleanField()
            dealt = serializers.BooleanField()
            checked = serializers.BooleanField()
            confirmed = serializers.BooleanField()
            disqualified = serializers.CharField(allow_null=True)
            last_dispatch = serializers.CharField(allow_null=True)
            last_seen = serializers.CharField(
                allow_null=True,
                help_text="A worker trustee: when its worker last answered it had nothing to do",
            )
            verified_seq = serializers.IntegerField(
                allow_null=True, help_text="…and the board entry it had verified up to then"
            )

        phase = serializers.ChoiceField(
            choices=["registration", "commit", "deal", "check", "confirm", "done", "failed"]
        )
        phase_label = serializers.CharField()
        threshold = serializers.IntegerField()
        n = serializers.IntegerField()
        context = serializers.CharField(allow_null=True)
        trustees = TrusteeRow(many=True)
        awaiting = serializers.ListField(
            child=serializers.IntegerField(), help_text="Trustees the current phase waits for"
        )
        note = serializers.CharField(allow_null=True)
        phase_started_at = serializers.CharField(allow_null=True)
        finished_at = serializers.CharField(allow_null=True)
        stall = serializers.JSONField(
            allow_null=True,
            help_text=STALL_HELP,
        )

    @extend_schema(
        tags=TAGS,
        operation_id="ceremony_status",
        responses={200: OutputSerializer, **error_responses(404)},
        description=(
            "The key ceremony's phase and every trustee's progress (no e-mail addresses; what a "
            "trustee's worker reported and its queue are shown to officials in the admin only)."
        ),
    )
    def get(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        found = ceremony_status(election=election)
        if found is None:
            raise NoCeremony()
        return Response(self.OutputSerializer(found).data)


class TallyStatusApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        election = serializers.UUIDField()
        state = serializers.CharField()
        status = serializers.ChoiceField(
            choices=["not_started", "aggregating", "decrypting", "stalled", "done"],
            help_text="`stalled`: the run has not moved for PNYX_STALL_SECONDS (see `stall`)",
        )
        stage = serializers.ChoiceField(
            choices=["aggregating", "decrypting", "done"],
            required=False,
            help_text="Where the run is, stalled or not",
        )
        stall = serializers.JSONField(required=False, allow_null=True, help_text=STALL_HELP)
        threshold = serializers.IntegerField(allow_null=True)
        frozen_head = serializers.JSONField(required=False, help_text='{"seq", "hash"} at close')
        ballots_total = serializers.IntegerField(required=False)
        ballots_aggregated = serializers.IntegerField(required=False)
        chunks_total = serializers.IntegerField(required=False)
        chunks_done = serializers.IntegerField(required=False)
        failure = serializers.JSONField(
            required=False,
            allow_null=True,
            help_text='{"error", "at"}: the aggregation\'s last attempt failed (which chunk, '
            "why); the tally stays unpublished until it is resumed (automatically: `stall`)",
        )
        chunks_failed = serializers.JSONField(
            required=False,
            help_text='[{"number", "error", "at"}]: chunks whose last attempt failed',
        )
        counted = serializers.IntegerField(required=False, allow_null=True)
        superseded = serializers.IntegerField(required=False, allow_null=True)
        weight = serializers.IntegerField(required=False, allow_null=True)
        tally_seq = serializers.IntegerField(required=False, allow_null=True)
        decryptions = serializers.JSONField(
            required=False,
            help_text='{"valid": [j…], "rejected": [{"trustee", "reason", "at"}], "late": [j…], '
            '"needed": int, "missing": [{"index", "name", "mode"}]}',
        )
        waiting_for_trustees = serializers.BooleanField(required=False)
        started_at = serializers.CharField(required=False, allow_null=True)
        published_at = serializers.CharField(required=False, allow_null=True)
        finished_at = serializers.CharField(required=False, allow_null=True)
        result = serializers.JSONField(
            required=False, allow_null=True, help_text="The result entry's payload (§12.4)"
        )
        mix = serializers.JSONField(
            required=False,
            allow_null=True,
            help_text='The mixnet (§15.11), null without one: {"status", "rows", "width", '
            '"next_mixer", "asked_at", "shuffled": [j…], "skipped": [j…], "decrypted": [j…], '
            '"error"}',
        )

    @extend_schema(
        tags=TAGS,
        operation_id="tally_status",
        responses={200: OutputSerializer, **error_responses(404)},
        description=(
            "The tally's progress: ballots added up, partial decryptions received, trustees "
            "still missing (with fewer than t valid decryptions the tally waits for them), "
            "and the result once published."
        ),
    )
    def get(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        return Response(self.OutputSerializer(tally_status(election=election)).data)
