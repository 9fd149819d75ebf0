"""pnyx-witness: the C2SP tlog-witness decisions, the HTTP server on a real thread, the CLI.

A log here is a MemoryHashStore plus the log's Ed25519 note key; the witness is a real directory
(key file, witness.json, SQLite) made by ``pnyx-witness init``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from crypto.checkpoint import AddCheckpoint, Checkpoint, ForkProof, pnyx_origin, verify_fork_proof
from crypto.note import SIG_COSIGNATURE_V1, NoteSigner, open_note, parse_note
from crypto.tlog import EMPTY_ROOT, MemoryHashStore, prove_consistency
from witness import cli
from witness.client import WitnessConflict, WitnessRefused, add_checkpoint
from witness.server import MAX_BODY, serve_in_thread
from witness.service import Witness
from witness.state import KEY_FILE, WitnessSetupError

ELECTION = "6b1f0c2e-2d4a-4f7e-8a51-9c3d2e1f0a77"
ORIGIN = pnyx_origin("vote.example.org", ELECTION)


class Log:
    """A log under test: its leaves, stored hashes and key; forks on demand."""

    def __init__(self, signer: NoteSigner, *, change: int | None = None, n: int = 0):
        self.signer, self.change, self.store = signer, change, MemoryHashStore()
        self.grow(n)

    def grow(self, n: int) -> None:
        for _ in range(n):
            i = self.store.size
            self.store.append(b"forked" if i == self.change else f"entry {i}".encode())

    def note(self, size: int | None = None, root: bytes | None = None, signer=None) -> bytes:
        size = self.store.size if size is None else size
        root = self.store.root(size) if root is None else root
        text = Checkpoint(ORIGIN, size, root).text()
        return (text + "\n" + (signer or self.signer).signature_line(text)).encode()

    def request(self, old: int, size: int | None = None, **kw) -> bytes:
        size = self.store.size if size is None else size
        proof = prove_consistency(old, size, self.store)
        return AddCheckpoint(old, tuple(proof), self.note(size, **kw)).to_bytes()


@pytest.fixture()
def log_key() -> NoteSigner:
    return NoteSigner.from_seed(ORIGIN, b"\x07" * 32)


@pytest.fixture()
def directory(tmp_path: Path, log_key: NoteSigner) -> Path:
    d = tmp_path / "w"
    assert cli.main(["--dir", str(d), "init", "--name", "witness.example.org/pnyx"]) == 0
    assert (
        cli.main(["--dir", str(d), "add-log", "--origin", ORIGIN, "--vkey", log_key.verifier.vkey])
        == 0
    )
    return d


@pytest.fixture()
def witness(directory: Path):
    w = Witness(directory, clock=lambda: 1_800_000_000)
    yield w
    w.close()


def cosigned(witness: Witness, note: bytes, response_body: bytes):
    """The witness's line verifies as a cosignature/v1 over the checkpoint."""
    text = parse_note(note).text
    opened = open_note(text + "\n" + response_body.decode(), [witness.signer.verifier])
    ((verifier, _, timestamp),) = opened.verified
    assert verifier.sig_type == SIG_COSIGNATURE_V1 and timestamp == 1_800_000_000
    return timestamp


# --- the decisions ----------------------------------------------------------------------------


def test_cosigns_a_growing_log(witness, log_key):
    log = Log(log_key, n=5)
    first = witness.add_checkpoint(log.request(0))
    assert first.status == 200 and first.content_type.startswith("text/plain")
    assert first.body.startswith("— witness.example.org/pnyx ".encode()) and first.body.endswith(
        b"\n"
    )
    cosigned(witness, log.note(), first.body)
    for grow in (1, 2, 17, 300):
        old = log.store.size
        log.grow(grow)
        response = witness.add_checkpoint(log.request(old))
        assert response.status == 200, response.body
        cosigned(witness, log.note(), response.body)
    # the same checkpoint again: old size = size, same root, empty proof
    again = witness.add_checkpoint(log.request(log.store.size))
    assert again.status == 200
    assert witness.evidence() == []


