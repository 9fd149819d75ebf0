"""``GET /source.tar.gz``: the source code of the running instance (AGPL-3.0-or-later, section 13).

The GNU Affero General Public License asks that everyone who uses the program over a network can
get its corresponding source. Every page's footer links to it: to ``PNYX_SOURCE_URL`` when the
operator publishes the source elsewhere (a repository at the deployed commit), else to this view,
which serves the source tree this process runs from, as a reproducible gzip'd tarball.

What goes in: the project's own files (the Python packages, templates, translations, front-end
sources, documentation, tests, benchmarks and build files); what never does: local data (``var/``:
the database, keys, e-mails), virtual environments, caches, build outputs and anything whose name
suggests a secret. The archive is built once per process, with fixed timestamps and owners, so two
instances of one release serve the same bytes.
"""

from __future__ import annotations

import functools
import gzip
import io
import tarfile
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

#: Top-level entries of the project directory that make up the source.
SOURCE_ENTRIES = (
    "LICENSE",
    "README.md",
    "Makefile",
    "pyproject.toml",
    "requirements.txt",
    "requirements-interop.txt",
    "manage.py",
    ".ci",
    "config",
    "crypto",
    "board",
    "identity",
    "voting",
    "tally",
    "operations",
    "participation",
    "officials",
    "verifier",
    "witness",
    "templates",
    "locale",
    "static",
    "frontend",
    "docs",
    "tests",
    "bench",
)
#: Directory names never descended into, wherever they are.
SKIPPED_DIRS = frozenset(
    {"__pycache__", "node_modules", ".pytest_cache", ".hypothesis", ".ruff_cache", "var"}
)
#: File names (or suffixes) never included: compiled files, local environments, secrets.
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".sqlite3", ".key", ".pem")
SKIPPED_NAMES = frozenset({".env", "board_signing_key", "secret_key"})


def _included(path: Path) -> bool:
    if any(part in SKIPPED_DIRS for part in path.parts):
        return False
    return path.name not in SKIPPED_NAMES and not path.name.endswith(SKIPPED_SUFFIXES)


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for entry in SOURCE_ENTRIES:
        top = root / entry
        if top.is_file():
            found.append(top)
        elif top.is_dir():
            found.extend(
                p for p in top.rglob("*") if p.is_file() and _included(p.relative_to(root))
            )
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def version() -> str:
    try:
        return metadata.version("pnyx")
    except metadata.PackageNotFoundError:  # running from a tree that was never installed
        return "0"


@functools.cache
def source_archive(root: Path | None = None) -> bytes:
    """The reproducible ``.tar.gz`` of the source tree under ``root`` (the project by default)."""
    root = Path(root or settings.BASE_DIR)
    prefix = f"pnyx-{version()}"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _files(root):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{prefix}/{path.relative_to(root).as_posix()}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


@require_safe
def source(request: HttpRequest) -> HttpResponse:
    body = source_archive()
    response = HttpResponse(body, content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="pnyx-{version()}-source.tar.gz"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


def source_link(request: HttpRequest) -> dict[str, str]:
    """Template context: ``source_url``, where the footer's "Source code" link points."""
    return {"source_url": settings.PNYX_SOURCE_URL or reverse("source")}
