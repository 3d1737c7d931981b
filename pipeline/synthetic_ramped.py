"""The ramped crisis benchmark: labelled streams whose crises build up as a post spreads.

`pipeline.synthetic.evaluation_scenario` starts its crises as a step. Real ones climb for tens
of minutes while a post is shared; `ramped_scenario` is the labelled stream for them: six
brands from an airline with about 1,000 mentions an hour down to a fish bar with about one,
English and French, over two weeks, each brand with seven incidents (three crises, a slow
burn, a viral moment, a troll burst, an outage) after an incident-free first day.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from random import Random
from typing import Final, Literal

from pipeline.synthetic import (
    EVALUATION_START,
    EVALUATION_TAIL,
    EVALUATION_WARMUP,
    INCIDENT_GAP,
    BrandProfile,
    Incident,
    IncidentKind,
    RampShape,
    Scenario,
    benchmark_brand,
    draw_duration,
    local_start,
    surge_mentions,
)

# One brand's incidents over two weeks, in the order they come (each brand starts elsewhere).
RAMPED_CYCLE: Final[tuple[IncidentKind, ...]] = (
    "crisis", "slow_burn", "troll", "crisis", "viral", "outage", "crisis",
)  # fmt: skip
CYCLE_DAYS: Final = 14
MAX_SURGE: Final = 15.0  # the largest crisis or viral peak, times the brand's normal rate
NIGHT_CRISIS_MIN_VOLUME: Final = 500.0  # mentions a day; smaller brands' crises break by day
RAMP_MINUTES: Final = (10, 90)
HourClass = Literal["peak", "night", "day"]
# Local hours at which a crisis may break, by class; crises of one brand take them in turn.
CRISIS_HOURS: Final[dict[HourClass, range | tuple[int, ...]]] = {
    "peak": (11, 12, 18, 19, 20),
    "night": range(0, 6),
    "day": range(7, 23),
}
_CRISIS_CLASSES: Final[tuple[HourClass, ...]] = ("peak", "night", "day")


def ramped_brands() -> tuple[BrandProfile, ...]:
    """Six brands from ~24,000 mentions a day (1,000 an hour) down to ~29, busiest first.

    An airline and a telecom operator (France, bilingual talk), a US coffee chain, a small
    café and a village bakery in Lyon (2.5 mentions an hour), and a British fish bar.
    """

    brand = benchmark_brand
    return (
        brand("Aeroval", 24_000, 0.4, 0.2, "airline", 1),
        brand("Lumio Telecom", 3_600, 0.75, 0.18, "tech", 1),
        brand("Copperleaf Coffee", 720, 0.05, 0.12, "food", -5),
        brand("Café des Canuts", 100, 0.9, 0.1, "food", 1),
        brand("Boulangerie Vidal", 60, 0.97, 0.06, "bakery", 1),
        brand("Saltmarsh Fish Bar", 29, 0.02, 0.1, "food", 0),
    )


def ramped_scenario(
    weeks: int = 2, seed: int = 1, *, days: int | None = None, scale: float = 1.0
) -> Scenario:
    """The ramped benchmark: `ramped_brands()` over `weeks` weeks from `EVALUATION_START`.

    `days`, if given, replaces `weeks` (short runs); `scale` multiplies every volume (brands and
    troll posts; surges follow their brand) for quick runs, the schedule and shapes unchanged.

    Each brand has seven incidents per two weeks (at least one), one per equal slice of the
    span after the warm-up day (`EVALUATION_WARMUP`) and before the last six hours, at least
    four hours apart:

    - crisis: an onset ramp of 10 to 90 minutes, linear or exponential (a brand's crises
      alternate), then 45 minutes to 3 hours fading from the peak; the peak is 2 to 15 times
      the brand's normal rate (log-uniform), raised for small brands until the crisis brings at
      least 15 to 40 extra mentions (at most 15 times). A brand's crises break in turn at peak
      hours (11-13 h, 18-21 h local), at night (0-6 h; by day, 7-23 h, for brands under 500
      mentions a day: a bakery's crisis does not start at 3 am) and at any waking hour;
    - slow burn: 6 to 12 hours, starting between 5 and 14 h local; the volume climbs to 1.3 to
      2 times normal while the share of crisis texts climbs to 70 %;
    - viral: a ramp of 10 to 90 minutes, then 1 to 3 hours fading out; a positive peak 2 to 8
      times normal, raised until it brings 20 to 60 extra mentions (at most 15 times);
    - troll: 20 to 60 minutes, 12 to 72 posts from a handful of low-reach accounts;
    - outage: 2 to 8 hours without any mention of the brand.

    Deterministic: each brand's incidents draw from a generator seeded with `seed` and its name.
    """
    length = days if days is not None else 7 * weeks
    if length < 2:
        raise ValueError("the ramped scenario needs at least two days")
    if scale <= 0:
        raise ValueError("scale must be positive")
    brands = ramped_brands()
    incidents: list[Incident] = []
    for index, brand in enumerate(brands):
        rng = Random(f"ramped/{seed}/{brand.name}")
        incidents += _incidents(rng, index, Scenario(EVALUATION_START, length, (brand,)))
    incidents.sort(key=lambda incident: (incident.start, incident.brand))
    if scale != 1.0:
        brands = tuple(
            dataclasses.replace(b, mentions_per_day=b.mentions_per_day * scale) for b in brands
        )
        incidents = [
            dataclasses.replace(i, intensity=max(1.0, round(i.intensity * scale)))
            if i.kind == "troll"
            else i
            for i in incidents
        ]
    return Scenario(EVALUATION_START, length, brands, tuple(incidents), seed)


def _incidents(rng: Random, index: int, alone: Scenario) -> list[Incident]:
    """The incidents of `alone`'s one brand, the `index`-th of the benchmark."""
    (brand,) = alone.brands
    count = max(1, round(len(RAMPED_CYCLE) * alone.days / CYCLE_DAYS))
    kinds = [RAMPED_CYCLE[(index + k) % len(RAMPED_CYCLE)] for k in range(count)]
    first = alone.start + EVALUATION_WARMUP
    slice_length = (alone.start + timedelta(days=alone.days) - EVALUATION_TAIL - first) / count
    shapes: tuple[RampShape, RampShape] = ("linear", "exponential")
    if rng.random() < 0.5:
        shapes = ("exponential", "linear")
    crises = 0
    incidents = []
    shape: RampShape
    for number, kind in enumerate(kinds):
        ramp, shape = timedelta(0), "linear"
        if kind in ("crisis", "viral"):
            ramp = timedelta(minutes=rng.randrange(RAMP_MINUTES[0], RAMP_MINUTES[1] + 1, 5))
            shape = shapes[crises % 2]
        duration = ramp + draw_duration(rng, kind, _MINUTES)
        room = slice_length - duration - INCIDENT_GAP
        if room <= timedelta(0):
            raise ValueError(f"{alone.days} days leave no room for {count} incidents a brand")
        hours = _hours(kind, brand, (index + crises) % len(_CRISIS_CLASSES))
        start = local_start(rng, hours, brand, first + number * slice_length, room)
        incident = Incident(brand.name, kind, start, duration, 1.0, ramp, shape)
        incidents.append(dataclasses.replace(incident, intensity=_intensity(rng, alone, incident)))
        crises += kind == "crisis"
    return incidents


# How long each kind of incident lasts, in minutes (after its ramp, for a crisis or a viral
# moment).
_MINUTES: Final[dict[IncidentKind, tuple[int, int]]] = {
    "crisis": (45, 180),
    "slow_burn": (360, 720),
    "viral": (60, 180),
    "troll": (20, 60),
    "outage": (120, 480),
}


def _hours(kind: IncidentKind, brand: BrandProfile, turn: int) -> range | tuple[int, ...]:
    """The local hours at which the incident may start; `turn` picks a crisis's hour class."""
    if kind == "crisis":
        hour_class = _CRISIS_CLASSES[turn]
        if hour_class == "night" and brand.mentions_per_day < NIGHT_CRISIS_MIN_VOLUME:
            hour_class = "day"
        return CRISIS_HOURS[hour_class]
    return {"slow_burn": range(5, 14), "viral": range(8, 22)}.get(kind, range(24))


def _intensity(rng: Random, alone: Scenario, incident: Incident) -> float:
    """The incident's `intensity` (see `ramped_scenario` for the ranges)."""
    kind = incident.kind
    if kind == "slow_burn":
        return round(rng.uniform(1.3, 2.0), 3)
    if kind == "troll":
        return float(rng.randrange(12, 73))
    if kind == "outage":
        return 1.0
    high, floor = (
        (MAX_SURGE, rng.uniform(15, 40)) if kind == "crisis" else (8.0, rng.uniform(20, 60))
    )
    drawn = math.exp(rng.uniform(math.log(2), math.log(high)))
    per_unit = surge_mentions(alone, dataclasses.replace(incident, intensity=2.0))
    needed = 1 + floor / per_unit if per_unit > 0 else MAX_SURGE
    return round(min(MAX_SURGE, max(drawn, needed)), 2)
