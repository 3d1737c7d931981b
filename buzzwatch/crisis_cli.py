"""The `evaluate crisis` command: labelled synthetic crisis streams through the engine, beside
the oracle."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from tqdm import tqdm

from buzzwatch.evaluation.crisis import CrisisReport, evaluate, goal_failures, negative_scorer
from buzzwatch.evaluation.oracle import (
    CALIBRATION_BRAND_WEEKS,
    RHOS,
    BrandCalibration,
    Calibration,
    calibrate,
)
from buzzwatch.evaluation.oracle_table import oracle_section, pooled_goal_failures, seeds_summary
from pipeline.settings import DetectionSettings, detection_settings, load_config
from pipeline.synthetic import (
    BrandProfile,
    Scenario,
    evaluation_scenario,
    expected_mentions,
    generate,
)
from pipeline.synthetic_ramped import ramped_scenario

if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
HELP = "score the detector on a labelled synthetic crisis stream, beside the oracle"
# name: (builder, default weeks); ramped crises build up over tens of minutes, step ones do not
SCENARIOS: Final[dict[str, tuple[Callable[..., Scenario], int]]] = {
    "ramped": (ramped_scenario, 2),
    "step": (evaluation_scenario, 4),
}


def add_command(commands: SubParsers) -> None:
    """Register `evaluate crisis`, or `evaluate-crisis` when there is no `evaluate` group."""
    group = evaluate_group(commands)
    if group is None:
        parser = commands.add_parser("evaluate-crisis", help=HELP)
    else:
        parser = group.add_parser("crisis", help=HELP)
    parser.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default="ramped",
        help="ramped: crises that build up over 10-90 minutes, 6 brands (default); "
        "step: crises that start at once, 8 brands",
    )
    parser.add_argument(
        "--weeks", type=int, help="length of the stream (default: ramped 2, step 4)"
    )
    parser.add_argument("--days", type=int, help="length in days instead (short runs)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, default=1, help="scenario seed (default 1)")
    seeds.add_argument(
        "--seeds",
        type=_seeds,
        help="several seeds, e.g. 1-3 or 1,4,7: a report per seed and a pooled summary",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every volume (quick runs; default 1)"
    )
    parser.add_argument(
        "--oracle-weeks",
        type=_positive,
        default=CALIBRATION_BRAND_WEEKS,
        help="incident-free brand-weeks per brand the oracle's threshold is calibrated on "
        f"(default {CALIBRATION_BRAND_WEEKS})",
    )
    parser.add_argument(
        "--oracle-rho",
        type=_rhos,
        default=RHOS,
        help="the rate increase the oracle's CUSUMs are tuned to, or several: 2,4,8 "
        f"(a pair of CUSUMs for each; default {','.join(f'{rho:g}' for rho in RHOS)})",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--json", type=Path, help="also write the full report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = detection_settings(load_config(args.config))
    build, default_weeks = SCENARIOS[args.scenario]
    weeks = args.weeks if args.weeks is not None else default_weeks
    seeds = args.seeds or [args.seed]
    scenarios = [build(weeks, seed, days=args.days, scale=args.scale) for seed in seeds]
    began = time.monotonic()
    calibration = _calibrate(scenarios[0], settings, args)
    reports, documents, mentions = [], [], 0
    for scenario in scenarios:
        report, count = _evaluate(scenario, settings, calibration, args)
        mentions += count
        failures = goal_failures(report)
        print(report.table())
        print(oracle_section(report, scenario))
        print(f"goals (seed {scenario.seed}): " + ("; ".join(failures) or "all met"))
        print()
        reports.append(report)
        documents.append({**report.to_dict(), "goals_failed": failures})
    if len(reports) > 1:
        print(f"Seeds {', '.join(map(str, seeds))} ({args.scenario}), detector vs oracle:")
        print()
        print(seeds_summary(reports))
    failures = pooled_goal_failures(reports)  # one seed's own when there is one
    seconds = time.monotonic() - began
    print(f"evaluate crisis: {mentions:,} mentions generated and replayed in {seconds:.1f} s")
    if args.json:
        extra = {
            "scenario": args.scenario,
            "settings": settings.model_dump(mode="json"),
            "wall_seconds": round(seconds, 1),
        }
        document = _document(documents, reports, failures, extra)
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"evaluate crisis: report written to {args.json}")
    return 1 if args.check and failures else 0


def evaluate_group(commands: SubParsers) -> SubParsers | None:
    """The sub-commands of an existing `evaluate` command, if another module registered one."""
    evaluate_parser = commands.choices.get("evaluate")
    if evaluate_parser is None:
        return None
    for action in evaluate_parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _calibrate(
    scenario: Scenario, settings: DetectionSettings, args: argparse.Namespace
) -> Calibration:
    """The oracle of the scenario's brands (every seed has the same brands)."""
    with tqdm(
        total=len(scenario.brands),
        desc="oracle calibration",
        unit=" brands",
        disable=args.no_progress,
        file=sys.stderr,
    ) as progress:

        def done(_: BrandCalibration) -> None:
            progress.update()

        return calibrate(
            scenario,
            negative_scorer(settings),
            rhos=args.oracle_rho,
            brand_weeks=args.oracle_weeks,
            on_brand=done,
        )


