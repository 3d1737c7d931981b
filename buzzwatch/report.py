"""The post-crisis report: what the crisis log says about one or more incidents.

Computed from an incident's log entries alone (`pipeline.crisis_log`), by pure functions; the
renderers are `buzzwatch.report_markdown` and `buzzwatch.report_html`. Times are UTC.

Definitions: the *onset* is the start of the bucket in which the incident's first alert fired
(the earliest `started_at` of its alerts); response times are those of the desk's `reply`
entries (a post of the brand's handle answering a queued mention); sentiment before and after a
communication sums the curve buckets lying wholly in the hour before it and in the hour after it
(volume-weighted: negatives / mentions, and the mean compound of all their mentions).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.crisis_log import CrisisLog, LogEntry
from pipeline.desk import Desk, Incident
from pipeline.models import AlertEvent, EmergingTerm, ExplainedMention, HoldingStatement

HOUR = timedelta(hours=1)
FEW = 5  # defenders, negative mentions and terms shown
TOP_SHARED = 10
# what a Post takes by name from a logged mention or an explanation's (besides its time)
POST_FIELDS = ("id", "source", "author", "author_name", "reach", "compound", "text", "url")
RESPONSE_BINS: tuple[tuple[str, float], ...] = (  # label, upper bound in minutes
    ("< 15 min", 15),
    ("15–30 min", 30),
    ("30 min–1 h", 60),
    ("1–2 h", 120),
    ("2–4 h", 240),
    ("≥ 4 h", math.inf),
)


class ReportError(ValueError):
    """The log holds nothing to report on for what was asked."""


@dataclass(frozen=True, slots=True)
class Point:
    """One closed bucket of the brand's curve."""

    start: datetime
    end: datetime
    volume: int
    negatives: int
    positives: int
    mean_compound: float

    @property
    def negative_share(self) -> float | None:
        return ratio(self.negatives, self.volume)


@dataclass(frozen=True, slots=True)
class Post:
    """A mention or a post of the brand, as the log holds it."""

    id: str
    at: datetime
    source: str
    author: str | None
    author_name: str | None
    reach: int
    compound: float
    text: str
    url: str | None
    in_reply_to: str | None = None

    @property
    def who(self) -> str:
        """The author's name and handle, as far as known."""
        if self.author_name and self.author and self.author_name != self.author:
            return f"{self.author_name} ({self.author})"
        return self.author_name or self.author or "unknown"


@dataclass(frozen=True, slots=True)
class Window:
    """The curve summed over a span of time."""

    buckets: int
    mentions: int
    negatives: int
    compound_sum: float

    @property
    def negative_share(self) -> float | None:
        return ratio(self.negatives, self.mentions)

    @property
    def mean_compound(self) -> float | None:
        return ratio(self.compound_sum, self.mentions)


@dataclass(frozen=True, slots=True)
class Shift:
    """Sentiment in the hour before a communication and in the hour after it."""

    number: int  # the communication's number in the incident, from 1
    post: Post
    before: Window
    after: Window

    @property
    def share_change(self) -> float | None:
        return _change(self.before.negative_share, self.after.negative_share)

    @property
    def compound_change(self) -> float | None:
        return _change(self.before.mean_compound, self.after.mean_compound)


@dataclass(frozen=True, slots=True)
class Responses:
    """Response times (seconds) of the individual answers."""

    seconds: tuple[int, ...]  # sorted

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.seconds)) if self.seconds else None

    @property
    def p90(self) -> float | None:
        """The 90th percentile, nearest rank."""
        if not self.seconds:
            return None
        return float(self.seconds[math.ceil(0.9 * len(self.seconds)) - 1])

    def histogram(self) -> list[tuple[str, int]]:
        """How many answers fall in each of `RESPONSE_BINS`."""
        counts = Counter(
            next(label for label, top in RESPONSE_BINS if seconds / 60 < top)
            for seconds in self.seconds
        )
        return [(label, counts[label]) for label, _ in RESPONSE_BINS]


