"""Labelled crisis-stream evaluation: the synthetic benchmark through the engine, scored.

`evaluate` replays a scenario's mentions (`pipeline.synthetic_ramped.ramped_scenario`, crises
that ramp up, or `pipeline.synthetic.evaluation_scenario`, crises that start as a step)
through `pipeline.engine.Engine` with `pipeline.replay.replay`, the path `buzzwatch replay`
takes, and `match_alerts` matches the `firing` alert events to the scenario's incidents:

- **crisis, slow_burn** (required): detected when a `negative` alert of the brand fires in
  the incident's window, from its onset (excluded) to its end plus `GRACE` (30 minutes: the
  last bucket, and a detector that judges longer windows, may close a little after the end).
  The delay is the first such alert's `at` minus the onset. Volume alerts in the window are
  expected and fine.
- **viral**: a volume alert in the window is fine (expected); a `negative` alert is a false
  alert.
- **troll**: reported as flagged when a `negative` alert fires in the window; neither
  required nor a false alert (any alert in the window is matched to the burst).
- **outage**: any alert from the outage's start to one hour (`OUTAGE_AFTERMATH`) after data
  resumes is a false alert.
- Every other firing is a false alert: `after_incident` when it comes within six hours
  (`LINGER`) after the grace of one of the brand's incidents (a late re-fire, labelled
  to help the reader), else `unmatched`. When windows overlap, a crisis or slow burn explains
  an alert first, then a troll burst, a viral moment, an outage.

Alerts that fire during the warm-up (the scenario's first day, `EVALUATION_WARMUP`, when the
detector is still learning and no incident happens) are listed apart and not counted;
brand-weeks are counted from the end of the warm-up.

Given a `Calibration`, `evaluate` also runs the oracle (`buzzwatch.evaluation.oracle`: Page's
CUSUM knowing the true baseline) on the same stream; each incident's `oracle_delay` is its
first alarm in the same window, and oracle alarms after the warm-up outside every incident's
window are its false alarms. The goals (`goal_failures`): at least 95 % of crises and slow
burns found, at most 0.3 false alerts per brand-week, a median crisis delay at most 1.25 times
the oracle's and no crisis found later than twice its oracle delay, both judged on the crises
that the detector and the oracle both found (misses count against the first goal alone).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from buzzwatch.evaluation.oracle import Calibration, MinuteCounts, OracleRun, run_oracle
from pipeline.engine import Engine
from pipeline.models import AlertEvent, Mention, iso_utc
from pipeline.replay import replay
from pipeline.sentiment import SentimentRouter
from pipeline.settings import DetectionSettings
from pipeline.synthetic import (
    EVALUATION_WARMUP,
    INCIDENT_KINDS,
    Incident,
    IncidentKind,
    Scenario,
    generate,
)

GRACE: Final = timedelta(minutes=30)
OUTAGE_AFTERMATH: Final = timedelta(hours=1)
LINGER: Final = timedelta(hours=6)
REQUIRED: Final[tuple[IncidentKind, ...]] = ("crisis", "slow_burn")
NEGATIVE: Final = "negative"
WEEK: Final = timedelta(days=7)
LISTED: Final = 25  # missed incidents and false alerts listed under the table, at most
DISTINCT_TEXTS_CACHED: Final = 1_000_000  # more than the evaluation stream's distinct texts
# The goals the detector is held to: at least 95 % of crises and slow burns found, at most 0.3
# false alerts per brand-week, a median crisis delay at most 1.25 times the oracle's, and no
# crisis found later than twice its oracle delay.
MIN_RECALL: Final = 0.95
MAX_FALSE_PER_BRAND_WEEK: Final = 0.3
MAX_MEDIAN_DELAY_RATIO: Final = 1.25
MAX_DELAY_RATIO: Final = 2.0

FalseReason = Literal["unmatched", "after_incident", "viral", "outage"]
_PRIORITY: Final[Sequence[IncidentKind]] = ("crisis", "slow_burn", "troll", "viral", "outage")


@dataclass(frozen=True, slots=True)
class IncidentResult:
    """One labelled incident, the firing alerts matched to it (of any kind), and the delay of
    the oracle's first alarm in its window (None when it raised none or did not run)."""

    incident: Incident
    alerts: tuple[AlertEvent, ...] = ()
    oracle_delay: timedelta | None = None

    @property
    def negative_alerts(self) -> tuple[AlertEvent, ...]:
        return tuple(alert for alert in self.alerts if alert.kind == NEGATIVE)

    @property
    def detected(self) -> bool:
        """A negative alert fired in the window (for an outage: any alert)."""
        if self.incident.kind == "outage":
            return bool(self.alerts)
        return bool(self.negative_alerts)

    @property
    def delay(self) -> timedelta | None:
        """First negative alert's `at` minus the onset; None when none fired."""
        first = min((alert.at for alert in self.negative_alerts), default=None)
        return None if first is None else first - self.incident.start


