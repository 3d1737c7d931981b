"""`buzzwatch notify`: webhook payloads, signatures, retries, dead letters, exactly-once
notification across restarts and the marketing pause, against a real HTTP receiver and the
real Kafka test broker."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource
from pydantic import ValidationError

import consumers.notifier
from consumers.notifier import Notifier, receipt_key
from consumers.settings import KafkaSettings, NotifySettings, notify_settings
from consumers.webhooks import (
    Deliverer,
    DeliverySettings,
    WebhookSettings,
    backoff_delay,
    parse_retry_after,
    slack_message,
    verify_signature,
)
from pipeline.models import (
    AlertEvent,
    AlertKind,
    AlertState,
    EmergingTerm,
    ExplainedMention,
    Explanation,
    HoldingStatement,
    Severity,
)
from tests.broker.kafka_broker import create_topic
from tests.helpers import T0
from tests.servers import Received, Receiver, Reply, receiving

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "buzzwatch.example.toml"
SECRET = "s3cret-for-tests"
WAIT_SECONDS = 20.0  # upper bound of every wait for the notifier
KAFKA_TIMEOUT_MS = 30_000


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


# --- builders -------------------------------------------------------------------------------


def alert(
    n: int,
    state: AlertState = "firing",
    *,
    brand: str = "acme",
    kind: AlertKind = "negative",
    severity: Severity = "critical",
) -> AlertEvent:
    """Alert `a<n>` of `brand`, started 13 h + 5n min after T0."""
    started = T0 + timedelta(hours=13, minutes=5 * n)
    at = started + (timedelta(minutes=45) if state == "resolved" else timedelta(minutes=5))
    return AlertEvent(
        id=f"a{n}",
        brand=brand,
        kind=kind,
        state=state,
        severity=severity,
        at=at,
        started_at=started,
        observed=42.0 if state == "firing" else 3.0,
        expected=3.5,
        window_seconds=900,
        score=0.97 if state == "firing" else 0.1,
    )


def json_hook(name: str, url: str, **extra: Any) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"name": name, "url": url, "format": "json", "secret": SECRET, **extra}
    )


def pause_hook(name: str, url: str, **extra: Any) -> WebhookSettings:
    return json_hook(name, url, format="marketing_pause", **extra)


def slack_hook(name: str, url: str, **extra: Any) -> WebhookSettings:
    return WebhookSettings.model_validate({"name": name, "url": url, "format": "slack", **extra})


def hmac_hex(timestamp: str, body: bytes) -> str:
    """The signature computed independently of consumers.webhooks."""
    return hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def assert_signed(request: Received) -> None:
    timestamp = request.headers["x-buzzwatch-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert request.headers["x-buzzwatch-signature"] == f"sha256={hmac_hex(timestamp, request.body)}"


class FakeClock:
    """A monotonic clock that only moves when the deliverer waits; records the waits."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.stop_after = stop_after

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return self.stop_after is not None and len(self.waits) >= self.stop_after


def deliverer(clock: FakeClock, **settings: Any) -> Deliverer:
    return Deliverer(
        DeliverySettings(**settings), wait=clock.wait, clock=clock, rng=random.Random(7)
    )


# --- payloads and signatures ----------------------------------------------------------------


def test_json_webhook_body_is_the_event_signed_over_timestamp_and_body(
    receiver: Receiver,
) -> None:
    event = alert(1)
    outcome = deliverer(FakeClock()).deliver(json_hook("j", receiver.url("/j")), event)
    assert outcome.delivered and outcome.attempts == 1 and outcome.status == 200
    [request] = receiver.at("/j")
    assert request.headers["content-type"] == "application/json"
    assert request.delivery == "a1:firing"
    assert request.json() == {**event.to_dict(), "delivery_id": "a1:firing"}
    assert_signed(request)
    timestamp = request.headers["x-buzzwatch-timestamp"]
    signed = request.headers["x-buzzwatch-signature"]
    assert verify_signature(SECRET.encode(), timestamp, request.body, signed)
    assert not verify_signature(SECRET.encode(), timestamp, request.body + b" ", signed)
    assert not verify_signature(b"other secret", timestamp, request.body, signed)
    assert not verify_signature(SECRET.encode(), timestamp, request.body, "sha256=é")
    later = int(timestamp) + 3600
    assert not verify_signature(SECRET.encode(), timestamp, request.body, signed, now=later)


