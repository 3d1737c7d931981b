import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from pipeline.detectors import QUIET, Verdict
from pipeline.engine import Admission, BrandState, BucketReport, Engine
from pipeline.models import AlertEvent, AlertKind, Invalid, Mention
from pipeline.records import open_input, read_jsonl
from pipeline.replay import replay
from pipeline.settings import DetectionSettings
from pipeline.synthetic import SAMPLE_PATH, generate
from pipeline.synthetic_ramped import ramped_scenario
from pipeline.watermark import Watermark
from tests.helpers import ANGRY_TEXT, HAPPY_TEXT, T0, mention, stream

SPIKE = (900, 940, ANGRY_TEXT)  # 15:00–15:40, after the 12 h warm-up; 20 angry a minute
DAY = 24 * 60  # minutes of stream in the spike tests


def run(mentions: Iterable[Mention], engine: Engine | None = None) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    replay(
        enumerate(sorted(mentions, key=lambda m: m.created_at)), engine or Engine(), events.append
    )
    return events


def test_a_negative_spike_fires_once_then_resolves() -> None:
    events = run(stream(DAY, per_minute=1.0, spike=SPIKE))
    kinds = [(e.kind, e.state) for e in events]
    assert kinds.count(("volume", "firing")) == 1
    assert kinds.count(("negative", "firing")) == 1
    assert kinds.count(("negative", "resolved")) == 1
    firing = next(e for e in events if e.kind == "negative" and e.state == "firing")
    resolved = next(e for e in events if e.id == firing.id and e.state == "resolved")
    # early firing: the open bucket's first minute already makes the spike clear
    assert firing.at.isoformat() == "2026-03-02T15:01:00+00:00"
    assert firing.started_at.isoformat() == "2026-03-02T15:00:00+00:00"
    assert firing.observed >= 20 and firing.observed > 5 * firing.expected
    assert firing.severity == "critical" and firing.score > 0.999
    assert resolved.at > firing.at


def test_a_calm_stream_raises_nothing() -> None:
    assert run(stream(3 * 24 * 60, per_minute=1.0)) == []


def test_a_positive_viral_moment_is_not_a_negative_alert() -> None:
    events = run(stream(DAY, per_minute=1.0, spike=(900, 940, HAPPY_TEXT)))
    assert {(e.kind, e.state) for e in events} == {("volume", "firing"), ("volume", "resolved")}


def test_small_counts_warm_up_and_floor() -> None:
    # one mention every 3 hours: a burst of 3 is below the floor (min_count 4), 8 is not
    calm = [mention(m, "nice bread") for m in range(0, 2 * 24 * 60, 180)]
    small = [mention(2 * 24 * 60 + 1 + i / 10, ANGRY_TEXT, id=f"s{i}") for i in range(3)]
    big = [mention(2 * 24 * 60 + 300 + i / 10, ANGRY_TEXT, id=f"b{i}") for i in range(8)]
    tail = [mention(2 * 24 * 60 + 600, "nice bread", id="last")]
    fired = [(e.kind, e.at.hour) for e in run(calm + small + big + tail) if e.state == "firing"]
    assert ("volume", 5) in fired and ("negative", 5) in fired
    assert all(hour == 5 for _, hour in fired)
    early = run([mention(i / 10, ANGRY_TEXT, id=f"e{i}") for i in range(30)] + tail)
    assert early == []  # nothing fires before the warm-up


def test_a_quiet_brand_still_has_its_buckets_closed() -> None:
    """Brand `quiet` stops talking during its spike; other brands move time on."""
    burst = [mention(900 + i / 10, ANGRY_TEXT, "quiet", id=f"q{i}") for i in range(60)]
    quiet = [*stream(900, 1.0, "quiet"), *burst]
    busy = list(stream(DAY, 1.0, "busy"))
    reports: list[BucketReport] = []
    engine = Engine(on_bucket=lambda r: reports.append(r) if r.brand == "quiet" else None)
    events = run(quiet + busy, engine)
    assert ("negative", "firing") in [(e.kind, e.state) for e in events if e.brand == "quiet"]
    closed = [r for r in reports if r.start >= (T0 + timedelta(minutes=910)).timestamp()]
    assert closed and all(r.volume == 0 for r in closed)  # closed by time passing
    # a brand that spoke once a minute and stops dead is a source outage, not calm:
    # its silent buckets neither teach the baseline nor resolve its alert
    assert closed[-1].silent and all(r.silent for r in closed[3:])
    assert ("quiet", "negative", "critical") in engine.active_alerts()


