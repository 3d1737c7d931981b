"""Webhook receivers of `buzzwatch notify`: settings, payloads, signatures and HTTP delivery.

Three formats:

- ``slack``: a Slack incoming-webhook message (``text`` for notifications, ``blocks`` for
  the layout).
- ``json``: the alert event's JSON plus ``delivery_id``, signed (see `signature`).
- ``marketing_pause``: ``{"action": "pause" | "resume", ...}`` for a system that pauses a
  brand's scheduled posts during a critical incident (`marketing_pause_body`), signed like
  ``json``. Only critical alerts are sent to it, and a resolution only when it is the brand's
  last critical alert paused: consumers/notifier.py decides (`marketing_hold`).

Every request carries ``X-Buzzwatch-Delivery: <alert id>:<state>``, the same for every
attempt and every process that sends it, so a receiver can deduplicate.

Delivery (`Deliverer`) retries connection errors, timeouts, 5xx and 429 with exponential
backoff and jitter, honours ``Retry-After``, and is bounded by `max_attempts` and by
`max_delivery_seconds` of total time. Redirects are not followed (a signed body is never sent
elsewhere) and, like any other 4xx, end the delivery at once as a permanent failure.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Self
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from pipeline.models import AlertEvent, AlertKind, Severity, iso_utc

log = logging.getLogger("buzzwatch.notify")

USER_AGENT = "buzzwatch-notify/1"
DELIVERY_HEADER = "X-Buzzwatch-Delivery"
TIMESTAMP_HEADER = "X-Buzzwatch-Timestamp"
SIGNATURE_HEADER = "X-Buzzwatch-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_REASON_BODY = 200  # characters of a refusing receiver's body kept in the reason
SEVERITY_RANK: dict[Severity, int] = {"warning": 0, "critical": 1}

WebhookFormat = Literal["slack", "json", "marketing_pause"]
SIGNED_FORMATS: frozenset[WebhookFormat] = frozenset({"json", "marketing_pause"})
PauseAction = Literal["pause", "resume"]


class WebhookSettings(BaseModel):
    """One receiver: a `[[notify.webhooks]]` entry.

    `url` and `secret` may instead be read from the environment variables named by `url_env`
    and `secret_env`, so that no secret needs to be in a file; both are `SecretStr` (a Slack
    webhook URL is itself a credential) and never appear in a repr or a log line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)
    url: SecretStr
    url_env: str | None = None
    format: WebhookFormat
    secret: SecretStr | None = None
    secret_env: str | None = None
    kinds: tuple[AlertKind, ...] = Field(("volume", "negative"), min_length=1)
    min_severity: Severity = "warning"

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("url", "secret"):
            variable = data.get(f"{key}_env")
            if variable is None:
                continue
            if data.get(key) is not None:
                raise ValueError(f"give {key} or {key}_env, not both")
            value = os.environ.get(str(variable), "")
            if not value:
                raise ValueError(f"environment variable {variable} ({key}_env) is not set")
            data[key] = value
        return data

    @model_validator(mode="before")
    @classmethod
    def _pauses_on_critical(cls, data: Any) -> Any:
        """A `marketing_pause` webhook's `min_severity` is `critical` unless set (then checked)."""
        if isinstance(data, dict) and data.get("format") == "marketing_pause":
            return {"min_severity": "critical", **data}
        return data

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if any(c.isspace() or not c.isprintable() for c in url):
            raise ValueError("url must not contain spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// URL with a host")
        return value

    @model_validator(mode="after")
    def _fits_format(self) -> Self:
        signed = self.format in SIGNED_FORMATS
        if signed and not self.secret:
            raise ValueError(
                f"webhook {self.name}: format {self.format} needs secret or secret_env"
            )
        if not signed and self.secret is not None:
            raise ValueError(f"webhook {self.name}: secret applies to signed formats only")
        if self.format == "marketing_pause" and self.min_severity != "critical":
            raise ValueError(
                f"webhook {self.name}: format marketing_pause pauses on critical alerts only: "
                "min_severity must be critical or left out"
            )
        return self

    def wants(self, event: AlertEvent) -> bool:
        """Whether the event passes this webhook's `kinds` and `min_severity` filters."""
        return (
            event.kind in self.kinds
            and SEVERITY_RANK[event.severity] >= SEVERITY_RANK[self.min_severity]
        )


