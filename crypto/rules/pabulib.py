"""The pabulib ``.pb`` format (https://pabulib.org/format), approval ballots (docs/protocol.md §16.9).

A file is three sections, each a ``;``-separated CSV table introduced by a line holding its name:
``META`` (``key;value`` rows), ``PROJECTS`` (a header row naming ``project_id`` and ``cost``, then
one row per project) and ``VOTES`` (a header naming ``voter_id`` and ``vote``, then one row per
voter; ``vote`` lists the approved project ids separated by commas, possibly none). Only
``vote_type`` ``approval`` is read. Every defect raises :class:`PabulibError` naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crypto.rules.common import RuleError

__all__ = ["PabulibError", "PbFile", "read_pb", "write_pb"]

SECTIONS = ("META", "PROJECTS", "VOTES")
# pabulib's order of the META keys; other keys follow in the order given
META_ORDER = (
    "description",
    "country",
    "unit",
    "district",
    "subunit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
)
MAX_BYTES = 256 * 1024 * 1024


class PabulibError(RuleError):
    """A ``.pb`` file is malformed; the message names the line."""


def _int(text: str, what: str, line: int) -> int:
    text = text.strip()
    # pabulib writes some integral amounts as "1000.0"
    whole = text[:-2] if text.endswith(".0") else text
    if not whole.isdigit() or not whole.isascii():
        raise PabulibError(f"line {line}: {what} {text!r} is not a non-negative integer")
    return int(whole)


@dataclass(frozen=True)
class PbFile:
    """A parsed approval ``.pb`` file: ``meta`` and the rows of ``projects`` and ``votes`` as
    read (strings), plus the derived numbers every rule needs."""

    meta: Mapping[str, str]
    projects: Sequence[Mapping[str, str]]
    votes: Sequence[Mapping[str, str]]
    project_ids: tuple[str, ...] = field(default=())
    costs: tuple[int, ...] = field(default=())
    budget: int = 0
    approvals: tuple[tuple[int, ...], ...] = field(default=())

    @property
    def rule(self) -> str:
        return self.meta.get("rule", "")

    def selected(self) -> list[int] | None:
        """Positions of the projects whose ``selected`` column is 1 (None without that column)."""
        if not self.projects or "selected" not in self.projects[0]:
            return None
        return [i for i, row in enumerate(self.projects) if row["selected"].strip() == "1"]


def read_pb(data: str | bytes) -> PbFile:
    """Parse and validate an approval ``.pb`` file."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise PabulibError("the file is too large")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PabulibError(f"the file is not UTF-8 ({exc.reason})") from None
    if not isinstance(data, str):
        raise PabulibError("a .pb file is text")
    rows: dict[str, list[tuple[int, list[str]]]] = {}
    section = None
    reader = csv.reader(io.StringIO(data), delimiter=";")
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            name = row[0].strip()
            if len(row) == 1 and name.upper() in SECTIONS:
                name = name.upper()
                if name in rows:
                    raise PabulibError(f"line {line}: section {name} appears twice")
                expected = SECTIONS[len(rows)]
                if name != expected:
                    raise PabulibError(f"line {line}: expected section {expected}, found {name}")
                section = name
                rows[name] = []
                continue
            if section is None:
                raise PabulibError(f"line {line}: data before the META section")
            rows[section].append((line, row))
    except csv.Error as exc:
        raise PabulibError(f"line {reader.line_num}: {exc}") from None
    for name in SECTIONS:
        if name not in rows:
            raise PabulibError(f"the {name} section is missing")

    meta: dict[str, str] = {}
    for line, row in rows["META"]:
        if len(row) < 2:
            raise PabulibError(f"line {line}: a META row is key;value")
        key = row[0].strip()
        if key == "key" and row[1].strip() == "value" and not meta:
            continue  # the optional header row
        if key in meta:
            raise PabulibError(f"line {line}: META key {key!r} appears twice")
        meta[key] = ";".join(row[1:]).strip()
    for key in ("budget", "vote_type", "num_projects", "num_votes"):
        if key not in meta:
            raise PabulibError(f"META lacks {key!r}")
    vote_type = meta["vote_type"].strip().lower()
    if vote_type != "approval":
        raise PabulibError(f"vote_type {vote_type!r} is not supported (approval only)")
    meta_line = rows["META"][0][0] if rows["META"] else 1
    budget = _int(meta["budget"], "budget", meta_line)

    projects = _table(rows["PROJECTS"], "PROJECTS", ("project_id", "cost"))
    votes = _table(rows["VOTES"], "VOTES", ("voter_id", "vote"))
    ids: list[str] = []
    costs: list[int] = []
    position: dict[str, int] = {}
    for line, rec in projects:
        pid = rec["project_id"].strip()
        if not pid or pid in position:
            raise PabulibError(f"line {line}: project_id {pid!r} is empty or repeated")
        position[pid] = len(ids)
        ids.append(pid)
        costs.append(_int(rec["cost"], "cost", line))
    approvals: list[tuple[int, ...]] = []
    voters: set[str] = set()
    for line, rec in votes:
        vid = rec["voter_id"].strip()
        if not vid or vid in voters:
            raise PabulibError(f"line {line}: voter_id {vid!r} is empty or repeated")
        voters.add(vid)
        text = rec["vote"].strip()
        named = [p.strip() for p in text.split(",")] if text else []
        if len(set(named)) != len(named):
            raise PabulibError(f"line {line}: a vote names a project twice")
        for p in named:
            if p not in position:
                raise PabulibError(f"line {line}: the vote names unknown project {p!r}")
        approvals.append(tuple(sorted(position[p] for p in named)))
    if _int(meta["num_projects"], "num_projects", meta_line) != len(ids):
        raise PabulibError(f"num_projects is {meta['num_projects']}, the file lists {len(ids)}")
    if _int(meta["num_votes"], "num_votes", meta_line) != len(approvals):
        raise PabulibError(f"num_votes is {meta['num_votes']}, the file lists {len(approvals)}")
    return PbFile(
        meta=meta,
        projects=[rec for _, rec in projects],
        votes=[rec for _, rec in votes],
        project_ids=tuple(ids),
        costs=tuple(costs),
        budget=budget,
        approvals=tuple(approvals),
    )


