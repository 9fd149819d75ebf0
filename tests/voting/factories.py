"""Building elections for tests: questions, a real t-of-n key ceremony whose secret shares the
TEST keeps (so tally tests can decrypt), a voter roll with credentials, and an opened election.

The server never sees an election secret: the ceremony runs here with crypto.threshold and only
its public output goes to ``election_install_key``. Credentials are made the way an offline
authority makes them (``credentials_generate``) so the test knows every voter's code.

Use the fixtures (``open_election_factory``, ``open_election``) or the functions directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from board.models import BoardHead
from crypto.ballot import Ballot, BallotSecrets, ElectionSpec, ballot_encrypt
from crypto.group import Scalar
from crypto.hashing import parse_json
from crypto.manifest import Manifest
from crypto.signatures import SigningKey
from crypto.threshold import (
    Ceremony,
    TrusteeSecret,
    dkg_combine_shares,
    dkg_deal,
    dkg_election_key,
    dkg_new_polynomial,
    dkg_open_share,
    dkg_verification_key,
    trustee_keygen,
)
from identity.models import Voter
from identity.services.credentials import RollEntry, credentials_generate, credentials_publish
from identity.sessions import SESSION_KEY
from voting.models import Election, Option, Question
from voting.services.elections import (
    election_create,
    election_install_key,
    election_open,
    election_start_ceremony,
)

_slugs = itertools.count(1)

#: One single-choice question with five options (the benchmark's shape).
SINGLE5 = [{"kind": "single", "title": "Pick one", "options": ["A", "B", "C", "D", "E"]}]

#: One question of every kind.
EVERY_KIND = [
    {"kind": "referendum", "title": "Yes or no?", "options": ["Yes", "No"], "blank_allowed": True},
    {"kind": "single", "title": "Chair", "options": ["Ann", "Ben", "Cy"]},
    {
        "kind": "approval",
        "title": "Festivals",
        "options": ["F1", "F2", "F3", "F4"],
        "min": 1,
        "max": 2,
    },
    {
        "kind": "budget",
        "title": "Projects",
        "options": [("P1", 60), ("P2", 25), ("P3", 15), ("P4", 40)],
        "budget": 100,
    },
]


#: Score questions: scores 0…10 with no limit on the total, and 0…3 with a total of 1 to 5.
SCORES = [
    {
        "kind": "score",
        "title": "Rate the parks",
        "options": ["North", "South", "East"],
        "max_score": 10,
    },
    {
        "kind": "score",
        "title": "Rate the menus",
        "options": ["Soup", "Salad", "Pie", "Stew"],
        "max_score": 3,
        "min": 1,
        "max": 5,
    },
]


def add_questions(election: Election, questions: Sequence[dict]) -> None:
    """``questions``: dicts with kind, title, options (titles, or (title, cost) pairs) and
    optionally blank_allowed, min, max, budget, max_score."""
    for position, spec in enumerate(questions):
        question = Question.objects.create(
            election=election,
            position=position,
            kind=spec["kind"],
            title=spec["title"],
            blank_allowed=spec.get("blank_allowed", False),
            min_selections=spec.get("min"),
            max_selections=spec.get("max"),
            budget=spec.get("budget"),
            max_score=spec.get("max_score"),
            mixed=spec.get("mixed", False),
        )
        for index, option in enumerate(spec["options"]):
            title, cost = option if isinstance(option, tuple) else (option, None)
            Option.objects.create(question=question, position=index, title=title, cost=cost)


def make_election(
    *,
    questions: Sequence[dict] = SINGLE5,
    slug: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Election:
    now = timezone.now()
    election = election_create(
        slug=slug or f"test-{next(_slugs)}",
        title="Test election",
        description="Made by tests/voting/factories.py",
        opens_at=opens_at or now - timedelta(minutes=5),
        closes_at=closes_at or now + timedelta(hours=2),
    )
    add_questions(election, questions)
    return election


@dataclass
class CeremonyOutput:
    """A t-of-n key ceremony run by the test: public output plus every trustee's secrets."""

    public: dict  #: keyword arguments of election_install_key (except election, acting_user)
    shares: dict[int, Scalar]  #: xⱼ, the trustees' decryption key shares (index → share)
    trustee_secrets: dict[int, TrusteeSecret]
    threshold: int


def key_ceremony(election_uuid: str, *, trustees: int = 3, threshold: int = 2) -> CeremonyOutput:
    keys = [trustee_keygen(i, election_uuid) for i in range(1, trustees + 1)]
    ceremony = Ceremony(election_uuid, threshold, tuple(public for _, public in keys))
    deals = [
        dkg_deal(dkg_new_polynomial(threshold), i, ceremony)[1] for i in range(1, trustees + 1)
    ]
    shares = {
        j: dkg_combine_shares(dkg_open_share(deal, j, keys[j - 1][0], ceremony) for deal in deals)
        for j in range(1, trustees + 1)
    }
    public = {
        "public_key": dkg_election_key(deals).point.to_hex(),
        "verification_keys": [
            dkg_verification_key(deals, j).to_hex() for j in range(1, trustees + 1)
        ],
        "trustees": [
            {"name": f"Trustee {i}", "public_key": public.public_key.to_hex()}
            for i, (_, public) in enumerate(keys, start=1)
        ],
        "threshold": threshold,
        "ceremony_context": ceremony.context,
    }
    return CeremonyOutput(
        public=public,
        shares=shares,
        trustee_secrets={i: secret for i, (secret, _) in enumerate(keys, start=1)},
        threshold=threshold,
    )


