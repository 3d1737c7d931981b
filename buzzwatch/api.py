"""buzzwatch in a notebook: a replay's alerts and per-bucket series as pandas DataFrames.

    from buzzwatch.api import replay

    result = replay("mentions.jsonl.gz", config="buzzwatch.toml")  # or a DataFrame, a dict
    result.alerts[result.alerts.state == "firing"]
    acme = result.series[result.series.brand == "Acme"]
    acme.plot(x="start", y=["volume", "expected_volume"])

It is `buzzwatch replay`: the same configuration, the same engine (built by
`buzzwatch.replay_setup`), the same alerts and the same series, in memory instead of files.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from buzzwatch.configuration import checked, load_config
from buzzwatch.replay_setup import ReplaySetup
from buzzwatch.series import SeriesCollector
from pipeline.models import AlertEvent, Invalid, Mention, parse_mention
from pipeline.records import CSV_AUTHOR_COLUMNS, input_format, open_input, read_records
from pipeline.replay import ReplaySummary
from pipeline.replay import replay as run_replay

ALERT_COLUMNS = (
    *("id", "brand", "kind", "state", "severity", "at", "started_at"),
    *("observed", "expected", "window_seconds", "score"),
)
Mentions = str | os.PathLike[str] | pd.DataFrame
Config = str | os.PathLike[str] | Mapping[str, Any] | None


@dataclass(frozen=True)
class ReplayResult:
    """What a replay raised and measured."""

    alerts: pd.DataFrame
    """One row per alert event (firing, escalated, resolved...), in the order they were
    raised; the columns of `ALERT_COLUMNS`, times as UTC timestamps."""
    series: pd.DataFrame
    """One row per closed bucket and brand: `buzzwatch.series.COLUMNS`, as
    `replay --series-out` writes them."""
    events: list[AlertEvent]
    """The alert events themselves, with their explanations and holding statements."""
    summary: ReplaySummary
    """What was read, accepted and rejected (`summary.rejected.first`: the first reasons)."""


def replay(mentions: Mentions, config: Config = None) -> ReplayResult:
    """Replay `mentions` (a JSONL or CSV file, `.gz` or not, or a DataFrame with a column per
    mention field, authors as `author` dicts, or `author_id`, `author_name`... columns as in
    CSV, or `author.id`... as `pd.json_normalize` names them; empty cells are absent fields)
    with `config` (a TOML file, its tables as a dict, or None for the defaults). Read a CSV
    with `pd.read_csv(path, dtype=str, keep_default_na=False)`: pandas's defaults turn ids in
    a column with blank cells into floats (refused here, they lose digits) and texts such as
    "NA" into missing values.

    Raises ConfigError (a ValueError) for a configuration with an unknown table or key, and
    ValueError or OSError for values or files that are wrong; an invalid mention is counted
    and reported in `summary`, not raised.
    """
    setup = ReplaySetup.from_config(_configuration(config))
    collector = SeriesCollector()
    engine = setup.engine(on_bucket=collector)
    events: list[AlertEvent] = []
    with _records(mentions) as records:
        summary = run_replay(records, engine, events.append, setup.matcher)
    return ReplayResult(alerts_frame(events), collector.frame(), events, summary)


def alerts_frame(events: list[AlertEvent]) -> pd.DataFrame:
    """Alert events as a DataFrame with the columns of `ALERT_COLUMNS` (typed when empty)."""
    rows = [event.model_dump(include=set(ALERT_COLUMNS), mode="python") for event in events]
    frame = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    for column in ("at", "started_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("id", "brand", "kind", "state", "severity"):
        frame[column] = frame[column].astype("string")
    return frame.astype({"observed": "float64", "expected": "float64", "score": "float64"})


def _configuration(config: Config) -> dict[str, Any]:
    if config is None or isinstance(config, Mapping):
        return checked(dict(config or {}))
    return load_config(Path(config))


@contextlib.contextmanager
def _records(mentions: Mentions) -> Iterator[Iterator[tuple[int, Mention | Invalid]]]:
    """Numbered records: a file's lines, or a DataFrame's rows (numbered from 1)."""
    if isinstance(mentions, pd.DataFrame):
        yield ((number, _row_mention(row)) for number, row in enumerate(_rows(mentions), 1))
        return
    path = Path(mentions)
    with open_input(path) as stream:
        yield read_records(stream, input_format(path))


STRING_FIELDS = ("id", "text", "brand", "in_reply_to", "author_id", "author.id")


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for column in STRING_FIELDS:
        if column in frame.columns and pd.api.types.is_float_dtype(frame[column]):
            raise ValueError(
                f"column {column!r} holds numbers with a fraction (pandas reads a numeric column "
                "with blank cells as floats: ids lose digits); read the file with dtype=str, "
                "e.g. pd.read_csv(path, dtype=str, keep_default_na=False)"
            )
    for row in frame.to_dict(orient="records"):
        yield {str(key): value for key, value in row.items() if not _missing(value)}


def _row_mention(row: dict[str, Any]) -> Mention | Invalid:
    """A row as a mention: `author_*` (as in CSV) and `author.*` (pd.json_normalize) columns
    make its author."""
    author = {}
    for key in list(row):
        field = CSV_AUTHOR_COLUMNS.get(key) or (key[7:] if key.startswith("author.") else None)
        if field:
            author[field] = row.pop(key)
    if author and "author" not in row:
        row["author"] = author
    return parse_mention(row)


def _missing(value: object) -> bool:
    """A DataFrame's empty cells (NaN, NaT, None, the empty string), as CSV's are absent."""
    if value is None or value is pd.NaT or (isinstance(value, str) and not value):
        return True
    return isinstance(value, float) and math.isnan(value)
