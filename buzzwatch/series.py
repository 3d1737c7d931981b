"""The analyst's per-bucket series: the engine's closed buckets as a pandas DataFrame.

One row per closed bucket and brand, in the order the engine closed them (event time, then
brand as first seen): `brand`, `start` and `end` (UTC timestamps), `volume`, `negatives`,
`negative_share`, `expected_volume`, `volume_score`, `expected_negatives`, `negative_score`.
Written as CSV or Parquet, by the file name's suffix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.engine import BucketReport

COLUMNS = (
    "brand",
    "start",
    "end",
    "volume",
    "negatives",
    "negative_share",
    "expected_volume",
    "volume_score",
    "expected_negatives",
    "negative_score",
)
SERIES_SUFFIXES = (".csv", ".parquet")
# the types of the columns that are not float64 (start and end: epoch seconds, then UTC times)
_DTYPES = {"brand": "string", **dict.fromkeys(("start", "end", "volume", "negatives"), "int64")}


class SeriesCollector:
    """An `Engine(on_bucket=...)` listener that keeps every closed bucket's report."""

    def __init__(self) -> None:
        self.reports: list[BucketReport] = []

    def __call__(self, report: BucketReport) -> None:
        self.reports.append(report)

    def frame(self) -> pd.DataFrame:
        return series_frame(self.reports)


def series_frame(reports: list[BucketReport]) -> pd.DataFrame:
    """The reports as a DataFrame with the columns of `COLUMNS` (typed, even when empty)."""
    frame = pd.DataFrame(
        {
            name: pd.Series([getattr(r, name) for r in reports], dtype=_DTYPES.get(name, "float64"))
            for name in COLUMNS
        }
    )
    for name in ("start", "end"):  # epoch seconds
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    return frame


def check_series_path(path: Path) -> Path:
    """`path` if its suffix names a series format, else ValueError."""
    if path.suffix.lower() not in SERIES_SUFFIXES:
        raise ValueError(f"{path}: the series file must end in .csv or .parquet")
    return path


def write_series(frame: pd.DataFrame, path: Path) -> None:
    """CSV (times as ISO-8601 UTC with `Z`) or Parquet (UTC timestamps), by the suffix."""
    suffix = check_series_path(path).suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    else:
        frame.to_parquet(path, index=False)
