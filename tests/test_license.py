"""The project is licensed AGPL-3.0-or-later: the verbatim text, and the statements of it."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: SHA-256 of the GNU Affero General Public License version 3 as the FSF publishes it
#: (agpl-3.0.txt, 34,523 bytes; the copy in LICENSE came from a PyPI wheel and matches Debian's
#: GPL-3 everywhere the two licenses share text).
AGPL_3_SHA256 = "0d96a4ff68ad6d4b6f1f30f713b18d5184912ba8dd389f86aa7710db079abcb0"


def test_license_file_is_the_verbatim_agpl_3() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert text.startswith(b"                    GNU AFFERO GENERAL PUBLIC LICENSE\n")
    assert hashlib.sha256(text).hexdigest() == AGPL_3_SHA256


def test_pyproject_states_the_license_in_pep_639_form() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    assert project["project"]["license-files"] == ["LICENSE"]
    backend = project["build-system"]["requires"]
    assert backend == ["setuptools>=77"]  # the first setuptools that reads PEP 639 metadata


def test_the_installed_package_carries_the_license() -> None:
    """``make deps`` installs the project (editable): its metadata names the license."""
    assert metadata.metadata("pnyx")["License-Expression"] == "AGPL-3.0-or-later"


def test_readme_states_the_license() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## License" in readme and "AGPL-3.0-or-later" in readme
