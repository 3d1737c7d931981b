"""`buzzwatch replay` against a naive loop (json.loads + vaderSentiment per line), end to end
(each a fresh process, as a user runs it), on the same 100,000-mention file, in the same run.
Then where the replay's time goes, in this process: decoding and validating the records, plus
scoring them, plus the engine (bookkeeping and detection).

    python -m benchmarks.replay
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.common import best_of, mention_file
from pipeline.engine import Engine
from pipeline.models import Mention
from pipeline.records import read_jsonl
from pipeline.replay import replay
from pipeline.sentiment import SentimentRouter

RUNS = 3
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


def main() -> None:
    path = mention_file()
    count = sum(1 for _ in path.open("rb"))
    buzzwatch = [str(Path(sys.executable).with_name("buzzwatch")), "replay", str(path)]
    naive = [sys.executable, "-c", NAIVE, str(path)]
    naive_times, replay_times = [], []
    for _ in range(RUNS):  # interleaved, so that both see the machine in the same moods
        naive_times.append(best_of(1, lambda: run(naive)))
        replay_times.append(best_of(1, lambda: run(buzzwatch)))
    slow, quick = min(naive_times), min(replay_times)
    print(
        f"{count} mentions ({path.name}): naive loop {slow:.2f} s ({count / slow:,.0f}/s), "
        f"buzzwatch replay {quick:.2f} s ({count / quick:,.0f}/s): {slow / quick:.2f}× the "
        "naive loop's speed (both whole processes, best of 3)"
    )

    stages(path)


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
