"""The webhook mapper without a server: the path grammar and records mapped to mentions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Invalid, Mention
from producers.mapping import FieldPath, MentionField, RecordMapper, records_of

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD: dict[str, Any] = json.loads(
    (ROOT / "tests" / "fixtures" / "webhooks" / "reviews.json").read_text(encoding="utf-8")
)
FIELDS: dict[MentionField, str | list[str]] = {
    "id": "review.id",
    "created_at": "review.createdAt",
    "text": ["review.title", "review.body"],
    "lang": "review.language",
    "brand": "business.name",
    "url": "review.links[0].href",
    "in_reply_to": "review.replyTo",
    "author.id": "consumer.id",
    "author.name": "consumer.displayName",
    "author.followers": "consumer.followers",
}
MAPPER = RecordMapper("reviews", FIELDS, source="reviewsite")
EPOCH = 1772699400  # 2026-03-05T08:30:00Z


def review(**changes: Any) -> dict[str, Any]:
    """The fixture's first review record, its `review` object changed."""
    record: dict[str, Any] = json.loads(json.dumps(PAYLOAD["data"]["reviews"][0]))
    record["review"].update(changes)
    return record


def mapped(record: Any, mapper: RecordMapper = MAPPER) -> Mention:
    mention = mapper.mention(record)
    assert isinstance(mention, Mention), mention
    return mention


