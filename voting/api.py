"""Public election and bulletin-board API, casting and auditing ballots.

One view per operation, each with its own serializers; the board views return the stored
entries (the export streams the stored canonical lines byte for byte).
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from board.api import BOARD_TAGS, BoardEntryOutput
from board.keys import board_public_key_hex
from board.selectors import (
    board_ballot_entry,
    board_entries,
    board_entry_json,
)
from config.api_parsers import DeferredJsonParser
from config.api_schema import error_responses
from config.api_views import PublicApiView
from crypto.errors import InvalidEncoding
from crypto.hashing import check_digest_hex, parse_json
from identity.authentication import IsVoterOfElection, VoterSessionAuthentication
from voting.errors import InvalidReceipt
from voting.models import SLUG_VALIDATOR, Election, ElectionState
from voting.receipts import RECEIPT_FIELDS, RECEIPT_TAG, receipt_signature_valid
from voting.selectors import (
    ballot_superseded_by,
    election_get,
    election_get_for_casting,
    election_list_public,
)
from voting.services.casting import ballot_audit_submit, ballot_cast
from voting.services.manifest import questions_json

ELECTION_TAGS = ["elections"]
BALLOT_TAGS = ["ballots"]


# --- Elections ---------------------------------------------------------------------------------


class OptionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Manifest id, e.g. q1o2")
    title = serializers.CharField()
    description = serializers.CharField()
    cost = serializers.IntegerField(allow_null=True)


class QuestionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Manifest id, e.g. q1")
    kind = serializers.ChoiceField(choices=["referendum", "single", "approval", "budget", "score"])
    title = serializers.CharField()
    description = serializers.CharField()
    min = serializers.IntegerField(help_text="Selections, or for a score question total score")
    max = serializers.IntegerField(help_text="Selections, or for a score question total score")
    budget = serializers.IntegerField(allow_null=True)
    max_score = serializers.IntegerField(
        required=False, help_text="Score questions only: each option gets 0 … max_score"
    )
    options = OptionOutput(many=True)


class ElectionSummaryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=ElectionState.choices)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    fingerprint = serializers.CharField(allow_blank=True)
    url = serializers.CharField()


def _election_summary(election: Election) -> dict:
    return {
        "id": str(election.pk),
        "slug": election.slug,
        "title": election.title,
        "state": election.state,
        "opens_at": election.opens_at,
        "closes_at": election.closes_at,
        "fingerprint": election.fingerprint,
        "url": reverse("voting:election", kwargs={"election_id": election.pk}),
    }


PUBLIC_STATES = [s for s in ElectionState.values if s != "draft"]


def tracker_checked(tracker: object, field: str = "tracker") -> str:
    """A tracker from outside, checked before it reaches SQL: 64 lowercase hex digits (400)."""
    try:
        return check_digest_hex(tracker, field)
    except InvalidEncoding as exc:
        raise exceptions.ValidationError({field: str(exc)}) from None


class ElectionListApi(PublicApiView):
    class OutputSerializer(ElectionSummaryOutput):
        pass

    @extend_schema(
        tags=ELECTION_TAGS,
        operation_id="elections_list",
        parameters=[
            OpenApiParameter(
                "slug",
                str,
                description="Only the election with this slug.",
                pattern=SLUG_VALIDATOR.regex.pattern.replace("\\Z", "$"),
            ),
            OpenApiParameter("state", str, enum=PUBLIC_STATES),
        ],
        responses={200: OutputSerializer(many=True), **error_responses(400)},
        description="Every election that has left the draft state, newest first.",
    )
    def get(self, request: Request) -> Response:
        elections = election_list_public()
        slug, state = request.query_params.get("slug"), request.query_params.get("state")
        if slug:
            if not SLUG_VALIDATOR.regex.match(slug):
                raise exceptions.ValidationError({"slug": str(SLUG_VALIDATOR.message)})
            elections = elections.filter(slug=slug)
        if state:
            if state not in PUBLIC_STATES:
                raise exceptions.ValidationError({"state": f"one of {', '.join(PUBLIC_STATES)}"})
            elections = elections.filter(state=state)
        data = [_election_summary(e) for e in elections[:500]]
        return Response(self.OutputSerializer(data, many=True).data)


class ElectionDetailApi(PublicApiView):
    class OutputSerializer(ElectionSummaryOutput):
        description = serializers.CharField()
        questions = QuestionOutput(many=True)
        threshold = serializers.IntegerField(allow_null=True)
        public_key = serializers.CharField(allow_blank=True, help_text="Election key K (SEC1 hex)")
        trustees = serializers.JSONField(help_text='[{"index", "name", "public_key"}]')
        verification_keys = serializers.ListField(child=serializers.CharField())
        ceremony = serializers.CharField(allow_blank=True, help_text="Key ceremony context digest")
        credentials = serializers.JSONField(
            allow_null=True, help_text='{"count", "digest", "total_weight"} once published'
        )
        manifest = serializers.JSONField(
            allow_null=True, help_text="The frozen manifest (crypto/manifest.py) once open"
        )
        board = serializers.JSONField(help_text="URLs of the board endpoints")

    @extend_schema(
        tags=ELECTION_TAGS,
        operation_id="elections_retrieve",
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        questions = questions_json(election)
        kwargs = {"election_id": election.pk}
        data = {
            **_election_summary(election),
            "description": election.description,
            "questions": questions,
            "threshold": election.threshold,
            "public_key": election.public_key,
            "trustees": election.trustees,
            "verification_keys": election.verification_keys,
            "ceremony": election.ceremony_context,
            "credentials": {
                "count": election.credentials_count,
                "digest": election.credentials_digest,
                "total_weight": election.credentials_total_weight,
            }
            if election.credentials_published
            else None,
            "manifest": parse_json(election.manifest_json) if election.manifest_json else None,
            "board": {
                "entries": reverse("board:entries", kwargs=kwargs),
                "export": reverse("board:export", kwargs=kwargs),
                "head": reverse("board:head", kwargs=kwargs),
            },
        }
        return Response(self.OutputSerializer(data).data)


# --- The board ---------------------------------------------------------------------------------


class BoardBallotApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        entry = BoardEntryOutput()
        superseded_by = serializers.CharField(
            allow_null=True,
            help_text="Tracker of a later ballot of the same credential (this one is then not "
            "counted); null for the last ballot of its credential and for audits.",
        )

    @extend_schema(
        tags=BOARD_TAGS,
        operation_id="board_ballot",
        parameters=[
            OpenApiParameter(
                "tracker",
                str,
                OpenApiParameter.PATH,
                pattern="^[0-9a-f]{64}$",
                description="SHA-256 of the canonical ballot, 64 lowercase hex digits",
            )
        ],
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description="The board entry (kind ballot or audit) of a tracker.",
    )
    def get(self, request: Request, election_id, tracker: str) -> Response:
        election = election_get(election_id=election_id)
        tracker = tracker_checked(tracker)
        entry = board_ballot_entry(election_id=election.pk, tracker=tracker)
        later = None
        if entry.kind == "ballot":
            later = ballot_superseded_by(ballot=entry.ballot)
        return Response({"entry": board_entry_json(entry), "superseded_by": later})


class BoardKeyApi(PublicApiView):
    class OutputSerializer(serializers.Serializer):
        algorithm = serializers.CharField()
        public_key = serializers.CharField(help_text="Raw Ed25519 public key, 64 hex digits")
        receipt_domain = serializers.CharField(
            help_text="A receipt's signed message is this tag, a zero byte, then the canonical "
            "JSON (RFC 8785) of the receipt_fields"
        )
        receipt_fields = serializers.ListField(child=serializers.CharField())

    @extend_schema(tags=BOARD_TAGS, operation_id="board_key", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            {
                "algorithm": "Ed25519",
                "public_key": board_public_key_hex(),
                "receipt_domain": RECEIPT_TAG,
                "receipt_fields": list(RECEIPT_FIELDS),
            }
        )


# --- Casting -----------------------------------------------------------------------------------


class ReceiptOutput(serializers.Serializer):
    class Head(serializers.Serializer):
        seq = serializers.IntegerField()
        hash = serializers.CharField()

    election = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["ballot", "audit"])
    tracker = serializers.CharField(help_text="SHA-256 of the canonical ballot")
    seq = serializers.IntegerField(help_text="Board position of the entry")
    entry_hash = serializers.CharField()
    head = Head(help_text="The board head right after the append (this entry)")
    signature = serializers.CharField(help_text="Ed25519 by the board key, 128 hex digits")


class BallotDocumentation(serializers.Serializer):
    """The encrypted ballot (crypto/ballot.py): parsed strictly, as canonical JSON values."""

    version = serializers.IntegerField()
    election = serializers.CharField(help_text="The election's manifest fingerprint")
    credential = serializers.CharField(help_text="The credential's public key (SEC1 hex)")
    answers = serializers.ListField(child=serializers.JSONField())
    signature = serializers.JSONField(help_text='{"commitment", "response"}')


def request_content_length(request: Request) -> int | None:
    """The declared body length (0 when absent, None when not a number): checked against the
    limit before the body is read."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def require_json(request: Request) -> None:
    """Refuse (415) a body that is not declared as JSON."""
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        raise exceptions.UnsupportedMediaType(request.content_type)


