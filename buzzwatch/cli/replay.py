"""`buzzwatch replay`: a mention file, or a Kafka topic's time range, through the engine;
its alerts, series, charts and crisis log written as asked."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from buzzwatch.cli.common import SubParsers, configured, matched, output_path, readable, utc_time
from buzzwatch.replay_setup import ReplaySetup
from buzzwatch.replay_sources import ReplaySource, file_source
from pipeline.crisis_log import CrisisLog
from pipeline.desk import Desk, LoggedDesk, seen_of
from pipeline.engine import Scored
from pipeline.models import AlertEvent, Invalid, Mention, iso_utc
from pipeline.records import MAX_KEPT_REJECTIONS
from pipeline.replay import ReplaySummary, replay

if TYPE_CHECKING:
    import pandas as pd

    from buzzwatch.series import SeriesCollector


def add_command(commands: SubParsers) -> None:
    rp = commands.add_parser(
        "replay",
        help="run a mention file, or a Kafka topic's time range, through the engine",
        description=_REPLAY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _arguments(rp)
    rp.set_defaults(run=run, replay_parser=rp)


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
  --chart-out FILE         two charts per brand of the series with the alerts (volume
                           against expected, negative share); .svg, or .html for a
                           self-contained page with the charts and the alert table; repeat
                           the flag for both (the charts are drawn once)
  --crisis-log DIR         the crisis log of each incident (as `buzzwatch desk` writes it):
                           response queue, the brand's communications, defenders, curves;
                           `buzzwatch report --log DIR` turns it into a post-crisis report

Rejected records are reported on stderr with their place: `line N` for a file,
`record P:O` (partition:offset) for a topic.
"""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", nargs="?", type=Path, help="mentions: JSONL or CSV, optionally .gz"
    )
    parser.add_argument("--kafka-topic", metavar="TOPIC", help="read this topic instead of a file")
    parser.add_argument(
        "--bootstrap-servers", help="with --kafka-topic; default: [kafka] bootstrap_servers"
    )
    parser.add_argument(
        "--from", dest="start", type=utc_time, metavar="TIME", help="range start (inclusive)"
    )
    parser.add_argument(
        "--to", dest="end", type=utc_time, metavar="TIME", help="range end (exclusive)"
    )
    parser.add_argument("--format", choices=["jsonl", "csv"], help="file: default from the name")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--alerts-out", type=Path, metavar="FILE", help="alert events (JSONL)")
    parser.add_argument(
        "--series-out",
        type=output_path(".csv", ".parquet"),
        metavar="FILE",
        help="per-bucket series: FILE.csv or FILE.parquet",
    )
    parser.add_argument(
        "--chart-out",
        type=output_path(".svg", ".html"),
        action="append",
        default=[],
        metavar="FILE",
        help="charts: FILE.svg or FILE.html (self-contained); repeatable",
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


def run(args: argparse.Namespace) -> int:
    _check_replay_arguments(args)
    with configured(args.config) as config:
        setup = ReplaySetup.from_config(config)
    if args.workers > 1:
        return _parallel_replay(args)
    collector = None
    if args.series_out or args.chart_out:
        from buzzwatch.series import SeriesCollector

        collector = SeriesCollector()
    engine = setup.engine(on_bucket=collector)
    desk: LoggedDesk | None = None
    if args.crisis_log:  # the crisis log's desk, restored from the directory first
        window = (setup.settings.bucket_seconds, setup.settings.allowed_lateness_seconds)
        desk = LoggedDesk(CrisisLog(args.crisis_log), Desk(*window))
    alerts: list[AlertEvent] = []
    source_context = (
        _kafka_source(args, config, setup.settings.allowed_lateness_seconds)
        if args.kafka_topic
        else file_source(
            readable(args.input), args.format, args.start, args.end, not args.no_progress
        )
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
    source = ReplaySource((), str(args.input), lambda line: f"line {line}", outside)
    _replay_outputs(args, source, summary, alerts, collector)
    return 0


def _replay_outputs(
    args: argparse.Namespace,
    source: ReplaySource,
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
        f"replay: {summary.records} records{matched(summary.matched)}: "
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


def _own(count: int) -> str:
    return f", {count} posts of the brands' own handles" if count else ""


class _ReplayError(Exception):
    """The source could not be read (a Kafka error, a missing topic, no progress)."""


def _range_text(args: argparse.Namespace) -> str:
    start = iso_utc(args.start) if args.start is not None else "the beginning"
    end = iso_utc(args.end) if args.end is not None else "the end"
    return f"[{start}, {end})"


@contextlib.contextmanager
def _kafka_source(
    args: argparse.Namespace, config: dict[str, Any], grace_seconds: int
) -> Iterator[ReplaySource]:
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

    source = ReplaySource(numbered(), topic, lambda n: f"record {labels.get(n, n)}")
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
    source: ReplaySource,
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
