"""Decoding mention records from bytes, JSONL files and CSV files.

Every record comes back as a `Mention` or as an `Invalid` carrying the reason; nothing here
raises on bad input.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from pydantic import ValidationError

from pipeline.models import Invalid, Mention, parse_mention

CSV_AUTHOR_COLUMNS = {
    "author_id": "id",
    "author_name": "name",
    "author_followers": "followers",
    "author_follows_brand": "follows_brand",
}
_CHUNK = 1 << 16
MAX_KEPT_REJECTIONS = 1000


@dataclass
class Rejections:
    """Records a run skipped: how many, and the first reasons with their line numbers."""

    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.first) < MAX_KEPT_REJECTIONS:
            self.first.append((line, reason))


def decode_record(raw: bytes | str) -> Mention | Invalid:
    """One JSON-encoded mention (a JSONL line or a Kafka record value).

    A valid record is parsed and validated in one pass by pydantic; any other goes the long
    way (`json`, then validation), which says what is wrong with it.
    """
    try:
        return Mention.model_validate_json(raw)
    except ValidationError:
        pass
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return Invalid(f"invalid UTF-8 at byte {error.start}", "invalid_json")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as error:
        return Invalid(f"bad JSON: {error.msg} at column {error.colno}", "invalid_json")
    except RecursionError:
        return Invalid("bad JSON: nested too deeply", "invalid_json")
    return parse_mention(obj)


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream, read with `read` in chunks (so progress wrappers see it)."""
    pending = b""
    while chunk := stream.read(_CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def read_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, Mention | Invalid]]:
    """(line number, record) for each non-blank line of a JSONL stream."""
    for number, line in enumerate(iter_lines(stream), start=1):
        if line.strip():
            yield number, decode_record(line)


def read_csv(stream: IO[bytes]) -> Iterator[tuple[int, Mention | Invalid]]:
    """(line number, record) for each row of a CSV stream with a header row.

    Columns are the mention's fields; the author is given as `author_id`, `author_name`,
    `author_followers` and `author_follows_brand` (`true`/`false`). Empty cells count as absent.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    reader = csv.DictReader(text)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as error:
            yield reader.line_num + 1, Invalid(f"unreadable CSV row: {error}")
            return
        yield reader.line_num, parse_mention(_csv_row_to_object(row))


def _csv_row_to_object(row: dict[str | Any, str | Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    author: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value in (None, ""):
            continue
        if key in CSV_AUTHOR_COLUMNS:
            author[CSV_AUTHOR_COLUMNS[key]] = value
        else:
            obj[key] = value
    if author:
        obj["author"] = author
    return obj


def open_input(path: Path) -> IO[bytes]:
    """Open a mention file for binary reading, decompressing `.gz`."""
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def input_format(path: Path) -> str:
    """`csv` or `jsonl`, from the file name (`.gz` looked through)."""
    name = path.name.removesuffix(".gz")
    return "csv" if name.endswith(".csv") else "jsonl"


def read_records(stream: IO[bytes], fmt: str) -> Iterator[tuple[int, Mention | Invalid]]:
    """Records of a stream in the given format (`jsonl` or `csv`)."""
    return read_csv(stream) if fmt == "csv" else read_jsonl(stream)
