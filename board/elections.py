"""An election's life cycle, as its board records it (``state`` entries, protocol §14.3).

The enumeration sits here, in the bottom room, so that every app can name a state without
importing voting/ (which defines the ``Election`` model that stores it).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ElectionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    KEY_CEREMONY = "key_ceremony", _("Key ceremony")
    READY = "ready", _("Ready")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    TALLYING = "tallying", _("Tallying")
    TALLIED = "tallied", _("Tallied")
