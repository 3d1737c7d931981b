"""The published contracts: JSON Schemas of the mention and the alert event, from the models.

The files in `docs/schemas/` are these schemas, checked in; `buzzwatch schema --write DIR`
writes them again and a test fails when they are stale.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from pipeline.models import SCHEMA_VERSION, AlertEvent, Mention

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for each published contract."""
    return {
        "mention.schema.json": _schema(Mention, "validation", "mention"),
        "alert-event.schema.json": _schema(AlertEvent, "serialization", "alert-event"),
    }


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as its checked-in file holds it."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _schema(
    model: type[BaseModel], mode: Literal["validation", "serialization"], name: str
) -> dict[str, Any]:
    """The model's JSON Schema (as read, or as written), identified by name and version."""
    return {
        "$schema": DIALECT,
        "$id": f"urn:buzzwatch:schema:{name}:{SCHEMA_VERSION}",
        **model.model_json_schema(mode=mode),
    }
