"""Data contracts: the mention that producers send and the alert event the engine emits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = "1.1"
"""Version of the mention and alert-event contracts, MAJOR.MINOR (see docs/contracts.md): a
minor version only adds optional fields; a new major version may change or remove fields."""
SCHEMA_MAJOR = SCHEMA_VERSION.split(".")[0]
_VERSION_PATTERN = rf"^{SCHEMA_MAJOR}\.[0-9]+$"
# The event times a mention may carry: epoch-based record timestamps cannot go earlier, and
# every bucket, window and explanation of a later one still fits in a `datetime`.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(3000, 1, 1, tzinfo=UTC)


class Author(BaseModel):
    """Who wrote a mention, as far as the source says."""

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(description="The author's id on the source platform.")
    name: str | None = Field(default=None, description="Display name or handle.")
    followers: int | None = Field(default=None, ge=0, description="Follower count, if known.")
    follows_brand: bool | None = Field(
        default=None,
        description="Whether the author follows the brand's account (since 1.1); they are "
        "answered first.",
    )


class Mention(BaseModel):
    """One post, comment or review that mentions a brand.

    `created_at` is the event time. It must be ISO-8601; a time without a UTC offset is taken
    as UTC. It is stored converted to UTC. Unknown fields are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    schema_version: str = Field(
        default=SCHEMA_VERSION,
        description="Contract version the producer wrote, MAJOR.MINOR; any minor version of "
        "the major version this buzzwatch reads is accepted.",
        json_schema_extra={"pattern": _VERSION_PATTERN},
    )
    id: str = Field(
        min_length=1, description="Unique per source; a repeated id in an open bucket counts once."
    )
    created_at: datetime = Field(
        description="Event time, ISO-8601; a time without a UTC offset is taken as UTC. "
        "In UTC it must fall in 1970-01-01 .. 2999-12-31."
    )
    text: str = Field(min_length=1, description="The post's text; not blank.")
    brand: str | None = Field(
        default=None, description="The brand mentioned; a mention without one is not counted."
    )
    lang: str | None = Field(
        default=None,
        description="BCP 47 language tag (`fr`, `fr-CA`); absent: detected from the text.",
    )
    source: str = Field(default="unknown", description="The platform: twitter, instagram...")
    author: Author | None = None
    url: str | None = Field(default=None, description="Link to the post.")
    in_reply_to: str | None = Field(default=None, description="Id of the post it answers.")
    engagement: int | None = Field(
        default=None,
        ge=0,
        description="Likes, shares and replies the post received, if known (since 1.1).",
    )

    @field_validator("schema_version", mode="after")
    @classmethod
    def _readable_version(cls, value: str) -> str:
        major, _, minor = value.partition(".")
        if major != SCHEMA_MAJOR or not minor.isdigit():
            raise ValueError(
                f"schema version {value!r} is not one this buzzwatch reads "
                f"({SCHEMA_MAJOR}.x, MAJOR.MINOR)"
            )
        return value

    @field_validator("created_at", mode="after")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
            utc = None
        if utc is None or not EARLIEST <= utc < END_OF_TIME:
            raise ValueError(f"{value.isoformat()} is outside 1970-01-01 .. 2999-12-31 UTC")
        return utc

    @field_validator("text", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value

    @field_validator("brand", "lang", mode="after")
    @classmethod
    def _blank_to_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None


InvalidKind = Literal["invalid_json", "invalid_record"]


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record that could not be turned into a mention, with the reason why.

    `kind` is the reason's category, a bounded value for metrics and dead-letter headers:
    `invalid_json` (not UTF-8 JSON) or `invalid_record` (JSON that is not a valid mention).
    """

    reason: str
    kind: InvalidKind = "invalid_record"


AlertKind = Literal["volume", "negative"]
AlertState = Literal["firing", "resolved"]
Severity = Literal["warning", "critical"]


class ExplainedMention(BaseModel):
    """A negative mention shown with an alert: one of the widest-reaching of its window."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    source: str
    lang: str
    author: str | None = Field(description="Author id on the source, if known.")
    author_name: str | None
    followers: int
    engagement: int
    reach: int = Field(description="`followers` plus `engagement`: mentions are ranked by it.")
    compound: float = Field(description="Sentiment, -1 (most negative) to 1.")
    text: str = Field(description="The text, cut to 280 characters.")
    url: str | None


class EmergingTerm(BaseModel):
    """A word or hashtag far more frequent in the alert's window than in the brand's usual talk."""

    model_config = ConfigDict(frozen=True)

    term: str
    mentions: int = Field(
        description="Mentions of the window that use it (estimated from the mentions whose "
        "words were read: every one of a slice of 50 or fewer, 50 of a bigger one)."
    )
    share: float = Field(description="Its share of the window's mentions (estimated likewise).")
    usual_share: float = Field(description="Its share of the brand's mentions read before.")
    z: float = Field(description="Log-odds z-score of the rise (informative Dirichlet prior).")


class AccountShare(BaseModel):
    """One account's part of the window's negative mentions."""

    model_config = ConfigDict(frozen=True)

    author: str
    name: str | None
    source: str
    negatives: int
    followers: int


class Explanation(BaseModel):
    """What a firing alert's recent mentions say: who, where, in what words."""

    model_config = ConfigDict(frozen=True)

    window_start: datetime = Field(description="Start of the mentions explained (UTC).")
    window_end: datetime
    mentions: int
    negatives: int
    top_negative: tuple[ExplainedMention, ...] = Field(description="Widest reach first.")
    emerging_terms: tuple[EmergingTerm, ...] = Field(description="Strongest rise first.")
    sources: dict[str, int] = Field(description="Mentions per source (platform).")
    languages: dict[str, int] = Field(description="Mentions per language.")
    negative_languages: dict[str, int] = Field(description="Negative mentions per language.")
    top_accounts: tuple[AccountShare, ...] = Field(description="Most negative mentions first.")
    author_concentration: float = Field(
        ge=0.0, le=1.0, description="Share of the negatives written by the top few accounts."
    )
    troll_suspected: bool = Field(
        description="A few accounts write most of the negatives: answer with care, do not feed."
    )


class HoldingStatement(BaseModel):
    """A first public answer to post at once: acknowledge, investigating, will update."""

    model_config = ConfigDict(frozen=True)

    lang: str
    text: str


class AlertEvent(BaseModel):
    """A change of state of one alert. `id` is stable from `firing` to `resolved`."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    schema_version: str = Field(
        default=SCHEMA_VERSION,
        description="Contract version, MAJOR.MINOR: a consumer of major version 1 reads any 1.x.",
        json_schema_extra={"pattern": _VERSION_PATTERN},
    )
    id: str = Field(description="Stable from `firing` to `resolved` of one incident.")
    brand: str
    kind: AlertKind = Field(description="`volume`: mentions; `negative`: negative mentions.")
    state: AlertState
    severity: Severity
    at: datetime = Field(description="Event time (UTC) at which this state was reached.")
    started_at: datetime = Field(description="Start of the bucket in which the alert fired.")
    observed: float = Field(description="Count in the window that decided (mentions).")
    expected: float = Field(description="What the baseline expected in that window.")
    window_seconds: int = Field(ge=0, description="Length of that window.")
    score: float = Field(
        ge=0.0, le=1.0, description="Spike score: 0.5 at the firing threshold, 1 critical."
    )
    explanation: Explanation | None = Field(
        default=None, description="On `firing` events (since 1.1): what the mentions say."
    )
    holding_statement: HoldingStatement | None = Field(
        default=None,
        description="On `firing` events (since 1.1): a suggested first answer, in the language "
        "of the negative mentions.",
    )

    def to_json(self) -> str:
        """Serialise as one compact JSON line with `Z` UTC times."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for key in ("at", "started_at"):
            data[key] = iso_utc(getattr(self, key))
        if self.explanation is not None:
            explanation = data["explanation"]
            for key in ("window_start", "window_end"):
                explanation[key] = iso_utc(getattr(self.explanation, key))
            for shown, mention in zip(
                explanation["top_negative"], self.explanation.top_negative, strict=True
            ):
                shown["created_at"] = iso_utc(mention.created_at)
        return data


def iso_utc(moment: datetime) -> str:
    """ISO-8601 with a `Z` suffix, seconds precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_mention(obj: object) -> Mention | Invalid:
    """Validate a decoded JSON object; failures come back as `Invalid` with a readable reason."""
    if not isinstance(obj, dict):
        return Invalid(f"expected a JSON object, got {type(obj).__name__}")
    try:
        return Mention.model_validate(obj)
    except ValidationError as error:
        return Invalid(describe_validation_error(error))


def describe_validation_error(
    error: ValidationError, labels: Mapping[str, str] | None = None
) -> str:
    """First few field errors as `field: message`, joined by `; `; `labels` names fields
    otherwise (`created_at (review.createdAt)`)."""
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "record"
        where = (labels or {}).get(where, where)
        message = "missing" if item["type"] == "missing" else item["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
