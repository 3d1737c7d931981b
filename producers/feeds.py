"""Feeds as mentions, one per entry: every format feedparser reads (RSS 0.9x, 1.0 and 2.0,
Atom 0.3 and 1.0, CDF), in any encoding it detects, well-formed or not.

Safety. feedparser parses the bytes it is given (never a URL or a path: the bytes are
wrapped in a stream) and its XML parser loads no external entity. A document declaring
entities is refused outright: an expansion does not need to be nested to cost memory. The
check decodes the document as feedparser does, then looks where both of feedparser's parsers
take entities from: the declarations its own prolog scan collects (they feed the forgiving
parser, and a comment does not hide them from it), and those expat, the strict parser, reads
before the first element, in the document and in feedparser's rewrite of it. An exception
feedparser raises on a document it cannot read makes it "not a feed". Fetching, its size
and its time limits stay with the follower.

An entry's text is its title, then its content (RSS `content:encoded`, Atom `content`) or
else its summary (`description`, Atom `summary`, `media:description`); HTML and XHTML parts
are turned into text, plain-text parts are kept as they are. Its date is the first of
`published`, `created` and `updated` (RSS `pubDate`, `dc:date`, `dcterms:*`, Atom), in UTC
with its offset or zone name applied. Its id is the feed's id for it (`guid`, Atom `id`,
else the link) prefixed with `rss:` or `atom:`; an id that is not an absolute URI ("1",
"post-17") is only unique within its feed, so the feed's address is put before it.
"""

from __future__ import annotations

import calendar
import codecs
import io
import re
import xml.parsers.expat
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.datetimes import _parse_date as feedparser_date  # what feedparser applies
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype
from pydantic import ValidationError

from pipeline.models import Invalid, Mention, describe_validation_error
from producers.markup import plain_text

MAX_TEXT = 5000  # characters of an entry kept as the mention's text
DATE_FIELDS = ("published", "created", "updated")  # the first present is the date
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]")
_DECLARED_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding=["'])x-([A-Za-z0-9._-]+)""")

# Zone names feedparser reads as UTC, as written in feeds: CET and CEST in French and German
# ones, BST (British Summer Time) in British ones. Names with several common meanings (IST:
# India, Ireland, Israel) stay as feedparser reads them.
ZONE_HOURS = {
    "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "BST": 1, "WET": 0, "WEST": 1, "EET": 2,
    "EEST": 3, "MSK": 3, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AEST": 10, "AEDT": 11,
    "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13,
}  # fmt: skip
_ZONE = re.compile(r"\b(" + "|".join(ZONE_HOURS) + r")\b", re.IGNORECASE)
_OFFSET = re.compile(r"(?:[+-]\d\d:?\d\d|\b(?:GMT|UTC|UT|Z)\b)(?![\d:])", re.IGNORECASE)


def zone_hours(written: str) -> float | None:
    """The hours of the zone name in a written date, when it is one of `ZONE_HOURS` and no
    numeric offset is written beside it."""
    match = _ZONE.search(written)
    if match is None or _OFFSET.search(written):
        return None
    return ZONE_HOURS[match[1].upper()]


def read_date(written: str) -> datetime | None:
    """A date as feedparser reads it, with a zone name of `ZONE_HOURS` read as its offset
    (where feedparser reads the date that way); None when unreadable or out of range."""
    parsed, written = None, written.strip()
    hours = zone_hours(written)
    if hours is not None:
        sign, minutes = "+" if hours >= 0 else "-", round(abs(hours) * 60)
        offset = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"  # with a colon: never a year
        parsed = feedparser_date(_ZONE.sub(offset, written))
    parsed = parsed or feedparser_date(written)
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (ValueError, OverflowError):  # year 0, year 10000 in UTC
        return None


def parse_feed(
    raw: bytes,
    feed: str,
    brand: str | None = None,
    content_type: str | None = None,
    undated: datetime | None = None,
) -> list[Mention | Invalid]:
    """The entries of the document `raw` fetched from `feed`, oldest first; an entry that
    cannot be a mention is an `Invalid` saying why. `content_type` is the HTTP header (its
    charset counts); relative links are resolved against `feed`; an entry without a readable
    date is dated `undated` when given.

    Raises ValueError when the document is not a feed.
    """
    raw = _known_encoding(raw)
    headers = {"content-type": content_type} if content_type else {}
    if _declares_entities(raw, headers):
        raise ValueError("not a feed: the document declares XML entities (refused)")
    try:
        parsed = feedparser.parse(
            io.BytesIO(raw),
            response_headers=headers,
            sanitize_html=False,  # the text is taken out of the HTML here
            resolve_relative_uris=False,  # links in HTML are dropped; the entry's is resolved
        )
    except Exception as error:  # feedparser's own failures on documents it cannot read
        raise ValueError(f"not a feed: feedparser failed: {error!r}") from error
    if not parsed.get("version") and not parsed.get("entries"):
        problem = parsed.get("bozo_exception") or "no RSS, RDF or Atom element"
        raise ValueError(f"not a feed: {problem}")
    source = "atom" if parsed.get("version", "").startswith("atom") else "rss"
    language = parsed.feed.get("language")
    mentions = [_mention(entry, feed, source, language, brand, undated) for entry in parsed.entries]
    return sorted(mentions, key=_oldest_first)


