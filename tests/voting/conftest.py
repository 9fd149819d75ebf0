"""Fixtures of the voting tests (defined in tests/voting/factories.py)."""

from tests.voting.factories import open_election, open_election_factory  # noqa: F401
from tests.voting.test_voting_voters_ballots import path  # noqa: F401 - casting through either path
