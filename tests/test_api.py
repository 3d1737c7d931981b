"""The notebook API (`buzzwatch.api`): the replay of `buzzwatch replay`, its alerts and its
series as DataFrames, from a file or a DataFrame, and the example notebook script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from defusedxml import ElementTree as ET

from buzzwatch.api import ALERT_COLUMNS, replay
from buzzwatch.configuration import ConfigError
from buzzwatch.series import COLUMNS, write_series
from pipeline.synthetic import SAMPLE_PATH
from tests.helpers import buzzwatch

ROOT = Path(__file__).parent.parent
CONFIG = """
[detection]
resolve_after_minutes = 30

[brands."Café Colette"]
aliases = ["Colette"]
"""


def test_the_api_gives_what_buzzwatch_replay_writes(tmp_path: Path) -> None:
    config = tmp_path / "buzzwatch.toml"
    config.write_text(CONFIG, encoding="utf-8")
    alerts, series = tmp_path / "alerts.jsonl", tmp_path / "series.csv"
    buzzwatch(
        "replay", str(SAMPLE_PATH), "--config", str(config), "--alerts-out", str(alerts),
        "--series-out", str(series), "--no-progress",
    )  # fmt: skip
    result = replay(SAMPLE_PATH, config=config)
    assert [event.to_json() for event in result.events] == alerts.read_text("utf-8").splitlines()
    assert len(result.events) > 5
    write_series(result.series, tmp_path / "ours.csv")  # as the CLI writes it
    assert (tmp_path / "ours.csv").read_bytes() == series.read_bytes()
    assert len(result.series) > 1000 and list(result.series.columns) == list(COLUMNS)
    assert list(result.alerts.columns) == list(ALERT_COLUMNS)
    written_ids = [json.loads(line)["id"] for line in alerts.read_text("utf-8").splitlines()]
    assert list(result.alerts.id) == written_ids


def test_a_dataframe_of_mentions_replays_as_its_file_does() -> None:
    frame = pd.read_json(SAMPLE_PATH, lines=True, dtype=False)
    from_file, from_frame = replay(SAMPLE_PATH), replay(frame)
    assert len(from_file.alerts) > 5
    assert from_frame.alerts.equals(from_file.alerts)
    assert from_frame.series.equals(from_file.series)
    assert from_frame.summary == from_file.summary

    flat = pd.DataFrame(
        {
            "id": ["a", "b"],
            "created_at": pd.to_datetime(["2026-03-02T10:00:00Z", "2026-03-02T10:01:00Z"]),
            "text": ["Acme is great", "Acme again"],
            "brand": ["Acme", "Acme"],
            "author_id": ["u1", None],  # as CSV spells authors; empty cells are absent fields
            "engagement": [3, None],
        }
    )
    result = replay(flat)
    assert (result.summary.accepted, result.summary.invalid) == (2, 0)
    flat.loc[1, "created_at"] = None  # a row that cannot be a mention: counted, with its number
    result = replay(flat)
    assert (result.summary.accepted, result.summary.invalid) == (1, 1)
    assert result.summary.rejected.first == [(2, "created_at: missing")]


def test_dataframes_as_users_read_them_replay_as_the_file_does(tmp_path: Path) -> None:
    from_file = replay(SAMPLE_PATH)
    nested = pd.read_json(SAMPLE_PATH, lines=True, dtype=False)
    flat = pd.json_normalize(nested.to_dict(orient="records"))  # author.id, author.name...
    assert "author.id" in flat.columns
    assert replay(flat).alerts.equals(from_file.alerts)

    exported = tmp_path / "mentions.csv"  # a CSV export: author_* columns, blank cells
    table = flat.rename(columns=lambda c: c.replace("author.", "author_"))
    table.to_csv(exported, index=False)
    as_text = pd.read_csv(exported, dtype=str, keep_default_na=False)  # as the guide says
    assert (as_text == "").any().any()  # blank cells, absent fields
    result = replay(as_text)
    assert result.alerts.equals(from_file.alerts) and result.series.equals(from_file.series)

    guessed = pd.read_csv(exported)  # pandas's defaults: a blank-celled id column is float
    guessed.loc[0, "id"] = None
    guessed["id"] = pd.to_numeric(guessed["id"], errors="coerce")
    with pytest.raises(ValueError, match="dtype=str"):
        replay(guessed)


def test_a_configuration_is_checked_as_a_file_would_be() -> None:
    with pytest.raises(ConfigError, match=r"\[detection\] unknown key resolve_after"):
        replay(SAMPLE_PATH, config={"detection": {"resolve_after": 30}})


def test_the_example_notebook_runs(tmp_path: Path) -> None:
    script = ROOT / "docs" / "examples" / "notebook.py"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mentions counted" in result.stdout and "alert events" in result.stdout
    chart = ET.parse(tmp_path / "volume.svg").getroot()  # well-formed, two charts
    assert len(chart.findall("{http://www.w3.org/2000/svg}svg")) == 2
