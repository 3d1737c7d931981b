"""The report as one self-contained HTML page: inline style, inline SVG charts, no script and
nothing fetched. Also well-formed XML. Every text is escaped."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _e
from typing import TYPE_CHECKING

from buzzwatch import report_document as doc
from buzzwatch.svg_charts import CHART_STYLE

if TYPE_CHECKING:
    from buzzwatch.report import Report

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1000px; color: #222;
  padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin-top: 1.8rem; } h4 { font-size: 0.95rem; margin-bottom: 0.3rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.15rem 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
blockquote { border-left: 4px solid #2e7d32; margin: 0.5rem 0; padding: 0.3rem 0.8rem;
  background: #f4f9f4; }
figure { margin: 0.5rem 0 1rem; } figcaption { font-size: 0.8rem; color: #555; }
section.lessons ul { min-height: 1.5rem; }
"""


def render_html(report: Report) -> str:
    """The report as an HTML page."""
    return page(report.title, doc.document(report))


def page(title: str, blocks: Iterable[doc.Block]) -> str:
    """A page of `blocks` (the report's, or a replay's charts and tables)."""
    body = "\n".join(_block(block) for block in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{_e(title)}</title>\n<style>{STYLE}{CHART_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _block(block: doc.Block) -> str:
    match block:
        case doc.Heading(level, text):
            return f"<h{level}>{_e(text)}</h{level}>"
        case doc.Paragraph(text):
            return f"<p>{_e(text)}</p>"
        case doc.Facts(pairs):
            items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs)
            return f'<dl class="facts">{items}</dl>'
        case doc.Table():
            return _table(block)
        case doc.Quote(text):
            return f"<blockquote>{_e(text)}</blockquote>"
        case doc.Bullets(items):
            return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"
        case doc.Chart(svg, _, caption):
            below = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
            return f"<figure>{svg}{below}</figure>"
        case doc.Section(css, anchor, blocks):
            where = f' id="{_e(anchor)}"' if anchor else ""
            inner = "\n".join(_block(b) for b in blocks)
            return f'<section class="{_e(css)}"{where}>\n{inner}\n</section>'
    raise TypeError(f"not a block: {block!r}")


def _table(table: doc.Table) -> str:
    heads = "".join(f"<th>{_e(name)}</th>" for name in table.head)
    lines = [
        "<tr>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    ]
    if not lines:
        lines.append(f'<tr><td colspan="{len(table.head)}">{_e(table.empty)}</td></tr>')
    body = "\n".join(lines)
    return f"<table>\n<thead><tr>{heads}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _cell(cell: doc.Cell) -> str:
    if isinstance(cell, doc.Link):
        return f'<a href="{_e(cell.url)}" rel="noopener noreferrer nofollow">{_e(cell.text)}</a>'
    return _e(cell)
