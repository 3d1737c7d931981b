"""Synthetic mention streams: the demo sample, test fixtures and load tests.

Each brand's mentions follow a non-homogeneous Poisson process whose per-minute rate has a
diurnal cycle (quiet at night, peaks late morning and evening, in the brand's local time) and
a weekly one (weekends start later and are busier). Incidents bend that process:

- `crisis`: a surge of negative mentions, started by one widely shared post that many
  distinct authors then reply to or repeat; sudden, or climbing over an onset ramp (linear, or
  exponential as a post spreads) before it peaks;
- `viral`: the same shape with positive mentions;
- `slow_burn`: the volume stays nearly flat while the share of negative mentions climbs;
- `troll`: a handful of low-reach accounts post many negative mentions each, in a short burst;
- `outage`: no data at all from the brand's sources for a while.

`evaluation_scenario` is the labelled crisis-stream benchmark: eight brands from an airline
with tens of thousands of mentions a day down to a bakery with a handful, over several weeks,
each with crises, slow burns, viral moments, troll bursts and outages at varied times. Its
crises start as a step; `pipeline.synthetic_ramped` holds the benchmark whose surges ramp up.

Generation is deterministic: every random draw comes from a `random.Random` seeded with the
scenario seed and the brand's name, so adding a brand does not change the others' mentions.
"""

from __future__ import annotations

import dataclasses
import gzip
import heapq
import io
import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Final, Literal, NamedTuple, Protocol, TypeVar

from pipeline.models import Author, Mention, iso_utc
from pipeline.texts import THEMES, Category, Lang, Theme, ascii_fold, render

_T = TypeVar("_T")
IncidentKind = Literal["crisis", "viral", "slow_burn", "troll", "outage"]
RampShape = Literal["linear", "exponential"]
INCIDENT_KINDS: Final[tuple[IncidentKind, ...]] = (
    "crisis",
    "slow_burn",
    "viral",
    "troll",
    "outage",
)

SOURCES: Final = ("twitter", "instagram", "facebook", "google_reviews", "tiktok", "mastodon")
SAMPLE_PATH: Final = Path(__file__).resolve().parent / "samples" / "demo.jsonl.gz"
DEMO_START: Final = datetime(2026, 3, 2, tzinfo=UTC)

MINUTES_PER_DAY: Final = 1440
SLOW_BURN_PEAK: Final = 0.7  # share of crisis texts among a slow burn's mentions at its peak
SLOW_BURN_RAMP: Final = 0.8  # how far into a slow burn (0..1) that peak is reached
REPLY_SHARE: Final = 0.3  # share of surge mentions that reply to the post that started it
REGULAR_SHARE: Final = 0.1  # share of surge mentions written by the brand's usual authors
PRAISE_SHARE: Final = 0.45  # share of praise among the background talk that is not negative
TROLL_REPEAT: Final = 0.35  # chance that a troll reposts one of its earlier texts verbatim
TROLL_CRISIS_SHARE: Final = 0.7  # share of crisis texts (the rest are complaints) in a troll burst
CRISIS_FADE: Final = 0.3  # share of its peak a crisis still has at its end (a viral moment: 0)
EXPONENTIAL_RAMP_GROWTH: Final = 4.0  # e-folds an exponential ramp's excess grows through

# Relative activity per local hour, for weekdays and for weekends (rescaled to mean 1).
_WEEKDAY_HOURS: Final = (
    0.40, 0.25, 0.17, 0.13, 0.13, 0.20, 0.40, 0.75, 1.05, 1.30, 1.50, 1.60,
    1.50, 1.35, 1.20, 1.15, 1.20, 1.35, 1.55, 1.70, 1.75, 1.60, 1.15, 0.65,
)  # fmt: skip
_WEEKEND_HOURS: Final = (
    0.60, 0.42, 0.28, 0.18, 0.14, 0.14, 0.20, 0.35, 0.70, 1.05, 1.35, 1.55,
    1.55, 1.45, 1.35, 1.30, 1.30, 1.35, 1.45, 1.55, 1.60, 1.50, 1.15, 0.80,
)  # fmt: skip
# Relative volume per local weekday, Monday first (rescaled to mean 1).
_WEEKDAYS: Final = (0.97, 0.96, 0.97, 0.99, 1.03, 1.06, 1.02)

_FIRST_NAMES: Final[Mapping[Lang, tuple[str, ...]]] = {
    "en": (
        "Emma", "Olivia", "Amelia", "Jack", "Harry", "Oliver", "Charlie", "George", "Sophie",
        "Chloe", "Ella", "James", "Liam", "Noah", "Grace", "Lucy", "Megan", "Ryan", "Daniel",
        "Hannah", "Priya", "Aisha", "Tom", "Ben", "Katie", "Sam", "Josh", "Laura", "Mark",
    ),
    "fr": (
        "Camille", "Léa", "Manon", "Chloé", "Julie", "Sarah", "Inès", "Emma", "Lucas", "Hugo",
        "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Mathilde", "Pauline", "Karim",
        "Yanis", "Sophie", "Élodie", "Nathalie", "Isabelle", "Philippe", "Aurélie", "Mehdi",
        "Théo", "Clément", "Amandine",
    ),
}  # fmt: skip
_LAST_NAMES: Final[Mapping[Lang, tuple[str, ...]]] = {
    "en": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
        "Patel", "Wright", "Evans", "Walker", "Roberts", "Green", "Hall", "Wood", "Clarke",
        "Khan", "Murphy", "Byrne",
    ),
    "fr": (
        "Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon",
        "Michel", "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Mercier", "Lambert",
        "Faure", "Rousseau", "Benali", "Nguyen",
    ),
}  # fmt: skip
_URLS: Final[Mapping[str, str]] = {
    "twitter": "https://x.example/{user}/status/{id}",
    "instagram": "https://instagram.example/p/{id}",
    "facebook": "https://facebook.example/{brand}/posts/{id}",
    "google_reviews": "https://maps.example/reviews/{id}",
    "tiktok": "https://tiktok.example/@{user}/video/{id}",
    "mastodon": "https://mastodon.example/@{user}/{id}",
}


