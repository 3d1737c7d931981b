"""Brands split among engines (`Engine(owns=...)`) and `replay --workers N`: together they take
every mention and emit every alert and bucket exactly as one engine does, on a stream with
duplicates, late and far-ahead mentions, mentions without a brand, a brand limit and an
invalid line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.topics import home_partition
from pipeline.engine import BucketReport, Engine, event_order
from pipeline.models import AlertEvent, Mention
from pipeline.records import open_input, read_jsonl
from pipeline.replay import replay
from pipeline.settings import DetectionSettings
from pipeline.synthetic import SAMPLE_PATH
from tests.helpers import buzzwatch


def hostile_demo() -> list[Mention]:
    """The demo's mentions, with reposted ids, ids seen again an hour later, late copies, a
    mention days ahead, mentions without a brand, and one of an extra brand (beyond the limit
    `settings()` sets)."""
    with open_input(SAMPLE_PATH) as source:
        demo = [record for _, record in read_jsonl(source) if isinstance(record, Mention)]
    out: list[Mention] = []
    edits: list[Mention] = []  # an id seen again an hour later, once its bucket has closed
    for number, mention in enumerate(demo):
        out += [edit for edit in edits if edit.created_at <= mention.created_at]
        edits = [edit for edit in edits if edit.created_at > mention.created_at]
        out.append(mention)
        if number % 101 == 0:
            later = mention.created_at + timedelta(hours=1)
            edits.append(mention.model_copy(update={"created_at": later}))
        if number % 97 == 0:
            out.append(mention)  # the same id again: a duplicate while its bucket is open
        if number % 89 == 0:
            late = mention.created_at - timedelta(hours=2)
            out.append(mention.model_copy(update={"id": f"late-{number}", "created_at": late}))
        if number % 211 == 0:
            out.append(mention.model_copy(update={"id": f"none-{number}", "brand": None}))
        if number == len(demo) // 2:
            ahead = mention.created_at + timedelta(days=30)
            out.append(mention.model_copy(update={"id": "ahead", "created_at": ahead}))
            out.append(mention.model_copy(update={"id": "extra", "brand": "one-too-many"}))
    return out


def settings() -> DetectionSettings:
    brands = {m.brand for m in hostile_demo() if m.brand and m.brand != "one-too-many"}
    return DetectionSettings(max_brands=len(brands))


Tagged = tuple[list[str], list[tuple[int, AlertEvent]], list[tuple[int, BucketReport]]]


def run(mentions: list[Mention], owns: Any = None) -> Tagged:
    """Admissions, and alerts and buckets tagged with the advance that emitted them."""
    admissions: list[str] = []
    buckets: list[tuple[int, BucketReport]] = []
    alerts: list[tuple[int, AlertEvent]] = []

    def on_bucket(report: BucketReport) -> None:
        assert engine.closed_until is not None
        buckets.append((engine.closed_until, report))

    def on_alert(event: AlertEvent) -> None:
        assert engine.closed_until is not None
        alerts.append((engine.closed_until, event))

    engine = Engine(settings(), on_bucket=on_bucket, owns=owns)
    records = enumerate(mentions, start=1)
    replay(records, engine, on_alert, on_scored=lambda s: admissions.append(s.admission.value))
    return admissions, alerts, buckets


@pytest.mark.parametrize("shares", [2, 3])
def test_engines_splitting_the_brands_emit_what_one_engine_does(shares: int) -> None:
    mentions = hostile_demo()
    one_admissions, one_alerts, one_buckets = run(mentions)
    assert {"duplicate", "late", "ahead", "brand_limit", "unbranded"} <= set(one_admissions)
    assert any(event.state == "firing" for _, event in one_alerts)
    taken = zip(mentions, one_admissions, strict=True)
    order = {m.brand: 0 for m, admission in taken if admission == "accepted"}  # first counted
    alerts: list[tuple[int, AlertEvent]] = []
    buckets: list[tuple[int, BucketReport]] = []
    busy = 0
    for index in range(shares):
        mine = run(mentions, lambda brand, index=index: home_partition(brand, shares) == index)
        assert mine[0] == one_admissions
        busy += bool(mine[2])
        alerts += mine[1]
        buckets += mine[2]
    assert busy >= 2  # the brands are split indeed
    alerts.sort(key=lambda tagged: (tagged[0], *event_order(tagged[1])))
    position = {brand: number for number, brand in enumerate(order)}
    buckets.sort(key=lambda tagged: (tagged[0], position[tagged[1].brand], tagged[1].start))
    assert [e.to_json() for _, e in alerts] == [e.to_json() for _, e in one_alerts]
    assert [b for _, b in buckets] == [b for _, b in one_buckets]


def test_replay_with_workers_writes_what_one_process_writes(tmp_path: Path) -> None:
    source = tmp_path / "hostile.jsonl"
    lines = [json.dumps(m.model_dump(mode="json")) for m in hostile_demo()]
    lines.insert(10, '{"id": "broken", "text": 3}')
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "buzzwatch.toml"
    config.write_text(f"[detection]\nmax_brands = {settings().max_brands}\n", encoding="utf-8")
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / str(workers)
        out.mkdir()
        result = buzzwatch(
            "replay", str(source), "--config", str(config), "--workers", str(workers),
            "--no-progress", "--alerts-out", "alerts.jsonl", "--series-out", "series.csv",
            cwd=out,
        )  # fmt: skip
        written = (out / "alerts.jsonl").read_bytes(), (out / "series.csv").read_bytes()
        outputs[workers] = (result.stdout, result.stderr, *written)
    assert outputs[2] == outputs[1]
    stdout, stderr, alerts_written, _ = outputs[1]
    assert "1 invalid" in stdout and "late" in stdout and alerts_written
    assert "line 11" in stderr


def test_workers_need_a_file_they_can_each_read_whole(tmp_path: Path) -> None:
    line = json.dumps(hostile_demo()[0].model_dump(mode="json")) + "\n"
    command = [sys.executable, "-m", "buzzwatch", "replay", "/dev/stdin", "--workers", "2"]
    result = subprocess.run(command, input=line, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--workers needs a regular file" in result.stderr
