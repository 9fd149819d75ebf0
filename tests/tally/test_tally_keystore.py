"""The trustee's key store: scrypt (n = 2¹⁷) + AES-256-GCM, versioned JSON, mode 0600, nothing in
clear; stores written at the earlier cost (2¹⁵) are read and saved again at 2¹⁷; a new store
needs a strong passphrase."""

from __future__ import annotations

import json
import os
import secrets
import stat
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crypto.group import Scalar, base_mul
from tally import keystore
from tally.keystore import KeyStoreError
from tally.trustee_steps import keygen, registration

ELECTION = "6f1c0e4e-3a55-4c1e-9f0b-0d7f3c1e2a10"
RIGHT = "the right passphrase"  # noqa: S105 - a test key store


def test_create_and_unlock(tmp_path) -> None:
    y = Scalar.random()
    path = tmp_path / "store.json"
    keystore.create(
        path,
        election=ELECTION,
        index=2,
        public_key=base_mul(y).to_hex(),
        y_hex=y.to_hex(),
        passphrase=RIGHT,
    )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["format"] == "pnyx-trustee-keystore" and data["version"] == 1
    assert data["kdf"] == {
        "name": "scrypt",
        "n": 2**17,
        "r": 8,
        "p": 1,
        "salt": data["kdf"]["salt"],
    }
    assert len(bytes.fromhex(data["kdf"]["salt"])) == 16 and len(bytes.fromhex(data["nonce"])) == 12
    assert data["cipher"] == "aes-256-gcm"
    assert y.to_hex() not in path.read_text()  # only the ciphertext
    store = keystore.unlock(path, RIGHT)
    assert store.secrets["y"] == y.to_hex() and store.index == 2 and store.election == ELECTION
    assert "redacted" in repr(store) and y.to_hex() not in repr(store)


def test_wrong_passphrase_and_tampering_are_refused(tmp_path) -> None:
    path = tmp_path / "store.json"
    keygen(path, election=ELECTION, index=1, passphrase=RIGHT)
    with pytest.raises(KeyStoreError, match="cannot unlock"):
        keystore.unlock(path, "a wrong passphrase")
    # the clear header is authenticated: another index (or key) does not decrypt
    data = json.loads(path.read_text())
    for field, value in (("index", 2), ("election", ELECTION.replace("6f", "7f"))):
        altered = {**data, field: value}
        (tmp_path / "altered.json").write_text(json.dumps(altered))
        with pytest.raises(KeyStoreError, match="cannot unlock"):
            keystore.unlock(tmp_path / "altered.json", RIGHT)
    for kdf in ({"n": 2**10}, {"n": 2**16}, {"r": 4}, {"p": 2}, {"n": "131072"}):
        weaker = {**data, "kdf": {**data["kdf"], **kdf}}
        (tmp_path / "weak.json").write_text(json.dumps(weaker))
        with pytest.raises(KeyStoreError, match="scrypt parameters"):
            keystore.unlock(tmp_path / "weak.json", RIGHT)
    (tmp_path / "v2.json").write_text(json.dumps({**data, "version": 2}))
    with pytest.raises(KeyStoreError, match="version"):
        keystore.read_header(tmp_path / "v2.json")
    with pytest.raises(KeyStoreError, match="no such key store"):
        keystore.read_header(tmp_path / "missing.json")


def test_keygen_never_overwrites_and_saves_atomically(tmp_path) -> None:
    path = tmp_path / "store.json"
    store, reg = keygen(path, election=ELECTION, index=3, passphrase=RIGHT)
    assert reg["kind"] == "registration" and reg["trustee"] == 3
    assert reg["message"]["public_key"] == store.public_key
    with pytest.raises(KeyStoreError, match="not overwritten"):
        keygen(path, election=ELECTION, index=3, passphrase=RIGHT)
    before = json.loads(path.read_text())
    store.secrets["ceremony"] = {"context": "c" * 64, "polynomial": None, "deal": None}
    started = time.perf_counter()
    store.save()
    saving = time.perf_counter() - started
    after = json.loads(path.read_text())
    # the key derived once is kept in memory: a new nonce, the same salt, no second scrypt
    assert after["kdf"]["salt"] == before["kdf"]["salt"] and after["nonce"] != before["nonce"]
    assert after["ciphertext"] != before["ciphertext"]
    started = time.perf_counter()
    unlocked = keystore.unlock(path, RIGHT)
    unlocking = time.perf_counter() - started
    assert saving < unlocking / 3, (saving, unlocking)  # one scrypt at 2¹⁷ vs none
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]  # no temporary file left
    assert unlocked.secrets["ceremony"]["context"] == "c" * 64
    # a fresh registration for the same key (another proof, same public key)
    again = registration(unlocked)
    assert again["message"]["public_key"] == reg["message"]["public_key"]


