"""`buzzwatch evaluate crisis`: labelled synthetic crisis streams through the engine, beside
the oracle; with `--cv`, detection settings chosen on some streams and reported on others."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Final, TypeAlias

from tqdm import tqdm

from buzzwatch.cli.common import SubParsers, configured, fail
from buzzwatch.evaluation.crisis import CrisisReport, evaluate, goal_failures, negative_scorer
from buzzwatch.evaluation.crisis_cv import RULE, Summary, choose, summarise
from buzzwatch.evaluation.crisis_cv_table import Group, candidates_table, samples_table, seeds_text
from buzzwatch.evaluation.nab_cv import Candidate, GridError, read_grid
from buzzwatch.evaluation.oracle import CALIBRATION_BRAND_WEEKS, RHOS, Calibration, calibrate
from buzzwatch.evaluation.oracle_table import oracle_section, pooled_goal_failures, seeds_summary
from pipeline.models import Mention
from pipeline.sentiment import SentimentRouter
from pipeline.settings import DetectionSettings, detection_settings
from pipeline.synthetic import (
    BrandProfile,
    Scenario,
    evaluation_scenario,
    expected_mentions,
    generate,
)
from pipeline.synthetic_ramped import ramped_scenario

HELP = "score the detector on a labelled synthetic crisis stream, beside the oracle"
# name: (builder, default weeks); ramped crises build up over tens of minutes, step ones do not
SCENARIOS: Final[dict[str, tuple[Callable[..., Scenario], int]]] = {
    "ramped": (ramped_scenario, 2),
    "step": (evaluation_scenario, 4),
}
GRID: Final = Path(__file__).resolve().parents[2] / "config" / "crisis-grid.toml"
CHOOSE_ON: Final = "ramped:1-2"
REPORT_ON: Final = "ramped:3-5,step:1-3"
Streams: TypeAlias = list[tuple[str, list[int]]]  # --choose-on, --report-on: (scenario, seeds)


def add_to(benchmarks: SubParsers) -> None:
    """Register `evaluate crisis` in the `evaluate` group."""
    parser = benchmarks.add_parser("crisis", help=HELP)
    parser.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        help="ramped: crises that build up over 10-90 minutes, 6 brands (default); "
        "step: crises that start at once, 8 brands",
    )
    parser.add_argument(
        "--weeks", type=int, help="length of the stream (default: ramped 2, step 4)"
    )
    parser.add_argument("--days", type=int, help="length in days instead (short runs)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, help="scenario seed (default 1)")
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
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a goal is not met (with --cv: out of sample, pooled)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    cv = parser.add_argument_group(
        "cross-validation",
        "--cv runs every candidate of a grid on the choosing streams, chooses one by a stated "
        "rule, and reports it there (in sample) and on the report streams (out of sample); "
        "streams are scenario:seeds, e.g. ramped:1-2 or ramped:3-5,step:1-3; --weeks, --days, "
        "--scale and the oracle's options apply to all of them",
    )
    cv.add_argument("--cv", action="store_true", help="cross-validate the detection settings")
    cv.add_argument(
        "--grid",
        type=Path,
        metavar="FILE",
        help="[[candidate]] overrides of [detection] (default: config/crisis-grid.toml)",
    )
    cv.add_argument(
        "--choose-on",
        type=_streams,
        metavar="SPEC",
        help=f"streams the candidate is chosen on (default {CHOOSE_ON}; each is generated "
        "once and held in memory while every candidate replays it)",
    )
    cv.add_argument(
        "--report-on",
        type=_streams,
        metavar="SPEC",
        help=f"streams the chosen candidate is reported on (default {REPORT_ON})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.cv:
        return _cross_validate(args)
    if args.grid or args.choose_on or args.report_on:
        return fail("evaluate crisis", "--grid, --choose-on and --report-on need --cv")
    with configured(args.config) as config:
        settings = detection_settings(config)
    name = args.scenario or "ramped"
    seeds = args.seeds or [1 if args.seed is None else args.seed]
    scenarios = [_scenario(name, seed, args) for seed in seeds]
    began = time.monotonic()
    calibration = _calibrate(scenarios[0], settings, args)
    reports, documents, mentions = [], [], 0
    for scenario in scenarios:
        report, count = _evaluate(scenario, settings, calibration, f"seed {scenario.seed}: ", args)
        mentions += count
        failures = goal_failures(report)
        print(report.table())
        print(oracle_section(report, scenario))
        print(f"goals (seed {scenario.seed}): " + ("; ".join(failures) or "all met"))
        print()
        reports.append(report)
        documents.append({**report.to_dict(), "goals_failed": failures})
    if len(reports) > 1:
        print(f"Seeds {', '.join(map(str, seeds))} ({name}), detector vs oracle:")
        print()
        print(seeds_summary(reports))
    failures = pooled_goal_failures(reports)  # one seed's own when there is one
    seconds = time.monotonic() - began
    print(f"evaluate crisis: {mentions:,} mentions generated and replayed in {seconds:.1f} s")
    if args.json:  # one seed's document, or every seed's with the pooled goals
        every = {"seeds": seeds, "runs": documents, "pooled_goals_failed": failures}
        document = {
            **(documents[0] if len(documents) == 1 else every),
            "scenario": name,
            "settings": settings.model_dump(mode="json"),
            "wall_seconds": round(seconds, 1),
        }
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"evaluate crisis: report written to {args.json}")
    return 1 if args.check and failures else 0


def _cross_validate(args: argparse.Namespace) -> int:
    """`evaluate crisis --cv`: choose a candidate on some streams, report it on others."""
    given = {"--scenario": args.scenario, "--seed": args.seed, "--seeds": args.seeds}
    clashing = [flag for flag, value in given.items() if value is not None]
    if clashing:
        return fail(
            "evaluate crisis", f"{' and '.join(clashing)}: not with --cv (--choose-on, --report-on)"
        )
    choose_on: Streams = args.choose_on or _streams(CHOOSE_ON)
    report_on: Streams = args.report_on or _streams(REPORT_ON)
    both = sorted(set(_pairs(choose_on)) & set(_pairs(report_on)))
    if both:
        streams = ", ".join(f"{name} seed {seed}" for name, seed in both)
        return fail(
            "evaluate crisis",
            f"{streams}: both chosen on and reported on (out of sample means other)",
        )
    with configured(args.config) as config:
        settings = detection_settings(config)
    grid: Path = args.grid or GRID
    try:
        candidates = read_grid(grid, settings)
    except GridError as exc:
        return fail("evaluate crisis", str(exc))
    began = time.monotonic()
    print(
        f"Cross-validation of the detection settings: {len(candidates)} candidates of {grid}, "
        f"chosen on {_label(choose_on)}, reported on {_label(report_on)}"
    )
    print(textwrap.fill(f"rule: {RULE}", width=100))
    print()
    calibrations: dict[str, Calibration] = {}

    def calibration(scenario: Scenario, name: str) -> Calibration:
        """The oracle of the scenario's brands, calibrated once per scenario kind."""
        if name not in calibrations:
            calibrations[name] = _calibrate(scenario, settings, args, f"{name}: ")
        return calibrations[name]

    runs: list[list[CrisisReport]] = [[] for _ in candidates]  # [candidate][choosing stream]
    mentions = 0
    for name, seed in _pairs(choose_on):
        scenario = _scenario(name, seed, args)
        found, count = _candidates_on(scenario, name, candidates, calibration(scenario, name), args)
        mentions += count
        for mine, report in zip(runs, found, strict=True):
            mine.append(report)
    summaries = [summarise(reports) for reports in runs]
    choice = choose(summaries)
    chosen = candidates[choice.index]
    print(f"Every candidate on the choosing streams ({_label(choose_on)}), pooled:")
    print()
    print(candidates_table([c.name for c in candidates], runs, summaries, choice))
    how = "by the rule" if choice.qualifying else "none qualified: fewest false alerts"
    print(f"chosen ({how}): #{choice.index + 1} {chosen.name}")
    print()
    inside = _groups(choose_on, runs[choice.index])
    reported: list[CrisisReport] = []
    for name, seed in _pairs(report_on):
        scenario = _scenario(name, seed, args)
        label = f"{name} seed {seed}: "
        report, count = _evaluate(
            scenario, chosen.settings, calibration(scenario, name), label, args
        )
        mentions += count
        reported.append(report)
    outside = _groups(report_on, reported)
    print(f"#{choice.index + 1} in sample (chosen on) and out of sample (reported on):")
    print()
    print(samples_table(inside, outside))
    failures = pooled_goal_failures(reported)
    seconds = time.monotonic() - began
    replays = len(candidates) * len(runs[0]) + len(reported)
    print(
        f"evaluate crisis --cv: {mentions:,} mentions generated, {replays} replays, "
        f"in {seconds:.1f} s"
    )
    if args.json:
        document = {
            "grid": str(grid),
            "config": None if args.config is None else str(args.config),
            "rule": RULE,
            "streams": {"weeks": args.weeks, "days": args.days, "scale": args.scale},
            "oracle": {"brand_weeks": args.oracle_weeks, "rhos": list(args.oracle_rho)},
            "choose_on": [{"scenario": name, "seeds": seeds} for name, seeds in choose_on],
            "report_on": [{"scenario": name, "seeds": seeds} for name, seeds in report_on],
            "candidates": [
                _candidate_document(candidate, summary, reports, choose_on)
                for candidate, summary, reports in zip(candidates, summaries, runs, strict=True)
            ],
            "chosen": {
                "name": chosen.name,
                "number": choice.index + 1,
                "by_rule": bool(choice.qualifying),
                "qualifying": [index + 1 for index in choice.qualifying],
                "settings": chosen.settings.model_dump(mode="json"),
            },
            "in_sample": _sample_document(inside),
            "out_of_sample": _sample_document(outside),
            "wall_seconds": round(seconds, 1),
        }
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"evaluate crisis --cv: report written to {args.json}")
    return 1 if args.check and failures else 0


