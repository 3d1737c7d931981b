"""Memory per 1,000 tracked brands, and the checkpoint size per brand.

    python -m benchmarks.memory

Each run is a fresh process that feeds an engine six hours of mentions for N brands (one
every 10 minutes per brand, so that every brand has open buckets, ids and its longest window
full) and reports its resident memory at the end (and its peak), before taking a snapshot.
The reference is the same process with no brand, its scorers and language model loaded (they
load at the first text, whatever the number of brands): the figure per 1,000 brands is the
difference, and the runs for several N show whether it grows linearly.
"""

from __future__ import annotations

import json
import subprocess
import sys

BRAND_COUNTS = (0, 1_000, 3_000)
HOURS = 6  # the longest window (6 hours) full
FEED = """
import json, sys
from datetime import UTC, datetime, timedelta
from pipeline.engine import Engine
from pipeline.models import Mention
brands, hours = int(sys.argv[1]), int(sys.argv[2])
engine = Engine()
# the scorers and the language model load at the first text: in the reference too
engine.scorer.judged("Love the new menu")
engine.scorer.judged("Le service est nul")
start = datetime(2026, 3, 2, tzinfo=UTC)
texts = ["Love the new menu", "Worst service ever", "Open on Sunday?"]
for minute in range(0, hours * 60, 10):
    at = start + timedelta(minutes=minute)
    for b in range(brands):
        engine.add(Mention(id=f"{b}-{minute}", created_at=at, brand=f"brand-{b:05d}",
                           text=texts[(b + minute) % 3]))
    engine.advance(int(at.timestamp()) - 60)
# this process's own peak (ru_maxrss would include the parent's, from before exec)
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
resident = int(status.split("VmRSS:")[1].split()[0]) * 1024
state = json.dumps(engine.snapshot()["brands"]).encode()
print(json.dumps({"peak": peak, "resident": resident, "state": len(state)}))
"""


def measure(brands: int) -> dict[str, int]:
    command = [sys.executable, "-c", FEED, str(brands), str(HOURS)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, int] = json.loads(out.stdout)
    return result


def main() -> None:
    base = measure(0)
    print(
        f"no brand: resident {base['resident'] / 1e6:.0f} MB, peak {base['peak'] / 1e6:.0f} MB "
        "(the reference)"
    )
    per_thousand = []
    for brands in BRAND_COUNTS[1:]:
        run = measure(brands)
        extra = (run["resident"] - base["resident"]) / (brands / 1000)
        per_thousand.append(extra)
        print(
            f"{brands:>6} brands: resident {run['resident'] / 1e6:.0f} MB, "
            f"{extra / 1e6:.1f} MB per 1,000 brands above the reference "
            f"(peak {run['peak'] / 1e6:.0f} MB); "
            f"state {run['state'] / brands / 1000:.1f} KB per brand"
        )
    print(
        f"memory per brand at {BRAND_COUNTS[-1]:,} brands: "
        f"{per_thousand[-1] / per_thousand[0]:.2f}× that at {BRAND_COUNTS[1]:,}"
    )


if __name__ == "__main__":
    main()
