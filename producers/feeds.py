"""RSS 2.0 and Atom feeds as mentions: one per item or entry.

Feeds are parsed with defusedxml (no entity expansion, no external entities). An entry's
text is its title and its summary with the HTML taken out; its id is the feed's id for it
(`guid`, Atom `id`, else the link), prefixed with `rss:`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from pydantic import ValidationError

from pipeline.models import Invalid, Mention, describe_validation_error
from producers.markup import plain_text

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_TEXT = 5000  # characters of an entry kept as the mention's text


def parse_feed(raw: bytes, brand: str | None = None) -> list[Mention | Invalid]:
    """The feed's entries, oldest first; an entry that cannot be a mention is an `Invalid`.

    Raises ValueError when the document is not an RSS or Atom feed.
    """
    try:
        root = ElementTree.fromstring(raw)
    except (ElementTree.ParseError, ValueError) as error:  # defusedxml's refusals included
        raise ValueError(f"not a feed: {error}") from error
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise ValueError("not a feed: an <rss> without a <channel>")
        entries = [_rss_item(item, channel.findtext("language")) for item in channel.iter("item")]
    elif root.tag == f"{ATOM}feed":
        entries = [_atom_entry(entry, root.get(XML_LANG)) for entry in root.iter(f"{ATOM}entry")]
    else:
        raise ValueError(f"not a feed: the document is a <{root.tag}>")
    mentions = [_mention(fields, brand) for fields in entries]
    return sorted(mentions, key=_oldest_first)


def _rss_item(item: Element, language: str | None) -> dict[str, Any]:
    guid, link = item.findtext("guid"), item.findtext("link")
    published = item.findtext("pubDate") or item.findtext(f"{DC}date")
    return {
        "id": guid or link,
        "created_at": _rss_time(published) if published else None,
        "text": _text(item.findtext("title"), item.findtext("description")),
        "lang": language,
        "source": "rss",
        "url": link,
        "author": item.findtext(f"{DC}creator") or item.findtext("author"),
    }


def _atom_entry(entry: Element, language: str | None) -> dict[str, Any]:
    links = entry.findall(f"{ATOM}link")
    alternate = [link.get("href") for link in links if link.get("rel", "alternate") == "alternate"]
    summary = entry.findtext(f"{ATOM}summary") or entry.findtext(f"{ATOM}content")
    return {
        "id": entry.findtext(f"{ATOM}id") or (alternate[0] if alternate else None),
        "created_at": entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated"),
        "text": _text(entry.findtext(f"{ATOM}title"), summary),
        "lang": entry.get(XML_LANG) or language,
        "source": "atom",
        "url": alternate[0] if alternate else None,
        "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
    }


def _mention(fields: dict[str, Any], brand: str | None) -> Mention | Invalid:
    author = fields.pop("author")
    record = {k: v for k, v in fields.items() if v is not None}
    if "id" in record:
        record["id"] = f"{record['source']}:{record['id'].strip()}"
    if author:
        record["author"] = {"id": author.strip(), "name": author.strip()}
    if brand is not None:
        record["brand"] = brand
    try:
        return Mention.model_validate(record)
    except ValidationError as error:
        return Invalid(f"entry {fields.get('id')!r}: {describe_validation_error(error)}")


def _rss_time(text: str) -> str | datetime:
    """RFC 822 dates (`Tue, 03 Mar 2026 10:02:13 +0100`); others are left to the validator."""
    try:
        return parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return text


def _text(title: str | None, summary: str | None) -> str:
    parts = [plain_text(part) for part in (title, summary) if part]
    return " — ".join(part for part in parts if part)[:MAX_TEXT]


def _oldest_first(record: Mention | Invalid) -> tuple[int, datetime]:
    if isinstance(record, Invalid):
        return (0, datetime.min.replace(tzinfo=UTC))
    return (1, record.created_at)
