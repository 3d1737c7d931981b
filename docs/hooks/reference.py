"""MkDocs hook: the site's front page is the README, and the command and configuration
references are generated from the code (argparse's help, the configuration's models), so
they cannot drift from it."""

from __future__ import annotations

import logging
import os
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
warnings.filterwarnings("ignore", category=DeprecationWarning)  # kafka-python's, on import
log = logging.getLogger("mkdocs.hooks.reference")  # a warning fails the strict build
REPOSITORY = "https://github.com/buzzwatch/buzzwatch/blob/main/"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    path = page.file.src_uri
    if path == "index.md":
        return front_page()
    markdown = markdown.replace("<!-- cli-reference -->", commands_help())
    return markdown.replace("<!-- configuration-reference -->", configuration_tables())


def front_page() -> str:
    """The README, its links made relative to the site: `docs/x.md` is `x.md`; a file of the
    repository outside docs/ is linked on the repository's site."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")

    def link(match: re.Match[str]) -> str:
        target = match[2]
        if target.startswith(("http://", "https://", "#", "mailto:")):
            return match[0]
        if target.startswith("docs/"):  # checked by MkDocs as a link between pages
            return f"{match[1]}({target.removeprefix('docs/')})"
        if not (ROOT / target.split("#")[0]).exists():
            log.warning("README.md links to %s, which is not in the repository", target)
        return f"{match[1]}({REPOSITORY}{target})"

    return re.sub(r"(\[[^\]]*\])\(([^)\s]+)\)", link, text)


def commands_help() -> str:
    """`buzzwatch COMMAND -h` of every command (and of each benchmark of `evaluate`)."""
    from buzzwatch.cli import parser_for

    os.environ["COLUMNS"] = "96"  # argparse wraps to the terminal's width: a fixed one here
    sections = []
    for name, parser in _subcommands(parser_for()).items():
        sections.append(f"### buzzwatch {name}\n\n```text\n{parser.format_help()}```\n")
        for inner, benchmark in _subcommands(parser).items():
            help_text = benchmark.format_help()
            sections.append(f"#### buzzwatch {name} {inner}\n\n```text\n{help_text}```\n")
    return "\n".join(sections)


def _subcommands(parser: Any) -> dict[str, Any]:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def configuration_tables() -> str:
    """Every table of the configuration file and its keys, from the models that read them."""
    from buzzwatch.configuration import tables

    sections = []
    for table, kind in tables().items():
        sections.extend(_table(f"[{table}]", kind))
    return "\n".join(sections)


def _table(name: str, kind: Any) -> list[str]:
    if typing.get_origin(kind) is dict:
        value = typing.get_args(kind)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return _table(f'{name[:-1]}."NAME"]', value)
        return [f"### {name}\n\nFree keys, each a {_type(value)}.\n"]
    rows, nested = [], []
    for key, field in kind.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.extend(_table(f"{name[:-1]}.{key}]", annotation))
            continue
        default = "required" if field.is_required() else f"`{_default(field)}`"
        about = (field.description or "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type(annotation)} | {default} | {about} |")
    head = f"### {name}\n\n{_first_line(kind.__doc__)}\n\n"
    table = "| key | type | default | what |\n| --- | --- | --- | --- |\n" + "\n".join(rows)
    return [head + table + "\n", *nested]


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return " or ".join(f"`{value!r}`" for value in typing.get_args(annotation))
    if origin is not None:  # list[str], dict[str, int]...
        written = str(annotation).replace("typing.", "").replace("|", "or")
        return f"`{written}`"
    name = getattr(annotation, "__name__", None) or str(annotation)
    return "none" if name == "NoneType" else str(name)


def _default(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if hasattr(value, "get_secret_value"):
        return "secret"
    if isinstance(value, BaseModel):
        return value.__class__.__name__
    return repr(value).replace("|", "\\|")


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())