@dataclass(frozen=True, slots=True)
class BrandProfile:
    """How much and how a brand is talked about in normal times.

    `negative_share` is the share of everyday complaints in the background talk; `theme`
    picks the texts (including the crisis ones); `sources` weighs the platforms.
    """

    name: str
    handle: str
    mentions_per_day: float
    french_share: float
    negative_share: float
    theme: Theme
    sources: Mapping[str, float]
    utc_offset_hours: int = 1


@dataclass(frozen=True, slots=True)
class Incident:
    """Something that happens to one brand's stream from `start` for `duration`.

    `intensity` multiplies the brand's normal rate at the surge's peak (`crisis`, `viral`) or
    at the end of a `slow_burn`. For a `troll` burst it is the number of posts (trolls do not
    scale with the brand's audience), spread over a handful of accounts. An `outage` ignores it.

    `ramp` (crisis and viral only) is how long the surge takes from its onset (`start`) to its
    peak, climbing from nothing linearly or exponentially (`ramp_shape`, as a post spreads);
    it fades from there. Without one, a crisis peaks within its first 5 % and a
    viral moment within its first quarter, linearly (see `surge_shape`).
    """

    brand: str
    kind: IncidentKind
    start: datetime
    duration: timedelta
    intensity: float = 1.0
    ramp: timedelta = timedelta(0)
    ramp_shape: RampShape = "linear"

    @property
    def end(self) -> datetime:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to generate: `days` days from `start` (UTC) for `brands`, with `incidents`."""

    start: datetime
    days: int
    brands: tuple[BrandProfile, ...]
    incidents: tuple[Incident, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.start.utcoffset() != timedelta(0):
            raise ValueError("scenario start must be a UTC datetime")
        if self.days < 1:
            raise ValueError("scenario needs at least one day")
        names = frozenset(b.name for b in self.brands)
        if len(names) != len(self.brands):
            raise ValueError("brand names must be unique")
        unknown = {i.brand for i in self.incidents} - names
        if unknown:
            raise ValueError(f"incidents for unknown brands: {sorted(unknown)}")
        for brand in self.brands:
            _check_brand(brand)
        for incident in self.incidents:
            _check_incident(incident)

    @property
    def minutes(self) -> int:
        return self.days * MINUTES_PER_DAY


class _Voice(NamedTuple):
    """Who writes a mention, in which language, on which platform."""

    lang: Lang
    author: Author
    source: str


class _Draft(NamedTuple):
    """A mention before its id; a brand's drafts sort by (second, stream, seq)."""

    second: int
    stream: int
    seq: int
    text: str
    voice: _Voice
    starts_thread: bool = False
    is_reply: bool = False


class TextSink(Protocol):
    """Where `write_jsonl` writes: anything with a `write(str)` method."""

    def write(self, text: str, /) -> object: ...


def generate(
    scenario: Scenario, on_brand: Callable[[BrandProfile, int], object] | None = None
) -> Iterator[Mention]:
    """All mentions of the scenario, sorted by `created_at` (ties: brand order).

    Each brand's stream is drafted when this is called (the costly part); the mentions
    themselves are built as they are consumed. `on_brand`, if given, is told each brand and its
    number of mentions once that brand is drafted: a progress hook for long scenarios.
    """
    streams = []
    for brand in scenario.brands:
        drafts = _brand_drafts(scenario, brand)
        if on_brand is not None:
            on_brand(brand, len(drafts))
        streams.append(_finish(scenario, brand, drafts))
    return heapq.merge(*streams, key=lambda mention: mention.created_at)


def expected_mentions(scenario: Scenario) -> float:
    """Expected number of mentions the scenario generates (the draw varies around it)."""
    return _expected_total(scenario)


def write_jsonl(mentions: Iterable[Mention], sink: TextSink) -> int:
    """Write one compact JSON object per line, keys in contract order; returns the count."""
    count = 0
    for mention in mentions:
        sink.write(json.dumps(_record(mention), ensure_ascii=False, separators=(",", ":")))
        sink.write("\n")
        count += 1
    return count


