"""Reads for the public HTML pages and the officials' dashboard.

Kept apart from ``voting/selectors.py`` (the API's and the services' reads): everything here is
derived from what the public board says (entries, manifest, result), plus the roll-level turnout
that ``voting.selectors.election_turnout`` already computes for officials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Max, Min
from django.db.models.functions import Substr
from django.http import Http404

from board.models import BoardEntry
from crypto.hashing import parse_json
from voting.models import Ballot, Election, ElectionState
from voting.selectors import election_list_public
from voting.services.manifest import questions_json

# --- Elections ---------------------------------------------------------------------------------


def election_get_public(*, slug: str) -> Election:
    """An election the public may see (any state but draft), by slug; 404 otherwise."""
    try:
        return election_list_public().get(slug=slug)
    except Election.DoesNotExist as exc:
        raise Http404("No such election.") from exc


def election_manifest_data(*, election: Election) -> dict | None:
    """The frozen manifest (docs/protocol.md §10) once the election has opened, else None."""
    return parse_json(election.manifest_json) if election.manifest_json else None


def election_questions_public(*, election: Election) -> list[dict]:
    """The questions in the manifest's JSON shape (§10): from the frozen manifest once the
    election is open, before that from the (frozen since the key ceremony) question rows."""
    manifest = election_manifest_data(election=election)
    if manifest is not None:
        return manifest["questions"]
    return questions_json(election)


def election_voting_status(*, election: Election, now: datetime) -> str:
    """What a voter can do now: ``open`` (cast ballots), ``not_yet`` (open but before the
    window, or not opened yet), ``ended`` (open but after the window), ``closed`` (closed,
    tallying or tallied)."""
    if election.state == ElectionState.OPEN:
        if now < election.opens_at:
            return "not_yet"
        if now >= election.closes_at:
            return "ended"
        return "open"
    if election.state in (ElectionState.CLOSED, ElectionState.TALLYING, ElectionState.TALLIED):
        return "closed"
    return "not_yet"


# --- The board ---------------------------------------------------------------------------------


def board_entry_parsed(*, election: Election, seq: int) -> dict:
    try:
        line = BoardEntry.objects.values_list("line", flat=True).get(election=election, seq=seq)
    except BoardEntry.DoesNotExist as exc:
        raise Http404("No such board entry.") from exc
    return parse_json(line)


def board_last_entry(*, election: Election, kind: str) -> dict | None:
    """The last entry of a kind, parsed, or None."""
    line = (
        BoardEntry.objects.filter(election=election, kind=kind)
        .order_by("-seq")
        .values_list("line", flat=True)
        .first()
    )
    return parse_json(line) if line is not None else None


def board_close_entry(*, election: Election, before: int) -> dict | None:
    """The ``state`` entry that closed the election (the last one to ``closed`` before seq
    ``before``), parsed, or None: the tally covers every ballot before it."""
    lines = (
        BoardEntry.objects.filter(election=election, kind="state", seq__lt=before)
        .order_by("-seq")
        .values_list("line", flat=True)
    )
    for line in lines.iterator():
        entry = parse_json(line)
        if (entry.get("payload") or {}).get("to") == "closed":
            return entry
    return None


def board_entry_summary(entry: dict) -> str:
    """A short, language-neutral description of an entry for the board's table."""
    payload = entry.get("payload") or {}
    kind = entry.get("kind")
    if kind == "state":
        return f"{payload.get('from')} → {payload.get('to')}"
    if kind in ("ballot", "audit"):
        return str(payload.get("tracker", ""))
    if kind == "manifest":
        return str(payload.get("fingerprint", ""))
    if kind == "credentials":
        return str(payload.get("count", ""))
    if kind == "election":
        return str(payload.get("title", ""))
    if kind in ("tally", "result"):
        return f"{payload.get('counted', '')}"
    if kind == "decryption-rejected":
        return str(payload.get("trustee", ""))
    return ""


