"""Expected failures of the voting services; config/api_errors.py turns them into responses."""

from __future__ import annotations

from rest_framework import status

from config.api_errors import ApplicationError

# --- Elections ---------------------------------------------------------------------------------


class TransitionNotAllowed(ApplicationError):
    code = "transition_not_allowed"
    status = status.HTTP_409_CONFLICT
    message = "This election cannot make that state change now."


class ElectionNotEditable(ApplicationError):
    code = "election_not_editable"
    status = status.HTTP_409_CONFLICT
    message = "The election has left the draft state: its questions are frozen."


class QuestionsInvalid(ApplicationError):
    code = "questions_invalid"
    status = status.HTTP_409_CONFLICT
    message = "The election's questions are not valid."


class InvalidCeremonyOutput(ApplicationError):
    code = "invalid_ceremony_output"
    status = status.HTTP_400_BAD_REQUEST
    message = "The key ceremony output is not valid."


class CredentialsNotPublished(ApplicationError):
    code = "credentials_not_published"
    status = status.HTTP_409_CONFLICT
    message = "The public credentials have not been published yet."


class VotingWindowOver(ApplicationError):
    code = "voting_window_over"
    status = status.HTTP_409_CONFLICT
    message = "The voting window has already ended: change the closing time first."


class ManifestInvalid(ApplicationError):
    code = "manifest_invalid"
    status = status.HTTP_409_CONFLICT
    message = "The election's manifest is not valid."


# --- Casting -----------------------------------------------------------------------------------


class ElectionNotOpen(ApplicationError):
    code = "election_not_open"
    status = status.HTTP_409_CONFLICT
    message = "The election is not open for voting."


class OutsideVotingWindow(ApplicationError):
    code = "outside_voting_window"
    status = status.HTTP_409_CONFLICT
    message = "Voting is not possible at this time (outside the voting window)."


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    message = "The request body is larger than a ballot of this election can be."


class InvalidBallotData(ApplicationError):
    code = "invalid_ballot"
    status = status.HTTP_400_BAD_REQUEST
    message = "The ballot is malformed."


class WrongElection(ApplicationError):
    code = "wrong_election"
    status = status.HTTP_400_BAD_REQUEST
    message = "The ballot was made for another election (fingerprint mismatch)."


class UnknownCredential(ApplicationError):
    code = "unknown_credential"
    status = status.HTTP_403_FORBIDDEN
    message = "The ballot's credential is not in the published credential list."


class InvalidBallotSignature(ApplicationError):
    code = "invalid_signature"
    status = status.HTTP_400_BAD_REQUEST
    message = "The credential's signature on the ballot is not valid."


class InvalidBallotProof(ApplicationError):
    code = "invalid_proof"
    status = status.HTTP_400_BAD_REQUEST
    message = "A proof of the ballot does not verify."


class InvalidAuditRandomness(ApplicationError):
    code = "invalid_randomness"
    status = status.HTTP_400_BAD_REQUEST
    message = "The revealed randomness does not reproduce the ballot."


class DuplicateBallot(ApplicationError):
    code = "duplicate_ballot"
    status = status.HTTP_409_CONFLICT
    message = "This ballot is already on the board."


class BallotWasAudited(ApplicationError):
    code = "ballot_was_audited"
    status = status.HTTP_409_CONFLICT
    message = "This ballot was audited (its randomness is public): it can never be cast."


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


class InvalidReceipt(ApplicationError):
    code = "invalid_receipt"
    status = status.HTTP_400_BAD_REQUEST
    message = "The receipt is malformed."