class BallotCastApi(APIView):
    authentication_classes = [VoterSessionAuthentication]
    permission_classes = [IsVoterOfElection]
    parser_classes = [DeferredJsonParser]

    @extend_schema(
        tags=BALLOT_TAGS,
        operation_id="ballots_cast",
        request={"application/json": BallotDocumentation},
        responses={
            201: ReceiptOutput,
            200: OpenApiResponse(
                ReceiptOutput,
                description="The same ballot, byte for byte, is on the board already (it was "
                "sent again after a lost answer): the receipt of that entry, nothing appended.",
            ),
            **error_responses(400, 401, 403, 404, 409, 413, 415, 429),
        },
        description=(
            "Cast an encrypted ballot. Needs a voter session (cookie, CSRF token). Answers `201` "
            "with the receipt. **Idempotent**: a voter who sends again the very ballot it cast "
            "(same bytes, hence same tracker: its answer was lost to a network error, a worker "
            "that died or a `503`) gets `200` with the receipt of the entry already on the "
            "board, exactly as first given, and nothing is appended — while that ballot is the "
            "last of its credential; otherwise, or from another voter, `duplicate_ballot` (409). "
            "A client may therefore send a ballot again, unchanged, after any answer but a 4xx "
            "(docs/protocol.md §11.9). Checks, in "
            "order, each with its error code: `not_authenticated` (401), `election_not_open`, "
            "`outside_voting_window` (409), `payload_too_large` (413), `invalid_ballot` (400), "
            "`wrong_election` (400), `unknown_credential` (403), `ballot_was_audited`, "
            "`duplicate_ballot` (409, a tracker already on the board, other than the re-post above), "
            "`invalid_signature`, "
            "`invalid_proof` (400), `credential_mismatch` (403: the voter's first ballot used "
            "another credential), `revote_rate_limited` (429 with `Retry-After`, a revote past "
            "`PNYX_REVOTES_PER_VOTER_PER_HOUR`), then under the board lock `credential_taken` "
            "(403: another voter cast with this credential) and `ballot_was_audited` (409: a "
            "ciphertext of the ballot is one of an audit). The voter's first ballot binds the "
            "voter to its credential. A later ballot with the same credential supersedes the "
            "earlier one."
        ),
        examples=[
            OpenApiExample(
                "Receipt",
                response_only=True,
                status_codes=["201"],
                value={
                    "election": "6f1c…",
                    "kind": "ballot",
                    "tracker": "9b2e…",
                    "seq": 42,
                    "entry_hash": "c0ff…",
                    "head": {"seq": 42, "hash": "c0ff…"},
                    "signature": "5a1d…",
                },
            )
        ],
    )
    def post(self, request: Request, election_id) -> Response:
        election = election_get_for_casting(election_id=election_id)
        require_json(request)
        django_request = request._request
        cast = ballot_cast(
            election=election,
            voter_id=request.user.voter_id(election.pk),
            content_length=request_content_length(request),
            read_body=lambda limit: django_request.read(limit + 1),
        )
        # The receipt is plain JSON already (ReceiptOutput documents it): the hot path skips a
        # serializer pass. 201: appended now; 200: it was on the board already (a re-post).
        return Response(
            cast.receipt, status=status.HTTP_201_CREATED if cast.appended else status.HTTP_200_OK
        )


