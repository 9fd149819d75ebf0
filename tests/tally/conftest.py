"""Fixtures of the tally tests."""

from tests.voting.factories import open_election, open_election_factory  # noqa: F401
