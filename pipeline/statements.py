"""Holding statements: a suggested first answer, in the language of the negative mentions."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from pipeline.models import Explanation, HoldingStatement
from pipeline.sentiment import language_of

FIELDS = frozenset({"brand"})


def default_templates() -> dict[str, str]:
    """The templates shipped with buzzwatch (pipeline/templates/holding_statements.toml)."""
    text = files("pipeline").joinpath("templates/holding_statements.toml").read_text("utf-8")
    return dict(tomllib.loads(text))


class HoldingStatements:
    """Templates per language; `suggest` picks the language most negative mentions use."""

    def __init__(self, templates: Mapping[str, str], fallback: str = "en") -> None:
        self.templates: dict[str, str] = {}
        for lang, template in templates.items():
            code = language_of(lang)
            if not isinstance(template, str) or not template.strip():
                raise ValueError(f"holding statement {lang!r}: give a non-empty text")
            unknown = {
                name for _, name, _, _ in string.Formatter().parse(template) if name
            } - FIELDS
            if unknown:
                raise ValueError(
                    f"holding statement {lang!r}: unknown placeholder(s) "
                    f"{', '.join(sorted(unknown))}; only {{brand}} is known"
                )
            self.templates[code] = template
        if fallback not in self.templates:
            raise ValueError(f"holding statements need a template for {fallback!r}")
        self.fallback = fallback

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HoldingStatements:
        """The shipped templates, with the configuration's `[holding_statements]` on top."""
        return cls({**default_templates(), **config.get("holding_statements", {})})

    def suggest(self, brand: str, explanation: Explanation) -> HoldingStatement:
        """The statement in the most used language of the negatives that has a template (then
        of all mentions), else in the fallback language."""
        for counts in (explanation.negative_languages, explanation.languages):
            for lang in counts:  # most used first
                if lang in self.templates:
                    return self._statement(lang, brand)
        return self._statement(self.fallback, brand)

    def _statement(self, lang: str, brand: str) -> HoldingStatement:
        return HoldingStatement(lang=lang, text=self.templates[lang].format(brand=brand))
