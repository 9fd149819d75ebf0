"""Expected failures of the participation services: the pages show their message (with their
status), the admin shows it as an error; nothing was changed."""

from __future__ import annotations

from rest_framework import status

from config.api_errors import ApplicationError


class ParticipationError(ApplicationError):
    code = "participation_error"
    status = status.HTTP_400_BAD_REQUEST


class RollInvalid(ParticipationError):
    code = "resident_roll_invalid"
    message = "The residents' roll has errors: nothing was imported."


class WrongPhase(ParticipationError):
    code = "wrong_phase"
    status = status.HTTP_409_CONFLICT
    message = "This cannot be done in the process's current phase."


class ProcessNotPublished(ParticipationError):
    code = "process_not_published"
    status = status.HTTP_409_CONFLICT
    message = "The process is not published yet."


class AlreadyPublished(ParticipationError):
    code = "process_already_published"
    status = status.HTTP_409_CONFLICT
    message = "The process is already published."


class InvalidProposal(ParticipationError):
    code = "invalid_proposal"
    message = "The proposal is not valid."


class NotYourProposal(ParticipationError):
    code = "not_your_proposal"
    status = status.HTTP_403_FORBIDDEN
    message = "Only the proposal's author may edit it."


class SupportRefused(ParticipationError):
    code = "support_refused"
    status = status.HTTP_409_CONFLICT
    message = "This support cannot be given."


class InvalidComment(ParticipationError):
    code = "invalid_comment"
    message = "The comment is not valid."


class ModerationRefused(ParticipationError):
    code = "moderation_refused"
    status = status.HTTP_409_CONFLICT
    message = "This comment cannot be hidden."


class ReviewRefused(ParticipationError):
    code = "review_refused"
    status = status.HTTP_409_CONFLICT
    message = "This proposal cannot be reviewed."


class InvalidImage(ParticipationError):
    code = "invalid_image"
    message = "The image is not valid."
