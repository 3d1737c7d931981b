"""`buzzwatch generate`: a synthetic mention stream written as JSONL."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers


def add_command(commands: SubParsers) -> None:
    gen = commands.add_parser("generate", help="write a synthetic mention stream (JSONL)")
    gen.add_argument("--out", type=Path, required=True, help="JSONL file; .gz compresses")
    gen.add_argument("--scenario", choices=["demo", "load"], default="load")
    gen.add_argument("--mentions", type=int, default=100_000, help="load: total mentions")
    gen.add_argument("--brands", type=int, default=50, help="load: number of brands")
    gen.add_argument("--days", type=int, default=7, help="load: days of stream")
    gen.add_argument("--seed", type=int, default=1, help="load: random seed")
    gen.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.synthetic import (
        demo_scenario,
        generate,
        load_scenario,
        write_jsonl,
        write_jsonl_gz,
    )

    if args.scenario == "demo":
        scenario = demo_scenario()
    else:
        scenario = load_scenario(args.mentions, args.brands, args.days, args.seed)
    mentions = generate(scenario)
    if args.out.suffix == ".gz":
        count = write_jsonl_gz(mentions, args.out)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            count = write_jsonl(mentions, out)
    print(f"generate: {count} mentions written to {args.out}")
    return 0
