"""Expected failures of the voting services; config/api_errors.py turns them into responses."""

from __future__ import annotations

from rest_framework import status

from config.api_errors import ApplicationError

# The voter's credential and limits are identity's (it checks them); named here too, as voting's
# callers know them.
from identity.errors import (  # noqa: F401 - re-exported
    AuditLimitReached,
    CredentialMismatch,
    CredentialTaken,
    RevoteRateLimited,
)

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


class InvalidReceipt(ApplicationError):
    code = "invalid_receipt"
    status = status.HTTP_400_BAD_REQUEST
    message = "The receipt is malformed."