@dataclass(frozen=True, slots=True)
class FalseAlert:
    """A firing that no incident explains, or one that an incident makes wrong."""

    event: AlertEvent
    reason: FalseReason
    incident: Incident | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    """Scores of one brand, or of all brands (`brand` is `all`)."""

    brand: str
    incidents: dict[IncidentKind, int]
    detected: dict[IncidentKind, int]  # crisis/slow_burn: detected; troll: flagged; ...
    false_alerts: dict[FalseReason, int]
    brand_weeks: float
    crisis_delays: tuple[timedelta, ...]
    slow_burn_delays: tuple[timedelta, ...]
    mentions_per_day: float | None = None

    @property
    def required(self) -> int:
        return sum(self.incidents.get(kind, 0) for kind in REQUIRED)

    @property
    def required_detected(self) -> int:
        return sum(self.detected.get(kind, 0) for kind in REQUIRED)

    @property
    def recall(self) -> float | None:
        """Detected crises and slow burns over all of them; None when there are none."""
        return self.required_detected / self.required if self.required else None

    @property
    def false_total(self) -> int:
        return sum(self.false_alerts.values())

    @property
    def false_per_brand_week(self) -> float | None:
        return per_brand_week(self.false_total, self.brand_weeks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "mentions_per_day": self.mentions_per_day,
            "incidents": {kind: self.incidents.get(kind, 0) for kind in INCIDENT_KINDS},
            "detected": {
                "crisis": self.detected.get("crisis", 0),
                "slow_burn": self.detected.get("slow_burn", 0),
                "troll_flagged": self.detected.get("troll", 0),
                "viral_with_negative_alert": self.detected.get("viral", 0),
                "outage_with_alert": self.detected.get("outage", 0),
            },
            "recall": self.recall,
            "false_alerts": self.false_total,
            "false_alerts_by_reason": dict(self.false_alerts),
            "brand_weeks": round(self.brand_weeks, 3),
            "false_alerts_per_brand_week": self.false_per_brand_week,
            "crisis_delay_minutes": _delay_stats(self.crisis_delays),
            "slow_burn_delay_minutes": _delay_stats(self.slow_burn_delays),
        }


