"""The synthetic mention stream: determinism, traffic shape, incidents and texts.

Sentiment is measured with the real VADER scorers (vaderSentiment for English,
vadersentiment-fr for French), as the detector would read it.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from random import Random

import pytest

from pipeline.models import Mention
from pipeline.synthetic import (
    CRISIS_FADE,
    DEMO_START,
    SAMPLE_PATH,
    SOURCES,
    BrandProfile,
    Incident,
    RampShape,
    Scenario,
    baseline_rates,
    demo_scenario,
    generate,
    load_scenario,
    surge_shape,
    write_jsonl,
    write_sample,
)
from pipeline.texts import CATEGORIES, LANGS, THEMES, Category, Lang, Theme, render

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
KEYS = ["id", "created_at", "text", "brand", "lang", "source", "author", "url", "in_reply_to"]
CAFE_SOURCES = {"instagram": 0.5, "google_reviews": 0.3, "twitter": 0.2}


@cache
def scorers() -> dict[str, Callable[[str], float]]:
    """Compound score per language, from the real VADER analysers."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as English

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fuzzywuzzy's "slow pure-python SequenceMatcher"
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer as French

    english, french = English(), French()
    return {
        "en": lambda text: float(english.polarity_scores(text)["compound"]),
        "fr": lambda text: float(french.polarity_scores(text)["compound"]),
    }


def compound(text: str, lang: str) -> float:
    return scorers()[lang](text)


def negative_share(mentions: Sequence[Mention]) -> float:
    return sum(compound(m.text, m.lang or "en") <= -0.05 for m in mentions) / len(mentions)


def positive_share(mentions: Sequence[Mention]) -> float:
    return sum(compound(m.text, m.lang or "en") >= 0.05 for m in mentions) / len(mentions)


def between(
    mentions: Iterable[Mention], brand: str, start: datetime, end: datetime
) -> list[Mention]:
    return [m for m in mentions if m.brand == brand and start <= m.created_at < end]


def incident(scenario: Scenario, brand: str, kind: str) -> Incident:
    return next(i for i in scenario.incidents if i.brand == brand and i.kind == kind)


def brand(name: str, per_day: float, theme: Theme = "food", french: float = 0.5) -> BrandProfile:
    return BrandProfile(name, f"@{name}", per_day, french, 0.12, theme, CAFE_SOURCES)


