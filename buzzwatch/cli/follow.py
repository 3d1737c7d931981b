"""`buzzwatch follow rss|mastodon`: a feed or a Mastodon timeline polled (or streamed) onto
the mentions topic, or printed (`--dry-run`)."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from buzzwatch.cli.common import SubParsers, configured, fail, on_stop_signals

if TYPE_CHECKING:
    from pipeline.brands import BrandMatcher
    from producers.follow import Position, Sink

MASTODON_TOKEN_ENV = "BUZZWATCH_MASTODON_TOKEN"


def add_command(commands: SubParsers) -> None:
    fo = commands.add_parser("follow", help="poll a source onto the mentions topic")
    fo.add_argument(
        "kind",
        choices=["rss", "mastodon"],
        help="rss: a feed (RSS, RDF, Atom); mastodon: a Mastodon server's timeline "
        f"(token, if the server asks for one, in ${MASTODON_TOKEN_ENV})",
    )
    fo.add_argument(
        "url",
        help="the feed's URL or file; the Mastodon server's URL (https://host), or a timeline "
        "page saved as HOST.json",
    )
    fo.add_argument("--state", type=Path, help="position file (JSON); needed unless --dry-run")
    fo.add_argument(
        "--dry-run",
        action="store_true",
        help="print the mentions it would send as JSON lines; no Kafka, the position unchanged",
    )
    fo.add_argument(
        "--date-undated",
        action="store_true",
        help="rss: date an entry without a readable date when first seen (default: reported "
        "invalid)",
    )
    fo.add_argument("--brand", help="brand of every entry (default: brand matching)")
    fo.add_argument("--every", type=float, default=300.0, help="seconds between polls")
    fo.add_argument("--once", action="store_true", help="poll once and exit")
    fo.add_argument("--tag", help="mastodon: this hashtag's timeline (default: public)")
    fo.add_argument("--local", action="store_true", help="mastodon: the server's own posts only")
    fo.add_argument(
        "--stream", action="store_true", help="mastodon: the streaming API instead of polls"
    )
    fo.add_argument("--streaming-url", default="", help="mastodon: if not the server's URL")
    fo.add_argument("--config", type=Path, help="TOML configuration file ([kafka], [brands])")
    fo.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    fo.add_argument("--topic", dest="mentions_topic", help="default: [kafka] mentions_topic")
    fo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from pipeline.brands import brand_matcher
    from producers.follow import Position, PrintedSink
    from producers.kafka_sink import MentionSink

    if args.state is None and not args.dry_run:
        return fail("follow", "--state is required (or --dry-run)")
    with configured(args.config) as config:
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, mentions_topic=args.mentions_topic
        )
        matcher = brand_matcher(config)
        position = Position(args.state, keep=not args.dry_run)
    stop = threading.Event()
    on_stop_signals(stop.set)
    if args.dry_run:
        return _poll_source(args, PrintedSink(), position, matcher, stop)
    sink = MentionSink(kafka.client_options(), kafka.mentions_topic, send_timeout=30.0)
    sink.start()
    try:
        if not sink.wait_connected(stop, timeout=60.0):
            return fail("follow", sink.problem, 1)
        return _poll_source(args, sink, position, matcher, stop)
    finally:
        sink.close()


def _poll_source(
    args: argparse.Namespace,
    sink: Sink,
    position: Position,
    matcher: BrandMatcher | None,
    stop: threading.Event,
) -> int:
    """`follow`'s polls (or stream) of the source into `sink` until `stop`."""
    from producers.follow import FeedFollower, follow
    from producers.mastodon import MastodonClient, MastodonFollower, Timeline, stream_follow

    how = (args.every, stop, args.once)
    if args.kind == "rss":
        feed = FeedFollower(args.url, sink, position, args.brand, matcher, args.date_undated)
        return follow(feed, *how)
    token = os.environ.get(MASTODON_TOKEN_ENV) or None
    timeline = Timeline(args.tag.lstrip("#") if args.tag else None, args.local)
    client = MastodonClient(args.url, timeline, token, args.streaming_url)
    toots = MastodonFollower(client, sink, position, args.brand, matcher)
    return stream_follow(toots, stop) if args.stream and not args.once else follow(toots, *how)
