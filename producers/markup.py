"""Plain text out of the HTML that feeds and Mastodon put in their posts."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "tr"})


def plain_text(markup: str) -> str:
    """Text of an HTML fragment, entities decoded, blocks and line breaks as spaces,
    whitespace collapsed."""
    stripper = _TextOnly()
    stripper.feed(markup)
    stripper.close()
    return re.sub(r"\s+", " ", html.unescape("".join(stripper.parts))).strip()


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
