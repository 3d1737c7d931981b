"""`buzzwatch follow mastodon`: a hashtag or the public timeline of a Mastodon server onto the
mentions topic, by REST pages and by the streaming API, without duplicates across restarts.

The position's `cursor` is the newest status id taken. A poll asks for the statuses after it
(`min_id`), page after page, oldest first. Streaming subscribes first, then catches up by
REST (so nothing posted in between is missed), then takes each `update` event as it comes;
when the stream drops or falls silent it reconnects, catching up again. Ids already sent are
skipped (the position keeps the recent ones), so the overlap of the two is harmless.

A status is a mention with the id `mastodon:HOST:ID`, the author `@user@host`, its text the
content warning, the content with the HTML taken out (a mentioned account as its full handle,
`@user@server`), its poll's options, its media's descriptions (alt text) and the text of the
post it quotes. A boost carries the boosted text.
Deletions and edits are not taken back: the crisis log keeps what was said.

The server's address may also be a timeline page saved as a file named after its server
(`piaille.fr.json`), for a dry run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.brands import BrandMatcher
from pipeline.models import Invalid, Mention, describe_validation_error
from producers.fetch import address, fetch
from producers.follow import Delivery, PollResult, Position, Sink
from producers.kafka_sink import KafkaUnavailable
from producers.markup import plain_text

log = logging.getLogger(__name__)
PAGE_SIZE = 40  # Mastodon's largest page
MAX_PAGES = 25  # per poll: 1,000 statuses; the next poll goes on from there
MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024
REQUEST_SECONDS = 30.0  # a page's whole fetch
SILENCE_SECONDS = 60.0  # Mastodon sends a heartbeat every 15 s: a longer silence is a dead link
MAX_BACKOFF_SECONDS = 60.0
MAX_TEXT = 5000


@dataclass(frozen=True)
class Timeline:
    """Which statuses: those of a hashtag (`tag`), or the public timeline; `local` keeps the
    server's own."""

    tag: str | None = None
    local: bool = False

    def rest_path(self) -> str:
        if self.tag:
            return f"/api/v1/timelines/tag/{urllib.parse.quote(self.tag)}"
        return "/api/v1/timelines/public"

    def stream_path(self) -> str:
        base = "/api/v1/streaming/hashtag" if self.tag else "/api/v1/streaming/public"
        return base + ("/local" if self.local else "")

    def query(self) -> dict[str, str]:
        query = {"tag": self.tag} if self.tag else {}
        return query | ({"local": "true"} if self.local else {})


def parse_status(status: object, host: str, brand: str | None = None) -> Mention | Invalid:
    """A Mastodon status entity (decoded JSON) as a mention of `host`'s ids."""
    if not isinstance(status, dict):
        return Invalid(f"expected a status object, got {type(status).__name__}")
    reblog = status.get("reblog")
    shown: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    text = " — ".join(_texts(shown, host))
    account = status.get("account")
    account = account if isinstance(account, dict) else {}
    acct = str(account.get("acct") or "")
    reply_to = status.get("in_reply_to_id")
    record: dict[str, Any] = {
        "id": f"mastodon:{host}:{status.get('id')}" if status.get("id") else None,
        "created_at": status.get("created_at"),
        "text": text[:MAX_TEXT] or None,
        "lang": shown.get("language"),
        "source": "mastodon",
        "url": status.get("url") or status.get("uri"),
        "in_reply_to": f"mastodon:{host}:{reply_to}" if reply_to else None,
        "brand": brand,
        "engagement": _engagement(status),
    }
    if acct:
        handle = _handle(acct, host)
        followers = account.get("followers_count")
        record["author"] = {"id": handle, "name": handle, "followers": followers}
    try:
        return Mention.model_validate({k: v for k, v in record.items() if v is not None})
    except ValidationError as error:
        return Invalid(f"status {status.get('id')!r}: {describe_validation_error(error)}")