class DeliverySettings(BaseModel):
    """Retry and timeout settings of webhook delivery (keys of the `[notify]` table)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    max_attempts: int = Field(5, ge=1, description="Attempts per webhook and event.")
    backoff_seconds: float = Field(1.0, ge=0, description="Wait before the first retry.")
    max_backoff_seconds: float = Field(30.0, ge=0, description="Longest backoff wait.")
    max_delivery_seconds: float = Field(
        120.0, gt=0, description="Give up rather than wait past this since the first attempt."
    )
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of each HTTP request.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_backoff_seconds < self.backoff_seconds:
            raise ValueError("need backoff_seconds <= max_backoff_seconds")
        return self


def delivery_id(event: AlertEvent) -> str:
    """The idempotency key of an event: `<alert id>:<state>`."""
    return f"{event.id}:{event.state}"


def _compact(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def json_body(event: AlertEvent) -> bytes:
    """The `json` format's body: the alert event's JSON with its `delivery_id`, compact UTF-8."""
    return _compact({**event.to_dict(), "delivery_id": delivery_id(event)})


def pause_action(event: AlertEvent) -> PauseAction:
    """What a `marketing_pause` webhook is asked: `pause` when firing, `resume` when resolved."""
    return "pause" if event.state == "firing" else "resume"


def marketing_pause_body(event: AlertEvent) -> bytes:
    """The `marketing_pause` format's body, compact UTF-8.

    `action`, `brand`, the alert's `alert_id`, `kind`, `severity`, `at` and `started_at`, a
    short human `reason` and the `delivery_id`. A `pause` may come for each critical alert of
    a brand (receivers treat it as idempotent); one `resume` comes when the last one resolves.
    """
    started = iso_utc(event.started_at)
    if event.state == "firing":
        reason = f"{event.brand}: critical {event.kind} spike since {started}, {_counts(event)}"
    else:
        reason = (
            f"{event.brand}: no critical alert firing any more "
            f"(the {event.kind} spike of {started} resolved at {iso_utc(event.at)})"
        )
    data = {
        "action": pause_action(event),
        "brand": event.brand,
        "alert_id": event.id,
        "kind": event.kind,
        "severity": event.severity,
        "at": iso_utc(event.at),
        "started_at": started,
        "reason": reason,
        "delivery_id": delivery_id(event),
    }
    return _compact(data)


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Buzzwatch-Signature` value: `sha256=` + hex HMAC-SHA256 of `timestamp.body`.

    Scheme, for receivers of the signed formats (`json`, `marketing_pause`):

    1. take the raw request body (bytes, before any JSON parsing) and the
       `X-Buzzwatch-Timestamp` header (Unix time in whole seconds, ASCII digits);
    2. compute HMAC-SHA256 keyed with the shared secret (its UTF-8 bytes) over
       `timestamp + "." + body`, as lowercase hex;
    3. compare `"sha256=" + hex` with `X-Buzzwatch-Signature` in constant time;
    4. reject timestamps far from your clock (5 minutes, say) against replays: every attempt
       is signed afresh, so retries carry a current timestamp;
    5. deduplicate on `X-Buzzwatch-Delivery` (`<alert id>:<state>`, also `delivery_id` in the
       body): the same event may be delivered more than once (see consumers/notifier.py).

    `verify_signature` does steps 2 to 4.
    """
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    received: str,
    *,
    now: float | None = None,
    tolerance_seconds: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Whether a received signature is valid for this body and timestamp, and recent enough."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, received.encode("utf-8", "replace"))


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g} min"