def _calibrate(
    scenario: Scenario, settings: DetectionSettings, args: argparse.Namespace, label: str = ""
) -> Calibration:
    """The oracle of the scenario's brands (every seed has the same brands)."""
    with tqdm(
        total=len(scenario.brands),
        desc=label + "oracle calibration",
        unit=" brands",
        disable=args.no_progress,
        file=sys.stderr,
    ) as progress:
        return calibrate(
            scenario,
            negative_scorer(settings),
            rhos=args.oracle_rho,
            brand_weeks=args.oracle_weeks,
            on_brand=lambda _: progress.update(),
        )


def _evaluate(
    scenario: Scenario,
    settings: DetectionSettings,
    calibration: Calibration,
    label: str,
    args: argparse.Namespace,
) -> tuple[CrisisReport, int]:
    """One stream's report, and how many mentions it generated, with progress bars."""
    stream, count = _draft(scenario, label, args)
    return _replay(scenario, settings, calibration, stream, count, label + "replay", args), count


def _mentions_bar(
    stream: Iterable[Mention], count: int, desc: str, args: argparse.Namespace
) -> tqdm[Mention]:
    """A progress bar over `count` mentions of `stream`, on stderr."""
    return tqdm(
        stream,
        total=count,
        desc=desc,
        unit=" mentions",
        unit_scale=True,
        mininterval=0.5,
        disable=args.no_progress,
        file=sys.stderr,
    )


