"""Plain text out of the HTML that feeds and Mastodon put in their posts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser

# Elements that end a run of text: their content never runs into the next one's
# ("Café Colette" in a table cell, "intoxication" in the next, stay two words).
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div"),
        *("dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("header", "hr", "img", "li", "main", "nav", "ol", "p", "pre", "section", "summary"),
        *("table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
    }
)
_HIDDEN = frozenset({"script", "style", "template", "noscript"})  # content never shown as text
# A comment, or one never closed with the rest of the markup, as a browser hides it.
_COMMENT = re.compile(r"<!--.*?-->|<!--.*", re.DOTALL)


MAX_MARKUP = 250_000  # characters of markup read: far more than the texts kept need


def plain_text(markup: str, links: Mapping[str, str] | None = None) -> str:
    """Text of an HTML fragment: entities decoded, block elements and line breaks as spaces,
    scripts and styles dropped, whitespace collapsed. A link whose target is in `links`
    reads as the text given there (a Mastodon mention's full handle, where the markup shows
    the bare user name).

    Comments are taken out first; what could still open a comment or a marked section
    (`<!--`, `<![`) and a `<` after the last `>` (a tag that can never close) are text. This
    keeps html.parser linear: runs of unclosed comments, marked sections or tags cost it
    quadratic time. Only the first `MAX_MARKUP` characters are read.
    """
    markup = _COMMENT.sub("", markup[:MAX_MARKUP])
    markup = markup.replace("<!--", "&lt;!--").replace("<![", "&lt;![")
    last = markup.rfind(">") + 1
    markup = markup[:last] + markup[last:].replace("<", "&lt;")
    stripper = _TextOnly(links or {})
    stripper.feed(markup)
    stripper.close()
    return re.sub(r"\s+", " ", "".join(stripper.parts)).strip()


class _TextOnly(HTMLParser):
    def __init__(self, links: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links = links
        self._replaced = False  # inside a link whose text `links` replaces
        self._hidden = 0  # depth inside script, style...

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href is not None and href in self._links:
                self.parts.append(self._links[href])
                self._replaced = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append(" ")
        elif tag == "a":
            self._replaced = False

    def handle_data(self, data: str) -> None:
        if not self._replaced and not self._hidden:
            self.parts.append(data)
