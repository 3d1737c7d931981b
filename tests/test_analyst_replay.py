"""Analyst replay: a Kafka topic's time range through the engine, read-only; series and charts.

A generated crisis stream goes to a fresh 6-partition topic (3 brands keyed by brand, so some
partitions stay empty), with an invalid record, an unbranded one and a stray record stamped
before the range in the middle of the offsets. `buzzwatch replay --kafka-topic` over a time
range must read exactly the records in the range, raise the alerts a file replay of the same
mentions restricted to that range raises, commit no offsets and write to no topic.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka import Producer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from buzzwatch.cli import main
from consumers.range_reader import RangeReadError, TopicRangeReader
from pipeline.models import Mention
from producers.file_producer import encode
from tests.broker.kafka_broker import create_topic
from tests.helpers import ANGRY_TEXT, HAPPY_TEXT, T0, buzzwatch, jsonl, produce, stream

# 30 hours of mentions; the range leaves out the first 2 and the last 2, and holds the
# engine's 12-hour warm-up before the crises (the viral moment at 18 h, the crisis at 20 h).
HOURS = 30
FROM = T0 + timedelta(hours=2)
TO = T0 + timedelta(hours=28)
MIDDLE = T0 + timedelta(hours=15)
GRACE = timedelta(seconds=60)  # the default allowed lateness: the scan goes that far past TO
BUCKET = timedelta(minutes=5)
PARTITIONS = 6
SERIES_COLUMNS = [
    "brand",
    "start",
    "end",
    "volume",
    "negatives",
    "negative_share",
    "expected_volume",
    "volume_score",
    "expected_negatives",
    "negative_score",
]
SVG = "{http://www.w3.org/2000/svg}"
EXTERNAL_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def create_kept_topic(bootstrap: str, name: str, partitions: int) -> None:
    """A topic whose records are never deleted by retention.

    The streams are stamped in March 2026: with the broker's default 7-day retention by
    record time, its periodic check may delete them between produce and replay.
    """
    create_topic(bootstrap, name, partitions, configs={"retention.ms": "-1"})


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def crisis_stream() -> list[Mention]:
    return sorted(
        [
            *stream(HOURS * 60, 1.0, "acme", spike=(20 * 60, 20 * 60 + 40, ANGRY_TEXT)),
            *stream(HOURS * 60, 3.0, "globex"),
            *stream(HOURS * 60, 0.5, "initech", spike=(18 * 60, 18 * 60 + 30, HAPPY_TEXT)),
        ],
        key=lambda m: m.created_at,
    )


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sort_key(event: dict[str, object]) -> tuple[str, ...]:
    return (str(event["at"]), str(event["brand"]), str(event["kind"]), str(event["state"]))


def read_series_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@dataclass
class KafkaReplay:
    mentions: list[Mention]
    in_range: list[Mention]
    topic: str
    invalid_at: str  # partition:offset of the invalid record
    reference_alerts: list[dict[str, object]]
    reference_series: pd.DataFrame
    filtered_file_alerts: list[dict[str, object]]
    csv_run_stdout: str
    csv_run_stderr: str
    parquet_run_stdout: str
    alerts: list[dict[str, object]]
    tmp: Path
    groups_with_offsets_on_topic: list[str]
    new_groups: list[str]
    alerts_topic_records: int
    new_topics: set[str]


@pytest.fixture(scope="module")
def kafka_replay(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaReplay]:
    tmp = tmp_path_factory.mktemp("analyst-replay")
    mentions = crisis_stream()
    in_range = [m for m in mentions if FROM <= m.created_at < TO]
    suffix = uuid.uuid4().hex[:8]
    topic, alerts_topic, dlq = (f"{name}-{suffix}" for name in ("mentions", "alerts", "dlq"))
    create_kept_topic(kafka_bootstrap, topic, PARTITIONS)
    create_topic(kafka_bootstrap, alerts_topic, partitions=1)
    config = tmp / "buzzwatch.toml"
    config.write_text(
        f'[kafka]\nalerts_topic = "{alerts_topic}"\ndead_letter_topic = "{dlq}"\n'
        f'mentions_topic = "{topic}"\n',
        encoding="utf-8",
    )

    # The stream, in two halves, with odd records produced in between.
    first, second = tmp / "first.jsonl", tmp / "second.jsonl"
    first.write_text(jsonl([m for m in mentions if m.created_at < MIDDLE]), encoding="utf-8")
    second.write_text(jsonl([m for m in mentions if m.created_at >= MIDDLE]), encoding="utf-8")
    produce(first, topic, kafka_bootstrap)
    stray = Mention(id="stray", created_at=T0 + timedelta(minutes=30), text="old", brand="acme")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        invalid = producer.send(
            topic, key=b"acme", value=b"{not json", timestamp_ms=millis(MIDDLE)
        ).get(timeout=30)
        just_after_middle = MIDDLE + timedelta(seconds=1)
        unbranded = json.dumps(
            {"id": "nb", "created_at": just_after_middle.isoformat(), "text": "who is it about?"}
        ).encode()
        producer.send(topic, key=b"acme", value=unbranded, timestamp_ms=millis(just_after_middle))
        producer.send(
            topic, key=b"acme", value=encode(stray), timestamp_ms=millis(stray.created_at)
        )
        producer.flush(timeout=30)
    finally:
        producer.close()
    produce(second, topic, kafka_bootstrap)

    # The reference: a file replay of the same mentions, restricted to the range beforehand.
    reference, reference_alerts = tmp / "reference.jsonl", tmp / "reference-alerts.jsonl"
    reference.write_text(jsonl(in_range), encoding="utf-8")
    reference_series = tmp / "reference-series.csv"
    buzzwatch(
        "replay",
        str(reference),
        "--alerts-out",
        str(reference_alerts),
        "--series-out",
        str(reference_series),
        "--no-progress",
    )
    # The whole file, restricted by --from/--to.
    whole, filtered_alerts = tmp / "whole.jsonl", tmp / "filtered-alerts.jsonl"
    whole.write_text(jsonl(mentions), encoding="utf-8")
    buzzwatch(
        "replay",
        str(whole),
        "--from",
        iso(FROM),
        "--to",
        iso(TO),
        "--alerts-out",
        str(filtered_alerts),
        "--no-progress",
    )

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        groups_before = {str(group["group_id"]) for group in admin.list_groups()}
        topics_before = set(admin.list_topics())
        kafka = [
            "replay",
            "--kafka-topic",
            topic,
            "--bootstrap-servers",
            kafka_bootstrap,
            "--from",
            iso(FROM),
            "--to",
            iso(TO),
            "--config",
            str(config),
        ]
        alerts_file = tmp / "alerts.jsonl"
        csv_run = buzzwatch(
            *kafka,
            "--alerts-out",
            str(alerts_file),
            "--series-out",
            str(tmp / "series.csv"),
            "--chart-out",
            str(tmp / "chart.svg"),
            "--chart-out",
            str(tmp / "chart.html"),
        )
        parquet_run = buzzwatch(*kafka, "--series-out", str(tmp / "series.parquet"))
        # (before any group look-up of ours, which may create __consumer_offsets itself)
        topics_after = set(admin.list_topics())
        group_ids = sorted(str(group["group_id"]) for group in admin.list_groups())
        offsets = admin.list_group_offsets(group_ids) if group_ids else {}
        on_topic = [
            group for group, parts in offsets.items() if any(tp.topic == topic for tp in parts)
        ]
    finally:
        admin.close()

    yield KafkaReplay(
        mentions=mentions,
        in_range=in_range,
        topic=topic,
        invalid_at=f"{invalid.partition}:{invalid.offset}",
        reference_alerts=events(reference_alerts),
        reference_series=read_series_csv(reference_series),
        filtered_file_alerts=events(filtered_alerts),
        csv_run_stdout=csv_run.stdout,
        csv_run_stderr=csv_run.stderr,
        parquet_run_stdout=parquet_run.stdout,
        alerts=events(alerts_file),
        tmp=tmp,
        groups_with_offsets_on_topic=on_topic,
        new_groups=sorted(set(group_ids) - groups_before),
        alerts_topic_records=count_records(kafka_bootstrap, alerts_topic),
        new_topics=topics_after - topics_before,
    )


def count_records(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        consumer.close()


def test_only_the_records_in_the_range_are_read(kafka_replay: KafkaReplay) -> None:
    run = kafka_replay
    accepted = len(run.in_range)
    assert 0 < accepted < len(run.mentions)
    expected = (
        f"replay: {accepted + 2} records: {accepted} accepted, 1 invalid, 1 without brand, "
        "0 dropped, 0 late, 0 duplicate"
    )
    assert expected in run.csv_run_stdout
    assert expected in run.parquet_run_stdout
    # scanned past TO by the grace period, and across the stray record: all skipped
    just_after = sum(1 for m in run.mentions if TO <= m.created_at < TO + GRACE)
    outside = 1 + just_after
    assert f"replay: {outside} records outside [" in run.csv_run_stdout
    scanned = re.search(r"(\d+) offsets scanned in (\d+) of (\d+) partitions", run.csv_run_stdout)
    assert scanned, run.csv_run_stdout
    assert int(scanned[1]) == accepted + 2 + outside
    assert int(scanned[3]) == PARTITIONS and int(scanned[2]) <= 3  # empty partitions too


def test_rejected_records_are_reported_with_partition_and_offset(
    kafka_replay: KafkaReplay,
) -> None:
    stderr = kafka_replay.csv_run_stderr
    assert f"replay: record {kafka_replay.invalid_at}: bad JSON" in stderr
    assert re.search(r"replay: record \d+:\d+: no brand", stderr), stderr


def test_alerts_equal_a_file_replay_of_the_same_range(kafka_replay: KafkaReplay) -> None:
    run = kafka_replay
    kinds = {(e["brand"], e["kind"], e["state"]) for e in run.reference_alerts}
    assert ("acme", "negative", "firing") in kinds
    assert ("initech", "volume", "firing") in kinds
    assert sorted(run.alerts, key=sort_key) == sorted(run.reference_alerts, key=sort_key)
    assert run.filtered_file_alerts == run.reference_alerts
    assert f"{len(run.alerts)} alert events written to" in run.csv_run_stdout
    assert f"; {len(run.alerts)} alert events\n" in run.parquet_run_stdout


def test_no_offsets_are_committed_and_nothing_is_written(kafka_replay: KafkaReplay) -> None:
    assert kafka_replay.groups_with_offsets_on_topic == []
    assert kafka_replay.new_groups == []
    assert "no consumer group, no offsets committed" in kafka_replay.csv_run_stdout
    assert kafka_replay.alerts_topic_records == 0
    assert kafka_replay.new_topics == set()


def test_series_csv_and_parquet(kafka_replay: KafkaReplay) -> None:
    run = kafka_replay
    csv = read_series_csv(run.tmp / "series.csv")
    parquet = pd.read_parquet(run.tmp / "series.parquet")
    assert list(csv.columns) == SERIES_COLUMNS
    assert list(parquet.columns) == SERIES_COLUMNS
    assert str(parquet["start"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(csv, run.reference_series)
    for frame in (csv, parquet):
        counts = frame.groupby("brand")["start"].count().to_dict()
        assert counts == run.reference_series.groupby("brand")["start"].count().to_dict()
        assert set(counts) == {"acme", "globex", "initech"}
        assert frame["start"].min() >= pd.Timestamp(FROM)
        assert frame["end"].max() <= pd.Timestamp(TO)
        for _, rows in frame.groupby("brand"):
            steps = rows["start"].diff().dropna()
            assert (steps == pd.Timedelta(BUCKET)).all()
            assert ((rows["end"] - rows["start"]) == pd.Timedelta(BUCKET)).all()
    assert csv["volume"].tolist() == parquet["volume"].tolist()
    assert csv["negative_share"].round(12).tolist() == parquet["negative_share"].round(12).tolist()
    assert csv["start"].tolist() == parquet["start"].tolist()
    acme = csv[csv["brand"] == "acme"]
    assert acme["negative_share"].max() > 0.8  # the crisis


def test_svg_chart(kafka_replay: KafkaReplay) -> None:
    chart = ET.parse(kafka_replay.tmp / "chart.svg").getroot()  # well-formed, stand-alone
    assert chart.tag == f"{SVG}svg" and chart.find(f"{SVG}style") is not None
    panels = chart.findall(f"{SVG}svg")
    assert len(panels) == 2 * 3  # volume and negative share of each of the 3 brands
    assert all(panel.find(f"{SVG}g[@class='marks']") is not None for panel in panels)


def test_html_chart_is_self_contained_with_the_alert_table(kafka_replay: KafkaReplay) -> None:
    page = (kafka_replay.tmp / "chart.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n")
    assert not EXTERNAL_REFERENCE.search(page)
    assert "<script" not in page and "<link" not in page
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))  # well-formed throughout
    assert root.tag == "html" and root.get("lang") == "en"
    assert root.find("head/meta[@charset='utf-8']") is not None
    charts = root.findall(f"body/figure/{SVG}svg")  # inline: no image to fetch
    assert len(charts) == 6 and all("chart" in (c.get("class") or "") for c in charts)
    table = root.find("body/section[@id='alerts']/table")
    assert table is not None
    rows = table.findall("tbody/tr")
    assert len(rows) == len(kafka_replay.alerts) > 0
    ids = {row.findall("td")[-1].text for row in rows}
    assert ids == {str(e["id"]) for e in kafka_replay.alerts}


def test_an_empty_range_reads_nothing(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = f"mentions-{uuid.uuid4().hex[:8]}"
    create_kept_topic(kafka_bootstrap, topic, 2)
    source = tmp_path / "m.jsonl"
    source.write_text(jsonl(crisis_stream()[:200]), encoding="utf-8")
    produce(source, topic, kafka_bootstrap)
    series = tmp_path / "s.csv"
    result = buzzwatch(
        "replay",
        "--kafka-topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        "--from",
        "2030-01-01",
        "--to",
        "2030-01-02",
        "--series-out",
        str(series),
        "--chart-out",
        str(tmp_path / "c.html"),
        timeout=120,
    )
    assert "replay: 0 records: 0 accepted" in result.stdout
    assert "0 offsets scanned in 0 of 2 partitions" in result.stdout
    assert series.read_text().splitlines() == [",".join(SERIES_COLUMNS)]
    assert "no alert events" in (tmp_path / "c.html").read_text()


def test_a_topic_stamped_with_send_times_is_replayed_by_created_at(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Another producer (librdkafka, no timestamp given) stamps records with the time it sent
    them: the range is still one of created_at, and the alerts those of the file's range."""
    topic = f"mentions-{uuid.uuid4().hex[:8]}"
    create_kept_topic(kafka_bootstrap, topic, 2)
    mentions = crisis_stream()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for mention in mentions:
        producer.produce(topic, encode(mention), (mention.brand or "").encode())
        producer.poll(0)
    assert producer.flush(30) == 0
    whole, alerts, by_file = (tmp_path / n for n in ("whole.jsonl", "a.jsonl", "f.jsonl"))
    whole.write_text(jsonl(mentions), encoding="utf-8")
    window = ["--from", iso(FROM), "--to", iso(TO), "--no-progress"]
    buzzwatch("replay", str(whole), *window, "--alerts-out", str(by_file))
    result = buzzwatch(
        "replay",
        "--kafka-topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        *window,
        "--alerts-out",
        str(alerts),
        timeout=180,
    )
    assert "not stamped with their created_at: every partition read" in result.stdout
    assert events(alerts) == events(by_file) and events(alerts)


