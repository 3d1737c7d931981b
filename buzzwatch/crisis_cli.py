"""The `evaluate crisis` command: the labelled synthetic crisis stream through the engine."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from tqdm import tqdm

from buzzwatch.evaluation.crisis import evaluate, goal_failures
from pipeline.settings import detection_settings, load_config
from pipeline.synthetic import BrandProfile, evaluation_scenario, expected_mentions, generate

if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
HELP = "score the detector on the labelled synthetic crisis stream"


def add_command(commands: SubParsers) -> None:
    """Register `evaluate crisis`, or `evaluate-crisis` when there is no `evaluate` group."""
    group = evaluate_group(commands)
    if group is None:
        parser = commands.add_parser("evaluate-crisis", help=HELP)
    else:
        parser = group.add_parser("crisis", help=HELP)
    parser.add_argument("--weeks", type=int, default=4, help="length of the stream (default 4)")
    parser.add_argument("--days", type=int, help="length in days instead (short runs)")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every volume (quick runs; default 1)"
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--json", type=Path, help="also write the full report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = detection_settings(load_config(args.config))
    scenario = evaluation_scenario(args.weeks, args.seed, days=args.days, scale=args.scale)
    began = time.monotonic()
    counts: list[int] = []
    with tqdm(
        total=round(expected_mentions(scenario)),
        desc="generate",
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
        desc="replay",
        unit=" mentions",
        unit_scale=True,
        mininterval=0.5,
        disable=args.no_progress,
        file=sys.stderr,
    ) as mentions:
        report = evaluate(scenario, settings, mentions=mentions)
    seconds = time.monotonic() - began
    print(report.table(), end="")
    failures = goal_failures(report)
    print("goals: " + ("all met" if not failures else "; ".join(failures)))
    print(f"evaluate crisis: {sum(counts):,} mentions generated and replayed in {seconds:.1f} s")
    if args.json:
        document = {
            **report.to_dict(),
            "goals_failed": failures,
            "settings": settings.model_dump(mode="json"),
            "wall_seconds": round(seconds, 1),
        }
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
