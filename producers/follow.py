"""`buzzwatch follow rss URL`: a feed polled onto the mentions topic, without duplicates
across restarts.

Each poll fetches the feed (conditionally: ETag, Last-Modified; at most `MAX_FEED_BYTES` in
at most `FETCH_SECONDS` in all), keeps the entries whose id is not in the saved position, sends
them and waits for Kafka's acknowledgement, and only then adds their ids to the position
file (written atomically). A crash between the two sends them again at the next start (the
engine counts a repeated id once); nothing is lost. The feed's address may be a local file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any, Protocol

from pipeline.brands import BrandMatcher, assigned
from pipeline.models import Invalid, Mention
from producers.feeds import parse_feed
from producers.fetch import address, fetch
from producers.kafka_sink import KafkaUnavailable, in_time

log = logging.getLogger(__name__)
MAX_FEED_BYTES = 10 * 1024 * 1024
FETCH_SECONDS = 60.0  # the whole fetch, however slowly the server sends
KEEP_IDS = 10_000  # ids remembered per feed: far more than a feed ever lists


class Position:
    """What a source has delivered: its recent entry ids, the validators of its last answer
    (feeds) or the source's own id of the newest post taken (`cursor`: Mastodon), in a JSON
    file replaced atomically; with no path, or `keep` false (a dry run reads the file but
    does not change it), in memory only."""

    def __init__(self, path: Path | None, keep: bool = True) -> None:
        self.path = path if keep else None
        state: dict[str, Any] = {}
        if path is not None and path.exists():
            state = json.loads(path.read_text(encoding="utf-8"))
        self.ids: list[str] = state.get("ids", [])
        self.etag: str | None = state.get("etag")
        self.modified: str | None = state.get("modified")
        self.cursor: str | None = state.get("cursor")
        self._seen = set(self.ids)

    def seen(self, mention_id: str) -> bool:
        return mention_id in self._seen

    def add(self, ids: Sequence[str]) -> None:
        self.ids = [*self.ids, *ids][-KEEP_IDS:]
        self._seen = set(self.ids)

    def save(self) -> None:
        if self.path is None:
            return
        state = {"ids": self.ids, "etag": self.etag, "modified": self.modified}
        if self.cursor is not None:
            state["cursor"] = self.cursor
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        os.replace(partial, self.path)


@dataclass
class PollResult:
    """What one poll did."""

    new: int = 0
    records: int = 0  # records sent: one per brand a mention names
    seen: int = 0
    invalid: int = 0
    unchanged: bool = False  # 304 Not Modified


class Sink(Protocol):
    """Where a source's mentions go: Kafka (`MentionSink`) or, for a dry run, stdout."""

    def send(self, mentions: Sequence[Mention]) -> None: ...


class PrintedSink:
    """A dry run's sink: each mention it would send, as one JSON line on stdout."""

    def send(self, mentions: Sequence[Mention]) -> None:
        for mention in mentions:
            sys.stdout.write(mention.model_dump_json(exclude_none=True) + "\n")
        sys.stdout.flush()


class Delivery:
    """Sends a source's mentions onto Kafka once each: skips ids already in the position,
    assigns brands, waits for Kafka's acknowledgement, and only then records the ids. A
    mention dated over an hour ahead of the clock is reported invalid and not recorded (a
    feed's entry is taken at a later poll, once its time has come)."""

    def __init__(
        self, source: str, sink: Sink, position: Position, matcher: BrandMatcher | None
    ) -> None:
        self.source = source
        self.sink = sink
        self.position = position
        self.matcher = matcher
        self._reported: set[str] = set()

    def send(
        self, records: Sequence[Mention | Invalid], result: PollResult, cursor: str | None = None
    ) -> None:
        """Deliver `records`, then save the position, with `cursor` as its new cursor if
        given; raises KafkaUnavailable, recording nothing, when Kafka does not acknowledge."""
        fresh: dict[str, Mention] = {}
        for record in map(in_time, records):
            if isinstance(record, Invalid):
                result.invalid += 1
                if record.reason not in self._reported:
                    self._reported.add(record.reason)
                    log.warning("%s: %s", self.source, record.reason)
            elif self.position.seen(record.id) or record.id in fresh:
                result.seen += 1
            else:
                fresh[record.id] = record
        sent = [m for mention in fresh.values() for m in assigned(self.matcher, mention)]
        if sent:
            self.sink.send(sent)
        self.position.add(list(fresh))
        if cursor is not None:
            self.position.cursor = cursor
        self.position.save()
        result.new += len(fresh)
        result.records += len(sent)


class FeedFollower:
    """Polls one feed (a URL or a local file) into a sink, remembering its position. With
    `date_undated`, an entry without a readable date is dated when first seen; otherwise it
    is reported invalid with the reason."""

    def __init__(
        self,
        url: str,
        sink: Sink,
        position: Position,
        brand: str | None = None,
        matcher: BrandMatcher | None = None,
        date_undated: bool = False,
    ) -> None:
        self.url = url
        self.address = address(url)  # the namespace of the feed's own ids too
        self.position = position
        self.brand = brand
        self.date_undated = date_undated
        self._delivery = Delivery(url, sink, position, matcher)

    def poll(self) -> PollResult:
        """One fetch; raises OSError (fetch), ValueError (not a feed) or KafkaUnavailable."""
        result = PollResult()
        fetched = self._fetch()
        if fetched is None:
            result.unchanged = True
            return result
        raw, content_type = fetched
        undated = datetime.now(UTC) if self.date_undated else None
        records = parse_feed(raw, self.address, self.brand, content_type, undated)
        self._delivery.send(records, result)
        return result

    def _fetch(self) -> tuple[bytes, str | None] | None:
        """The feed's bytes and content type, or None when it has not changed since the last
        poll."""
        request = urllib.request.Request(self.address, headers={"User-Agent": "buzzwatch"})
        if self.position.etag:
            request.add_header("If-None-Match", self.position.etag)
        if self.position.modified:
            request.add_header("If-Modified-Since", self.position.modified)
        try:
            raw, headers = fetch(request, FETCH_SECONDS, MAX_FEED_BYTES)
        except urllib.error.HTTPError as error:
            if error.code == 304:
                return None
            raise
        self.position.etag = headers.get("ETag")
        self.position.modified = headers.get("Last-Modified")
        return raw, headers.get("Content-Type")


class Follower(Protocol):
    """A source polled by `follow`."""

    url: str

    def poll(self) -> PollResult: ...


def follow(follower: Follower, every: float, stop: threading.Event, once: bool) -> int:
    """Poll every `every` seconds until `stop` (or once); failures are logged and retried at
    the next poll. The exit status: 1 if the single poll of `once` failed."""
    while True:
        try:
            result = follower.poll()
        except (OSError, ValueError, HTTPException, KafkaUnavailable) as error:
            log.warning("%s: poll failed, nothing recorded: %s", follower.url, error)
            if once:
                return 1
        else:
            counts = f"{result.new} new entries sent as {result.records} records, "
            counts += f"{result.seen} already sent, {result.invalid} invalid"
            log.info("%s: %s", follower.url, "not modified" if result.unchanged else counts)
        if once or stop.wait(every):
            return 0
