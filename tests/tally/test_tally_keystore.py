"""The trustee's key store: scrypt + AES-256-GCM, versioned JSON, mode 0600, nothing in clear."""

from __future__ import annotations

import json
import os
import stat

import pytest

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
        "n": 2**15,
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
    weaker = {**data, "kdf": {**data["kdf"], "n": 2**10}}
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
    store, reg = keygen(path, election=ELECTION, index=3, passphrase="p" * 12)
    assert reg["kind"] == "registration" and reg["trustee"] == 3
    assert reg["message"]["public_key"] == store.public_key
    with pytest.raises(KeyStoreError, match="not overwritten"):
        keygen(path, election=ELECTION, index=3, passphrase="p" * 12)
    before = json.loads(path.read_text())
    store.secrets["ceremony"] = {"context": "c" * 64, "polynomial": None, "deal": None}
    store.save()
    after = json.loads(path.read_text())
    assert after["kdf"]["salt"] != before["kdf"]["salt"] and after["nonce"] != before["nonce"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]  # no temporary file left
    assert keystore.unlock(path, "p" * 12).secrets["ceremony"]["context"] == "c" * 64
    # a fresh registration for the same key (another proof, same public key)
    again = registration(keystore.unlock(path, "p" * 12))
    assert again["message"]["public_key"] == reg["message"]["public_key"]


def test_environment(tmp_path) -> None:
    (tmp_path / "pass").write_text("from a file\nignored\n")
    assert (
        keystore.passphrase_from_environment(
            {"PNYX_TRUSTEE_PASSPHRASE_FILE": str(tmp_path / "pass")}
        )
        == "from a file"
    )
    assert keystore.passphrase_from_environment({"PNYX_TRUSTEE_PASSPHRASE": "x"}) == "x"
    with pytest.raises(KeyStoreError, match="no passphrase"):
        keystore.passphrase_from_environment({})
    paths = keystore.keystore_paths_from_environment(
        {"PNYX_TRUSTEE_KEYSTORE": f"a.json{os.pathsep}b.json"}
    )
    assert [p.name for p in paths] == ["a.json", "b.json"]
    with pytest.raises(KeyStoreError, match="PNYX_TRUSTEE_KEYSTORE"):
        keystore.keystore_paths_from_environment({})


def test_the_trustee_task_returns_public_messages_only(tmp_path, monkeypatch) -> None:
    """``tally.trustee_step`` as a trustee's worker runs it: a key store it cannot unlock gives an
    error report naming neither the passphrase nor anything secret; unlocked, it returns the signed
    commitment, which holds no secret of the key store (its result is kept by the broker)."""
    from crypto.group import Point
    from crypto.threshold import Ceremony, TrusteePublicKey
    from tally.tasks import trustee_step
    from tally.trustee_steps import CeremonyParams

    stores = [
        keygen(tmp_path / f"t{i}.json", election=ELECTION, index=i, passphrase=RIGHT)[0]
        for i in (1, 2)
    ]
    keys = tuple(TrusteePublicKey(s.index, Point.from_hex(s.public_key), None) for s in stores)
    params = CeremonyParams(
        ELECTION,
        2,
        tuple((s.index, f"T{s.index}", s.public_key) for s in stores),
        Ceremony(ELECTION, 2, keys).context,
    )
    monkeypatch.setenv("PNYX_TRUSTEE_KEYSTORE", os.pathsep.join(str(s.path) for s in stores))
    wrong = "not the passphrase at all"
    monkeypatch.setenv("PNYX_TRUSTEE_PASSPHRASE", wrong)
    failed = trustee_step.run("commit", params.to_json(), 2, {})
    assert set(failed) == {"error", "step", "trustee"} and "cannot unlock" in failed["error"]
    assert wrong not in json.dumps(failed) and stores[1].secrets["y"] not in json.dumps(failed)

    monkeypatch.setenv("PNYX_TRUSTEE_PASSPHRASE", RIGHT)
    answer = trustee_step.run("commit", params.to_json(), 2, {})
    assert answer["kind"] == "commitment" and answer["trustee"] == 2
    after = keystore.unlock(stores[1].path, RIGHT)
    secrets = [after.secrets["y"], *after.secrets["ceremony"]["polynomial"]]
    text = json.dumps(answer)
    assert len(secrets) == 3 and not any(s in text for s in secrets) and RIGHT not in text
    # every task of the tally is acknowledged once done, and given back if its worker dies
    tasks = [t for name, t in trustee_step.app.tasks.items() if name.startswith("tally.")]
    assert len(tasks) >= 7
    assert all(t.acks_late and t.reject_on_worker_lost for t in tasks)
