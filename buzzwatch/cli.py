"""The `buzzwatch` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from tqdm import tqdm

from buzzwatch.configuration import ConfigError, load_config
from buzzwatch.kafka_cli import add_commands as add_kafka_commands
from buzzwatch.replay_setup import ReplaySetup
from pipeline.brands import BrandMatcher, brand_matcher
from pipeline.crisis_log import CrisisLog
from pipeline.desk import Desk, LoggedDesk, seen_of
from pipeline.engine import Scored
from pipeline.models import AlertEvent, Invalid, Mention, iso_utc
from pipeline.records import (
    MAX_KEPT_REJECTIONS,
    Rejections,
    input_format,
    open_input,
    read_records,
)
from pipeline.replay import ReplaySummary, replay
from pipeline.settings import DetectionSettings, detection_settings
from pipeline.statements import HoldingStatements

if TYPE_CHECKING:
    import pandas as pd

    from buzzwatch.series import SeriesCollector
    from producers.follow import Position, Sink

MASTODON_TOKEN_ENV = "BUZZWATCH_MASTODON_TOKEN"
LOG_LEVEL_ENV = "BUZZWATCH_LOG_LEVEL"
LOG_LEVELS = ("debug", "info", "warning", "error")


# Modules registering the last commands, with the commands each adds (`evaluate` is a group
# the first creates and the others add to). A module is imported only when one of its commands
# is asked for, or for the full help: their imports (the evaluations, numpy, the report
# renderers) are heavy, and `replay` or `detect` do not need them.
LATER_COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("buzzwatch.backtest_cli", ("backtest", "evaluate")),
    ("buzzwatch.crisis_cli", ("evaluate",)),
    ("buzzwatch.desk_cli", ("desk", "queue")),
    ("buzzwatch.report_cli", ("report",)),
    ("buzzwatch.sentiment_cli", ("evaluate",)),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `buzzwatch` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(_command_of(arguments))
    args = parser.parse_args(arguments)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"${LOG_LEVEL_ENV} is {args.log_level!r}: give one of {', '.join(LOG_LEVELS)}")
    _set_up_logging(args.log_level)
    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"{args.command}: error: {error}", file=sys.stderr)
        return 2


def _set_up_logging(level: str) -> None:
    """Log lines with their level, at `level`; the Kafka client's own lines at `warning` or
    above unless `debug` is asked for (at `info` they are most of the output)."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if level != "debug":
        logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))


