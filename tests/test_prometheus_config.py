"""Checks of the Prometheus rules, their promtool unit tests and the Alertmanager configuration.

Real tools, no mocks: `promtool` (Debian package prometheus), `amtool` and the Alertmanager
itself (Debian package prometheus-alertmanager). A missing tool fails these tests.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import binary, exec_tool, run_tool, running_alertmanager

ROOT = Path(__file__).parents[1]
PROMETHEUS_DIR = ROOT / "config" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RECORDING_RULES = RULES_DIR / "buzzwatch-recording.yml"
ALERTING_RULES = RULES_DIR / "buzzwatch-alerts.yml"
RULE_FILES = (RECORDING_RULES, ALERTING_RULES)
RULE_TESTS = PROMETHEUS_DIR / "tests" / "buzzwatch-rules.test.yml"
ALERTMANAGER_CONFIG = ROOT / "config" / "alertmanager" / "alertmanager.yml"
RUNBOOKS_DIR = ROOT / "docs" / "runbooks"
RUNBOOK_URL_PREFIX = "https://github.com/buzzwatch/buzzwatch/blob/main/"
SEVERITIES = {"warning", "critical"}
# Spike alerts take the severity of the detector's series.
SEVERITY_FROM_SERIES = "{{ $labels.severity }}"
SPIKE_ALERTS = {"BuzzwatchNegativeSpike", "BuzzwatchVolumeSpike"}
ANNOTATIONS = ("summary", "description", "runbook_url")
TOOL_TIMEOUT_S = 60.0
ALERTMANAGER_TIMEOUT_S = 20.0
# An expression that returns nothing, and one that returns a sample wherever it is evaluated.
NEVER = "vector(1) == 0"
ALWAYS = "vector(1)"


def _promtool() -> str:
    return binary("promtool", "prometheus")


def _amtool() -> str:
    return binary("amtool", "prometheus-alertmanager")


def _exec(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return exec_tool(cmd, timeout=TOOL_TIMEOUT_S)


def _run(cmd: list[str]) -> str:
    return run_tool(cmd, timeout=TOOL_TIMEOUT_S)


def _load(path: Path) -> dict[str, Any]:
    """A YAML file as a mapping."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{path} is not a YAML mapping"
    return loaded


@cache
def _rules(path: Path) -> tuple[dict[str, Any], ...]:
    """Every rule of a rule file, across its groups."""
    return tuple(rule for group in _load(path)["groups"] for rule in group["rules"])


@cache
def _alerting_rules() -> dict[str, dict[str, Any]]:
    """The alerting rules by alert name."""
    rules = [rule for path in RULE_FILES for rule in _rules(path) if "alert" in rule]
    by_name = {rule["alert"]: rule for rule in rules}
    assert len(by_name) == len(rules), "duplicate alert names"
    return by_name


@cache
def _recording_rules() -> tuple[str, ...]:
    """The names of the recording rules."""
    return tuple(rule["record"] for path in RULE_FILES for rule in _rules(path) if "record" in rule)


@cache
def _rule_tests() -> dict[str, Any]:
    """The promtool unit-test file."""
    return _load(RULE_TESTS)


def _cases_for(name: str) -> list[dict[str, Any]]:
    """The promtool test cases that check an alert or a recorded series."""
    return [
        case
        for case in _rule_tests()["tests"]
        if any(t["alertname"] == name for t in case.get("alert_rule_test", []))
        or any(
            re.search(rf"\b{re.escape(name)}\b", t["expr"])
            for t in case.get("promql_expr_test", [])
        )
    ]


def _alert_labels(alertname: str, **extra: str) -> dict[str, str]:
    """Labels of an alert as its rule sets them (templated values left out), plus `extra`."""
    static = {
        key: str(value)
        for key, value in _alerting_rules()[alertname].get("labels", {}).items()
        if "{{" not in str(value)
    }
    return {"alertname": alertname, **static, **extra}