def _evaluate(
    scenario: Scenario,
    settings: DetectionSettings,
    calibration: Calibration,
    args: argparse.Namespace,
) -> tuple[CrisisReport, int]:
    """One seed's report, and how many mentions it generated, with progress bars."""
    seed = f"seed {scenario.seed}: "
    counts: list[int] = []
    with tqdm(
        total=round(expected_mentions(scenario)),
        desc=seed + "generate",
        unit=" mentions",
        unit_scale=True,
        disable=args.no_progress,
        file=sys.stderr,
    ) as drafting:

        def drafted(_: BrandProfile, count: int) -> None:
            counts.append(count)
            drafting.update(count)

        stream = generate(scenario, on_brand=drafted)
        drafting.total = sum(counts)
        drafting.refresh()
    with tqdm(
        stream,
        total=sum(counts),
        desc=seed + "replay",
        unit=" mentions",
        unit_scale=True,
        mininterval=0.5,
        disable=args.no_progress,
        file=sys.stderr,
    ) as mentions:
        report = evaluate(scenario, settings, mentions=mentions, calibration=calibration)
    return report, sum(counts)


def _document(
    documents: list[dict[str, Any]],
    reports: list[CrisisReport],
    failures: list[str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The JSON report: one seed's document, or every seed's with the pooled goals."""
    if len(documents) == 1:
        return {**documents[0], **extra}
    return {
        "seeds": [report.seed for report in reports],
        "runs": documents,
        "pooled_goals_failed": failures,
        **extra,
    }


def _seed(text: str) -> int:
    seed = int(text)
    if seed < 0:
        raise argparse.ArgumentTypeError("a seed is a whole number >= 0")
    return seed


def _seeds(text: str) -> list[int]:
    """`1-3` or `1,4,7` (or both: `1-3,7`) as a list of distinct seeds in order."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            low = _seed(first)
            high = _seed(last) if last else low
            seeds += [seed for seed in range(low, high + 1) if seed not in seeds]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"seeds as 1-3 or 1,4,7: {error}") from error
    if not seeds:
        raise argparse.ArgumentTypeError("no seed in the range")
    return seeds


def _rhos(text: str) -> tuple[float, ...]:
    """`2` or `2,4,8`: rate increases above 1."""
    try:
        rhos = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"rate increases as 2 or 2,4,8: {error}") from error
    if not all(rho > 1 for rho in rhos):
        raise argparse.ArgumentTypeError("every rate increase must be above 1")
    return rhos


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
