"""The OpenAPI 3.1 document of `buzzwatch ingest`, built from the mention model.

`docs/openapi.json` is this document, checked in (`buzzwatch ingest --openapi` prints it); a
test fails when it is stale and validates it against the OpenAPI 3.1 specification.
"""

from __future__ import annotations

from typing import Any

from pipeline.models import SCHEMA_VERSION, Mention

_REF = "#/components/schemas/{model}"


def openapi_document() -> dict[str, Any]:
    """The API as OpenAPI 3.1: the mention schema, the endpoints and every answer."""
    mention = Mention.model_json_schema(ref_template=_REF)
    components = mention.pop("$defs", {})
    components["Mention"] = mention
    components["Error"] = _object({"error": {"type": "string"}}, required=["error"])
    components["FieldError"] = _object(
        {
            "index": {"type": "integer", "description": "Place of the mention in the batch."},
            "loc": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": "Path of the field in the mention (`created_at`, `author.id`).",
            },
            "msg": {"type": "string"},
            "type": {"type": "string", "description": "pydantic's error type, or json_invalid."},
        },
        required=["loc", "msg", "type"],
    )
    components["Invalid"] = _object(
        {
            "detail": {"type": "array", "items": {"$ref": _REF.format(model="FieldError")}},
            "errors": {"type": "integer", "description": "All field errors (100 listed)."},
        },
        required=["detail"],
    )
    components["Accepted"] = _object(
        {
            "accepted": {"type": "integer", "description": "Mentions taken."},
            "records": {
                "type": "integer",
                "description": "Records written: one per brand a mention without one names.",
            },
            "matched": {"type": "integer", "description": "Mentions given brands by matching."},
            "unbranded": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "Indexes of the mentions with no brand that name none of the "
                "configured brands: written, and dead-lettered by the detector.",
            },
        },
        required=["accepted", "records", "matched", "unbranded"],
    )
    components["Health"] = _object(
        {"status": {"enum": ["ok", "unavailable"]}, "kafka": {"type": "string"}},
        required=["status", "kafka"],
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "buzzwatch ingest",
            "version": SCHEMA_VERSION,
            "description": "Mentions over HTTP onto the buzzwatch mentions topic. 202 means "
            "Kafka acknowledged every record of the request; a 422 writes nothing; a 503 may "
            "follow a partial write. "
            "Retrying after 429, 503 or a lost answer is safe: a mention id already counted "
            "in its brand's open buckets counts once.",
        },
        "paths": {
            "/v1/mentions": {"post": _post_mentions()},
            "/healthz": {"get": _get("Whether Kafka took the last contact.", "Health", 503)},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text exposition format).",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The metrics.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _post_mentions() -> dict[str, Any]:
    one = {"$ref": _REF.format(model="Mention")}
    answers = {
        "202": ("Every record acknowledged by Kafka (acks=all).", "Accepted"),
        "401": ("No valid bearer token.", "Error"),
        "411": ("No Content-Length.", "Error"),
        "413": ("Body over max_body_bytes, or over max_batch mentions.", "Error"),
        "415": ("Not application/json.", "Error"),
        "422": ("Bad JSON, or invalid mentions: every field error, none taken.", "Invalid"),
        "429": ("Too many mentions wait for Kafka (max_pending): retry after.", "Error"),
        "503": ("Kafka unreachable or did not acknowledge in time: retry after.", "Error"),
    }
    return {
        "summary": "Post one mention or a batch.",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}]}
                }
            },
        },
        "responses": {
            code: {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": _REF.format(model=name)}}},
                **({"headers": _RETRY_AFTER} if code in ("429", "503") else {}),
            }
            for code, (text, name) in answers.items()
        },
    }


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def _get(summary: str, schema: str, other: int) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}}
    return {
        "summary": summary,
        "security": [],
        "responses": {
            "200": {"description": "Yes.", "content": content},
            str(other): {"description": "No.", "content": content},
        },
    }


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}
