"""Fixtures of the page tests (defined in tests/voting/factories.py and tests/e2e/elections.py)."""

from tests.e2e.elections import trustee_election_factory  # noqa: F401
from tests.voting.factories import open_election, open_election_factory  # noqa: F401