def write_jsonl_gz(mentions: Iterable[Mention], path: Path) -> int:
    """Write gzipped JSONL, byte for byte reproducibly; returns the count.

    The gzip header carries no modification time and no file name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="\n") as text,
    ):
        return write_jsonl(mentions, text)


def write_sample(path: Path = SAMPLE_PATH) -> int:
    """Write the demo scenario to `path` (the shipped sample by default); returns the count."""
    return write_jsonl_gz(generate(demo_scenario()), path)


def demo_scenario() -> Scenario:
    """The shipped demo: 3 days from Monday 2026-03-02, 4 brands of ~10 to ~3,300 mentions a day.

    Incidents: a 45-minute outage of the phone maker (day 1), a slow burn at the café chain
    and a viral moment for the phone maker (day 2), a bakery crisis at 10:30 UTC and an airline
    crisis at 14:00 UTC (day 3).
    """
    bakery, cafe, phones, airline = _demo_brands()
    day3 = DEMO_START + timedelta(days=2)
    incidents = (
        Incident(phones.name, "outage", DEMO_START + timedelta(hours=9), timedelta(minutes=45)),
        Incident(cafe.name, "slow_burn", day3 - timedelta(hours=16), timedelta(hours=10), 1.15),
        Incident(phones.name, "viral", day3 - timedelta(hours=6), timedelta(hours=3), 4.0),
        Incident(bakery.name, "crisis", day3 + timedelta(hours=10, minutes=30), _HOUR, 100.0),
        Incident(airline.name, "crisis", day3 + timedelta(hours=14), 2 * _HOUR, 6.0),
    )
    return Scenario(DEMO_START, 3, (bakery, cafe, phones, airline), incidents, seed=2026)


def load_scenario(total_mentions: int, brands: int, days: int, seed: int) -> Scenario:
    """Many brands with log-spread volumes summing to about `total_mentions`, a few incidents."""
    if total_mentions <= 0 or brands < 1:
        raise ValueError("load scenario needs a positive total and at least one brand")
    rng = Random(f"load/{seed}")
    profiles = tuple(_load_brand(rng, index, brands) for index in range(brands))
    draft = Scenario(DEMO_START, days, profiles, _load_incidents(rng, profiles, days), seed)
    scale = total_mentions / _expected_total(draft)
    scaled = tuple(_with_volume(b, b.mentions_per_day * scale) for b in profiles)
    return Scenario(DEMO_START, days, scaled, draft.incidents, seed)


# --- one brand ------------------------------------------------------------------------------


def _brand_drafts(scenario: Scenario, brand: BrandProfile) -> list[_Draft]:
    """The brand's mentions in time order, before their ids and reply links."""
    seed = f"{scenario.seed}/{brand.name}"
    authors = _AuthorPool(Random(f"{seed}/authors"), brand)
    drafts = _background(scenario, brand, authors, Random(f"{seed}/0/times"), Random(f"{seed}/0"))
    for stream, incident in enumerate(_incidents_of(scenario, brand), start=1):
        if incident.kind in ("crisis", "viral"):
            times, rng = Random(f"{seed}/{stream}/times"), Random(f"{seed}/{stream}")
            drafts += _surge(scenario, brand, incident, authors, (times, rng), stream)
        elif incident.kind == "troll":
            drafts += _troll(scenario, brand, incident, Random(f"{seed}/{stream}"), stream)
    drafts.sort()
    return drafts


def _background(
    scenario: Scenario, brand: BrandProfile, authors: _AuthorPool, times: Random, rng: Random
) -> list[_Draft]:
    """The brand's everyday talk, bent by slow burns and cut by outages.

    Arrival times draw from `times` and everything else from `rng`, so that editing texts
    does not move any mention in time.
    """
    rates, crisis_share = _background_rates(scenario, brand)
    drafts: list[_Draft] = []
    for at in _arrivals(rates, times):
        category = _category(rng, brand, crisis_share[int(at)])
        lang = _lang(rng, brand)
        voice = _Voice(lang, authors.pick(rng, lang), _source(rng, brand))
        drafts.append(_draft(rng, brand, at, (0, len(drafts)), category, voice))
    return drafts


def _surge(
    scenario: Scenario,
    brand: BrandProfile,
    incident: Incident,
    authors: _AuthorPool,
    rngs: tuple[Random, Random],
    stream: int,
) -> list[_Draft]:
    """A crisis or viral surge: a first post from a big account, then many people pile on.

    `rngs` are the random streams for arrival times and for everything else.
    """
    times, rng = rngs
    first, rates = _surge_rates(scenario, brand, incident)
    category: Category = "crisis" if incident.kind == "crisis" else "viral"
    thread = _thread_source(brand)
    drafts: list[_Draft] = []
    starter: Author | None = None
    for at in _arrivals(rates, times):
        lang = _lang(rng, brand)
        key = (stream, len(drafts))
        if starter is None:
            starter = _new_author(rng, lang, big=True)
            voice = _Voice(lang, starter, thread)
            first_post = _draft(rng, brand, first + at, key, category, voice)
            drafts.append(first_post._replace(starts_thread=True))
            continue
        regular = rng.random() < REGULAR_SHARE
        author = authors.pick(rng, lang) if regular else _new_author(rng, lang)
        if rng.random() < REPLY_SHARE:
            draft = _draft(rng, brand, first + at, key, category, _Voice(lang, author, thread))
            drafts.append(draft._replace(text=f"@{starter.id} {draft.text}", is_reply=True))
        else:
            voice = _Voice(lang, author, _source(rng, brand))
            drafts.append(_draft(rng, brand, first + at, key, category, voice))
    return drafts


