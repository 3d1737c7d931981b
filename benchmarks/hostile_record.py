"""Worst per-record cost of hostile records (1 MB texts, emoji floods) through decode + engine.

Prints each record's time next to a tweet-sized record's, measured in the same run:
    python -m benchmarks.hostile_record
"""

from __future__ import annotations

import json
from collections.abc import Callable

from benchmarks.common import best_of
from pipeline.engine import Engine
from pipeline.models import Mention
from pipeline.records import decode_record
from pipeline.sentiment import SentimentRouter

MEGABYTE = 1_000_000
RUNS = 5


def record(text: str, number: int) -> bytes:
    mention = {"id": f"h{number}", "created_at": "2026-03-02T10:00:00Z", "brand": "acme"}
    return json.dumps({**mention, "text": text}, ensure_ascii=False).encode()


def main() -> None:
    engine = Engine(scorer=SentimentRouter(cache_chars=0))  # every record scored anew
    counter = iter(range(10**9))

    def through(raw: bytes) -> Callable[[], object]:
        def run() -> object:
            decoded = decode_record(raw.replace(b'"h', f'"h{next(counter)}-'.encode(), 1))
            assert isinstance(decoded, Mention), decoded
            return engine.add(decoded)

        return run

    tweet = best_of(RUNS, through(record("Worst service ever @acme, never again 😡 #fail", 0)))
    print(f"tweet-sized record: {tweet * 1e3:.3f} ms")
    floods = {
        "1 MB of emoji": "😀" * (MEGABYTE // 4),
        "1 MB of emoji and spaces": "😀 " * (MEGABYTE // 5),
        "1 MB of words": "awful " * (MEGABYTE // 6),
        "1 MB of one character": "a" * MEGABYTE,
    }
    worst = 0.0
    for name, text in floods.items():
        seconds = best_of(RUNS, through(record(text, 1)))
        worst = max(worst, seconds)
        print(f"{name}: {seconds * 1e3:.1f} ms ({seconds / tweet:.0f}× a tweet)")
    print(f"worst: {worst * 1e3:.1f} ms per record")


if __name__ == "__main__":
    main()
