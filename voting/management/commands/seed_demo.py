"""``manage.py seed_demo``: an open demo election for ``make run`` (does nothing if it exists).

DEMO ONLY. To get an election key without trustees, this command plays all three trustees of a
2-of-3 key ceremony itself and writes their secrets to var/demo/ so that the demo can be tallied
later. A real election never does this: the trustees run the ceremony on their own machines and
the server only ever receives public output (voting.services.elections.election_install_key).
Likewise the demo voters' credential codes are printed and written to var/demo/ so that anyone
can try the booth; real codes exist only in the e-mails sent to the voters.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crypto.credentials import format_code
from crypto.threshold import (
    Ceremony,
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
from voting.models import Election, Option, Question, QuestionKind
from voting.services.elections import (
    election_create,
    election_install_key,
    election_open,
    election_start_ceremony,
)

SLUG = "demo"
TRUSTEES = ("Athena", "Cleisthenes", "Pericles")
THRESHOLD = 2
VOTERS = [
    ("alice", "alice@example.org", 1),
    ("bob", "bob@example.org", 1),
    ("carol", "carol@example.org", 2),
    ("dave", "dave@example.org", 1),
    ("erin", "erin@example.org", 1),
]
QUESTIONS = [
    (
        QuestionKind.REFERENDUM,
        "Should the assembly meet on the Pnyx every month?",
        {"blank_allowed": True},
        [("Yes", None), ("No", None)],
    ),
    (
        QuestionKind.SINGLE,
        "Who should chair the next assembly?",
        {},
        [("Aspasia", None), ("Socrates", None), ("Hipparchia", None), ("Diogenes", None)],
    ),
    (
        QuestionKind.APPROVAL,
        "Which festivals should the city fund? (1 to 3)",
        {"min_selections": 1, "max_selections": 3},
        [
            ("Panathenaea", None),
            ("Dionysia", None),
            ("Thesmophoria", None),
            ("Anthesteria", None),
            ("Lenaia", None),
        ],
    ),
    (
        QuestionKind.BUDGET,
        "Participatory budget: 100 talents for these projects",
        {"budget": 100},
        [
            ("Repair the Long Walls", 60),
            ("A new fountain house", 25),
            ("Shade trees on the agora", 15),
            ("Public library", 40),
            ("Triremes for the festival regatta", 30),
        ],
    ),
]


def _private_file(path: Path):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def demo_key_ceremony(election_uuid: str) -> tuple[dict, list[dict]]:
    """DEMO ONLY: run every trustee of a 2-of-3 ceremony here. Returns the public output (for
    election_install_key) and the trustees' secrets (for the demo's later tally)."""
    keys = [trustee_keygen(i, election_uuid) for i in range(1, len(TRUSTEES) + 1)]
    ceremony = Ceremony(election_uuid, THRESHOLD, tuple(public for _, public in keys))
    ceremony.verify_registrations()
    deals = [dkg_deal(dkg_new_polynomial(THRESHOLD), i, ceremony)[1] for i in range(1, 4)]
    shares = [
        dkg_combine_shares(dkg_open_share(deal, j, keys[j - 1][0], ceremony) for deal in deals)
        for j in range(1, 4)
    ]
    public = {
        "public_key": dkg_election_key(deals).point.to_hex(),
        "verification_keys": [dkg_verification_key(deals, j).to_hex() for j in range(1, 4)],
        "trustees": [
            {"name": name, "public_key": public.public_key.to_hex()}
            for name, (_, public) in zip(TRUSTEES, keys, strict=True)
        ],
        "threshold": THRESHOLD,
        "ceremony_context": ceremony.context,
    }
    secrets = [
        {
            "index": j,
            "name": TRUSTEES[j - 1],
            "ecies_secret": keys[j - 1][0].y.to_hex(),
            "share": shares[j - 1].to_hex(),
        }
        for j in range(1, 4)
    ]
    return public, secrets


class Command(BaseCommand):
    help = "Create and open a demo election (demo only: it plays the trustees itself)."

    def handle(self, *args, **options) -> None:
        existing = Election.objects.filter(slug=SLUG).first()
        if existing is not None:
            self.stdout.write(
                f"seed_demo: the demo election exists ({existing.state}); nothing to do."
            )
            return
        demo_dir = Path(settings.VAR_DIR) / "demo"
        now = timezone.now()
        with transaction.atomic():
            election = election_create(
                slug=SLUG,
                title="Pnyx demo election",
                description="A demonstration election with one question of every kind.",
                opens_at=now - timedelta(minutes=1),
                closes_at=now + timedelta(days=30),
            )
            for position, (kind, title, extra, options) in enumerate(QUESTIONS):
                question = Question.objects.create(
                    election=election, position=position, kind=kind, title=title, **extra
                )
                Option.objects.bulk_create(
                    Option(question=question, position=i, title=t, cost=cost)
                    for i, (t, cost) in enumerate(options)
                )
            election_start_ceremony(election=election, acting_user=None)

            # DEMO ONLY — never in production: the server plays the trustees.
            public, secrets = demo_key_ceremony(str(election.pk))
            election_install_key(election=election, acting_user=None, **public)

            Voter.objects.bulk_create(
                Voter(election=election, identifier=i, email=e, weight=w) for i, e, w in VOTERS
            )
            # DEMO ONLY: codes are generated here and printed (real ones are only e-mailed).
            issued, credentials = credentials_generate(
                election_uuid=str(election.pk),
                roll=[RollEntry(i, e, w) for i, e, w in VOTERS],
            )
            credentials_publish(
                election=election, credentials=credentials, acting_user=None, source="demo"
            )
            election_open(election=election, acting_user=None)

        trustees_file = demo_dir / f"{SLUG}-trustees.json"
        with _private_file(trustees_file) as out:
            json.dump(
                {
                    "warning": "DEMO ONLY: the trustees' secrets of the demo election. A real "
                    "election's server never holds them.",
                    "election": str(election.pk),
                    "threshold": THRESHOLD,
                    "trustees": secrets,
                },
                out,
                indent=2,
            )
        codes_file = demo_dir / f"{SLUG}-credentials.csv"
        with _private_file(codes_file) as out:
            writer = csv.writer(out)
            writer.writerow(["identifier", "email", "weight", "credential"])
            for item in issued:
                writer.writerow([item.identifier, item.email, item.weight, format_code(item.code)])

        self.stdout.write(
            self.style.SUCCESS(f"seed_demo: opened “{election.title}” ({election.pk})")
        )
        self.stdout.write(f"  fingerprint {election.fingerprint}")
        self.stdout.write(f"  DEMO voters and their credentials (also in {codes_file}):")
        for item in issued:
            self.stdout.write(f"    {item.identifier:<6} {item.email:<20} {format_code(item.code)}")
        self.stdout.write(
            f"  Login codes are e-mailed to {settings.EMAIL_FILE_PATH}/ (file e-mail backend).\n"
            f"  DEMO trustee secrets for the tally: {trustees_file}\n"
            "  Admin: create an account with `.venv/bin/python manage.py createsuperuser`."
        )
