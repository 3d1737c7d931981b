"""The labelled crisis-stream evaluation: scenario, troll bursts, alert matching, the oracle's
delays beside the detector's, goals, command.

The detector is not held to its goals here (it is being reworked): these tests check what the
benchmark contains and how alerts are scored against it.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from buzzwatch.evaluation.crisis import (
    GRACE,
    OUTAGE_AFTERMATH,
    CrisisReport,
    IncidentResult,
    evaluate,
    failed_goals,
    goal_failures,
    match_alerts,
    tally,
)
from buzzwatch.evaluation.oracle import BrandCalibration, Calibration, OracleRun
from pipeline.models import AlertEvent, Mention
from pipeline.sentiment import SentimentRouter
from pipeline.synthetic import (
    DEMO_START,
    EVALUATION_START,
    EVALUATION_TAIL,
    EVALUATION_WARMUP,
    INCIDENT_GAP,
    INCIDENT_KINDS,
    BrandProfile,
    Incident,
    Scenario,
    evaluation_brands,
    evaluation_scenario,
    expected_mentions,
    generate,
)
from pipeline.synthetic_ramped import ramped_scenario
from tests.helpers import buzzwatch

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SOURCES = {"twitter": 0.6, "facebook": 0.4}


# --- hand-made incidents and alerts ---------------------------------------------------------


def brand(name: str, per_day: float = 100) -> BrandProfile:
    return BrandProfile(name, f"@{name}", per_day, 0.5, 0.1, "food", SOURCES)


def alert(brand: str, kind: str, at: datetime, state: str = "firing", n: int = 0) -> AlertEvent:
    """A firing (or resolved) alert whose deciding 5-minute bucket ends at `at`."""
    return AlertEvent.model_validate(
        {
            "id": f"{brand}-{kind}-{at.isoformat()}-{n}",
            "brand": brand,
            "kind": kind,
            "state": state,
            "severity": "warning",
            "at": at,
            "started_at": at - 5 * MINUTE,
            "observed": 12.0,
            "expected": 2.0,
            "window_seconds": 300,
            "score": 0.99,
        }
    )


T = DEMO_START + DAY  # first moment after the default one-day warm-up
CRISIS = Incident("a", "crisis", T + 10 * HOUR + 3 * MINUTE, HOUR, 6.0)
MISSED = Incident("a", "crisis", T + 2 * DAY + 9 * HOUR, HOUR, 6.0)
BURN = Incident("b", "slow_burn", T + 8 * HOUR, 8 * HOUR, 1.1)
VIRAL = Incident("b", "viral", T + DAY + 12 * HOUR, 2 * HOUR, 4.0)
TROLL = Incident("a", "troll", T + DAY + 3 * HOUR, 30 * MINUTE, 40)
OUTAGE = Incident("b", "outage", T + 3 * DAY, 4 * HOUR)
SCENARIO = Scenario(
    DEMO_START, 8, (brand("a"), brand("b")), (CRISIS, MISSED, BURN, VIRAL, TROLL, OUTAGE)
)


def events() -> list[AlertEvent]:
    return [
        alert("a", "volume", T - HOUR),  # warm-up: not counted
        alert("a", "negative", T + 10 * HOUR + 5 * MINUTE),  # crisis: 2 minutes after onset
        alert("a", "volume", T + 10 * HOUR + 10 * MINUTE),  # crisis: expected, not false
        alert("a", "negative", T + 10 * HOUR + 40 * MINUTE, "resolved"),  # ignored
        alert("a", "volume", MISSED.start + 15 * MINUTE),  # a volume alert does not detect
        alert("a", "negative", MISSED.end + 2 * HOUR),  # late re-fire: false, labelled
        alert("b", "negative", BURN.end + GRACE),  # slow burn: last minute of the grace
        alert("b", "volume", VIRAL.start + 20 * MINUTE),  # viral volume: fine
        alert("b", "negative", VIRAL.start + 30 * MINUTE),  # viral negative: false
        alert("a", "negative", TROLL.start + 10 * MINUTE),  # troll flagged: neither
        alert("b", "volume", OUTAGE.end + 35 * MINUTE),  # outage aftermath: false
        alert("b", "volume", OUTAGE.end + OUTAGE_AFTERMATH + 20 * MINUTE),  # later: unmatched
        alert("a", "negative", T + 5 * DAY),  # nothing happening: unmatched
        alert("zzz", "volume", T + 5 * DAY),  # unknown brand: unmatched
    ]


@pytest.fixture(scope="module")
def report() -> CrisisReport:
    return match_alerts(SCENARIO, events())


def result(report: CrisisReport, incident: Incident) -> Any:
    return next(r for r in report.results if r.incident == incident)


def test_crisis_detected_with_its_delay(report: CrisisReport) -> None:
    crisis = result(report, CRISIS)
    assert crisis.detected
    assert crisis.delay == 2 * MINUTE
    assert [e.kind for e in crisis.alerts] == ["negative", "volume"]


def test_crisis_with_only_a_volume_alert_is_missed(report: CrisisReport) -> None:
    missed = result(report, MISSED)
    assert not missed.detected and missed.delay is None
    assert [e.kind for e in missed.alerts] == ["volume"]
    assert "a: crisis at " + MISSED.start.strftime("%Y-%m-%dT%H:%M") in report.table()


def test_slow_burn_detected_within_the_grace(report: CrisisReport) -> None:
    burn = result(report, BURN)
    assert burn.detected and burn.delay == BURN.duration + GRACE
    late = match_alerts(SCENARIO, [alert("b", "negative", BURN.end + GRACE + MINUTE)])
    assert not result(late, BURN).detected
    assert [f.reason for f in late.false_alerts] == ["after_incident"]  # still false


def test_alert_whose_bucket_ends_at_the_onset_is_not_a_detection() -> None:
    onset = Incident("a", "crisis", T + 10 * HOUR, HOUR, 6.0)
    scenario = Scenario(DEMO_START, 3, (brand("a"),), (onset,))
    early = match_alerts(scenario, [alert("a", "negative", onset.start)])
    assert not early.results[0].detected and len(early.false_alerts) == 1
    first = match_alerts(scenario, [alert("a", "negative", onset.start + 5 * MINUTE)])
    assert first.results[0].delay == 5 * MINUTE and not first.false_alerts


def test_false_alerts_and_their_reasons(report: CrisisReport) -> None:
    reasons = [(f.event.brand, f.event.kind, f.reason) for f in report.false_alerts]
    assert reasons == [
        ("b", "negative", "viral"),
        ("a", "negative", "after_incident"),
        ("b", "volume", "outage"),
        ("b", "volume", "unmatched"),
        ("a", "negative", "unmatched"),
        ("zzz", "volume", "unmatched"),
    ]
    assert result(report, VIRAL).detected  # "detected" for a viral moment: a negative alert
    assert result(report, OUTAGE).detected  # and for an outage: any alert
    assert [e.kind for e in result(report, TROLL).alerts] == ["negative"]
    assert len(report.warmup_alerts) == 1


def test_tallies_per_brand_and_overall(report: CrisisReport) -> None:
    a, b, unknown = report.brands
    assert (a.brand, b.brand, unknown.brand) == ("a", "b", "zzz")
    assert a.incidents == {"crisis": 2, "troll": 1}
    assert a.detected == {"crisis": 1, "troll": 1}
    assert a.recall == 0.5 and b.recall == 1.0
    assert a.false_alerts == {"after_incident": 1, "unmatched": 1}
    assert b.false_alerts == {"viral": 1, "outage": 1, "unmatched": 1}
    assert a.brand_weeks == pytest.approx(1.0)  # 8 days less the one-day warm-up
    assert b.false_per_brand_week == pytest.approx(3.0)
    assert a.crisis_delays == (2 * MINUTE,) and b.slow_burn_delays == (BURN.duration + GRACE,)
    overall = report.overall
    assert overall.required == 3 and overall.required_detected == 2
    assert overall.recall == pytest.approx(2 / 3)
    assert overall.false_total == 6
    assert overall.brand_weeks == pytest.approx(2.0)
    assert overall.false_per_brand_week == pytest.approx(3.0)


def test_median_and_max_delay_over_crises() -> None:
    crises = [Incident("a", "crisis", T + k * DAY + 10 * HOUR, HOUR, 6.0) for k in range(3)]
    scenario = Scenario(DEMO_START, 5, (brand("a"),), tuple(crises))
    delays = (5, 15, 40)
    found = [
        alert("a", "negative", incident.start + delay * MINUTE)
        for incident, delay in zip(crises, delays, strict=True)
    ]
    report = match_alerts(scenario, found)
    assert report.overall.crisis_delays == tuple(d * MINUTE for d in delays)
    crisis = report.to_dict()["overall"]["crisis_delay_minutes"]
    assert (crisis["median"], crisis["max"]) == (15, 40)
    assert goal_failures(report) == []
    row = next(line for line in report.table().splitlines() if line.startswith("all "))
    assert row.split()[-4:] == ["15m", "40m", "-", "-"]


def test_goal_failures_name_each_missed_goal(report: CrisisReport) -> None:
    failures = goal_failures(report)
    assert len(failures) == 2  # no oracle: the delay goals are not judged
    assert failures[0] == "1 of 3 crises and slow burns missed (goal: at least 95% found)"
    assert "3.00 false alerts per brand-week" in failures[1]


def judged(delays: list[tuple[int | None, int | None]], burns: int = 0) -> list[str]:
    """The goals of crises found after (detector, oracle) minutes (None: missed), and of
    `burns` slow burns found by both, with no false alert."""
    results = [
        IncidentResult(
            Incident("a", "crisis", T + k * DAY, HOUR, 6.0),
            (alert("a", "negative", T + k * DAY + detector * MINUTE),) if detector else (),
            None if oracle is None else oracle * MINUTE,
        )
        for k, (detector, oracle) in enumerate(delays)
    ]
    results += [
        IncidentResult(BURN, (alert("b", "negative", BURN.start + HOUR),), 50 * MINUTE)
    ] * burns
    return failed_goals(results, tally("all", results, [], 10.0, None))


def test_delay_goals_are_judged_against_the_oracle_on_crises_both_found() -> None:
    assert judged([(20, 18), (30, 26), (36, 30)]) == []  # median 30m <= 1.25 x 26m
    slow = judged([(20, 10), (30, 20), (35, 20)])
    assert slow == ["median crisis delay 30m, 1.50 times the oracle's 20m on the 3 crises both "
                    "found (goal <= 1.25 times)"]  # fmt: skip
    late = judged([(10, 10), (20, 20), (45, 20)])
    assert late == ["1 of 3 crises found later than 2 times their oracle delay (worst: a at "
                    f"{(T + 2 * DAY).strftime('%Y-%m-%dT%H:%M:%SZ')}, 45m vs 20m)"]  # fmt: skip
    # a crisis the oracle misses is judged by neither delay goal, nor one the detector misses
    assert judged([(10, 10), (20, 20), (90, None)] + [(None, 5)] + [(10, 10)] * 16, burns=4) == []


def test_recall_goal_allows_one_miss_in_twenty() -> None:
    assert judged([(10, 10)] * 15 + [(None, 10)], burns=4) == []
    missed = judged([(10, 10)] * 14 + [(None, 10)] * 2, burns=4)
    assert missed == ["2 of 20 crises and slow burns missed (goal: at least 95% found)"]


def test_oracle_alarms_are_matched_like_alerts() -> None:
    calibration = Calibration(
        (2.0,), 0.3, 100, tuple(BrandCalibration(n, 0.1, 1000, 6.0, 0.3) for n in "ab")
    )
    alarms = {
        "a": (
            T - HOUR,  # warm-up: not counted
            CRISIS.start,  # at the onset: not in the window, false
            CRISIS.start + 7 * MINUTE,  # the crisis's first alarm
            CRISIS.start + 9 * MINUTE,
            T + 5 * DAY,  # nothing happening: false
        ),
        "b": (BURN.end + GRACE, VIRAL.start + 15 * MINUTE),  # explained: not false
    }
    found = match_alerts(SCENARIO, events(), oracle=OracleRun(calibration, alarms))
    assert result(found, CRISIS).oracle_delay == 7 * MINUTE
    assert result(found, BURN).oracle_delay == BURN.duration + GRACE
    assert result(found, MISSED).oracle_delay is None
    assert found.oracle_false_alarms == (("a", CRISIS.start), ("a", T + 5 * DAY))
    document = json.loads(json.dumps(found.to_dict()))
    assert document["oracle"]["false_alarms_per_brand_week"] == pytest.approx(1.0)
    assert document["oracle"]["brands"][0]["threshold"] == 6.0
    assert document["incidents"][0]["oracle_delay_minutes"] == 7
    assert match_alerts(SCENARIO, events()).to_dict()["oracle"] is None


def test_report_json_and_table(report: CrisisReport) -> None:
    document = json.loads(json.dumps(report.to_dict()))
    assert document["overall"]["false_alerts"] == 6
    assert document["overall"]["false_alerts_by_reason"] == {
        "viral": 1,
        "after_incident": 1,
        "outage": 1,
        "unmatched": 3,
    }
    assert [b["brand"] for b in document["brands"]] == ["a", "b", "zzz"]
    assert len(document["incidents"]) == 6
    assert document["incidents"][0]["delay_minutes"] == 2
    assert len(document["warmup_alerts"]) == 1
    table = report.table()
    assert "false alerts: 6" in table and "missed crises and slow burns: 1" in table
    assert "alerts during the warm-up (not counted): 1" in table


# --- the scenario ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return evaluation_scenario()


def local_start(scenario: Scenario, incident: Incident) -> datetime:
    profile = next(b for b in scenario.brands if b.name == incident.brand)
    return incident.start + timedelta(hours=profile.utc_offset_hours)


def test_scenario_brands_span_airline_to_bakery(scenario: Scenario) -> None:
    volumes = [b.mentions_per_day for b in scenario.brands]
    assert len(volumes) >= 8 and volumes == sorted(volumes, reverse=True)
    assert volumes[0] >= 40_000 and volumes[-1] <= 5
    assert any(1_000 <= v <= 20_000 for v in volumes) and any(10 <= v <= 100 for v in volumes)
    assert {b.theme for b in scenario.brands} >= {"airline", "bakery", "food", "tech"}
    assert any(b.french_share > 0.9 for b in scenario.brands)
    assert any(b.french_share < 0.1 for b in scenario.brands)
    assert len({b.utc_offset_hours for b in scenario.brands}) >= 4
    assert scenario.days == 28 and scenario.start.weekday() == 0
    assert 1.6e6 < expected_mentions(scenario) < 2.0e6  # about 62,000 a day


def test_scenario_has_every_kind_for_every_brand(scenario: Scenario) -> None:
    kinds = Counter(i.kind for i in scenario.incidents)
    assert set(kinds) == set(INCIDENT_KINDS)
    assert kinds["crisis"] >= 16 and kinds["slow_burn"] >= 5
    for profile in scenario.brands:
        mine = {i.kind for i in scenario.incidents if i.brand == profile.name}
        assert mine >= {"crisis", "viral", "troll", "outage"}
        assert ("slow_burn" in mine) == (profile.mentions_per_day >= 80)


def test_incidents_are_spread_apart_and_after_the_warmup(scenario: Scenario) -> None:
    end = scenario.start + scenario.days * DAY
    for profile in scenario.brands:
        mine = sorted(
            (i for i in scenario.incidents if i.brand == profile.name), key=lambda i: i.start
        )
        assert mine[0].start >= scenario.start + EVALUATION_WARMUP
        assert mine[-1].end <= end - EVALUATION_TAIL
        assert all(b.start - a.end >= INCIDENT_GAP for a, b in pairwise(mine))
    crises = [i for i in scenario.incidents if i.kind == "crisis"]
    assert len({local_start(scenario, i).weekday() for i in crises}) >= 5
    assert any(local_start(scenario, i).weekday() >= 5 for i in crises)
    hours = [local_start(scenario, i).hour for i in crises]
    assert min(hours) <= 9 and max(hours) >= 20


def test_incident_durations_and_strengths(scenario: Scenario) -> None:
    bounds = {
        "crisis": (45, 180),
        "slow_burn": (360, 720),
        "viral": (60, 240),
        "troll": (20, 60),
        "outage": (120, 480),
    }
    for incident in scenario.incidents:
        low, high = bounds[incident.kind]
        assert low <= incident.duration / MINUTE <= high, incident
        if incident.kind == "crisis":
            assert incident.intensity >= 2.5, incident  # at its peak, several times normal
        if incident.kind == "slow_burn":
            assert 1.0 < incident.intensity <= 1.2  # volume nearly flat
        if incident.kind == "troll":
            assert 12 <= incident.intensity <= 72


def test_scenario_is_deterministic_and_seeded() -> None:
    assert evaluation_scenario(seed=3) == evaluation_scenario(seed=3)
    assert evaluation_scenario(seed=3).incidents != evaluation_scenario(seed=4).incidents
    short = evaluation_scenario(days=3)
    assert short.days == 3 and len(short.incidents) == len(short.brands)
    assert {i.kind for i in short.incidents} >= {"crisis", "outage", "troll", "viral"}
    with pytest.raises(ValueError, match="two days"):
        evaluation_scenario(days=1)


def only(scenario: Scenario, name: str) -> Scenario:
    """The scenario restricted to one brand (the others do not change its stream)."""
    incidents = tuple(i for i in scenario.incidents if i.brand == name)
    profile = tuple(b for b in scenario.brands if b.name == name)
    return Scenario(scenario.start, scenario.days, profile, incidents, scenario.seed)


def within(mentions: list[Mention], start: datetime, end: datetime) -> list[Mention]:
    return [m for m in mentions if start <= m.created_at < end]


def negative_share(mentions: list[Mention]) -> float:
    router = SentimentRouter()
    negative = [router.is_negative(router.polarity(m.text, m.lang)) for m in mentions]
    return sum(negative) / len(negative)


def test_bakery_crises_and_troll_burst_are_tens_of_mentions(scenario: Scenario) -> None:
    bakery = only(scenario, "Boulangerie Aubert")
    mentions = list(generate(bakery))
    normal = [m for m in mentions if not any(i.start <= m.created_at < i.end + HOUR
                                             for i in bakery.incidents)]  # fmt: skip
    assert 3 <= len(normal) / (bakery.days - 2) <= 8  # a handful a day
    assert all(m.lang in ("fr", "en") for m in mentions)
    for crisis in (i for i in bakery.incidents if i.kind == "crisis"):
        burst = within(mentions, crisis.start, crisis.end)
        assert 12 <= len(burst) <= 55, crisis
        assert negative_share(burst) > 0.6
    troll = next(i for i in bakery.incidents if i.kind == "troll")
    posts = within(mentions, troll.start, troll.end)
    authors = Counter(m.author.id for m in posts if m.author)
    assert len(posts) >= 0.9 * troll.intensity
    assert 2 <= len(authors) <= 8 and authors.most_common(1)[0][1] >= 5
    assert statistics.median(m.author.followers or 0 for m in posts if m.author) < 200
    assert len({m.text for m in posts}) < len(posts)  # trolls repeat themselves
    assert negative_share(posts) > 0.6
    outage = next(i for i in bakery.incidents if i.kind == "outage")
    assert within(mentions, outage.start, outage.end) == []


def test_generated_volumes_follow_the_profiles(scenario: Scenario) -> None:
    """Expected volumes match the profiles; the small brands' actual four weeks do too."""
    for profile in scenario.brands:
        alone = only(scenario, profile.name)
        per_day = expected_mentions(alone) / alone.days
        assert profile.mentions_per_day <= per_day < 1.1 * profile.mentions_per_day + 10
        if profile.mentions_per_day <= 400:
            count = sum(1 for _ in generate(alone))
            assert abs(count - expected_mentions(alone)) < 4 * math.sqrt(count) + 10


