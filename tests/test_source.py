"""Every page links to the source code of the running instance (AGPL-3.0-or-later, section 13)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from config.source import source_archive

ROOT = Path(__file__).resolve().parent.parent


def _names(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.getnames()


@pytest.mark.django_db
def test_every_page_links_to_the_source(client) -> None:
    page = client.get("/").content.decode()
    assert 'href="/source.tar.gz"' in page
    assert "AGPL-3.0-or-later" in page


@pytest.mark.django_db
def test_the_link_follows_the_setting(client, settings) -> None:
    settings.PNYX_SOURCE_URL = "https://example.org/pnyx/tree/v1"
    assert 'href="https://example.org/pnyx/tree/v1"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_archive_holds_the_source_and_no_local_data(client) -> None:
    response = client.get("/source.tar.gz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert "attachment" in response["Content-Disposition"]
    names = _names(response.content)
    prefix = names[0].split("/")[0]
    assert prefix.startswith("pnyx-")
    for expected in ("LICENSE", "config/source.py", "crypto/group.py", "docs/protocol.md"):
        assert f"{prefix}/{expected}" in names
    assert not any("/var/" in n or n.endswith(".pyc") or "__pycache__" in n for n in names)
    assert not any("/node_modules/" in n or n.endswith("board_signing_key") for n in names)
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        member = tar.extractfile(f"{prefix}/LICENSE")
        assert member is not None and member.read() == (ROOT / "LICENSE").read_bytes()


def test_the_archive_is_reproducible_and_skips_secrets(tmp_path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "app.py").write_text("x = 1\n")
    (tmp_path / "config" / ".env").write_text("SECRET=1\n")
    (tmp_path / "config" / "server.key").write_text("k\n")
    (tmp_path / "config" / "__pycache__").mkdir()
    (tmp_path / "config" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "db.sqlite3").write_bytes(b"\0")
    (tmp_path / "LICENSE").write_text("license\n")
    first = source_archive.__wrapped__(tmp_path)
    assert first == source_archive.__wrapped__(tmp_path)
    assert gzip.decompress(first)  # a valid gzip stream
    names = [n.split("/", 1)[1] for n in _names(first)]
    assert names == ["LICENSE", "config/app.py"]


@pytest.mark.django_db
def test_only_get_and_head(client) -> None:
    assert client.head("/source.tar.gz").status_code == 200
    assert client.post("/source.tar.gz").status_code == 405