def _texts(status: dict[str, Any], host: str, quoting: bool = True) -> Iterator[str]:
    """What a status says: its content warning, its content (mentioned accounts by their full
    handle, `@user@server`, as brands configure them), its poll's options, its media's
    descriptions (alt text) and, `quoting`, what the post it quotes says (Mastodon 4.4's
    `quote.quoted_status`; a quote within the quote is not followed)."""
    handles = {
        str(m["url"]): _handle(str(m["acct"]), host)
        for m in _dicts(status.get("mentions"))
        if m.get("url") and m.get("acct")
    }
    for part in (status.get("spoiler_text"), status.get("content")):
        if isinstance(part, str) and part.strip():
            yield plain_text(part, handles)
    poll = status.get("poll")
    titles = [o.get("title") for o in _dicts(poll.get("options") if isinstance(poll, dict) else [])]
    options = [title.strip() for title in titles if isinstance(title, str) and title.strip()]
    if options:
        yield " / ".join(options)
    for media in _dicts(status.get("media_attachments")):
        description = media.get("description")
        if isinstance(description, str) and description.strip():
            yield description.strip()
    quote = status.get("quote")
    quoted = quote.get("quoted_status") if isinstance(quote, dict) else None
    if quoting and isinstance(quoted, dict):
        yield from _texts(quoted, host, quoting=False)


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _handle(acct: str, host: str) -> str:
    """`@user@server` of an account: `acct` names the server unless it is `host` itself."""
    return f"@{acct}" if "@" in acct else f"@{acct}@{host}"


def _engagement(status: dict[str, Any]) -> int | None:
    """Favourites, boosts and replies of a status, when the server counts them."""
    counts = [status.get(key) for key in ("favourites_count", "reblogs_count", "replies_count")]
    numbers = [count for count in counts if isinstance(count, int) and count >= 0]
    return sum(numbers) if numbers else None


def id_order(status_id: str) -> tuple[int, str]:
    """Mastodon's ids are numbers in strings (and other servers' fixed-length strings):
    ordered by length, then as strings."""
    return (len(status_id), status_id)