def _spike_labels(alertname: str, brand: str, severity: str) -> dict[str, str]:
    """Labels of a spike alert as Prometheus sends it."""
    kind = "negative" if alertname == "BuzzwatchNegativeSpike" else "volume"
    return _alert_labels(
        alertname,
        brand=brand,
        kind=kind,
        severity=severity,
        job="buzzwatch-detector",
        instance="detector:9108",
    )


# --------------------------------------------------------------------------- Prometheus


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_rule_file_is_valid(path: Path) -> None:
    """`promtool check rules` accepts the rule file."""
    _run([_promtool(), "check", "rules", str(path)])


def test_rule_unit_tests_pass() -> None:
    """The promtool unit tests of the rules pass."""
    _run([_promtool(), "test", "rules", str(RULE_TESTS)])


def test_prometheus_loads_the_rules_and_sends_to_alertmanager() -> None:
    """prometheus.yml's rule_files (relative to it) cover every rule file; alerts go to AM."""
    config = _load(PROMETHEUS_CONFIG)
    found = {path for pattern in config["rule_files"] for path in PROMETHEUS_DIR.glob(pattern)}
    assert found == set(RULE_FILES)
    targets = [
        target
        for alertmanager in config["alerting"]["alertmanagers"]
        for static in alertmanager["static_configs"]
        for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"]


def test_rule_tests_load_every_rule_file() -> None:
    """The unit tests load exactly the rule files in config/prometheus/rules/."""
    loaded = {(RULE_TESTS.parent / name).resolve() for name in _rule_tests()["rule_files"]}
    assert loaded == {path.resolve() for path in RULES_DIR.glob("*.yml")}
    assert set(RULE_FILES) == set(RULES_DIR.glob("*.yml"))


@pytest.mark.parametrize("alertname", sorted(_alerting_rules()))
def test_alerting_rule_has_severity_and_annotations(alertname: str) -> None:
    """Every alert has a severity, a team, summary/description/runbook_url and a runbook."""
    rule = _alerting_rules()[alertname]
    labels = rule.get("labels", {})
    severity = labels.get("severity")
    if alertname in SPIKE_ALERTS:
        assert severity == SEVERITY_FROM_SERIES, "spike alerts carry the detector's severity"
    else:
        assert severity in SEVERITIES, f"severity {severity!r} is not one of {SEVERITIES}"
    assert labels.get("team"), "no team label (Alertmanager routes on it)"
    annotations = rule.get("annotations", {})
    for key in ANNOTATIONS:
        assert str(annotations.get(key, "")).strip(), f"annotation {key} missing or empty"
    url = annotations["runbook_url"]
    assert url.startswith(RUNBOOK_URL_PREFIX), url
    runbook = ROOT / url.removeprefix(RUNBOOK_URL_PREFIX)
    assert runbook.parent == RUNBOOKS_DIR and runbook.suffix == ".md", url
    assert runbook.is_file(), f"{runbook.relative_to(ROOT)} does not exist"
    assert runbook.read_text(encoding="utf-8").startswith(f"# {alertname}\n"), (
        f"{runbook.name} does not start with '# {alertname}'"
    )


def test_one_runbook_per_alert() -> None:
    """Each alert has its own runbook and every runbook belongs to an alert."""
    urls = [rule["annotations"]["runbook_url"] for rule in _alerting_rules().values()]
    assert len(set(urls)) == len(urls), "two alerts share a runbook"
    referenced = {url.rpartition("/")[2] for url in urls}
    assert {path.name for path in RUNBOOKS_DIR.glob("*.md")} == referenced


@pytest.mark.parametrize("alertname", sorted(_alerting_rules()))
def test_alerting_rule_is_unit_tested(alertname: str) -> None:
    """Every alert has a firing and a silent test case; fired alerts check labels and text."""
    checks = [
        check
        for case in _rule_tests()["tests"]
        for check in case.get("alert_rule_test", [])
        if check["alertname"] == alertname
    ]
    fired = [alert for check in checks for alert in check.get("exp_alerts") or []]
    assert fired, f"no test case where {alertname} fires"
    assert any(not check.get("exp_alerts") for check in checks), (
        f"no test case where {alertname} must not fire"
    )
    for alert in fired:
        labels = alert.get("exp_labels", {})
        assert labels.get("severity") in SEVERITIES, labels
        if alertname in SPIKE_ALERTS:
            assert labels.get("brand"), labels
        assert set(ANNOTATIONS) <= set(alert.get("exp_annotations", {})), alert


@pytest.mark.parametrize("record", _recording_rules())
def test_recording_rule_is_unit_tested(record: str) -> None:
    """Every recording rule has an expected value in a promql_expr_test."""
    checks = [
        check
        for case in _cases_for(record)
        for check in case.get("promql_expr_test", [])
        if check["expr"] == record and check.get("exp_samples")
    ]
    assert checks, f"no promql_expr_test with samples for {record}"


def _mutations() -> list[tuple[str, str]]:
    """(rule name, replacement expression) pairs the unit tests must catch."""
    alerts = [(name, expr) for name in sorted(_alerting_rules()) for expr in (NEVER, ALWAYS)]
    return [*alerts, *((record, NEVER) for record in _recording_rules())]


@pytest.mark.parametrize(("name", "expr"), _mutations())
def test_rule_unit_tests_catch_a_broken_rule(tmp_path: Path, name: str, expr: str) -> None:
    """Replacing a rule's expression (never / always true) makes its promtool tests fail."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    replaced = 0
    for path in RULE_FILES:
        content = copy.deepcopy(_load(path))
        for group in content["groups"]:
            for rule in group["rules"]:
                if name in (rule.get("alert"), rule.get("record")):
                    rule["expr"] = expr
                    replaced += 1
        text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        (tmp_path / "rules" / path.name).write_text(text, encoding="utf-8")
    assert replaced == 1
    cases = _cases_for(name)
    assert cases, f"no test case checks {name}"
    mutant = {**_rule_tests(), "tests": cases}
    test_file = tmp_path / "tests" / RULE_TESTS.name
    test_file.write_text(yaml.safe_dump(mutant, allow_unicode=True), encoding="utf-8")
    result = _exec([_promtool(), "test", "rules", str(test_file)])
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{name} with expr {expr!r} still passes its tests"
    # A failed expectation, not a broken file.
    assert "FAILED" in output and "got:" in output, output


# --------------------------------------------------------------------------- Alertmanager


def test_alertmanager_config_is_valid() -> None:
    """`amtool check-config` accepts the Alertmanager configuration."""
    _run([_amtool(), "check-config", str(ALERTMANAGER_CONFIG)])


ROUTES: list[tuple[str, dict[str, str], str]] = [
    (
        "critical negative spike",
        _spike_labels("BuzzwatchNegativeSpike", "Acme Bank", "critical"),
        "buzzwatch-critical",
    ),
    (
        "warning negative spike",
        _spike_labels("BuzzwatchNegativeSpike", "Acme Bank", "warning"),
        "buzzwatch-warning",
    ),
    (
        "warning volume spike",
        _spike_labels("BuzzwatchVolumeSpike", "Chez Léa's", "warning"),
        "buzzwatch-warning",
    ),
    (
        "critical volume spike",
        _spike_labels("BuzzwatchVolumeSpike", "Chez Léa's", "critical"),
        "buzzwatch-critical",
    ),
    (
        "Nordwind Air critical: own receiver, then critical",
        _spike_labels("BuzzwatchNegativeSpike", "Nordwind Air", "critical"),
        "nordwind-air,buzzwatch-critical",
    ),
    (
        "Nordwind Air warning: own receiver, then warning",
        _spike_labels("BuzzwatchVolumeSpike", "Nordwind Air", "warning"),
        "nordwind-air,buzzwatch-warning",
    ),
    *(
        (name, _alert_labels(name, job="buzzwatch-detector"), "ops")
        for name in sorted(set(_alerting_rules()) - SPIKE_ALERTS)
    ),
]


@pytest.mark.parametrize(
    ("labels", "receivers"), [r[1:] for r in ROUTES], ids=[r[0] for r in ROUTES]
)
def test_alert_routing(labels: dict[str, str], receivers: str) -> None:
    """`amtool config routes test` sends each kind of alert to the expected receivers."""
    cmd = [
        _amtool(),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        f"--verify.receivers={receivers}",
        *(f"{key}={value}" for key, value in labels.items()),
    ]
    result = _exec(cmd)
    routed = result.stdout.strip()
    assert routed == receivers, f"routed to {routed!r}:\n{result.stderr}"
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_matchers_name_existing_alerts() -> None:
    """Every alertname and team the Alertmanager config matches on exists in the rules."""
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    config = _load(ALERTMANAGER_CONFIG)
    matchers = [
        *(m for rule in config["inhibit_rules"] for m in rule["source_matchers"]),
        *(m for rule in config["inhibit_rules"] for m in rule["target_matchers"]),
        *(m for route in config["route"]["routes"] for m in route.get("matchers", [])),
    ]
    assert matchers and "match:" not in text and "match_re:" not in text, "use `matchers`"
    teams = {str(rule["labels"]["team"]) for rule in _alerting_rules().values()}
    for matcher in matchers:
        found = re.fullmatch(r'(\w+)\s*(=|!=|=~|!~)\s*"(.*)"', matcher)
        assert found, f"unexpected matcher syntax: {matcher}"
        label, operator, value = found.groups()
        if label == "alertname" and operator in ("=", "!="):
            assert value in _alerting_rules(), f"{matcher}: no such alert"
        if label == "team" and operator == "=":
            assert value in teams, f"{matcher}: no rule sets this team"


def _http(url: str, body: object | None = None) -> Any:
    """GET (or POST `body` as JSON) and decode the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_alertmanager_inhibitions(tmp_path: Path) -> None:
    """A critical negative spike mutes the brand's warning volume spike; detector down mutes
    the other pipeline alerts; nothing else is muted."""
    job = {"job": "buzzwatch-detector"}
    alerts: dict[str, tuple[dict[str, str], bool]] = {
        # case: (labels, expected to be inhibited)
        "negative critical A": (
            _spike_labels("BuzzwatchNegativeSpike", "Nordwind Air", "critical"),
            False,
        ),
        "volume warning A": (
            _spike_labels("BuzzwatchVolumeSpike", "Nordwind Air", "warning"),
            True,
        ),
        "volume warning B": (_spike_labels("BuzzwatchVolumeSpike", "Chez Léa's", "warning"), False),
        "negative warning C": (
            _spike_labels("BuzzwatchNegativeSpike", "Acme Bank", "warning"),
            False,
        ),
        "volume warning C": (_spike_labels("BuzzwatchVolumeSpike", "Acme Bank", "warning"), False),
        "negative critical D": (
            _spike_labels("BuzzwatchNegativeSpike", "Delta", "critical"),
            False,
        ),
        "volume critical D": (_spike_labels("BuzzwatchVolumeSpike", "Delta", "critical"), False),
        "detector down": (_alert_labels("BuzzwatchDetectorDown", **job), False),
        "lag": (_alert_labels("BuzzwatchConsumerLagGrowing", **job), True),
        "dead letters": (_alert_labels("BuzzwatchDeadLetterRate", **job), True),
        "silent": (_alert_labels("BuzzwatchSourceSilent", source="twitter", **job), True),
        "event time": (_alert_labels("BuzzwatchEventTimeLag", **job), True),
        "late": (_alert_labels("BuzzwatchLateMentions", **job), True),
        "re-keyed": (_alert_labels("BuzzwatchForeignPartitioner", **job), True),
    }
    assert {labels["alertname"] for labels, _ in alerts.values()} == set(_alerting_rules())
    expected = {case: inhibited for case, (_, inhibited) in alerts.items()}
    body = [
        {"labels": labels, "annotations": {"case": case}} for case, (labels, _) in alerts.items()
    ]
    with running_alertmanager(ALERTMANAGER_CONFIG, tmp_path) as url:
        _http(f"{url}/api/v2/alerts", body)
        deadline = time.monotonic() + ALERTMANAGER_TIMEOUT_S
        while True:
            got = {
                alert["annotations"]["case"]: bool(alert["status"]["inhibitedBy"])
                for alert in _http(f"{url}/api/v2/alerts")
            }
            if got == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert got == expected