def _troll(
    scenario: Scenario, brand: BrandProfile, incident: Incident, rng: Random, stream: int
) -> list[_Draft]:
    """A troll burst: `intensity` posts from a handful of low-reach accounts, many each.

    About the square root of the post count in accounts (2 to 8), the first ones busier; each
    posts on one platform, mostly crisis texts, and often reposts its own earlier text
    verbatim. Posts fall uniformly at random over the burst; none in an outage.
    """
    minutes = [minute for minute, _ in _window(scenario, incident)]
    if not minutes:
        return []
    posts = round(incident.intensity)
    blocked = _outage_minutes(scenario, brand)
    voices = []
    for _ in range(max(2, min(8, round(math.sqrt(posts))))):
        lang = _lang(rng, brand)
        account = _new_author(rng, lang)
        low_reach = account.model_copy(update={"followers": int(rng.lognormvariate(3.0, 1.0))})
        voices.append(_Voice(lang, low_reach, _source(rng, brand)))
    said: list[list[str]] = [[] for _ in voices]
    first, span = minutes[0], len(minutes)
    drafts: list[_Draft] = []
    for seq in range(posts):
        who = int(len(voices) * rng.random() ** 1.5)
        at = first + span * rng.random()
        repeat = bool(said[who]) and rng.random() < TROLL_REPEAT
        if repeat:
            text = _pick(rng, said[who])
        else:
            category: Category = "crisis" if rng.random() < TROLL_CRISIS_SHARE else "complaint"
            voice = voices[who]
            text = render(rng, brand.theme, category, voice.lang, brand.name, brand.handle)
            said[who].append(text)
        if int(at) not in blocked:
            drafts.append(_Draft(int(at * 60), stream, seq, text, voices[who]))
    return drafts


def _draft(
    rng: Random,
    brand: BrandProfile,
    at: float,
    key: tuple[int, int],
    category: Category,
    voice: _Voice,
) -> _Draft:
    """One mention `at` minutes after the scenario start; `key` is (stream, seq)."""
    text = render(rng, brand.theme, category, voice.lang, brand.name, brand.handle)
    return _Draft(int(at * 60), *key, text, voice)


def _finish(scenario: Scenario, brand: BrandProfile, drafts: list[_Draft]) -> Iterator[Mention]:
    """Number the sorted drafts and link replies to the post that started their thread."""
    prefix = _slug(brand.name)
    threads: dict[int, str] = {}
    for number, draft in enumerate(drafts, start=1):
        mention_id = f"{prefix}-{number:06d}"
        if draft.starts_thread:
            threads[draft.stream] = mention_id
        lang, author, source = draft.voice
        yield Mention(
            id=mention_id,
            created_at=scenario.start + timedelta(seconds=draft.second),
            text=draft.text,
            brand=brand.name,
            lang=lang,
            source=source,
            author=author,
            url=_url(source, author.id, brand.handle, mention_id),
            in_reply_to=threads.get(draft.stream) if draft.is_reply else None,
        )


# --- rates ----------------------------------------------------------------------------------


def baseline_rates(scenario: Scenario, brand: BrandProfile) -> list[float]:
    """The brand's expected mentions per minute of the scenario in normal times.

    Its daily and weekly cycles alone: what its stream would be without any incident (no slow
    burn bending it, no outage cutting it, no surge).
    """
    per_minute = brand.mentions_per_day / MINUTES_PER_DAY
    activity = _activity(scenario.start, scenario.days, brand.utc_offset_hours)
    return [per_minute * level for level in activity]


def surge_mentions(scenario: Scenario, incident: Incident) -> float:
    """Expected number of extra mentions a crisis or viral `incident` brings to the scenario."""
    brand = next(b for b in scenario.brands if b.name == incident.brand)
    return sum(_surge_rates(scenario, brand, incident)[1])


def _background_rates(scenario: Scenario, brand: BrandProfile) -> tuple[list[float], list[float]]:
    """Expected background mentions per minute, and the slow-burn crisis share per minute."""
    rates = baseline_rates(scenario, brand)
    crisis_share = [0.0] * len(rates)
    for incident in _incidents_of(scenario, brand):
        if incident.kind == "slow_burn":
            for minute, progress in _window(scenario, incident):
                ramp = min(1.0, progress / SLOW_BURN_RAMP)
                rates[minute] *= 1 + (incident.intensity - 1) * ramp
                crisis_share[minute] = SLOW_BURN_PEAK * ramp
    for minute in _outage_minutes(scenario, brand):
        rates[minute] = 0.0
    return rates, crisis_share


def _surge_rates(
    scenario: Scenario, brand: BrandProfile, incident: Incident
) -> tuple[int, list[float]]:
    """First minute of a surge and its extra mentions per minute from there."""
    window = list(_window(scenario, incident))
    if not window:
        return 0, []
    per_minute = brand.mentions_per_day / MINUTES_PER_DAY
    activity = _activity(scenario.start, scenario.days, brand.utc_offset_hours)
    blocked = _outage_minutes(scenario, brand)
    extra = incident.intensity - 1
    rates = [
        0.0
        if minute in blocked
        else per_minute * activity[minute] * extra * surge_shape(incident, progress)
        for minute, progress in window
    ]
    return window[0][0], rates


def surge_shape(incident: Incident, progress: float) -> float:
    """Share of its peak a crisis or viral surge reaches `progress` (0..1) into the incident.

    The surge climbs from nothing to its peak over the incident's `ramp`, linearly or
    exponentially: (e^(g x) - 1) / (e^g - 1) at a share x of the ramp, g =
    `EXPONENTIAL_RAMP_GROWTH` (3 % of the peak a quarter of the way, 12 % halfway, 44 % at
    four fifths); without a ramp, a crisis takes its first 5 % to peak and a viral moment its
    first quarter, linearly. From the peak it fades linearly: a crisis
    to `CRISIS_FADE` of the peak by its end, a viral moment out completely.
    """
    crisis = incident.kind == "crisis"
    sudden = 0.05 if crisis else 0.25
    rise = incident.ramp / incident.duration if incident.ramp else sudden
    floor = CRISIS_FADE if crisis else 0.0
    if progress < rise:
        if incident.ramp_shape == "exponential":
            growth = EXPONENTIAL_RAMP_GROWTH
            return math.expm1(growth * progress / rise) / math.expm1(growth)
        return progress / rise
    return 1 - (1 - floor) * (progress - rise) / (1 - rise)


