"""`buzzwatch score`: texts or JSONL mentions from stdin, their sentiment scores to stdout."""

from __future__ import annotations

import argparse
import sys

from buzzwatch.cli.common import SubParsers


def add_command(commands: SubParsers) -> None:
    score = commands.add_parser(
        "score",
        help="score texts (one per line) or JSONL mentions from stdin; JSONL scores to stdout",
    )
    score.add_argument(
        "--lang",
        choices=["auto", "en", "fr"],
        default="auto",
        help="auto (default): a mention's own lang, else the language detected in the text",
    )
    score.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.scoring import score_lines

    errors = score_lines(sys.stdin.buffer, sys.stdout, None if args.lang == "auto" else args.lang)
    for line, reason in errors:
        print(f"buzzwatch score: line {line}: {reason}", file=sys.stderr)
    return 1 if errors else 0