@dataclass(frozen=True, slots=True)
class Platform:
    """The queue and the answers on one platform."""

    name: str
    queued: int  # people
    replied: int
    skipped: int
    open: int
    responses: Responses


@dataclass(frozen=True, slots=True)
class Shared:
    """An author whose mentions reached furthest."""

    person: str
    name: str | None
    reach: int
    mentions: int


@dataclass(frozen=True, slots=True)
class Event:
    """A line of the timeline."""

    at: datetime
    kind: str
    text: str


@dataclass(frozen=True)
class IncidentReport:
    """Everything the report says about one incident."""

    id: str
    brand: str
    onset: datetime
    opened_at: datetime
    end: datetime | None  # None: still open
    last_at: datetime  # the last entry's time
    severity: str
    troll_suspected: bool
    alerts: tuple[AlertEvent, ...]
    peak: Point | None
    points: tuple[Point, ...]
    timeline: tuple[Event, ...]
    shifts: tuple[Shift, ...]
    responses: Responses
    first_answer: timedelta | None  # after the onset
    first_statement: timedelta | None
    platforms: tuple[Platform, ...]
    holding_statement: HoldingStatement | None
    top_negative: tuple[Post, ...]
    emerging_terms: tuple[EmergingTerm, ...]
    defenders: int
    top_defenders: tuple[Post, ...]
    most_shared: tuple[Shared, ...]
    queue: dict[str, int]

    @property
    def statements(self) -> list[Shift]:
        return [shift for shift in self.shifts if shift.post.in_reply_to is None]


@dataclass(frozen=True)
class Report:
    """The report: what was asked for, and its incidents in order of onset."""

    title: str
    scope: str
    incidents: tuple[IncidentReport, ...]


# --- choosing the incidents ------------------------------------------------------------------