def test_records_deleted_while_reading_are_an_error_not_a_gap(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = f"mentions-{uuid.uuid4().hex[:8]}"
    create_kept_topic(kafka_bootstrap, topic, 1)
    source = tmp_path / "m.jsonl"
    source.write_text(jsonl(crisis_stream()[:300]), encoding="utf-8")
    produce(source, topic, kafka_bootstrap)
    with TopicRangeReader(kafka_bootstrap, topic, idle_timeout=30) as reader:
        assert reader.total == 300
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        try:
            admin.delete_records({TopicPartition(topic, 0): 100})
        finally:
            admin.close()
        with pytest.raises(RangeReadError, match="offset 0 is no longer on the broker"):
            list(reader)


def test_a_missing_topic_is_an_error(kafka_bootstrap: str) -> None:
    topic = f"missing-{uuid.uuid4().hex[:8]}"
    args = ["replay", "--kafka-topic", topic, "--bootstrap-servers", kafka_bootstrap]
    assert main(args) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one source"),
        (["m.jsonl", "--kafka-topic", "t"], "exactly one source"),
        (["m.jsonl", "--from", "2026-03-02", "--to", "2026-03-01"], "--to must be after"),
        (["m.jsonl", "--series-out", "s.xlsx"], ".csv or .parquet"),
        (["m.jsonl", "--chart-out", "c.png"], ".svg or .html"),
        (["m.jsonl", "--from", "yesterday"], "not an ISO-8601 time"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_file_replay_writes_series_and_charts(tmp_path: Path) -> None:
    mentions = crisis_stream()
    source = tmp_path / "m.jsonl"
    source.write_text(jsonl(mentions), encoding="utf-8")
    series, svg, page = tmp_path / "s.parquet", tmp_path / "c.svg", tmp_path / "c.html"
    out = buzzwatch(
        "replay",
        str(source),
        "--series-out",
        str(series),
        "--chart-out",
        str(svg),
        "--chart-out",
        str(page),
        "--chart-brands",
        "2",
    ).stdout
    assert f"replay: {len(mentions)} records" in out
    assert "alert events\n" in out  # no --alerts-out: nothing written
    frame = pd.read_parquet(series)
    assert list(frame.columns) == SERIES_COLUMNS
    # Buckets close when the watermark (latest event time less 60 s) passes their end, for
    # every brand from its first bucket on.
    size = int(BUCKET.total_seconds())
    latest = int(max(m.created_at for m in mentions).timestamp()) - 60
    boundary = latest - latest % size
    for brand in ("acme", "globex", "initech"):
        own = [m for m in mentions if m.brand == brand]
        first = int(min(m.created_at for m in own).timestamp())
        rows = frame[frame["brand"] == brand]
        assert len(rows) == (boundary - (first - first % size)) // size
        closed = [m for m in own if m.created_at.timestamp() < boundary]
        assert rows["volume"].sum() == len(closed)
    assert len(ET.parse(svg).getroot().findall(f"{SVG}svg")) == 2 * 2  # --chart-brands 2
    html = page.read_text(encoding="utf-8")
    assert "showing the 2 busiest of 3 brands" in html
    assert not EXTERNAL_REFERENCE.search(html)
    root = ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))
    brands = [
        row.findall("td")[0].text
        for row in root.findall("body/section[@id='brands']/table/tbody/tr")
    ]
    assert brands == ["globex", "acme", "initech"]  # busiest first
    alerts_rows = root.findall("body/section[@id='alerts']/table/tbody/tr")
    assert any("acme" in (row.findall("td")[0].text or "") for row in alerts_rows)
