"""The report as Markdown (CommonMark with GitHub tables). Every text is escaped: no raw HTML,
no link, emphasis, heading or table cell can come from a mention."""

from __future__ import annotations

import re
from urllib.parse import quote

from buzzwatch import report_document as doc
from buzzwatch.report import Report

_INLINE = re.compile(r"([\\`*_\[\]<>&|~])")  # code, emphasis, links, HTML, entities, cells
_LINE_START = re.compile(r"^([#+\-=]|\d+(?=[.)]))")  # headings, lists, numbered lists
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"


def render_markdown(report: Report) -> str:
    """The report as Markdown text."""
    return "\n\n".join(filter(None, (_block(block) for block in doc.document(report)))) + "\n"


def escape(text: str) -> str:
    """Text that Markdown shows as written, inside a line: on one line, markup escaped."""
    return _INLINE.sub(r"\\\1", " ".join(text.split()))


def escape_line(text: str) -> str:
    """`escape`, and also what would start a heading, a list or a quote at a line's start."""
    return _LINE_START.sub(_escape_start, escape(text))


def _escape_start(match: re.Match[str]) -> str:
    mark = match.group(1)
    return mark + "\\" if mark.isdigit() else "\\" + mark


def _block(block: doc.Block) -> str:
    match block:
        case doc.Heading(level, text):
            return f"{'#' * level} {escape(text)}"
        case doc.Paragraph(text):
            return escape_line(text)
        case doc.Facts(pairs):
            return "\n".join(f"- **{escape(k)}:** {escape(v)}" for k, v in pairs)
        case doc.Table():
            return _table(block)
        case doc.Quote(text):
            return f"> {escape_line(text)}"
        case doc.Bullets(items):
            return "\n".join(f"- {escape_line(item)}" for item in items)
        case doc.Chart(_, lines, caption):
            width = max(len(label) for label, _ in lines)
            text = "\n".join(f"{label.ljust(width)}  {line}" for label, line in lines)
            return f"```text\n{text}\n```\n\n{escape_line(caption)}"
        case doc.Section(_, _, blocks):
            return "\n\n".join(_block(b) for b in blocks)
    raise TypeError(f"not a block: {block!r}")


def _table(table: doc.Table) -> str:
    if not table.rows:
        return escape_line(table.empty)
    lines = [_row(table.head), "|" + "---|" * len(table.head)]
    lines += [_row(tuple(_cell(cell) for cell in row), escaped=True) for row in table.rows]
    return "\n".join(lines)


def _row(cells: tuple[str, ...], escaped: bool = False) -> str:
    return "| " + " | ".join(cell if escaped else escape(cell) for cell in cells) + " |"


def _cell(cell: doc.Cell) -> str:
    if isinstance(cell, doc.Link):
        return f"[{escape(cell.text)}]({quote(cell.url, safe=_URL_SAFE)})"
    return escape(cell)