class AuditApi(APIView):
    authentication_classes = [VoterSessionAuthentication]
    permission_classes = [IsVoterOfElection]
    parser_classes = [DeferredJsonParser]

    class InputDocumentation(serializers.Serializer):
        ballot = BallotDocumentation()
        randomness = serializers.JSONField(help_text="BallotSecrets JSON (crypto/ballot.py)")

    class OutputSerializer(serializers.Serializer):
        class Plaintext(serializers.Serializer):
            question = serializers.CharField()
            selections = serializers.JSONField(
                help_text='[{"option": id, "selected": bool}], or for a score question '
                '[{"option": id, "score": int}]'
            )

        receipt = ReceiptOutput()
        plaintexts = Plaintext(many=True)

    @extend_schema(
        tags=BALLOT_TAGS,
        operation_id="ballots_audit",
        request={"application/json": InputDocumentation},
        responses={
            201: OutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 429),
        },
        description=(
            "Benaloh audit: post a ballot with its encryption randomness instead of casting it. "
            "The ballot is checked like a cast one, the randomness must reproduce every "
            "ciphertext (`invalid_randomness`), and an `audit` entry is appended: never counted, "
            "and neither the ballot nor any of its ciphertexts can ever be cast afterwards. An "
            "audit never binds the voter to its credential, but must use the credential the "
            "voter is bound to (`credential_mismatch`), and not one another voter is bound to "
            "(`credential_taken`). Returns what the ballot encrypts."
        ),
    )
    def post(self, request: Request, election_id) -> Response:
        election = election_get_for_casting(election_id=election_id)
        require_json(request)
        django_request = request._request
        result = ballot_audit_submit(
            election=election,
            voter_id=request.user.voter_id(election.pk),
            content_length=request_content_length(request),
            read_body=lambda limit: django_request.read(limit + 1),
        )
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)