class _Found(Exception):
    """The prolog's check is over: `declared` says whether it met an entity declaration."""

    def __init__(self, declared: bool) -> None:
        self.declared = declared


def _declares_entities(raw: bytes, headers: dict[str, str]) -> bool:
    """Whether the document, decoded as feedparser decodes it, declares an entity that one of
    feedparser's parsers would take."""
    decoding: dict[str, Any] = {}
    data = convert_to_utf8(headers, raw, decoding)
    _, rewritten, entities = replace_doctype(data)
    return bool(entities) or _expat_declares(data) or _expat_declares(rewritten)


def _expat_declares(data: bytes) -> bool:
    """Whether expat reads an entity declaration before the first element of `data` (a
    document it cannot read that far declares nothing it would expand)."""
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def declared(*_: object) -> None:
        raise _Found(True)

    def first_element(*_: object) -> None:
        raise _Found(False)

    parser.EntityDeclHandler = declared
    parser.UnparsedEntityDeclHandler = declared
    parser.StartElementHandler = first_element
    try:
        parser.Parse(data, True)
    except _Found as found:
        return found.declared
    except xml.parsers.expat.ExpatError:
        return False
    return False


def _known_encoding(raw: bytes) -> bytes:
    """`raw` with an `x-` encoding name Python knows without the prefix (`x-mac-roman`)
    declared by that name, so that feedparser decodes it instead of guessing."""
    match = _DECLARED_ENCODING.match(raw)
    if match is None:
        return raw
    try:
        codecs.lookup(match[2].decode("ascii"))
    except LookupError:
        return raw
    return match[1] + raw[match.end(1) + 2 :]


def _mention(
    entry: Any,
    feed: str,
    source: str,
    language: str | None,
    brand: str | None,
    undated: datetime | None,
) -> Mention | Invalid:
    link = urljoin(feed, entry.get("link") or "")  # a relative link is the feed's site's
    url = link if link.startswith(("http://", "https://")) else None
    entry_id = str(entry.get("id") or url or "").strip()
    record: dict[str, Any] = {
        "text": _text(entry),
        "source": source,
        "lang": _language(entry) or language,
        "url": url,
    }
    if entry_id:
        local = _ABSOLUTE_URI.match(entry_id) is None
        record["id"] = f"{source}:{feed}#{entry_id}" if local else f"{source}:{entry_id}"
    created, reason = _created_at(entry)
    if created is not None or undated is not None:
        record["created_at"] = created or undated
    author = (entry.get("author_detail") or {}).get("name") or entry.get("author")
    if isinstance(author, str) and author.strip():
        record["author"] = {"id": author.strip(), "name": author.strip()}
    if brand is not None:
        record["brand"] = brand
    record = {key: value for key, value in record.items() if value is not None}
    try:
        return Mention.model_validate(record)
    except ValidationError as error:
        return Invalid(f"entry {entry_id!r}: {describe_validation_error(error)}{reason}")


def _created_at(entry: Any) -> tuple[datetime | None, str]:
    """The entry's date in UTC, or None and why (appended to the validation error). Read
    with `dict.get`: feedparser's own lookup maps a missing `updated` to `published`."""
    written = [dict.get(entry, name) for name in DATE_FIELDS if dict.get(entry, name)]
    for text in written:
        if isinstance(text, str) and (created := read_date(text)) is not None:
            return created, ""
    if written:
        return None, f" (unreadable date {written[0]!r})"
    return None, " (no published, created or updated date)"


def _text(entry: Any) -> str:
    body = [text for text in map(_plain, entry.get("content") or []) if text]
    parts = [_plain(entry.get("title_detail")), *(body or [_plain(entry.get("summary_detail"))])]
    return " — ".join(part for part in parts if part)[:MAX_TEXT]


def _plain(detail: Any) -> str:
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    if detail.get("type") in _HTML_TYPES:
        return plain_text(value)
    return re.sub(r"\s+", " ", value).strip()


def _language(entry: Any) -> str | None:
    for detail in (entry.get("title_detail"), *(entry.get("content") or [])):
        if detail and detail.get("language"):
            return str(detail["language"])
    return None


def _oldest_first(record: Mention | Invalid) -> tuple[int, datetime]:
    if isinstance(record, Invalid):
        return (0, datetime.min.replace(tzinfo=UTC))
    return (1, record.created_at)
