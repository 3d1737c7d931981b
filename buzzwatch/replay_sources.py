"""Where a replay's numbered records come from, and how to name them in reports: a mention
file (behind a progress bar, filtered to a time range), shared by `buzzwatch replay` and its
workers. (A Kafka topic's time range is `buzzwatch.cli.replay`'s.)"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, cast

from tqdm import tqdm

from pipeline.models import Invalid, Mention
from pipeline.records import input_format, open_input, read_records

Numbered = Iterator[tuple[int, Mention | Invalid]]


@dataclass
class ReplaySource:
    """Numbered records for a replay, and how to name them in reports."""

    records: Iterable[tuple[int, Mention | Invalid]]
    name: str
    where: Callable[[int], str]
    outside: int = 0  # records skipped because their time is outside the range
    details: str = ""


@contextlib.contextmanager
def file_records(path: Path, fmt: str | None, progress: bool) -> Iterator[Numbered]:
    """A mention file's numbered records (`fmt`: jsonl or csv, else from the name), behind a
    progress bar on stderr. OSError when the file cannot be opened."""
    total = None if path.suffix == ".gz" else path.stat().st_size
    with (
        open_input(path) as raw,
        tqdm.wrapattr(
            raw, "read", total=total, desc=path.name, disable=not progress, file=sys.stderr
        ) as stream,
    ):
        yield read_records(cast(IO[bytes], stream), fmt or input_format(path))


@contextlib.contextmanager
def file_source(
    path: Path, fmt: str | None, start: datetime | None, end: datetime | None, progress: bool
) -> Iterator[ReplaySource]:
    """A mention file as a replay's source, its records in [start, end) of created_at."""
    with file_records(path, fmt, progress) as numbered:
        source = ReplaySource(numbered, str(path), lambda line: f"line {line}")
        if start is not None or end is not None:
            source.records = _within_range(numbered, start, end, source)
        yield source


def _within_range(
    records: Iterable[tuple[int, Mention | Invalid]],
    start: datetime | None,
    end: datetime | None,
    source: ReplaySource,
) -> Numbered:
    """File records whose created_at is in [start, end); invalid ones pass (to be reported)."""
    for line, record in records:
        if isinstance(record, Mention) and (
            (start is not None and record.created_at < start)
            or (end is not None and record.created_at >= end)
        ):
            source.outside += 1
            continue
        yield line, record