class ReceiptVerifyApi(PublicApiView):
    class InputSerializer(ReceiptOutput):
        pass

    class OutputSerializer(serializers.Serializer):
        signature_valid = serializers.BooleanField(help_text="Signed by this board's key")
        on_board = serializers.BooleanField(
            help_text="The board holds an entry with this seq, hash, kind and tracker"
        )
        superseded_by = serializers.CharField(allow_null=True)

    @extend_schema(
        tags=BALLOT_TAGS,
        operation_id="receipts_verify",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404)},
        description=(
            "Check a receipt against this server: its signature and its entry on the board. "
            "Receipts can also be checked offline (docs/protocol.md §11)."
        ),
    )
    def post(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        receipt = request.data
        if not isinstance(receipt, dict) or set(receipt) != {*RECEIPT_FIELDS, "signature"}:
            raise InvalidReceipt(
                f"A receipt has the fields {', '.join(RECEIPT_FIELDS)}, signature."
            )
        if receipt.get("election") != str(election.pk):
            raise InvalidReceipt("The receipt is for another election.")
        tracker = receipt["tracker"]
        try:
            check_digest_hex(tracker, "tracker")  # before it reaches SQL
        except InvalidEncoding as exc:
            raise InvalidReceipt(f"The receipt's {exc}.") from None
        later = None
        entry = board_entries(election_id=election.pk).filter(tracker=tracker).first()
        on_board = (
            entry is not None
            and entry.seq == receipt.get("seq")
            and entry.hash == receipt.get("entry_hash")
            and entry.kind == receipt.get("kind")
        )
        if on_board and entry.kind == "ballot":
            later = ballot_superseded_by(ballot=entry.ballot)
        return Response(
            {
                "signature_valid": receipt_signature_valid(receipt),
                "on_board": on_board,
                "superseded_by": later,
            }
        )