def test_slack_message_tells_brand_kind_state_counts_and_start(receiver: Receiver) -> None:
    firing = alert(1, brand="Café <Lyon> & Co")
    message = slack_message(firing)
    text = message["text"]
    for part in ("Café <Lyon> & Co", "negative", "firing", "critical", "42 negative mentions"):
        assert part in text
    assert "15 min" in text and "3.5 expected" in text and "12.0× normal" in text
    assert "score 0.97" in text and "2026-03-02T13:05:00Z" in text
    assert message["blocks"][0]["type"] == "header"
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in message["blocks"][2]["fields"]
    }
    assert fields["*Brand*"] == "Café &lt;Lyon&gt; &amp; Co"  # escaped for mrkdwn
    assert fields["*State*"] == "firing" and fields["*Severity*"] == "critical"
    assert fields["*Started at*"] == "2026-03-02T13:05:00Z"

    resolved = slack_message(alert(1, "resolved"))
    assert "resolved" in resolved["text"] and "firing" not in resolved["text"]
    assert "was critical" in resolved["text"]

    outcome = deliverer(FakeClock()).deliver(slack_hook("s", receiver.url("/s")), firing)
    assert outcome.delivered
    [request] = receiver.at("/s")
    assert request.json() == message
    assert request.delivery == "a1:firing"
    assert "x-buzzwatch-signature" not in request.headers


def test_slack_message_carries_the_explanation_and_the_holding_statement() -> None:
    shown = ExplainedMention(
        id="m1",
        created_at=T0,
        source="twitter",
        lang="fr",
        author="u1",
        author_name=None,
        followers=900,
        engagement=100,
        reach=1000,
        compound=-0.8,
        text="<!channel> honte à vous & *vite*",
        url="https://x.example/u1/1",
    )
    explanation = Explanation(
        window_start=T0,
        window_end=T0 + timedelta(hours=1),
        mentions=30,
        negatives=20,
        top_negative=(shown,),
        emerging_terms=(EmergingTerm(term="#boycott", mentions=9, share=0.3, usual_share=0, z=5),),
        sources={"twitter": 30},
        languages={"fr": 30},
        negative_languages={"fr": 20},
        top_accounts=(),
        author_concentration=0.75,
        troll_suspected=True,
    )
    statement = HoldingStatement(lang="fr", text="Nous regardons cela de près.")
    event = alert(1).model_copy(update={"explanation": explanation, "holding_statement": statement})
    texts = [block["text"]["text"] for block in slack_message(event)["blocks"][3:5]]
    assert "*Troll suspected*: 75% of the negatives from 3 accounts" in texts[0]
    assert "*Emerging*: #boycott" in texts[0]
    assert "<https://x.example/u1/1|twitter> u1 (reach 1,000): &lt;!channel&gt; honte" in texts[0]
    assert texts[1] == "*Suggested holding statement (fr)*\nNous regardons cela de près."
    assert len(slack_message(alert(1))["blocks"]) == 4  # without an explanation: as before


# --- retries --------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff_then_delivered_once(receiver: Receiver) -> None:
    receiver.answer("/j", Reply(500), Reply(502))
    clock = FakeClock()
    outcome = deliverer(clock, backoff_seconds=1.0).deliver(
        json_hook("j", receiver.url("/j")), alert(1)
    )
    assert outcome.delivered and outcome.attempts == 3
    requests = receiver.at("/j")
    assert [r.status for r in requests] == [500, 502, 200]
    assert {r.body for r in requests} == {requests[0].body}
    assert {r.delivery for r in requests} == {"a1:firing"}
    for request in requests:  # each attempt is signed afresh
        assert_signed(request)
    assert len(clock.waits) == 2
    assert 0.5 <= clock.waits[0] <= 1.0 and 1.0 <= clock.waits[1] <= 2.0


