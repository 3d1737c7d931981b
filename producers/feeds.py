"""Feeds as mentions, one per entry: every format feedparser reads (RSS 0.9x, 1.0 and 2.0,
Atom 0.3 and 1.0, CDF), in any encoding it detects, well-formed or not.

Safety. feedparser parses the bytes it is given (never a URL or a path: the bytes are
wrapped in a stream), turns off external entities in its XML parser and keeps only
declarations of plain-text entities; this module refuses outright a document that declares
entities at all (an expansion attack does not need to be nested to cost memory). Fetching,
its size and its time limits stay with the follower.

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
from datetime import UTC, datetime
from email.utils import parsedate
from typing import Any

import feedparser
from pydantic import ValidationError

from pipeline.models import Invalid, Mention, describe_validation_error
from producers.markup import plain_text

MAX_TEXT = 5000  # characters of an entry kept as the mention's text
DATE_FIELDS = ("published", "created", "updated")  # the first present is the date
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ROOT = re.compile(rb"<[A-Za-z_]")  # the first element: declarations come before it
_DECLARED_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding=["'])x-([A-Za-z0-9._-]+)""")

# Zone names in RFC 822 dates that feedparser reads as UTC. Only names with one meaning
# are here (IST is India, Ireland and Israel; it stays unread rather than read wrong).
ZONE_HOURS = {
    "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "BST": 1, "WET": 0, "WEST": 1, "EET": 2,
    "EEST": 3, "MSK": 3, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AEST": 10, "AEDT": 11,
    "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13, "UTC": 0,
}  # fmt: skip
_ZONED = re.compile(r"^(?P<stamp>.*\d)\s+(?P<zone>[A-Za-z]{3,4})\s*$")


def zoned_rfc822(text: str) -> datetime | None:
    """An RFC 822 date whose zone is a name in `ZONE_HOURS`, in UTC; None for any other."""
    match = _ZONED.match(text.strip())
    if match is None or match["zone"].upper() not in ZONE_HOURS:
        return None
    fields = parsedate(match["stamp"])
    if fields is None:
        return None
    seconds = calendar.timegm(fields) - ZONE_HOURS[match["zone"].upper()] * 3600
    return datetime.fromtimestamp(seconds, UTC)


def parse_feed(
    raw: bytes,
    feed: str,
    brand: str | None = None,
    content_type: str | None = None,
    undated: datetime | None = None,
) -> list[Mention | Invalid]:
    """The entries of the document `raw` fetched from `feed`, oldest first; an entry that
    cannot be a mention is an `Invalid` saying why. `content_type` is the HTTP header (its
    charset counts); an entry without a readable date is dated `undated` when given.

    Raises ValueError when the document is not a feed.
    """
    if _declares_entities(raw):
        raise ValueError("not a feed: the document declares XML entities (refused)")
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(
        io.BytesIO(_known_encoding(raw)),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.version and not parsed.entries:
        problem = parsed.get("bozo_exception") or "no RSS, RDF or Atom element"
        raise ValueError(f"not a feed: {problem}")
    source = "atom" if parsed.version.startswith("atom") else "rss"
    language = parsed.feed.get("language")
    mentions = [_mention(entry, feed, source, language, brand, undated) for entry in parsed.entries]
    return sorted(mentions, key=_oldest_first)


def _declares_entities(raw: bytes) -> bool:
    """Whether the prolog declares an entity, in any encoding feedparser reads (null bytes
    removed: UTF-16 and UTF-32 spell ASCII with them)."""
    text = raw.replace(b"\x00", b"")
    root = _ROOT.search(text)
    return _ENTITY_DECLARATION.search(text, 0, root.start() if root else len(text)) is not None


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
    link = entry.get("link")
    url = link if isinstance(link, str) and link.startswith(("http://", "https://")) else None
    entry_id = (entry.get("id") or url or "").strip()
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
    for name in DATE_FIELDS:
        parsed = dict.get(entry, f"{name}_parsed")
        if parsed is not None:
            zoned = zoned_rfc822(dict.get(entry, name) or "")
            return zoned or datetime.fromtimestamp(calendar.timegm(parsed), UTC), ""
    written = [dict.get(entry, name) for name in DATE_FIELDS if dict.get(entry, name)]
    if written:
        return None, f" (unreadable date {written[0]!r})"
    return None, " (no published, created or updated date)"


def _text(entry: Any) -> str:
    title = entry.get("title_detail")
    body = entry.get("content") or [entry.get("summary_detail")]
    parts = [_plain(detail) for detail in (title, *body) if detail]
    return " — ".join(part for part in parts if part)[:MAX_TEXT]


def _plain(detail: Any) -> str:
    value = detail.get("value") or ""
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
