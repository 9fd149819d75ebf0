"""The offline trustee's commands end to end: ``pnyx-trustee`` (console script) and
``manage.py trustee`` as separate processes, reading the live board over HTTP, writing message
files and uploading them; and the CLI's independence from Django."""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from board.models import BoardEntry
from board.selectors import board_lines
from tally.models import Trustee
from tally.services.ceremony import ceremony_configure, ceremony_invite
from tests.tally.boards import BoardProxy, entries_of, modify_ballot, rechain
from tests.tally.helpers import (
    PASSPHRASE,
    ROOT,
    CeremonyElection,
    TestTrustee,
    add_voters_and_open,
    expected_counts,
    pnyx_verify,
    wait_for,
)
from tests.voting.factories import EVERY_KIND, make_election
from voting.models import Election
from voting.services.elections import election_close, election_start_ceremony

PNYX_TRUSTEE = Path(sys.executable).parent / "pnyx-trustee"


def run(cmd: list[str], *, ok: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNYX_TRUSTEE")}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    if ok:
        assert done.returncode == 0, f"{cmd[:3]}: {done.stderr[-2000:]}"
    return done


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.e2e
def test_offline_trustees_with_the_command_line(tmp_path, live_server, celery_worker_real) -> None:
    assert PNYX_TRUSTEE.exists(), "pnyx-trustee is not installed (pip install -e ., make deps)"
    election = make_election(questions=EVERY_KIND)
    ceremony_configure(
        election=election,
        threshold=2,
        trustees=[
            {"name": f"Trustee {i}", "email": f"t{i}@example.org", "mode": "offline"}
            for i in (1, 2, 3)
        ],
        acting_user=None,
    )
    ceremony_invite(election=election, acting_user=None)
    tokens = {
        int(re.search(r"Your index:\s+(\d+)", m.body).group(1)): re.search(
            r"Enrolment token:\s+(\S+)", m.body
        ).group(1)
        for m in mail.outbox
    }
    server = live_server.url
    board = f"{server}/api/elections/{election.pk}/board.jsonl"
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    commands = {
        1: [str(PNYX_TRUSTEE)],
        2: [sys.executable, "manage.py", "trustee"],
    }

    def cli(index: int, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        return run([*commands[index], *args], ok=ok)

    def step(index: int, name: str, *extra: str, source: str = board) -> str:
        out = tmp_path / f"{name}-{index}.json"
        done = cli(
            index,
            name,
            "--keystore",
            str(tmp_path / f"k{index}.json"),
            "--passphrase-file",
            str(passphrase),
            "--board",
            source,
            "--out",
            str(out),
            *extra,
        )
        answer = json.loads(cli(index, "upload", str(out), "--server", server).stdout)
        assert answer["status"] == "accepted", answer
        return done.stderr

    # registration: keygen writes the key store (0600) and the message; upload sends it
    for index in (1, 2):
        keystore = tmp_path / f"k{index}.json"
        reg = tmp_path / f"registration-{index}.json"
        cli(
            index,
            "keygen",
            "--election",
            str(election.pk),
            "--index",
            str(index),
            "--keystore",
            str(keystore),
            "--passphrase-file",
            str(passphrase),
            "--token",
            tokens[index],
            "--out",
            str(reg),
        )
        assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
        assert json.loads(reg.read_text())["kind"] == "registration"
        again = cli(
            index,
            "keygen",
            "--election",
            str(election.pk),
            "--index",
            str(index),
            "--keystore",
            str(keystore),
            "--passphrase-file",
            str(passphrase),
            ok=False,
        )
        assert again.returncode == 1 and "not overwritten" in again.stderr
        assert json.loads(cli(index, "upload", str(reg), "--server", server).stdout)["status"] == (
            "accepted"
        )
    # trustee 3 plays the same code in this process (tests/tally/helpers.py)
    three = TestTrustee(election, 3, tmp_path / "k3.json")
    three.model = Trustee.objects.get(ceremony__election=election, index=3)
    client = Client()
    from tally.trustee_steps import keygen

    _, registration = keygen(
        three.store_path, election=str(election.pk), index=3, passphrase=PASSPHRASE
    )
    response = client.post(
        f"/api/elections/{election.pk}/trustees/3/messages/",
        {**registration, "token": tokens[3]},
        content_type="application/json",
    )
    assert response.status_code == 202

    status = json.loads(
        cli(1, "status", "--board", board, "--keystore", str(tmp_path / "k1.json")).stdout
    )
    assert status["next"].startswith("register") or "ceremony" not in status
    election_start_ceremony(election=election, acting_user=None)
    status = json.loads(
        cli(1, "status", "--board", board, "--keystore", str(tmp_path / "k1.json")).stdout
    )
    assert status["next"] == "commit" and status["threshold"] == 2
    # a wrong passphrase: refused with a clear message, exit status 1
    (tmp_path / "wrong").write_text("not the passphrase\n")
    wrong = cli(
        1,
        "commit",
        "--keystore",
        str(tmp_path / "k1.json"),
        "--passphrase-file",
        str(tmp_path / "wrong"),
        "--board",
        board,
        ok=False,
    )
    assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr
    for name in ("commit", "deal", "check", "confirm"):
        step(1, name)
        step(2, name)
        assert three.send(client, name, tmp_path).status_code == 202
    election = Election.objects.get(pk=election.pk)
    assert election.state == "ready"
    info = json.loads(cli(2, "info", "--keystore", str(tmp_path / "k2.json")).stdout)
    assert info["index"] == 2 and info["public_key"] == election.trustees[1]["public_key"]

    ce = CeremonyElection(election, [three]).refresh()
    add_voters_and_open(ce, [1, 1, 2])
    last = {}
    for voter, choices in (
        (0, [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]]),
        (1, [[0, 1], [0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]]),
        (2, [[1, 0], [0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1]]),
    ):
        ce.cast(Client(), voter, choices)
        last[voter] = (ce.voters[voter].voter.weight, choices)
    election_close(election=election, acting_user=None)
    wait_for(lambda: Election.objects.get(pk=election.pk).state == "tallying", what="the tally")
    status = json.loads(
        cli(2, "status", "--board", board, "--keystore", str(tmp_path / "k2.json")).stdout
    )
    assert status["next"] == "decrypt"
    # a tampered copy of the board (a ballot altered, the chain rebuilt): refused with the
    # verifier's reason, nothing written
    lines = [line.encode() + b"\n" for line in board_lines(election_id=election.pk)]
    tracker = json.loads(lines[-4])["payload"]["tracker"]  # the last ballot
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(
        b"".join(rechain(modify_ballot(tracker)(entries_of(lines), ce.manifest.spec)))
    )
    refused = cli(
        2,
        "decrypt",
        "--keystore",
        str(tmp_path / "k2.json"),
        "--passphrase-file",
        str(passphrase),
        "--board",
        str(tampered),
        "--out",
        str(tmp_path / "never.json"),
        ok=False,
    )
    assert refused.returncode == 1 and not (tmp_path / "never.json").exists()
    assert f"the board does not verify: entry {len(lines) - 4} (ballot)" in refused.stderr
    # the board is read once (one request), verified, and decrypted from those very bytes
    proxy = BoardProxy(server, ce.manifest.spec)
    try:
        said = step(2, "decrypt", "--verify", source=proxy.url + board[len(server) :])
        assert proxy.requests == [f"/api/elections/{election.pk}/board.jsonl"]
        assert "board verified up to entry" in said and "WARNING" not in said
    finally:
        proxy.close()
    said = step(1, "decrypt", "--no-verify")  # possible, with a loud warning
    assert said.startswith("WARNING: --no-verify: this board is NOT verified.")
    wait_for(lambda: Election.objects.get(pk=election.pk).state == "tallied", what="the result")
    result = json.loads(BoardEntry.objects.get(election=election, kind="result").line)["payload"]
    assert result["trustees"] == [1, 2]
    assert result["counts"] == expected_counts(ce.manifest, last)
    assert pnyx_verify(election, tmp_path) == 0


FRAMEWORK_FREE = (
    "tally/trustee_cli.py",
    "tally/trustee_steps.py",
    "tally/trustee_board.py",
    "tally/trustee_worker.py",
    "tally/trustee_mix.py",
    "tally/keystore.py",
)
TRUSTEE_MODULES = ("tally", *(name[:-3].replace("/", ".") for name in FRAMEWORK_FREE))
ALLOWED_ROOTS = {"crypto", "tally", "verifier", "cryptography", "zxcvbn"}


def test_the_trustee_tools_are_framework_free() -> None:
    stdlib = sys.stdlib_module_names
    for name in FRAMEWORK_FREE:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                assert root in stdlib or root in ALLOWED_ROOTS or root == "__future__", (
                    f"{name} imports {module}"
                )
                if root == "tally":
                    assert module in TRUSTEE_MODULES, module
    probe = (
        "import sys, tally.trustee_cli, tally.trustee_worker; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'django', 'celery', 'kombu', 'rest_framework', 'psycopg'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
    usage = subprocess.run(
        [sys.executable, "-m", "tally.trustee_cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    for command in ("keygen", "commit", "deal", "check", "confirm", "decrypt", "upload"):
        assert command in usage.stdout