def test_retries_are_bounded_in_attempts_and_backoff_is_capped(receiver: Receiver) -> None:
    receiver.answer("/j", then=Reply(503))
    clock = FakeClock()
    settings = {"max_attempts": 6, "backoff_seconds": 1.0, "max_backoff_seconds": 4.0}
    outcome = deliverer(clock, **settings).deliver(json_hook("j", receiver.url("/j")), alert(1))
    assert not outcome.delivered and not outcome.abandoned
    assert outcome.attempts == 6 and len(receiver.at("/j")) == 6
    assert outcome.reason.startswith("gave up after 6 attempts: HTTP 503")
    ceilings = [min(4.0, 2.0 ** (n - 1)) for n in range(1, 6)]
    assert len(clock.waits) == 5
    for wait, ceiling in zip(clock.waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert backoff_delay(10, 1.0, 4.0, 1.0) == 4.0 and backoff_delay(1, 1.0, 4.0, 0.0) == 0.5


def test_total_delivery_time_is_bounded(receiver: Receiver) -> None:
    receiver.answer("/j", then=Reply(500))
    clock = FakeClock()
    settings = {"max_attempts": 50, "backoff_seconds": 2.0, "max_delivery_seconds": 10.0}
    outcome = deliverer(clock, **settings).deliver(json_hook("j", receiver.url("/j")), alert(1))
    assert not outcome.delivered and 2 <= outcome.attempts < 50
    assert sum(clock.waits) <= 10.0
    assert "max_delivery_seconds" in outcome.reason


def test_429_is_retried_after_the_retry_after_seconds(receiver: Receiver) -> None:
    receiver.answer("/j", Reply(429, (("Retry-After", "7"),)))
    clock = FakeClock()
    outcome = deliverer(clock).deliver(json_hook("j", receiver.url("/j")), alert(1))
    assert outcome.delivered and outcome.attempts == 2
    assert clock.waits == [7.0]

    receiver.answer("/k", Reply(429, (("Retry-After", "3600"),)))
    clock = FakeClock()
    outcome = deliverer(clock).deliver(json_hook("k", receiver.url("/k")), alert(1))
    assert not outcome.delivered and outcome.attempts == 1 and clock.waits == []
    assert "HTTP 429" in outcome.reason and "max_delivery_seconds" in outcome.reason


@pytest.mark.parametrize("status", [400, 401, 404, 410, 302])
def test_other_4xx_and_redirects_are_permanent(receiver: Receiver, status: int) -> None:
    location = (("Location", receiver.url("/elsewhere")),)
    receiver.answer("/j", then=Reply(status, location, b"invalid_payload"))
    clock = FakeClock()
    outcome = deliverer(clock).deliver(json_hook("j", receiver.url("/j")), alert(1))
    assert not outcome.delivered and outcome.attempts == 1 and clock.waits == []
    assert outcome.reason == f"HTTP {status}: invalid_payload (permanent)"
    assert receiver.at("/elsewhere") == []


def test_connection_errors_are_retried() -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/j"
        clock = FakeClock()
        outcome = deliverer(clock, max_attempts=3).deliver(json_hook("j", url), alert(1))
    assert not outcome.delivered and outcome.attempts == 3 and len(clock.waits) == 2
    assert outcome.reason.startswith("gave up after 3 attempts: connection error")


def test_retry_after_may_be_seconds_or_an_http_date() -> None:
    assert parse_retry_after(" 12 ") == 12.0
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(date, now=1445412480.0 - 30) == 30.0
    assert parse_retry_after(date, now=1445412480.0 + 30) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_stopping_abandons_a_delivery_between_attempts(receiver: Receiver) -> None:
    receiver.answer("/j", then=Reply(503))
    clock = FakeClock(stop_after=1)
    outcome = deliverer(clock).deliver(json_hook("j", receiver.url("/j")), alert(1))
    assert outcome.abandoned and not outcome.delivered and outcome.attempts == 1


# --- settings -------------------------------------------------------------------------------


def test_secrets_come_from_the_environment_and_never_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "env-secret-value")
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/services/T0/B0/token-value")
    settings = notify_settings(
        {
            "notify": {
                "webhooks": [
                    {
                        "name": "j",
                        "url": "https://x.test/h",
                        "format": "json",
                        "secret_env": "HOOK_SECRET",
                    },
                    {
                        "name": "s",
                        "url_env": "HOOK_URL",
                        "format": "slack",
                        "kinds": ["negative"],
                        "min_severity": "critical",
                    },
                ]
            }
        },
        group_id="g",
    )
    hook, slack = settings.webhooks
    assert settings.group_id == "g"
    assert hook.secret is not None and hook.secret.get_secret_value() == "env-secret-value"
    assert slack.url.get_secret_value().endswith("token-value")
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "env-secret-value" not in shown and "token-value" not in shown
    assert slack.wants(alert(1)) and not slack.wants(alert(2, kind="volume"))
    assert not slack.wants(alert(3, severity="warning")) and hook.wants(
        alert(3, severity="warning")
    )


