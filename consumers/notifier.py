"""`buzzwatch notify`: delivers the alert events of the alerts topic to webhooks, once each.

Per polled batch, record by record in offset order: decode the alert event and, for each
configured webhook whose filters it passes, in configuration order, skip it if the delivery
ledger already holds `<webhook>:<alert id>:<state>`, else deliver it (consumers/webhooks.py:
retries with backoff, bounded). After a 2xx a receipt is produced to the compacted
deliveries topic and acknowledged (acks=all) before going on; a permanent failure or an
exhausted retry budget produces the alert record to the dead-letter topic instead (headers
`buzzwatch.reason`, `buzzwatch.webhook`, `buzzwatch.attempts`, `buzzwatch.source`), also
acknowledged. Only then are the handled records' offsets committed (group `group_id`,
auto-commit off).

Deduplication: the ledger is the deliveries topic, read in full whenever partitions are
assigned (so at startup, and after a rebalance that may bring another instance's
receipts). A restart, a rebalance or a duplicate alert event (one re-published by hand, or
by another producer) therefore does not notify a webhook twice, even if offsets were not
committed. The alerts topic is read `read_committed`: the detector publishes in transactions.
Dead-lettered deliveries get no receipt: replaying the dead-letter topic onto the alerts topic
delivers them again.

Residual window: a crash (or a lost broker) after a webhook's 2xx and before its receipt is
acknowledged delivers that event to that webhook again after the restart. Every attempt
carries the same `X-Buzzwatch-Delivery: <alert id>:<state>` header (and the json format the
same `delivery_id`), which receivers use to drop such duplicates, as they do for retries after
a timeout whose request did arrive.

Marketing pause (webhooks of format `marketing_pause`, which are sent critical alerts only):
a firing alert sends `pause`; a resolved one sends `resume` only when no other critical alert
of its brand is still paused by that webhook, and otherwise nothing, with a receipt all the
same (`action` null and the reason in `held`), so that a restart does not decide it again.
Which alerts hold a brand paused is derived from the ledger itself (`DeliveryLedger.paused`:
the `pause` receipts whose alert has no `resolved` receipt), not kept anywhere else: it is
read back with the receipts at startup and after a rebalance, so it survives a restart and
follows the partitions to another instance, and it can never disagree with what was sent. A
`pause` that was dead-lettered holds nothing (its resolution sends nothing); a `resume` that
was dead-lettered keeps the brand paused until it is replayed from the dead-letter topic
(better paused too long than resumed mid-crisis); a firing alert whose resolution is already
receipted (a replay) does not pause. Alert events are keyed by brand, so a brand's events come
in order.

Stopping (`stop` set, e.g. by SIGTERM): the delivery in progress finishes its current attempt
but waits for no retry (it is abandoned, neither receipted nor dead-lettered); the records
handled so far are committed and the rest is left for the next start.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from consumers.settings import KafkaSettings, NotifySettings
from consumers.topics import ensure_topics, read_to_end, topic_config
from consumers.webhooks import Deliverer, Outcome, WebhookSettings, pause_action
from pipeline.models import AlertEvent, describe_validation_error, iso_utc

log = logging.getLogger("buzzwatch.notify")

POLL_TIMEOUT_MS = 500
MAX_POLL_RECORDS = 100
BATCH_SECONDS = 60.0  # stop taking a batch's records after this long; poll again
SEND_TIMEOUT_SECONDS = 30.0
LEDGER_TIMEOUT_SECONDS = 60.0


def receipt_key(webhook: str, event: AlertEvent) -> str:
    """The ledger key of one delivery: `<webhook>:<alert id>:<state>`."""
    return _key(webhook, event.id, event.state)


def _key(webhook: str, alert_id: str, state: str) -> str:
    return f"{webhook}:{alert_id}:{state}"


def ensure_notify_topics(client: dict[str, Any], settings: NotifySettings) -> None:
    """Create the dead-letter topic and the (compacted) deliveries topic if they are missing.

    An existing deliveries topic that is not compacted is used, with a warning: its receipts
    are then subject to time-based retention.
    """
    compacted = {"num_partitions": 1, "configs": {"cleanup.policy": "compact"}}
    ensure_topics(client, {settings.dead_letter_topic: {}, settings.deliveries_topic: compacted})
    policy = topic_config(client, settings.deliveries_topic, "cleanup.policy")
    if "compact" not in policy:
        log.warning(
            "deliveries topic %s has cleanup.policy=%s, not compact: receipts may expire",
            settings.deliveries_topic,
            policy,
        )


class DeliveryLedger:
    """The deliveries already made, as the set of keys of the compacted deliveries topic, and
    the marketing pauses their receipts leave open (`paused`)."""

    def __init__(self, client: dict[str, Any], topic: str, producer: KafkaProducer) -> None:
        self.client = client
        self.topic = topic
        self._producer = producer
        self._keys: set[str] = set()
        self._paused: dict[tuple[str, str], set[str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def paused(self, webhook: str, brand: str) -> frozenset[str]:
        """Ids of the brand's alerts whose `pause` reached this `marketing_pause` webhook and
        whose resolution it has not handled yet."""
        return frozenset(self._paused.get((webhook, brand), ()))

    def load(self, timeout_seconds: float = LEDGER_TIMEOUT_SECONDS) -> None:
        """Read the topic from its beginning to its current end (bounded in time)."""
        latest: dict[str, bytes] = {}
        for record in read_to_end(self.client, self.topic, timeout_seconds=timeout_seconds):
            key = (record.key or b"").decode("utf-8", "replace")
            if record.value is None:  # tombstone
                latest.pop(key, None)
            else:
                latest[key] = record.value
        self._keys = set(latest)
        self._paused = {}
        for value in latest.values():
            self._note(_decoded(value))
        log.info("delivery ledger %s: %d receipts", self.topic, len(latest))

    def record(self, key: str, receipt: dict[str, Any]) -> None:
        """Produce a receipt and wait for its acknowledgement (acks=all)."""
        value = json.dumps(receipt, ensure_ascii=False, separators=(",", ":")).encode()
        future = self._producer.send(self.topic, key=key.encode(), value=value)
        self._producer.flush(timeout=SEND_TIMEOUT_SECONDS)
        future.get(timeout=SEND_TIMEOUT_SECONDS)
        self._keys.add(key)
        self._note(receipt)

    def _note(self, receipt: dict[str, Any]) -> None:
        """Open or close a marketing pause by a `marketing_pause` receipt (one with `action`).

        Order-free: a `pause` whose alert's `resolved` receipt is known opens nothing.
        """
        if "action" not in receipt:
            return
        webhook, alert = receipt["webhook"], receipt["alert_id"]
        paused = self._paused.setdefault((webhook, receipt["brand"]), set())
        if receipt["state"] == "resolved":
            paused.discard(alert)
        elif receipt["action"] == "pause" and _key(webhook, alert, "resolved") not in self:
            paused.add(alert)


def _decoded(value: bytes) -> dict[str, Any]:
    """A receipt's JSON object; empty if it is not one (a receipt written by other means)."""
    try:
        receipt = json.loads(value)
    except ValueError:
        return {}
    return receipt if isinstance(receipt, dict) else {}


