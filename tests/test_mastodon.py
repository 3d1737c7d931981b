"""Mastodon statuses as mentions, and `buzzwatch follow mastodon` from a local server that
answers with recorded API payloads (REST pages and the streaming API) onto the real broker:
each status once, across restarts and dropped streams."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.brands import brand_matcher
from pipeline.models import Invalid, Mention
from producers import mastodon
from producers.follow import PollResult, Position
from producers.kafka_sink import MentionSink
from producers.mastodon import MastodonClient, MastodonFollower, Timeline, parse_status
from tests.broker.kafka_broker import create_topic
from tests.helpers import buzzwatch, read_topic
from tests.servers import serving as http_serving

PAYLOADS = Path(__file__).parent / "fixtures" / "mastodon"
FIRST_PAGE: list[dict[str, Any]] = json.loads((PAYLOADS / "tag_ferrand.json").read_text("utf-8"))
LATER: list[dict[str, Any]] = json.loads((PAYLOADS / "later.json").read_text("utf-8"))
BOOST, POSTED_WHILE_DOWN, STREAMED_LAST = LATER
HOST = "127.0.0.1"
SERVER_SECONDS = 60.0  # the longest a stream connection is held open


def test_a_status_becomes_a_mention_with_plain_text() -> None:
    reply, complaint, question, empty = (parse_status(s, "social.example") for s in FIRST_PAGE)
    assert isinstance(complaint, Mention)
    assert complaint.id == "mastodon:social.example:110000000000000102"
    assert complaint.text == (  # content warning, then the content; <br> and <p> are spaces
        "Coup de gueule — Le pain était brûlé ce matin. Franchement déçu #Ferrand "
        "Je ne recommande pas."
    )
    assert complaint.created_at == datetime(2026, 3, 5, 8, 3, 40, tzinfo=UTC)
    assert (complaint.lang, complaint.source) == ("fr", "mastodon")
    assert complaint.engagement == 7  # favourites, boosts and replies
    assert complaint.author is not None
    assert (complaint.author.id, complaint.author.followers) == ("@remy@toot.example", 1450)
    assert isinstance(question, Mention) and question.text.endswith("pour le pain ?")
    assert question.author is not None and question.author.id == "@claire@social.example"
    assert isinstance(reply, Mention)
    assert reply.in_reply_to == "mastodon:social.example:110000000000000101"
    assert reply.text.startswith("@claire Nous rouvrons")
    assert isinstance(empty, Invalid) and empty.reason == (
        "status '110000000000000100': text: missing"
    )
    boost = parse_status(BOOST, "social.example", brand="Boulangerie Ferrand")
    assert isinstance(boost, Mention) and boost.brand == "Boulangerie Ferrand"
    assert (boost.id, boost.text, boost.lang) == (
        "mastodon:social.example:110000000000000104",
        complaint.text,
        "fr",
    )
    assert parse_status(["no"], "x") == Invalid("expected a status object, got list")


def _status(**fields: Any) -> dict[str, Any]:
    """A status entity as Mastodon's API documents it, with these fields."""
    account = {"id": "9", "acct": "lea", "followers_count": 12}
    return {"id": "1", "created_at": "2026-03-05T08:00:00.000Z", "account": account} | fields


def test_mentioned_accounts_read_as_the_handles_brands_configure() -> None:
    content = (
        '<p><span class="h-card" translate="no"><a href="https://piaille.fr/@ferrand" '
        'class="u-url mention">@<span>ferrand</span></a></span> et <span class="h-card">'
        '<a href="https://social.example/@claire" class="u-url mention">@<span>claire</span>'
        "</a></span> : toujours pas de pain ?</p>"
    )
    mentions = [
        {"id": "7", "username": "ferrand", "url": "https://piaille.fr/@ferrand"},
        {"id": "8", "username": "claire", "url": "https://social.example/@claire"},
    ]
    mentions[0]["acct"], mentions[1]["acct"] = "ferrand@piaille.fr", "claire"  # claire is local
    status = _status(content=content, mentions=mentions, language="fr")
    mention = parse_status(status, "social.example")
    assert isinstance(mention, Mention)
    assert mention.text == "@ferrand@piaille.fr et @claire@social.example : toujours pas de pain ?"
    config = {"brands": {"Boulangerie Ferrand": {"handles": ["@ferrand@piaille.fr"]}}}
    matcher = brand_matcher(config)  # the integrators guide's example
    assert matcher is not None
    assert [m.brand for m in matcher.assign(mention)] == ["Boulangerie Ferrand"]


def test_alt_text_and_poll_options_are_part_of_the_text() -> None:
    photo = {"id": "3", "type": "image", "description": "Vitrine vide, rideau baissé"}
    media_only = parse_status(_status(content="", media_attachments=[photo]), "social.example")
    assert isinstance(media_only, Mention) and media_only.text == "Vitrine vide, rideau baissé"
    poll = {"id": "4", "options": [{"title": "Ferrand", "votes_count": 3}, {"title": "Leclerc"}]}
    asked = parse_status(_status(content="<p>Votre pain du dimanche ?</p>", poll=poll), "x")
    assert isinstance(asked, Mention)
    assert asked.text == "Votre pain du dimanche ? — Ferrand / Leclerc"