def _arrivals(rates: Sequence[float], rng: Random) -> Iterator[float]:
    """Event times, in minutes, of a Poisson process with a constant rate within each minute.

    Time-rescaling: unit exponential gaps in cumulative-rate space, mapped back to minutes.
    """
    budget = rng.expovariate(1.0)
    for minute, rate in enumerate(rates):
        while budget < rate:
            yield minute + budget / rate
            budget += rng.expovariate(1.0)
        budget -= rate


@lru_cache(maxsize=16)
def _activity(start: datetime, days: int, utc_offset_hours: int) -> tuple[float, ...]:
    """Relative activity per minute (mean 1 over a week): diurnal and weekly cycles."""
    local = start + timedelta(hours=utc_offset_hours)
    origin = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
    weekday, weekend = _mean_one(_WEEKDAY_HOURS), _mean_one(_WEEKEND_HOURS)
    day_levels = _mean_one(_WEEKDAYS)
    levels = []
    for minute in range(days * MINUTES_PER_DAY):
        moment = origin + minute + 0.5
        day = int(moment // MINUTES_PER_DAY) % 7
        curve = weekend if day >= 5 else weekday
        levels.append(day_levels[day] * _interpolate(curve, moment % MINUTES_PER_DAY / 60))
    return tuple(levels)


def _interpolate(curve: Sequence[float], hour: float) -> float:
    """Value of an hourly curve at a fractional hour, linear between hours, wrapping at 24."""
    index = int(hour)
    after = curve[(index + 1) % len(curve)]
    return curve[index] + (after - curve[index]) * (hour - index)


def _mean_one(values: Sequence[float]) -> tuple[float, ...]:
    mean = sum(values) / len(values)
    return tuple(value / mean for value in values)


def _window(scenario: Scenario, incident: Incident) -> Iterator[tuple[int, float]]:
    """Scenario minutes whose midpoint falls in the incident, with progress 0..1 through it."""
    offset = (incident.start - scenario.start) / _MINUTE
    length = incident.duration / _MINUTE
    first = max(0, math.ceil(offset - 0.5))
    last = min(scenario.minutes, math.ceil(offset + length - 0.5))
    for minute in range(first, last):
        yield minute, (minute + 0.5 - offset) / length


def _outage_minutes(scenario: Scenario, brand: BrandProfile) -> set[int]:
    return {
        minute
        for incident in _incidents_of(scenario, brand)
        if incident.kind == "outage"
        for minute, _ in _window(scenario, incident)
    }


def _incidents_of(scenario: Scenario, brand: BrandProfile) -> tuple[Incident, ...]:
    return tuple(incident for incident in scenario.incidents if incident.brand == brand.name)


def _expected_total(scenario: Scenario) -> float:
    """Expected number of mentions the scenario generates."""
    total = 0.0
    for brand in scenario.brands:
        total += sum(_background_rates(scenario, brand)[0])
        for incident in _incidents_of(scenario, brand):
            if incident.kind in ("crisis", "viral"):
                total += sum(_surge_rates(scenario, brand, incident)[1])
            elif incident.kind == "troll":
                total += round(incident.intensity)
    return total


# --- who, where, what -----------------------------------------------------------------------


class _AuthorPool:
    """A brand's usual authors per language; the first ones post much more often."""

    def __init__(self, rng: Random, brand: BrandProfile) -> None:
        shares: dict[Lang, float] = {"fr": brand.french_share, "en": 1 - brand.french_share}
        self._people = {
            lang: _distinct_authors(rng, lang, max(12, round(2 * brand.mentions_per_day * share)))
            for lang, share in shares.items()
        }

    def pick(self, rng: Random, lang: Lang) -> Author:
        people = self._people[lang]
        return people[int(len(people) * rng.random() ** 2)]


def _distinct_authors(rng: Random, lang: Lang, count: int) -> list[Author]:
    people: dict[str, Author] = {}
    while len(people) < count:
        author = _new_author(rng, lang)
        people.setdefault(author.id, author)
    return list(people.values())


def _new_author(rng: Random, lang: Lang, big: bool = False) -> Author:
    """A plausible account with a heavy-tailed follower count; `big` ones start at 20,000.

    Most accounts have a few hundred followers (log-normal); 2 % are Pareto-tailed from 2,000.
    """
    first = _pick(rng, _FIRST_NAMES[lang])
    last = _pick(rng, _LAST_NAMES[lang])
    number = rng.randrange(1, 1000)
    user = _pick(rng, (f"{first}.{last}{number}", f"{first}_{last[0]}{number}", f"{first}{number}"))
    name = f"{first} {last}" if rng.random() < 0.5 else f"{first} {last[0]}."
    if big or rng.random() < 0.02:
        followers = (20_000 if big else 2_000) * rng.paretovariate(1.0)
    else:
        followers = rng.lognormvariate(5.3, 1.5)
    return Author(id=ascii_fold(user).lower(), name=name, followers=min(5_000_000, int(followers)))


def _category(rng: Random, brand: BrandProfile, crisis_share: float) -> Category:
    """Background category: slow-burn crisis text, complaint, praise or neutral."""
    if rng.random() < crisis_share:
        return "crisis"
    roll = rng.random()
    if roll < brand.negative_share:
        return "complaint"
    if roll < brand.negative_share + (1 - brand.negative_share) * PRAISE_SHARE:
        return "praise"
    return "neutral"


def _lang(rng: Random, brand: BrandProfile) -> Lang:
    return "fr" if rng.random() < brand.french_share else "en"


def _source(rng: Random, brand: BrandProfile) -> str:
    return rng.choices(tuple(brand.sources), tuple(brand.sources.values()))[0]


def _thread_source(brand: BrandProfile) -> str:
    """Where a surge starts: the brand's busiest platform other than reviews."""
    social = [source for source in brand.sources if source != "google_reviews"]
    return max(social or list(brand.sources), key=lambda source: brand.sources[source])


def _pick(rng: Random, options: Sequence[_T]) -> _T:
    return options[rng.randrange(len(options))]


def _url(source: str, user: str, handle: str, mention_id: str) -> str:
    return _URLS[source].format(user=user, brand=handle.lstrip("@"), id=mention_id)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(name).lower()).strip("-")


