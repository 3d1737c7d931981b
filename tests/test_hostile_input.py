"""Hostile input against the decoder, the scorer and the engine: nothing crashes or stalls,
every record is accounted for, and each documented rule holds."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.engine import Admission, Engine
from pipeline.models import Invalid, Mention
from pipeline.records import decode_record
from pipeline.sentiment import SentimentRouter, scoring_window
from pipeline.settings import DetectionSettings
from tests.helpers import T0, mention

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SLOW = settings(FUZZ, max_examples=100)  # each example scores texts or steps through days

# JSON values of any shape, and mention-like objects with fields of any type
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
mention_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "created_at": st.one_of(
            json_values,
            st.datetimes(timezones=st.none() | offsets).map(lambda d: d.isoformat()),
        ),
        "text": json_values,
        "brand": json_values,
        "lang": json_values,
        "source": json_values,
    },
)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_decode_to_a_mention_or_an_invalid_with_a_reason(raw: bytes) -> None:
    decoded = decode_record(raw)
    assert isinstance(decoded, Mention) or (isinstance(decoded, Invalid) and decoded.reason)


@FUZZ
@given(mention_like)
def test_any_json_object_decodes_or_says_why(obj: dict[str, object]) -> None:
    decoded = decode_record(json.dumps(obj))
    if isinstance(decoded, Invalid):
        assert decoded.reason and decoded.kind == "invalid_record"


@FUZZ_SLOW
@given(st.text(max_size=3000))
def test_any_text_is_scored_within_vader_bounds(text: str) -> None:
    polarity = SentimentRouter().polarity(text)
    assert -1.0 <= polarity.compound <= 1.0


def test_scoring_time_stays_bounded_on_floods() -> None:
    """VADER is quadratic in emoji: 5,000 of them took 7 s. Each 1 MB flood is now cheap."""
    router = SentimentRouter()
    router.polarity("warm up")
    floods = ["😀" * 1_000_000, "😀 " * 500_000, "😡 awful!!! " * 100_000, "bad " * 250_000]
    for flood in floods:
        started = time.perf_counter()
        router.polarity(flood)
        router.polarity(flood, "fr")
        # generous: the window is at most 300 units (about 30 ms here); unbounded was minutes
        assert time.perf_counter() - started < 2.0


def test_the_scoring_window_keeps_a_tweet_whole() -> None:
    tweet = "Worst. Service. Ever. 😡😡😡 @acme you lost a customer #fail " * 4
    assert scoring_window(tweet, 5000, 300) == tweet
    assert len(scoring_window("😀" * 1000, 5000, 300)) == 300
    assert scoring_window("word " * 1000, 5000, 300).count("word") == 300


def _run(mentions: list[Mention], engine: Engine) -> list[Admission]:
    """As `replay` and `detect` do: only accepted mentions move the watermark."""
    admissions = []
    for m in mentions:
        admissions.append(engine.add(m).admission)
        if admissions[-1] is Admission.ACCEPTED:
            lateness = engine.settings.allowed_lateness_seconds
            engine.advance(int(m.created_at.timestamp()) - lateness)
    return admissions


def test_a_resent_mention_is_counted_once() -> None:
    engine = Engine()
    first = mention(10, "hello")
    again = first.model_copy(update={"text": "hello (edited)"})
    assert _run([first, again], engine) == [Admission.ACCEPTED, Admission.DUPLICATE]
    # once its bucket is closed, a re-sent copy is late: still counted once
    later = mention(30, "later")
    assert _run([later, first], engine) == [Admission.ACCEPTED, Admission.LATE]
    assert engine.counts["accepted"] == 2


def test_a_mention_dated_far_ahead_is_dropped_and_does_not_move_time() -> None:
    engine = Engine()
    future = mention(0, "from 2036").model_copy(
        update={"created_at": T0 + timedelta(days=3650), "id": "future"}
    )
    admissions = _run([mention(0, "now"), future, mention(5, "still counted")], engine)
    assert admissions == [Admission.ACCEPTED, Admission.AHEAD, Admission.ACCEPTED]
    assert admissions[1].rejected


def test_after_an_outage_longer_than_max_ahead_time_goes_on_once_two_mentions_agree() -> None:
    engine = Engine(DetectionSettings(max_ahead_hours=24))
    gap = 30 * 60  # minutes: everything stopped for 30 hours
    after = [mention(gap + i, "back", brand="acme") for i in range(3)]
    admissions = _run([mention(0, "before"), *after, mention(gap + 5, "later")], engine)
    assert admissions == [Admission.ACCEPTED, Admission.AHEAD, *[Admission.ACCEPTED] * 3]


def test_a_flood_of_unknown_brands_stays_within_the_brand_limit() -> None:
    engine = Engine(DetectionSettings(max_brands=50))
    flood = [mention(i / 100, "spam", brand=f"brand-{i}") for i in range(5000)]
    admissions = _run(flood, engine)
    assert len(engine.brands) == 50
    assert admissions.count(Admission.BRAND_LIMIT) == 4950


@FUZZ_SLOW
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-3 * 86_400, max_value=40 * 86_400),  # seconds from T0
            st.sampled_from(["acme", "globex", None, "😀" * 50, "x" * 300]),
            st.text(max_size=200),
            st.integers(min_value=0, max_value=30),  # ids repeat
        ),
        max_size=60,
    )
)
def test_the_engine_accounts_for_every_mention_and_never_raises(
    rows: list[tuple[int, str | None, str, int]],
) -> None:
    engine = Engine(DetectionSettings(max_brands=3, warmup_hours=0))
    mentions = [
        Mention(
            id=f"m{ident}",
            created_at=T0 + timedelta(seconds=offset),
            text=text.strip() or "-",
            brand=brand,
        )
        for offset, brand, text, ident in rows
    ]
    admissions = _run(mentions, engine)
    assert sum(engine.counts[a.value] for a in Admission) == len(mentions)
    assert len(engine.brands) <= 3
    restored = Engine.restore(json.loads(json.dumps(engine.snapshot())))
    assert restored.snapshot() == engine.snapshot()
    assert len(admissions) == len(mentions)


@pytest.mark.parametrize(
    "created_at",
    ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "1969-12-31T23:59:59Z"],
)
def test_a_time_outside_the_range_of_event_times_is_invalid_with_a_reason(created_at: str) -> None:
    record = {"id": "1", "created_at": created_at, "text": "hello", "brand": "acme"}
    decoded = decode_record(json.dumps(record))
    assert isinstance(decoded, Invalid) and decoded.kind == "invalid_record"
    assert decoded.reason.startswith("created_at:") and "1970-01-01 .. 2999-12-31" in decoded.reason


def test_timestamps_at_the_edges_of_time_are_handled() -> None:
    engine = Engine()
    edges = [T0, datetime(9999, 12, 30, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)]
    mentions = [mention(0, "x").model_copy(update={"created_at": d, "id": str(d)}) for d in edges]
    assert _run(mentions, engine) == [Admission.ACCEPTED, Admission.AHEAD, Admission.LATE]
