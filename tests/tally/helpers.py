"""Building elections whose key comes from a real key ceremony, with trustees played by the test
through the same code a trustee runs (tally.trustee_steps: key store, board export, signed
envelopes), uploading through the API; worker trustees as real ``celery`` processes.

The test never hands a secret to the server: each trustee's secrets stay in its key store file
under the test's temporary directory, exactly as on a trustee's machine.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from board.selectors import board_lines
from config.celery import app as celery_app
from crypto.ballot import ballot_encrypt
from crypto.credentials import derive_signing_key
from crypto.hashing import parse_json
from crypto.manifest import Manifest
from identity.models import Voter
from identity.services.credentials import RollEntry, credentials_generate, credentials_publish
from operations.workers import CeleryWorkerProcess
from tally import keystore
from tally.models import KeyCeremony, Trustee
from tally.services.ceremony import ceremony_configure, trustee_enrolment_issue
from tally.trustee_board import act, verify_file
from tally.trustee_steps import BoardView, keygen
from tests.voting.factories import RollVoter, login, make_election, post_json
from verifier.cli import main as verify_main
from voting.models import Election
from voting.services.elections import election_open, election_start_ceremony

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"  # noqa: S105 - test key stores (zxcvbn score 4)


def export_board(election: Election, path: Path) -> Path:
    path.write_bytes(
        b"".join(line.encode() + b"\n" for line in board_lines(election_id=election.pk))
    )
    return path


def pnyx_verify(election: Election, tmp_path: Path, *extra: str) -> int:
    """``pnyx-verify`` on the exported board (its exit status: 0 verified)."""
    board = export_board(election, tmp_path / f"board-{election.slug}.jsonl")
    return verify_main([str(board), "--jobs", "1", "--no-progress", *extra])


def messages_url(election: Election, index: int) -> str:
    return f"/api/elections/{election.pk}/trustees/{index}/messages/"


@dataclass
class TestTrustee:
    """A trustee as the test plays it: its own key store file, the trustee-side code."""

    __test__ = False  # not a test class (pytest collects names starting with "Test")

    election: Election
    index: int
    store_path: Path
    passphrase: str = PASSPHRASE
    model: Trustee | None = None
    token: str = ""  #: the enrolment token it received (a secret too)
    _unlocked: tuple | None = field(default=None, repr=False, compare=False)

    def store(self):
        """The unlocked key store, kept while the file is unchanged (as a trustee's process
        does: scrypt at 2¹⁷ costs ≈ 0.3 s and 128 MiB per unlock)."""
        stat = self.store_path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._unlocked is None or self._unlocked[0] != stamp:
            store = keystore.unlock(self.store_path, self.passphrase)
            self._unlocked = (stamp, store)
        return self._unlocked[1]

    def view(self, tmp: Path) -> BoardView:
        """The board as it is now (unverified: for the test's own reading)."""
        return BoardView.read(str(export_board(self.election, tmp / f"view-{self.index}.jsonl")))

    def register(self, client: Client) -> Any:
        token = self.token = trustee_enrolment_issue(trustee=self.model, acting_user=None)
        _, registration = keygen(
            self.store_path,
            election=str(self.election.pk),
            index=self.index,
            passphrase=self.passphrase,
        )
        registration["token"] = token
        return post_json(client, messages_url(self.election, self.index), registration)

    def message(self, step: str, tmp: Path, **kwargs) -> dict:
        """What ``pnyx-trustee <step>`` does: the board exported once, verified, the step done
        from it if it allows it."""
        board = verify_file(export_board(self.election, tmp / f"board-{self.index}.jsonl"))
        return act(self.store(), board, step)

    def send(self, client: Client, step: str, tmp: Path):
        return post_json(client, messages_url(self.election, self.index), self.message(step, tmp))


@dataclass
class CeremonyElection:
    election: Election
    trustees: list[TestTrustee]
    voters: list[RollVoter] = field(default_factory=list)
    manifest: Manifest | None = None

    def refresh(self) -> CeremonyElection:
        self.election.refresh_from_db()
        if self.election.manifest_json:
            self.manifest = Manifest.from_json(parse_json(self.election.manifest_json))
        return self

    @property
    def url(self) -> str:
        return f"/api/elections/{self.election.pk}"

    def cast(self, client: Client, voter: int, choices: Sequence[Sequence[int]]):
        who = self.voters[voter]
        ballot, _ = ballot_encrypt(self.manifest.spec, who.key, choices)
        response = post_json(login(client, who), f"{self.url}/ballots/", ballot.to_json())
        assert response.status_code == 201, response.content
        return ballot


def setup_ceremony(
    tmp: Path,
    *,
    questions: Sequence[dict],
    modes: Sequence[str] = ("offline", "offline", "offline"),
    threshold: int = 2,
    client: Client | None = None,
) -> CeremonyElection:
    """A draft election with its trustees named and registered (nothing dealt yet)."""
    election = make_election(questions=questions)
    ceremony = ceremony_configure(
        election=election,
        threshold=threshold,
        trustees=[
            {"name": f"Trustee {i}", "email": f"trustee{i}@example.org", "mode": mode}
            for i, mode in enumerate(modes, start=1)
        ],
        acting_user=None,
    )
    client = client or Client()
    trustees = []
    for model in ceremony.trustees.order_by("index"):
        trustee = TestTrustee(
            election, model.index, tmp / f"{election.slug}-trustee-{model.index}.json"
        )
        trustee.model = model
        response = trustee.register(client)
        assert response.status_code == 202, response.content
        trustees.append(trustee)
    return CeremonyElection(election, trustees)


def run_offline_ceremony(
    ce: CeremonyElection, tmp: Path, client: Client, *, skip: Sequence[int] = ()
) -> None:
    """Start the ceremony and play every offline trustee's steps in order."""
    election_start_ceremony(election=ce.election, acting_user=None)
    for step in ("commit", "deal", "check", "confirm"):
        for trustee in ce.trustees:
            if trustee.index in skip:
                continue
            response = trustee.send(client, step, tmp)
            assert response.status_code in (200, 202), (step, trustee.index, response.content)


def add_voters_and_open(ce: CeremonyElection, weights: Sequence[int]) -> CeremonyElection:
    election = ce.election
    roll = [
        Voter.objects.create(
            election=election, identifier=f"voter{i}", email=f"voter{i}@example.org", weight=w
        )
        for i, w in enumerate(weights)
    ]
    issued, credentials = credentials_generate(
        election_uuid=str(election.pk),
        roll=[RollEntry(v.identifier, v.email, v.weight) for v in roll],
    )
    for voter, item in zip(roll, issued, strict=True):
        ce.voters.append(
            RollVoter(voter, item.code, derive_signing_key(item.code, str(election.pk)))
        )
    credentials_publish(election=election, credentials=credentials, acting_user=None, source="test")
    election_open(election=election, acting_user=None)
    return ce.refresh()


def expected_counts(manifest: Manifest, ballots: dict[int, tuple[int, list]]) -> list[list[int]]:
    """``ballots``: voter → (weight, choices) of each voter's last ballot."""
    out = [[0] * q.options for q in manifest.questions]
    for weight, choices in ballots.values():
        for qi, picks in enumerate(choices):
            for oi, x in enumerate(picks):
                out[qi][oi] += weight * x
    return out


def ceremony_of(election: Election) -> KeyCeremony:
    return KeyCeremony.objects.get(election=election)


# --- Real worker processes ---------------------------------------------------------------------


def worker_env(**extra: str) -> dict:
    """The environment of a worker process of this test session: the test database (pytest-django
    renamed it), the test broker, the test settings."""
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = (
        f"postgres://{db.get('USER') or 'postgres'}"
        f"{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
        f"@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )
    env["PNYX_LOG_LEVEL"] = "INFO"
    env["PYTHONUNBUFFERED"] = "1"
    prefix = (celery_app.conf.broker_transport_options or {}).get("global_keyprefix")
    if prefix:  # pytest-xdist: this worker's own broker keys (tests/conftest.py)
        env["PNYX_TEST_KEYPREFIX"] = prefix
    env.update(extra)
    return env


# One helper for every worker subprocess (operations/workers.py).
WorkerProcess = CeleryWorkerProcess


def worker_app() -> str:
    """``config`` (the command a trustee runs), or the test app when the broker keys are
    prefixed (pytest-xdist)."""
    prefix = (celery_app.conf.broker_transport_options or {}).get("global_keyprefix")
    return "tests.tally.worker_app" if prefix else "config"


def trustee_worker(
    trustees: Sequence[TestTrustee],
    log: Path,
    passphrase_file: Path,
    *,
    board: str,
    env: dict | None = None,
    app: str | None = None,
    wait: bool = True,
) -> WorkerProcess:
    """``celery -A config worker -Q trustee.<id>,…`` with the trustees' key stores, reading the
    board from ``board`` (the server's address: ``live_server.url``) — exactly what a worker
    trustee runs (one process may serve several trustees, as the demo's does). ``env``: the
    environment to start from (default :func:`worker_env`)."""
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    env = dict(env if env is not None else worker_env())
    env.update(
        PNYX_TRUSTEE_KEYSTORE=os.pathsep.join(str(t.store_path) for t in trustees),
        PNYX_TRUSTEE_PASSPHRASE_FILE=str(passphrase_file),
        PNYX_TRUSTEE_BOARD=board,
    )
    queues = ",".join(t.model.queue for t in trustees)
    worker = WorkerProcess(
        ["-Q", queues, "--pool", "solo", "--hostname", f"trustees-{trustees[0].index}@%h"],
        env,
        log,
        app=app or worker_app(),
    )
    if wait:
        worker.wait_ready()
    return worker


def wait_for(predicate, *, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def capture_stdout(func, *args) -> tuple[int, str]:
    old, sys.stdout = sys.stdout, io.StringIO()
    try:
        code = func(*args)
        return code, sys.stdout.getvalue()
    finally:
        sys.stdout = old
