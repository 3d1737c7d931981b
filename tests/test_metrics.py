from datetime import UTC, datetime

from prometheus_client import generate_latest

from consumers.metrics import OTHER, BoundedLabel, DetectorMetrics
from consumers.settings import MetricsSettings
from pipeline.engine import Engine
from pipeline.models import AlertEvent
from tests.helpers import ANGRY_TEXT, HAPPY_TEXT, mention


def test_bounded_label_caps_the_values_it_lets_through() -> None:
    first_two = BoundedLabel((), cap=2)
    assert [first_two(v) for v in ["a", "b", "c", "a", "d", "b"]] == [
        "a",
        "b",
        OTHER,
        "a",
        OTHER,
        "b",
    ]
    configured = BoundedLabel(["Skyvale"], cap=2)
    assert [configured(v) for v in ["Skyvale", "a", "b"]] == ["Skyvale", OTHER, OTHER]


def test_a_brand_flood_keeps_the_exposition_bounded() -> None:
    metrics = DetectorMetrics(MetricsSettings(max_brands=3))
    engine = Engine(on_bucket=metrics.record_bucket)
    for i in range(500):
        metrics.record_mention(engine.add(mention(i / 10, "hello", brand=f"brand-{i}")))
    engine.advance(int(mention(60).created_at.timestamp()))
    text = generate_latest(metrics.registry).decode()
    brands = {
        line.split('brand="')[1].split('"')[0] for line in text.splitlines() if 'brand="' in line
    }
    assert brands == {"brand-0", "brand-1", "brand-2", OTHER}


def test_mentions_are_counted_by_sentiment_and_source() -> None:
    metrics = DetectorMetrics()
    engine = Engine()
    for text in (ANGRY_TEXT, HAPPY_TEXT, "the shop opens at nine"):
        metrics.record_mention(engine.add(mention(0, text, source="mastodon")))
    text = generate_latest(metrics.registry).decode()
    for sentiment in ("negative", "positive", "neutral"):
        labels = f'brand="acme",sentiment="{sentiment}",source="mastodon"'
        assert f"buzzwatch_mentions_total{{{labels}}} 1.0" in text
    assert 'buzzwatch_source_last_seen_timestamp_seconds{source="mastodon"}' in text


def test_brands_folded_into_other_keep_their_alerts_apart() -> None:
    metrics = DetectorMetrics(MetricsSettings(brands=("Skyvale",)))

    def event(brand: str, state: str) -> AlertEvent:
        at = datetime(2026, 3, 2, tzinfo=UTC)
        return AlertEvent(
            id=brand, brand=brand, kind="negative", state=state, severity="warning", at=at,
            started_at=at, observed=9, expected=1, window_seconds=300, score=0.6,
        )  # fmt: skip

    def active() -> float | None:
        labels = {"brand": OTHER, "kind": "negative", "severity": "warning"}
        return metrics.registry.get_sample_value("buzzwatch_alerts_active", labels)

    metrics.record_alert(event("a", "firing"))
    metrics.record_alert(event("b", "firing"))
    metrics.record_alert(event("a", "resolved"))
    assert active() == 1.0  # b still fires
    metrics.record_alert(event("b", "resolved"))
    assert active() == 0.0