def test_status_codes(witness, log_key):
    log = Log(log_key, n=8)
    assert witness.add_checkpoint(log.request(0, 4)).status == 200
    # 409: the old size is not what we cosigned; the body is our size
    conflict = witness.add_checkpoint(log.request(0, 8))
    assert (conflict.status, conflict.content_type, conflict.body) == (
        409,
        "text/x.tlog.size",
        b"4\n",
    )
    assert witness.add_checkpoint(log.request(3, 8)).status == 409
    # 400: malformed, or old larger than the checkpoint
    assert witness.add_checkpoint(b"old 4\n").status == 400
    assert witness.add_checkpoint(b"garbage").status == 400
    assert witness.add_checkpoint(b"old 4\n\nnot a note\n").status == 400
    assert witness.add_checkpoint(AddCheckpoint(8, (), log.note(4)).to_bytes()).status == 400
    # 404: a log we do not witness
    other = NoteSigner.generate("other.example/log")
    text = Checkpoint("other.example/log", 1, b"\x01" * 32).text()
    unknown = AddCheckpoint(0, (), (text + "\n" + other.signature_line(text)).encode())
    assert witness.add_checkpoint(unknown.to_bytes()).status == 404
    # 403: signed by another key under the log's name, or a bad signature by the log's key
    impostor = NoteSigner.generate(ORIGIN)
    assert witness.add_checkpoint(log.request(4, 8, signer=impostor)).status == 403
    good = log.note(8)
    text, sig = good.decode().split("\n\n")
    wrong = Checkpoint(ORIGIN, 8, b"\x02" * 32).text()
    bad_sig = (wrong + "\n" + sig).encode()
    proof = tuple(prove_consistency(4, 8, log.store))
    assert witness.add_checkpoint(AddCheckpoint(4, proof, bad_sig).to_bytes()).status == 403
    # 422: a bad proof, and nothing was cosigned or moved
    bad_proof = AddCheckpoint(4, (b"\x00" * 32,) + proof[1:], log.note(8))
    assert witness.add_checkpoint(bad_proof.to_bytes()).status == 422
    assert witness.add_checkpoint(log.request(4, 8)).status == 200


def test_size_zero_and_empty_proof_rules(witness, log_key):
    log = Log(log_key)
    # size 0 needs the empty root
    wrong_empty = AddCheckpoint(0, (), log.note(0, root=b"\x01" * 32))
    assert witness.add_checkpoint(wrong_empty.to_bytes()).status == 422
    assert (
        witness.add_checkpoint(AddCheckpoint(0, (), log.note(0, root=EMPTY_ROOT)).to_bytes()).status
        == 200
    )
    log.grow(3)
    # from size 0 the proof is empty
    with_proof = AddCheckpoint(0, (b"\x00" * 32,), log.note(3))
    assert witness.add_checkpoint(with_proof.to_bytes()).status == 422
    assert witness.add_checkpoint(log.request(0)).status == 200


def test_refuses_a_fork_and_keeps_the_evidence(witness, directory, log_key, capsys):
    honest = Log(log_key, n=6)
    assert witness.add_checkpoint(honest.request(0)).status == 200
    # the log now shows someone else a tree where entry 2 changed, grown to 20
    forked = Log(log_key, change=2, n=20)
    response = witness.add_checkpoint(forked.request(6))
    assert response.status == 422
    (evidence,) = witness.evidence()
    assert (evidence.kind, evidence.old_size, evidence.new_size) == ("prefix-mismatch", 6, 20)
    assert verify_fork_proof(evidence.fork, log_key.verifier) == "prefix-mismatch"
    # same size, other root: refused, kept, a fork proof on its own
    same = witness.add_checkpoint(forked.request(6, 6))
    assert same.status == 422
    kinds = [e.kind for e in witness.evidence()]
    assert kinds == ["prefix-mismatch", "same-size"]
    assert verify_fork_proof(witness.evidence()[1].fork, log_key.verifier) == "same-size"
    # a repeat is not stored twice
    witness.add_checkpoint(forked.request(6))
    assert len(witness.evidence()) == 2
    # the honest branch goes on being cosigned
    honest.grow(10)
    assert witness.add_checkpoint(honest.request(6)).status == 200
    # the CLI lists it and prints a fork proof; exit status 1
    assert cli.main(["--dir", str(directory), "evidence"]) == 1
    listing = capsys.readouterr().out
    assert "prefix-mismatch" in listing and "same-size" in listing
    assert cli.main(["--dir", str(directory), "evidence", "--id", "1"]) == 1
    captured = capsys.readouterr()
    printed = ForkProof.from_json(json.loads(captured.out))
    assert verify_fork_proof(printed, log_key.verifier) == "prefix-mismatch"
    assert "a proof that the log forked" in captured.err