class MastodonClient:
    """The REST and streaming endpoints of one server, with an optional access token."""

    def __init__(
        self, base_url: str, timeline: Timeline, token: str | None = None, stream_url: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stream_url = (stream_url or base_url).rstrip("/")
        self.timeline = timeline
        self.token = token
        self.file = None if "://" in base_url else Path(base_url)
        if self.file is None:
            self.host = urllib.parse.urlsplit(self.base_url).hostname or self.base_url
            self.url = f"{self.base_url}{timeline.rest_path()}"
        else:  # a timeline page saved as HOST.json
            self.host = self.file.name.removesuffix(".json")
            self.url = address(base_url)

    def page(self, after: str | None) -> list[dict[str, Any]]:
        """The statuses right after the id `after` (the newest page when None), oldest first."""
        query = self.timeline.query() | {"limit": str(PAGE_SIZE)}
        if after is not None:
            query["min_id"] = after
        url = self.url if self.file is not None else f"{self.url}?{urllib.parse.urlencode(query)}"
        statuses = json.loads(fetch(self._request(url), REQUEST_SECONDS, MAX_PAGE_BYTES).body)
        if not isinstance(statuses, list):
            raise ValueError(f"a timeline page is a JSON array, got {type(statuses).__name__}")
        listed = [s for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
        if self.file is not None and after is not None:  # a server answers after `min_id`
            listed = [s for s in listed if id_order(s["id"]) > id_order(after)]
        return sorted(listed, key=lambda status: id_order(status["id"]))

    def open_stream(self) -> HTTPResponse:
        """Subscribe to the timeline's stream: the answer's body is server-sent events."""
        if self.file is not None:
            raise ValueError(f"{self.file} is a saved page, not a server: it has no stream")
        query = urllib.parse.urlencode(self.timeline.query())
        url = f"{self.stream_url}{self.timeline.stream_path()}" + (f"?{query}" if query else "")
        request = self._request(url)
        request.add_header("Accept", "text/event-stream")
        response: HTTPResponse = urllib.request.urlopen(request, timeout=SILENCE_SECONDS)
        return response

    def _request(self, url: str) -> urllib.request.Request:
        request = urllib.request.Request(url, headers={"User-Agent": "buzzwatch"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        return request


def events(response: HTTPResponse) -> Iterator[tuple[str, str]]:
    """(event, data) of a server-sent event stream until it ends; heartbeats (comments) are
    skipped. Raises ValueError on an event over `MAX_EVENT_BYTES`."""
    name, data, size = "message", list[str](), 0
    while True:
        line = response.readline(MAX_EVENT_BYTES + 1)
        if not line:
            return
        size += len(line)
        if size > MAX_EVENT_BYTES:
            raise ValueError(f"a stream event over {MAX_EVENT_BYTES} bytes")
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text:
            if data:
                yield name, "\n".join(data)
            name, data, size = "message", [], 0
        elif not text.startswith(":"):
            field, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


class MastodonFollower:
    """One timeline of one server into a sink, remembering its position."""

    def __init__(
        self,
        client: MastodonClient,
        sink: Sink,
        position: Position,
        brand: str | None = None,
        matcher: BrandMatcher | None = None,
    ) -> None:
        self.client = client
        self.url = client.url
        self.position = position
        self.brand = brand
        self._delivery = Delivery(self.url, sink, position, matcher)

    def poll(self) -> PollResult:
        """Take the statuses after the cursor, up to `MAX_PAGES` pages; the first poll of a
        new position takes the newest page only. Raises OSError, ValueError or
        KafkaUnavailable; the pages sent before the failure stay recorded."""
        result = PollResult()
        for _ in range(MAX_PAGES):
            page = self.client.page(self.position.cursor)
            if not page:
                break
            self.take(page, result)
            if len(page) < PAGE_SIZE:
                break
        else:
            log.info("%s: more than %d pages behind; the next poll goes on", self.url, MAX_PAGES)
        result.unchanged = result.new + result.seen + result.invalid == 0
        return result

    def take(self, statuses: Sequence[object], result: PollResult) -> None:
        """Deliver `statuses`, then move the cursor past the newest of them."""
        records = [parse_status(s, self.client.host, self.brand) for s in statuses]
        ids = [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
        cursor = self.position.cursor
        newest = max([*ids, *([cursor] if cursor else [])], key=id_order, default=None)
        self._delivery.send(records, result, cursor=newest)

    def stream(self, stop: threading.Event) -> None:
        """Subscribe, catch up by REST, then take each new status until the stream ends,
        falls silent for `SILENCE_SECONDS`, or `stop` is set. Raises OSError, ValueError or
        KafkaUnavailable."""
        response = self.client.open_stream()
        finished = threading.Event()
        threading.Thread(target=_close_on, args=(stop, finished, response), daemon=True).start()
        try:
            caught_up = self.poll()
            log.info("%s: caught up, %d new statuses; streaming", self.url, caught_up.new)
            for event, data in events(response):
                if stop.is_set():
                    return
                if event == "update":
                    result = PollResult()
                    self.take([_decoded(data)], result)
                    if result.new:
                        log.info("%s: streamed %d records", self.url, result.records)
        finally:
            finished.set()
            response.close()


def stream_follow(follower: MastodonFollower, stop: threading.Event) -> int:
    """Stream until `stop`, reconnecting after each failure with a backoff doubling up to
    `MAX_BACKOFF_SECONDS` (reset by a stream that delivered)."""
    backoff = 1.0
    while not stop.is_set():
        before = follower.position.cursor
        try:
            follower.stream(stop)
        except (OSError, ValueError, HTTPException, KafkaUnavailable) as error:
            if stop.is_set():
                break
            log.warning("%s: stream failed, reconnecting: %s", follower.url, error)
        else:
            log.info("%s: stream ended, reconnecting", follower.url)
        backoff = (
            1.0 if follower.position.cursor != before else min(2 * backoff, MAX_BACKOFF_SECONDS)
        )
        if stop.wait(backoff):
            break
    return 0


def _decoded(data: str) -> object:
    """An event's JSON payload; the text itself when it is not JSON (then reported invalid)."""
    try:
        return json.loads(data)
    except ValueError:
        return data


def _close_on(stop: threading.Event, finished: threading.Event, response: HTTPResponse) -> None:
    """Unblock a stream's read when `stop` is set (shutting the socket down), then end."""
    while not finished.wait(0.5):
        if stop.is_set():
            sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