def test_a_quote_carries_the_quoted_text_one_level_deep() -> None:
    inner = _status(id="5", content="<p>Ferrand ferme tout l'été</p>")
    quoted = _status(id="6", content="<p>Du pain rassis chez Ferrand</p>")
    quoted["quote"] = {"state": "accepted", "quoted_status": inner}
    quoting = _status(content="<p>Pas étonnant</p>")
    quoting["quote"] = {"state": "accepted", "quoted_status": quoted}
    mention = parse_status(quoting, "social.example")
    assert isinstance(mention, Mention)
    assert mention.text == "Pas étonnant — Du pain rassis chez Ferrand"
    shallow = _status(content="<p>Pas étonnant</p>")
    shallow["quote"] = {"state": "pending", "quoted_status_id": "6"}  # nothing to read yet
    assert getattr(parse_status(shallow, "social.example"), "text", None) == "Pas étonnant"


class FakeMastodon:
    """A hashtag timeline over REST (`min_id`, `limit`, newest first) and its stream: each
    connection plays the next script of events; the first adds a status when it drops."""

    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = list(FIRST_PAGE)
        self.scripts: list[list[tuple[str, str]]] = []
        self.streams = 0
        self.pages: list[dict[str, str]] = []
        self.auth: set[str | None] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                server.auth.add(self.headers.get("Authorization"))
                if url.path == "/api/v1/timelines/tag/ferrand":
                    server.pages.append(query)
                    self._json(server.page(query))
                elif url.path == "/api/v1/streaming/hashtag" and query == {"tag": "ferrand"}:
                    self._stream()
                else:
                    self.send_error(404)

            def _json(self, value: object) -> None:
                body = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                number, server.streams = server.streams, server.streams + 1
                script = server.scripts[number] if number < len(server.scripts) else []
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b":)\n")
                for event, data in script:
                    time.sleep(0.1)
                    self.wfile.write(f"event: {event}\ndata: {data}\n\n".encode())
                    self.wfile.write(b":thump\n")
                    self.wfile.flush()
                if number == 0:  # dropped; something is posted before the client is back
                    server.statuses.insert(0, POSTED_WHILE_DOWN)
                    return
                deadline = time.monotonic() + SERVER_SECONDS
                while time.monotonic() < deadline:
                    time.sleep(0.2)
                    try:
                        self.wfile.write(b":thump\n")
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer((HOST, 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://{HOST}:{self.http.server_address[1]}"

    def page(self, query: dict[str, str]) -> list[dict[str, Any]]:
        limit = int(query.get("limit", "20"))
        after = query.get("min_id")
        ordered = sorted(self.statuses, key=lambda s: mastodon.id_order(s["id"]))
        if after is None:
            return ordered[-limit:][::-1]
        newer = [s for s in ordered if mastodon.id_order(s["id"]) > mastodon.id_order(after)]
        return newer[:limit][::-1]


@contextmanager
def serving() -> Iterator[FakeMastodon]:
    fake = FakeMastodon()
    with http_serving(fake.http):
        yield fake


def test_polls_go_on_page_after_page_from_the_saved_cursor(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mastodon, "PAGE_SIZE", 2)
    topic = f"toots-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=1)
    sink = MentionSink({"bootstrap_servers": kafka_bootstrap}, topic, send_timeout=30.0)
    sink.start()
    state = tmp_path / "position.json"
    try:
        assert sink.wait_connected(threading.Event(), timeout=60.0)
        with serving() as fake:
            client = MastodonClient(fake.url, Timeline("ferrand"), token="t0k")
            first = MastodonFollower(client, sink, Position(state), "Ferrand").poll()
            assert (first.new, first.invalid) == (2, 0)  # the newest page only: 102, 103
            assert Position(state).cursor == "110000000000000103"
            fake.statuses = [*LATER, *fake.statuses]
            again = MastodonFollower(client, sink, Position(state), "Ferrand").poll()
            assert (again.new, again.seen, again.invalid) == (3, 0, 0)  # 104, 105 | 106
            after = [q.get("min_id", "")[-3:] for q in fake.pages]
            assert after == ["", "103", "103", "105"]  # a full page asks for the next
            assert fake.auth == {"Bearer t0k"}
            idle = MastodonFollower(client, sink, Position(state), "Ferrand").poll()
            assert idle.unchanged and Position(state).cursor == "110000000000000106"
    finally:
        sink.close()
    records = read_topic(kafka_bootstrap, topic, want=5, patience=0.5)
    ids = [Mention.model_validate_json(r.value).id[-3:] for r in records]
    assert ids == ["102", "103", "104", "105", "106"]  # oldest first


def test_a_poll_kafka_refuses_moves_nothing(tmp_path: Path) -> None:
    sink = MentionSink({"bootstrap_servers": f"{HOST}:9"}, "none", send_timeout=2.0)
    sink.start()
    state = tmp_path / "position.json"
    try:
        client = MastodonClient("http://127.0.0.1:9", Timeline("ferrand"))
        follower = MastodonFollower(client, sink, Position(state))
        with pytest.raises(mastodon.KafkaUnavailable):
            follower.take(FIRST_PAGE, PollResult())
    finally:
        sink.close()
    assert follower.position.cursor is None and follower.position.ids == []
    assert not state.exists()


def test_follow_streams_each_status_once_across_drops_and_restarts(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    topic = f"toots-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=2)
    config = tmp_path / "brands.toml"
    config.write_text('[brands."Boulangerie Ferrand"]\naliases = ["Ferrand"]\n', "utf-8")
    state = tmp_path / "ferrand.position.json"
    with serving() as fake:
        fake.scripts = [
            [
                ("update", json.dumps(BOOST)),
                ("update", json.dumps(FIRST_PAGE[0])),  # already taken by the catch-up
                ("delete", FIRST_PAGE[2]["id"]),  # never taken back
                ("update", "{not json"),
            ],
            [("update", json.dumps(STREAMED_LAST))],
        ]
        options = ["--state", str(state), "--config", str(config), "--topic", topic]
        options += ["--bootstrap-servers", kafka_bootstrap]
        command = [sys.executable, "-m", "buzzwatch", "follow", "mastodon", fake.url]
        command += ["--tag", "#ferrand", "--stream", *options]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            records = read_topic(kafka_bootstrap, topic, want=6, patience=1.0)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert fake.streams == 2 and "stream ended, reconnecting" in stderr
        assert "text: missing" in stderr and "expected a status object, got str" in stderr
        assert json.loads(state.read_text())["cursor"] == STREAMED_LAST["id"]

        again = buzzwatch("follow", "mastodon", fake.url, "--tag", "ferrand", "--once", *options)
        assert again.returncode == 0 and "not modified" in again.stderr
        assert fake.pages[-1]["min_id"] == STREAMED_LAST["id"]
    sent = sorted((Mention.model_validate_json(r.value).id[-3:], r.key) for r in records)
    ferrand = b"Boulangerie Ferrand"
    assert sent == [  # the bakery's own reply names no brand: sent, not counted
        ("101", ferrand),
        ("102", ferrand),
        ("103", None),
        ("104", ferrand),
        ("105", ferrand),
        ("106", ferrand),
    ]


def test_a_dry_run_reads_a_saved_page_as_its_server_would_be_read(tmp_path: Path) -> None:
    reply = dict(FIRST_PAGE[0], id="110000000000000104", mentions=[])
    reply["content"] = (
        '<p><span class="h-card"><a href="https://piaille.fr/@ferrand" class="u-url mention">'
        "@<span>ferrand</span></a></span> toujours fermé ?</p>"
    )
    reply["mentions"] = [
        {
            "id": "7",
            "username": "ferrand",
            "acct": "ferrand@piaille.fr",
            "url": "https://piaille.fr/@ferrand",
        }
    ]
    page = tmp_path / "social.example.json"  # a timeline page saved as HOST.json
    page.write_text(json.dumps([reply, *FIRST_PAGE]), "utf-8")
    config = tmp_path / "brands.toml"  # the integrators guide's example
    config.write_text(
        '[brands."Boulangerie Ferrand"]\nhandles = ["@ferrand@piaille.fr"]\n', "utf-8"
    )
    command = ["follow", "mastodon", str(page), "--once", "--dry-run", "--config", str(config)]
    run = buzzwatch(*command)
    printed = [Mention.model_validate_json(line) for line in run.stdout.splitlines()]
    assert [m.id.rsplit(":", 1)[1] for m in printed] == [
        "110000000000000101",
        "110000000000000102",
        "110000000000000103",
        "110000000000000104",
    ]
    assert "status '110000000000000100': text: missing" in run.stderr  # an empty status
    assert all(m.id.startswith("mastodon:social.example:") for m in printed)
    (answered,) = [m for m in printed if m.brand == "Boulangerie Ferrand"]
    assert answered.text == "@ferrand@piaille.fr toujours fermé ?"

    state = tmp_path / "social.position.json"
    state.write_text(json.dumps({"ids": [], "cursor": "110000000000000103"}), "utf-8")
    after = buzzwatch(*command, "--state", str(state)).stdout.splitlines()
    assert [Mention.model_validate_json(line).id for line in after] == [
        "mastodon:social.example:110000000000000104"  # only what is after the saved cursor
    ]
    assert json.loads(state.read_text("utf-8"))["cursor"] == "110000000000000103"