@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        ({"name": "j", "url": "https://x.test", "format": "json"}, "needs secret"),
        (
            {"name": "j", "url": "https://x.test", "format": "json", "secret_env": "NOPE_NOT_SET"},
            "NOPE_NOT_SET",
        ),
        (
            {"name": "s", "url": "https://x.test", "format": "slack", "secret": "x"},
            "signed formats",
        ),
        ({"name": "m", "url": "https://x.test", "format": "marketing_pause"}, "needs secret"),
        (
            {
                "name": "m",
                "url": "https://x.test",
                "format": "marketing_pause",
                "secret": "x",
                "min_severity": "warning",
            },
            "critical alerts only",
        ),
        ({"name": "s", "url": "ftp://x.test", "format": "slack"}, "http"),
        ({"name": "s", "url": "https://x.test/T0 secret", "format": "slack"}, "spaces"),
        ({"name": "s", "url": "https://x.test/T0\n", "format": "slack"}, "control"),
        ({"name": "s", "url": "https://x.test", "format": "slack", "colour": "red"}, "colour"),
        ({"name": "a:b", "url": "https://x.test", "format": "slack"}, "name"),
    ],
)
def test_bad_webhooks_are_refused(webhook: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        notify_settings({"notify": {"webhooks": [webhook]}})


def test_webhook_names_are_unique() -> None:
    hook = {"name": "s", "url": "https://x.test", "format": "slack"}
    with pytest.raises(ValidationError, match="unique"):
        notify_settings({"notify": {"webhooks": [hook, hook]}})


def test_example_config_webhooks_are_valid_once_uncommented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    notify = text[text.index("\n[notify]\n") :]
    uncommented = re.sub(r"^# (?=\[\[notify\.webhooks\]\]|\w+ = )", "", notify, flags=re.M)
    monkeypatch.setenv("BUZZWATCH_SLACK_WEBHOOK_URL", "https://hooks.slack.test/services/x")
    monkeypatch.setenv("BUZZWATCH_INCIDENTS_SECRET", "x")
    monkeypatch.setenv("BUZZWATCH_MARKETING_SECRET", "x")
    settings = notify_settings(tomllib.loads(uncommented))
    assert [(w.name, w.format) for w in settings.webhooks] == [
        ("slack-oncall", "slack"),
        ("incidents", "json"),
        ("marketing", "marketing_pause"),
    ]


def test_notify_refuses_to_start_without_webhooks_or_with_bad_ones(tmp_path: Path) -> None:
    def notify(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "buzzwatch", "notify", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    result = notify()
    assert result.returncode == 2 and "no [[notify.webhooks]] configured" in result.stderr
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[notify.webhooks]]\nname = "j"\nformat = "json"\n'
        'url = "https://hooks.test/T0/token-in-url"\n',
        encoding="utf-8",
    )
    result = notify("--config", str(config))
    assert result.returncode == 2 and "needs secret or secret_env" in result.stderr
    assert "token-in-url" not in result.stderr


# --- against the real broker ----------------------------------------------------------------


