"""The feed corpus checked against feedparser itself: every complete entry (an id or a link,
a date, some text) that feedparser reads must become a mention with the same UTC date, and
no document may raise anything but `ValueError` ("not a feed").

`python -m tests.feeds_corpus` prints the figures per source.
"""

from __future__ import annotations

import calendar
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import feedparser

from pipeline.models import Mention
from producers.feeds import DATE_FIELDS, parse_feed, zone_hours

CORPUS = Path(__file__).parent / "fixtures" / "feeds" / "corpus"
FEED_ADDRESS = "https://corpus.example/"  # where each document is said to come from


def documents() -> Iterator[tuple[str, str, bytes]]:
    """(source, name, bytes) of every document: the archives' feeds, then the edge cases."""
    for archive in sorted(CORPUS.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(".xml"):
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    yield archive.name.removesuffix(".tar.gz"), member.name, extracted.read()
    for path in sorted((CORPUS / "edge").glob("*.xml")):
        yield "edge", path.name, path.read_bytes()


@dataclass
class Tally:
    documents: int = 0
    refused: list[str] = field(default_factory=list)  # "not a feed", with the reason
    complete: int = 0  # feedparser's complete entries
    matched: int = 0  # ... that became a mention with the same UTC date
    corrected: int = 0  # ... with a zone name feedparser reads as UTC, applied: feedparser's
    # date less the zone's hours
    missed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Complete:
    """A complete entry as feedparser reads it."""

    key: str  # its id, else its link
    created_at: datetime
    written: str  # the date as written


def complete_entries(raw: bytes, url: str) -> list[Complete]:
    """The complete entries feedparser reads in `raw`, called as a user calls it on `url`
    (relative links resolved against it)."""
    entries = []
    for entry in feedparser.parse(io.BytesIO(raw)).entries:
        name = next((d for d in DATE_FIELDS if dict.get(entry, f"{d}_parsed")), None)
        text = entry.get("title") or entry.get("summary") or entry.get("content")
        link = urljoin(url, entry["link"]) if entry.get("link") else ""
        key = (entry.get("id") or link).strip()
        if name is not None and text and key:
            stamp = calendar.timegm(dict.get(entry, f"{name}_parsed"))
            written = dict.get(entry, name)
            entries.append(Complete(key, datetime.fromtimestamp(stamp, UTC), written))
    return entries


def tally() -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for origin, name, raw in documents():
        counts = tallies.setdefault(origin, Tally())
        counts.documents += 1
        url = f"{FEED_ADDRESS}{name}"
        try:
            records = parse_feed(raw, url)
        except ValueError as error:
            counts.refused.append(f"{name}: {error}")
            records = []
        ours = {_key(r.id): r.created_at for r in records if isinstance(r, Mention)}
        for entry in complete_entries(raw, url):
            counts.complete += 1
            if ours.get(entry.key) == entry.created_at:
                counts.matched += 1
            elif _corrected(ours.get(entry.key), entry):
                counts.corrected += 1
            else:
                got = ours.get(entry.key)
                counts.missed.append(f"{name}: {entry.key} {entry.created_at} -> {got}")
    return tallies


def _corrected(ours: datetime | None, entry: Complete) -> bool:
    hours = zone_hours(entry.written)
    return (
        ours is not None and hours is not None and ours == entry.created_at - timedelta(hours=hours)
    )


def _key(mention_id: str) -> str:
    """The feed's own id of an entry from its mention's id (`rss:FEED#ID` or `rss:ID`)."""
    own = mention_id.split(":", 1)[1]
    feed, local, entry_id = own.partition("#")
    return entry_id if local and feed.startswith(FEED_ADDRESS) else own


def main() -> None:
    tallies = tally()
    for origin, t in [*tallies.items(), ("all", _total(tallies.values()))]:
        share = t.matched / t.complete if t.complete else 1.0
        print(
            f"{origin:24} {t.documents:5} documents, {len(t.refused):3} refused; "
            f"{t.matched}/{t.complete} complete entries with feedparser's date ({share:.1%}), "
            f"{t.corrected} with a zone name feedparser reads as UTC"
        )
    for origin, t in tallies.items():
        for line in t.missed[:20]:
            print(f"  missed  {origin}: {line}")
        for line in t.refused[:20]:
            print(f"  refused {origin}: {line}")


def _total(tallies: object) -> Tally:
    total = Tally()
    for t in tallies:  # type: ignore[attr-defined]
        total.documents += t.documents
        total.refused += t.refused
        total.complete += t.complete
        total.matched += t.matched
        total.corrected += t.corrected
    return total


if __name__ == "__main__":
    main()