@dataclass(frozen=True, slots=True)
class CrisisReport:
    """The evaluation's outcome: per incident, per false alert, per brand and overall."""

    start: datetime
    end: datetime
    warmup_end: datetime
    results: tuple[IncidentResult, ...]
    false_alerts: tuple[FalseAlert, ...]
    warmup_alerts: tuple[AlertEvent, ...]
    brands: tuple[Tally, ...]
    overall: Tally
    mentions: int | None = None
    seed: int | None = None
    oracle: OracleRun | None = None
    oracle_false_alarms: tuple[tuple[str, datetime], ...] = ()  # (brand, at)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible account of everything, times in ISO-8601 `Z`."""
        return {
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "warmup_end": iso_utc(self.warmup_end),
            "seed": self.seed,
            "mentions": self.mentions,
            "rules": {
                "grace_minutes": GRACE / timedelta(minutes=1),
                "outage_aftermath_minutes": OUTAGE_AFTERMATH / timedelta(minutes=1),
            },
            "overall": self.overall.to_dict(),
            "brands": [tally.to_dict() for tally in self.brands],
            "incidents": [_result_dict(result) for result in self.results],
            "false_alerts": [
                {**_alert_dict(f.event), "reason": f.reason} for f in self.false_alerts
            ],
            "warmup_alerts": [_alert_dict(event) for event in self.warmup_alerts],
            "troll_suspected": {
                kind: {"flagged": flagged, "alerts": alerts}
                for kind, (flagged, alerts) in self.troll_flags().items()
            },
            "oracle": None if self.oracle is None else self._oracle_dict(self.oracle),
        }

    def _oracle_dict(self, oracle: OracleRun) -> dict[str, Any]:
        calibration = oracle.calibration
        return {
            "rhos": list(calibration.rhos),
            "target_false_alarms_per_brand_week": calibration.target,
            "calibration_brand_weeks_per_brand": calibration.brand_weeks,
            "brands": [
                {
                    "brand": brand.brand,
                    "threshold": brand.threshold,
                    "negative_share": brand.negative_share,
                    "negative_share_sample": brand.sampled,
                    "calibration_false_alarms_per_brand_week": brand.false_per_brand_week,
                }
                for brand in calibration.brands
            ],
            "false_alarms": [
                {"brand": brand, "at": iso_utc(at)} for brand, at in self.oracle_false_alarms
            ],
            "false_alarms_per_brand_week": per_brand_week(
                len(self.oracle_false_alarms), self.overall.brand_weeks
            ),
        }

    def table(self) -> str:
        """The readable report: a fixed-width table with a row per brand and overall, a legend,
        then misses and false alerts."""
        days = (self.end - self.start) / timedelta(days=1)
        mentions = f", {self.mentions:,} mentions" if self.mentions is not None else ""
        seed = f", seed {self.seed}" if self.seed is not None else ""
        head = [
            f"{'brand':<22} {'/day':>6} {'crisis':>7} {'slow':>5} {'recall':>6} {'troll':>5} "
            f"{'viral':>5} {'outage':>6} {'false':>5} {'b-wk':>5} {'false/bw':>8} "
            f"{'crisis delay':>13} {'slow-burn delay':>15}",
            f"{'':<22} {'':>6} {'':>7} {'':>5} {'':>6} {'':>5} {'':>5} {'':>6} {'':>5} {'':>5} "
            f"{'':>8} {'median':>6} {'max':>6} {'median':>7} {'max':>7}",
        ]
        lines = [
            f"Crisis-stream evaluation: {len(self.brands)} brands, {days:g} days from "
            f"{iso_utc(self.start)}{seed}{mentions}; warm-up until {iso_utc(self.warmup_end)}",
            "",
            *ruled(head, map(_row, self.brands), [_row(self.overall)]),
            "",
            "crisis, slow: detected/total (a negative alert from onset to end + "
            f"{duration_text(GRACE)}); recall: both kinds",
            "troll: bursts flagged by a negative alert (not required, not false); "
            "viral: viral moments with a negative alert (false);",
            f"outage: outages with an alert until {duration_text(OUTAGE_AFTERMATH)} after data "
            "resumes (false); false: all false alerts; b-wk: brand-weeks after the warm-up",
        ]
        missed = [r for r in self.results if r.incident.kind in REQUIRED and not r.detected]
        lines += ["", f"missed crises and slow burns: {len(missed)}"]
        for result in missed[:LISTED]:
            incident = result.incident
            volume = sum(alert.kind != NEGATIVE for alert in result.alerts)
            seen = f", {volume} volume alert(s) in window" if volume else ""
            lines.append(
                f"  {incident.brand}: {incident.kind} at {iso_utc(incident.start)} for "
                f"{duration_text(incident.duration)}, intensity {incident.intensity:g}{seen}"
            )
        lines += _more(len(missed))
        lines.append(f"false alerts: {len(self.false_alerts)}")
        for false in self.false_alerts[:LISTED]:
            event = false.event
            lines.append(
                f"  {event.brand}: {event.kind} ({event.severity}) at {iso_utc(event.at)}: "
                f"{event.observed:g} vs {event.expected:.1f} expected; {_why(false)}"
            )
        lines += _more(len(self.false_alerts))
        lines.append(f"alerts during the warm-up (not counted): {len(self.warmup_alerts)}")
        flags = ", ".join(
            f"{kind} {flagged}/{alerts}" for kind, (flagged, alerts) in self.troll_flags().items()
        )
        lines.append(f"alerts whose explanation suspects trolls, by what they matched: {flags}")
        return "\n".join(lines) + "\n"

    def troll_flags(self) -> dict[str, tuple[int, int]]:
        """Per kind of what the alerts were matched to (and `false`): (firing alerts whose
        explanation suspects trolls, firing alerts)."""
        groups: dict[str, list[AlertEvent]] = {}
        for result in self.results:
            groups.setdefault(result.incident.kind, []).extend(result.alerts)
        groups["false"] = [false.event for false in self.false_alerts]
        return {
            kind: (
                sum(bool(a.explanation and a.explanation.troll_suspected) for a in alerts),
                len(alerts),
            )
            for kind, alerts in groups.items()
        }


