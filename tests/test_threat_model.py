"""docs/threat-model.md covers every role, and every check it points at exists: each file, each
function or test named after a file, each section of docs/protocol.md. A reference that goes
stale fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "threat-model.md"

ROLES = [
    "## The server operator",
    "## A trustee, and t colluding trustees",
    "## The credential authority",
    "## A witness",
    "## A voter's device",
    "## An observer",
]


def text() -> str:
    return re.sub(r"\s+", " ", DOC.read_text(encoding="utf-8"))


def test_every_role_and_the_split_view_are_covered() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for heading in ROLES:
        assert heading in doc, heading
    section = doc.split("## Limitations", 1)[1]
    assert "**Split view.**" in section and "cannot detect the split" in section
    assert "issue 11" in section


def test_every_file_and_name_it_points_at_exists() -> None:
    """``path/file.py `name`, `name`…``: the file exists and defines every name (a function, a
    class, a test)."""
    pairs = re.findall(r"([\w/.]+\.py) ((?:`\w+`(?:, | and )?)+)", text())
    assert len(pairs) > 25  # the pattern found the references
    for path, names in pairs:
        source = (ROOT / path).read_text(encoding="utf-8")
        for name in re.findall(r"`(\w+)`", names):
            assert re.search(rf"^\s*(?:async )?(?:def|class) {name}\b", source, re.M), (path, name)
    for path in set(re.findall(r"\b((?:[\w-]+/)+[\w.-]+\.(?:py|md))\b", text())):
        assert (ROOT / path).exists(), path


def test_every_protocol_section_it_cites_exists() -> None:
    protocol = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\b", protocol, re.M))
    doc = re.sub(r"issue \d+ §\d+", "", text())  # sections of the issue, not of the protocol
    cited = set(re.findall(r"§(\d+(?:\.\d+)?)", doc))
    assert cited and cited <= sections, sorted(cited - sections)


def test_no_claim_is_left_pending() -> None:
    """Every claim points at code that has landed (a "[pending]" mark was for the time the parts
    of issue 9 landed one after the other)."""
    assert "[pending]" not in text()