def _record(mention: Mention) -> dict[str, object]:
    """The mention as a JSON object in contract order, with a `Z` UTC time."""
    author = mention.author
    return {
        "id": mention.id,
        "created_at": iso_utc(mention.created_at),
        "text": mention.text,
        "brand": mention.brand,
        "lang": mention.lang,
        "source": mention.source,
        "author": None
        if author is None
        else {"id": author.id, "name": author.name, "followers": author.followers},
        "url": mention.url,
        "in_reply_to": mention.in_reply_to,
    }


def _check_brand(brand: BrandProfile) -> None:
    if brand.theme not in THEMES:
        raise ValueError(f"{brand.name}: unknown theme {brand.theme!r}")
    if brand.mentions_per_day < 0:
        raise ValueError(f"{brand.name}: mentions_per_day must be >= 0")
    if not (0 <= brand.french_share <= 1 and 0 <= brand.negative_share <= 1):
        raise ValueError(f"{brand.name}: shares must be between 0 and 1")
    if not brand.sources or not set(brand.sources) <= set(SOURCES):
        raise ValueError(f"{brand.name}: sources must be a non-empty subset of {SOURCES}")
    if min(brand.sources.values()) <= 0:
        raise ValueError(f"{brand.name}: source weights must be positive")


def _check_incident(incident: Incident) -> None:
    if incident.start.utcoffset() is None:
        raise ValueError(f"{incident.brand}: incident start must be timezone-aware")
    if incident.duration <= timedelta(0):
        raise ValueError(f"{incident.brand}: incident duration must be positive")
    if incident.kind != "outage" and incident.intensity < 1:
        raise ValueError(f"{incident.brand}: {incident.kind} intensity must be >= 1")
    if incident.ramp and incident.kind not in ("crisis", "viral"):
        raise ValueError(f"{incident.brand}: only a crisis or a viral moment ramps up")
    if not timedelta(0) <= incident.ramp < incident.duration:
        raise ValueError(f"{incident.brand}: a ramp must be >= 0 and shorter than the incident")
    if incident.ramp_shape not in ("linear", "exponential"):
        raise ValueError(f"{incident.brand}: unknown ramp shape {incident.ramp_shape!r}")


# --- the demo and load scenarios ------------------------------------------------------------

_MINUTE: Final = timedelta(minutes=1)
_HOUR: Final = timedelta(hours=1)
THEME_SOURCES: Final[Mapping[Theme, Mapping[str, float]]] = {
    "bakery": {"google_reviews": 0.45, "facebook": 0.35, "instagram": 0.2},
    "food": {"instagram": 0.35, "google_reviews": 0.2, "twitter": 0.15, "facebook": 0.15,
             "tiktok": 0.15},
    "tech": {"twitter": 0.4, "tiktok": 0.2, "instagram": 0.15, "mastodon": 0.1,
             "facebook": 0.1, "google_reviews": 0.05},
    "airline": {"twitter": 0.45, "facebook": 0.2, "instagram": 0.15, "tiktok": 0.1,
                "mastodon": 0.05, "google_reviews": 0.05},
}  # fmt: skip
_LOAD_FRENCH_SHARES: Final = (0.05, 0.2, 0.45, 0.8, 0.95)


def _demo_brands() -> tuple[BrandProfile, BrandProfile, BrandProfile, BrandProfile]:
    """A local bakery, a café chain, a phone maker and an airline."""
    return (
        BrandProfile(
            "Boulangerie Ferrand", "@boulangerieferrand", 10, 0.95, 0.08, "bakery",
            THEME_SOURCES["bakery"],
        ),
        BrandProfile(
            "Café Colette", "@cafecolette", 200, 0.9, 0.12, "food", THEME_SOURCES["food"],
        ),
        BrandProfile(
            "Kivo", "@kivophones", 1300, 0.15, 0.15, "tech", THEME_SOURCES["tech"],
            utc_offset_hours=0,
        ),
        BrandProfile(
            "Skyvale", "@flyskyvale", 3300, 0.45, 0.2, "airline", THEME_SOURCES["airline"],
        ),
    )  # fmt: skip