def refusal(record: Any) -> str:
    invalid = MAPPER.mention(record)
    assert isinstance(invalid, Invalid), invalid
    return invalid.reason


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("review.id", ("review", "id")),
        ("review.links[0].href", ("review", "links", 0, "href")),
        ("[0].id", (0, "id")),
        ("rows[1][2]", ("rows", 1, 2)),
        ('"meta.data".id', ("meta.data", "id")),
        ('a."b[1]"."0"', ("a", "b[1]", "0")),
        ("Display Name", ("Display Name",)),
    ],
)
def test_a_path_is_dotted_keys_indexes_and_quoted_keys(text: str, steps: tuple[Any, ...]) -> None:
    assert FieldPath.parse(text).steps == steps


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "a path cannot be empty"),
        ("a..b", "expected a key at character 3"),
        ("a.", "expected a key at character 3"),
        (".a", "expected a key at character 1"),
        ("a[x]", "expected [n] at character 2"),
        ("a[-1]", "expected [n] at character 2"),
        ("a[0", "expected [n] at character 2"),
        ('a"b"', "expected . or [ at character 2"),
        ("a]b", "expected . or [ at character 2"),
        ('"open', "expected a key at character 1"),
    ],
)
def test_a_malformed_path_is_refused_with_where(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        FieldPath.parse(text)


def test_a_path_that_leads_nowhere_gives_nothing() -> None:
    record = {"a": {"list": [1, {"b": None}], "0": "zero", "text": "t"}}
    assert FieldPath.parse("a.list[1]").resolve(record) == {"b": None}
    assert FieldPath.parse('a."0"').resolve(record) == "zero"
    for nowhere in ("a.missing", "a.list[2]", "a.list.b", "a[0]", "a.text.b", "a.list[1].b"):
        assert FieldPath.parse(nowhere).resolve(record) is None, nowhere


def test_a_review_becomes_a_mention() -> None:
    mention = mapped(PAYLOAD["data"]["reviews"][0])
    assert mention.id == "reviews:rv-88121"
    assert mention.created_at == datetime(2026, 3, 5, 7, 41, 17, tzinfo=UTC)
    assert mention.text == (
        "Pain brûlé deux fois cette semaine — Deuxième baguette brûlée en trois jours, et la "
        "vendeuse a haussé les épaules. Très déçue."
    )
    assert (mention.lang, mention.brand, mention.source) == (
        "fr",
        "Boulangerie Ferrand",
        "reviewsite",
    )
    assert mention.url == "https://reviews.example/r/rv-88121"
    assert mention.in_reply_to is None
    assert mention.author is not None
    assert (mention.author.id, mention.author.name, mention.author.followers) == (
        "cons-5513",
        "Léa B.",
        12,
    )


def test_text_parts_missing_or_blank_are_left_out() -> None:
    _, title_only, blank, reply = PAYLOAD["data"]["reviews"]
    assert mapped(title_only).text == "Best flat white in the neighbourhood"
    assert refusal(blank) == "text (review.title, review.body): missing"
    answer = mapped(reply)
    assert answer.in_reply_to == "reviews:rv-88121"  # an id of the same source: prefixed
    assert answer.author is not None and answer.author.followers is None
    assert mapped(review(title="  Padded  ", body=None)).text == "Padded"


def test_required_fields_missing_are_named_with_their_paths() -> None:
    assert refusal(review(id=None)) == "id (review.id): missing"
    assert refusal(review(id="")) == "id (review.id): String should have at least 1 character"
    record = review()
    del record["review"]["createdAt"]
    assert refusal(record) == "created_at (review.createdAt): missing"


@pytest.mark.parametrize(
    ("created_at", "moment"),
    [
        (EPOCH, datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),  # seconds
        (EPOCH + 0.25, datetime(2026, 3, 5, 8, 30, 0, 250_000, tzinfo=UTC)),
        (EPOCH * 1000 + 123, datetime(2026, 3, 5, 8, 30, 0, 123_000, tzinfo=UTC)),  # ms
        (str(EPOCH), datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),  # digits in a string too
        ("2026-03-05T09:30:00+01:00", datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),
        ("2026-03-05T08:30:00", datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),  # no offset: UTC
        (20_000_000_000, datetime(2603, 10, 11, 11, 33, 20, tzinfo=UTC)),  # the last seconds
        (20_000_000_001, datetime(1970, 8, 20, 11, 33, 20, 1000, tzinfo=UTC)),  # then ms
    ],
)
def test_created_at_is_iso_8601_or_epoch_seconds_or_milliseconds(
    created_at: Any, moment: datetime
) -> None:
    assert mapped(review(createdAt=created_at)).created_at == moment


def test_epoch_microseconds_and_booleans_are_refused() -> None:
    assert refusal(review(createdAt=EPOCH * 1_000_000)).startswith(
        "created_at (review.createdAt): Input should be a valid datetime, dates after 9999"
    )
    assert refusal(review(createdAt=True)).startswith("created_at (review.createdAt): Input")


def test_wrong_types_are_refused_with_field_and_path() -> None:
    assert refusal(review(body={"html": "<p>hi</p>"})) == (
        "text (review.body): expected a string, got object"
    )
    assert refusal(review(id={"value": 1})) == "id (review.id): Input should be a valid string"
    assert refusal(review(id=True)) == "id (review.id): Input should be a valid string"
    record = review()
    record["consumer"]["followers"] = "lots"
    assert refusal(record).startswith("author.followers (consumer.followers): Input should be")
    assert refusal(["not", "an", "object"]) == "expected a JSON object, got array"


def test_numbers_as_ids_and_an_author_without_an_id() -> None:
    record = review(id=88121, replyTo=7)
    record["consumer"] = {"displayName": "Anonymous"}
    mention = mapped(record)
    assert (mention.id, mention.in_reply_to, mention.author) == ("reviews:88121", "reviews:7", None)


def test_constant_brand_and_source_default_to_the_mapping_s() -> None:
    fields: dict[MentionField, str | list[str]] = {
        "id": "id",
        "created_at": "at",
        "text": "message",
    }
    record = {"id": "f-1", "at": EPOCH, "message": "Ferrand est fermé ?"}
    branded = mapped(record, RecordMapper("forms", fields, "forms", brand="Boulangerie Ferrand"))
    assert (branded.id, branded.source, branded.brand) == (
        "forms:f-1",
        "forms",
        "Boulangerie Ferrand",
    )
    assert mapped(record, RecordMapper("forms", fields, "forms")).brand is None


def test_records_are_found_by_path_or_are_the_payload() -> None:
    reviews = records_of(PAYLOAD, FieldPath.parse("data.reviews"))
    assert [r["review"]["id"] for r in reviews] == ["rv-88121", "rv-88122", "rv-88123", "rv-88124"]
    assert records_of({"id": 1}, None) == [{"id": 1}]
    assert records_of([{"id": 1}, {"id": 2}], None) == [{"id": 1}, {"id": 2}]
    assert records_of([], None) == []
    with pytest.raises(ValueError, match=re.escape("records: nothing at data.items")):
        records_of(PAYLOAD, FieldPath.parse("data.items"))
    with pytest.raises(
        ValueError, match=re.escape("records: data.account is a JSON object, not an array")
    ):
        records_of(PAYLOAD, FieldPath.parse("data.account"))
    with pytest.raises(
        ValueError, match=re.escape("the payload is a JSON string, not an object or an array")
    ):
        records_of("hello", None)
