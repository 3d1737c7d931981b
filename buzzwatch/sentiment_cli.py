"""The `evaluate sentiment` command: French scorers on labelled brand mentions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from buzzwatch.crisis_cli import evaluate_group
from pipeline.sentiment import Scorer, french_vader, vadersentiment_fr
from pipeline.sentiment_eval import LABELS, SPLITS, Judgement, judge, read_labelled

HELP = "macro-F1 of the French scorer and of vadersentiment-fr on labelled mentions"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `evaluate sentiment` (the `evaluate` group must exist)."""
    group = evaluate_group(commands)
    if group is None:
        raise RuntimeError("`evaluate sentiment` needs the `evaluate` command registered first")
    parser = group.add_parser("sentiment", help=HELP)
    parser.add_argument(
        "--data",
        action="extend",
        nargs="+",
        metavar="SET",
        help=f"shipped splits ({', '.join(SPLITS)}) or JSONL files of text, label, kind "
        "(default: both splits)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    scorers: dict[str, Scorer] = {
        "buzzwatch": french_vader(),
        "vadersentiment-fr": vadersentiment_fr(),
    }
    for source in args.data or SPLITS:
        try:
            items = read_labelled(source)
        except (OSError, ValueError) as error:
            print(f"evaluate sentiment: {source}: {error}", file=sys.stderr)
            return 2
        results = {name: judge(_compound(scorer), items) for name, scorer in scorers.items()}
        print(f"{source}: {len(items)} texts")
        print(_table(results))
    return 0


def _compound(scorer: Scorer) -> Callable[[str], float]:
    return lambda text: scorer.polarity(text).compound


def _table(results: dict[str, Judgement]) -> str:
    kinds = sorted({kind for j in results.values() for kind in j.by_kind})
    head = ["scorer", "macro-F1", "accuracy", *(f"F1 {label}" for label in LABELS), *kinds]
    rows = [
        [name, f"{j.macro_f1:.3f}", f"{j.accuracy:.3f}"]
        + [f"{j.f1[label]:.2f}" for label in LABELS]
        + [f"{j.by_kind.get(kind, 0.0):.2f}" for kind in kinds]
        for name, j in results.items()
    ]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    return "\n".join([*lines, *(" | ".join(row) for row in rows)]) + "\n"