@dataclass
class RollVoter:
    voter: Voter
    code: str  #: the secret credential code (only tests ever know it on the server side)
    key: SigningKey

    @property
    def credential_hex(self) -> str:
        return self.key.public.to_hex()


@dataclass
class OpenElection:
    election: Election
    ceremony: CeremonyOutput
    voters: list[RollVoter]
    manifest: Manifest | None = None
    secrets: dict[str, BallotSecrets] = field(default_factory=dict)

    @property
    def spec(self) -> ElectionSpec:
        return self.manifest.spec

    @property
    def url(self) -> str:
        return f"/api/elections/{self.election.pk}"

    def ballot(
        self, voter: int | RollVoter = 0, choices: Sequence[Sequence[int]] | None = None
    ) -> Ballot:
        """An encrypted ballot by ``voter`` (index or RollVoter); default: first option(s)."""
        who = self.voters[voter] if isinstance(voter, int) else voter
        if choices is None:
            choices = [_default_choice(q) for q in self.spec.questions]
        ballot, secrets = ballot_encrypt(self.spec, who.key, choices)
        self.secrets[ballot.tracker()] = secrets
        return ballot

    def refresh(self) -> OpenElection:
        self.election.refresh_from_db()
        if self.election.manifest_json:
            self.manifest = Manifest.from_json(parse_json(self.election.manifest_json))
        return self


def _default_choice(question) -> list[int]:
    picks = [0] * question.options
    for i in range(max(1, question.min_selections)):
        picks[i] = 1
    if question.costs is not None:
        picks = [0] * question.options
        if question.min_selections:
            picks[0] = 1
    return picks


def build_election(
    *,
    questions: Sequence[dict] = SINGLE5,
    voters: int = 3,
    weights: Sequence[int] | None = None,
    trustees: int = 3,
    threshold: int = 2,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    publish: bool = True,
    open_it: bool = True,
) -> OpenElection:
    """A draft election taken through ceremony, roll, credentials and opening (as far as asked)."""
    election = make_election(questions=questions, opens_at=opens_at, closes_at=closes_at)
    election_start_ceremony(election=election, acting_user=None)
    ceremony = key_ceremony(str(election.pk), trustees=trustees, threshold=threshold)
    election_install_key(election=election, acting_user=None, **ceremony.public)
    weights = list(weights) if weights is not None else [1] * voters
    roll = [
        Voter.objects.create(
            election=election, identifier=f"voter{i}", email=f"voter{i}@example.org", weight=w
        )
        for i, w in enumerate(weights)
    ]
    test_voters: list[RollVoter] = []
    if publish:
        issued, credentials = credentials_generate(
            election_uuid=str(election.pk),
            roll=[RollEntry(v.identifier, v.email, v.weight) for v in roll],
        )
        from crypto.credentials import derive_signing_key

        for voter, item in zip(roll, issued, strict=True):
            key = derive_signing_key(item.code, str(election.pk))
            test_voters.append(RollVoter(voter, item.code, key))
        credentials_publish(
            election=election, credentials=credentials, acting_user=None, source="test"
        )
    if open_it:
        election_open(election=election, acting_user=None)
    return OpenElection(election, ceremony, test_voters).refresh()


def login(client: Client, voter: Voter | RollVoter) -> Client:
    """Give the test client a voter session (as identity.sessions does after a login)."""
    voter = voter.voter if isinstance(voter, RollVoter) else voter
    session = client.session
    voters = dict(session.get(SESSION_KEY) or {})
    voters[str(voter.election_id)] = voter.pk
    session[SESSION_KEY] = voters
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def board_head_of(election: Election) -> tuple[int, str]:
    head = BoardHead.objects.get(election=election)
    return head.seq, head.hash


def post_json(client: Client, url: str, data: Any, **extra):
    return client.post(url, data, content_type="application/json", **extra)


# --- Fixtures (imported by the conftest.py files of tests/voting and tests/identity) ---------


@pytest.fixture
def open_election_factory(db):
    """``open_election_factory(questions=…, voters=3, weights=…, trustees=3, threshold=2, …)``."""
    return build_election


@pytest.fixture
def open_election(open_election_factory) -> OpenElection:
    """An open election: one single-choice question of 5 options, 3 voters, 2-of-3 trustees."""
    return open_election_factory()
