"""Charts of a replay's per-bucket series with its alerts: a PNG, or a self-contained HTML page.

One panel per brand (the busiest `max_brands` by mentions, with a note when there are more):
the bucket volume against the volume the baseline expected; the negative share on a twin axis
(per bucket as dots, over the last 12 buckets as a line); a marker at each alert's firing
bucket and a shaded span from firing to resolved (to the end of the series while it is still
firing). Drawn with matplotlib's Agg canvas, without pyplot.

The HTML page needs no network: the figure is embedded as a base64 PNG, followed by a table of
the alert events and one of the brands.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from pipeline.models import AlertEvent, iso_utc

CHART_SUFFIXES = (".png", ".html")
DEFAULT_MAX_BRANDS = 8
ROLLING_BUCKETS = 12
DPI = 100
KIND_COLORS = {"volume": "#e07b00", "negative": "#c62828"}
VOLUME_COLOR = "#1f4e79"
EXPECTED_COLOR = "#7f7f7f"
SHARE_COLOR = "#c62828"


def check_chart_path(path: Path) -> Path:
    """`path` if its suffix names a chart format, else ValueError."""
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise ValueError(f"{path}: the chart file must end in .png or .html")
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
    """Draw the chart once and write it to each path: `.png` as is, `.html` as a page."""
    for path in paths:
        check_chart_path(path)
    png, note = render_png(series, alerts, max_brands=max_brands, title=title)
    for path in paths:
        if path.suffix.lower() == ".png":
            path.write_bytes(png)
        else:
            page = html_page(series, alerts, png, title=title, subtitle=subtitle, note=note)
            path.write_text(page, encoding="utf-8")


def render_png(
    series: pd.DataFrame,
    alerts: Sequence[AlertEvent],
    *,
    max_brands: int = DEFAULT_MAX_BRANDS,
    title: str = "buzzwatch replay",
) -> tuple[bytes, str]:
    """The chart as PNG bytes, and the note on which brands it shows."""
    figure, note = chart_figure(series, alerts, max_brands=max_brands, title=title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue(), note


def chart_figure(
    series: pd.DataFrame,
    alerts: Sequence[AlertEvent],
    *,
    max_brands: int = DEFAULT_MAX_BRANDS,
    title: str = "buzzwatch replay",
) -> tuple[Figure, str]:
    """The per-brand panels, and a note saying which brands they show."""
    brands = busiest_brands(series)
    shown = brands[: max(1, max_brands)]
    if not brands:
        note = "no closed buckets: nothing to chart"
    elif len(shown) < len(brands):
        note = f"showing the {len(shown)} busiest of {len(brands)} brands (by mentions)"
    else:
        note = f"{len(brands)} brand{'s' if len(brands) != 1 else ''}"
    figure = Figure(figsize=(11, 1.4 + 2.6 * max(1, len(shown))), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # draw with Agg, whatever the default backend
    figure.suptitle(f"{title}\n{note}; times in UTC", fontsize=11)
    if not shown:
        figure.text(0.5, 0.5, "no closed buckets", ha="center", va="center", fontsize=14)
        return figure, note
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    for ax, brand in zip(axes, shown, strict=True):
        rows = series[series["brand"] == brand]
        _brand_panel(ax, brand, rows, [e for e in alerts if e.brand == brand])
    axes[-1].xaxis_date(UTC)
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_formatter(formatter)
    axes[-1].set_xlabel("bucket start (UTC)")
    figure.legend(handles=_legend_handles(), loc="outside lower center", ncols=4, fontsize=8)
    return figure, note


def _day_number(moment: datetime) -> float:
    """Matplotlib's date number of an aware time."""
    return float(mdates.date2num(moment.astimezone(UTC)))  # type: ignore[no-untyped-call]


def _day_numbers(column: pd.Series) -> np.ndarray:
    """Matplotlib's date numbers of a column of UTC timestamps."""
    return np.array([_day_number(t.to_pydatetime()) for t in pd.to_datetime(column, utc=True)])


def _brand_panel(ax: Axes, brand: str, rows: pd.DataFrame, alerts: list[AlertEvent]) -> None:
    starts = _day_numbers(rows["start"])
    ends = _day_numbers(rows["end"])
    edges = np.append(starts, ends[-1])
    volume = rows["volume"].to_numpy(dtype=float)
    expected = rows["expected_volume"].to_numpy(dtype=float)
    share = rows["negative_share"].to_numpy(dtype=float)
    ax.step(edges, np.append(volume, volume[-1]), where="post", color=VOLUME_COLOR, lw=1.1)
    ax.step(edges, np.append(expected, expected[-1]), where="post", color=EXPECTED_COLOR, ls="--")
    ax.set_ylabel("mentions / bucket", fontsize=8)
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    middles = (starts + ends) / 2
    seen = volume > 0
    twin.scatter(middles[seen], share[seen], s=4, color=SHARE_COLOR, alpha=0.3, lw=0)
    rolling = _rolling_share(rows["negatives"], rows["volume"])
    twin.plot(middles, rolling, color=SHARE_COLOR, lw=1.0)
    twin.set_ylim(0, 1)
    twin.yaxis.set_major_formatter(PercentFormatter(1.0))
    twin.set_ylabel("negative share", fontsize=8, color=SHARE_COLOR)
    twin.tick_params(axis="y", colors=SHARE_COLOR, labelsize=8)
    ax.tick_params(labelsize=8)

    epochs = [int(t.timestamp()) for t in pd.to_datetime(rows["start"], utc=True)]
    shares = dict(zip(epochs, share.tolist(), strict=True))
    resolved = {e.id: e for e in alerts if e.state == "resolved"}
    firing = [e for e in alerts if e.state == "firing"]
    for event in firing:
        color = KIND_COLORS[event.kind]
        end = resolved[event.id].at if event.id in resolved else None
        start = _day_number(event.started_at)
        span_end = _day_number(end) if end is not None else float(edges[-1])
        ax.axvspan(start, span_end, color=color, alpha=0.18, lw=0)
        middle = (start + _day_number(event.at)) / 2
        marker = "X" if event.severity == "critical" else "^"
        if event.kind == "volume":
            ax.scatter([middle], [event.observed], marker=marker, s=70, color=color, zorder=5)
        else:
            y = shares.get(int(event.started_at.timestamp()), 0.0)
            twin.scatter([middle], [y], marker=marker, s=70, color=color, zorder=5)
    total = int(rows["volume"].sum())
    ax.set_title(
        f"{brand}: {total} mentions in {len(rows)} buckets, {len(firing)} alert"
        f"{'s' if len(firing) != 1 else ''} fired",
        fontsize=9,
        loc="left",
    )


