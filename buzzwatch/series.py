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
            "brand": pd.Series([r.brand for r in reports], dtype="string"),
            "start": pd.to_datetime(
                pd.Series([r.start for r in reports], dtype="int64"), unit="s", utc=True
            ),
            "end": pd.to_datetime(
                pd.Series([r.end for r in reports], dtype="int64"), unit="s", utc=True
            ),
            "volume": pd.Series([r.volume for r in reports], dtype="int64"),
            "negatives": pd.Series([r.negatives for r in reports], dtype="int64"),
            "negative_share": pd.Series([r.negative_share for r in reports], dtype="float64"),
            "expected_volume": pd.Series([r.expected_volume for r in reports], dtype="float64"),
            "volume_score": pd.Series([r.volume_score for r in reports], dtype="float64"),
            "expected_negatives": pd.Series(
                [r.expected_negatives for r in reports], dtype="float64"
            ),
            "negative_score": pd.Series([r.negative_score for r in reports], dtype="float64"),
        }
    )
    return frame[list(COLUMNS)]


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