def evaluate(
    scenario: Scenario,
    settings: DetectionSettings | None = None,
    *,
    mentions: Iterable[Mention] | None = None,
    warmup: timedelta = EVALUATION_WARMUP,
    calibration: Calibration | None = None,
    scorer: SentimentRouter | None = None,
) -> CrisisReport:
    """Replay the scenario's mentions through a fresh engine and score its alerts.

    `mentions` defaults to `generate(scenario)`; pass them to wrap them (progress bars).
    The scorer, `negative_scorer(settings)` unless given, caches every distinct text (the
    synthetic stream repeats them): pass the one of an earlier replay of the same stream, with
    the same `negative_threshold` and `french_scorer`, and no text is scored twice. Its scores
    are the engine's own, so the alerts are those `buzzwatch replay` raises. With a `calibration`
    (`buzzwatch.evaluation.oracle.calibrate` on the scenario's brands), the oracle runs on the
    same mentions, counted per minute as they pass, scored by that scorer.
    """
    settings = settings or DetectionSettings()
    if scorer is None:
        scorer = negative_scorer(settings)
    elif not scorer.serves(settings):
        raise ValueError("the scorer's negative_threshold or French scorer is not the settings'")
    engine = Engine(settings, scorer)
    events: list[AlertEvent] = []
    stream = generate(scenario) if mentions is None else mentions
    counts = MinuteCounts(scenario, scorer)
    if calibration is not None:
        stream = counts.tap(stream)
    summary = replay(enumerate(stream, start=1), engine, events.append)
    oracle = None if calibration is None else run_oracle(scenario, counts, calibration)
    report = match_alerts(scenario, events, warmup=warmup, oracle=oracle)
    return dataclasses.replace(report, mentions=summary.accepted, seed=scenario.seed)


def negative_scorer(settings: DetectionSettings) -> SentimentRouter:
    """The engine's scorer for `settings`, with a cache that holds every distinct text."""
    return SentimentRouter.for_settings(settings, cache_size=DISTINCT_TEXTS_CACHED)