def test_a_fork_seen_through_a_409_is_kept(witness, log_key):
    honest = Log(log_key, n=6)
    assert witness.add_checkpoint(honest.request(0)).status == 200
    forked = Log(log_key, change=0, n=6)
    response = witness.add_checkpoint(forked.request(0))  # old 0 ≠ 6: 409, but the roots differ
    assert response.status == 409
    assert [e.kind for e in witness.evidence()] == ["same-size"]


def test_a_bad_proof_is_kept_but_is_no_fork_proof(witness, log_key):
    log = Log(log_key, n=6)
    assert witness.add_checkpoint(log.request(0)).status == 200
    log.grow(4)
    garbage = AddCheckpoint(6, (b"\x05" * 32,) * 3, log.note())
    assert witness.add_checkpoint(garbage.to_bytes()).status == 422
    (evidence,) = witness.evidence()
    assert evidence.kind == "bad-proof"
    with pytest.raises(Exception, match="do not prove a fork"):
        verify_fork_proof(evidence.fork, log_key.verifier)


def test_concurrent_requests_never_roll_back(witness, log_key):
    log = Log(log_key, n=10)
    assert witness.add_checkpoint(log.request(0)).status == 200
    log.grow(40)
    bodies = [log.request(10, size) for size in range(11, 51)]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda b=b: results.append(witness.add_checkpoint(b).status))
        for b in bodies
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 1 and results.count(409) == len(bodies) - 1
    # whichever won, the stored size only moved forward and is a consistent one
    conflict = witness.add_checkpoint(log.request(0))
    stored = int(conflict.body)
    assert 11 <= stored <= 50
    assert witness.add_checkpoint(log.request(stored)).status == 200


# --- files and the CLI --------------------------------------------------------------------------


def test_key_file_is_private_and_checked(directory, capsys):
    key = directory / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert cli.main(["--dir", str(directory), "show-key"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert vkey.startswith("witness.example.org/pnyx+")
    assert cli.main(["--dir", str(directory), "init", "--name", "again.example"]) == 2
    os.chmod(key, 0o644)
    with pytest.raises(WitnessSetupError, match="chmod 600"):
        Witness(directory)
    assert cli.main(["--dir", str(directory), "show-key"]) == 2


def test_add_log_validates(directory, log_key, capsys):
    d = str(directory)
    assert cli.main(["--dir", d, "add-log", "--origin", "x.example/l", "--vkey", "nonsense"]) == 2
    cosigner = NoteSigner.generate("x.example/l", SIG_COSIGNATURE_V1)
    assert (
        cli.main(
            ["--dir", d, "add-log", "--origin", "x.example/l", "--vkey", cosigner.verifier.vkey]
        )
        == 2
    )
    other = NoteSigner.generate(ORIGIN)
    assert cli.main(["--dir", d, "add-log", "--origin", ORIGIN, "--vkey", other.verifier.vkey]) == 2
    assert cli.main(["--dir", d, "init", "--name", "bad name"]) == 2
    assert "pnyx-witness:" in capsys.readouterr().err


def test_a_log_added_while_serving_is_picked_up(witness, directory):
    second = NoteSigner.generate("second.example/log")
    text = Checkpoint("second.example/log", 1, b"\x01" * 32).text()
    body = AddCheckpoint(0, (), (text + "\n" + second.signature_line(text)).encode()).to_bytes()
    assert witness.add_checkpoint(body).status == 404
    config = json.loads((directory / "witness.json").read_text())
    config["logs"].append({"origin": "second.example/log", "vkey": second.verifier.vkey})
    (directory / "witness.json").write_text(json.dumps(config))
    os.utime(directory / "witness.json", ns=(1, 1))  # a different mtime, whatever the clock
    assert witness.add_checkpoint(body).status == 200


# --- HTTP against a real server thread -----------------------------------------------------------


@pytest.fixture()
def server(witness):
    srv, thread = serve_in_thread(witness)
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _raw(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), data


def test_http_add_checkpoint_with_the_client(server, witness, log_key):
    url, port = server
    log = Log(log_key, n=7)
    request = AddCheckpoint(0, (), log.note())
    (line,) = add_checkpoint(url, request)
    assert line.name == "witness.example.org/pnyx" and line.key_id == witness.signer.key_id
    cosigned(witness, log.note(), line.line.encode())
    log.grow(5)
    with pytest.raises(WitnessConflict) as conflict:
        add_checkpoint(url, AddCheckpoint(0, (), log.note()))
    assert conflict.value.size == 7
    proof = tuple(prove_consistency(conflict.value.size, 12, log.store))
    add_checkpoint(url, AddCheckpoint(7, proof, log.note()))
    with pytest.raises(WitnessRefused) as refused:
        add_checkpoint(url, AddCheckpoint(12, (), log.note(12, signer=NoteSigner.generate(ORIGIN))))
    assert refused.value.status == 403
    # the monitoring endpoint serves the latest cosigned checkpoint with both signatures
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    status, ctype, body = _raw(port, "GET", f"/{origin_hash}/checkpoint")
    assert status == 200 and ctype == "text/plain; charset=utf-8"
    opened = open_note(body, [log_key.verifier, witness.signer.verifier])
    assert len(opened.verified) == 2 and Checkpoint.from_text(opened.text).size == 12
    assert _raw(port, "GET", f"/{'0' * 64}/checkpoint")[0] == 404
    status, _, body = _raw(port, "GET", "/")
    assert status == 200 and body.decode().strip() == witness.signer.verifier.vkey


def test_http_status_codes_and_limits(server, log_key):
    _, port = server
    log = Log(log_key, n=3)
    assert _raw(port, "POST", "/add-checkpoint", log.request(0))[0] == 200
    status, ctype, body = _raw(port, "POST", "/add-checkpoint", log.request(0))
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"3\n")
    assert _raw(port, "POST", "/add-checkpoint", b"old 1\n\nx\n\n")[0] == 400
    assert _raw(port, "GET", "/add-checkpoint")[0] == 405
    assert _raw(port, "POST", "/elsewhere", b"x")[0] == 404
    assert _raw(port, "GET", "/elsewhere")[0] == 404
    assert _raw(port, "POST", "/add-checkpoint", b"x" * (MAX_BODY + 1))[0] == 413
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/add-checkpoint")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    # keep-alive: several requests on one connection
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):
        conn.request("POST", "/add-checkpoint", body=log.request(3))
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    conn.close()