def select(
    log: CrisisLog,
    *,
    incident: str | None = None,
    brand: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[list[LogEntry]]:
    """The entries of one incident, or of every incident of `brand` overlapping [start, end)."""
    known = log.incidents()
    if incident is not None:
        if incident not in known:
            raise ReportError(f"no incident {incident!r} in {log.directory}")
        return [log.read(incident)]
    if brand is None:
        raise ReportError("give an incident or a brand")
    logs = [log.read(name) for name in known]
    chosen = [
        entries
        for entries in logs
        if entries
        and entries[0].data["brand"].casefold() == brand.casefold()
        and _overlaps(entries, start, end)
    ]
    if not chosen:
        brands = sorted({entries[0].data["brand"] for entries in logs if entries})
        raise ReportError(
            f"no incident of {brand!r} {range_text(start, end)} in {log.directory}"
            f" (brands logged: {', '.join(brands) or 'none'})"
        )
    return sorted(chosen, key=onset_of)


def range_text(start: datetime | None, end: datetime | None) -> str:
    """How a time range reads in a sentence."""
    if start and end:
        return f"from {moment_text(start)} to {moment_text(end)}"
    if start:
        return f"from {moment_text(start)}"
    return f"until {moment_text(end)}" if end else "at any time"


def onset_of(entries: Sequence[LogEntry]) -> datetime:
    """The start of the bucket in which the incident's first alert fired."""
    return min(datetime.fromisoformat(e.data["started_at"]) for e in _alert_entries(entries))


def ended_at(entries: Iterable[LogEntry]) -> datetime | None:
    """When the incident was resolved; None while it is open."""
    return next((e.at for e in entries if e.kind == "resolved"), None)


def _overlaps(entries: Sequence[LogEntry], start: datetime | None, end: datetime | None) -> bool:
    ended = ended_at(entries)
    began_before_end = end is None or onset_of(entries) < end
    return began_before_end and (start is None or ended is None or ended > start)


def _alert_entries(entries: Iterable[LogEntry]) -> list[LogEntry]:
    return [e for e in entries if e.kind in ("opened", "alert")]


# --- the report --------------------------------------------------------------------------------


def build_report(logs: Sequence[Sequence[LogEntry]], scope: str) -> Report:
    """The report of the incidents whose entries are given."""
    incidents = tuple(incident_report(entries) for entries in logs)
    brands = sorted({incident.brand for incident in incidents})
    return Report(f"Post-crisis report: {', '.join(brands)}", scope, incidents)


def incident_report(entries: Sequence[LogEntry]) -> IncidentReport:
    """What one incident's log entries say."""
    opening = AlertEvent.model_validate(entries[0].data)
    alerts = tuple(AlertEvent.model_validate(e.data) for e in _alert_entries(entries))
    onset = onset_of(entries)
    state = _restored(entries)
    points = tuple(_point(e.data) for e in entries if e.kind == "curve")
    posts = [_post(e.data) for e in entries if e.kind == "communication"]
    replies = [e for e in entries if e.kind == "reply"]
    explanation = opening.explanation
    logged_peak = next((_point(e.data) for e in entries if e.kind == "peak"), None)
    peak = logged_peak or max(points, key=lambda p: p.volume, default=None)
    return IncidentReport(
        id=opening.id,
        brand=opening.brand,
        onset=onset,
        opened_at=opening.at,
        end=ended_at(entries),
        last_at=max(e.at for e in entries if e.kind != "status"),  # a status has wall-clock time
        severity="critical" if state.critical else "warning",
        troll_suspected=any(a.explanation and a.explanation.troll_suspected for a in alerts),
        alerts=alerts,
        peak=peak,
        points=points,
        timeline=tuple(timeline(entries, peak)),
        shifts=tuple(shifts(posts, points)),
        responses=Responses(tuple(sorted(e.data["response_seconds"] for e in replies))),
        first_answer=_after(onset, [e.at for e in replies]),
        first_statement=_after(onset, [p.at for p in posts if p.in_reply_to is None]),
        platforms=tuple(platforms(state, replies)),
        holding_statement=opening.holding_statement,
        top_negative=tuple(map(_explained, explanation.top_negative[:FEW] if explanation else ())),
        emerging_terms=explanation.emerging_terms[:FEW] if explanation else (),
        defenders=len(state.defenders),
        top_defenders=tuple(_widest(_post(e.data) for e in entries if e.kind == "defender")),
        most_shared=tuple(most_shared(state)),
        queue=dict(state.summary()["queue"]),
    )


def timeline(entries: Iterable[LogEntry], peak: Point | None) -> list[Event]:
    """Opening, alerts firing and resolved, communications, peak and end, in time order."""
    events = [event for event in map(_event, entries) if event is not None]
    if peak is not None:
        text = f"peak: {peak.volume} mentions in the bucket, {peak.negatives} negative"
        events.append(Event(peak.start, "peak", text))
    return sorted(events, key=lambda event: event.at)  # stable: log order on ties


def _event(entry: LogEntry) -> Event | None:
    data = entry.data
    if entry.kind in ("opened", "alert"):
        alert = AlertEvent.model_validate(data)
        what = f"{alert.kind} alert {alert.state} ({alert.severity})"
        if alert.state == "firing":
            what += f": {alert.observed:g} observed, {alert.expected:.1f} expected"
        if entry.kind == "opened":
            what = f"incident opened: {what}"
        return Event(entry.at, entry.kind, what)
    if entry.kind == "communication":
        post = _post(data)
        what = "public statement" if post.in_reply_to is None else "answer to a mention"
        return Event(entry.at, entry.kind, f"{what} on {post.source}: {post.text}")
    if entry.kind == "resolved":
        return Event(entry.at, entry.kind, "incident resolved: no alert fires any more")
    return None


def window(points: Iterable[Point], start: datetime, end: datetime) -> Window:
    """The buckets lying wholly in [start, end), summed."""
    inside = [p for p in points if p.start >= start and p.end <= end]
    return Window(
        buckets=len(inside),
        mentions=sum(p.volume for p in inside),
        negatives=sum(p.negatives for p in inside),
        compound_sum=sum(p.mean_compound * p.volume for p in inside),
    )


def shifts(posts: Iterable[Post], points: Sequence[Point]) -> list[Shift]:
    """Sentiment in the hour before and the hour after each communication."""
    return [
        Shift(
            number,
            post,
            window(points, post.at - HOUR, post.at),
            window(points, post.at, post.at + HOUR),
        )
        for number, post in enumerate(posts, 1)
    ]


def platforms(state: Incident, replies: Iterable[LogEntry]) -> list[Platform]:
    """The queue's people and the answers' times, per platform."""
    seconds: dict[str, list[int]] = {}
    for reply in replies:
        source = reply.data["person"].split(":", 1)[0]
        seconds.setdefault(source, []).append(reply.data["response_seconds"])
    names = sorted({item.source for item in state.queue.values()} | seconds.keys())
    rows = []
    for name in names:
        statuses = [item.status for item in state.queue.values() if item.source == name]
        replied, skipped, waiting = (statuses.count(s) for s in ("replied", "skipped", "open"))
        responses = Responses(tuple(sorted(seconds.get(name, ()))))
        rows.append(Platform(name, len(statuses), replied, skipped, waiting, responses))
    return rows


def most_shared(state: Incident) -> list[Shared]:
    """The authors whose mentions reached furthest, widest first."""
    ranked = sorted(state.shared.items(), key=lambda item: (-item[1][0], item[0]))
    return [
        Shared(person, name, reach, count) for person, (reach, name, count) in ranked[:TOP_SHARED]
    ]


def _restored(entries: Sequence[LogEntry]) -> Incident:
    """The desk's state of the incident at its last entry."""
    desk = Desk()
    desk.restore(entries)
    return desk.incidents[entries[0].incident]


def _point(data: dict[str, Any]) -> Point:
    start = datetime.fromisoformat(data["start"])
    return Point(
        start=start,
        end=start + timedelta(seconds=data["seconds"]),
        volume=data["volume"],
        negatives=data["negatives"],
        positives=data["positives"],
        mean_compound=data["mean_compound"],
    )


def _post(data: dict[str, Any]) -> Post:
    at = datetime.fromisoformat(data["created_at"])
    return Post(
        at=at, in_reply_to=data["in_reply_to"], **{name: data[name] for name in POST_FIELDS}
    )


def _explained(mention: ExplainedMention) -> Post:
    return Post(at=mention.created_at, **{name: getattr(mention, name) for name in POST_FIELDS})


def _widest(posts: Iterable[Post]) -> list[Post]:
    return sorted(posts, key=lambda post: (-post.reach, post.at))[:FEW]


def _after(onset: datetime, moments: Sequence[datetime]) -> timedelta | None:
    return min(moments) - onset if moments else None


def ratio(part: float, whole: float) -> float | None:
    """part / whole; None when whole is 0."""
    return part / whole if whole else None


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


# --- words and numbers -----------------------------------------------------------------------


def moment_text(moment: datetime | None) -> str:
    """A time as the report writes it: `2026-03-03 12:05 UTC`."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def clock_text(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def duration_text(span: timedelta | float | None) -> str:
    """`45 s`, `34 min`, `1 h 05 min`, `2 d 3 h`."""
    if span is None:
        return "—"
    seconds = round(span.total_seconds() if isinstance(span, timedelta) else span)
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def share_text(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}".replace("%", " %")


def points_text(change: float | None) -> str:
    """A change of share, in percentage points."""
    return "—" if change is None else _signed(f"{round(change * 100):+d} pts")


def compound_text(value: float | None, signed: bool = False) -> str:
    """A compound score, with two decimals (`signed`: with its sign also when positive)."""
    if value is None:
        return "—"
    value = round(value, 2) + 0.0  # no −0.00
    return _signed(f"{value:+.2f}" if signed else f"{value:.2f}")


def _signed(text: str) -> str:
    return text.replace("-", "−")
