"""`buzzwatch report` end to end: a generated crisis with the brand's answers is replayed into
a crisis log, reported as Markdown and HTML, and the page is opened in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import parse
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from pipeline.crisis_log import CrisisLog
from pipeline.synthetic import SAMPLE_PATH, write_jsonl
from tests.conftest import BROWSER_SECONDS
from tests.helpers import buzzwatch
from tests.test_desk import BRAND, HANDLE, crisis_stream

SECTIONS = (
    "timeline",
    "volumes",
    "sentiment",
    "responses",
    "before-after",
    "onset",
    "defenders",
    "most-shared",
    "queue",
    "lessons",
)


@pytest.fixture(scope="module")
def crisis_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crisis log of a replayed crisis in which the brand answers (one incident)."""
    work = tmp_path_factory.mktemp("report")
    stream, config, log = work / "crisis.jsonl", work / "buzzwatch.toml", work / "log"
    with stream.open("w", encoding="utf-8") as out:
        write_jsonl(crisis_stream(), out)
    config.write_text(f'[brands."{BRAND}"]\nhandles = ["{HANDLE}"]\n', encoding="utf-8")
    buzzwatch(
        "replay", str(stream), "--config", str(config), "--crisis-log", str(log), "--no-progress"
    )
    return log


@pytest.fixture(scope="module")
def written(crisis_log: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The report of the incident, as HTML and Markdown, written by the command."""
    out = tmp_path_factory.mktemp("written")
    (incident,) = CrisisLog(crisis_log).incidents()
    html, markdown = out / "report.html", out / "report.md"
    result = buzzwatch(
        "report",
        "--log",
        str(crisis_log),
        "--incident",
        incident,
        "--html",
        str(html),
        "--markdown",
        str(markdown),
    )
    assert result.stdout.count("report: 1 incident(s) written to") == 2
    return html, markdown


def entries_of(crisis_log: Path, kind: str) -> list[dict[str, Any]]:
    log = CrisisLog(crisis_log)
    (incident,) = log.incidents()
    return [entry.data for entry in log.read(incident) if entry.kind == kind]


def test_the_report_of_an_incident_as_markdown_and_html(
    crisis_log: Path, written: tuple[Path, Path]
) -> None:
    html, markdown = written
    text = markdown.read_text(encoding="utf-8")
    for heading in (
        "### Timeline",
        "### Volume and negative mentions",
        "### Sentiment",
        "### Response times",
        "### Sentiment before and after each communication",
        "### At the first alert",
        "### Defenders",
        "### Most shared authors",
        "### Queue at the end",
        "## Lessons learned",
    ):
        assert f"\n{heading}\n" in text, heading
    replies = entries_of(crisis_log, "reply")
    assert f"- **Answers to queued mentions:** {len(replies)}" in text
    communications = entries_of(crisis_log, "communication")
    assert text.count("| communication |") == len(communications)
    assert "- First public statement " in text
    root = parse(html).getroot()  # well-formed
    assert root.find("head/title").text == f"Post-crisis report: {BRAND}"


def test_a_brand_and_time_range_gives_the_same_incident(crisis_log: Path, tmp_path: Path) -> None:
    (incident,) = CrisisLog(crisis_log).incidents()
    markdown = tmp_path / "brand.md"
    buzzwatch(
        "report",
        "--log",
        str(crisis_log),
        "--brand",
        BRAND.lower(),
        "--from",
        "2026-03-03T12:30",
        "--to",
        "2026-03-04",
        "--markdown",
        str(markdown),
    )
    text = markdown.read_text(encoding="utf-8")
    assert f"## Incident {incident}: {BRAND}" in text
    assert "1 incident from 2026-03-03 12:30 UTC to 2026-03-04 00:00 UTC" in text


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buzzwatch", "report", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_errors_are_said_and_exit_2(crisis_log: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r.md")
    log = str(crisis_log)
    cases = [
        (["--log", log, "--incident", "ffffffff", "--markdown", out], "no incident 'ffffffff'"),
        (["--log", log, "--brand", "Nobody", "--markdown", out], "brands logged: Bistro Nord"),
        (
            ["--log", log, "--brand", BRAND, "--to", "2026-03-01", "--markdown", out],
            "no incident of 'Bistro Nord' until 2026-03-01 00:00 UTC",
        ),
        (["--log", log, "--brand", BRAND], "give at least one output"),
        (
            ["--log", log, "--incident", "ab" * 10, "--from", "2026-03-01", "--markdown", out],
            "--from and --to go with --brand",
        ),
        (
            ["--log", str(tmp_path / "nowhere"), "--brand", BRAND, "--markdown", out],
            "no crisis log",
        ),
    ]
    for args, message in cases:
        result = report(*args)
        assert (result.returncode, message in result.stderr) == (2, True), (args, result.stderr)
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "r.md").exists()


def test_a_tampered_log_is_refused(crisis_log: Path, tmp_path: Path) -> None:
    copy = tmp_path / "log"
    shutil.copytree(crisis_log, copy)
    (path,) = copy.glob("*.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = json.loads(lines[5])
    entry["data"]["volume"] = entry["data"].get("volume", 0) + 100
    lines[5] = json.dumps(entry, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = report("--log", str(copy), "--brand", BRAND, "--html", str(tmp_path / "r.html"))
    assert result.returncode == 2
    assert "the crisis log is broken, no report written" in result.stderr
    assert "line 6 does not follow the chain" in result.stderr
    assert not (tmp_path / "r.html").exists()


CHARTS_SCRIPT = """
return [...document.querySelectorAll('svg.chart')].map(svg => {
  const marks = svg.querySelector('g.marks');
  const box = marks ? marks.getBBox() : {width: 0, height: 0};
  const drawn = [...svg.querySelectorAll('rect.bar, polyline.series')]
    .filter(mark => { const b = mark.getBBox(); return b.width > 0 && b.height > 0; }).length;
  return {
    css: svg.getAttribute('class'),
    shown: svg.getBoundingClientRect().width,
    width: box.width,
    height: box.height,
    volume_bars: svg.querySelectorAll('rect.bar.volume').length,
    bins: svg.querySelectorAll('rect.bar.bin').length,
    points: [...svg.querySelectorAll('polyline.series')].map(line => line.points.numberOfItems),
    drawn: drawn,
    communications: svg.querySelectorAll('.marker.statement, .marker.reply').length,
  };
});
"""


def test_the_page_draws_its_charts_in_headless_chromium(
    crisis_log: Path, written: tuple[Path, Path], browser: WebDriver
) -> None:
    html, _ = written
    browser.get(html.as_uri())
    WebDriverWait(browser, BROWSER_SECONDS).until(
        lambda session: session.execute_script("return document.readyState") == "complete"
    )
    charts = {chart["css"].split()[1]: chart for chart in browser.execute_script(CHARTS_SCRIPT)}
    assert set(charts) == {"volume", "share", "compound", "responses"}
    for name, chart in charts.items():
        assert chart["shown"] > 300 and chart["width"] > 300 and chart["height"] > 20, name
        assert chart["drawn"] > 0, name
    curve = entries_of(crisis_log, "curve")
    assert charts["volume"]["volume_bars"] == len(curve)
    assert charts["volume"]["communications"] == len(entries_of(crisis_log, "communication"))
    with_mentions = sum(point["volume"] > 0 for point in curve)
    assert charts["share"]["points"] == charts["compound"]["points"] == [with_mentions]
    assert charts["responses"]["bins"] == 6
    sections = browser.execute_script(
        "return [...document.querySelectorAll('section')].map(s => s.className)"
    )
    assert set(SECTIONS) <= set(sections)
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    browser.execute_script("console.error('probe')")  # the log is read: an error would show
    assert any("probe" in entry["message"] for entry in browser.get_log("browser"))


def test_the_replay_page_draws_its_charts_in_headless_chromium(
    tmp_path: Path, browser: WebDriver
) -> None:
    """The same chart stack on the replay's page: each brand's two charts drawn, alerts marked."""
    page = tmp_path / "replay.html"
    buzzwatch("replay", str(SAMPLE_PATH), "--chart-out", str(page), "--no-progress")
    browser.get(page.as_uri())
    WebDriverWait(browser, BROWSER_SECONDS).until(
        lambda session: session.execute_script("return document.readyState") == "complete"
    )
    charts = browser.execute_script(CHARTS_SCRIPT)
    assert [chart["css"] for chart in charts] == ["chart volume", "chart share"] * 4  # 4 brands
    for chart in charts:
        assert chart["shown"] > 300 and chart["width"] > 300 and chart["height"] > 20
        assert chart["drawn"] > 0
    fired = browser.execute_script(
        "return document.querySelectorAll('svg.chart.volume .marker.volume,"
        " svg.chart.volume .marker.negative').length"
    )
    assert fired == 7  # the sample's seven alerts, each marked where it fired
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
