"""Feeds as mentions, and `buzzwatch follow rss` from a local feed server onto the real broker:
entries once each, across restarts, with conditional requests; the dry run; the corpus of
real-world feeds and edge cases checked against feedparser."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Invalid, Mention
from producers import follow as follow_module
from producers.feeds import parse_feed
from producers.follow import Delivery, FeedFollower, PollResult, Position, PrintedSink
from producers.kafka_sink import KafkaUnavailable, MentionSink, in_time
from tests.broker.kafka_broker import create_topic
from tests.helpers import buzzwatch, read_topic
from tests.servers import serving as http_serving

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
RSS = (FEEDS / "blog.rss").read_bytes()
NEW_ITEM = b"""<item>
      <title>Ferrand rouvre plus t\xc3\xb4t que pr\xc3\xa9vu</title>
      <guid>blog-1030</guid>
      <pubDate>Thu, 05 Mar 2026 08:00:00 +0100</pubDate>
      <description>Bonne nouvelle pour le quartier.</description>
    </item>
    <item>"""


BLOG = "https://blog.example/feed"


def test_rss_items_become_mentions_oldest_first() -> None:
    records = parse_feed(RSS, BLOG)
    invalid, *mentions = records
    assert isinstance(invalid, Invalid) and "created_at: missing" in invalid.reason
    assert (
        "blog-draft" in invalid.reason and "no published, created or updated date" in invalid.reason
    )
    cafes, ferrand = (m for m in mentions if isinstance(m, Mention))
    assert ferrand.id == f"rss:{BLOG}#blog-1021"  # a feed's own id, not a URI: namespaced
    assert ferrand.source == "rss" and ferrand.lang == "fr-FR"
    assert ferrand.created_at == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)
    assert ferrand.text == (
        "La boulangerie Ferrand ferme trois semaines — Travaux chez Ferrand : les habitués "
        "sont déçus."
    )
    assert ferrand.author is not None and ferrand.author.name == "Claire M."
    assert ferrand.url == "https://blog.example/2026/03/ferrand-ferme"
    assert cafes.id == "rss:https://blog.example/2026/03/cafes"
    assert cafes.text.endswith("notre adresse du dimanche & du lundi.")
    assert cafes.brand is None
    assert {m.brand for m in parse_feed(RSS, BLOG, "Acme") if isinstance(m, Mention)} == {"Acme"}
    undated = datetime(2026, 3, 6, 12, tzinfo=UTC)
    *_, draft = parse_feed(RSS, BLOG, undated=undated)  # dated when first seen
    assert isinstance(draft, Mention) and draft.created_at == undated


def test_atom_entries_become_mentions() -> None:
    first, second = parse_feed((FEEDS / "news.atom").read_bytes(), "https://news.example/atom")
    assert isinstance(first, Mention) and isinstance(second, Mention)
    assert (first.id, first.source, first.lang) == ("atom:urn:news:8841", "atom", "en")
    assert first.created_at == datetime(2026, 3, 4, 14, 20, tzinfo=UTC)  # published, not updated
    assert first.text == "Skyvale cancels 40 flights after IT outage — Passengers stranded at Orly."
    assert first.url == "https://news.example/skyvale-outage"
    assert first.author is not None and first.author.name == "Sam Reed"
    assert (second.lang, second.url) == ("fr", "https://news.example/skyvale-excuses")
    assert second.created_at == datetime(2026, 3, 4, 15, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<html><body>hi</body></html>", "not a feed"),
        (b"<rss", "not a feed"),
        (str(FEEDS / "blog.rss").encode(), "not a feed"),  # bytes, never read as a path
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<rss><channel><item><title>&b;</title></item></channel></rss>",
            "declares XML entities",  # no expansion
        ),
        (
            '<?xml version="1.0" encoding="UTF-16"?><!-- padding --><!DOCTYPE r [<!ENTITY a "a">]>'
            "<rss><channel><item><title>&a;</title></item></channel></rss>".encode("utf-16"),
            "declares XML entities",  # in any encoding
        ),
    ],
)
def test_what_is_not_a_feed_is_refused_with_its_reason(document: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_feed(document, "https://x.example/feed")


class FeedServer:
    """Serves one feed document on 127.0.0.1, with an ETag; counts the 304s it gives."""

    def __init__(self) -> None:
        self.body = RSS
        self.not_modified = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                etag = f'"{hash(server.body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    server.not_modified += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/feed.rss"


@contextmanager
def serving() -> Iterator[FeedServer]:
    feed = FeedServer()
    with http_serving(feed.http):
        yield feed


def test_follow_sends_each_entry_once_across_restarts(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = f"follow-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=3)
    config = tmp_path / "brands.toml"
    brands = '[brands."Boulangerie Ferrand"]\naliases = ["Ferrand"]\n[brands."Café Colette"]\n'
    config.write_text(brands, "utf-8")
    state = tmp_path / "blog.position.json"
    with serving() as feed:
        command = ["follow", "rss", feed.url, "--once", "--state", str(state)]
        command += ["--config", str(config), "--bootstrap-servers", kafka_bootstrap]
        command += ["--topic", topic]
        first = buzzwatch(*command)
        assert "2 new entries sent as 2 records, 0 already sent, 1 invalid" in first.stderr
        assert "created_at: missing" in first.stderr
        assert "not modified" in buzzwatch(*command).stderr  # a restart: If-None-Match
        assert feed.not_modified == 1

        feed.body = RSS.replace(b"<item>", NEW_ITEM, 1)  # one more entry, a new ETag
        third = buzzwatch(*command)
        assert "1 new entries sent as 1 records, 2 already sent, 1 invalid" in third.stderr
        saved = json.loads(state.read_text())
        assert saved["ids"] == [
            "rss:https://blog.example/2026/03/cafes",
            f"rss:{feed.url}#blog-1021",
            f"rss:{feed.url}#blog-1030",
        ]

        state.write_text(json.dumps({**saved, "etag": None}))  # no validator: ids alone
        assert "0 new entries sent as 0 records, 3 already sent" in buzzwatch(*command).stderr
    records = read_topic(kafka_bootstrap, topic, want=3, patience=1.0)
    sent = sorted((r.key, Mention.model_validate_json(r.value).id) for r in records)
    assert sent == [
        (b"Boulangerie Ferrand", f"rss:{feed.url}#blog-1021"),
        (b"Boulangerie Ferrand", f"rss:{feed.url}#blog-1030"),
        (b"Caf\xc3\xa9 Colette", "rss:https://blog.example/2026/03/cafes"),
    ]


def test_follow_fails_a_single_poll_it_cannot_make_and_records_nothing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    state = tmp_path / "p.json"
    command = [sys.executable, "-m", "buzzwatch", "follow", "rss", "http://127.0.0.1:9/none"]
    command += ["--once", "--state", str(state), "--bootstrap-servers", kafka_bootstrap]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and "poll failed, nothing recorded" in result.stderr
    assert not state.exists()


def test_an_entry_dated_ahead_of_the_clock_waits_for_its_time(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    soon, later = (now + timedelta(minutes=30)).isoformat(), (now + timedelta(hours=3)).isoformat()
    records = [
        Mention(id="soon", created_at=soon, text="Ferrand ouvre"),
        Mention(id="later", created_at=later, text="Ferrand ouvrira"),
    ]
    position = Position(tmp_path / "p.json")
    sink = MentionSink({"bootstrap_servers": "127.0.0.1:9"}, "none", send_timeout=2.0)
    sink.start()
    try:
        with pytest.raises(KafkaUnavailable):  # "soon" is sent; nothing reached Kafka
            Delivery("feed", sink, position, None).send(records[:1], PollResult())
        result = PollResult()
        Delivery("feed", sink, position, None).send(records[1:], result)  # nothing to send
    finally:
        sink.close()
    assert (result.new, result.invalid) == (0, 1)
    assert position.ids == []  # "later" is taken at a poll once its time has come
    refused = in_time(records[1])
    assert isinstance(refused, Invalid) and "more than an hour ahead" in refused.reason


def test_a_dry_run_prints_what_it_would_send_and_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "brands.toml"
    config.write_text('[brands."Boulangerie Ferrand"]\naliases = ["Ferrand"]\n', "utf-8")
    feed = tmp_path / "blog.rss"
    feed.write_bytes(RSS)
    state = tmp_path / "blog.position.json"
    state.write_text(json.dumps({"ids": [f"rss:{feed.as_uri()}#blog-1021"]}), "utf-8")
    before = state.read_bytes()
    command = ["follow", "rss", str(feed), "--once", "--dry-run", "--config", str(config)]
    first = buzzwatch(*command)  # no --state: nothing known, no Kafka anywhere
    printed = [Mention.model_validate_json(line) for line in first.stdout.splitlines()]
    assert [(m.id, m.brand) for m in printed] == [
        ("rss:https://blog.example/2026/03/cafes", None),  # names no configured brand
        (f"rss:{feed.as_uri()}#blog-1021", "Boulangerie Ferrand"),  # a file's ids: its URI
    ]
    assert "created_at: missing" in first.stderr and "1 invalid" in first.stderr

    known = buzzwatch(*command, "--state", str(state))
    assert [Mention.model_validate_json(line).id for line in known.stdout.splitlines()] == [
        "rss:https://blog.example/2026/03/cafes"
    ]
    assert "1 already sent" in known.stderr
    assert state.read_bytes() == before

    undated = buzzwatch(*command, "--brand", "Acme", "--date-undated")  # dated when first seen
    drafts = [Mention.model_validate_json(line) for line in undated.stdout.splitlines()]
    assert [m.id for m in drafts] == [
        "rss:https://blog.example/2026/03/cafes",
        f"rss:{feed.as_uri()}#blog-1021",
        f"rss:{feed.as_uri()}#blog-draft",
    ]
    assert abs(drafts[-1].created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_a_follow_without_a_position_or_a_dry_run_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buzzwatch", "follow", "rss", "feed.xml", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "--state is required (or --dry-run)" in result.stderr


class Misbehaving(BaseHTTPRequestHandler):
    """A feed server that drips its headers, drips its body, or cuts its body short."""

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path == "/headers":
            self.flush_headers()  # the status line
            for number in range(200):  # 20 s at most, far past the deadline
                if not self._sent(f"X-Slow-{number}: 1\r\n".encode()):
                    return
                time.sleep(0.1)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", "1000000" if self.path == "/body" else str(len(RSS)))
        self.end_headers()
        if self.path == "/short":
            self._sent(RSS[:100])
            return
        for _ in range(200):
            if not self._sent(b" "):
                return
            time.sleep(0.1)

    def _sent(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/headers", TimeoutError, "not fetched in 1 s"),
        ("/body", TimeoutError, "not fetched in 1 s"),
        ("/short", ValueError, "answer cut short"),
    ],
)
def test_a_misbehaving_server_cannot_hold_the_follower_or_save_a_cut_feed(
    monkeypatch: pytest.MonkeyPatch, path: str, error: type[Exception], message: str
) -> None:
    monkeypatch.setattr(follow_module, "FETCH_SECONDS", 1.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    position = Position(None)
    follower = FeedFollower(
        f"http://127.0.0.1:{server.server_address[1]}{path}", PrintedSink(), position
    )
    started = time.monotonic()
    with http_serving(server), pytest.raises(error, match=message):
        follower.poll()
    assert time.monotonic() - started < 5.0
    assert position.etag is None  # nothing of a failed fetch is kept
