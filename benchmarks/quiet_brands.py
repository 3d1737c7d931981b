"""Quiet local businesses: the replay's cost per mention when brands have 5 mentions a day.

    python -m benchmarks.quiet_brands [--brands 100] [--days 30]

Every brand has a 5-minute bucket to learn whether or not anything happened: 288 a day, about
58 per mention at 5 mentions a day, whatever the number of brands. A quiet brand dozes through
its buckets without mentions and learns each such stretch in one step when its next mention
comes. The goal compares the cost per mention of such a file (`buzzwatch replay`, a whole
process) with the cost per mention of the English benchmark file, replayed in the same run;
then the cost of one bucket, timed in this process on a tenth of the brands (median and 90th
percentile): a bucket closed alone costs its close, a bucket of a stretch its share of it.
The goal's 10,000 brands over 30 days is `--brands 10000` (86 million buckets).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from benchmarks.common import best_of, cached_file, engine_calls, mention_file
from pipeline.engine import Engine
from pipeline.records import read_jsonl
from pipeline.replay import replay

PER_DAY = 5
START = datetime(2026, 3, 2, tzinfo=UTC)
TEXTS = (
    "Lovely coffee at {b} this morning",
    "Waited 40 minutes at {b}, never again",
    "Is {b} open on Sunday?",
    "Super accueil chez {b}, merci !",
    "Service lamentable chez {b}, je suis déçu",
    "{b} a changé ses horaires ?",
)


def quiet_file(brands: int, days: int) -> Path:
    """`brands` businesses with 5 mentions a day each at random times, over `days` days."""

    def write(sink: IO[str]) -> None:
        _write_quiet(brands, days, sink)

    return cached_file(f"quiet-{brands}-{days}.jsonl", write)


def _write_quiet(brands: int, days: int, sink: IO[str]) -> None:
    rng = random.Random(1)
    start = int(START.timestamp())
    times = sorted(
        (start + rng.randrange(days * 86_400), b)
        for b in range(brands)
        for _ in range(PER_DAY * days)
    )
    for number, (at, b) in enumerate(times):
        brand = f"business-{b:05d}"
        record = {
            "id": f"q{number}",
            "brand": brand,
            "text": rng.choice(TEXTS).format(b=brand),
            "created_at": datetime.fromtimestamp(at, UTC).isoformat(),
            "source": "twitter",
        }
        sink.write(json.dumps(record) + "\n")


def replay_seconds(path: Path) -> float:
    command = [str(Path(sys.executable).with_name("buzzwatch")), "replay", str(path)]
    return best_of(
        1, lambda: subprocess.run([*command, "--no-progress"], check=True, capture_output=True)
    )


def bucket_costs(path: Path) -> list[float]:
    """Each bucket's cost, in seconds, over a replay of `path` in this process: a bucket
    closed alone costs its close; a bucket of a quiet stretch learnt in one step, its share
    of that step."""
    with engine_calls() as durations, path.open("rb") as source:
        replay(read_jsonl(source), Engine(), lambda event: None)
    costs = list(durations["close"])
    for seconds, buckets in zip(durations["_wake"], durations["stretch_buckets"], strict=True):
        costs += [seconds / buckets] * int(buckets)
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    quiet, english = quiet_file(args.brands, args.days), mention_file()
    sizes = {path: sum(1 for _ in path.open("rb")) for path in (quiet, english)}
    per_mention: dict[Path, list[float]] = {quiet: [], english: []}
    for _ in range(2):  # interleaved
        for path in (english, quiet):
            per_mention[path].append(replay_seconds(path) / sizes[path])
    q, e = min(per_mention[quiet]), min(per_mention[english])
    print(
        f"{args.brands} quiet brands over {args.days} days ({sizes[quiet]} mentions, "
        f"{args.brands * args.days * 288:,} buckets): {q * 1e6:.0f} µs a mention; the "
        f"English file {e * 1e6:.0f} µs a mention: {q / e:.1f}× its cost (goal: at most 2×; "
        "whole processes, best of 2)"
    )
    sample = quiet_file(max(1, args.brands // 10), args.days)
    durations = sorted(bucket_costs(sample))
    median = statistics.median(durations)
    p90 = durations[int(0.9 * (len(durations) - 1))]
    print(
        f"bucket learnt ({len(durations):,} buckets of {max(1, args.brands // 10)} brands, "
        "closed alone or as their share of a quiet stretch learnt in one step): median "
        f"{median * 1e6:.1f} µs, 90th percentile {p90 * 1e6:.1f} µs (goal: median at most 10 µs)"
    )


if __name__ == "__main__":
    main()
