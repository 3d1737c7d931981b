"""The ramped crisis benchmark: brands, incidents, their ranges and determinism."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from pipeline.synthetic import (
    EVALUATION_START,
    EVALUATION_TAIL,
    EVALUATION_WARMUP,
    INCIDENT_GAP,
    INCIDENT_KINDS,
    Incident,
    Scenario,
    evaluation_scenario,
    expected_mentions,
    generate,
    surge_mentions,
    write_jsonl,
)
from pipeline.synthetic_ramped import (
    CRISIS_HOURS,
    MAX_SURGE,
    NIGHT_CRISIS_MIN_VOLUME,
    ramped_brands,
    ramped_scenario,
)

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return ramped_scenario()


def local_start(scenario: Scenario, incident: Incident) -> datetime:
    profile = next(b for b in scenario.brands if b.name == incident.brand)
    return incident.start + timedelta(hours=profile.utc_offset_hours)


def of_kind(scenario: Scenario, kind: str) -> list[Incident]:
    return [i for i in scenario.incidents if i.kind == kind]


def test_brands_from_a_bakery_to_an_airline(scenario: Scenario) -> None:
    per_hour = [b.mentions_per_day / 24 for b in scenario.brands]
    assert per_hour == sorted(per_hour, reverse=True)
    assert 1_000 <= per_hour[0] <= 3_000  # an airline
    assert sum(1 <= rate <= 5 for rate in per_hour) >= 2  # a small café, a bakery
    bakery = next(b for b in scenario.brands if b.theme == "bakery")
    assert bakery.mentions_per_day / 24 == pytest.approx(2.5)
    assert any(b.french_share > 0.9 for b in scenario.brands)
    assert any(b.french_share < 0.1 for b in scenario.brands)
    assert scenario.days == 14 and scenario.start == EVALUATION_START
    assert 3e5 < expected_mentions(scenario) < 5e5  # one seed replays in well under a minute


def test_every_brand_has_every_kind_apart_and_after_the_warmup(scenario: Scenario) -> None:
    end = scenario.start + scenario.days * DAY
    for profile in scenario.brands:
        mine = sorted(
            (i for i in scenario.incidents if i.brand == profile.name), key=lambda i: i.start
        )
        kinds = Counter(i.kind for i in mine)
        assert set(kinds) == set(INCIDENT_KINDS) and kinds["crisis"] >= 3, profile.name
        assert mine[0].start >= scenario.start + EVALUATION_WARMUP
        assert mine[-1].end <= end - EVALUATION_TAIL
        assert all(b.start - a.end >= INCIDENT_GAP for a, b in pairwise(mine))
        shapes = {i.ramp_shape for i in mine if i.kind == "crisis"}
        assert shapes == {"linear", "exponential"}, profile.name


def test_crises_ramp_up_for_10_to_90_minutes_to_2_to_15_times_normal(scenario: Scenario) -> None:
    crises = of_kind(scenario, "crisis")
    for crisis in crises:
        assert 10 * MINUTE <= crisis.ramp <= 90 * MINUTE, crisis
        assert crisis.duration - crisis.ramp >= 45 * MINUTE, crisis  # then the peak fades
        assert 2 <= crisis.intensity <= MAX_SURGE == 15, crisis
        alone = Scenario(scenario.start, scenario.days, scenario.brands, (crisis,))
        assert surge_mentions(alone, crisis) >= 15 or crisis.intensity == MAX_SURGE, crisis
    ramps = sorted(crisis.ramp / MINUTE for crisis in crises)
    assert ramps[0] <= 30 and ramps[-1] >= 60  # short and long ramps
    intensities = sorted(crisis.intensity for crisis in crises)
    assert intensities[0] < 4 and intensities[-1] > 10
    for viral in of_kind(scenario, "viral"):
        assert 10 * MINUTE <= viral.ramp <= 90 * MINUTE and viral.intensity >= 2
    assert all(not i.ramp for i in scenario.incidents if i.kind not in ("crisis", "viral"))


def test_crises_break_at_night_and_at_peak_hours(scenario: Scenario) -> None:
    hours = [(local_start(scenario, c).hour, c.brand) for c in of_kind(scenario, "crisis")]
    volumes = {b.name: b.mentions_per_day for b in scenario.brands}
    night = [brand for hour, brand in hours if hour in CRISIS_HOURS["night"]]
    assert len(night) >= 2
    assert all(volumes[brand] >= NIGHT_CRISIS_MIN_VOLUME for brand in night)
    assert sum(hour in CRISIS_HOURS["peak"] for hour, _ in hours) >= 4


def test_slow_burns_climb_to_1_3_to_2_times_over_6_to_12_hours(scenario: Scenario) -> None:
    burns = of_kind(scenario, "slow_burn")
    assert len(burns) == len(scenario.brands)
    for burn in burns:
        assert 6 * 60 <= burn.duration / MINUTE <= 12 * 60, burn
        assert 1.3 <= burn.intensity <= 2.0, burn


def test_deterministic_per_seed_and_the_step_benchmark_keeps_its_step() -> None:
    assert ramped_scenario(seed=3) == ramped_scenario(seed=3)
    assert ramped_scenario(seed=3).incidents != ramped_scenario(seed=4).incidents
    short = ramped_scenario(days=3, seed=2, scale=0.02)
    assert short.days == 3 and len(short.incidents) == 2 * len(short.brands)
    first, again = io.StringIO(), io.StringIO()
    write_jsonl(generate(short), first)
    write_jsonl(generate(ramped_scenario(days=3, seed=2, scale=0.02)), again)
    assert first.getvalue() == again.getvalue()
    assert all(not i.ramp for i in evaluation_scenario().incidents)
    with pytest.raises(ValueError, match="two days"):
        ramped_scenario(days=1)


def test_brands_do_not_depend_on_the_seed() -> None:
    assert ramped_scenario(seed=5).brands == ramped_brands() == ramped_scenario(seed=6).brands