def _draft(
    scenario: Scenario, label: str, args: argparse.Namespace
) -> tuple[Iterator[Mention], int]:
    """The scenario's stream, its brands drafted (the costly part), and its length."""
    counts: list[int] = []
    with tqdm(
        total=round(expected_mentions(scenario)),
        desc=label + "generate",
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
    return stream, sum(counts)


def _replay(
    scenario: Scenario,
    settings: DetectionSettings,
    calibration: Calibration,
    stream: Iterable[Mention],
    count: int,
    desc: str,
    args: argparse.Namespace,
    scorer: SentimentRouter | None = None,
) -> CrisisReport:
    """`evaluate` on `stream`, `count` mentions of the scenario, with a progress bar."""
    with _mentions_bar(stream, count, desc, args) as mentions:
        return evaluate(
            scenario, settings, mentions=mentions, calibration=calibration, scorer=scorer
        )


def _candidates_on(
    scenario: Scenario,
    name: str,
    candidates: Sequence[Candidate],
    calibration: Calibration,
    args: argparse.Namespace,
) -> tuple[list[CrisisReport], int]:
    """Every candidate's report on one stream, generated once and held in memory meanwhile,
    and its length; candidates with the same negative threshold share a scorer (each text is
    scored once)."""
    label = f"{name} seed {scenario.seed}: "
    stream, count = _draft(scenario, label, args)
    with _mentions_bar(stream, count, label + "build", args) as writing:
        mentions = list(writing)
    scorers: list[SentimentRouter] = []
    reports = []
    for number, candidate in enumerate(candidates, start=1):
        settings = candidate.settings
        scorer = next((s for s in scorers if s.serves(settings)), None)
        if scorer is None:
            scorer = negative_scorer(settings)
            scorers.append(scorer)
        desc = f"{label}candidate {number}/{len(candidates)}"
        reports.append(
            _replay(scenario, settings, calibration, mentions, len(mentions), desc, args, scorer)
        )
    return reports, len(mentions)


def _groups(streams: Streams, reports: Sequence[CrisisReport]) -> list[Group]:
    """`reports`, one per stream of `streams` in order, grouped by scenario."""
    rest = iter(reports)
    return [Group(name, tuple(seeds), tuple(islice(rest, len(seeds)))) for name, seeds in streams]


def _candidate_document(
    candidate: Candidate, summary: Summary, reports: Sequence[CrisisReport], streams: Streams
) -> dict[str, Any]:
    return {
        "name": candidate.name,
        "overrides": candidate.overrides,
        "recall": summary.recall,
        "false_alerts_per_brand_week": summary.false_per_brand_week,
        "median_crisis_delay_ratio": summary.delay_ratio,
        "qualifies": summary.qualifies,
        "runs": [
            {
                "scenario": name,
                "seed": seed,
                "overall": report.overall.to_dict(),
                "goals_failed": goal_failures(report),
            }
            for (name, seed), report in zip(_pairs(streams), reports, strict=True)
        ],
    }


def _sample_document(groups: Sequence[Group]) -> dict[str, Any]:
    """The chosen candidate's full reports on a sample's streams, and its pooled goals."""
    reports = [report for group in groups for report in group.reports]
    return {
        "runs": [
            {"scenario": group.scenario, **report.to_dict(), "goals_failed": goal_failures(report)}
            for group in groups
            for report in group.reports
        ],
        "pooled_goals_failed": pooled_goal_failures(reports),
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


def _streams(text: str) -> Streams:
    """`ramped:1-2` or `ramped:3-5,step:1,4`: each scenario's seeds, in the order given (seeds
    after a comma go on with the last scenario named)."""
    parts: dict[str, list[str]] = {}
    for part in text.split(","):
        name, colon, seeds = part.rpartition(":")
        if colon:
            if name not in SCENARIOS:
                raise argparse.ArgumentTypeError(
                    f"unknown scenario {name!r} (one of {', '.join(SCENARIOS)})"
                )
            if name in parts:
                raise argparse.ArgumentTypeError(f"{name} named twice")
            parts[name] = []
        elif not parts:
            raise argparse.ArgumentTypeError("streams as scenario:seeds, e.g. ramped:1-2")
        parts[name or list(parts)[-1]].append(seeds)
    return [(name, _seeds(",".join(seeds))) for name, seeds in parts.items()]


def _pairs(streams: Streams) -> list[tuple[str, int]]:
    """(scenario, seed) of each stream, in order."""
    return [(name, seed) for name, seeds in streams for seed in seeds]


def _label(streams: Streams) -> str:
    return ", ".join(f"{name} {seeds_text(seeds)}" for name, seeds in streams)


def _scenario(name: str, seed: int, args: argparse.Namespace) -> Scenario:
    """The `name` scenario of `seed`, as long and as large as the options say."""
    build, default_weeks = SCENARIOS[name]
    weeks = args.weeks if args.weeks is not None else default_weeks
    return build(weeks, seed, days=args.days, scale=args.scale)


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
