"""Reactions to the voting app's state changes (voting.signals.election_state_changed), inside
the transaction of the change: the key ceremony starts when the election enters
``key_ceremony`` (once its trustees are registered), the tally when it closes."""

from __future__ import annotations

from voting.models import ElectionState


def on_election_state_changed(sender, *, election, previous, state, **kwargs) -> None:
    if state == ElectionState.KEY_CEREMONY:
        from tally.services.ceremony import ceremony_on_key_ceremony

        ceremony_on_key_ceremony(election=election)
    elif state == ElectionState.CLOSED:
        from tally.services.tally import tally_on_close

        tally_on_close(election=election)
