"""The report as a document: headings, facts, tables, charts and lists, rendered by
`buzzwatch.report_html` and `buzzwatch.report_markdown`. Every text here is plain text: the
renderers escape it (mentions are hostile input)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from buzzwatch.report import (
    IncidentReport,
    Point,
    Post,
    Report,
    Shift,
    clock_text,
    compound_text,
    duration_text,
    moment_text,
    points_text,
    share_text,
)
from buzzwatch.report_lessons import LESSON_HEADINGS, observations, thanks
from buzzwatch.svg_charts import Axis, Bar, Line, Marker, bar_chart, histogram, line_chart

TO_FILL = "(to fill in)"
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a web address (http or https: see `web_url`)."""

    text: str
    url: str


Cell = str | Link


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Facts:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = "none"


@dataclass(frozen=True, slots=True)
class Quote:
    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG chart for the page, and its lines of text for Markdown (label, line)."""

    svg: str
    text: tuple[tuple[str, str], ...]
    caption: str


@dataclass(frozen=True, slots=True)
class Section:
    css: str
    anchor: str
    blocks: tuple[Block, ...]


Block = Heading | Paragraph | Facts | Table | Quote | Bullets | Chart | Section


def document(report: Report) -> list[Block]:
    """The whole report, in reading order."""
    return [
        Heading(1, report.title),
        Paragraph(report.scope),
        Section("summary", "summary", (Heading(2, "Incidents"), _summary(report))),
        *(_incident(incident) for incident in report.incidents),
        _lessons(report),
    ]


def _summary(report: Report) -> Table:
    rows = tuple(
        (
            incident.id,
            incident.brand,
            moment_text(incident.onset),
            _peak_text(incident.peak),
            moment_text(incident.end) if incident.end else "still open",
            incident.severity,
            "yes" if incident.troll_suspected else "no",
        )
        for incident in report.incidents
    )
    head = ("Incident", "Brand", "Onset", "Peak", "End", "Severity", "Troll suspected")
    return Table(head, rows)


def _incident(incident: IncidentReport) -> Section:
    blocks = (
        Heading(2, f"Incident {incident.id}: {incident.brand}"),
        _facts(incident),
        _part("timeline", "Timeline", _timeline(incident)),
        _part("volumes", "Volume and negative mentions", [_volume_chart(incident)]),
        _part("sentiment", "Sentiment", _sentiment_charts(incident)),
        _part("responses", "Response times", _responses(incident)),
        _part("before-after", "Sentiment before and after each communication", _shifts(incident)),
        _part("onset", "At the first alert", _onset(incident)),
        _part("defenders", "Defenders", _defenders(incident)),
        _part("most-shared", "Most shared authors", [_most_shared(incident)]),
        _part("queue", "Queue at the end", [_queue(incident)]),
    )
    return Section("incident", f"incident-{incident.id}", blocks)


def _part(css: str, title: str, blocks: Sequence[Block]) -> Section:
    return Section(css, "", (Heading(3, title), *blocks))


def _facts(incident: IncidentReport) -> Facts:
    end = (
        moment_text(incident.end)
        if incident.end
        else f"still open (last entry {moment_text(incident.last_at)})"
    )
    lasted = (incident.end or incident.last_at) - incident.onset
    kinds = [alert.kind for alert in incident.alerts if alert.state == "firing"]
    return Facts(
        (
            ("Brand", incident.brand),
            ("Incident", incident.id),
            ("Onset", moment_text(incident.onset)),
            ("First alert", moment_text(incident.opened_at)),
            ("Peak", _peak_text(incident.peak)),
            ("End", end),
            ("Duration", duration_text(lasted)),
            ("Severity", incident.severity),
            ("Alerts fired", f"{len(kinds)} ({', '.join(kinds)})"),
            ("Troll suspected", "yes" if incident.troll_suspected else "no"),
        )
    )


def _peak_text(peak: Point | None) -> str:
    if peak is None:
        return "—"
    return (
        f"{peak.volume} mentions ({peak.negatives} negative) in "
        f"{clock_text(peak.start)}–{clock_text(peak.end)}, {peak.start:%Y-%m-%d}"
    )


def _timeline(incident: IncidentReport) -> list[Block]:
    rows = tuple((moment_text(e.at), e.kind, e.text) for e in incident.timeline)
    return [Table(("Time", "Event", "What"), rows)]


def _markers(incident: IncidentReport, replies: bool) -> list[Marker]:
    markers = [Marker(incident.onset, "onset", f"onset {clock_text(incident.onset)}")]
    for shift in incident.shifts:
        post = shift.post
        if post.in_reply_to is None:
            note = f"#{shift.number} public statement on {post.source}, {clock_text(post.at)}"
            markers.append(Marker(post.at, "statement", note, f"#{shift.number}"))
        elif replies:
            note = f"#{shift.number} answer on {post.source}, {clock_text(post.at)}"
            markers.append(Marker(post.at, "reply", note))
    return markers


def _volume_chart(incident: IncidentReport) -> Chart:
    bars = []
    for p in incident.points:
        note = f"{clock_text(p.start)}–{clock_text(p.end)}: {p.volume} mentions"
        bars.append(Bar(p.start, p.end, p.volume, "volume", note))
        negatives = f"{note}, {p.negatives} negative"
        bars.append(Bar(p.start, p.end, p.negatives, "negatives", negatives))
    title = "Mentions and negative mentions per bucket"
    svg = bar_chart("volume", title, bars, _markers(incident, True), "mentions per bucket")
    grid = _grid(incident.points)
    top = max((p.volume for p in incident.points), default=0)
    text = [
        ("mentions", _sparkline([p.volume if p else 0 for p in grid], 0, top)),
        ("negatives", _sparkline([p.negatives if p else 0 for p in grid], 0, top)),
    ]
    if incident.statements and grid:
        text.append(("statements", _statement_line(incident, grid)))
    caption = (
        "Bars: mentions (light) and negative mentions (red) per bucket; dashed green lines: "
        "public statements (numbered as below); short green ticks: answers; orange: onset."
    )
    return Chart(svg, tuple(text), caption)


def _sentiment_charts(incident: IncidentReport) -> list[Block]:
    share = Axis(0.0, 1.0, share_text, "negative share")
    compound = Axis(-1.0, 1.0, compound_text, "mean sentiment (−1 to 1)")
    return [
        _line_chart(
            incident,
            "share",
            share,
            lambda p: p.negative_share,
            "Negative share per bucket: negative mentions / mentions.",
        ),
        _line_chart(
            incident,
            "compound",
            compound,
            lambda p: p.mean_compound if p.volume else None,
            "Mean sentiment per bucket: the mean compound score of its mentions "
            "(−1 most negative, 1 most positive).",
        ),
    ]


def _line_chart(
    incident: IncidentReport,
    css: str,
    axis: Axis,
    value: Callable[[Point], float | None],
    caption: str,
) -> Chart:
    """A value of each bucket as a line (at the bucket's middle), with the public statements."""
    points = incident.points
    series = [(p.start + (p.end - p.start) / 2, v) for p in points if (v := value(p)) is not None]
    span = (points[0].start, points[-1].end) if points else None
    svg = line_chart(css, caption, [Line(css, series)], span, axis, _markers(incident, False))
    values = [value(p) if p else None for p in _grid(points)]
    return Chart(svg, ((axis.label, _sparkline(values, axis.lo, axis.hi)),), caption)


def _responses(incident: IncidentReport) -> list[Block]:
    responses = incident.responses
    facts = Facts(
        (
            ("Answers to queued mentions", str(len(responses.seconds))),
            ("Median response time", duration_text(responses.median)),
            ("90th percentile", duration_text(responses.p90)),
            ("First answer after the onset", duration_text(incident.first_answer)),
            ("First public statement after the onset", duration_text(incident.first_statement)),
        )
    )
    return [facts, _platforms(incident), _response_chart(incident)]


def _platforms(incident: IncidentReport) -> Table:
    head = ("Platform", "People queued", "Replied", "Skipped", "Open", "Answers", "Median")
    rows = tuple(
        (
            p.name,
            *map(str, (p.queued, p.replied, p.skipped, p.open, len(p.responses.seconds))),
            duration_text(p.responses.median),
            duration_text(p.responses.p90),
        )
        for p in incident.platforms
    )
    return Table((*head, "90th percentile"), rows, "no one in the queue")


def _response_chart(incident: IncidentReport) -> Chart:
    bins = incident.responses.histogram()
    top = max(count for _, count in bins)
    lines = tuple(
        (label, f"{'█' * round(20 * count / top) if top else ''} {count}") for label, count in bins
    )
    svg = histogram("responses", "Answers by response time", bins, "answers")
    return Chart(svg, lines, "How long each answered mention waited for its answer.")


def _shifts(incident: IncidentReport) -> list[Block]:
    note = Paragraph(
        "Buckets wholly in the hour before and in the hour after each post of the brand; "
        "negative share = negative mentions / mentions; sentiment = mean compound score."
    )
    head = (
        "#",
        "Time",
        "Communication",
        "Mentions before / after",
        "Negative share before",
        "after",
        "change",
        "Sentiment before",
        "after",
        "change",
    )
    rows = tuple(_shift_row(shift) for shift in incident.shifts)
    return [note, Table(head, rows, "no communication")]


def _shift_row(shift: Shift) -> tuple[Cell, ...]:
    post, before, after = shift.post, shift.before, shift.after
    what = "public statement" if post.in_reply_to is None else "answer"
    return (
        f"#{shift.number}",
        moment_text(post.at),
        f"{what} on {post.source}",
        f"{before.mentions} / {after.mentions}",
        share_text(before.negative_share),
        share_text(after.negative_share),
        points_text(shift.share_change),
        compound_text(before.mean_compound),
        compound_text(after.mean_compound),
        compound_text(shift.compound_change, signed=True),
    )


def _onset(incident: IncidentReport) -> list[Block]:
    statement = incident.holding_statement
    terms = tuple(
        (t.term, str(t.mentions), share_text(t.share), share_text(t.usual_share))
        for t in incident.emerging_terms
    )
    return [
        Heading(4, "Holding statement suggested"),
        Quote(f"[{statement.lang}] {statement.text}") if statement else Paragraph("none"),
        Heading(4, "Negative mentions with the widest reach"),
        _mentions(incident.top_negative),
        Heading(4, "Emerging terms"),
        Table(("Term", "Mentions", "Share", "Usual share"), terms),
    ]


def _mentions(posts: Sequence[Post]) -> Table:
    rows = tuple(
        (
            moment_text(post.at),
            post.source,
            post.who,
            f"{post.reach:,}",
            compound_text(post.compound),
            post.text,
            _link(post.url),
        )
        for post in posts
    )
    return Table(("Time", "Platform", "Author", "Reach", "Sentiment", "Text", "Link"), rows)


def _link(url: str | None) -> Cell:
    """A link to a web address; any other address as text, not followed."""
    return Link("open", url) if url and web_url(url) else url or "—"


def web_url(url: str) -> bool:
    """Whether `url` is an http(s) address with a host and no space or control character."""
    parts = urlsplit(url)
    clean = url.isprintable() and not any(char.isspace() for char in url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and clean


def _defenders(incident: IncidentReport) -> list[Block]:
    count = Paragraph(
        f"{incident.defenders} positive mentions from others were logged during the "
        "incident; those with the widest reach:"
    )
    return [count, _mentions(incident.top_defenders)]


def _most_shared(incident: IncidentReport) -> Table:
    rows = tuple(
        (s.person, s.name or "—", f"{s.reach:,}", str(s.mentions)) for s in incident.most_shared
    )
    return Table(("Person", "Name", "Reach", "Mentions"), rows)


def _queue(incident: IncidentReport) -> Table:
    queue = incident.queue
    row = tuple(map(str, (queue["open"], queue["replied"], queue["skipped"], sum(queue.values()))))
    return Table(("Still open", "Replied", "Skipped", "People"), (row,))


def _lessons(report: Report) -> Section:
    blocks: list[Block] = [Heading(2, "Lessons learned"), Heading(3, "Observations from the data")]
    for incident in report.incidents:
        if len(report.incidents) > 1:
            blocks.append(Paragraph(f"Incident {incident.id} ({moment_text(incident.onset)}):"))
        blocks.append(Bullets(tuple(observations(incident))))
    for heading in LESSON_HEADINGS:
        blocks += [Heading(3, heading), Bullets((TO_FILL,))]
    hints = tuple(line for incident in report.incidents for line in thanks(incident))
    if hints:
        blocks += [Paragraph("Defenders who reached furthest:"), Bullets(hints)]
    return Section("lessons", "lessons", tuple(blocks))


def _grid(points: Sequence[Point]) -> list[Point | None]:
    """The points on a regular grid of buckets, None where no bucket was logged."""
    if not points:
        return []
    step = points[0].end - points[0].start
    by_start = {p.start: p for p in points}
    count = int((points[-1].start - points[0].start) / step) + 1
    return [by_start.get(points[0].start + i * step) for i in range(count)]


def _statement_line(incident: IncidentReport, grid: Sequence[Point | None]) -> str:
    """`^` under the bucket of each public statement."""
    first = incident.points[0]
    line = [" "] * len(grid)
    for shift in incident.statements:
        index = (shift.post.at - first.start) // (first.end - first.start)
        if 0 <= index < len(line):
            line[index] = "^"
    return "".join(line).rstrip()


def _sparkline(values: Sequence[float | None], lo: float, hi: float) -> str:
    """One block character per value between lo and hi; a space where there is none."""
    span = hi - lo or 1.0
    return "".join(
        " " if v is None else SPARKS[min(int((v - lo) / span * len(SPARKS)), len(SPARKS) - 1)]
        for v in values
    )
