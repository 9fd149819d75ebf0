"""DRF authentication for voters (session cookie + CSRF) and the permission that requires a voter
session for the election in the URL."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission

from identity.sessions import SESSION_KEY


class Voter:
    """``request.user`` on voter endpoints: the voter sessions of this browser, by election."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, voters: dict[str, int]) -> None:
        self.voters = voters

    def voter_id(self, election_id) -> int | None:
        return self.voters.get(str(election_id))


class VoterSessionAuthentication(SessionAuthentication):
    """A voter logged in through identity.services.login; unsafe methods need the CSRF token."""

    def authenticate(self, request):
        voters = request._request.session.get(SESSION_KEY)
        if not voters:
            return None
        self.enforce_csrf(request)
        return Voter(dict(voters)), None

    def authenticate_header(self, request) -> str:
        return 'Session realm="voter"'


class CsrfProtected(BaseAuthentication):
    """No identity, but unsafe methods must carry the CSRF token (login endpoints)."""

    def authenticate(self, request):
        SessionAuthentication().enforce_csrf(request)
        return None

    def authenticate_header(self, request) -> str:
        return 'Session realm="voter"'


class IsVoterOfElection(BasePermission):
    """The session is logged in as a voter of the election named by ``election_id``."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, Voter) and user.voter_id(view.kwargs["election_id"]) is not None:
            return True
        raise exceptions.NotAuthenticated("Log in as a voter of this election first.")