def jsonl(mentions: Iterable[Mention]) -> str:
    sink = io.StringIO()
    write_jsonl(mentions, sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def demo() -> list[Mention]:
    return list(generate(demo_scenario()))


@pytest.fixture(scope="module")
def calm_week() -> list[Mention]:
    """Three brands, a week from Monday, no incidents."""
    brands = (brand("small", 30), brand("mid", 300), brand("big", 3000))
    return list(generate(Scenario(DEMO_START, 7, brands, seed=11)))


# --- determinism and the shipped sample ----------------------------------------------------


def test_same_scenario_same_bytes_other_seed_other_bytes() -> None:
    brands = (brand("a", 200, "bakery"), brand("b", 500, "airline"))
    crisis = Incident("a", "crisis", DEMO_START + 12 * HOUR, HOUR, 8.0)
    scenario = Scenario(DEMO_START, 2, brands, (crisis,), seed=5)
    first = jsonl(generate(scenario))
    assert first == jsonl(generate(scenario))
    other = Scenario(DEMO_START, 2, brands, (crisis,), seed=6)
    assert jsonl(generate(other)) != first


def test_adding_a_brand_leaves_the_others_unchanged() -> None:
    two = (brand("a", 300), brand("b", 100, "tech"))
    three = (*two, brand("c", 1000, "airline"))
    before = list(generate(Scenario(DEMO_START, 1, two, seed=3)))
    after = list(generate(Scenario(DEMO_START, 1, three, seed=3)))
    assert [m for m in after if m.brand != "c"] == before


def test_shipped_sample_is_a_fresh_regeneration_byte_for_byte(tmp_path: Path) -> None:
    shipped = SAMPLE_PATH.read_bytes()
    assert gzip.decompress(shipped).decode("utf-8") == jsonl(generate(demo_scenario())), (
        "the shipped sample is stale: regenerate it with pipeline.synthetic.write_sample()"
    )
    fresh = tmp_path / "demo.jsonl.gz"
    count = write_sample(fresh)
    assert fresh.read_bytes() == shipped
    assert count == len(gzip.decompress(shipped).splitlines())
    assert shipped[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
    assert not shipped[3] & 0x08, "gzip header must carry no file name"


# --- the contract ---------------------------------------------------------------------------


def test_mentions_sorted_unique_and_complete(demo: list[Mention]) -> None:
    assert all(a.created_at <= b.created_at for a, b in pairwise(demo))
    assert len({m.id for m in demo}) == len(demo)
    assert {m.lang for m in demo} == set(LANGS)
    assert {m.source for m in demo} <= set(SOURCES)
    assert all(m.url and m.url.startswith("https://") and m.author for m in demo)
    assert len({m.text for m in demo}) > 5000


def test_every_mention_validates_after_a_json_round_trip(demo: list[Mention]) -> None:
    for line, original in zip(jsonl(demo).splitlines(), demo, strict=True):
        record = json.loads(line)
        assert list(record) == KEYS
        assert record["created_at"].endswith("Z")
        assert Mention.model_validate(record) == original


def test_scenario_rejects_inconsistent_input() -> None:
    bakery = brand("a", 10, "bakery")
    with pytest.raises(ValueError, match="unknown brands"):
        Scenario(DEMO_START, 1, (bakery,), (Incident("zzz", "crisis", DEMO_START, HOUR, 5),))
    with pytest.raises(ValueError, match="unique"):
        Scenario(DEMO_START, 1, (bakery, bakery))
    with pytest.raises(ValueError, match="UTC"):
        Scenario(DEMO_START.replace(tzinfo=None), 1, (bakery,))
    with pytest.raises(ValueError, match="intensity"):
        Scenario(DEMO_START, 1, (bakery,), (Incident("a", "crisis", DEMO_START, HOUR, 0.5),))
    with pytest.raises(ValueError, match="ramps up"):
        troll = Incident("a", "troll", DEMO_START, HOUR, 20, ramp=10 * MINUTE)
        Scenario(DEMO_START, 1, (bakery,), (troll,))
    with pytest.raises(ValueError, match="shorter than the incident"):
        Scenario(DEMO_START, 1, (bakery,), (Incident("a", "crisis", DEMO_START, HOUR, 5, HOUR),))


# --- traffic shape --------------------------------------------------------------------------


def test_weekly_volume_matches_the_profiles(calm_week: list[Mention]) -> None:
    counts = Counter(m.brand for m in calm_week)
    for name, per_day in (("small", 30), ("mid", 300), ("big", 3000)):
        expected = 7 * per_day
        assert abs(counts[name] - expected) <= 4 * math.sqrt(expected) + 0.03 * expected


def test_daily_volume_stays_near_the_profile(calm_week: list[Mention]) -> None:
    days = Counter(m.created_at.date() for m in calm_week if m.brand == "big")
    assert len(days) == 7
    assert all(abs(count - 3000) < 0.12 * 3000 for count in days.values())


def test_nights_are_quiet_and_days_busy(calm_week: list[Mention]) -> None:
    hours = Counter((m.created_at + HOUR).hour for m in calm_week if m.brand == "big")  # CET
    night = sum(hours[h] for h in range(1, 6)) / 5
    day = sum(hours[h] for h in range(10, 22)) / 12
    assert day > 6 * night
    assert hours[11] > hours[15] < hours[20]  # late-morning and evening peaks


def test_weekends_start_later_and_stay_up_later(calm_week: list[Mention]) -> None:
    local = [m.created_at + HOUR for m in calm_week if m.brand == "big"]
    morning = Counter(t.weekday() >= 5 for t in local if 7 <= t.hour < 9)
    late = Counter(t.weekday() >= 5 for t in local if 0 <= t.hour < 2)
    assert morning[True] / 2 < 0.85 * morning[False] / 5
    assert late[True] / 2 > 1.3 * late[False] / 5


# --- incidents ------------------------------------------------------------------------------


def test_airline_crisis_is_loud_and_negative(demo: list[Mention]) -> None:
    crisis = incident(demo_scenario(), "Skyvale", "crisis")
    during = between(demo, "Skyvale", crisis.start, crisis.end)
    day_before = between(demo, "Skyvale", crisis.start - DAY, crisis.end - DAY)
    assert len(during) > 3 * len(day_before)
    assert negative_share(day_before) < 0.35
    assert negative_share(during) > 0.6
    for lang in LANGS:
        in_lang = [m for m in during if m.lang == lang]
        assert len(in_lang) > 100
        assert negative_share(in_lang) > 0.6


def test_bakery_crisis_is_unmistakable(demo: list[Mention]) -> None:
    crisis = incident(demo_scenario(), "Boulangerie Ferrand", "crisis")
    hour = between(demo, "Boulangerie Ferrand", crisis.start, crisis.start + HOUR)
    assert 30 <= len(hour) <= 40
    assert len(between(demo, "Boulangerie Ferrand", crisis.start - DAY, crisis.end - DAY)) <= 3
    assert sum(m.lang == "fr" for m in hour) > 0.8 * len(hour)
    assert negative_share(hour) > 0.75


def test_crisis_is_a_thread_of_many_distinct_authors(demo: list[Mention]) -> None:
    crisis = incident(demo_scenario(), "Skyvale", "crisis")
    during = between(demo, "Skyvale", crisis.start, crisis.end)
    replies = [m for m in during if m.in_reply_to]
    assert 0.1 * len(during) < len(replies)
    (opener_id,) = {m.in_reply_to for m in replies}
    opener = next(m for m in during if m.id == opener_id)
    assert opener.author and (opener.author.followers or 0) >= 20_000
    assert all(m.created_at >= opener.created_at and m.source == opener.source for m in replies)
    assert len({m.author.id for m in during if m.author}) > 0.8 * len(during)


def test_viral_moment_is_a_positive_surge(demo: list[Mention]) -> None:
    viral = incident(demo_scenario(), "Kivo", "viral")
    during = between(demo, "Kivo", viral.start, viral.end)
    day_before = between(demo, "Kivo", viral.start - DAY, viral.end - DAY)
    assert len(during) > 2 * len(day_before)
    assert positive_share(during) > 0.7
    assert negative_share(during) < 0.1


def test_outage_leaves_a_hole_in_that_brand_only(demo: list[Mention]) -> None:
    outage = incident(demo_scenario(), "Kivo", "outage")
    assert between(demo, "Kivo", outage.start, outage.end) == []
    assert between(demo, "Kivo", outage.start - HOUR, outage.start)
    assert between(demo, "Kivo", outage.end, outage.end + HOUR)
    assert between(demo, "Skyvale", outage.start, outage.end)


def test_slow_burn_turns_negative_on_nearly_flat_volume() -> None:
    cafe = brand("cafe", 2000, french=0.7)
    burn = Incident("cafe", "slow_burn", DEMO_START + DAY + 8 * HOUR, 8 * HOUR, 1.15)
    mentions = list(generate(Scenario(DEMO_START, 2, (cafe,), (burn,), seed=4)))

    def hours(start: datetime, count: int) -> list[Mention]:
        return between(mentions, "cafe", start, start + count * HOUR)

    early, late = hours(burn.start, 2), hours(burn.end - 2 * HOUR, 2)
    early_before, late_before = hours(burn.start - DAY, 2), hours(burn.end - 2 * HOUR - DAY, 2)
    assert abs(negative_share(early) - negative_share(early_before)) < 0.15
    assert negative_share(late) > negative_share(late_before) + 0.4
    assert 0.9 < len(late) / len(late_before) < 1.4
    assert 0.85 < len(early) / len(early_before) < 1.2


# --- onset ramps ---------------------------------------------------------------------------


def ramped(shape: RampShape, ramp: int = 40, duration: int = 160) -> Incident:
    """A crisis at 12:00 on day 2 whose surge ramps up over `ramp` minutes."""
    start = DEMO_START + DAY + 12 * HOUR
    return Incident("big", "crisis", start, duration * MINUTE, 8.0, ramp * MINUTE, shape)


def levels(incident: Incident, minutes: int) -> list[float]:
    """The surge's share of its peak at the middle of each of its first `minutes` minutes."""
    return [surge_shape(incident, (m + 0.5) / (incident.duration / MINUTE)) for m in range(minutes)]


@pytest.mark.parametrize("shape", ["linear", "exponential"])
def test_a_ramp_climbs_from_almost_nothing_to_its_peak_at_its_end(shape: RampShape) -> None:
    crisis = ramped(shape)
    ramp = levels(crisis, 40)
    assert all(a < b for a, b in pairwise(ramp))  # climbing all the way
    assert ramp[0] < 0.02 and sum(ramp[:4]) / 4 < 0.1  # the first minutes: a small fraction
    assert ramp[-1] > 0.9 and surge_shape(crisis, 40 / 160) == pytest.approx(1.0)
    after = levels(crisis, 160)[40:]
    assert all(a > b for a, b in pairwise(after))  # then it fades, as without a ramp
    assert after[-1] == pytest.approx(CRISIS_FADE, abs=0.01)


def test_linear_ramp_is_a_straight_line_and_exponential_one_is_convex() -> None:
    linear, exponential = levels(ramped("linear"), 40), levels(ramped("exponential"), 40)
    assert linear[19] == pytest.approx(19.5 / 40)  # halfway in time, halfway to the peak
    steps = [b - a for a, b in pairwise(linear)]
    assert max(steps) - min(steps) < 1e-9
    growth = [b - a for a, b in pairwise(exponential)]
    assert all(a < b for a, b in pairwise(growth))  # each minute adds more than the last
    assert exponential[19] < 0.15 < linear[19]  # a spreading post is still small halfway
    assert all(e < s for e, s in zip(exponential, linear, strict=True))


def test_without_a_ramp_crises_keep_their_sudden_shape() -> None:
    sudden = Incident("big", "crisis", DEMO_START, 100 * MINUTE, 8.0)
    assert surge_shape(sudden, 0.05) == pytest.approx(1.0)  # peak at 5 % of the crisis
    assert surge_shape(sudden, 0.025) == pytest.approx(0.5)
    viral = Incident("big", "viral", DEMO_START, 100 * MINUTE, 4.0)
    assert surge_shape(viral, 0.25) == pytest.approx(1.0) and surge_shape(viral, 0.999) < 0.01


@pytest.mark.parametrize("shape", ["linear", "exponential"])
def test_generated_ramp_starts_with_a_trickle_and_reaches_the_peak(shape: RampShape) -> None:
    """The surge's mentions (the stream with the crisis less the one without: the background
    is drawn apart from surges) per minute follow the ramp."""
    big = brand("big", 10_000)
    crisis = dataclasses.replace(ramped(shape, ramp=60, duration=180), start=DEMO_START + 12 * HOUR)
    calm = Scenario(DEMO_START, 1, (big,), seed=9)
    with_crisis = list(generate(dataclasses.replace(calm, incidents=(crisis,))))
    without = list(generate(calm))

    def surge(offset: int, length: int = 6) -> int:
        start = crisis.start + offset * MINUTE
        end = start + length * MINUTE
        return len(between(with_crisis, "big", start, end)) - len(
            between(without, "big", start, end)
        )

    onset = int((crisis.start - DEMO_START) / MINUTE)
    normal = sum(baseline_rates(calm, big)[onset : onset + 6])
    peak = 7 * normal  # intensity 8: seven times the normal rate on top of it
    assert surge(0) < 0.15 * peak  # the first six minutes: a trickle (linear: 5 % on average)
    assert surge(57) > 0.75 * peak  # the ramp's last minutes and the peak
    assert surge(30) < surge(57) and (shape == "linear") == (surge(30) > 0.35 * peak)


# --- load scenario --------------------------------------------------------------------------


def test_load_scenario_hits_its_total() -> None:
    scenario = load_scenario(100_000, 50, 7, seed=1)
    volumes = sorted(b.mentions_per_day for b in scenario.brands)
    assert len(volumes) == 50
    assert volumes[-1] > 100 * volumes[0]
    assert any(i.kind == "crisis" for i in scenario.incidents)
    counts = Counter(m.brand for m in generate(scenario))
    assert abs(sum(counts.values()) - 100_000) < 10_000
    assert len(counts) == 50


# --- texts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_texts_carry_their_sentiment(lang: Lang) -> None:
    """At least 75 % of negative and of positive texts are read that way, per language."""
    rng = Random(1)

    def share(categories: tuple[Category, ...], negative: bool) -> float:
        texts = [
            render(rng, theme, category, lang, "Maison Test", "@maisontest")
            for theme in THEMES
            for category in categories
            for _ in range(150)
        ]
        scores = [compound(text, lang) for text in texts]
        hits = [s <= -0.05 if negative else s >= 0.05 for s in scores]
        return sum(hits) / len(hits)

    assert share(("complaint", "crisis"), negative=True) >= 0.75
    assert share(("praise", "viral"), negative=False) >= 0.75


def test_texts_are_varied() -> None:
    rng = Random(2)
    texts = {
        render(rng, theme, category, lang, "Maison Test", "@maisontest")
        for theme in THEMES
        for category in CATEGORIES
        for lang in LANGS
        for _ in range(250)
    }
    assert len(texts) > 6000  # of 10,000