# --- Turnout over time -------------------------------------------------------------------------

#: board time prefixes: "YYYY-MM-DD", "YYYY-MM-DDTHH", "YYYY-MM-DDTHH:MM"
_BUCKETS = {"day": 10, "hour": 13, "minute": 16}


def _board_time(value: str) -> datetime:
    return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def _bucket_start(prefix: str) -> datetime:
    if len(prefix) == 10:
        return datetime.strptime(prefix, "%Y-%m-%d").replace(tzinfo=UTC)
    if len(prefix) == 13:
        return datetime.strptime(prefix, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return datetime.strptime(prefix, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)


@dataclass(frozen=True)
class TimelinePoint:
    start: datetime
    ballots: int  #: ballot entries in this bucket (revotes included)
    new_voters: int  #: credentials whose first ballot is in this bucket
    total_ballots: int  #: cumulative
    total_voters: int  #: cumulative


@dataclass
class Timeline:
    unit: str  #: "minute", "hour" or "day"
    points: list[TimelinePoint] = field(default_factory=list)

    @property
    def voters(self) -> int:
        return self.points[-1].total_voters if self.points else 0

    @property
    def ballots(self) -> int:
        return self.points[-1].total_ballots if self.points else 0


def ballot_timeline(*, election: Election) -> Timeline:
    """Ballots and first-time voters (credentials) per minute, hour or day, from the board's
    ballot entries — what anyone can recompute from board.jsonl. Grouped in the database."""
    ballots = BoardEntry.objects.filter(election=election, kind="ballot")
    span = ballots.aggregate(first=Min("time"), last=Max("time"))
    if span["first"] is None:
        return Timeline(unit="hour")
    seconds = (_board_time(span["last"]) - _board_time(span["first"])).total_seconds()
    unit = "minute" if seconds <= 3 * 3600 else "hour" if seconds <= 7 * 86400 else "day"
    length = _BUCKETS[unit]
    per_bucket = dict(
        ballots.annotate(bucket=Substr("time", 1, length))
        .values_list("bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    # A credential's first ballot supersedes nothing.
    first_ballots = dict(
        Ballot.objects.filter(election=election, supersedes__isnull=True)
        .annotate(bucket=Substr("entry__time", 1, length))
        .values_list("bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    timeline = Timeline(unit=unit)
    total_ballots = total_voters = 0
    for bucket in sorted(per_bucket):
        total_ballots += per_bucket[bucket]
        total_voters += first_ballots.get(bucket, 0)
        timeline.points.append(
            TimelinePoint(
                start=_bucket_start(bucket),
                ballots=per_bucket[bucket],
                new_voters=first_ballots.get(bucket, 0),
                total_ballots=total_ballots,
                total_voters=total_voters,
            )
        )
    return timeline


@dataclass(frozen=True)
class Chart:
    """An SVG line chart's geometry, computed here so that templates only print numbers."""

    width: int
    height: int
    voters_points: str  #: "x,y x,y …" of the cumulative voters' step line
    ballots_points: str
    y_max: int
    x_labels: list[tuple[float, str]]  #: (x, label)
    y_labels: list[tuple[float, str]]


def timeline_chart(timeline: Timeline, *, electorate: int | None) -> Chart | None:
    """Cumulative voters (and ballots) over time, y axis up to the electorate when known."""
    if not timeline.points:
        return None
    width, height, left, right, top, bottom = 360, 200, 40, 12, 12, 32
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max(electorate or 0, timeline.ballots, 1)
    t0 = timeline.points[0].start.timestamp()
    step = {"minute": 60, "hour": 3600, "day": 86400}[timeline.unit]
    t1 = timeline.points[-1].start.timestamp() + step
    span = max(t1 - t0, 1)

    def x(ts: float) -> float:
        return round(left + (ts - t0) / span * plot_w, 1)

    def y(value: int) -> float:
        return round(top + plot_h - value / y_max * plot_h, 1)

    def steps(attr: str) -> str:
        coords = [(x(t0), y(0))]
        for point in timeline.points:
            end = point.start.timestamp() + step
            coords.append((coords[-1][0], y(getattr(point, attr))))
            coords.append((x(end), y(getattr(point, attr))))
        return " ".join(f"{a},{b}" for a, b in coords)

    fmt = {"minute": "%H:%M", "hour": "%m-%d %H:00", "day": "%Y-%m-%d"}[timeline.unit]
    first, last = timeline.points[0].start, datetime.fromtimestamp(t1, tz=UTC)
    x_labels = [(x(t0), first.strftime(fmt)), (x(t1), last.strftime(fmt))]
    y_labels = [(y(0), "0"), (y(y_max), str(y_max))]
    return Chart(
        width=width,
        height=height,
        voters_points=steps("total_voters"),
        ballots_points=steps("total_ballots"),
        y_max=y_max,
        x_labels=x_labels,
        y_labels=y_labels,
    )


# --- The result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionResult:
    id: str
    title: str
    count: int
    percent: float  #: of the counted weight
    bar: float  #: 0–100, relative to the question's largest count (for the bar's length)
    cost: int | None
    funded: bool | None  #: budget questions only
    average: float | None = None  #: score questions: total score / counted weight (0 … S)


@dataclass(frozen=True)
class QuestionResult:
    id: str
    title: str
    kind: str
    budget: int | None
    options: list[OptionResult]
    blank: int | None  #: blank votes (weight) of questions that allow one, else None
    funded_cost: int | None
    max_score: int | None = None  #: S of a score question


@dataclass(frozen=True)
class ElectionResult:
    questions: list[QuestionResult]
    counted: int
    weight: int
    trustees: list[dict]  #: [{"index", "name"}] whose partial decryptions were combined
    entry: dict  #: the result entry: seq, hash, time
    tally: dict | None  #: the tally entry: seq, hash, counted, superseded
    closed: dict | None = None  #: the entry that closed voting: seq, hash, time


class ResultMismatch(Exception):
    """The board's result entry does not fit the manifest (a verifier would reject it)."""


def election_result(*, election: Election, manifest: dict | None) -> ElectionResult | None:
    """The decrypted result from the board's ``result`` entry (docs/protocol.md §12.4), with the
    manifest's titles; None until there is one. Raises ResultMismatch for a malformed one."""
    if manifest is None:
        return None
    entry = board_last_entry(election=election, kind="result")
    if entry is None:
        return None
    payload: dict[str, Any] = entry["payload"]
    counts, funded = payload.get("counts"), payload.get("funded")
    questions = manifest["questions"]
    if (
        not isinstance(counts, list)
        or not isinstance(funded, list)
        or len(counts) != len(questions)
        or len(funded) != len(questions)
    ):
        raise ResultMismatch("the result does not have one entry per question")
    weight = int(payload.get("weight") or 0)
    results = []
    for question, row, funded_ids in zip(questions, counts, funded, strict=True):
        options = question["options"]
        if not isinstance(row, list) or len(row) != len(options):
            raise ResultMismatch(f"question {question['id']}: one count per option")
        top = max([*row, 1])
        funded_set = set(funded_ids or [])
        score = question["kind"] == "score"
        option_results = [
            OptionResult(
                id=option["id"],
                title=option["title"],
                count=count,
                percent=round(100 * count / weight, 1) if weight else 0.0,
                bar=round(100 * count / top, 1),
                cost=option.get("cost"),
                funded=(option["id"] in funded_set) if question["kind"] == "budget" else None,
                average=(round(count / weight, 2) if weight else 0.0) if score else None,
            )
            for option, count in zip(options, row, strict=True)
        ]
        blank = None
        if question["kind"] in ("referendum", "single") and question["min"] == 0:
            blank = max(weight - sum(row), 0)
        funded_cost = None
        if question["kind"] == "budget":
            funded_cost = sum(o.cost or 0 for o in option_results if o.funded)
        results.append(
            QuestionResult(
                id=question["id"],
                title=question["title"],
                kind=question["kind"],
                budget=question.get("budget"),
                options=option_results,
                blank=blank,
                funded_cost=funded_cost,
                max_score=question.get("max_score") if score else None,
            )
        )
    names = {t["index"]: t["name"] for t in manifest.get("trustees", [])}
    tally = board_last_entry(election=election, kind="tally")
    closed = board_close_entry(election=election, before=entry["seq"])
    return ElectionResult(
        questions=results,
        counted=int(payload.get("counted") or 0),
        weight=weight,
        trustees=[{"index": j, "name": names.get(j, "")} for j in payload.get("trustees", [])],
        entry={"seq": entry["seq"], "hash": entry["hash"], "time": entry["time"]},
        tally=None
        if tally is None
        else {
            "seq": tally["seq"],
            "hash": tally["hash"],
            "counted": tally["payload"].get("counted"),
            "superseded": tally["payload"].get("superseded"),
        },
        closed=None
        if closed is None
        else {"seq": closed["seq"], "hash": closed["hash"], "time": closed["time"]},
    )


# --- Officials' progress bars ------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    steps: list[tuple[str, int, int]]  #: (what, done, needed), `what` a board entry kind
    note: str = ""  #: "installed" when the key came without ceremony entries on the board

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0


def ceremony_progress(*, election: Election, kinds: dict[str, int]) -> Progress:
    """Key ceremony progress from the board: one commitment, one deal and one confirmation per
    trustee, then the ceremony result."""
    n = len(election.trustees)
    ceremony = (
        board_last_entry(election=election, kind="ceremony") if kinds.get("ceremony") else None
    )
    if ceremony is not None:
        n = len(ceremony["payload"].get("trustees", [])) or n
    steps = [
        ("dkg-commitment", min(kinds.get("dkg-commitment", 0), n), n),
        ("dkg-deal", min(kinds.get("dkg-deal", 0), n), n),
        ("dkg-confirmation", min(kinds.get("dkg-confirmation", 0), n), n),
        ("ceremony-result", min(kinds.get("ceremony-result", 0), 1), 1),
    ]
    total = sum(needed for _, _, needed in steps)
    done = sum(d for _, d, _ in steps)
    if election.key_installed and not kinds.get("ceremony-result"):
        # election_install_key: the key ceremony's output came without its transcript
        return Progress(done=total or 1, total=total or 1, steps=steps, note="installed")
    return Progress(done=done, total=total, steps=steps)


def tally_progress(
    *, election: Election, kinds: dict[str, int], detail: dict | None = None
) -> Progress:
    """Tally progress: the ballots added up (the tally app's run, ``detail`` from
    tally.selectors.tally_status), the encrypted tally on the board, t valid partial decryptions,
    the result. Each of these 3 + t stages weighs the same on the bar; the adding-up moves it as
    the chunks finish. Values are hundredths of a stage (integers: no decimal comma in HTML)."""
    t = election.threshold or 1
    valid = max(kinds.get("partial-decryption", 0) - kinds.get("decryption-rejected", 0), 0)
    if detail and detail.get("decryptions") is not None:
        valid = len(detail["decryptions"]["valid"])
    published = min(kinds.get("tally", 0), 1)
    total_ballots = (detail or {}).get("ballots_total")
    if published:
        added = 1.0
    elif total_ballots:
        added = min((detail or {}).get("ballots_aggregated") or 0, total_ballots) / total_ballots
    else:
        added = 0.0
    steps = [
        ("tally", published, 1),
        ("partial-decryption", min(valid, t), t),
        ("result", min(kinds.get("result", 0), 1), 1),
    ]
    done = added + sum(d for _, d, _ in steps)
    return Progress(
        done=round(100 * done), total=100 * (1 + sum(n for _, _, n in steps)), steps=steps
    )