def test_a_source_outage_raises_nothing_when_data_resumes() -> None:
    before = list(stream(DAY, 2.0, "acme", seed=1))
    after = [
        m.model_copy(update={"created_at": m.created_at + timedelta(hours=30)})
        for m in stream(DAY, 2.0, "acme", seed=2)
    ]
    assert run(before + after) == []  # six hours without data, then the usual flow


def test_late_mentions_are_counted_not_bucketed() -> None:
    engine = Engine(DetectionSettings(allowed_lateness_seconds=60))
    run([mention(0), mention(30)], engine)
    assert engine.add(mention(29.5)).admission is Admission.ACCEPTED  # within lateness
    assert engine.add(mention(10)).admission is Admission.LATE
    assert engine.add(mention(10, brand=None)).admission is Admission.UNBRANDED
    assert engine.counts["late"] == 1 and engine.counts["unbranded"] == 1


def test_snapshot_restore_goes_on_exactly() -> None:
    mentions = sorted(
        list(stream(DAY, 1.0, "a", spike=SPIKE)) + list(stream(DAY, 3.0, "b")),
        key=lambda m: m.created_at,
    )
    whole = run(mentions)
    engine = Engine()
    cut = next(i for i, m in enumerate(mentions) if m.created_at >= T0 + timedelta(minutes=920))
    first = run(mentions[:cut], engine)
    snapshot = json.loads(json.dumps(engine.snapshot()))
    restored = Engine.restore(snapshot)
    assert restored.snapshot() == engine.snapshot()
    second = run(mentions[cut:], restored)
    assert first and second
    assert first + second == whole


def test_same_input_same_alerts() -> None:
    mentions = list(stream(DAY, 1.0, spike=SPIKE))
    assert run(mentions) == run(mentions)


def test_per_brand_overrides_apply_to_that_brand_only() -> None:
    settings = DetectionSettings(brands={"acme": {"negative": {"min_count": 10_000}}})
    assert settings.for_brand("acme").negative.min_count == 10_000
    assert settings.for_brand("other").negative.min_count == settings.negative.min_count
    mentions = [*stream(DAY, 1.0, "acme", spike=SPIKE), *stream(DAY, 1.0, "other", spike=SPIKE)]
    fired = {(e.brand, e.kind) for e in run(mentions, Engine(settings)) if e.state == "firing"}
    assert ("other", "negative") in fired and ("acme", "negative") not in fired


def test_an_engine_rebuilt_from_checkpoints_of_its_changed_brands_goes_on_exactly() -> None:
    """Each checkpoint holds the engine part and the brands changed since the last one; the
    latest part of each, merged, restores an engine that raises what the original would."""
    talks_early = [mention(m, "nice bread", "early", id=f"e{m}") for m in range(0, 60, 5)]
    mentions = sorted(
        [*stream(DAY, 1.0, "a", spike=SPIKE), *stream(DAY, 3.0, "b"), *talks_early],
        key=lambda m: m.created_at,
    )
    whole = run(mentions)
    cut = next(i for i, m in enumerate(mentions) if m.created_at >= T0 + timedelta(minutes=920))
    engine = Engine()
    events: list[AlertEvent] = []
    latest: dict[str, object] = {}
    written: list[set[str]] = []
    for start in range(0, cut, 400):
        events += run(mentions[start : min(start + 400, cut)], engine)
        changed = engine.take_changed()
        part = json.loads(json.dumps(engine.snapshot(changed)))
        latest.update(part.pop("brands"))
        written.append(changed)
    restored = Engine.restore({**part, "brands": latest})
    events += run(mentions[cut:], restored)
    assert events == whole and any(e.state == "firing" for e in events)
    # a brand that went quiet dozes through its empty buckets: its state is written no more
    assert "early" in written[0] and not any("early" in brands for brands in written[1:])
    # time moving on between two bucket ends changes no brand that counts nothing
    assert restored.closed_until is not None and restored.take_changed()
    minute = restored.closed_until + 60
    minute += 60 if minute % restored.settings.bucket_seconds == 0 else 0
    assert restored.advance(minute) == [] and restored.take_changed() == set()
    restored.add(mention(DAY + 0.1, "nice bread", "b", id="late-b"))
    assert restored.take_changed() == {"b"}


