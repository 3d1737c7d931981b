"""`buzzwatch replay` against a naive loop (json.loads + vaderSentiment per line), end to end
(each a fresh process, as a user runs it), on the same file, in the same run: the English
file of 100,000 mentions, then the French-heavy one, each also with `--workers 2`. Then where
the replay's time goes, in this process: decoding and validating the records, plus scoring
them, plus the engine (bookkeeping and detection).

    python -m benchmarks.replay
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import best_of, engine_calls, french_heavy_file, mention_file
from pipeline.engine import Engine
from pipeline.models import Mention
from pipeline.records import read_jsonl
from pipeline.replay import replay
from pipeline.sentiment import SentimentRouter

RUNS = 3
LABELS = {
    "close": "bucket closes",
    "check_early": "early checks",
    "_wake": "quiet stretches learnt in one step",
}
NAIVE = """
import json, sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
analyzer = SentimentIntensityAnalyzer()
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        analyzer.polarity_scores(json.loads(line)["text"])
"""


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def compare(path: Path, runs: int) -> None:
    """The naive loop, `replay` and `replay --workers 2` on `path`, interleaved `runs` times
    so that all see the machine in the same moods; best of each."""
    count = sum(1 for _ in path.open("rb"))
    buzzwatch = [str(Path(sys.executable).with_name("buzzwatch")), "replay", str(path)]
    commands = {
        "naive": [sys.executable, "-c", NAIVE, str(path)],
        "replay": [*buzzwatch, "--no-progress"],
        "workers": [*buzzwatch, "--no-progress", "--workers", "2"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            run(command)
            times[name].append(time.perf_counter() - started)
    naive, one, two = (min(times[name]) for name in commands)
    print(
        f"{count} mentions ({path.name}): naive loop {naive:.2f} s ({count / naive:,.0f}/s), "
        f"buzzwatch replay {one:.2f} s ({count / one:,.0f}/s): {naive / one:.2f}× the naive "
        f"loop's speed; --workers 2 {two:.2f} s: {one / two:.2f}× one process "
        f"(whole processes, best of {runs})"
    )


def main() -> None:
    english, french = mention_file(), french_heavy_file()
    compare(english, RUNS)
    compare(french, 2)
    stages(english)
    engine_parts(french)


def engine_parts(path: Path) -> None:
    """The bucket closes' and early checks' share of a replay of `path`, in this process."""
    started = time.perf_counter()
    with engine_calls() as durations, path.open("rb") as source:
        replay(read_jsonl(source), Engine(), lambda event: None)
    whole = time.perf_counter() - started
    parts = ", ".join(
        f"{LABELS[name]} {sum(times):.1f} s ({len(times):,} at "
        f"{sum(times) / len(times) * 1e6:.0f} µs)"
        for name, times in durations.items()
        if name in LABELS and times
    )
    print(f"{path.name} in one process: {whole:.1f} s, of which {parts}")


def stages(path: Path) -> None:
    """Time the replay's stages cumulatively: decode, decode + score, the whole replay."""

    def decode() -> None:
        for _ in read_jsonl(path.open("rb")):
            pass

    def score() -> None:
        router = SentimentRouter()
        for _, record in read_jsonl(path.open("rb")):
            if isinstance(record, Mention):
                router.polarity(record.text, record.lang)

    def whole() -> None:
        replay(read_jsonl(path.open("rb")), Engine(), lambda event: None)

    decoded, scored, replayed = (best_of(RUNS, stage) for stage in (decode, score, whole))
    print(
        f"in one process: decoding {decoded:.2f} s, scoring {scored - decoded:.2f} s, "
        f"the engine {replayed - scored:.2f} s ({replayed / decoded:.1f}× decoding alone)"
    )


if __name__ == "__main__":
    main()
