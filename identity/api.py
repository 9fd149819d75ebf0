"""Voter login API: one view per operation, each with its own serializers."""

from __future__ import annotations

from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_schema import ApiErrorSerializer, error_responses
from identity.authentication import CsrfProtected, Voter, VoterSessionAuthentication
from identity.selectors import election_get, voter_get
from identity.services.login import login_code_request, login_code_verify
from identity.sessions import client_ip, voter_session_login, voter_session_logout

TAGS = ["voters"]


class VoterLookupSerializer(serializers.Serializer):
    identifier = serializers.CharField(required=False, max_length=200, trim_whitespace=True)
    email = serializers.CharField(required=False, max_length=254, trim_whitespace=True)

    def validate(self, attrs: dict) -> dict:
        if ("identifier" in attrs) == ("email" in attrs):
            raise serializers.ValidationError("Give either your identifier or your e-mail address.")
        return attrs


class MeOutput(serializers.Serializer):
    election = serializers.UUIDField()
    authenticated = serializers.BooleanField()
    voted = serializers.BooleanField(allow_null=True, help_text="null when not logged in")


def _me(election, voter) -> dict:
    return {
        "election": str(election.pk),
        "authenticated": voter is not None,
        "voted": None if voter is None else voter.voted_at is not None,
    }


class LoginRequestApi(APIView):
    """Ask for a one-time login code by e-mail."""

    authentication_classes = [CsrfProtected]
    permission_classes = [AllowAny]

    class InputSerializer(VoterLookupSerializer):
        pass

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()

    @extend_schema(
        tags=TAGS,
        operation_id="voter_login_request",
        request=InputSerializer,
        responses={202: OutputSerializer, **error_responses(400, 403, 404, 429)},
        description=(
            "Sends a one-time login code to the voter's e-mail address. The answer is the same "
            "whether or not the identifier or address is on the roll. Rate-limited per client."
        ),
    )
    def post(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login_code_request(
            election=election,
            identifier=data.validated_data.get("identifier"),
            email=data.validated_data.get("email"),
            client_ip=client_ip(request),
        )
        return Response(
            {"detail": "If you are on the voter roll, a login code is on its way to your e-mail."},
            status=status.HTTP_202_ACCEPTED,
        )


class LoginVerifyApi(APIView):
    """Log in with the code received by e-mail."""

    authentication_classes = [CsrfProtected]
    permission_classes = [AllowAny]

    class InputSerializer(VoterLookupSerializer):
        code = serializers.CharField(max_length=32)

    @extend_schema(
        tags=TAGS,
        operation_id="voter_login_verify",
        request=InputSerializer,
        responses={200: MeOutput, **error_responses(400, 403, 404, 429)},
        description="Starts a voter session (cookie) for this election. Codes are single use.",
    )
    def post(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voter = login_code_verify(
            election=election,
            identifier=data.validated_data.get("identifier"),
            email=data.validated_data.get("email"),
            code=data.validated_data["code"],
            client_ip=client_ip(request),
        )
        voter_session_login(request._request, voter)
        return Response(MeOutput(_me(election, voter)).data)


class LogoutApi(APIView):
    """End the voter session for this election."""

    authentication_classes = [CsrfProtected]
    permission_classes = [AllowAny]

    @extend_schema(tags=TAGS, operation_id="voter_logout", request=None, responses={204: None})
    def post(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        voter_session_logout(request._request, election.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """Is this browser logged in to the election, and has the voter voted? Also sets the CSRF
    cookie that the voter endpoints require."""

    authentication_classes = [VoterSessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS, operation_id="voter_me", responses={200: MeOutput, 404: ApiErrorSerializer}
    )
    def get(self, request: Request, election_id) -> Response:
        election = election_get(election_id=election_id)
        get_token(request._request)  # sets the csrftoken cookie
        voter = None
        if isinstance(request.user, Voter):
            voter_id = request.user.voter_id(election.pk)
            if voter_id is not None:
                voter = voter_get(election_id=election.pk, voter_id=voter_id)
        return Response(MeOutput(_me(election, voter)).data)