def _what(event: AlertEvent) -> str:
    return "negative mentions" if event.kind == "negative" else "mentions"


def _counts(event: AlertEvent) -> str:
    """`42 negative mentions in 15 min vs 3.5 expected (12.0× normal), score 0.97`."""
    ratio = f" ({event.observed / event.expected:.1f}× normal)" if event.expected > 0 else ""
    return (
        f"{event.observed:g} {_what(event)} in {_minutes(event.window_seconds)} "
        f"vs {event.expected:.1f} expected{ratio}, score {event.score:.2f}"
    )


def slack_message(event: AlertEvent) -> dict[str, Any]:
    """A Slack incoming-webhook message for the event: `text` (fallback) and `blocks`."""
    counts = _counts(event)
    started = iso_utc(event.started_at)
    at = iso_utc(event.at)
    if event.state == "firing":
        icon = ":rotating_light:" if event.severity == "critical" else ":warning:"
        title = f"{event.brand}: {event.kind} spike firing ({event.severity})"
        summary = f"{counts}. Started {started}."
    else:
        icon = ":white_check_mark:"
        title = f"{event.brand}: {event.kind} spike resolved (was {event.severity})"
        summary = f"Resolved at {at}; started {started}. Now {counts}."
    fields = {
        "Brand": event.brand,
        "Kind": event.kind,
        "State": event.state,
        "Severity": event.severity,
        "Observed": f"{event.observed:g} {_what(event)}",
        "Expected": f"{event.expected:.1f} over {_minutes(event.window_seconds)}",
        "Score": f"{event.score:.2f}",
        "Started at": started,
    }
    return {
        "text": f"{icon} {title}: {summary}",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{icon} {title}"[:150], "emoji": True},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary)}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{_mrkdwn(value)}"}
                    for label, value in fields.items()
                ],
            },
            *_explanation_blocks(event),
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"alert `{event.id}` · {event.state} at {at}"}
                ],
            },
        ],
    }


def _explanation_blocks(event: AlertEvent) -> list[dict[str, Any]]:
    """A firing event's explanation and holding statement, as Slack sections."""
    explanation, statement = event.explanation, event.holding_statement
    if explanation is None:
        return []
    lines = []
    if explanation.troll_suspected:
        share = f"{explanation.author_concentration:.0%}"
        lines.append(f":no_entry: *Troll suspected*: {share} of the negatives from 3 accounts")
    if explanation.emerging_terms:
        terms = ", ".join(_mrkdwn(term.term) for term in explanation.emerging_terms)
        lines.append(f"*Emerging*: {terms}")
    for shown in explanation.top_negative[:3]:
        text = _mrkdwn(shown.text[:200])
        source = _mrkdwn(shown.source)
        where = f"<{_mrkdwn(shown.url)}|{source}>" if shown.url else source
        lines.append(f"• {where} {_mrkdwn(shown.author or '?')} (reach {shown.reach:,}): {text}")
    blocks = []
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if statement is not None:
        said = f"*Suggested holding statement ({statement.lang})*\n{_mrkdwn(statement.text)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": said[:3000]}})
    return blocks


def payload(webhook: WebhookSettings, event: AlertEvent) -> bytes:
    """The request body for this webhook's format."""
    if webhook.format == "slack":
        return json.dumps(slack_message(event), ensure_ascii=False).encode()
    if webhook.format == "marketing_pause":
        return marketing_pause_body(event)
    return json_body(event)


