"""Plain text out of the HTML that feeds and Mastodon put in their posts."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser

_BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "tr"})


def plain_text(markup: str, links: Mapping[str, str] | None = None) -> str:
    """Text of an HTML fragment, entities decoded, blocks and line breaks as spaces,
    whitespace collapsed. A link whose target is in `links` reads as the text given there
    (a Mastodon mention's full handle, where the markup shows the bare user name)."""
    stripper = _TextOnly(links or {})
    stripper.feed(markup)
    stripper.close()
    return re.sub(r"\s+", " ", html.unescape("".join(stripper.parts))).strip()


class _TextOnly(HTMLParser):
    def __init__(self, links: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links = links
        self._replaced = False  # inside a link whose text `links` replaces

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href is not None and href in self._links:
                self.parts.append(self._links[href])
                self._replaced = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")
        elif tag == "a":
            self._replaced = False

    def handle_data(self, data: str) -> None:
        if not self._replaced:
            self.parts.append(data)
