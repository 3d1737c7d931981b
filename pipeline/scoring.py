"""`buzzwatch score`: sentiment of texts or mentions, one JSON line out per line in."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from pipeline.sentiment import SentimentRouter


def score_lines(
    lines: Iterable[bytes], out: IO[str], lang: str | None = None
) -> list[tuple[int, str]]:
    """Score each line: a JSON object with a `text` (a mention), or else the text itself.

    `lang` forces a language; without it a mention's own `lang` wins and the others are
    detected. Writes `{"lang", "compound", "pos", "neu", "neg"}` per line (with the mention's
    `id` if it has one), or `{"line", "error"}` for a line that cannot be scored; returns
    those (line number, reason) pairs.
    """
    router = SentimentRouter()
    errors: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            text, given, extra = _read_line(raw)
        except ValueError as error:
            errors.append((number, str(error)))
            out.write(json.dumps({"line": number, "error": str(error)}) + "\n")
            continue
        code = router.language(text, lang or given)
        polarity = router.polarity(text, code)
        out.write(json.dumps({**extra, "lang": code, **polarity._asdict()}, ensure_ascii=False))
        out.write("\n")
    return errors


def _read_line(raw: bytes) -> tuple[str, str | None, dict[str, Any]]:
    """(text, its lang, fields to echo); ValueError with the reason for a line not to score."""
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8: {error.reason} at byte {error.start}") from None
    if not line.lstrip().startswith("{"):
        return line, None, {}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return line, None, {}  # a text that happens to start with a brace
    except RecursionError:
        raise ValueError("a JSON object nested too deeply") from None
    if not isinstance(obj, dict):
        return line, None, {}
    text, lang = obj.get("text"), obj.get("lang")
    if not isinstance(text, str):
        raise ValueError("a JSON object without a string `text`")
    extra = {"id": obj["id"]} if isinstance(obj.get("id"), str | int) else {}
    return text, lang if isinstance(lang, str) and lang.strip() else None, extra
