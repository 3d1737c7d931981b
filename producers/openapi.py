"""The OpenAPI 3.1 document of `buzzwatch ingest`, built from the mention model.

`docs/openapi.json` is this document, checked in (`buzzwatch ingest --openapi` prints it); a
test fails when it is stale and validates it against the OpenAPI 3.1 specification.
"""

from __future__ import annotations

from typing import Any

from pipeline.models import SCHEMA_VERSION, Mention
from producers.hooks import HOOK_NAME_PATTERN

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
    components["RecordError"] = _object(
        {
            "index": {"type": "integer", "description": "Place of the record in the payload."},
            "reason": {
                "type": "string",
                "description": "Why it maps to no mention: the fields and their paths.",
            },
        },
        required=["index", "reason"],
    )
    invalid_records = {"type": "array", "items": {"$ref": _REF.format(model="RecordError")}}
    accepted = components["Accepted"]
    components["HookAccepted"] = _object(
        {
            **accepted["properties"],
            "duplicates": {
                "type": "integer",
                "description": "Records whose id the hook delivered before: not written again.",
            },
            "invalid": {**invalid_records, "description": "Records that map to no mention."},
        },
        required=[*accepted["required"], "duplicates", "invalid"],
    )
    components["HookRefused"] = _object(
        {"error": {"type": "string"}, "invalid": invalid_records},
        required=["error", "invalid"],
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
            "/v1/hooks/{name}": {"post": _post_hook()},
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
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature-256",
                    "description": "A hook with a secret: the HMAC-SHA256 hex digest of the raw "
                    "body with it (`sha256=` before it or not), in the hook's signature_header "
                    "(X-Signature-256 unless configured).",
                },
            },
        },
        "security": [{"bearer": []}],
    }


_SHARED_ANSWERS = {
    "411": ("No Content-Length.", "Error"),
    "415": ("Not application/json.", "Error"),
    "503": ("Kafka unreachable or did not acknowledge in time: retry after.", "Error"),
}


def _post_mentions() -> dict[str, Any]:
    one = {"$ref": _REF.format(model="Mention")}
    answers = {
        "202": ("Every record acknowledged by Kafka (acks=all).", "Accepted"),
        "401": ("No valid bearer token.", "Error"),
        "413": ("Body over max_body_bytes, or over max_batch mentions.", "Error"),
        "422": ("Bad JSON, or invalid mentions: every field error, none taken.", "Invalid"),
        "429": ("Too many mentions wait for Kafka (max_pending): retry after.", "Error"),
        **_SHARED_ANSWERS,
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
        "responses": _responses(answers),
    }


def _post_hook() -> dict[str, Any]:
    answers = {
        "202": (
            "Every new record acknowledged by Kafka; records delivered before are counted, "
            "not written; records that map to no mention are listed, not written.",
            "HookAccepted",
        ),
        "401": ("No valid signature (a hook with a secret), or no valid bearer token.", "Error"),
        "404": ("No webhook of that name is configured.", "Error"),
        "413": ("Body over max_body_bytes, or over max_batch records.", "Error"),
        "422": ("Bad JSON, no list of records, or no record maps to a mention.", "HookRefused"),
        "429": (
            "Too many mentions wait for Kafka (max_pending), or another delivery to this hook "
            "does for longer than send_timeout_seconds: retry after.",
            "Error",
        ),
        **_SHARED_ANSWERS,
    }
    name = {"type": "string", "pattern": HOOK_NAME_PATTERN}
    return {
        "summary": "Deliver a configured webhook's payload ([webhooks.NAME]).",
        "description": "The records of the payload are mapped to mentions by the hook's field "
        "mapping, their ids prefixed `NAME:`; a record whose id the hook delivered before "
        "is not written again (a retried delivery, also after a restart).",
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": name}],
        "security": [{"signature": []}, {"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
        "responses": _responses(answers),
    }


def _responses(answers: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Each status code's description and JSON schema; Retry-After on 429 and 503."""
    return {
        code: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=name)}}},
            **({"headers": _RETRY_AFTER} if code in ("429", "503") else {}),
        }
        for code, (text, name) in sorted(answers.items())
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
