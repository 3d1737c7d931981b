"""Every benchmark, one after the other: `python -m benchmarks` (or `make bench`).

Each prints ratios measured in the same run against its reference; see each module.
"""

from __future__ import annotations

import time

from benchmarks import (
    feeds,
    hostile_record,
    ingest_load,
    kafka_throughput,
    memory,
    quiet_brands,
    replay,
    scorer,
)

SUITE = (
    ("scorer vs vaderSentiment", scorer.main),
    ("replay vs a naive loop", replay.main),
    ("quiet brands: cost per mention and per bucket close", quiet_brands.main),
    ("memory per 1,000 brands", memory.main),
    ("hostile records", hostile_record.main),
    ("a 10 MiB feed: parse_feed vs feedparser alone", feeds.main),
    ("Kafka detector vs a bare consume loop; two detectors vs one", kafka_throughput.main),
    ("ingest under 200 clients: this release's HTTP stack vs the previous one", ingest_load.main),
)


def main() -> None:
    for number, (name, run) in enumerate(SUITE, start=1):
        print(f"\n[{number}/{len(SUITE)}] {name}", flush=True)
        started = time.monotonic()
        run()
        print(f"({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
