"""Checks of the Grafana dashboard config/grafana/dashboards/buzzwatch.json and its provisioning.

Static checks read the JSON; the live checks run every PromQL expression of the dashboard
against a real Prometheus (Debian package prometheus; missing = failure, never a skip) that
loads the repository's rule files and scrapes a stand-in detector serving every detector
metric for two brands.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from consumers.metrics import DetectorMetrics
from tests.servers import PrometheusError, query, running_prometheus, series, with_repo_rules

ROOT = Path(__file__).parents[1]
GRAFANA_DIR = ROOT / "config" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "buzzwatch.json"
DASHBOARD_PROVIDER = GRAFANA_DIR / "provisioning" / "dashboards" / "buzzwatch.yml"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
# Where docker-compose.yml mounts config/grafana/dashboards in the grafana container.
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
RULE_FILES = tuple(sorted((ROOT / "config" / "prometheus" / "rules").glob("*.yml")))
JOB = "buzzwatch-detector"

# What `buzzwatch detect` exposes: metric family -> label names. Counters are listed with
# their `_total` sample name; histograms by family name (samples _bucket, _sum, _count).
DETECTOR_METRICS: dict[str, tuple[str, ...]] = {
    "buzzwatch_mentions_total": ("brand", "source", "sentiment"),
    "buzzwatch_records_rejected_total": ("reason",),
    "buzzwatch_records_rekeyed_total": (),
    "buzzwatch_records_skipped_total": (),
    "buzzwatch_dead_letters_total": ("reason",),
    "buzzwatch_alert_events_total": ("brand", "kind", "state", "severity"),
    "buzzwatch_alerts_active": ("brand", "kind", "severity"),
    "buzzwatch_spike_score": ("brand", "kind"),
    "buzzwatch_bucket_mentions": ("brand",),
    "buzzwatch_bucket_expected_mentions": ("brand",),
    "buzzwatch_bucket_negative_ratio": ("brand",),
    "buzzwatch_batch_processing_seconds": (),
    "buzzwatch_scoring_seconds": (),
    "buzzwatch_watermark_timestamp_seconds": (),
    "buzzwatch_event_time_lag_seconds": (),
    "buzzwatch_consumer_lag_records": ("topic", "partition"),
    "buzzwatch_offset_commits_total": (),
    "buzzwatch_rebalances_total": ("event",),
    "buzzwatch_detector_restarts_total": (),
    "buzzwatch_state_restore_seconds": (),
    "buzzwatch_state_restored_bytes": ("partition",),
    "buzzwatch_state_restored_brands": ("partition",),
    "buzzwatch_state_written_bytes_total": (),
    "buzzwatch_source_last_seen_timestamp_seconds": ("source",),
    "buzzwatch_build_info": ("version", "python"),
}
HISTOGRAMS = (
    "buzzwatch_batch_processing_seconds",
    "buzzwatch_scoring_seconds",
    "buzzwatch_state_restore_seconds",
)
DETECTOR_SERIES_NAMES = frozenset(
    [name for name in DETECTOR_METRICS if name not in HISTOGRAMS]
    + [f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")]
)
BRAND_METRICS = frozenset(name for name, labels in DETECTOR_METRICS.items() if "brand" in labels)
SPIKE_ALERTS = ("BuzzwatchNegativeSpike", "BuzzwatchVolumeSpike")
# Series Prometheus makes itself.
BUILTIN_SERIES = frozenset({"up", "ALERTS"})

# The stand-in detector's brands: one needs Grafana's regex escaping (parentheses).
BRANDS = ("Nordwind Air", "Chez Léa's (Lyon)")
SOURCES = ("x", "reddit")
# Grafana's macros, replaced by concrete durations (longest names first).
MACROS = {
    "$__rate_interval_ms": "60000",
    "$__rate_interval": "1m",
    "$__interval_ms": "15000",
    "$__interval": "15s",
    "$__range_ms": "3600000",
    "$__range_s": "3600",
    "$__range": "1h",
}
# Panels whose every query must return a sample for each brand.
KEY_PANELS = ("Mentions per 5 min vs expected", "Negative share", "Spike score", "Active alerts")
# Annotations allowed to be empty against the stand-in detector (no pipeline alert fires).
MAY_BE_EMPTY_ANNOTATIONS = frozenset({"Pipeline alerts"})
THRESHOLD_STYLES = frozenset({"line", "area", "line+area", "dashed", "dashed+area"})
# Prometheus applies new scrape targets after ~5 s (discovery throttle): ready in ~7 s.
WAIT_TIMEOUT_S = 45.0
POLL_INTERVAL_S = 0.25


# --- the dashboard's queries ------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A PromQL expression of the dashboard and where it comes from."""

    where: str  # "panel <title> / <refId>", "annotation <name>" or "variable <name>"
    expr: str
    legend: str = ""  # legendFormat, titleFormat or tag keys: labels the result must carry
    panel: str = ""