def test_a_snapshot_of_the_previous_release_restores_warm() -> None:
    """A checkpoint written before the sequential test and with the retired `burst_rank` bar
    (settings and rule states of that shape) restores, every brand warm, and goes on."""
    mentions = sorted(stream(DAY, 1.0, "a", spike=SPIKE), key=lambda m: m.created_at)
    cut = next(i for i, m in enumerate(mentions) if m.created_at >= T0 + timedelta(minutes=920))
    engine = Engine()
    run(mentions[:cut], engine)
    snapshot = json.loads(json.dumps(engine.snapshot()))
    settings = snapshot["settings"]
    settings["volume"] |= {"burst_rank": 6, "burst_days": 14}
    settings["negative"] |= {"burst_rank": 0, "burst_days": 14}
    del settings["volume"]["record_days"], settings["negative"]["record_days"]
    del settings["sequential"]
    settings["brands"] = {"a": {"volume": {"burst_rank": 3, "burst_days": 7}}}
    for state in snapshot["brands"].values():
        del state["negative"]["cusums"]
        state["volume"]["peaks"] = [[0, 5.0]]
    restored = Engine.restore(snapshot)
    assert restored.settings.for_brand("a").volume.record_days == 7
    brand = restored.brands["a"]
    assert brand.volume.seen == engine.brands["a"].volume.seen > 0  # warm: no cold start

    # the same incidents at the same times; only scores may differ while the restored CUSUM
    # runs, which the old snapshot lacks, build up again
    def incidents(events: list[AlertEvent]) -> list[tuple[str, str, datetime]]:
        return [(e.id, e.state, e.at) for e in events]

    later = run(mentions[cut:], Engine.restore(engine.snapshot()))
    assert incidents(run(mentions[cut:], restored)) == incidents(later)


