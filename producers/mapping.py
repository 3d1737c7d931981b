"""The records of a JSON payload as mentions, by a field mapping: each mention field is read
from a path of the record.

A path is keys joined by dots, with list indexes in brackets: `review.id`,
`review.links[0].href`, `[0]` (the first item of a record that is a list). A key holding a dot,
a bracket or a quote is written in double quotes, `"meta.data".id`; a quoted key is any
characters but `"` (no escapes). Indexes count from 0. A path that leads nowhere (a key that
is absent, an index past the end, a key of something that is not an object, or JSON null)
gives nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from pipeline.models import Invalid, Mention, describe_validation_error

MentionField = Literal[
    "id",
    "created_at",
    "text",
    "brand",
    "lang",
    "url",
    "in_reply_to",
    "engagement",
    "author.id",
    "author.name",
    "author.followers",
    "author.follows_brand",
]
REQUIRED_FIELDS = ("id", "created_at", "text")
PREFIXED_FIELDS = ("id", "in_reply_to")  # ids of the source's posts: `NAME:` before them
TEXT_JOINER = " — "
_KEY = re.compile(r'"(?P<quoted>[^"]*)"|(?P<bare>[^."\[\]]+)')
_INDEX = re.compile(r"\[(?P<index>[0-9]+)\]")


@dataclass(frozen=True)
class FieldPath:
    """A parsed path: its text and its steps (keys, and list indexes as ints)."""

    text: str
    steps: tuple[str | int, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """The path written `text`; ValueError saying where it goes wrong."""
        steps: list[str | int] = []
        at = 0
        while at < len(text):
            if text[at] == "[":
                index = _INDEX.match(text, at)
                if index is None:
                    raise ValueError(f"path {text!r}: expected [n] at character {at + 1}")
                steps.append(int(index["index"]))
                at = index.end()
                continue
            if steps:
                if text[at] != ".":
                    raise ValueError(f"path {text!r}: expected . or [ at character {at + 1}")
                at += 1
            key = _KEY.match(text, at)
            if key is None:
                raise ValueError(f"path {text!r}: expected a key at character {at + 1}")
            steps.append(key["bare"] if key["quoted"] is None else key["quoted"])
            at = key.end()
        if not steps:
            raise ValueError("a path cannot be empty")
        return cls(text, tuple(steps))

    def resolve(self, record: Any) -> Any:
        """The value at this path in `record`, or None when it leads nowhere."""
        value = record
        for step in self.steps:
            if isinstance(step, int):
                found = isinstance(value, list) and step < len(value)
            else:
                found = isinstance(value, dict) and step in value
            if not found:
                return None
            value = value[step]
        return value


def records_of(payload: Any, path: FieldPath | None) -> list[Any]:
    """The records of a payload: the list at `path`; without a path, the payload's items if
    it is an array, else the payload itself. ValueError when there is no such list."""
    if path is None:
        if isinstance(payload, list):
            return payload
        if isinstance(payload, dict):
            return [payload]
        raise ValueError(f"the payload is a JSON {_kind(payload)}, not an object or an array")
    records = path.resolve(payload)
    if records is None:
        raise ValueError(f"records: nothing at {path.text}")
    if not isinstance(records, list):
        raise ValueError(f"records: {path.text} is a JSON {_kind(records)}, not an array")
    return records


class RecordMapper:
    """Turns a record into a mention by a mapping of mention fields to paths.

    `text` may be read from several paths: the present, non-blank ones are joined with " — ".
    Ids (`id`, `in_reply_to`) get `NAME:` in front. The author is given only when `author.id`
    leads somewhere.
    """

    def __init__(
        self,
        name: str,
        fields: Mapping[MentionField, str | Sequence[str]],
        source: str,
        brand: str | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.brand = brand
        self._paths = {
            field: tuple(FieldPath.parse(p) for p in ([paths] if isinstance(paths, str) else paths))
            for field, paths in fields.items()
        }
        self._labels: dict[str, str] = {
            field: f"{field} ({', '.join(path.text for path in paths)})"
            for field, paths in self._paths.items()
        }

    def mention(self, record: Any) -> Mention | Invalid:
        """The record as a mention, or why it cannot be one."""
        if not isinstance(record, dict):
            return Invalid(f"expected a JSON object, got {_kind(record)}")
        values: dict[str, Any] = {"source": self.source, "brand": self.brand}
        author: dict[str, Any] = {}
        for field, paths in self._paths.items():
            value = self._text(paths, record) if field == "text" else paths[0].resolve(record)
            if isinstance(value, Invalid):
                return value
            if value is None:
                continue
            if field in PREFIXED_FIELDS:
                value = self._prefixed(value)
            if field.startswith("author."):
                author[field.removeprefix("author.")] = value
            else:
                values[field] = value
        if "id" in author:
            values["author"] = author
        try:
            return Mention.model_validate(values)
        except ValidationError as error:
            return Invalid(describe_validation_error(error, self._labels))

    def _text(self, paths: tuple[FieldPath, ...], record: dict[str, Any]) -> str | Invalid | None:
        """The present, non-blank parts of the text joined; None when there is none."""
        parts = []
        for path in paths:
            part = path.resolve(record)
            if part is not None and not isinstance(part, str):
                return Invalid(f"text ({path.text}): expected a string, got {_kind(part)}")
            if part and part.strip():
                parts.append(part.strip())
        return TEXT_JOINER.join(parts) or None

    def _prefixed(self, value: Any) -> Any:
        """A string or integer id as `NAME:id`; any other value as it is, for the mention's
        validation to refuse."""
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            return value
        return f"{self.name}:{value}"


def _kind(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