def _write_outdated(path, passphrase: str, content: dict, n: int = 2**15) -> None:
    """A key store as the earlier version wrote it (scrypt n = 2¹⁵), built from the format's
    definition (docs/trustees.md), not with the current writer."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = {
        "format": "pnyx-trustee-keystore",
        "version": 1,
        "election": ELECTION,
        "index": 1,
        "public_key": base_mul(Scalar.from_hex(content["y"])).to_hex(),
        "kdf": {"name": "scrypt", "n": n, "r": 8, "p": 1, "salt": salt.hex()},
        "cipher": "aes-256-gcm",
    }
    key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode())
    aad = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    plain = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plain, aad)
    path.write_text(json.dumps({**header, "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}))


def test_a_store_written_at_the_earlier_cost_is_read_and_saved_again_at_2_17(tmp_path) -> None:
    y = Scalar.random()
    path = tmp_path / "old.json"
    _write_outdated(path, "an old, short one", {"y": y.to_hex(), "ceremony": None})
    store = keystore.unlock(path, "an old, short one")  # its passphrase predates the rule: kept
    assert store.outdated and store.secrets["y"] == y.to_hex()
    assert json.loads(path.read_text())["kdf"]["n"] == 2**15  # reading writes nothing
    assert keystore.upgrade(store) is True
    data = json.loads(path.read_text())
    assert data["kdf"]["n"] == 2**17 and not store.outdated
    assert keystore.upgrade(store) is False
    again = keystore.unlock(path, "an old, short one")
    assert again.secrets == {"y": y.to_hex(), "ceremony": None} and not again.outdated


def test_the_trustee_worker_saves_an_outdated_store_again_when_it_unlocks_it(
    tmp_path, monkeypatch
) -> None:
    from tally.trustee_worker import unlock_all

    y = Scalar.random()
    path = tmp_path / "old.json"
    _write_outdated(path, RIGHT, {"y": y.to_hex(), "ceremony": None})
    monkeypatch.setenv("PNYX_TRUSTEE_KEYSTORE", str(path))
    monkeypatch.setenv("PNYX_TRUSTEE_PASSPHRASE", RIGHT)
    [store] = unlock_all()
    assert store.secrets["y"] == y.to_hex()
    assert json.loads(path.read_text())["kdf"]["n"] == 2**17


@pytest.mark.parametrize(
    "weak",
    [
        "p" * 12,  # repeated
        "password1234",  # common
        "Tr0ub4dor&3",  # too short
        "qwertyuiopasdf",  # a keyboard row
        "trustee2pnyx2026",  # the context's own words
    ],
)
def test_a_new_key_store_needs_a_strong_passphrase(tmp_path, weak) -> None:
    with pytest.raises(KeyStoreError, match="stronger passphrase"):
        keygen(tmp_path / "store.json", election=ELECTION, index=2, passphrase=weak)
    assert not (tmp_path / "store.json").exists()
    assert keystore.passphrase_problems(weak, hints=(ELECTION, "trustee2"))


def test_strong_passphrases_are_accepted() -> None:
    for strong in (
        RIGHT,
        "correct horse battery staple",
        secrets.token_urlsafe(24),
        "ocean-violin-47-marble-lantern " * 4,  # longer than zxcvbn scores (72): accepted
    ):
        assert keystore.passphrase_problems(strong) == [], strong
