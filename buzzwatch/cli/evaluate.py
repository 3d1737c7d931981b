"""`buzzwatch evaluate nab|crisis|sentiment`: the detector and the scorers on labelled data."""

from __future__ import annotations

from buzzwatch.cli import evaluate_crisis, evaluate_nab, evaluate_sentiment
from buzzwatch.cli.common import SubParsers


def add_command(commands: SubParsers) -> None:
    evaluate = commands.add_parser("evaluate", help="score the detector on a labelled benchmark")
    benchmarks = evaluate.add_subparsers(required=True, metavar="BENCHMARK")
    for benchmark in (evaluate_nab, evaluate_crisis, evaluate_sentiment):
        benchmark.add_to(benchmarks)