def test_big_brand_crisis_is_several_times_its_normal_rate(scenario: Scenario) -> None:
    crisis = next(i for i in scenario.incidents if i.brand == "Pixelo" and i.kind == "crisis")
    pixelo = only(scenario, "Pixelo")
    mentions = list(generate(pixelo))
    burst = within(mentions, crisis.start, crisis.end)
    week_before = within(mentions, crisis.start - 7 * DAY, crisis.end - 7 * DAY)
    assert len(burst) > 2 * len(week_before)
    assert negative_share(burst) > 0.5 > negative_share(week_before)


# --- the evaluation and the command ---------------------------------------------------------


def test_evaluate_replays_and_scores_the_stream() -> None:
    short = evaluation_scenario(days=2, scale=0.05)
    report = evaluate(short)
    assert report.mentions == sum(1 for _ in generate(short))
    assert len(report.results) == len(short.incidents)
    assert [t.brand for t in report.brands] == [b.name for b in evaluation_brands()]
    assert report.overall.brand_weeks == pytest.approx(8 / 7)
    assert report.seed == short.seed


def test_command_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "crisis.json"
    args = ["--scenario", "step", "--days", "3", "--scale", "0.1", "--seed", "2"]
    args += ["--oracle-weeks", "20", "--json", str(out), "--no-progress"]
    printed = buzzwatch("evaluate", "crisis", *args).stdout
    lines = printed.splitlines()
    assert lines[0].startswith("Crisis-stream evaluation: 8 brands, 3 days from 2026-04-06")
    header = next(line for line in lines if line.startswith("brand "))
    for column in ("crisis", "slow", "recall", "troll", "viral", "outage", "false", "false/bw"):
        assert column in header
    for profile in evaluation_brands():
        assert sum(line.startswith(profile.name) for line in lines) >= 2, profile.name
    assert sum(line.startswith("all ") for line in lines) == 2  # detector, and beside the oracle
    assert any(line.startswith("Detector vs oracle") for line in lines)
    assert any(line.startswith("goals (seed 2): ") for line in lines)
    assert not any(line.startswith("pooled") for line in lines)  # one seed: no summary
    assert "mentions generated and replayed in" in lines[-2]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["seed"] == 2 and document["start"] == "2026-04-06T00:00:00Z"
    assert document["scenario"] == "step" and len(document["brands"]) == 8
    assert len(document["incidents"]) == len(evaluation_scenario(seed=2, days=3).incidents)
    assert {"recall", "false_alerts_per_brand_week", "crisis_delay_minutes"} <= set(
        document["overall"]
    )
    assert isinstance(document["goals_failed"], list) and document["wall_seconds"] >= 0
    oracle = document["oracle"]
    assert oracle["rhos"] == [2.0] and oracle["calibration_brand_weeks_per_brand"] == 20
    assert [b["brand"] for b in oracle["brands"]] == [b.name for b in evaluation_brands()]
    assert all(b["threshold"] > 0 and 0 < b["negative_share"] < 1 for b in oracle["brands"])
    assert EVALUATION_START.isoformat().startswith("2026-04-06")