@functools.cache
def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _panels(panels: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels nested in (collapsed) rows included."""
    for panel in _dashboard()["panels"] if panels is None else panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _panel(title: str) -> dict[str, Any]:
    found = [panel for panel in _panels() if panel.get("title") == title]
    assert len(found) == 1, f"expected one panel titled {title!r}, found {len(found)}"
    return found[0]


def _annotations() -> list[dict[str, Any]]:
    """The dashboard's query annotations (not Grafana's built-in one)."""
    return [a for a in _dashboard()["annotations"]["list"] if not a.get("builtIn")]


def _annotation_expr(annotation: dict[str, Any]) -> str:
    # Grafana ≥ 10 keeps the query in `target`; older dashboards had a top-level `expr`.
    expr = annotation.get("target", {}).get("expr") or annotation.get("expr", "")
    return str(expr)


def _brand_variable() -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        v for v in _dashboard()["templating"]["list"] if v.get("name") == "brand"
    ]
    assert len(found) == 1, "the dashboard needs one template variable named `brand`"
    return found[0]


def _variable_query(variable: dict[str, Any]) -> str:
    raw = variable.get("query")
    return str(raw.get("query", "") if isinstance(raw, dict) else raw)


def _label_values(variable_query: str) -> tuple[str, str]:
    """(series selector, label) of a ``label_values(selector, label)`` variable query."""
    found = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\s*\)\s*", variable_query)
    assert found, f"not a label_values(<selector>, <label>) query: {variable_query!r}"
    return found.group(1).strip(), found.group(2)


def _expressions() -> list[Expr]:
    """Every PromQL expression of the dashboard: panel targets, annotations, the variable."""
    exprs = [
        Expr(
            f"panel {panel['title']!r} / {target.get('refId')}",
            str(target["expr"]),
            str(target.get("legendFormat", "")),
            str(panel["title"]),
        )
        for panel in _panels()
        for target in panel.get("targets", [])
    ]
    for annotation in _annotations():
        keys = [k for k in str(annotation.get("tagKeys", "")).split(",") if k]
        labels = "".join(f"{{{{{k}}}}}" for k in keys) + str(annotation.get("titleFormat", ""))
        exprs.append(
            Expr(f"annotation {annotation['name']!r}", _annotation_expr(annotation), labels)
        )
    selector, _ = _label_values(_variable_query(_brand_variable()))
    exprs.append(Expr("variable 'brand'", selector))
    return exprs


# --- a small PromQL scanner: the series selectors of an expression ------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACKETS = re.compile(r"\[[^\]]*\]")  # range and subquery durations
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)")
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "atan2", "inf", "nan"}
)


@dataclass(frozen=True)
class Selector:
    name: str  # "" for a selector without a metric name ({...})
    matchers: str  # the text between the braces, "" when there are none


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def _selectors(expr: str) -> list[Selector]:
    """The vector selectors of `expr`: metric names (not functions nor keywords) with their
    label matchers."""
    # Blank out strings first (keeping offsets), then durations and grouping label lists.
    masked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', expr)
    masked = _LABEL_LISTS.sub(_blank, _BRACKETS.sub(_blank, masked))
    found: list[Selector] = []
    position = 0
    while (match := re.search(r"[A-Za-z_:{]", masked[position:])) is not None:
        start = position + match.start()
        name = ""
        end = start
        if masked[start] != "{":
            name_match = _NAME.match(masked, start)
            if name_match is None:  # inside a number or a longer word (1e3)
                position = start + 1
                continue
            name, end = name_match.group(1), name_match.end()
            rest = masked[end:].lstrip()
            if rest.startswith("(") or name.lower() in _KEYWORDS:
                position = end
                continue
            end = len(masked) - len(rest)
        matchers = ""
        if masked.startswith("{", end):
            close = masked.index("}", end)
            matchers = expr[end + 1 : close]  # from the original: with the strings
            end = close + 1
        found.append(Selector(name, matchers))
        position = max(end, start + 1)
    return found


def test_selector_scanner() -> None:
    """The scanner finds metric names and matchers, and skips functions, keywords, numbers,
    durations, grouping labels and strings."""
    expr = (
        'histogram_quantile(0.95, sum by (le, brand) (rate(foo_bucket{a="x{y}",b=~"$b"}'
        "[$__rate_interval]))) / on (job) group_left bar:rec:rate5m > bool 1e3 "
        'unless ALERTS{alertname="up"} offset 5m'
    )
    assert _selectors(expr) == [
        Selector("foo_bucket", 'a="x{y}",b=~"$b"'),
        Selector("bar:rec:rate5m", ""),
        Selector("ALERTS", 'alertname="up"'),
    ]


# --- static checks ----------------------------------------------------------------------------


def _provisioned_uid() -> str:
    datasources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    prometheus = [d for d in datasources if d["type"] == "prometheus"]
    assert len(prometheus) == 1 and prometheus[0].get("uid"), "one Prometheus with a uid"
    return str(prometheus[0]["uid"])


def test_dashboard_provider() -> None:
    """Grafana loads the dashboards folder from a file provider into folder buzzwatch."""
    providers = yaml.safe_load(DASHBOARD_PROVIDER.read_text())["providers"]
    assert len(providers) == 1
    provider = providers[0]
    assert provider["type"] == "file"
    assert provider["folder"] == "buzzwatch"
    assert provider["options"]["path"] == DASHBOARDS_MOUNT


def test_dashboard_identity_and_layout() -> None:
    """uid, title, refresh and schema; unique panel ids; panels inside the 24-column grid and
    not overlapping."""
    dashboard = _dashboard()
    assert dashboard["uid"] == "buzzwatch"
    assert dashboard["title"] == "buzzwatch — brand buzz"
    assert dashboard["refresh"] == "30s"
    assert dashboard["schemaVersion"] >= 39
    ids = [panel["id"] for panel in _panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:  # top level: the layout Grafana shows
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                other = cells.setdefault((x, y), panel["title"])
                assert other == panel["title"], f"{panel['title']!r} overlaps {other!r}"


def test_every_query_uses_the_provisioned_datasource() -> None:
    """Every panel (rows' nested ones too), target, annotation and variable queries the
    provisioned Prometheus by uid."""
    uid = _provisioned_uid()
    owners: list[tuple[str, dict[str, Any]]] = []
    for panel in _panels():
        if panel["type"] != "row":
            assert panel.get("targets"), f"panel {panel['title']!r} has no query"
            owners.append((f"panel {panel['title']!r}", panel))
        owners += [(f"{panel['title']!r} / {t['refId']}", t) for t in panel.get("targets", [])]
    owners += [(f"annotation {a['name']!r}", a) for a in _annotations()]
    owners += [(f"annotation {a['name']!r} target", a["target"]) for a in _annotations()]
    owners += [(f"variable {v['name']!r}", v) for v in _dashboard()["templating"]["list"]]
    for where, owner in owners:
        assert owner.get("datasource") == {"type": "prometheus", "uid": uid}, where


def test_brand_variable() -> None:
    """$brand lists the brands of buzzwatch_mentions_total; multi-value with All."""
    variable = _brand_variable()
    assert variable["type"] == "query"
    assert _label_values(_variable_query(variable)) == ("buzzwatch_mentions_total", "brand")
    assert variable["multi"] is True and variable["includeAll"] is True


def test_brand_scoped_queries_use_the_brand_variable() -> None:
    """Every selector of a brand-labelled series (detector metrics, brand:* recording rules,
    spike ALERTS) filters on brand=~"$brand"."""
    scoped = 0
    for item in _expressions():
        if item.where.startswith("variable"):
            continue
        for selector in _selectors(item.expr):
            is_spike_alert = (
                selector.name == "ALERTS"
                and any(alert in selector.matchers for alert in SPIKE_ALERTS)
                and "alertname!~" not in selector.matchers
            )
            if (
                selector.name in BRAND_METRICS
                or selector.name.startswith("brand:")
                or is_spike_alert
            ):
                scoped += 1
                assert 'brand=~"$brand"' in selector.matchers.replace(" ", ""), (
                    f"{item.where}: {selector.name}{{{selector.matchers}}} ignores $brand"
                )
    assert scoped >= 8, "the brand panels should be brand-scoped"


def test_metric_list_matches_the_detector() -> None:
    """DETECTOR_METRICS names exactly the buzzwatch metrics consumers.metrics.DetectorMetrics
    registers; prometheus_client's process and platform collectors come beside them."""
    suffix = {"counter": "_total", "info": "_info"}
    registered = {
        family.name + suffix.get(family.type, "") for family in DetectorMetrics().registry.collect()
    }
    assert {name for name in registered if name.startswith("buzzwatch_")} == set(DETECTOR_METRICS)
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"} < (
        registered
    )