def _table(
    rows: list[tuple[int, list[str]]], name: str, required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise PabulibError(f"the {name} section has no header row")
    line, header = rows[0]
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise PabulibError(f"line {line}: the {name} header repeats a column")
    for column in required:
        if column not in header:
            raise PabulibError(f"line {line}: the {name} header lacks {column!r}")
    out = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise PabulibError(f"line {line}: {len(row)} cells where the header has {len(header)}")
        out.append((line, dict(zip(header, row, strict=True))))
    return out


def write_pb(
    meta: Mapping[str, str | int],
    project_ids: Sequence[str],
    costs: Sequence[int],
    budget: int,
    approvals: Sequence[Sequence[int]],
    *,
    selected: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
) -> str:
    """An approval ``.pb`` file. ``meta`` gives the descriptive keys (description, country, unit,
    instance, rule, date_begin, date_end…); ``num_projects``, ``num_votes``, ``budget`` and
    ``vote_type`` are written from the data. ``approvals`` hold project positions; voters are
    numbered from 1. ``selected`` (positions) fills the ``selected`` column."""
    if len(costs) != len(project_ids) or len(set(project_ids)) != len(project_ids):
        raise PabulibError("one cost per project, distinct project ids")
    for pid in project_ids:
        if not pid or any(ch in pid for ch in ';,\n\r"'):
            raise PabulibError(f"project id {pid!r} is empty or holds ; , quote or newline")
    reserved = {"num_projects", "num_votes", "budget", "vote_type"}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    out.write("META\n")
    writer.writerow(["key", "value"])
    full = {k: v for k, v in meta.items() if k not in reserved}
    full.update(
        num_projects=len(project_ids),
        num_votes=len(approvals),
        budget=budget,
        vote_type="approval",
    )
    keys = [k for k in META_ORDER if k in full] + [k for k in full if k not in META_ORDER]
    for key in keys:
        writer.writerow([key, full[key]])
    out.write("PROJECTS\n")
    header = ["project_id", "cost", "votes", "name"]
    names = list(project_ids) if names is None else list(names)
    if len(names) != len(project_ids):
        raise PabulibError("one name per project")
    if selected is not None:
        header.append("selected")
    writer.writerow(header)
    counts = [0] * len(project_ids)
    for ballot in approvals:
        for p in ballot:
            if not 0 <= p < len(project_ids):
                raise PabulibError("an approval names an unknown project")
            counts[p] += 1
    chosen = set(selected or ())
    for i, pid in enumerate(project_ids):
        row: list = [pid, costs[i], counts[i], names[i]]
        if selected is not None:
            row.append(1 if i in chosen else 0)
        writer.writerow(row)
    out.write("VOTES\n")
    writer.writerow(["voter_id", "vote"])
    for v, ballot in enumerate(approvals, start=1):
        writer.writerow([v, ",".join(project_ids[p] for p in sorted(set(ballot)))])
    return out.getvalue()
