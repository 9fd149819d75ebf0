"""Signals of the voting app.

``election_state_changed`` is sent inside the transaction of every state change, right after the
``state`` board entry is appended (``sender=Election``, ``election``, ``previous``, ``state``).
Receivers run in that transaction: what they append to the board follows the state entry, and
it all commits or rolls back together. The tally app uses it to start the key ceremony once the
election enters ``key_ceremony`` and the tally when it closes.
"""

from django.dispatch import Signal

election_state_changed = Signal()