def match_alerts(
    scenario: Scenario,
    events: Iterable[AlertEvent],
    *,
    warmup: timedelta = EVALUATION_WARMUP,
    oracle: OracleRun | None = None,
) -> CrisisReport:
    """Match the firing events, and the oracle's alarms if given, to the scenario's incidents
    (rules in the module docstring)."""
    warmup_end = scenario.start + warmup
    end = scenario.start + timedelta(days=scenario.days)
    incidents = list(scenario.incidents)
    matched: dict[int, list[AlertEvent]] = {index: [] for index in range(len(incidents))}
    false_alerts: list[FalseAlert] = []
    warmup_alerts: list[AlertEvent] = []
    firing = sorted(
        (event for event in events if event.state == "firing"),
        key=lambda event: (event.at, event.brand, event.kind),
    )
    for event in firing:
        if event.at <= warmup_end:
            warmup_alerts.append(event)
            continue
        index = _explaining(incidents, event.brand, event.at)
        if index is None:
            before = _lingering(incidents, event)
            reason: FalseReason = "unmatched" if before is None else "after_incident"
            false_alerts.append(FalseAlert(event, reason, before))
            continue
        matched[index].append(event)
        incident = incidents[index]
        if incident.kind == "outage":
            false_alerts.append(FalseAlert(event, "outage", incident))
        elif incident.kind == "viral" and event.kind == NEGATIVE:
            false_alerts.append(FalseAlert(event, "viral", incident))
    results = tuple(
        IncidentResult(incident, tuple(matched[index]), _oracle_delay(oracle, incident))
        for index, incident in enumerate(incidents)
    )
    brand_weeks = max(timedelta(0), end - warmup_end) / WEEK
    names = [brand.name for brand in scenario.brands]
    names += sorted({f.event.brand for f in false_alerts} - set(names))
    volumes = {brand.name: brand.mentions_per_day for brand in scenario.brands}
    tallies = tuple(
        tally(
            name,
            [r for r in results if r.incident.brand == name],
            [f for f in false_alerts if f.event.brand == name],
            brand_weeks if name in volumes else 0.0,
            volumes.get(name),
        )
        for name in names
    )
    overall = tally("all", results, false_alerts, brand_weeks * len(scenario.brands), None)
    oracle_false = () if oracle is None else _oracle_false_alarms(incidents, oracle, warmup_end)
    return CrisisReport(
        start=scenario.start,
        end=end,
        warmup_end=warmup_end,
        results=results,
        false_alerts=tuple(false_alerts),
        warmup_alerts=tuple(warmup_alerts),
        brands=tallies,
        overall=overall,
        oracle=oracle,
        oracle_false_alarms=oracle_false,
    )


def ruled(head: Sequence[str], body: Iterable[str], foot: Iterable[str] = ()) -> list[str]:
    """A table's lines: `head`, then `body` and `foot` each under a rule as long as the head's
    last line."""
    rule = "-" * len(head[-1])
    return [*head, rule, *body, rule, *foot]


def goal_failures(report: CrisisReport) -> list[str]:
    """The goals the overall scores miss, each as a readable sentence; empty when all are met."""
    return failed_goals(report.results, report.overall)


def failed_goals(results: Sequence[IncidentResult], overall: Tally) -> list[str]:
    """The goals `results` (of one stream or several) and their `overall` tally miss.

    The delay goals are judged against the oracle's delays, on the crises both found.
    """
    failures = []
    missed = overall.required - overall.required_detected
    if overall.required and overall.required_detected < MIN_RECALL * overall.required:
        failures.append(
            f"{missed} of {overall.required} crises and slow burns missed "
            f"(goal: at least {MIN_RECALL:.0%} found)"
        )
    rate = overall.false_per_brand_week
    if rate is not None and rate > MAX_FALSE_PER_BRAND_WEEK:
        failures.append(
            f"{rate:.2f} false alerts per brand-week (goal <= {MAX_FALSE_PER_BRAND_WEEK})"
        )
    crises = [r for r in results if r.incident.kind == "crisis"]
    pairs = paired_delays(crises)
    if pairs:
        median = median_minutes(detector for detector, _ in pairs)
        oracle_median = median_minutes(oracle for _, oracle in pairs)
        if median > MAX_MEDIAN_DELAY_RATIO * oracle_median:
            failures.append(
                f"median crisis delay {duration_text(_span(median))}, {median / oracle_median:.2f} "
                f"times the oracle's {duration_text(_span(oracle_median))} on the {len(pairs)} "
                f"crises both found (goal <= {MAX_MEDIAN_DELAY_RATIO:g} times)"
            )
    late = [
        (result, delay, bound)
        for result in crises
        if (delay := result.delay) is not None
        and (bound := result.oracle_delay) is not None
        and delay > MAX_DELAY_RATIO * bound
    ]
    if late:
        worst, delay, bound = max(late, key=lambda item: item[1] / item[2])
        failures.append(
            f"{len(late)} of {len(crises)} crises found later than {MAX_DELAY_RATIO:g} times "
            f"their oracle delay (worst: {worst.incident.brand} at "
            f"{iso_utc(worst.incident.start)}, {duration_text(delay)} vs {duration_text(bound)})"
        )
    return failures


