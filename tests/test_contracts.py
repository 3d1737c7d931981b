"""The published JSON Schemas: checked in and fresh, and in agreement with what buzzwatch
reads and writes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pipeline.contracts import json_schemas, schema_text
from pipeline.engine import Engine
from pipeline.models import AlertEvent, Invalid, Mention
from pipeline.records import decode_record, open_input, read_jsonl
from pipeline.replay import replay
from pipeline.synthetic import SAMPLE_PATH
from tests.helpers import buzzwatch

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
CHECKER = Draft202012Validator.FORMAT_CHECKER


def validator(file_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / file_name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=CHECKER)


def test_the_checked_in_schemas_are_the_models_schemas() -> None:
    generated = json_schemas()
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(generated)
    for file_name, schema in generated.items():
        stale = (SCHEMAS / file_name).read_text(encoding="utf-8") != schema_text(schema)
        assert not stale, f"docs/schemas/{file_name} is stale: run `make schemas`"


def test_the_command_prints_and_writes_the_schemas(tmp_path: Path) -> None:
    printed = buzzwatch("schema", "mention").stdout
    assert printed == (SCHEMAS / "mention.schema.json").read_text(encoding="utf-8")
    buzzwatch("schema", "--write", str(tmp_path))
    for file_name in json_schemas():
        assert (tmp_path / file_name).read_bytes() == (SCHEMAS / file_name).read_bytes()


def test_the_shipped_mentions_and_the_alerts_they_raise_follow_the_schemas() -> None:
    mentions, alerts = validator("mention.schema.json"), validator("alert-event.schema.json")
    events: list[AlertEvent] = []
    with open_input(SAMPLE_PATH) as stream:
        sample = stream.read()
    for line in sample.splitlines():
        mentions.validate(json.loads(line))
    summary = replay(read_jsonl(io.BytesIO(sample)), Engine(), events.append)
    assert summary.invalid == 0 and len(events) >= 10
    for event in events:
        alerts.validate(json.loads(event.to_json()))


GOOD: dict[str, Any] = {"id": "m-1", "created_at": "2026-03-04T10:02:13Z", "text": "Bonjour"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"created_at": None}, "created_at"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"text": ""}, "text"),
        ({"author": {"name": "no id"}}, "author.id"),
        ({"author": {"id": "u", "followers": -3}}, "author.followers"),
        ({"schema_version": "2.0"}, "schema_version"),
        ({"schema_version": "1"}, "schema_version"),
    ],
)
def test_a_record_the_schema_refuses_is_refused_with_its_field(
    change: dict[str, Any], field: str
) -> None:
    record = {**GOOD, **change}
    record = {key: value for key, value in record.items() if value is not None}
    assert not validator("mention.schema.json").is_valid(record)
    decoded = decode_record(json.dumps(record).encode())
    assert isinstance(decoded, Invalid)
    assert decoded.reason.startswith(f"{field}: "), decoded.reason


def test_any_minor_version_of_the_major_version_is_read() -> None:
    for version in ("1.0", "1.7", "1.12"):
        record = {**GOOD, "schema_version": version, "a_field_of_a_later_minor": [1, 2]}
        assert validator("mention.schema.json").is_valid(record)
        assert isinstance(decode_record(json.dumps(record).encode()), Mention)
    refused = decode_record(json.dumps({**GOOD, "schema_version": "2.0"}).encode())
    assert isinstance(refused, Invalid)
    assert "'2.0' is not one this buzzwatch reads (1.x" in refused.reason
