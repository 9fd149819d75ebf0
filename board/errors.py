"""Errors of the board's API (config/api_errors.py turns them into JSON responses)."""

from __future__ import annotations

from django.conf import settings

from config.api_errors import ApplicationError


class NotCheckpointedYet(ApplicationError):
    """What was asked for needs a checkpoint (or a tree) that does not cover it yet; the periodic
    checkpoints will, within ``PNYX_CHECKPOINT_SECONDS``."""

    code = "not_checkpointed_yet"
    status = 404
    message = "No checkpoint covers this yet; try again in a few seconds."

    @property
    def retry_after(self) -> int:
        return settings.PNYX_CHECKPOINT_SECONDS
