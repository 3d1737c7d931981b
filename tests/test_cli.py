"""The commands as a user runs them: demo, generate, replay (100,000 mentions, bad lines)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.models import AlertEvent
from tests.helpers import buzzwatch

CONTRACT = {"id", "brand", "kind", "state", "at", "observed", "expected", "score"}


def test_demo_prints_the_airline_crisis() -> None:
    out = buzzwatch("demo").stdout
    assert "15577 sample mentions, 4 brands" in out
    crisis = [line for line in out.splitlines() if line.startswith("- Skyvale: negative spike")]
    assert len(crisis) == 1
    assert "at 2026-03-04T14:" in crisis[0] and "× normal" in crisis[0]
    lines = out.splitlines()
    explained = lines[lines.index(crisis[0]) + 1 : lines.index(crisis[0]) + 3]
    assert explained[0].startswith("    emerging: ") and "#boycottskyvale" in explained[0]
    assert explained[1].startswith("    widest-reaching negative: twitter ")
    assert "Kivo: negative" not in out  # the viral moment is not a negative alert


def test_replay_of_100k_generated_mentions_follows_the_contract(tmp_path: Path) -> None:
    source, alerts = tmp_path / "load.jsonl", tmp_path / "alerts.jsonl"
    generated = buzzwatch("generate", "--out", str(source), "--mentions", "100000")
    assert f"written to {source}" in generated.stdout
    lines = source.read_text(encoding="utf-8").splitlines()
    assert 90_000 <= len(lines) <= 110_000
    summary = buzzwatch("replay", str(source), "--alerts-out", str(alerts)).stdout
    assert f"replay: {len(lines)} records: {len(lines)} accepted, 0 invalid" in summary
    events = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert events and f"{len(events)} alert events" in summary
    for event in events:
        assert event.keys() >= CONTRACT
        assert event["at"].endswith("Z") and 0 <= event["score"] <= 1
        AlertEvent.model_validate(event)
    firing = {e["id"] for e in events if e["state"] == "firing"}
    assert {e["id"] for e in events if e["state"] == "resolved"} <= firing


def test_replay_reports_bad_lines_and_goes_on(tmp_path: Path) -> None:
    good = '{"id":"%s","created_at":"2026-03-02T10:0%d:00Z","text":"ok","brand":"acme"}'
    lines = [
        good % ("a", 1),
        "{oops",
        '{"id":"b","created_at":"2026-03-02T10:02:00Z","brand":"acme"}',
        '{"id":"c","created_at":"someday","text":"hi","brand":"acme"}',
        '{"id":"d","created_at":"2026-03-02T10:03:00Z","text":"who?"}',
        good % ("e", 4),
    ]
    source = tmp_path / "bad.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = buzzwatch("replay", str(source), "--alerts-out", str(tmp_path / "a.jsonl"))
    assert "replay: line 2: bad JSON" in result.stderr
    assert "replay: line 3: text: missing" in result.stderr
    assert "replay: line 4: created_at:" in result.stderr
    assert "replay: line 5: no brand" in result.stderr
    assert (
        "replay: 6 records: 2 accepted, 3 invalid, 1 without brand, 0 dropped, 0 late, 0 duplicate"
        in result.stdout
    )


def test_replay_reads_csv_and_applies_a_config_file(tmp_path: Path) -> None:
    source = tmp_path / "m.csv"
    rows = ["id,created_at,text,brand,lang"]
    rows += [f"{i},2026-03-02T{i // 60:02d}:{i % 60:02d}:00Z,Très bien,Café,fr" for i in range(780)]
    rows += [  # after the 12-hour warm-up
        f's{i},2026-03-02T13:00:{i % 60:02d}Z,"Horrible, une honte",Café,fr' for i in range(60)
    ]
    rows.append("last,2026-03-02T14:00:00Z,Merci,Café,fr")
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    alerts = tmp_path / "a.jsonl"
    out = buzzwatch("replay", str(source), "--alerts-out", str(alerts)).stdout
    assert "841 records: 841 accepted" in out
    assert '"kind":"volume","state":"firing"' in alerts.read_text()
    config = tmp_path / "c.toml"
    config.write_text("[detection.volume]\nmin_count = 1000\n", encoding="utf-8")
    buzzwatch("replay", str(source), "--alerts-out", str(alerts), "--config", str(config))
    assert '"kind":"volume"' not in alerts.read_text()
