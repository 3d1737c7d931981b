"""`buzzwatch produce`: a mention file onto a Kafka topic, keyed by brand."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from pipeline.brands import BrandMatcher, assigned
from pipeline.models import Invalid, Mention
from pipeline.records import Rejections

SEND_TIMEOUT_SECONDS = 60.0


@dataclass
class ProduceSummary:
    """What a produce run sent and skipped."""

    sent: int = 0  # records sent: a mention matched to several brands is sent for each
    matched: int = 0  # mentions without a brand that named configured brands
    failed: int = 0
    rejected: Rejections = field(default_factory=Rejections)


def encode(mention: Mention) -> bytes:
    """The canonical JSON form of a mention, as the detector decodes it."""
    return mention.model_dump_json(exclude_none=True).encode()


def send(producer: KafkaProducer, topic: str, mention: Mention) -> Any:
    """Send one mention, keyed by its brand, stamped with its event time; the send's future."""
    key = mention.brand.encode() if mention.brand else None
    stamp = int(mention.created_at.timestamp() * 1000)
    return producer.send(topic, key=key, value=encode(mention), timestamp_ms=stamp)


def produce(
    records: Iterable[tuple[int, Mention | Invalid]],
    producer: KafkaProducer,
    topic: str,
    speed: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    matcher: BrandMatcher | None = None,
) -> ProduceSummary:
    """Send every valid mention; invalid lines are reported, not sent; failed sends counted.

    With a `matcher`, a mention without a brand is sent once for each configured brand its
    text names, keyed by that brand (so each lands in its brand's partition).

    With `speed`, sending is paced by event time: `speed` seconds of event time per second of
    wall time (1 = real time, 60 = an hour a minute). Without it, as fast as possible.
    """
    summary = ProduceSummary()
    first_event: float | None = None
    started = clock()
    for line, record in records:
        if isinstance(record, Invalid):
            summary.rejected.add(line, record.reason)
            continue
        event_time = record.created_at.timestamp()
        if speed:
            first_event = event_time if first_event is None else first_event
            delay = (event_time - first_event) / speed - (clock() - started)
            if delay > 0:
                sleep(delay)
        mentions = assigned(matcher, record)
        if record.brand is None and mentions[0].brand is not None:
            summary.matched += 1
        for mention in mentions:
            send(producer, topic, mention).add_errback(lambda _: _count_failure(summary))
            summary.sent += 1
    producer.flush(timeout=SEND_TIMEOUT_SECONDS)
    return summary


def _count_failure(summary: ProduceSummary) -> None:
    summary.sent -= 1
    summary.failed += 1


def mention_producer(client_options: dict[str, Any]) -> KafkaProducer:
    """A producer that waits for all in-sync replicas and batches for throughput.

    `client_options`: bootstrap servers and security settings (`KafkaSettings.client_options`).
    """
    return KafkaProducer(**client_options, acks="all", linger_ms=20, batch_size=256 * 1024)