def _rolling_share(negatives: pd.Series, volume: pd.Series) -> np.ndarray:
    """Negative share over the last `ROLLING_BUCKETS` buckets (NaN while they are empty)."""
    neg = negatives.astype(float).rolling(ROLLING_BUCKETS, min_periods=1).sum().to_numpy()
    vol = volume.astype(float).rolling(ROLLING_BUCKETS, min_periods=1).sum().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(vol > 0, neg / vol, np.nan)


def _legend_handles() -> list[Line2D | Patch]:
    return [
        Line2D([], [], color=VOLUME_COLOR, label="volume"),
        Line2D([], [], color=EXPECTED_COLOR, ls="--", label="expected volume"),
        Line2D(
            [], [], color=SHARE_COLOR, marker=".", ls="", alpha=0.5, label="negative share (right)"
        ),
        Line2D([], [], color=SHARE_COLOR, label=f"negative share, last {ROLLING_BUCKETS} buckets"),
        Line2D([], [], color="black", marker="^", ls="", label="alert fired (warning)"),
        Line2D([], [], color="black", marker="X", ls="", label="alert fired (critical)"),
        Patch(color=KIND_COLORS["volume"], alpha=0.3, label="volume alert active"),
        Patch(color=KIND_COLORS["negative"], alpha=0.3, label="negative alert active"),
    ]


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
figure { margin: 0; } img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.volume td:first-child { border-left: 4px solid #e07b00; }
tr.negative td:first-child { border-left: 4px solid #c62828; }
"""

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
    png: bytes,
    *,
    title: str = "buzzwatch replay",
    subtitle: str = "",
    note: str = "",
) -> str:
    """A self-contained HTML5 page (also well-formed XML): the chart and the alert table."""
    e = html.escape
    image = base64.b64encode(png).decode("ascii")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8" />',
        '<meta name="viewport" content="width=device-width, initial-scale=1" />',
        f"<title>{e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
    ]
    if subtitle:
        parts.append(f"<p>{e(subtitle)}</p>")
    parts += [
        "<figure>",
        f'<img src="data:image/png;base64,{image}" alt="{e(_alt_text(series, alerts))}" />',
        f"<figcaption>{e(note)}; times in UTC</figcaption>",
        "</figure>",
        f"<h2>Alert events ({len(alerts)})</h2>",
        _alert_table(alerts),
        "<h2>Brands</h2>",
        _brand_table(series, alerts),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _alt_text(series: pd.DataFrame, alerts: Sequence[AlertEvent]) -> str:
    brands = series["brand"].nunique()
    return (
        f"per-bucket volume and negative share of {brands} brands with {len(alerts)} alert events"
    )


def _alert_table(alerts: Sequence[AlertEvent]) -> str:
    e = html.escape
    head = "".join(f"<th>{name}</th>" for name in _ALERT_COLUMNS)
    rows = []
    for event in alerts:
        data = event.to_dict()
        cells = []
        for name in _ALERT_COLUMNS:
            value = data[name]
            if isinstance(value, float):
                digits = 4 if name == "score" else 1
                cells.append(f'<td class="num">{value:.{digits}f}</td>')
            else:
                cells.append(f"<td>{e(str(value))}</td>")
        rows.append(f'<tr class="{e(event.kind)}">{"".join(cells)}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{len(_ALERT_COLUMNS)}">no alert events</td></tr>')
    body = "\n".join(rows)
    return (
        f'<table id="alerts">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    )


def _brand_table(series: pd.DataFrame, alerts: Sequence[AlertEvent]) -> str:
    e = html.escape
    columns = ("brand", "buckets", "mentions", "negatives", "negative share", "peak bucket")
    head = "".join(f"<th>{name}</th>" for name in (*columns, "alerts fired"))
    fired: dict[str, int] = {}
    for event in alerts:
        if event.state == "firing":
            fired[event.brand] = fired.get(event.brand, 0) + 1
    rows = []
    for brand in busiest_brands(series):
        group = series[series["brand"] == brand]
        mentions = int(group["volume"].sum())
        negatives = int(group["negatives"].sum())
        share = negatives / mentions if mentions else 0.0
        peak = group.iloc[int(group["volume"].to_numpy().argmax())]
        peak_at = iso_utc(pd.Timestamp(peak["start"]).to_pydatetime())
        numbers = (len(group), mentions, negatives)
        cells = [f"<td>{e(brand)}</td>"]
        cells += [f'<td class="num">{n}</td>' for n in numbers]
        cells.append(f'<td class="num">{share:.1%}</td>')
        cells.append(f"<td>{int(peak['volume'])} at {peak_at}</td>")
        cells.append(f'<td class="num">{fired.get(brand, 0)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(columns) + 1}">no closed buckets</td></tr>')
    body = "\n".join(rows)
    return (
        f'<table id="brands">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    )
