"""Mentions onto the mentions topic, waiting for the brokers' acknowledgement.

The producer is created in the background (again and again until Kafka answers), so a
service using the sink starts, and answers, while Kafka is down; once created, it reconnects
by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from pipeline.models import Invalid, Mention, iso_utc
from producers.file_producer import send

log = logging.getLogger(__name__)
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 30.0
# Kafka refuses a record stamped more than log.message.timestamp.after.max.ms (one hour by
# default) ahead of the broker's clock; a few minutes of margin for the clocks' skew.
MAX_AHEAD = timedelta(minutes=55)


class _Settler:
    """Settles asyncio futures of `loop` as kafka-python's complete on the producer's I/O
    thread, with one wake-up of the loop per burst (the producer completes a batch's records
    together) instead of a write to its self-pipe per record."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[asyncio.Future[Any], Any]] = []  # (future, value or error)

    def awaitable(self, future: Any) -> asyncio.Future[Any]:
        """An asyncio future settled as kafka-python's `future` is."""
        done: asyncio.Future[Any] = self.loop.create_future()
        future.add_both(self._add, done)
        return done

    def _add(self, done: asyncio.Future[Any], outcome: Any) -> None:
        with self._lock:
            self._ready.append((done, outcome))
            if len(self._ready) > 1:
                return  # a wake-up is on its way
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for done, outcome in ready:
            if done.done():
                continue
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)


def in_time(record: Mention | Invalid, now: datetime | None = None) -> Mention | Invalid:
    """The record, or `Invalid` when it is a mention whose `created_at` is so far ahead of
    this clock that Kafka would refuse it (and, with an idempotent producer, the records
    after it)."""
    limit = (now or datetime.now(UTC)) + MAX_AHEAD
    if isinstance(record, Invalid) or record.created_at <= limit:
        return record
    return Invalid(
        f"created_at {iso_utc(record.created_at)} is more than an hour ahead of this "
        f"server's clock ({iso_utc(limit - MAX_AHEAD)}): Kafka would refuse it"
    )


class KafkaUnavailable(Exception):
    """The mentions could not be handed to Kafka (not connected, or no acknowledgement)."""


class MentionSink:
    """Sends mentions keyed by brand and returns once every one is acknowledged (acks=all).

    `connected` is what the sink last saw: False until the producer is created, and after a
    send that failed, until one succeeds.
    """

    def __init__(self, client_options: dict[str, Any], topic: str, send_timeout: float) -> None:
        self.topic = topic
        self.send_timeout = send_timeout
        self._options = {
            **client_options,
            "acks": "all",
            "linger_ms": 5,
            "bootstrap_timeout_ms": 5000,
            "max_block_ms": int(send_timeout * 1000),
            "request_timeout_ms": max(1000, int(send_timeout * 500)),
            "delivery_timeout_ms": int(send_timeout * 1000),
        }
        self._producer: KafkaProducer | None = None
        self._settler: _Settler | None = None  # for the event loop `delivered` runs on
        self._problem = "connecting to Kafka"
        self._stop = threading.Event()
        self._connector = threading.Thread(target=self._connect, name="kafka-connect", daemon=True)

    def start(self) -> None:
        self._connector.start()

    @property
    def connected(self) -> bool:
        return self._producer is not None and not self._problem

    @property
    def problem(self) -> str:
        """Why the sink is not connected ("" when it is)."""
        return self._problem

    def wait_connected(self, stop: threading.Event, timeout: float) -> bool:
        """Wait until the producer exists (or `stop`, or `timeout` seconds); whether it does."""
        deadline = time.monotonic() + timeout
        while self._producer is None and time.monotonic() < deadline:
            if stop.wait(0.1):
                break
        return self._producer is not None

    def send(self, mentions: Sequence[Mention]) -> None:
        """Send and wait for every acknowledgement; KafkaUnavailable if any is missing."""
        deadline = time.monotonic() + self.send_timeout
        futures = self._submit(mentions)
        try:
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as error:
            raise self._failed(str(error)) from error
        self._problem = ""

    async def delivered(self, mentions: Sequence[Mention]) -> None:
        """`send` for an event loop: the wait for the acknowledgements holds no thread (the
        producer's I/O thread completes them)."""
        futures = self._submit(mentions)
        loop = asyncio.get_running_loop()
        if self._settler is None or self._settler.loop is not loop:
            self._settler = _Settler(loop)
        settler = self._settler
        try:
            async with asyncio.timeout(self.send_timeout):
                waits = [settler.awaitable(future) for future in futures]
                await (waits[0] if len(waits) == 1 else asyncio.gather(*waits))
        except TimeoutError:
            raise self._failed(f"no acknowledgement within {self.send_timeout:g} s") from None
        except KafkaError as error:
            raise self._failed(str(error)) from error
        self._problem = ""

    def _submit(self, mentions: Sequence[Mention]) -> list[Any]:
        """Hand the mentions to the producer: their futures. It does not block once the
        topic's partitions are known (`_connect` waits for them)."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable(self._problem)
        try:
            return [send(producer, self.topic, mention) for mention in mentions]
        except KafkaError as error:
            raise self._failed(str(error)) from error

    def _failed(self, why: str) -> KafkaUnavailable:
        self._problem = f"Kafka did not acknowledge: {why}"
        return KafkaUnavailable(self._problem)

    def close(self) -> None:
        """Stop connecting; flush and close the producer (bounded by the send timeout)."""
        self._stop.set()
        self._connector.join(timeout=self.send_timeout)
        if self._producer is not None:
            self._producer.close(timeout=self.send_timeout)

    def _connect(self) -> None:
        wait = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            try:
                producer = KafkaProducer(**self._options)
            except KafkaError as error:
                self._problem = f"cannot reach Kafka: {error}"
                log.warning("%s; trying again in %.0f s", self._problem, wait)
                self._stop.wait(wait)
                wait = min(wait * 2, LAST_RETRY_SECONDS)
                continue
            if self._stop.is_set():
                producer.close(timeout=0)
                return
            with contextlib.suppress(KafkaError):  # the first sends then need not wait for it
                producer.partitions_for(self.topic)
            self._producer, self._problem = producer, ""
            log.info("connected to Kafka, sending to %s", self.topic)
            return