def test_command_runs_several_seeds_of_the_ramped_benchmark(tmp_path: Path) -> None:
    """The default benchmark: a report per seed, each with its detector-vs-oracle rows, and a
    summary with a row per seed and the pooled goals."""
    out = tmp_path / "seeds.json"
    args = ["--days", "2", "--scale", "0.1", "--seeds", "1-2", "--oracle-weeks", "20"]
    printed = buzzwatch("evaluate", "crisis", *args, "--json", str(out), "--no-progress").stdout
    lines = printed.splitlines()
    firsts = [line for line in lines if line.startswith("Crisis-stream evaluation: ")]
    assert [line.split(", ")[2] for line in firsts] == ["seed 1", "seed 2"]
    assert all("6 brands, 2 days" in line for line in firsts)
    assert sum(line.startswith("Detector vs oracle") for line in lines) == 2
    crises = [line for line in lines if re.match(r".{22} crisis +\d{4}-\d\d-\d\dT", line)]
    scenarios = [ramped_scenario(days=2, seed=seed, scale=0.1) for seed in (1, 2)]
    assert len(crises) == sum(i.kind == "crisis" for s in scenarios for i in s.incidents)
    assert all(" lin " in line or " exp " in line for line in crises)  # every crisis ramps
    summary = lines[lines.index("Seeds 1, 2 (ramped), detector vs oracle:") :]
    rows = [line.split()[0] for line in summary if line[:1].isdigit() or line.startswith("pool")]
    assert rows == ["1", "2", "pooled"]
    assert any(line.startswith("goals (pooled): ") for line in summary)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["seeds"] == [1, 2] and document["scenario"] == "ramped"
    assert [run["seed"] for run in document["runs"]] == [1, 2]
    assert isinstance(document["pooled_goals_failed"], list)
    delays = [i["oracle_delay_minutes"] for run in document["runs"] for i in run["incidents"]]
    assert any(delay is not None for delay in delays)
