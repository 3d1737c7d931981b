from datetime import UTC, datetime

from pipeline.models import Invalid, Mention, parse_mention

BASE = {"id": "m1", "created_at": "2026-03-02T10:00:00Z", "text": "hello", "brand": "acme"}


def test_naive_time_is_taken_as_utc() -> None:
    m = parse_mention({**BASE, "created_at": "2026-03-02T10:00:00"})
    assert isinstance(m, Mention)
    assert m.created_at == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_offset_is_converted_to_utc() -> None:
    m = parse_mention({**BASE, "created_at": "2026-03-02T12:00:00+02:00"})
    assert isinstance(m, Mention)
    assert m.created_at == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_numbers_become_ids_and_author_is_parsed() -> None:
    m = parse_mention({**BASE, "id": 42, "author": {"id": 7, "name": "Zoé", "followers": 120}})
    assert isinstance(m, Mention)
    assert m.id == "42"
    assert m.author is not None and m.author.id == "7" and m.author.followers == 120


def test_failures_are_values_with_a_reason() -> None:
    cases = {
        "text: missing": {k: v for k, v in BASE.items() if k != "text"},
        "text: Value error, text is blank": {**BASE, "text": "   "},
        "created_at:": {**BASE, "created_at": "last tuesday"},
        "author.followers:": {**BASE, "author": {"id": "a", "followers": -3}},
        "expected a JSON object": ["not", "an", "object"],
    }
    for expected, obj in cases.items():
        result = parse_mention(obj)
        assert isinstance(result, Invalid), obj
        assert expected in result.reason


def test_blank_brand_means_absent() -> None:
    m = parse_mention({**BASE, "brand": "  "})
    assert isinstance(m, Mention) and m.brand is None
