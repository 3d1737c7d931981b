"""Charts of a replay's per-bucket series with its alerts: an SVG file, or a self-contained
HTML page, drawn with the report's chart stack (`buzzwatch.svg_charts`).

Two charts per brand (the busiest `max_brands` by mentions, with a note when there are
more): the bucket volume against the volume the baseline expected, each alert's span shaded
from its firing bucket to its resolution (to the end of the series while it still fires) and
a marker where it fired; and the negative share over the last 12 buckets.

The HTML page is the report's kind (`buzzwatch.report_html`), and needs no network: the
charts are inline SVG, followed by a table of the alert events and one of the brands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from buzzwatch import report_document as doc
from buzzwatch.report_html import page
from buzzwatch.svg_charts import Axis, Line, Marker, Span, count_text, line_chart, nice_top, stacked
from pipeline.models import AlertEvent, iso_utc

CHART_SUFFIXES = (".svg", ".html")
DEFAULT_MAX_BRANDS = 8
ROLLING_BUCKETS = 12


def check_chart_path(path: Path) -> Path:
    """`path` if its suffix names a chart format, else ValueError."""
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise ValueError(f"{path}: the chart file must end in .svg or .html")
    return path


def busiest_brands(series: pd.DataFrame) -> list[str]:
    """Brands by total mentions, busiest first (ties by name)."""
    totals = series.groupby("brand", observed=True)["volume"].sum()
    ranked = sorted(totals.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return [str(brand) for brand, _ in ranked]


def write_charts(
    series: pd.DataFrame,
    alerts: Sequence[AlertEvent],
    paths: Sequence[Path],
    *,
    max_brands: int = DEFAULT_MAX_BRANDS,
    title: str = "buzzwatch replay",
    subtitle: str = "",
) -> None:
    """Draw the charts once and write them to each path: `.svg` stacked, `.html` as a page."""
    for path in paths:
        check_chart_path(path)
    charts, note = brand_charts(series, alerts, max_brands=max_brands)
    for path in paths:
        if path.suffix.lower() == ".svg":
            path.write_text(stacked(charts), encoding="utf-8")
        else:
            page = html_page(series, alerts, charts, title=title, subtitle=subtitle, note=note)
            path.write_text(page, encoding="utf-8")


def brand_charts(
    series: pd.DataFrame, alerts: Sequence[AlertEvent], *, max_brands: int = DEFAULT_MAX_BRANDS
) -> tuple[list[str], str]:
    """The charts of the busiest brands (two each), and a note saying which brands they show."""
    brands = busiest_brands(series)
    shown = brands[: max(1, max_brands)]
    if not brands:
        note = "no closed buckets: nothing to chart"
    elif len(shown) < len(brands):
        note = f"showing the {len(shown)} busiest of {len(brands)} brands (by mentions)"
    else:
        note = f"{len(brands)} brand{'s' if len(brands) != 1 else ''}"
    charts = []
    for brand in shown:
        rows = series[series["brand"] == brand]
        charts += _brand(brand, rows, [e for e in alerts if e.brand == brand])
    return charts, note


def _brand(brand: str, rows: pd.DataFrame, alerts: list[AlertEvent]) -> list[str]:
    starts = [_moment(t) for t in rows["start"]]
    ends = [_moment(t) for t in rows["end"]]
    middles = [a + (b - a) / 2 for a, b in zip(starts, ends, strict=True)]
    span = (starts[0], ends[-1])
    volume = rows["volume"].astype(float).tolist()
    expected = rows["expected_volume"].astype(float).tolist()
    resolved = {e.id: e.at for e in alerts if e.state == "resolved"}
    firing = [e for e in alerts if e.state == "firing"]
    spans = [
        Span(e.started_at, resolved.get(e.id, ends[-1]), e.kind, _note(e, resolved.get(e.id)))
        for e in firing
    ]
    markers = [Marker(e.at, e.kind, _note(e, resolved.get(e.id))) for e in firing]
    count = Axis(
        0.0, nice_top(max([*volume, *expected])), count_text, f"{brand}: mentions / bucket"
    )
    total = int(sum(volume))
    title = (
        f"{brand}: {total} mentions in {len(rows)} buckets, {len(firing)} alert"
        f"{'s' if len(firing) != 1 else ''} fired"
    )
    lines = [Line("volume", list(zip(middles, volume, strict=True)))]
    lines.append(Line("expected", list(zip(middles, expected, strict=True))))
    volume_chart = line_chart("volume", title, lines, span, count, markers, spans)
    share = _rolling_share(rows["negatives"], rows["volume"])
    points = [(at, v) for at, v in zip(middles, share, strict=True) if v is not None]
    percent = Axis(0.0, 1.0, _percent, f"{brand}: negative share, last {ROLLING_BUCKETS} buckets")
    negative = [m for m in markers if m.kind == "negative"]
    shaded = [s for s in spans if s.kind == "negative"]
    share_chart = line_chart(
        "share",
        f"{brand}: negative share",
        [Line("share", points)],
        span,
        percent,
        negative,
        shaded,
    )
    return [volume_chart, share_chart]


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _note(event: AlertEvent, resolved: datetime | None) -> str:
    until = f", resolved at {iso_utc(resolved)}" if resolved else ", still firing at the end"
    return (
        f"{event.kind} alert ({event.severity}) fired at {iso_utc(event.at)}: "
        f"{event.observed:g} against {event.expected:.1f} expected{until}"
    )


def _moment(value: pd.Timestamp) -> datetime:
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def _rolling_share(negatives: pd.Series, volume: pd.Series) -> list[float | None]:
    """Negative share over the last `ROLLING_BUCKETS` buckets (None while they are empty)."""
    neg = negatives.astype(float).rolling(ROLLING_BUCKETS, min_periods=1).sum()
    vol = volume.astype(float).rolling(ROLLING_BUCKETS, min_periods=1).sum()
    return [n / v if v > 0 else None for n, v in zip(neg, vol, strict=True)]


_ALERT_COLUMNS = (
    "brand",
    "kind",
    "state",
    "severity",
    "at",
    "started_at",
    "observed",
    "expected",
    "score",
    "id",
)


def html_page(
    series: pd.DataFrame,
    alerts: Sequence[AlertEvent],
    charts: Sequence[str],
    *,
    title: str = "buzzwatch replay",
    subtitle: str = "",
    note: str = "",
) -> str:
    """A self-contained HTML5 page (also well-formed XML), as the report's: the charts, the
    alert events and the brands."""
    blocks: list[doc.Block] = [doc.Heading(1, title)]
    if subtitle:
        blocks.append(doc.Paragraph(subtitle))
    blocks.append(doc.Paragraph(f"{note}; times in UTC"))
    blocks += [doc.Chart(chart, (), "") for chart in charts]
    events = (doc.Heading(2, f"Alert events ({len(alerts)})"), _alert_table(alerts))
    brands = (doc.Heading(2, "Brands"), _brand_table(series, alerts))
    blocks += [doc.Section("alerts", "alerts", events), doc.Section("brands", "brands", brands)]
    return page(title, blocks)


def _alert_table(alerts: Sequence[AlertEvent]) -> doc.Table:
    dicts = [event.to_dict() for event in alerts]
    rows = tuple(tuple(_shown(name, data[name]) for name in _ALERT_COLUMNS) for data in dicts)
    return doc.Table(_ALERT_COLUMNS, rows, "no alert events")


def _shown(name: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:.{4 if name == 'score' else 1}f}"
    return str(value)


def _brand_table(series: pd.DataFrame, alerts: Sequence[AlertEvent]) -> doc.Table:
    head = ("brand", "buckets", "mentions", "negatives", "negative share", "peak bucket")
    fired = Counter(event.brand for event in alerts if event.state == "firing")
    rows = []
    for brand in busiest_brands(series):
        group = series[series["brand"] == brand]
        mentions = int(group["volume"].sum())
        negatives = int(group["negatives"].sum())
        share = negatives / mentions if mentions else 0.0
        peak = group.iloc[int(group["volume"].to_numpy().argmax())]
        peak_at = iso_utc(pd.Timestamp(peak["start"]).to_pydatetime())
        numbers = map(str, (len(group), mentions, negatives))
        peak_text = f"{int(peak['volume'])} at {peak_at}"
        rows.append((brand, *numbers, f"{share:.1%}", peak_text, str(fired[brand])))
    return doc.Table((*head, "alerts fired"), tuple(rows), "no closed buckets")