def _recording_rules() -> set[str]:
    names: set[str] = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def test_every_metric_is_exposed_or_recorded() -> None:
    """Each series name the dashboard queries is a detector metric, a recording rule of
    config/prometheus/rules/, `up` or `ALERTS`; no selector goes without a metric name."""
    known = DETECTOR_SERIES_NAMES | _recording_rules() | BUILTIN_SERIES
    for item in _expressions():
        for selector in _selectors(item.expr):
            assert selector.name, f"{item.where}: selector without a metric name"
            assert selector.name in known, f"{item.where}: unknown series {selector.name}"


def test_pipeline_health_covers_the_detector() -> None:
    """Between them, the panels show every detector metric and the scrape status."""
    used = {s.name for item in _expressions() for s in _selectors(item.expr)}
    used |= {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    missing = (set(DETECTOR_METRICS) | {"up"}) - used
    # the batch histogram is shown through its recording rule
    missing -= {"buzzwatch_batch_processing_seconds"}
    assert not missing, f"no panel shows {sorted(missing)}"


def test_key_panels() -> None:
    """Volume with expected overlaid; negative share in percent 0..1; spike score with the
    0.5 (firing) and 1.0 (critical) bars drawn; an instant table of active alerts."""
    volume = " ".join(t["expr"] for t in _panel("Mentions per 5 min vs expected")["targets"])
    assert "buzzwatch_bucket_mentions" in volume
    assert "buzzwatch_bucket_expected_mentions" in volume

    share = _panel("Negative share")["fieldConfig"]["defaults"]
    assert (share["unit"], share["min"], share["max"]) == ("percentunit", 0, 1)

    spike = _panel("Spike score")
    assert "buzzwatch_spike_score" in spike["targets"][0]["expr"]
    defaults = spike["fieldConfig"]["defaults"]
    steps = {step["value"] for step in defaults["thresholds"]["steps"]}
    assert {0.5, 1.0} <= steps, f"spike-score thresholds: {steps}"
    assert defaults["custom"]["thresholdsStyle"]["mode"] in THRESHOLD_STYLES

    table = _panel("Active alerts")
    assert table["type"] == "table"
    (target,) = table["targets"]
    assert target["instant"] is True and target["format"] == "table"
    assert re.search(r"buzzwatch_alerts_active\{[^}]*\}\s*==\s*1", target["expr"])
    columns = [t["options"] for t in table["transformations"] if t["id"] == "filterFieldsByName"]
    assert columns and columns[0]["include"]["names"] == ["brand", "kind", "severity"]

    events = " ".join(t["expr"] for t in _panel("Alert state changes")["targets"])
    assert "buzzwatch_alert_events_total" in events


def test_alert_annotation() -> None:
    """An enabled Prometheus annotation marks the selected brands' spike alerts."""
    spike_annotations = [
        a
        for a in _annotations()
        if a.get("enable")
        and '$brand"' in _annotation_expr(a)
        and ("ALERTS" in _annotation_expr(a) or "buzzwatch_alert_events" in _annotation_expr(a))
    ]
    assert spike_annotations, "no enabled alert annotation for $brand"


# --- live checks against a real Prometheus -----------------------------------------------------


def _seconds_ago(seconds: float) -> float:
    return time.time() - seconds


class StandInDetector:
    """Every detector metric with two brands; traffic grows at each scrape so rates are > 0."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.mentions = Counter(
            "buzzwatch_mentions", "", ["brand", "source", "sentiment"], registry=r
        )
        self.rejected = Counter("buzzwatch_records_rejected", "", ["reason"], registry=r)
        self.dead_letters = Counter("buzzwatch_dead_letters", "", ["reason"], registry=r)
        self.rekeyed = Counter("buzzwatch_records_rekeyed", "", registry=r)
        self.skipped = Counter("buzzwatch_records_skipped", "", registry=r)
        self.alert_events = Counter(
            "buzzwatch_alert_events", "", ["brand", "kind", "state", "severity"], registry=r
        )
        self.commits = Counter("buzzwatch_offset_commits", "", registry=r)
        self.rebalances = Counter("buzzwatch_rebalances", "", ["event"], registry=r)
        self.batch = Histogram("buzzwatch_batch_processing_seconds", "", registry=r)
        self.scoring = Histogram("buzzwatch_scoring_seconds", "", registry=r)
        self.restore = Histogram("buzzwatch_state_restore_seconds", "", registry=r)
        self.restarts = Counter("buzzwatch_detector_restarts", "", registry=r)
        self.written = Counter("buzzwatch_state_written_bytes", "", registry=r)
        restored_bytes = Gauge("buzzwatch_state_restored_bytes", "", ["partition"], registry=r)
        restored = Gauge("buzzwatch_state_restored_brands", "", ["partition"], registry=r)
        for partition, brands in enumerate((40, 0, 12)):
            restored.labels(str(partition)).set(brands)
            restored_bytes.labels(str(partition)).set(6500 * brands)
        active = Gauge("buzzwatch_alerts_active", "", ["brand", "kind", "severity"], registry=r)
        score = Gauge("buzzwatch_spike_score", "", ["brand", "kind"], registry=r)
        bucket = Gauge("buzzwatch_bucket_mentions", "", ["brand"], registry=r)
        expected = Gauge("buzzwatch_bucket_expected_mentions", "", ["brand"], registry=r)
        share = Gauge("buzzwatch_bucket_negative_ratio", "", ["brand"], registry=r)
        nordwind, chez = BRANDS
        # Nordwind Air: critical negative spike; Chez Léa's: warning volume spike.
        active.labels(nordwind, "negative", "critical").set(1)
        active.labels(nordwind, "volume", "warning").set(0)
        active.labels(chez, "volume", "warning").set(1)
        for brand, negative, volume in ((nordwind, 1.3, 0.2), (chez, 0.1, 0.6)):
            score.labels(brand, "negative").set(negative)
            score.labels(brand, "volume").set(volume)
        for brand, count, baseline, negative_share in (
            (nordwind, 240, 60, 0.72),
            (chez, 35, 20, 0.2),
        ):
            bucket.labels(brand).set(count)
            expected.labels(brand).set(baseline)
            share.labels(brand).set(negative_share)
        Gauge("buzzwatch_watermark_timestamp_seconds", "", registry=r).set_function(
            functools.partial(_seconds_ago, 90.0)
        )
        Gauge("buzzwatch_event_time_lag_seconds", "", registry=r).set(90)
        lag = Gauge("buzzwatch_consumer_lag_records", "", ["topic", "partition"], registry=r)
        for partition, records in enumerate((12, 0, 431)):
            lag.labels("buzzwatch.mentions", str(partition)).set(records)
        seen = Gauge("buzzwatch_source_last_seen_timestamp_seconds", "", ["source"], registry=r)
        for minutes, source in enumerate(SOURCES, start=1):
            seen.labels(source).set_function(functools.partial(_seconds_ago, 60.0 * minutes))
        Gauge("buzzwatch_build_info", "", ["version", "python"], registry=r).labels(
            "0.1.0", "3.11.2"
        ).set(1)

    def tick(self) -> None:
        """Traffic since the last scrape."""
        for brand in BRANDS:
            for source in SOURCES:
                for sentiment, count in (("negative", 3), ("neutral", 5), ("positive", 2)):
                    self.mentions.labels(brand, source, sentiment).inc(count)
            self.alert_events.labels(brand, "volume", "firing", "warning").inc()
            self.alert_events.labels(brand, "volume", "resolved", "warning").inc()
        for reason in ("invalid_json", "invalid_record", "unbranded", "late"):
            self.rejected.labels(reason).inc()
        self.dead_letters.labels("invalid_json").inc()
        self.dead_letters.labels("invalid_record").inc(0)
        self.rekeyed.inc()
        self.skipped.inc(0)
        self.commits.inc()
        self.rebalances.labels("assigned").inc()
        self.rebalances.labels("revoked").inc(0)
        self.batch.observe(0.03)
        self.scoring.observe(0.002)
        self.restore.observe(0.4)
        self.restarts.inc(0)
        self.written.inc(52_000)

    def exposition(self) -> bytes:
        self.tick()
        return generate_latest(self.registry)


@pytest.fixture(scope="module")
def detector_address() -> Iterator[str]:
    """host:port of a stand-in detector /metrics endpoint on 127.0.0.1."""
    detector = StandInDetector()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = detector.exposition()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules/*.yml
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ["{target}"]
"""
# Non-empty once the target is up, scraped twice (rates) and the rules evaluated.
READY_QUERIES = (
    f'up{{job="{JOB}"}} == 1',
    "brand:buzzwatch_negative_share:ratio_rate30m",
    "job:buzzwatch_batch_processing_seconds:p95_rate5m",
    'ALERTS{alertname="BuzzwatchNegativeSpike", alertstate="firing"}',
    'ALERTS{alertname="BuzzwatchVolumeSpike", alertstate="firing"}',
)


@pytest.fixture(scope="module")
def prometheus(detector_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real Prometheus with the repository's rules, scraping the stand-in."""
    assert RULE_FILES, "no rule files in config/prometheus/rules/"
    workdir = tmp_path_factory.mktemp("prometheus")
    config = with_repo_rules(PROMETHEUS_CONFIG.format(job=JOB, target=detector_address), workdir)
    with running_prometheus(config, workdir) as url:
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        pending = list(READY_QUERIES)
        for _ in range(int(WAIT_TIMEOUT_S / POLL_INTERVAL_S) + 1):
            pending = [q for q in pending if not query(url, q)["result"]]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(POLL_INTERVAL_S)
        assert not pending, f"still empty after {WAIT_TIMEOUT_S:.0f} s: {pending}"
        yield url


def _grafana_regex(values: tuple[str, ...]) -> str:
    """A multi-value variable as Grafana's Prometheus data source interpolates it in a
    regex matcher (prometheusSpecialRegexEscape, then (a|b))."""
    escaped = [
        re.sub(r"[$^*{}\[\]+?.()|]", lambda m: "\\\\" + m.group(), v.replace("\\", "\\\\\\\\"))
        for v in values
    ]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _interpolate(expr: str, brand: str) -> str:
    out = expr.replace("${brand}", brand).replace("$brand", brand)
    for macro, value in MACROS.items():
        out = out.replace(macro, value)
    assert "$" not in out, f"uninterpolated variable in {out!r}"
    return out


# $brand selections: both brands, All (the variable's allValue), one brand.
def _selections() -> dict[str, tuple[str, frozenset[str]]]:
    all_value = _brand_variable().get("allValue") or _grafana_regex(BRANDS)
    return {
        "both brands": (_grafana_regex(BRANDS), frozenset(BRANDS)),
        "All": (str(all_value), frozenset(BRANDS)),
        "one brand": (_grafana_regex(BRANDS[1:]), frozenset(BRANDS[1:])),
    }


def _results(url: str, expr: str, brand: str) -> list[dict[str, Any]]:
    data = query(url, _interpolate(expr, brand))
    assert data["resultType"] == "vector", f"{expr}: {data['resultType']} instead of a vector"
    result: list[dict[str, Any]] = data["result"]
    return result


def test_every_dashboard_query_runs(prometheus: str) -> None:
    """Every expression (targets, annotations, the variable's selector), for each $brand
    selection, is accepted and evaluated by Prometheus."""
    errors: list[str] = []
    for selection, (brand, _) in _selections().items():
        for item in _expressions():
            try:
                _results(prometheus, item.expr, brand)
            except (PrometheusError, AssertionError) as error:
                errors.append(f"{item.where} [{selection}]: {error}")
    assert not errors, "\n".join(errors)


def test_queries_return_data_with_their_labels(prometheus: str) -> None:
    """With both brands selected every panel query and the spike annotation return samples;
    the key panels cover both brands; the labels their legends (and the annotations' titles
    and tags) name are present."""
    brand, brands = _selections()["both brands"]
    problems: list[str] = []
    for item in _expressions():
        if item.where.startswith("variable"):
            continue
        results = _results(prometheus, item.expr, brand)
        name = item.where.removeprefix("annotation ").strip("'")
        if not results:
            if name not in MAY_BE_EMPTY_ANNOTATIONS:
                problems.append(f"{item.where}: no result")
            continue
        if item.panel in KEY_PANELS:
            seen = {r["metric"].get("brand") for r in results}
            if seen != brands:
                problems.append(f"{item.where}: brands {seen}, expected {set(brands)}")
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", item.legend):
            if any(label not in r["metric"] for r in results):
                problems.append(f"{item.where}: a result has no label {label!r}")
    assert not problems, "\n".join(problems)


def test_active_alerts_table_columns(prometheus: str) -> None:
    """The active-alerts query yields the brand, kind and severity the table shows."""
    brand, _ = _selections()["both brands"]
    (target,) = _panel("Active alerts")["targets"]
    rows = {
        (r["metric"]["brand"], r["metric"]["kind"], r["metric"]["severity"])
        for r in _results(prometheus, target["expr"], brand)
    }
    assert rows == {(BRANDS[0], "negative", "critical"), (BRANDS[1], "volume", "warning")}


def test_brand_variable_lists_the_brands(prometheus: str) -> None:
    """The variable's label_values() finds both brands (via /api/v1/series, as Grafana)."""
    selector, label = _label_values(_variable_query(_brand_variable()))
    values = {labels[label] for labels in series(prometheus, selector) if label in labels}
    assert values == set(BRANDS)


def test_one_brand_selected_shows_only_that_brand(prometheus: str) -> None:
    """Selecting one brand narrows every brand-labelled result to that brand."""
    brand, brands = _selections()["one brand"]
    for item in _expressions():
        if item.where.startswith("variable"):
            continue
        for result in _results(prometheus, item.expr, brand):
            shown = result["metric"].get("brand")
            assert shown is None or shown in brands, f"{item.where} shows {shown!r}"


def test_stand_in_exposes_every_detector_metric(prometheus: str) -> None:
    """The stand-in detector serves every metric of DETECTOR_METRICS, with its labels."""
    for name in DETECTOR_SERIES_NAMES:
        results = query(prometheus, f'{name}{{job="{JOB}"}}')["result"]
        assert results, f"the stand-in detector does not expose {name}"
        family = next((h for h in HISTOGRAMS if name.startswith(h)), name)
        for label in DETECTOR_METRICS[family]:
            assert all(label in r["metric"] for r in results), f"{name} lacks {label}"