def test_hostile_bodies_get_a_clear_status_and_change_nothing(directory, log_key):
    """Random changes to a valid request: always one of the spec's statuses, never an exception;
    a changed request is cosigned only if it is still a valid, consistent checkpoint."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    witness = Witness(directory, clock=lambda: 1_800_000_000)
    log = Log(log_key, n=9)
    assert witness.add_checkpoint(log.request(0, 4)).status == 200
    good = log.request(4, 9)
    at_four = witness._db.execute(
        "SELECT size, root, note, cosigned_at FROM checkpoints"
    ).fetchone()

    @settings(
        max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.data())
    def run(data):
        body = bytearray(good)
        for _ in range(data.draw(st.integers(1, 3))):
            k = data.draw(st.integers(0, len(body) - 1))
            body[k] = data.draw(st.sampled_from([0x0A, 0x20, 0x2B, 0x30, 0x41, body[k] ^ 1]))
        response = witness.add_checkpoint(bytes(body))
        assert response.status in (200, 400, 403, 404, 409, 422), response
        conflict = witness.add_checkpoint(log.request(0, 4))
        if response.status == 200:
            # only a body that still says the same thing can be cosigned
            request = AddCheckpoint.from_bytes(bytes(body))
            assert parse_note(request.checkpoint).text == parse_note(log.note(9)).text
            assert conflict.body == b"9\n"
            # put the witness back at 4 for the next example
            witness._db.execute(
                "UPDATE checkpoints SET size = ?, root = ?, note = ?, cosigned_at = ?", at_four
            )
        else:
            assert conflict.body == b"4\n"

    run()
    witness.close()


def test_pnyx_witness_serve_runs_as_a_program(directory, log_key):
    """`pnyx-witness serve` (the installed program) answers add-checkpoint and stops on SIGTERM."""
    import re
    import signal
    import subprocess
    import sys

    program = Path(sys.executable).with_name("pnyx-witness")
    command = [str(program)] if program.exists() else [sys.executable, "-m", "witness"]
    proc = subprocess.Popen(
        [*command, "--dir", str(directory), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read(2000)
        log = Log(log_key, n=4)
        (cosignature,) = add_checkpoint(
            f"http://127.0.0.1:{match.group(1)}", AddCheckpoint(0, (), log.note())
        )
        assert cosignature.name == "witness.example.org/pnyx"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
