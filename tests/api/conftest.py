"""Fixtures of the API tests (defined in tests/voting/factories.py)."""

from tests.voting.factories import open_election, open_election_factory  # noqa: F401
