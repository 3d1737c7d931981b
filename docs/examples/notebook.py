"""A notebook's first cells, as a script: replay the sample stream shipped with buzzwatch,
look at its alerts, and chart one brand's volume against what its baseline expected.

    python docs/examples/notebook.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a script; a notebook draws inline

from buzzwatch.api import replay
from pipeline.synthetic import SAMPLE_PATH

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")

# Cell 1: the replay; a configuration is a TOML file or its tables as a dict
result = replay(SAMPLE_PATH, config={"detection": {"resolve_after_minutes": 30}})
print(f"{result.summary.accepted} mentions counted, {len(result.alerts)} alert events")

# Cell 2: what fired, and when
firing = result.alerts[result.alerts.state == "firing"]
print(firing[["brand", "kind", "severity", "started_at", "observed", "expected"]].to_string())

# Cell 3: the busiest alerting brand's volume against its expectation
brand = firing.brand.value_counts().index[0]
series = result.series[result.series.brand == brand]
axes = series.plot(x="start", y=["volume", "expected_volume"], title=brand, figsize=(10, 4))
for started in firing[firing.brand == brand].started_at:
    axes.axvline(started, color="red", linestyle=":")
axes.figure.savefig(out / "volume.png", dpi=80)
print(f"chart of {brand}: {out / 'volume.png'}")