@dataclass(frozen=True)
class Topics:
    alerts: str
    dead_letters: str
    deliveries: str
    group: str


def create_topics(bootstrap: str, topics: dict[str, dict[str, str]]) -> None:
    """Create single-partition topics with the given configs, and wait for their leaders."""
    for name, configs in topics.items():
        create_topic(bootstrap, name, partitions=1, configs=configs)


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    suffix = uuid.uuid4().hex[:8]
    names = Topics(
        f"alerts-{suffix}", f"alerts-dlq-{suffix}", f"deliveries-{suffix}", f"notify-{suffix}"
    )
    create_topics(
        kafka_bootstrap,
        {
            names.alerts: {},
            names.dead_letters: {},
            names.deliveries: {"cleanup.policy": "compact"},
        },
    )
    return names


def publish(bootstrap: str, topic: str, *values: AlertEvent | bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            if isinstance(value, AlertEvent):
                producer.send(topic, key=value.brand.encode(), value=value.to_json().encode())
            else:
                producer.send(topic, key=b"acme", value=value)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=30)


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of a single-partition topic, up to its end offset now (bounded)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    records: list[Any] = []
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + WAIT_SECONDS
        while consumer.position(tp) < end and time.monotonic() < deadline:
            records.extend(consumer.poll(timeout_ms=500).get(tp, []))
    finally:
        consumer.close(autocommit=False)
    assert len(records) == end, f"{topic}: read {len(records)} of {end} records"
    return records


def receipts(bootstrap: str, topic: str) -> dict[str, Any]:
    """The deliveries topic's receipts by key."""
    return {r.key.decode(): json.loads(r.value) for r in read_topic(bootstrap, topic)}


def notifier_settings(topics: Topics, *webhooks: WebhookSettings, **extra: Any) -> NotifySettings:
    return NotifySettings(
        group_id=topics.group,
        dead_letter_topic=topics.dead_letters,
        deliveries_topic=topics.deliveries,
        backoff_seconds=0.05,
        max_backoff_seconds=0.2,
        timeout_seconds=5.0,
        webhooks=webhooks,
        **extra,
    )


@contextlib.contextmanager
def running(bootstrap: str, topics: Topics, settings: NotifySettings) -> Iterator[None]:
    """A Notifier in a thread; on exit, stop it and check it ended cleanly."""
    notifier = Notifier(
        KafkaSettings(bootstrap_servers=bootstrap, alerts_topic=topics.alerts), settings
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            notifier.run(stop)
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=WAIT_SECONDS)
    assert not thread.is_alive(), "the notifier did not stop"
    assert not errors, errors