def _load_brand(rng: Random, index: int, count: int) -> BrandProfile:
    """Brand `index` of `count`: volumes spread evenly on a log scale over a 1:1000 range."""
    theme = THEMES[index % len(THEMES)]
    return BrandProfile(
        name=f"brand-{index:03d}",
        handle=f"@brand{index:03d}",
        mentions_per_day=1000 ** (index / max(1, count - 1)),
        french_share=_pick(rng, _LOAD_FRENCH_SHARES),
        negative_share=round(rng.uniform(0.08, 0.25), 3),
        theme=theme,
        sources=THEME_SOURCES[theme],
    )


def _load_incidents(rng: Random, brands: Sequence[BrandProfile], days: int) -> tuple[Incident, ...]:
    """One crisis per ten brands (at least one), plus a viral moment, a slow burn, an outage."""
    kinds: list[IncidentKind] = ["crisis"] * max(1, len(brands) // 10)
    kinds += ["viral", "slow_burn", "outage"]
    chosen = rng.sample(list(brands), min(len(kinds), len(brands)))
    return tuple(
        _load_incident(rng, kind, brand, days) for kind, brand in zip(kinds, chosen, strict=False)
    )


def _load_incident(rng: Random, kind: IncidentKind, brand: BrandProfile, days: int) -> Incident:
    offset = timedelta(days=rng.randrange(days), hours=rng.randrange(8, 20))
    if kind == "slow_burn":
        return Incident(brand.name, kind, DEMO_START + offset, timedelta(hours=8), 1.15)
    duration = timedelta(minutes=rng.randrange(45, 150))
    intensity = {"crisis": 8.0, "viral": 5.0, "outage": 1.0}[kind]
    return Incident(brand.name, kind, DEMO_START + offset, duration, intensity)


def _with_volume(brand: BrandProfile, mentions_per_day: float) -> BrandProfile:
    return dataclasses.replace(brand, mentions_per_day=mentions_per_day)


# --- the crisis-evaluation scenario ---------------------------------------------------------

EVALUATION_START: Final = datetime(2026, 4, 6, tzinfo=UTC)  # a Monday
EVALUATION_WARMUP: Final = timedelta(days=1)  # incident-free lead for the detector to learn
EVALUATION_TAIL: Final = timedelta(hours=6)  # incident-free end: every incident closes in time
INCIDENT_GAP: Final = timedelta(hours=4)  # at least this between one brand's incidents
SLOW_BURN_MIN_VOLUME: Final = 80.0  # mentions a day; below, a slow burn is too few mentions
# One brand's incidents over four weeks, in the order they come (each brand starts elsewhere in
# the cycle); a brand under SLOW_BURN_MIN_VOLUME has a crisis instead of its slow burn.
_EVALUATION_CYCLE: Final[tuple[IncidentKind, ...]] = (
    "crisis", "outage", "slow_burn", "viral", "crisis", "troll",
)  # fmt: skip
_CYCLE_DAYS: Final = 28


def benchmark_brand(
    name: str, per_day: float, french: float, negative: float, theme: Theme, utc: int
) -> BrandProfile:
    """A benchmark brand: its handle from its name, its platforms from its theme."""
    handle = "@" + re.sub(r"[^a-z0-9]", "", ascii_fold(name).lower())
    return BrandProfile(name, handle, per_day, french, negative, theme, THEME_SOURCES[theme], utc)


def evaluation_brands() -> tuple[BrandProfile, ...]:
    """Eight brands from ~50,000 mentions a day down to ~5, busiest first.

    English and French, on five UTC offsets: an airline and a telecom operator (Europe), an app
    maker (East Asia, English talk), a coffee chain (US west coast), a Montréal café, a Lyon
    bistro, a British fish bar and a French village bakery.
    """

    brand = benchmark_brand
    return (
        brand("Nordwind Air", 50_000, 0.35, 0.2, "airline", 1),
        brand("Volta Mobile", 10_000, 0.8, 0.18, "tech", 1),
        brand("Pixelo", 2_000, 0.05, 0.15, "tech", 9),
        brand("Maple Street Coffee", 400, 0.05, 0.12, "food", -8),
        brand("Café Mont-Royal", 150, 0.85, 0.1, "food", -5),
        brand("Bistrot Lumière", 80, 0.95, 0.1, "food", 1),
        brand("Harbour Fish Bar", 20, 0.02, 0.1, "food", 0),
        brand("Boulangerie Aubert", 5, 0.97, 0.06, "bakery", 1),
    )


def evaluation_scenario(
    weeks: int = 4, seed: int = 1, *, days: int | None = None, scale: float = 1.0
) -> Scenario:
    """The labelled crisis-evaluation stream: `evaluation_brands()` over `weeks` weeks.

    `days`, if given, replaces `weeks` (short runs). `scale` multiplies every count (brand
    volumes, surges, troll posts) for quick runs; the schedule and the shapes stay the same.

    Each brand has about six incidents per four weeks (at least one): two sudden crises,
    a slow burn (a crisis for brands under 80 a day), a viral moment, a troll burst and an
    outage, at random days and local hours, none in the first day (the detector's warm-up,
    `EVALUATION_WARMUP`) or the last six hours, at least four hours apart.

    - crisis: 45 minutes to 3 hours; extra (negative) mentions 1 to 5 times what the brand
      normally has in that window, and at least 15 to 40 (a bakery's crisis is 15 to 40
      angry mentions within an hour or so; an airline's, thousands);
    - slow burn: 6 to 12 hours; the negative share climbs to 70 % with the volume up 5 to 20 %;
    - viral: 1 to 4 hours; extra positive mentions 2 to 6 times normal, at least 20 to 60;
    - troll: 20 to 60 minutes; 12 to 72 posts from 3 to 8 low-reach accounts;
    - outage: 2 to 8 hours without any mention of the brand.
    """
    length = days if days is not None else 7 * weeks
    if length < 2:
        raise ValueError("the evaluation scenario needs at least two days")
    if scale <= 0:
        raise ValueError("scale must be positive")
    brands = evaluation_brands()
    incidents: list[Incident] = []
    for index, brand in enumerate(brands):
        rng = Random(f"evaluation/{seed}/{brand.name}")
        incidents += _evaluation_incidents(rng, index, brand, length)
    incidents.sort(key=lambda incident: (incident.start, incident.brand))
    if scale != 1.0:
        brands = tuple(_with_volume(b, b.mentions_per_day * scale) for b in brands)
        incidents = [
            dataclasses.replace(i, intensity=max(1.0, round(i.intensity * scale)))
            if i.kind == "troll"
            else i
            for i in incidents
        ]
    return Scenario(EVALUATION_START, length, brands, tuple(incidents), seed)


def _evaluation_incidents(
    rng: Random, index: int, brand: BrandProfile, days: int
) -> list[Incident]:
    """The brand's incidents: one per equal slice of the evaluated span, in cycle order."""
    count = max(1, round(len(_EVALUATION_CYCLE) * days / _CYCLE_DAYS))
    kinds = [_EVALUATION_CYCLE[(index + k) % len(_EVALUATION_CYCLE)] for k in range(count)]
    if brand.mentions_per_day < SLOW_BURN_MIN_VOLUME:
        kinds = ["crisis" if kind == "slow_burn" else kind for kind in kinds]
    first = EVALUATION_START + EVALUATION_WARMUP
    slice_length = (EVALUATION_START + timedelta(days=days) - EVALUATION_TAIL - first) / count
    incidents = []
    for number, kind in enumerate(kinds):
        duration = draw_duration(rng, kind, _EVALUATION_MINUTES)
        room = slice_length - duration - INCIDENT_GAP
        if room <= timedelta(0):
            raise ValueError(f"{days} days leave no room for {count} incidents a brand")
        slice_start = first + number * slice_length
        start = _evaluation_start(rng, kind, brand, slice_start, room)
        probe = Scenario(EVALUATION_START, days, (brand,))
        intensity = _evaluation_intensity(rng, probe, Incident(brand.name, kind, start, duration))
        incidents.append(Incident(brand.name, kind, start, duration, intensity))
    return incidents


_EVALUATION_MINUTES: Final[Mapping[IncidentKind, tuple[int, int]]] = {
    "crisis": (45, 180),
    "slow_burn": (360, 720),
    "viral": (60, 240),
    "troll": (20, 60),
    "outage": (120, 480),
}


def draw_duration(
    rng: Random, kind: IncidentKind, minutes: Mapping[IncidentKind, tuple[int, int]]
) -> timedelta:
    """A duration in whole 5 minutes within `minutes[kind]` (lowest, highest), both included."""
    low, high = minutes[kind]
    return timedelta(minutes=rng.randrange(low, high + 1, 5))


def _evaluation_start(
    rng: Random, kind: IncidentKind, brand: BrandProfile, earliest: datetime, room: timedelta
) -> datetime:
    """A start in [earliest, earliest + room), at a local hour that suits the kind and brand.

    Crises and viral moments break while people are up (all day and night for big brands);
    slow burns start in the morning to unfold over the day; trolls and outages come any time.
    """
    hours = {
        "crisis": range(24) if brand.mentions_per_day >= 2000 else range(7, 23),
        "slow_burn": range(5, 14),
        "viral": range(8, 22),
        "troll": range(24),
        "outage": range(24),
    }[kind]
    return local_start(rng, hours, brand, earliest, room)


def local_start(
    rng: Random, hours: Collection[int], brand: BrandProfile, earliest: datetime, room: timedelta
) -> datetime:
    """A whole minute in [earliest, earliest + room) at one of the brand's local `hours`."""
    minutes = int(room / _MINUTE)
    start = earliest
    for _ in range(200):
        start = earliest + timedelta(minutes=rng.randrange(minutes))
        if (start + timedelta(hours=brand.utc_offset_hours)).hour in hours:
            break
    return start.replace(second=0, microsecond=0)


def _evaluation_intensity(rng: Random, scenario: Scenario, incident: Incident) -> float:
    """The `intensity` that gives `incident` a target size (see `evaluation_scenario`).

    `scenario` holds the incident's brand alone and sets the calendar.
    """
    kind = incident.kind
    if kind == "outage":
        return 1.0
    if kind == "slow_burn":
        return round(rng.uniform(1.05, 1.2), 3)
    if kind == "troll":
        return float(rng.randrange(12, 73))
    if kind == "crisis":
        factor, floor = rng.uniform(1, 5), rng.uniform(15, 40)
    else:
        factor, floor = rng.uniform(2, 6), rng.uniform(20, 60)
    (brand,) = scenario.brands
    per_minute = brand.mentions_per_day / MINUTES_PER_DAY
    activity = _activity(scenario.start, scenario.days, brand.utc_offset_hours)
    window = list(_window(scenario, incident))
    normal = per_minute * sum(activity[minute] for minute, _ in window)
    unit = per_minute * sum(activity[m] * surge_shape(incident, p) for m, p in window)
    return round(1 + max(floor, factor * normal) / unit, 2)