def _command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` asks for: its first word, after `--log-level` if given; None when
    another option comes first (`-h`: the full help)."""
    words = iter(argv)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif word.startswith("--log-level="):
            continue
        else:
            return None if word.startswith("-") else word
    return None


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; given the `command` asked for, only the modules it needs."""
    parser = argparse.ArgumentParser(prog="buzzwatch", description=__doc__)
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=os.environ.get(LOG_LEVEL_ENV, "info").lower(),
        help=f"default: ${LOG_LEVEL_ENV}, else info",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")

    demo = commands.add_parser("demo", help="run the pipeline on the shipped sample stream")
    demo.add_argument("--alerts-out", type=Path, help="also write the alert events (JSONL)")
    demo.set_defaults(run=_demo)

    rp = commands.add_parser(
        "replay",
        help="run a mention file, or a Kafka topic's time range, through the engine",
        description=_REPLAY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _replay_arguments(rp)
    rp.set_defaults(run=_replay, replay_parser=rp)

    pr = commands.add_parser("produce", help="push a mention file onto a Kafka topic")
    _input_arguments(pr)
    pr.add_argument("--topic", help="default: [kafka] mentions_topic, buzzwatch.mentions")
    pr.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    pr.add_argument("--speed", type=float, help="pace by event time, N times real time")
    pr.set_defaults(run=_produce)

    ig = commands.add_parser("ingest", help="take mentions over HTTP onto the mentions topic")
    ig.add_argument(
        "--config", type=Path, help="TOML configuration file ([ingest], [brands], [webhooks])"
    )
    ig.add_argument("--address", help="default: [ingest] address, 0.0.0.0")
    ig.add_argument("--port", type=int, help="default: [ingest] port, 8080")
    ig.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    ig.add_argument("--topic", dest="mentions_topic", help="default: [kafka] mentions_topic")
    ig.add_argument("--openapi", action="store_true", help="print the OpenAPI document, exit")
    ig.set_defaults(run=_ingest)

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
    fo.set_defaults(run=_follow)

    dt = commands.add_parser("detect", help="consume mentions from Kafka and publish alerts")
    dt.add_argument("--config", type=Path, help="TOML configuration file")
    dt.add_argument("--bootstrap-servers")
    dt.add_argument("--topic", dest="mentions_topic")
    dt.add_argument("--alerts-topic")
    dt.add_argument("--dead-letter-topic")
    dt.add_argument("--state-topic", help="compacted topic of the detector's checkpoints")
    dt.add_argument("--group-id")
    dt.add_argument(
        "--instance-id", help="stable name of this detector instance (static group membership)"
    )
    dt.add_argument("--metrics-port", type=int, help="default: [metrics] port, 9108")
    dt.add_argument("--metrics-address", help="address the metrics bind; default: [metrics]")
    dt.set_defaults(run=_detect)

    add_kafka_commands(commands)

    nt = commands.add_parser("notify", help="deliver the alert events from Kafka to webhooks")
    nt.add_argument("--config", type=Path, help="TOML configuration file ([notify] webhooks)")
    nt.add_argument("--bootstrap-servers")
    nt.add_argument("--alerts-topic")
    nt.add_argument("--group-id", help="default: [notify] group_id, buzzwatch-notify")
    nt.set_defaults(run=_notify)

    gen = commands.add_parser("generate", help="write a synthetic mention stream (JSONL)")
    gen.add_argument("--out", type=Path, required=True, help="JSONL file; .gz compresses")
    gen.add_argument("--scenario", choices=["demo", "load"], default="load")
    gen.add_argument("--mentions", type=int, default=100_000, help="load: total mentions")
    gen.add_argument("--brands", type=int, default=50, help="load: number of brands")
    gen.add_argument("--days", type=int, default=7, help="load: days of stream")
    gen.add_argument("--seed", type=int, default=1, help="load: random seed")
    gen.set_defaults(run=_generate)

    score = commands.add_parser(
        "score",
        help="score texts (one per line) or JSONL mentions from stdin; JSONL scores to stdout",
    )
    score.add_argument(
        "--lang",
        choices=["auto", "en", "fr"],
        default="auto",
        help="auto (default): a mention's own lang, else the language detected in the text",
    )
    score.set_defaults(run=_score)

    sc = commands.add_parser(
        "schema", help="print a contract's JSON Schema (mention, alert-event), or write them all"
    )
    sc.add_argument("name", nargs="?", choices=["mention", "alert-event"])
    sc.add_argument("--write", type=Path, metavar="DIR", help="write every schema file into DIR")
    sc.set_defaults(run=_schema, schema_parser=sc)

    later = {name for _, names in LATER_COMMANDS for name in names}
    for module, names in LATER_COMMANDS:
        if command in names or (command not in commands.choices and command not in later):
            importlib.import_module(module).add_commands(commands)
    return parser


def _input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="mentions: JSONL or CSV, optionally .gz")
    parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the name")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


@contextlib.contextmanager
def _records(args: argparse.Namespace) -> Iterator[Iterator[tuple[int, Mention | Invalid]]]:
    """The input file's numbered records, behind a progress bar on stderr."""
    path: Path = args.input
    fmt = args.format or input_format(path)
    total = None if path.suffix == ".gz" else path.stat().st_size
    with (
        open_input(path) as raw,
        tqdm.wrapattr(
            raw, "read", total=total, desc=path.name, disable=args.no_progress, file=sys.stderr
        ) as stream,
    ):
        yield read_records(cast(IO[bytes], stream), fmt)


def _report_rejections(command: str, rejected: Rejections) -> None:
    for line, reason in rejected.first:
        print(f"{command}: line {line}: {reason}", file=sys.stderr)
    if rejected.count > len(rejected.first):
        print(f"{command}: … and {rejected.count - len(rejected.first)} more", file=sys.stderr)


_REPLAY_DESCRIPTION = """\
Run mentions through the engine, as the detector would, and write what it saw.

Source (exactly one):
  INPUT                    a JSONL or CSV mention file (optionally .gz), no broker
  --kafka-topic TOPIC      the records of a Kafka topic, all partitions, merged by record
                           timestamp; read-only: offsets are never committed and nothing is
                           written to any topic (no alerts topic, no dead letters)

--from/--to select [FROM, TO) by event time: for a topic, the Kafka record timestamp (which
`buzzwatch produce` sets to the mention's created_at); for a file, created_at. Times are
ISO-8601 (2026-03-02T00:00Z, 2026-03-02); without an offset they are UTC. Without --from/--to a
topic is read from its beginning to its end at the time the replay starts. The engine starts
empty at FROM: baselines and warm-up begin there, as for a file that starts at FROM.

Outputs (any number, also none: the summary is always printed):
  --alerts-out FILE        the alert events, as JSONL
  --series-out FILE        one row per closed bucket and brand (brand, start, end, volume,
                           negatives, negative_share, expected_volume, volume_score,
                           expected_negatives, negative_score); .csv or .parquet
  --chart-out FILE         per-brand panels of the series with the alerts; .png, or .html for
                           a self-contained page with the chart and the alert table; repeat
                           the flag for both (the chart is drawn once)
  --crisis-log DIR         the crisis log of each incident (as `buzzwatch desk` writes it):
                           response queue, the brand's communications, defenders, curves;
                           `buzzwatch report --log DIR` turns it into a post-crisis report

Rejected records are reported on stderr with their place: `line N` for a file,
`record P:O` (partition:offset) for a topic.
"""


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", nargs="?", type=Path, help="mentions: JSONL or CSV, optionally .gz"
    )
    parser.add_argument("--kafka-topic", metavar="TOPIC", help="read this topic instead of a file")
    parser.add_argument(
        "--bootstrap-servers", help="with --kafka-topic; default: [kafka] bootstrap_servers"
    )
    parser.add_argument(
        "--from", dest="start", type=_utc_time, metavar="TIME", help="range start (inclusive)"
    )
    parser.add_argument(
        "--to", dest="end", type=_utc_time, metavar="TIME", help="range end (exclusive)"
    )
    parser.add_argument("--format", choices=["jsonl", "csv"], help="file: default from the name")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--alerts-out", type=Path, metavar="FILE", help="alert events (JSONL)")
    parser.add_argument(
        "--series-out",
        type=_output_path(".csv", ".parquet"),
        metavar="FILE",
        help="per-bucket series: FILE.csv or FILE.parquet",
    )
    parser.add_argument(
        "--chart-out",
        type=_output_path(".png", ".html"),
        action="append",
        default=[],
        metavar="FILE",
        help="chart: FILE.png or FILE.html (self-contained); repeatable",
    )
    parser.add_argument(
        "--crisis-log", type=Path, metavar="DIR", help="write each incident's crisis log here"
    )
    parser.add_argument(
        "--chart-brands",
        type=int,
        default=8,
        metavar="N",
        help="chart panels for the N busiest brands (default 8)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="a file replayed by N processes, the brands split among them as the Kafka "
        "partitions split them; the outputs are those of one process (default 1)",
    )


def _utc_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"out of range in UTC: {text!r}") from None


def _output_path(*suffixes: str) -> Callable[[str], Path]:
    def check(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text}: must end in {' or '.join(suffixes)}")
        return path

    return check


@dataclass
class _ReplaySource:
    """Numbered records for `replay`, and how to name them in reports."""

    records: Iterable[tuple[int, Mention | Invalid]]
    name: str
    where: Callable[[int], str]
    outside: int = 0  # records skipped because their time is outside --from/--to
    details: str = ""


def _check_replay_arguments(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args.replay_parser
    if (args.input is None) == (args.kafka_topic is None):
        parser.error("give exactly one source: an INPUT file or --kafka-topic TOPIC")
    if args.kafka_topic is None and args.bootstrap_servers is not None:
        parser.error("--bootstrap-servers goes with --kafka-topic")
    if args.kafka_topic is not None and args.format is not None:
        parser.error("--format applies to an INPUT file, not to --kafka-topic")
    if args.start is not None and args.end is not None and args.end <= args.start:
        parser.error("--to must be after --from")
    if args.chart_brands < 1:
        parser.error("--chart-brands must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and args.kafka_topic is not None:
        parser.error("--workers applies to an INPUT file, not to --kafka-topic")
    if args.workers > 1 and args.crisis_log is not None:
        parser.error("--crisis-log needs one process: leave --workers out")
    if args.workers > 1 and args.input is not None and not args.input.is_file():
        parser.error(f"--workers needs a regular file, each worker reads it whole: {args.input}")


def _replay(args: argparse.Namespace) -> int:
    _check_replay_arguments(args)
    config = load_config(args.config)
    try:
        setup = ReplaySetup.from_config(config)
    except (OSError, ValueError) as error:  # pydantic's ValidationError included
        print(f"replay: error: {args.config}: {error}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _parallel_replay(args)
    collector = None
    if args.series_out or args.chart_out:
        from buzzwatch.series import SeriesCollector

        collector = SeriesCollector()
    engine = setup.engine(on_bucket=collector)
    desk = _logged_desk(args.crisis_log, setup.settings) if args.crisis_log else None
    alerts: list[AlertEvent] = []
    source_context = (
        _kafka_source(args, config, setup.settings.allowed_lateness_seconds)
        if args.kafka_topic
        else _file_source(args)
    )
    try:
        with contextlib.ExitStack() as stack:
            out = (
                stack.enter_context(args.alerts_out.open("w", encoding="utf-8"))
                if args.alerts_out
                else None
            )

            def on_alert(event: AlertEvent) -> None:
                alerts.append(event)
                if out is not None:
                    out.write(event.to_json() + "\n")
                if desk is not None:
                    desk.on_alert(event)

            def on_scored(scored: Scored) -> None:
                if desk is not None:
                    desk.on_mention(seen_of(scored, engine.scorer))

            source = stack.enter_context(source_context)
            summary = replay(source.records, engine, on_alert, setup.matcher, on_scored)
    except _ReplayError as error:
        print(f"replay: error: {error}", file=sys.stderr)
        return 1
    _replay_outputs(args, source, summary, alerts, collector)
    return 0


def _parallel_replay(args: argparse.Namespace) -> int:
    """`replay --workers N`: the file replayed by N processes, with one process's outputs."""
    from buzzwatch.replay_workers import Job, parallel_replay
    from buzzwatch.series import SeriesCollector

    series = bool(args.series_out or args.chart_out)
    job = Job(
        args.input, args.format, args.start, args.end, args.config, series,
        progress=not args.no_progress,
    )  # fmt: skip
    summary, outside, alerts, reports = parallel_replay(job, args.workers)
    if args.alerts_out:
        with args.alerts_out.open("w", encoding="utf-8") as out:
            out.writelines(event.to_json() + "\n" for event in alerts)
    collector = SeriesCollector() if series else None
    if collector is not None:
        collector.reports = reports
    source = _ReplaySource((), str(args.input), lambda line: f"line {line}", outside)
    _replay_outputs(args, source, summary, alerts, collector)
    return 0


def _replay_outputs(
    args: argparse.Namespace,
    source: _ReplaySource,
    summary: ReplaySummary,
    alerts: list[AlertEvent],
    collector: SeriesCollector | None,
) -> None:
    """The summary and rejections on the terminal, then the series and charts."""
    for line, reason in summary.rejected.first:
        print(f"replay: {source.where(line)}: {reason}", file=sys.stderr)
    if summary.rejected.count > len(summary.rejected.first):
        more = summary.rejected.count - len(summary.rejected.first)
        print(f"replay: … and {more} more", file=sys.stderr)
    written = f" written to {args.alerts_out}" if args.alerts_out else ""
    print(
        f"replay: {summary.records} records{_matched(summary.matched)}: "
        f"{summary.accepted} accepted, "
        f"{summary.invalid} invalid, {summary.unbranded} without brand, {summary.dropped} "
        f"dropped, {summary.late} late, {summary.duplicate} duplicate{_own(summary.own)}; "
        f"{summary.alerts} alert events{written}"
    )
    if source.details:
        print(f"replay: {source.details}")
    if args.start is not None or args.end is not None:
        print(f"replay: {source.outside} records outside {_range_text(args)} skipped")
    if collector is not None:
        _write_analyst_outputs(args, collector.frame(), alerts, source, summary.records)


def _logged_desk(directory: Path, settings: DetectionSettings) -> LoggedDesk:
    """The desk of an embedded replay, logging into `directory` (restored from it first)."""
    desk = Desk(settings.bucket_seconds, settings.allowed_lateness_seconds)
    return LoggedDesk(CrisisLog(directory), desk)


def _own(count: int) -> str:
    return f", {count} posts of the brands' own handles" if count else ""


def _matched(count: int) -> str:
    return f" ({count} without a brand matched to configured brands)" if count else ""


class _ReplayError(Exception):
    """The source could not be read (a Kafka error, a missing topic, no progress)."""


def _range_text(args: argparse.Namespace) -> str:
    start = iso_utc(args.start) if args.start is not None else "the beginning"
    end = iso_utc(args.end) if args.end is not None else "the end"
    return f"[{start}, {end})"


@contextlib.contextmanager
def _file_source(args: argparse.Namespace) -> Iterator[_ReplaySource]:
    with _records(args) as records:
        source = _ReplaySource(records, str(args.input), lambda line: f"line {line}")
        if args.start is not None or args.end is not None:
            source.records = _within_range(records, args.start, args.end, source)
        yield source


def _within_range(
    records: Iterable[tuple[int, Mention | Invalid]],
    start: datetime | None,
    end: datetime | None,
    source: _ReplaySource,
) -> Iterator[tuple[int, Mention | Invalid]]:
    """File records whose created_at is in [start, end); invalid ones pass (to be reported)."""
    for line, record in records:
        if isinstance(record, Mention) and (
            (start is not None and record.created_at < start)
            or (end is not None and record.created_at >= end)
        ):
            source.outside += 1
            continue
        yield line, record


@contextlib.contextmanager
def _kafka_source(
    args: argparse.Namespace, config: dict[str, Any], grace_seconds: int
) -> Iterator[_ReplaySource]:
    from kafka.errors import KafkaError

    from consumers.range_reader import RangeReadError, TopicRangeReader
    from consumers.settings import kafka_settings

    kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
    topic: str = args.kafka_topic
    bar = tqdm(total=0, desc=topic, unit=" records", disable=args.no_progress, file=sys.stderr)
    reader = TopicRangeReader(
        kafka.bootstrap_servers,
        topic,
        args.start,
        args.end,
        grace_seconds=grace_seconds,
        on_progress=bar.update,
        consumer_config=kafka.client_options(),
    )
    labels: dict[int, str] = {}

    def numbered() -> Iterator[tuple[int, Mention | Invalid]]:
        for number, (label, record) in enumerate(reader, start=1):
            rejected = isinstance(record, Invalid) or record.brand is None
            if rejected and len(labels) < MAX_KEPT_REJECTIONS:
                labels[number] = label
            yield number, record

    source = _ReplaySource(numbered(), topic, lambda n: f"record {labels.get(n, n)}")
    try:
        with bar, reader:
            bar.total = reader.total
            bar.refresh()
            yield source
    except (KafkaError, RangeReadError) as error:
        reason = str(error) or type(error).__name__
        raise _ReplayError(f"topic {topic} at {kafka.bootstrap_servers}: {reason}") from error
    stats = reader.stats
    non_empty = sum(1 for part in stats.partitions if part.size)
    source.outside = stats.outside
    source.details = (
        f"topic {topic}: {stats.scanned} offsets scanned in {non_empty} of "
        f"{len(stats.partitions)} partitions; no consumer group, no offsets committed"
    )
    if not stats.event_stamped:
        source.details += (
            "; its records are not stamped with their created_at: every partition read whole, "
            "the range taken by created_at"
        )


def _write_analyst_outputs(
    args: argparse.Namespace,
    frame: pd.DataFrame,
    alerts: list[AlertEvent],
    source: _ReplaySource,
    records: int,
) -> None:
    from buzzwatch.charts import write_charts
    from buzzwatch.series import write_series

    brands = frame["brand"].nunique()
    if args.series_out:
        write_series(frame, args.series_out)
        print(
            f"replay: series of {len(frame)} buckets, {brands} brands written to {args.series_out}"
        )
    if args.chart_out:
        title = f"buzzwatch replay of {source.name}"
        if args.start is not None or args.end is not None:
            title += f", {_range_text(args)}"
        subtitle = (
            f"{records} records, {len(frame)} closed buckets of {brands} brands, "
            f"{len(alerts)} alert events"
        )
        write_charts(
            frame,
            alerts,
            args.chart_out,
            max_brands=args.chart_brands,
            title=title,
            subtitle=subtitle,
        )
        for path in args.chart_out:
            print(f"replay: chart written to {path}")


def _produce(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from producers.file_producer import mention_producer, produce

    config = load_config(args.config)
    try:
        kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
        matcher = brand_matcher(config)
    except (OSError, ValueError) as error:  # pydantic's ValidationError included
        print(f"produce: error: {args.config}: {error}", file=sys.stderr)
        return 2
    topic = args.topic or kafka.mentions_topic
    with _records(args) as records:
        producer = mention_producer(kafka.client_options())
        try:
            summary = produce(records, producer, topic, speed=args.speed, matcher=matcher)
        finally:
            producer.close()
    _report_rejections("produce", summary.rejected)
    print(
        f"produce: {summary.sent} mentions sent to {topic}{_matched(summary.matched)}, "
        f"{summary.rejected.count} invalid lines "
        f"skipped, {summary.failed} failed"
    )
    return 1 if summary.failed else 0


def _detect(args: argparse.Namespace) -> int:
    from consumers.detector import Detector
    from consumers.metrics import DetectorMetrics
    from consumers.settings import kafka_settings, metrics_settings

    config = load_config(args.config)
    overrides: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "bootstrap_servers",
            "mentions_topic",
            "alerts_topic",
            "dead_letter_topic",
            "state_topic",
            "group_id",
            "instance_id",
        )
    }
    try:
        kafka = kafka_settings(config, **overrides)
        served = metrics_settings(config, port=args.metrics_port, address=args.metrics_address)
        settings = detection_settings(config)
        statements = HoldingStatements.from_config(config)
        matcher = brand_matcher(config)
    except ValueError as error:  # pydantic's ValidationError included
        print(f"detect: error: {error}", file=sys.stderr)
        return 2
    metrics = DetectorMetrics(served)
    metrics.serve(served.port, served.address)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: _stop_within(stop, STOP_GRACE_SECONDS))
    handles = matcher.handles if matcher else None
    Detector(kafka, settings, metrics, statements=statements, handles=handles).run(stop)
    return 0


STOP_GRACE_SECONDS = 60.0


def _follow(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from producers.follow import Position, PrintedSink
    from producers.kafka_sink import MentionSink

    if args.state is None and not args.dry_run:
        print("follow: error: --state is required (or --dry-run)", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, mentions_topic=args.mentions_topic
        )
        matcher = brand_matcher(config)
        position = Position(args.state, keep=not args.dry_run)
    except (OSError, ValueError) as error:  # pydantic's ValidationError included
        print(f"follow: error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.dry_run:
        return _poll_source(args, PrintedSink(), position, matcher, stop)
    sink = MentionSink(kafka.client_options(), kafka.mentions_topic, send_timeout=30.0)
    sink.start()
    try:
        if not sink.wait_connected(stop, timeout=60.0):
            print(f"follow: error: {sink.problem}", file=sys.stderr)
            return 1
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


def _ingest(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from producers.hooks import configured_hooks
    from producers.ingest import TOKENS_ENV, IngestService, ingest_settings, serve
    from producers.kafka_sink import MentionSink
    from producers.openapi import openapi_document

    if args.openapi:
        print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
        return 0
    try:
        config = load_config(args.config)
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, mentions_topic=args.mentions_topic
        )
        settings = ingest_settings(config, address=args.address, port=args.port)
        matcher = brand_matcher(config)
        hooks = configured_hooks(config)
    except (OSError, ValueError) as error:  # pydantic's ValidationError included
        print(f"ingest: error: {error}", file=sys.stderr)
        return 2
    if not settings.tokens:
        print(
            f"ingest: error: no bearer token: set [ingest] tokens or ${TOKENS_ENV}", file=sys.stderr
        )
        return 2
    sink = MentionSink(kafka.client_options(), kafka.mentions_topic, settings.send_timeout_seconds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(IngestService(settings, sink, matcher, hooks), stop)
    return 0


def _stop_within(stop: threading.Event, seconds: float) -> None:
    """Ask for a clean stop; exit with status 1 if it takes longer than `seconds` (a commit
    that cannot reach the broker). Nothing is lost then: the open transaction is aborted and
    its batch processed again after the restart."""
    stop.set()

    def give_up() -> None:
        print(f"detect: could not stop cleanly within {seconds:g} s", file=sys.stderr)
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()


def _notify(args: argparse.Namespace) -> int:
    from consumers.notifier import Notifier, notify_settings
    from consumers.settings import kafka_settings

    config = load_config(args.config)
    try:
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, alerts_topic=args.alerts_topic
        )
        settings = notify_settings(config, group_id=args.group_id)
    except ValueError as error:  # pydantic's ValidationError included
        print(f"notify: error: {error}", file=sys.stderr)
        return 2
    if not settings.webhooks:
        print("notify: error: no [[notify.webhooks]] configured", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Notifier(kafka, settings).run(stop)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from buzzwatch.demo import run_demo

    out: IO[str] | None = args.alerts_out.open("w") if args.alerts_out else None
    try:
        return run_demo(sys.stdout, out)
    finally:
        if out:
            out.close()


def _score(args: argparse.Namespace) -> int:
    from pipeline.scoring import score_lines

    errors = score_lines(sys.stdin.buffer, sys.stdout, None if args.lang == "auto" else args.lang)
    for line, reason in errors:
        print(f"buzzwatch score: line {line}: {reason}", file=sys.stderr)
    return 1 if errors else 0


def _schema(args: argparse.Namespace) -> int:
    from pipeline.contracts import json_schemas, schema_text

    schemas = json_schemas()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for file_name, schema in schemas.items():
            (args.write / file_name).write_text(schema_text(schema), encoding="utf-8")
            print(f"wrote {args.write / file_name}")
        return 0
    if args.name is None:
        args.schema_parser.error("give a NAME (mention, alert-event) or --write DIR")
    sys.stdout.write(schema_text(schemas[f"{args.name}.schema.json"]))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from pipeline.synthetic import (
        demo_scenario,
        generate,
        load_scenario,
        write_jsonl,
        write_jsonl_gz,
    )

    if args.scenario == "demo":
        scenario = demo_scenario()
    else:
        scenario = load_scenario(args.mentions, args.brands, args.days, args.seed)
    mentions = generate(scenario)
    if args.out.suffix == ".gz":
        count = write_jsonl_gz(mentions, args.out)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            count = write_jsonl(mentions, out)
    print(f"generate: {count} mentions written to {args.out}")
    return 0
