"""``manage.py seed_demo``: an open demo election for ``make run`` (does nothing if it exists).

The demo's election key comes from a real key ceremony (tally app, docs/trustees.md) with three
*worker* trustees, 2 of 3: their key stores — DEMO ONLY, under var/demo/trustees/, locked by a
passphrase kept next to them in var/demo/trustee-passphrase — are what a trustee keeps on its own
machine. This command runs the trustees' steps in-process (Celery in eager mode, the same tasks a
trustee's worker runs: each verifies the board, here read from an export this command writes
before each step, and acts only on what it verified) so that the election can open at once;
afterwards ``make run`` starts a worker for the three trustees' queues
(var/demo/trustee-worker.env), which reads the board from the server (``PNYX_TRUSTEE_BOARD``:
``PNYX_BASE_URL``) and decrypts the tally when the officials close the election from the admin. A real server never holds a trustee's key
store or passphrase. Likewise the demo voters' credential codes are printed and written to
var/demo/ so that anyone can try the booth; real codes exist only in the e-mails sent to voters.
And the officials' account ``official`` gets a random password, printed once (only its hash is
stored), so that a newcomer can open the admin at once. Refused unless ``PNYX_DEMO=1``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import secrets
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from crypto.credentials import format_code
from identity.models import Voter
from identity.services.credentials import RollEntry, credentials_generate, credentials_publish
from voting.models import Election, ElectionWitness, Option, Question, QuestionKind
from voting.services.elections import election_create, election_open, election_start_ceremony

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
    (
        QuestionKind.SCORE,
        "Rate each proposal for the new agora from 0 to 5",
        {"max_score": 5},
        [("A covered stoa", None), ("A larger fountain", None), ("More plane trees", None)],
    ),
]


def _private_file(path: Path):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def demo_trustees(election: Election, demo_dir: Path) -> dict[str, str]:
    """DEMO ONLY: name the three worker trustees, create their key stores under var/demo/ and
    register them (as each trustee would with ``pnyx-trustee keygen`` and its enrolment token).
    Returns the environment of their worker."""
    from tally.services.ceremony import ceremony_configure, trustee_enrolment_issue
    from tally.services.messages import trustee_message_receive
    from tally.trustee_steps import keygen

    keys_dir = demo_dir / "trustees"
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    passphrase_file = demo_dir / "trustee-passphrase"
    if not passphrase_file.exists():
        with _private_file(passphrase_file) as out:
            out.write(secrets.token_urlsafe(24) + "\n")
    passphrase = passphrase_file.read_text(encoding="utf-8").splitlines()[0]
    ceremony = ceremony_configure(
        election=election,
        threshold=THRESHOLD,
        trustees=[
            {"name": name, "email": f"{name.lower()}@example.org", "mode": "worker"}
            for name in TRUSTEES
        ],
        acting_user=None,
    )
    paths = []
    for trustee in ceremony.trustees.order_by("index"):
        path = keys_dir / f"{SLUG}-trustee-{trustee.index}.json"
        path.unlink(missing_ok=True)  # left over from an earlier demo database
        token = trustee_enrolment_issue(trustee=trustee, acting_user=None)
        _, registration = keygen(
            path, election=str(election.pk), index=trustee.index, passphrase=passphrase
        )
        trustee_message_receive(
            election=election,
            index=trustee.index,
            body={**registration, "token": token},
            via="demo",
        )
        paths.append(path)
    return {
        "PNYX_TRUSTEE_KEYSTORE": os.pathsep.join(str(p) for p in paths),
        "PNYX_TRUSTEE_PASSPHRASE_FILE": str(passphrase_file),
        "PNYX_TRUSTEE_QUEUES": ",".join(t.queue for t in ceremony.trustees.order_by("index")),
        # the worker make run starts reads the board from make run's server
        "PNYX_TRUSTEE_BOARD": settings.PNYX_BASE_URL,
    }


DEMO_WITNESS_NAME = "demo-witness.pnyx.local"


def demo_witness(election: Election, directory: Path) -> None:
    """A pnyx-witness in ``directory`` that witnesses the demo election's board, named in the
    manifest with quorum 1; make run serves it at ``PNYX_DEMO_WITNESS_PORT`` (default 7380)."""
    from board.keys import board_public_key_hex
    from board.tree import board_origin
    from crypto.note import SIG_ED25519, NoteVerifier
    from witness import cli as witness_cli
    from witness.service import Witness
    from witness.state import KEY_FILE

    with _quiet("witness"), contextlib.redirect_stdout(io.StringIO()):
        if not (directory / KEY_FILE).exists():
            witness_cli.main(["--dir", str(directory), "init", "--name", DEMO_WITNESS_NAME])
        origin = board_origin(election.pk)
        log_key = NoteVerifier(origin, SIG_ED25519, bytes.fromhex(board_public_key_hex()))
        witness_cli.main(
            ["--dir", str(directory), "add-log", "--origin", origin, "--vkey", log_key.vkey]
        )
    witness = Witness(directory)
    try:
        vkey = witness.signer.verifier.vkey
    finally:
        witness.close()
    port = os.environ.get("PNYX_DEMO_WITNESS_PORT", "7380")
    ElectionWitness.objects.create(
        election=election,
        position=1,
        name=DEMO_WITNESS_NAME,
        key=vkey,
        url=f"http://127.0.0.1:{port}",
    )
    Election.objects.filter(pk=election.pk).update(witness_quorum=1)
    election.witness_quorum = 1


@contextmanager
def _quiet(*names: str):
    """Only warnings from these loggers meanwhile: the eager ceremony's dozens of task-result
    lines (public messages, but noise in ``make run``'s output)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def demo_key_ceremony(election: Election, env: dict[str, str], board_file: Path) -> None:
    """DEMO ONLY: run the key ceremony with the trustees' own task code, in this process (Celery
    eager mode: each step runs here with the key stores named by ``env``). No server answers HTTP
    yet: before each trustee step the board is exported to ``board_file``, which the trustees read
    and verify instead of the server's URL (``PNYX_TRUSTEE_BOARD`` may name an export file)."""
    from celery.signals import task_prerun

    from board.selectors import board_lines

    def export_board(task=None, **kwargs) -> None:
        if task is not None and task.name == "tally.trustee_step":
            with _private_file(board_file) as out:
                out.writelines(line + "\n" for line in board_lines(election_id=election.pk))

    env = {**env, "PNYX_TRUSTEE_BOARD": str(board_file)}
    saved_env = {k: os.environ.get(k) for k in env}
    saved_conf = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    os.environ.update(env)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    task_prerun.connect(export_board, weak=False)
    try:
        with _quiet("celery.app.trace", "pnyx.tally"):
            election_start_ceremony(election=election, acting_user=None)
    finally:
        task_prerun.disconnect(export_board)
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved_conf
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    election.refresh_from_db()
    if election.state != "ready":
        raise RuntimeError(f"the demo key ceremony did not finish (election {election.state})")


def _links(election: Election) -> str:
    base = settings.PNYX_BASE_URL
    lines = [
        f"  Election page   {base}/e/{election.slug}/",
        f"  Voting booth    {base}/e/{election.slug}/vote",
        f"  Results         {base}/e/{election.slug}/results",
        f"  Officials       {base}/admin/voting/election/{election.pk}/dashboard/",
    ]
    return "\n".join(lines)


OFFICIAL = "official"


def demo_official() -> str | None:
    """DEMO ONLY: the officials' account ``official`` with a fresh random password, returned to
    be printed once (Django stores only its hash); ``None`` if the account exists."""
    users = get_user_model()
    if users.objects.filter(username=OFFICIAL).exists():
        return None
    password = secrets.token_urlsafe(12)
    users.objects.create_superuser(OFFICIAL, email="", password=password)
    return password


def _official_lines(password: str | None) -> str:
    admin_url = f"{settings.PNYX_BASE_URL}/admin/"
    if password is not None:
        return (
            f"  DEMO official's account for {admin_url}: user {OFFICIAL}  password {password}\n"
            "    (printed this once and stored nowhere in clear: note it now)"
        )
    var = os.environ.get("PNYX_VAR_DIR")
    prefix = f"PNYX_VAR_DIR={var} " if var else ""
    same_db = " (with make run's DATABASE_URL)" if os.environ.get("DATABASE_URL") else ""
    return (
        f"  DEMO official's account for {admin_url}: user {OFFICIAL}, with the password printed"
        " at the first start.\n"
        f"    A new password{same_db}: {prefix}.venv/bin/python manage.py changepassword {OFFICIAL}"
    )


class Command(BaseCommand):
    help = (
        "Create and open a demo election (demo only: its trustees' key stores are under var/demo/)."
    )

    def handle(self, *args, **options) -> None:
        if not settings.PNYX_DEMO:
            raise CommandError(
                "seed_demo makes a demo: an official's account whose password it prints, the "
                "trustees' key stores on this server. Run it with PNYX_DEMO=1 (make run does)."
            )
        demo_dir = Path(settings.VAR_DIR) / "demo"
        codes_file = demo_dir / f"{SLUG}-credentials.csv"
        existing = Election.objects.filter(slug=SLUG).first()
        if existing is not None:
            self.stdout.write(
                f"seed_demo: the demo election exists ({existing.get_state_display().lower()});"
                " nothing to do."
            )
            self.stdout.write(_links(existing))
            if codes_file.exists():
                self.stdout.write(f"  DEMO voters' credentials: {codes_file}")
            self.stdout.write(_official_lines(demo_official()))
            database = Path(str(settings.DATABASES["default"]["NAME"]))
            if database.parent == Path(settings.VAR_DIR):
                self.stdout.write(
                    f"  To start the demo over: stop make run, delete {database} and"
                    f" {demo_dir}/, run make run again."
                )
            return
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
            Voter.objects.bulk_create(
                Voter(election=election, identifier=i, email=e, weight=w) for i, e, w in VOTERS
            )
            # DEMO ONLY — the trustees' key stores are made here, under var/demo/.
            worker_env = demo_trustees(election, demo_dir)
            # DEMO ONLY — an official's account, its password printed below.
            official_password = demo_official()
            # DEMO ONLY — one local witness of the board (make run serves it); a real election
            # names witnesses run by independent parties (docs/witness.md).
            demo_witness(election, demo_dir / "witness")

        demo_key_ceremony(election, worker_env, demo_dir / "trustees" / "ceremony-board.jsonl")
        with transaction.atomic():
            # DEMO ONLY: codes are generated here and printed (real ones are only e-mailed).
            issued, credentials = credentials_generate(
                election_uuid=str(election.pk),
                roll=[RollEntry(i, e, w) for i, e, w in VOTERS],
            )
            credentials_publish(
                election=election, credentials=credentials, acting_user=None, source="demo"
            )
            election_open(election=election, acting_user=None)

        env_file = demo_dir / "trustee-worker.env"
        with _private_file(env_file) as out:
            out.write(
                "# DEMO ONLY: the demo trustees' worker (make run starts it with these)\n"
                + "".join(f"{k}={v}\n" for k, v in worker_env.items())
            )
        with _private_file(codes_file) as out:
            writer = csv.writer(out)
            writer.writerow(["identifier", "email", "weight", "credential"])
            for item in issued:
                writer.writerow([item.identifier, item.email, item.weight, format_code(item.code)])

        self.stdout.write(
            self.style.SUCCESS(f"seed_demo: opened “{election.title}” ({election.pk})")
        )
        self.stdout.write(f"  fingerprint {election.fingerprint}")
        self.stdout.write(_links(election))
        self.stdout.write(f"  DEMO voters and their credentials (also in {codes_file}):")
        for item in issued:
            self.stdout.write(f"    {item.identifier:<6} {item.email:<20} {format_code(item.code)}")
        self.stdout.write(
            "  To vote: open the booth, log in with a voter's e-mail; the one-time login code is\n"
            f"  written as an e-mail file under {settings.EMAIL_FILE_PATH}/ (newest file).\n"
            f"  DEMO trustees {', '.join(TRUSTEES)} ({THRESHOLD} of {len(TRUSTEES)}): their key"
            f" stores are in {demo_dir / 'trustees'}; make run starts their worker\n"
            f"  ({env_file}), which decrypts the tally when an official closes the election\n"
            "  (dashboard → Close the election).\n" + _official_lines(official_password)
        )
