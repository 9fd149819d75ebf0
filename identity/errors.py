"""Expected failures of the identity services; config/api_errors.py turns them into responses."""

from __future__ import annotations

from rest_framework import status

from config.api_errors import ApplicationError, ServiceUnavailable


class RollInvalid(ApplicationError):
    code = "roll_invalid"
    status = status.HTTP_400_BAD_REQUEST
    message = "The voter roll has errors: nothing was imported."


class RollFrozen(ApplicationError):
    code = "roll_frozen"
    status = status.HTTP_409_CONFLICT
    message = "Credentials are issued for this election: the voter roll can no longer change."


class NoVoters(ApplicationError):
    code = "no_voters"
    status = status.HTTP_409_CONFLICT
    message = "The election has no voters: import the voter roll first."


class CredentialsAlreadyPublished(ApplicationError):
    code = "credentials_already_published"
    status = status.HTTP_409_CONFLICT
    message = "The public credentials of this election are already published."


class CredentialIssuanceInProgress(ApplicationError):
    code = "credential_issuance_in_progress"
    status = status.HTTP_409_CONFLICT
    message = "Credentials are already being generated and sent for this election."


class CredentialsInvalid(ApplicationError):
    code = "credentials_invalid"
    status = status.HTTP_400_BAD_REQUEST
    message = "The public credential file is not valid."


class CredentialsNotAllowed(ApplicationError):
    code = "credentials_not_allowed"
    status = status.HTTP_409_CONFLICT
    message = "Credentials can only be issued before the election opens."


class InvalidLoginCode(ApplicationError):
    code = "invalid_login_code"
    status = status.HTTP_400_BAD_REQUEST
    message = "The login code is wrong, expired or already used."


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = status.HTTP_429_TOO_MANY_REQUESTS
    message = "Too many attempts: try again later."


class LoginCodeUnavailable(ServiceUnavailable):
    """The task that e-mails the code could not be queued (the broker is down or restarting):
    ``503`` with ``Retry-After``, whether or not the voter exists (config/broker.py)."""

    code = "login_code_unavailable"
    message = "We could not send a login code right now. Please try again in a minute."


class CredentialIssuanceNotStarted(ServiceUnavailable):
    """The credential authority's task could not be queued (the broker is down or restarting):
    the run is marked failed, nothing was generated or sent; start it again shortly."""

    code = "credential_issuance_not_started"
    message = (
        "The task queue could not be reached, so the credentials were not generated and nothing "
        "was sent. Please try again in a minute."
    )


# --- A voter's credential and limits (checked when casting and auditing) ------------------------


class CredentialMismatch(ApplicationError):
    code = "credential_mismatch"
    status = status.HTTP_403_FORBIDDEN
    message = (
        "You cast your first ballot with another credential: every later ballot and audit of "
        "yours must use that credential."
    )


class CredentialTaken(ApplicationError):
    code = "credential_taken"
    status = status.HTTP_403_FORBIDDEN
    message = "Another voter has already cast a ballot with this credential."


class RevoteRateLimited(ApplicationError):
    """Answered with ``Retry-After`` (config/api_errors.py) and ``details.retry_after``."""

    code = "revote_rate_limited"
    status = status.HTTP_429_TOO_MANY_REQUESTS
    message = "You have changed your vote too often in a short time: try again later."

    def __init__(self, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"You have cast the most ballots allowed in an hour; try again in {retry_after} s.",
            details={"retry_after": retry_after},
        )


class AuditLimitReached(ApplicationError):
    code = "audit_limit_reached"
    status = status.HTTP_429_TOO_MANY_REQUESTS
    message = "You have audited as many ballots as allowed in this election."
