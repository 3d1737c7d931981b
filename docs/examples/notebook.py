"""A notebook's first cells, as a script: replay the sample stream shipped with buzzwatch,
look at its alerts, and chart one brand's volume against what its baseline expected.

    python docs/examples/notebook.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from buzzwatch.api import replay
from buzzwatch.charts import write_charts
from pipeline.synthetic import SAMPLE_PATH

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")

# Cell 1: the replay; a configuration is a TOML file or its tables as a dict
result = replay(SAMPLE_PATH, config={"detection": {"resolve_after_minutes": 30}})
print(f"{result.summary.accepted} mentions counted, {len(result.alerts)} alert events")

# Cell 2: what fired, and when
firing = result.alerts[result.alerts.state == "firing"]
print(firing[["brand", "kind", "severity", "started_at", "observed", "expected"]].to_string())

# Cell 3: the busiest alerting brand's charts (in a notebook: IPython.display.SVG)
brand = firing.brand.value_counts().index[0]
chart = out / "volume.svg"
events = [event for event in result.events if event.brand == brand]
write_charts(result.series[result.series.brand == brand], events, [chart])
print(f"charts of {brand}: {chart}")
