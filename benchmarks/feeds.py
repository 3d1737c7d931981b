"""A feed at the follower's size limit: `parse_feed` against feedparser alone.

    python -m benchmarks.feeds

The document is an RSS 2.0 feed of 10,000 entries with HTML descriptions, cut to fit
`MAX_FEED_BYTES` (10 MiB), once well-formed and once with an HTML entity outside CDATA,
which sends feedparser to its slower, forgiving parser. The reference is `feedparser.parse`
on the same bytes with its defaults; the ratio is what buzzwatch adds (its safety checks,
HTML to text, the mentions' validation) or saves (no sanitizing).
"""

from __future__ import annotations

import io
from functools import partial

import feedparser

from benchmarks.common import best_of
from producers.feeds import parse_feed
from producers.follow import MAX_FEED_BYTES

ITEM = (
    "<item><title>Le Café Colette {i} ferme</title><guid>https://blog.example/{i}</guid>"
    "<pubDate>Tue, 03 Mar 2026 10:02:13 +0100</pubDate><description><![CDATA[<p>"
    + "Un texte assez long pour un billet de blog. " * 20
    + "</p>]]></description></item>"
)


def feed_document(entries: int = 10_000) -> bytes:
    """An RSS 2.0 feed of about 10 MiB (the follower's limit, with room for the tail)."""
    items = "".join(ITEM.format(i=i) for i in range(entries)).encode()
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
    tail = b"</channel></rss>"
    room = MAX_FEED_BYTES - len(head) - len(tail)
    return head + items[: items.rfind(b"</item>", 0, room) + len(b"</item>")] + tail


def feedparser_alone(raw: bytes) -> object:
    return feedparser.parse(io.BytesIO(raw))  # a new stream each time: one is read once


def main() -> None:
    document = feed_document()
    ill_formed = document.replace(b"<title>x</title>", b"<title>x&nbsp;</title>", 1)
    for name, raw in (("well-formed", document), ("ill-formed", ill_formed)):
        entries = len(parse_feed(raw, "https://blog.example/feed"))
        ours = best_of(2, partial(parse_feed, raw, "https://blog.example/feed"))
        alone = best_of(2, partial(feedparser_alone, raw))
        print(
            f"{name}: {len(raw) / 2**20:.1f} MiB, {entries:,} entries: parse_feed {ours:.2f} s, "
            f"feedparser.parse {alone:.2f} s ({ours / alone:.2f}x)"
        )


if __name__ == "__main__":
    main()