def paired_delays(results: Iterable[IncidentResult]) -> list[tuple[timedelta, timedelta]]:
    """(detector's delay, oracle's delay) of each result that both found."""
    return [
        (r.delay, r.oracle_delay)
        for r in results
        if r.delay is not None and r.oracle_delay is not None
    ]


def median_delay_ratio(results: Iterable[IncidentResult]) -> float | None:
    """The detector's median crisis delay over the oracle's, both over the crises of `results`
    that both found; None when there is none."""
    pairs = paired_delays(r for r in results if r.incident.kind == "crisis")
    if not pairs:
        return None
    return median_minutes(d for d, _ in pairs) / median_minutes(o for _, o in pairs)


def delay_ratio(result: IncidentResult) -> float | None:
    """The detector's delay over the oracle's; None unless both found the incident."""
    if result.delay is None or result.oracle_delay is None:
        return None
    return result.delay / result.oracle_delay


# --- internals ------------------------------------------------------------------------------


def _explaining(incidents: Sequence[Incident], brand: str, at: datetime) -> int | None:
    """Index of the incident that explains an alert of `brand` at `at`, by kind priority; None
    if none does."""
    ranked = []  # (priority of its kind, index) of each incident whose window holds `at`
    for index, incident in enumerate(incidents):
        after = OUTAGE_AFTERMATH if incident.kind == "outage" else GRACE
        if incident.brand == brand and incident.start < at <= incident.end + after:
            ranked.append((_PRIORITY.index(incident.kind), index))
    return min(ranked)[1] if ranked else None


def _lingering(incidents: Sequence[Incident], event: AlertEvent) -> Incident | None:
    """The brand's latest incident (not an outage) whose grace ended up to `LINGER` before."""
    found = [
        incident
        for incident in incidents
        if incident.brand == event.brand
        and incident.kind != "outage"
        and incident.end + GRACE < event.at <= incident.end + GRACE + LINGER
    ]
    return max(found, key=lambda incident: incident.end) if found else None


def _oracle_delay(oracle: OracleRun | None, incident: Incident) -> timedelta | None:
    """Delay of the oracle's first alarm in the incident's window (onset to end + `GRACE`)."""
    if oracle is None:
        return None
    alarm = oracle.first_alarm(incident.brand, incident.start, incident.end + GRACE)
    return None if alarm is None else alarm - incident.start


def _oracle_false_alarms(
    incidents: Sequence[Incident], oracle: OracleRun, warmup_end: datetime
) -> tuple[tuple[str, datetime], ...]:
    """The oracle's alarms after the warm-up that no incident's window explains."""
    return tuple(
        sorted(
            (brand, at)
            for brand, times in oracle.alarms.items()
            for at in times
            if at > warmup_end and _explaining(incidents, brand, at) is None
        )
    )


def tally(
    brand: str,
    results: Sequence[IncidentResult],
    false_alerts: Sequence[FalseAlert],
    brand_weeks: float,
    mentions_per_day: float | None,
) -> Tally:
    """The scores of `results` and `false_alerts` (one brand's, or all) over `brand_weeks`."""

    def delays(kind: IncidentKind) -> tuple[timedelta, ...]:
        found = (r.delay for r in results if r.incident.kind == kind)
        return tuple(sorted(delay for delay in found if delay is not None))

    return Tally(
        brand=brand,
        incidents=dict(Counter(r.incident.kind for r in results)),
        detected=dict(Counter(r.incident.kind for r in results if r.detected)),
        false_alerts=dict(Counter(f.reason for f in false_alerts)),
        brand_weeks=brand_weeks,
        crisis_delays=delays("crisis"),
        slow_burn_delays=delays("slow_burn"),
        mentions_per_day=mentions_per_day,
    )