def test_each_event_reaches_each_webhook_once_in_order(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a spent batch budget after every record: commit it, seek back to the rest, poll again
    monkeypatch.setattr(consumers.notifier, "BATCH_SECONDS", 0.0)
    hooks = (slack_hook("chat", receiver.url("/slack")), json_hook("ops", receiver.url("/json")))
    events = [alert(1), alert(1), alert(2, kind="volume", severity="warning"), alert(1, "resolved")]
    publish(kafka_bootstrap, topics.alerts, *events)
    with running(kafka_bootstrap, topics, notifier_settings(topics, *hooks)):
        receiver.wait_for("/json", 3)
        receiver.wait_for("/slack", 3)
    expected = ["a1:firing", "a2:firing", "a1:resolved"]
    json_requests = receiver.at("/json")
    assert [r.delivery for r in json_requests] == expected  # the duplicate went once
    for request, event in zip(json_requests, [events[0], events[2], events[3]], strict=True):
        assert_signed(request)
        assert request.json() == {**event.to_dict(), "delivery_id": request.delivery}
    slack_texts = [r.json()["text"] for r in receiver.at("/slack")]
    assert [r.delivery for r in receiver.at("/slack")] == expected
    assert "negative spike firing (critical)" in slack_texts[0]
    assert "volume spike firing (warning)" in slack_texts[1]
    assert "resolved" in slack_texts[2]
    receipts = {r.key.decode() for r in read_topic(kafka_bootstrap, topics.deliveries)}
    assert receipts == {receipt_key(hook.name, event) for hook in hooks for event in events}

    # Offsets lost (a crash before the commit, here another group): the receipts still hold.
    publish(kafka_bootstrap, topics.alerts, alert(3))
    other = notifier_settings(topics, *hooks).model_copy(update={"group_id": topics.group + "-b"})
    with running(kafka_bootstrap, topics, other):
        receiver.wait_for("/json", 4)
        receiver.wait_for("/slack", 4)
    assert [r.delivery for r in receiver.at("/json")] == [*expected, "a3:firing"]
    assert [r.delivery for r in receiver.at("/slack")] == [*expected, "a3:firing"]


def test_refused_events_are_dead_lettered_and_5xx_retried_to_one_delivery(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver
) -> None:
    receiver.answer("/bad", then=Reply(400, body=b"no such channel"))
    receiver.answer("/flaky", Reply(500), Reply(500))
    hooks = (json_hook("bad", receiver.url("/bad")), json_hook("flaky", receiver.url("/flaky")))
    publish(kafka_bootstrap, topics.alerts, b"{not json", alert(1), alert(2))
    with running(kafka_bootstrap, topics, notifier_settings(topics, *hooks)):
        receiver.wait_for("/flaky", 4)  # a1: 500, 500, 200; then a2: 200
    flaky = receiver.at("/flaky")
    assert [(r.delivery, r.status) for r in flaky] == [
        ("a1:firing", 500),
        ("a1:firing", 500),
        ("a1:firing", 200),
        ("a2:firing", 200),
    ]
    assert [r.delivery for r in receiver.at("/bad")] == ["a1:firing", "a2:firing"]

    dead = read_topic(kafka_bootstrap, topics.dead_letters)
    headers = [{k: v.decode() for k, v in r.headers} for r in dead]
    assert [r.value for r in dead] == [
        b"{not json",
        alert(1).to_json().encode(),
        alert(2).to_json().encode(),
    ]
    assert headers[0]["buzzwatch.reason"].startswith("invalid alert event")
    assert "buzzwatch.webhook" not in headers[0]
    for header in headers[1:]:
        assert header["buzzwatch.webhook"] == "bad"
        assert header["buzzwatch.reason"] == "HTTP 400: no such channel (permanent)"
        assert header["buzzwatch.attempts"] == "1"
        assert header["buzzwatch.source"].startswith(f"{topics.alerts}/0/")
    receipts = [json.loads(r.value) for r in read_topic(kafka_bootstrap, topics.deliveries)]
    assert [(r["webhook"], r["alert_id"], r["attempts"]) for r in receipts] == [
        ("flaky", "a1", 3),
        ("flaky", "a2", 1),
    ]


def _start(config: Path, bootstrap: str, topics: Topics, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "buzzwatch", "notify", "--config", str(config),
        "--bootstrap-servers", bootstrap, "--alerts-topic", topics.alerts,
        "--group-id", topics.group,
    ]  # fmt: skip
    env = {**os.environ, "BUZZWATCH_TEST_SECRET": SECRET}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _terminate(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def test_restarted_process_never_notifies_twice_and_exits_0_on_sigterm(
    kafka_bootstrap: str, receiver: Receiver, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = Topics(f"alerts-{suffix}", f"dlq-{suffix}", f"deliveries-{suffix}", f"n-{suffix}")
    create_topics(kafka_bootstrap, {topics.alerts: {}})  # the notifier creates the others
    config = tmp_path / "notify.toml"
    config.write_text(
        f"""
[notify]
dead_letter_topic = "{topics.dead_letters}"
deliveries_topic = "{topics.deliveries}"
backoff_seconds = 0.05

[[notify.webhooks]]
name = "ops"
format = "json"
url = "{receiver.url("/json")}"
secret_env = "BUZZWATCH_TEST_SECRET"
""",
        encoding="utf-8",
    )
    log = tmp_path / "notify.log"
    publish(kafka_bootstrap, topics.alerts, alert(1), alert(2))
    first = _start(config, kafka_bootstrap, topics, log)
    try:
        receiver.wait_for("/json", 2)
    finally:
        assert _terminate(first) == 0, log.read_text()

    # After the restart: a duplicate of a1 (published again), a new alert, a2's resolution.
    publish(kafka_bootstrap, topics.alerts, alert(1), alert(3), alert(2, "resolved"))
    second = _start(config, kafka_bootstrap, topics, log)
    try:
        receiver.wait_for("/json", 4)
    finally:
        assert _terminate(second) == 0, log.read_text()
    requests = receiver.at("/json")
    assert [r.delivery for r in requests] == ["a1:firing", "a2:firing", "a3:firing", "a2:resolved"]
    for request in requests:
        assert_signed(request)
    assert SECRET not in log.read_text()

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        resource = ConfigResource("TOPIC", topics.deliveries, ["cleanup.policy"])
        described = admin.describe_configs([resource], config_filter="all")
    finally:
        admin.close()
    assert described["topic"][topics.deliveries]["cleanup.policy"]["value"] == "compact"


# --- marketing pause ------------------------------------------------------------------------


def test_marketing_pause_body_says_pause_or_resume_and_is_signed_like_json(
    receiver: Receiver,
) -> None:
    hook = pause_hook("m", receiver.url("/m"))
    for event in (alert(1), alert(1, "resolved")):
        assert deliverer(FakeClock()).deliver(hook, event).delivered
    pause, resume = receiver.at("/m")
    assert pause.json() == {
        "action": "pause",
        "brand": "acme",
        "alert_id": "a1",
        "kind": "negative",
        "severity": "critical",
        "at": "2026-03-02T13:10:00Z",
        "started_at": "2026-03-02T13:05:00Z",
        "reason": "acme: critical negative spike since 2026-03-02T13:05:00Z, 42 negative "
        "mentions in 15 min vs 3.5 expected (12.0× normal), score 0.97",
        "delivery_id": "a1:firing",
    }
    assert resume.json() == {
        **pause.json(),
        "action": "resume",
        "at": "2026-03-02T13:50:00Z",
        "reason": "acme: no critical alert firing any more "
        "(the negative spike of 2026-03-02T13:05:00Z resolved at 2026-03-02T13:50:00Z)",
        "delivery_id": "a1:resolved",
    }
    for request in (pause, resume):
        assert request.headers["content-type"] == "application/json"
        assert request.delivery == request.json()["delivery_id"]
        assert_signed(request)


def test_marketing_pause_takes_critical_alerts_of_its_kinds_only() -> None:
    hook = pause_hook("m", "https://x.test", kinds=["negative"])
    assert hook.min_severity == "critical"
    assert hook.wants(alert(1)) and hook.wants(alert(1, "resolved"))
    assert not hook.wants(alert(2, severity="warning"))
    assert not hook.wants(alert(3, kind="volume"))
    assert pause_hook("m", "https://x.test", min_severity="critical").min_severity == "critical"


def test_a_critical_alert_pauses_once_and_warnings_never(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver
) -> None:
    hook = pause_hook("m", receiver.url("/m"), kinds=["negative"])
    publish(
        kafka_bootstrap,
        topics.alerts,
        alert(1, severity="warning"),
        alert(2),
        alert(2),  # a duplicate
        alert(3, kind="volume"),  # critical, of a kind the webhook does not take
        alert(1, "resolved", severity="warning"),
        alert(3, "resolved", kind="volume"),
        alert(2, "resolved"),
    )
    with running(kafka_bootstrap, topics, notifier_settings(topics, hook)):
        receiver.wait_for("/m", 2)  # a2's resume is the last event: all are handled
    requests = receiver.at("/m")
    assert [(r.json()["action"], r.delivery) for r in requests] == [
        ("pause", "a2:firing"),
        ("resume", "a2:resolved"),
    ]
    ledger = receipts(kafka_bootstrap, topics.deliveries)
    assert set(ledger) == {"m:a2:firing", "m:a2:resolved"}
    assert [ledger[key]["action"] for key in ("m:a2:firing", "m:a2:resolved")] == [
        "pause",
        "resume",
    ]


def test_overlapping_critical_alerts_resume_only_when_the_last_resolves(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver
) -> None:
    hook = pause_hook("m", receiver.url("/m"))
    publish(
        kafka_bootstrap,
        topics.alerts,
        alert(1),
        alert(2, kind="volume"),
        alert(3, brand="globex"),
        alert(1, "resolved"),  # acme's volume alert a2 still fires: no resume
        alert(3, "resolved", brand="globex"),
        alert(2, "resolved", kind="volume"),
    )
    with running(kafka_bootstrap, topics, notifier_settings(topics, hook)):
        receiver.wait_for("/m", 5)
    assert [(r.json()["brand"], r.json()["action"], r.delivery) for r in receiver.at("/m")] == [
        ("acme", "pause", "a1:firing"),
        ("acme", "pause", "a2:firing"),
        ("globex", "pause", "a3:firing"),
        ("globex", "resume", "a3:resolved"),
        ("acme", "resume", "a2:resolved"),
    ]
    held = receipts(kafka_bootstrap, topics.deliveries)["m:a1:resolved"]
    assert held["action"] is None and held["held"] == "still paused by a2"


def wait_for_receipt(bootstrap: str, topic: str, key: str) -> None:
    """Wait (bounded) until the deliveries topic has a receipt under `key`."""
    deadline = time.monotonic() + WAIT_SECONDS
    for _ in range(200):
        if key in receipts(bootstrap, topic) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert key in receipts(bootstrap, topic), f"no receipt {key} after {WAIT_SECONDS} s"


def test_restarts_between_pause_and_resolution_resume_exactly_once(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver
) -> None:
    settings = notifier_settings(topics, pause_hook("m", receiver.url("/m")))
    publish(kafka_bootstrap, topics.alerts, alert(1), alert(2, kind="volume"))
    with running(kafka_bootstrap, topics, settings):
        receiver.wait_for("/m", 2)

    # Restarted: the pauses of a1 and a2 come back from the ledger, so a1's resolution is held.
    publish(kafka_bootstrap, topics.alerts, alert(1, "resolved"))
    with running(kafka_bootstrap, topics, settings):
        wait_for_receipt(kafka_bootstrap, topics.deliveries, "m:a1:resolved")
    assert len(receiver.at("/m")) == 2

    # Restarted with its offsets lost (another group): every event is read again, a2 resumes.
    publish(kafka_bootstrap, topics.alerts, alert(2, "resolved", kind="volume"))
    lost = settings.model_copy(update={"group_id": topics.group + "-b"})
    with running(kafka_bootstrap, topics, lost):
        receiver.wait_for("/m", 3)
    requests = receiver.at("/m")
    assert [(r.json()["action"], r.delivery) for r in requests] == [
        ("pause", "a1:firing"),
        ("pause", "a2:firing"),
        ("resume", "a2:resolved"),
    ]


def test_a_refused_pause_holds_nothing_and_its_late_replay_does_not_pause(
    kafka_bootstrap: str, topics: Topics, receiver: Receiver
) -> None:
    receiver.answer("/m", Reply(400, body=b"unknown brand"))
    hook = pause_hook("m", receiver.url("/m"))
    # a1's pause is refused (dead-lettered), a1 resolves, then its firing is replayed
    publish(kafka_bootstrap, topics.alerts, alert(1), alert(1, "resolved"), alert(1), alert(2))
    with running(kafka_bootstrap, topics, notifier_settings(topics, hook)):
        receiver.wait_for("/m", 2)
    assert [(r.delivery, r.status) for r in receiver.at("/m")] == [
        ("a1:firing", 400),
        ("a2:firing", 200),
    ]
    ledger = receipts(kafka_bootstrap, topics.deliveries)
    assert ledger["m:a1:resolved"]["held"] == "its pause was not delivered"
    assert ledger["m:a1:firing"]["held"] == "the alert has resolved already"
    assert ledger["m:a1:firing"]["action"] is None and ledger["m:a2:firing"]["action"] == "pause"
    assert len(read_topic(kafka_bootstrap, topics.dead_letters)) == 1