def build_request(
    webhook: WebhookSettings, event: AlertEvent, body: bytes, now: float | None = None
) -> urllib.request.Request:
    """The POST request of one attempt (a signed format's is signed with the current time)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: delivery_id(event),
    }
    if webhook.secret is not None:  # only the signed formats have one
        timestamp = str(int(time.time() if now is None else now))
        secret = webhook.secret.get_secret_value().encode()
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    url = webhook.url.get_secret_value()
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended: delivered, failed (dead-letter it) or abandoned (stop requested)."""

    delivered: bool
    attempts: int
    status: int | None = None
    reason: str = ""
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class _Answer:
    """One attempt's result: an HTTP status, or a connection error."""

    status: int | None
    detail: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    def describe(self) -> str:
        if self.status is None:
            return f"connection error: {self.detail}"
        return f"HTTP {self.status}" + (f": {self.detail}" if self.detail else "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns every 3xx into an `HTTPError` instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def backoff_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Wait after failed attempt `attempt` (1-based): `d = min(cap, base * 2**(attempt-1))`,
    then "equal jitter": `d/2 + jitter * d/2` with `jitter` in [0, 1], so within [d/2, d]."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return ceiling / 2 + jitter * ceiling / 2


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds (delay-seconds or an HTTP date); None if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, moment.timestamp() - current)


class Deliverer:
    """Posts alert events to webhooks with bounded retries.

    `wait(seconds)` sleeps between attempts and returns True when the service is stopping
    (then the delivery is abandoned, neither delivered nor dead-lettered); `clock` measures
    the total time (monotonic); `rng` draws the jitter. Tests inject all three.
    """

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        wait: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._wait = wait if wait is not None else threading.Event().wait
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._opener = urllib.request.build_opener(_NoRedirect())

    def deliver(self, webhook: WebhookSettings, event: AlertEvent) -> Outcome:
        """Post the event until a 2xx, a permanent failure or the end of the retry budget."""
        s = self.settings
        body = payload(webhook, event)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            answer = self._post(build_request(webhook, event, body))
            if answer.ok:
                return Outcome(True, attempt, answer.status)
            if not answer.retryable:
                reason = f"{answer.describe()} (permanent)"
                return Outcome(False, attempt, answer.status, reason)
            if attempt >= s.max_attempts:
                reason = f"gave up after {attempt} attempts: {answer.describe()}"
                return Outcome(False, attempt, answer.status, reason)
            if answer.retry_after is not None:
                delay = answer.retry_after
            else:
                jitter = self._rng.random()
                delay = backoff_delay(attempt, s.backoff_seconds, s.max_backoff_seconds, jitter)
            elapsed = self._clock() - started
            if elapsed + delay > s.max_delivery_seconds:
                reason = (
                    f"gave up after {attempt} attempts in {elapsed:.1f} s: {answer.describe()} "
                    f"(a retry in {delay:g} s would pass max_delivery_seconds)"
                )
                return Outcome(False, attempt, answer.status, reason)
            log.warning(
                "webhook %s: %s %s attempt %d: %s; retry in %.2f s",
                webhook.name,
                event.id,
                event.state,
                attempt,
                answer.describe(),
                delay,
            )
            if self._wait(delay):
                reason = f"stopping after {attempt} attempts: {answer.describe()}"
                return Outcome(False, attempt, answer.status, reason, abandoned=True)

    def _post(self, request: urllib.request.Request) -> _Answer:
        timeout = self.settings.timeout_seconds
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read(MAX_REASON_BODY)
                return _Answer(int(response.status))
        except HTTPError as error:
            with error:
                detail = _short(error.read(MAX_REASON_BODY))
            retry_after = parse_retry_after(error.headers.get("Retry-After"))
            return _Answer(error.code, detail or str(error.reason), retry_after)
        except URLError as error:
            return _Answer(None, str(error.reason))
        except http.client.InvalidURL:  # its message holds the URL, a credential
            return _Answer(None, "invalid URL")
        except (OSError, http.client.HTTPException) as error:
            return _Answer(None, str(error) or type(error).__name__)


def _short(raw: bytes) -> str:
    """A refusing receiver's body as one short line."""
    return " ".join(raw.decode("utf-8", "replace").split())[:MAX_REASON_BODY]