def _row(tally: Tally) -> str:
    def ratio(kind: IncidentKind) -> str:
        total = tally.incidents.get(kind, 0)
        return f"{tally.detected.get(kind, 0)}/{total}" if total else "-"

    per_day = "" if tally.mentions_per_day is None else f"{tally.mentions_per_day:,.0f}"
    if tally.mentions_per_day is not None and tally.mentions_per_day < 10:
        per_day = f"{tally.mentions_per_day:.1f}"
    recall = f"{tally.recall:.0%}" if tally.recall is not None else "-"
    rate = tally.false_per_brand_week
    return (
        f"{tally.brand[:22]:<22} {per_day:>6} {ratio('crisis'):>7} {ratio('slow_burn'):>5} "
        f"{recall:>6} {ratio('troll'):>5} {ratio('viral'):>5} {ratio('outage'):>6} "
        f"{tally.false_total:>5} {tally.brand_weeks:>5.1f} "
        f"{'-' if rate is None else f'{rate:.2f}':>8} "
        f"{median_text(tally.crisis_delays):>6} {_max(tally.crisis_delays):>6} "
        f"{median_text(tally.slow_burn_delays):>7} {_max(tally.slow_burn_delays):>7}"
    )


def median_text(delays: Sequence[timedelta]) -> str:
    return duration_text(_span(median_minutes(delays))) if delays else "-"


def median_minutes(delays: Iterable[timedelta]) -> float:
    return statistics.median(_minutes(d) for d in delays)


def _span(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def per_brand_week(count: int, brand_weeks: float) -> float | None:
    """`count` over `brand_weeks`; None when there is no brand-week."""
    return count / brand_weeks if brand_weeks > 0 else None


def _max(delays: Sequence[timedelta]) -> str:
    return duration_text(max(delays)) if delays else "-"


def _minutes(delay: timedelta) -> float:
    return delay / timedelta(minutes=1)


def duration_text(span: timedelta) -> str:
    """`15m` under two hours, else `2h05`."""
    minutes = round(_minutes(span))
    if abs(minutes) < 120:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}"


def _delay_stats(delays: Sequence[timedelta]) -> dict[str, Any]:
    minutes = [_minutes(delay) for delay in delays]
    return {
        "count": len(minutes),
        "median": statistics.median(minutes) if minutes else None,
        "max": max(minutes) if minutes else None,
        "all": minutes,
    }


def _why(false: FalseAlert) -> str:
    incident = false.incident
    if false.reason == "viral" and incident is not None:
        return f"during a viral moment from {iso_utc(incident.start)}"
    if false.reason == "after_incident" and incident is not None:
        after = duration_text(false.event.at - incident.end)
        return f"{after} after the end of a {incident.kind} from {iso_utc(incident.start)}"
    if false.reason == "outage" and incident is not None:
        return f"outage {iso_utc(incident.start)}–{iso_utc(incident.end)} (or the hour after)"
    return "no incident"


def _more(count: int) -> list[str]:
    return [f"  … and {count - LISTED} more (see --json)"] if count > LISTED else []


def _alert_dict(event: AlertEvent) -> dict[str, Any]:
    data = event.to_dict()
    return {k: data[k] for k in ("id", "brand", "kind", "severity", "at", "observed", "expected")}


def _result_dict(result: IncidentResult) -> dict[str, Any]:
    incident, delay, oracle = result.incident, result.delay, result.oracle_delay
    return {
        "brand": incident.brand,
        "kind": incident.kind,
        "start": iso_utc(incident.start),
        "duration_minutes": _minutes(incident.duration),
        "intensity": incident.intensity,
        "detected": result.detected,
        "delay_minutes": None if delay is None else _minutes(delay),
        "oracle_delay_minutes": None if oracle is None else _minutes(oracle),
        "alerts": [_alert_dict(event) for event in result.alerts],
    }
