"""Expected failures of the tally services; config/api_errors.py turns them into responses."""

from __future__ import annotations

from rest_framework import status

from config.api_errors import ApplicationError


class CeremonyNotConfigurable(ApplicationError):
    code = "ceremony_not_configurable"
    status = status.HTTP_409_CONFLICT
    message = "The trustees can no longer be changed: the key ceremony has started."


class CeremonyInvalid(ApplicationError):
    code = "ceremony_invalid"
    status = status.HTTP_400_BAD_REQUEST
    message = "The key ceremony's set-up is not valid."


class NoCeremony(ApplicationError):
    code = "no_ceremony"
    status = status.HTTP_404_NOT_FOUND
    message = "This election has no key ceremony run by its trustees on this server."


class UnknownTrustee(ApplicationError):
    code = "unknown_trustee"
    status = status.HTTP_404_NOT_FOUND
    message = "This election has no trustee with this index."


class EnrolmentRefused(ApplicationError):
    code = "enrolment_refused"
    status = status.HTTP_403_FORBIDDEN
    message = "The enrolment token is wrong, or was used already."


class AlreadyRegistered(ApplicationError):
    code = "already_registered"
    status = status.HTTP_409_CONFLICT
    message = "This trustee has registered its key already; it cannot be replaced."


class InvalidTrusteeMessage(ApplicationError):
    code = "invalid_trustee_message"
    status = status.HTTP_400_BAD_REQUEST
    message = "The trustee's message is not valid."


class InvalidTrusteeSignature(ApplicationError):
    code = "invalid_trustee_signature"
    status = status.HTTP_403_FORBIDDEN
    message = "The message is not signed by this trustee's registered key."


class WrongPhase(ApplicationError):
    code = "wrong_phase"
    status = status.HTTP_409_CONFLICT
    message = "This message is not expected at this point of the key ceremony or the tally."


class CeremonyStepNotAllowed(ApplicationError):
    code = "ceremony_step_not_allowed"
    status = status.HTTP_409_CONFLICT
    message = "This ceremony step is not possible now."


class TallyNotPossible(ApplicationError):
    code = "tally_not_possible"
    status = status.HTTP_409_CONFLICT
    message = "The tally cannot run for this election now."


class DecryptionAttemptsExhausted(ApplicationError):
    code = "decryption_attempts_exhausted"
    status = status.HTTP_409_CONFLICT
    message = "This trustee's partial decryptions were rejected too many times: no more are taken."
