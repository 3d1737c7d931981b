"""The detector beside the oracle, as text: per brand, per crisis and slow burn, per seed.

`oracle_section` reads one `CrisisReport` evaluated with the oracle; `seeds_summary` sets
several seeds' reports side by side, with a pooled row judged by the goals together; its
columns (`FIGURES`, `figures`, `FIGURES_LEGEND`) serve other summaries of several reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from buzzwatch.evaluation.crisis import (
    MAX_DELAY_RATIO,
    REQUIRED,
    CrisisReport,
    IncidentResult,
    Tally,
    delay_ratio,
    duration_text,
    failed_goals,
    median_delay_ratio,
    median_text,
    paired_delays,
    per_brand_week,
    ruled,
    tally,
)
from pipeline.models import iso_utc
from pipeline.synthetic import Scenario


def oracle_section(report: CrisisReport, scenario: Scenario) -> str:
    """The oracle's thresholds and delays beside the detector's: per brand, then per crisis
    and slow burn (onsets also in the brand's local time, from `scenario`)."""
    oracle = report.oracle
    if oracle is None:
        raise ValueError("the report has no oracle: evaluate it with a calibration")
    calibration = oracle.calibration
    head = [
        f"{'brand':<22} {'h':>5} {'neg':>5} {'cal/bw':>6} {'false/bw':>8} "
        f"{'crises':>11} {'crisis median':>15} {'slow burns':>11} {'slow-burn median':>16}",
        f"{'':<22} {'':>5} {'':>5} {'':>6} {'':>8} {'det':>5} {'orc':>5} {'det':>7} "
        f"{'orc':>7} {'det':>5} {'orc':>5} {'det':>8} {'orc':>7}",
    ]
    rows = []
    weeks = report.overall.brand_weeks / max(1, len(calibration.brands))
    for brand in calibration.brands:
        mine = [r for r in report.results if r.incident.brand == brand.brand]
        false = sum(name == brand.brand for name, _ in report.oracle_false_alarms)
        rows.append(
            f"{brand.brand[:22]:<22} {brand.threshold:>5.2f} {brand.negative_share:>5.1%} "
            f"{brand.false_per_brand_week:>6.2f} {_rate(false, weeks):>8} {_found(mine)}"
        )
    false = len(report.oracle_false_alarms)
    overall = (
        f"{'all':<22} {'':>5} {'':>5} {'':>6} {_rate(false, report.overall.brand_weeks):>8} "
        f"{_found(report.results)}"
    )
    lines = [
        "Detector vs oracle (Page's CUSUM on per-minute mentions and scored negatives, knowing "
        f"the true baseline; rate x{'/'.join(f'{rho:g}' for rho in calibration.rhos)}, h per "
        f"brand for {calibration.target:g} "
        f"false alarms per brand-week on {calibration.brand_weeks} incident-free brand-weeks):",
        "",
        *ruled(head, rows, [overall]),
        "",
        "h: the oracle's threshold; neg: share of normal mentions scored negative; cal/bw: its "
        "false alarms per brand-week on the calibration streams; false/bw: on this stream, "
        "outside every incident's window;",
        "det: the detector, orc: the oracle: found/total, and median delays from onset over the "
        "incidents both found",
        "",
        *_incident_lines(report.results, scenario),
    ]
    return "\n".join(lines) + "\n"


# The columns of a row of several reports taken together (`figures`), and their legend.
FIGURES: Final = (
    f"{'mentions':>10} {'crises':>13} {'slow burns':>13} {'false/bw':>8} "
    f"{'crisis delay median (max)':>26} {'oracle median (max)':>20} {'ratio':>5} "
    f"{f'>{MAX_DELAY_RATIO:g}x':>4} {'goals':>6}"
)
FIGURES_LEGEND: Final = (
    "crises, slow burns: found by the detector (by the oracle)/total; false/bw: the "
    "detector's false alerts per brand-week; delays over the crises both found;",
    f"ratio: the detector's median crisis delay over the oracle's; >{MAX_DELAY_RATIO:g}x: "
    f"crises found later than {MAX_DELAY_RATIO:g} times their oracle delay; goals: failed",
)


def seeds_summary(reports: Sequence[CrisisReport]) -> str:
    """One row per seed's report and a pooled row, then the goals judged on all of them."""
    rows = [
        f"{'-' if report.seed is None else report.seed:<6} {figures([report])}"
        for report in reports
    ]
    failures = pooled_goal_failures(reports)
    lines = [
        *ruled([f"{'seed':<6} {FIGURES}"], rows, [f"{'pooled':<6} {figures(reports)}"]),
        "",
        *FIGURES_LEGEND,
        "goals (pooled): " + ("all met" if not failures else "; ".join(failures)),
    ]
    return "\n".join(lines) + "\n"


def figures(reports: Sequence[CrisisReport]) -> str:
    """The scores of `reports` taken together, in the columns of `FIGURES`."""
    results = [result for report in reports for result in report.results]
    overall = pooled_tally(reports)
    mentions = sum(report.mentions or 0 for report in reports)
    crises = [r for r in results if r.incident.kind == "crisis"]
    burns = [r for r in results if r.incident.kind == "slow_burn"]
    pairs = paired_delays(crises)
    detector, oracle = [d for d, _ in pairs], [o for _, o in pairs]
    ratio = median_delay_ratio(crises)
    late = sum((r := delay_ratio(c)) is not None and r > MAX_DELAY_RATIO for c in crises)
    rate = overall.false_per_brand_week
    failures = failed_goals(results, overall)
    return (
        f"{mentions:>10,} {_counts(crises):>13} {_counts(burns):>13} {_two_places(rate):>8} "
        f"{_spread(detector):>26} {_spread(oracle):>20} {_two_places(ratio):>5} {late:>4} "
        f"{len(failures):>6}"
    )


def pooled_tally(reports: Sequence[CrisisReport]) -> Tally:
    """The overall tally of the reports taken together (all their incidents and brand-weeks)."""
    return tally(
        "all",
        [result for report in reports for result in report.results],
        [false for report in reports for false in report.false_alerts],
        sum(report.overall.brand_weeks for report in reports),
        None,
    )


def pooled_goal_failures(reports: Sequence[CrisisReport]) -> list[str]:
    """The goals the reports miss taken together (all their incidents and brand-weeks)."""
    results = [result for report in reports for result in report.results]
    return failed_goals(results, pooled_tally(reports))


# --- internals ------------------------------------------------------------------------------

_RAMP_SHAPES: Final = {"linear": "lin", "exponential": "exp"}


def _found(results: Sequence[IncidentResult]) -> str:
    """Crises and slow burns found by the detector and by the oracle, and the median delays of
    each over those both found."""
    cells = []
    for kind, width in (("crisis", 7), ("slow_burn", 8)):
        mine = [r for r in results if r.incident.kind == kind]
        detector = sum(r.detected for r in mine)
        oracle = sum(r.oracle_delay is not None for r in mine)
        pairs = paired_delays(mine)
        cells.append(
            f"{f'{detector}/{len(mine)}':>5} {f'{oracle}/{len(mine)}':>5} "
            f"{median_text([d for d, _ in pairs]):>{width}} {median_text([o for _, o in pairs]):>7}"
        )
    return " ".join(cells)


def _incident_lines(results: Sequence[IncidentResult], scenario: Scenario) -> list[str]:
    offsets = {brand.name: brand.utc_offset_hours for brand in scenario.brands}
    lines = [
        f"{'crises and slow burns':<22} {'kind':<9} {'onset (UTC)':<16} {'local':<9} "
        f"{'ramp':>7} {'peak':>6} {'for':>5} {'detector':>8} {'oracle':>7} {'ratio':>6}"
    ]
    for result in results:
        incident = result.incident
        if incident.kind not in REQUIRED:
            continue
        local = incident.start + timedelta(hours=offsets.get(incident.brand, 0))
        ramp = "-"
        if incident.ramp:
            ramp = f"{_RAMP_SHAPES[incident.ramp_shape]} {duration_text(incident.ramp)}"
        ratio = delay_ratio(result)
        mark = " late" if ratio is not None and ratio > MAX_DELAY_RATIO else ""
        lines.append(
            f"{incident.brand[:22]:<22} {incident.kind:<9} {iso_utc(incident.start)[:16]:<16} "
            f"{local:%a %H:%M} {ramp:>7} {f'x{incident.intensity:g}':>6} "
            f"{duration_text(incident.duration):>5} {_delay(result.delay):>8} "
            f"{_delay(result.oracle_delay):>7} {'-' if ratio is None else f'{ratio:.2f}':>6}"
            f"{mark}"
        )
    return lines


def _counts(results: Sequence[IncidentResult]) -> str:
    detector = sum(r.detected for r in results)
    oracle = sum(r.oracle_delay is not None for r in results)
    return f"{detector} ({oracle})/{len(results)}"


def _spread(delays: Sequence[timedelta]) -> str:
    return f"{median_text(delays)} ({duration_text(max(delays))})" if delays else "-"


def _two_places(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _delay(delay: timedelta | None) -> str:
    return "missed" if delay is None else duration_text(delay)


def _rate(count: int, brand_weeks: float) -> str:
    return _two_places(per_brand_week(count, brand_weeks))