def marketing_hold(ledger: DeliveryLedger, webhook: str, event: AlertEvent) -> str | None:
    """Why a `marketing_pause` webhook is sent nothing for this event; None: send it.

    A firing alert pauses, unless its resolution was handled already (a replayed firing must not
    pause for good); a resolution resumes only the brand's last critical alert paused.
    """
    if event.state == "firing":
        resolved = _key(webhook, event.id, "resolved") in ledger
        return "the alert has resolved already" if resolved else None
    paused = ledger.paused(webhook, event.brand)
    if event.id not in paused:
        return "its pause was not delivered"
    others = sorted(paused - {event.id})
    return f"still paused by {', '.join(others)}" if others else None


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes that partitions were assigned: the ledger must be read again."""

    def __init__(self) -> None:
        self.stale = True

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        pass

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self.stale = True


class Notifier:
    """Consumes alert events and delivers each to every webhook it is meant for, once."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: NotifySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        self._clock = clock
        self._rng = rng

    def max_poll_interval_ms(self) -> int:
        """Longest time between polls: the batch budget plus one record's worst case."""
        s = self.settings
        per_delivery = s.max_delivery_seconds + 2 * s.timeout_seconds + 2 * SEND_TIMEOUT_SECONDS
        worst = BATCH_SECONDS + len(s.webhooks) * per_delivery + 60.0
        return max(300_000, int(worst * 1000))

    def run(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set, then commit what was handled and close."""
        client = self.kafka.client_options()
        ensure_notify_topics(client, self.settings)
        deliverer = Deliverer(self.settings, wait=stop.wait, clock=self._clock, rng=self._rng)
        producer = KafkaProducer(**client, acks="all")
        try:
            consumer = KafkaConsumer(
                **client,
                group_id=self.settings.group_id,
                isolation_level="read_committed",  # the detector publishes in transactions
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=MAX_POLL_RECORDS,
                max_poll_interval_ms=self.max_poll_interval_ms(),
            )
            try:
                ledger = DeliveryLedger(client, self.settings.deliveries_topic, producer)
                run = _Run(self.settings, consumer, producer, ledger, deliverer, stop)
                run.loop(self.kafka.alerts_topic)
            finally:
                consumer.close(autocommit=False)
        finally:
            producer.close(timeout=SEND_TIMEOUT_SECONDS)


@dataclass(frozen=True, slots=True)
class _Run:
    """What one `Notifier.run` opened, and the event that stops it."""

    settings: NotifySettings
    consumer: KafkaConsumer
    producer: KafkaProducer
    ledger: DeliveryLedger
    deliverer: Deliverer
    stop: threading.Event

    def loop(self, topic: str) -> None:
        assignments = _Assignments()
        self.consumer.subscribe([topic], listener=assignments)
        names = ", ".join(webhook.name for webhook in self.settings.webhooks)
        log.info("notifying %s from %s", names, topic)
        while not self.stop.is_set():
            batch = self.consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
            if assignments.stale:  # (re)read after an assignment, before its records
                self.ledger.load()
                assignments.stale = False
            if batch:
                self._process(batch)

    def _process(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Handle a batch's records in order, then commit the handled ones.

        Records left unhandled (stop requested, delivery abandoned, batch time budget spent)
        are not committed; the consumer is moved back to them for the next poll.
        """
        started = time.monotonic()
        records = [(tp, record) for tp, rows in batch.items() for record in rows]
        done: dict[TopicPartition, int] = {}
        handled = 0
        for tp, record in records:
            if self.stop.is_set() or (handled and time.monotonic() - started > BATCH_SECONDS):
                break
            if not self._handle(record):
                break
            done[tp] = record.offset + 1
            handled += 1
        rewind: dict[TopicPartition, int] = {}
        for tp, record in records[handled:]:
            rewind.setdefault(tp, record.offset)
        for tp, offset in rewind.items():
            self.consumer.seek(tp, offset)
        if not done:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in done.items()}
        try:
            self.consumer.commit(offsets)
        except CommitFailedError as error:
            # The group rebalanced while we delivered: the new owner re-reads these records
            # and the delivery ledger keeps it from notifying them again.
            log.warning("commit failed after a rebalance: %s", error)

    def _handle(self, record: Any) -> bool:
        """Deliver one alert record to its webhooks; False if a delivery was abandoned."""
        try:
            event = AlertEvent.model_validate_json(record.value or b"")
        except ValidationError as error:
            reason = f"invalid alert event: {describe_validation_error(error)}"
            self._dead_letter(record, reason, None, 0)
            return True
        return all(
            self._notify(webhook, event, record)
            for webhook in self.settings.webhooks
            if webhook.wants(event)
        )

    def _notify(self, webhook: WebhookSettings, event: AlertEvent, record: Any) -> bool:
        """Deliver the event to one webhook unless it is done or held; False if abandoned."""
        key = receipt_key(webhook.name, event)
        if key in self.ledger:
            log.info("webhook %s: %s %s already handled", webhook.name, event.id, event.state)
            return True
        if webhook.format == "marketing_pause" and _held(self.ledger, webhook, event, key):
            return True
        outcome = self.deliverer.deliver(webhook, event)
        if outcome.abandoned:
            log.info(
                "webhook %s: %s %s abandoned: %s",
                webhook.name,
                event.id,
                event.state,
                outcome.reason,
            )
            return False
        if outcome.delivered:
            self.ledger.record(key, _receipt(webhook, event, outcome))
            log.info(
                "webhook %s: %s %s %s %s delivered (HTTP %s, %d attempts)",
                webhook.name,
                event.brand,
                event.kind,
                event.state,
                event.id,
                outcome.status,
                outcome.attempts,
            )
        else:
            self._dead_letter(record, outcome.reason, webhook, outcome.attempts)
        return True

    def _dead_letter(
        self, record: Any, reason: str, webhook: WebhookSettings | None, attempts: int
    ) -> None:
        """Produce the alert record to the dead-letter topic and wait for the acknowledgement."""
        headers = [
            ("buzzwatch.reason", reason.encode()),
            ("buzzwatch.attempts", str(attempts).encode()),
            ("buzzwatch.source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        if webhook is not None:
            headers.append(("buzzwatch.webhook", webhook.name.encode()))
        producer = self.producer
        future = producer.send(
            self.settings.dead_letter_topic, key=record.key, value=record.value, headers=headers
        )
        producer.flush(timeout=SEND_TIMEOUT_SECONDS)
        future.get(timeout=SEND_TIMEOUT_SECONDS)
        name = webhook.name if webhook is not None else "-"
        log.warning(
            "dead letter %s/%s (webhook %s): %s", record.partition, record.offset, name, reason
        )


def _held(ledger: DeliveryLedger, webhook: WebhookSettings, event: AlertEvent, key: str) -> bool:
    """Whether `marketing_hold` holds the event back; if so its receipt is recorded."""
    reason = marketing_hold(ledger, webhook.name, event)
    if reason is None:
        return False
    ledger.record(key, _receipt(webhook, event, None, reason))
    log.info(
        "webhook %s: %s %s %s: nothing sent, %s",
        webhook.name,
        event.brand,
        event.id,
        event.state,
        reason,
    )
    return True


def _receipt(
    webhook: WebhookSettings, event: AlertEvent, outcome: Outcome | None, held: str = ""
) -> dict[str, Any]:
    """A handled event's ledger value: its delivery, or (`outcome` None) why it was `held`.

    A `marketing_pause` webhook's receipt also has `action`: `pause`, `resume`, or null when
    nothing was sent.
    """
    receipt: dict[str, Any] = {
        "webhook": webhook.name,
        "alert_id": event.id,
        "state": event.state,
        "brand": event.brand,
        "kind": event.kind,
    }
    now = iso_utc(datetime.now(UTC))
    if outcome is None:
        receipt.update(held=held, held_at=now)
    else:
        receipt.update(status=outcome.status, attempts=outcome.attempts, delivered_at=now)
    if webhook.format == "marketing_pause":
        receipt["action"] = None if outcome is None else pause_action(event)
    return receipt
