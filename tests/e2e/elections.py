"""Elections for the browser tests whose key comes from a real key ceremony and whose tally runs
through the real tally app: three offline trustees (key stores under the test's temporary
directory, the trustee-side code of ``pnyx-trustee``, messages uploaded through the API), the
election closed by the officials' service, the encrypted tally added up by the Celery worker's
tasks, partial decryptions uploaded and verified by the server, the result combined by a task.

The test never hands the server a trustee secret; it keeps only what the test needs to act as the
voters (their credential codes) and as the trustees (their key store files).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

from board.models import BoardEntry
from crypto.ballot import Ballot, BallotSecrets, ElectionSpec, ballot_encrypt
from tests.tally.helpers import (
    CeremonyElection,
    add_voters_and_open,
    run_offline_ceremony,
    setup_ceremony,
    wait_for,
)
from tests.voting.factories import RollVoter
from voting.models import Election, ElectionState
from voting.services.elections import election_close


@dataclass
class TrusteeElection:
    """An open election whose trustees the test plays (offline), with its voters' codes."""

    ce: CeremonyElection
    tmp: Path
    secrets: dict[str, BallotSecrets] = field(default_factory=dict)

    @property
    def election(self) -> Election:
        return self.ce.election

    @property
    def voters(self) -> list[RollVoter]:
        return self.ce.voters

    @property
    def spec(self) -> ElectionSpec:
        return self.ce.manifest.spec

    @property
    def url(self) -> str:
        return self.ce.url

    def ballot(self, voter: int, choices: Sequence[Sequence[int]]) -> Ballot:
        ballot, secrets = ballot_encrypt(self.spec, self.voters[voter].key, choices)
        self.secrets[ballot.tracker()] = secrets
        return ballot

    def state(self) -> str:
        return Election.objects.values_list("state", flat=True).get(pk=self.election.pk)

    def close_and_tally(self, *, trustees: Sequence[int] = (1, 2)) -> dict:
        """Close the election (unless the officials did), wait for the Celery worker to publish
        the encrypted tally, upload the partial decryptions of ``trustees`` as offline trustees
        do, wait for the result task; return the ``result`` entry's payload."""
        if self.state() == ElectionState.OPEN:
            election_close(election=self.election, acting_user=None)
        self.wait_until_tallying()
        self.decrypt(trustees=trustees)
        self.wait_for_result()
        return self.result()

    def wait_until_tallying(self) -> None:
        """The election is closed: wait until the worker has published the encrypted tally."""
        wait_for(
            lambda: self.state() == ElectionState.TALLYING, what="the encrypted tally", timeout=60
        )

    def wait_for_result(self) -> None:
        wait_for(lambda: self.state() == ElectionState.TALLIED, what="the result", timeout=60)
        self.ce.refresh()

    def result(self) -> dict:
        """The payload of the board's ``result`` entry."""
        line = BoardEntry.objects.get(election=self.election, kind="result").line
        return json.loads(line)["payload"]

    def decrypt(self, *, trustees: Sequence[int]) -> None:
        client = Client()
        for trustee in self.ce.trustees:
            if trustee.index in trustees:
                response = trustee.send(client, "decrypt", self.tmp)
                assert response.status_code == 202, response.content
                assert response.json()["status"] == "accepted", response.content


def build_trustee_election(
    tmp: Path, *, questions: Sequence[dict], weights: Sequence[int]
) -> TrusteeElection:
    """A draft election, its 2-of-3 key ceremony played by three offline trustees, a roll of
    ``len(weights)`` voters with credentials, opened."""
    client = Client()
    ce = setup_ceremony(tmp, questions=questions, client=client)
    run_offline_ceremony(ce, tmp, client)
    wait_for(
        lambda: Election.objects.get(pk=ce.election.pk).state == ElectionState.READY,
        what="the election key",
    )
    add_voters_and_open(ce, weights)
    return TrusteeElection(ce, tmp)


@pytest.fixture
def trustee_election_factory(db, tmp_path):
    """``trustee_election_factory(questions=…, weights=[1, 1, …])`` → :class:`TrusteeElection`."""

    def factory(*, questions: Sequence[dict], weights: Sequence[int]) -> TrusteeElection:
        return build_trustee_election(tmp_path, questions=questions, weights=weights)

    return factory