def test_lanes_merged_in_any_order_give_the_alerts_of_one_ordered_lane() -> None:
    """Two partitions each in event-time order, holding the same brands (two producers with
    two partitioners), read at different paces: with event time the slowest lane's, every
    brand counts, checks and closes what the single ordered lane does."""
    mentions = sorted(
        [*stream(DAY, 1.0, "a", spike=SPIKE), *stream(DAY, 3.0, "b")],
        key=lambda m: m.created_at,
    )
    whole = run(mentions)
    lanes = [[m for i, m in enumerate(mentions) if i // 50 % 2 == lane] for lane in (0, 1)]
    engine, watermark = Engine(), Watermark(Engine().settings.allowed_lateness_seconds)
    events: list[AlertEvent] = []
    watermark.expect(0)
    watermark.expect(1)
    ahead = 0  # lane 1, with the later mentions of each block, runs up to 6 hours ahead
    positions = [0, 0]
    while positions[0] < len(lanes[0]) or positions[1] < len(lanes[1]):
        lane = 1 if positions[0] >= len(lanes[0]) else 0
        if positions[1] < len(lanes[1]) and ahead < 6 * 3600:
            lane = 1
        m = lanes[lane][positions[lane]]
        positions[lane] += 1
        assert engine.add(m).admission is Admission.ACCEPTED
        watermark.observe(lane, int(m.created_at.timestamp()))
        if positions[lane] == len(lanes[lane]):
            watermark.set_idle(lane)
        events += engine.advance(watermark.current())
        progress = [watermark.progress(n) or 0 for n in (0, 1)]
        ahead = progress[1] - progress[0]
    assert events == whole and any(e.state == "firing" for e in events)


def test_early_checks_skip_only_rules_that_cannot_fire(monkeypatch: pytest.MonkeyPatch) -> None:
    # On the sample stream and a ramped crisis stream, each early check is also judged in
    # full: a rule whose counts are below its bound (`least_to_fire`, skipped by the engine)
    # never fires, rules above it do fire, and most checks are skipped.
    seen: Counter[tuple[str, bool, bool]] = Counter()
    check_early = BrandState.check_early

    def judged_in_full(state: BrandState, start: int, until: int) -> list[AlertEvent]:
        volume, negatives = state._counts(start, until, pop=False)
        usual = state.volume.expected(start)
        fraction = (until - start) / state.settings.bucket_seconds
        counts: dict[AlertKind, int] = {"volume": volume, "negative": negatives}
        for kind, count in counts.items():
            if not state.alerts[kind].active:
                verdict = state._verdict(kind, start, volume, negatives, usual, fraction)
                above = count >= state._least_to_fire(kind, start)
                seen[kind, verdict.fires, above] += 1
        return check_early(state, start, until)

    monkeypatch.setattr(BrandState, "check_early", judged_in_full)
    with open_input(SAMPLE_PATH) as sample:
        replay(read_jsonl(sample), Engine(), lambda event: None)
    ramped = generate(ramped_scenario(seed=1, days=3, scale=0.3))
    replay(enumerate(ramped, start=1), Engine(), lambda event: None)
    for kind in ("volume", "negative"):
        assert seen[kind, True, False] == 0  # fired below the bound
        assert seen[kind, True, True] > 0  # the bound let firing checks through
        skipped = seen[kind, False, False]
        assert skipped > 0.5 * sum(n for (k, *_), n in seen.items() if k == kind), seen


def test_closes_whose_scores_nobody_reads_are_judged_only_as_far_as_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without a bucket listener, a close whose counts are below both rules' bounds (no alert
    # active) only asks which of the negative rule's windows are calm. Each such close is also
    # judged in full here: neither rule fires and the calm windows are the same. Most closes
    # are such, and the alerts and the state are those of an engine that reads every score.
    seen: Counter[bool] = Counter()
    closing = BrandState._closing_verdicts

    def also_in_full(
        state: BrandState, start: int, volume: int, negatives: int, usual: float, unscored: bool
    ) -> dict[AlertKind, Verdict]:
        full = closing(state, start, volume, negatives, usual, False)
        verdicts = closing(state, start, volume, negatives, usual, unscored)
        partly = verdicts["volume"] is QUIET
        if partly:
            assert not full["volume"].fires and not full["negative"].fires
            assert verdicts["negative"].calm_windows == full["negative"].calm_windows
        if unscored:
            seen[partly] += 1
        return verdicts

    ramped = generate(ramped_scenario(seed=1, days=3, scale=0.3))
    with open_input(SAMPLE_PATH) as sample:
        streams: list[list[tuple[int, Mention | Invalid]]] = [
            list(read_jsonl(sample)),
            list(enumerate(ramped, start=1)),
        ]
    plain = [Engine() for _ in streams]  # the engine as it runs, nothing judged in addition
    plain_alerts = [
        run_records(records, engine) for records, engine in zip(streams, plain, strict=True)
    ]
    monkeypatch.setattr(BrandState, "_closing_verdicts", also_in_full)
    for records, engine, alerts in zip(streams, plain, plain_alerts, strict=True):
        reports: list[BucketReport] = []
        listened = Engine(on_bucket=reports.append)
        assert run_records(records, listened) == alerts
        assert without_walks(listened.snapshot()) == without_walks(engine.snapshot())
        assert run_records(records, Engine()) == alerts  # counting the closes
    assert seen[True] > 0.5 * (seen[True] + seen[False]), seen
    assert seen[False] > 0, seen  # the crises judged in full


def run_records(records: list[tuple[int, Mention | Invalid]], engine: Engine) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    replay(records, engine, events.append)
    return events


def without_walks(snapshot: dict[str, Any]) -> dict[str, Any]:
    """An engine's snapshot without the dozing brands' reporting walks (kept only for a
    bucket listener)."""
    brands = {brand: {**state, "walk": None} for brand, state in snapshot["brands"].items()}
    return {**snapshot, "brands": brands}


def test_a_rule_switched_off_by_a_huge_bar_never_fires() -> None:
    off = DetectionSettings.model_validate({"volume": {"effect": 30000, "critical_effect": 60000}})
    events: list[AlertEvent] = []
    with open_input(SAMPLE_PATH) as sample:
        replay(read_jsonl(sample), Engine(off), events.append)
    assert events and all(event.kind == "negative" for event in events)
