"""The commands as a user runs them: demo, generate, replay (100,000 mentions, bad lines)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from buzzwatch.cli import command_of
from buzzwatch.cli import parser_for as cli_parser
from pipeline.models import AlertEvent
from tests.helpers import buzzwatch

ROOT = Path(__file__).resolve().parent.parent
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


COMMANDS_WITH_A_CONFIG = [
    ["replay", "pipeline/samples/demo.jsonl.gz"],
    ["produce", "pipeline/samples/demo.jsonl.gz"],
    ["detect"],
    ["notify"],
    ["ingest"],
    ["desk"],
    ["topics", "create"],
    ["skip", "0", "0"],
    [
        "backtest",
        "tests/fixtures/nab/data/realTweets/Twitter_volume_AAPL.csv",
        "--out",
        "/dev/null",
    ],
    ["evaluate", "nab", "--data", "tests/fixtures/nab"],
    ["evaluate", "crisis"],
]


READ_DETECTION = {"replay", "detect", "backtest", "evaluate"}  # desk asks for its token first


@pytest.mark.parametrize("command", COMMANDS_WITH_A_CONFIG, ids=lambda c: c[0])
def test_every_command_refuses_a_bad_configuration_by_name(
    command: list[str], tmp_path: Path
) -> None:
    """A misspelt table or key, a missing file: exit 2, one line naming file, table and key."""
    cases = {
        "[detecton]\nwarmup_hours = 1\n": "unknown table [detecton] (did you mean [detection]?)",
        "[detection.volume]\nmin_cout = 3\n": "[detection.volume] unknown key min_cout",
        "[kafka]\nbootstrap_server = 'x'\n": "[kafka] unknown key bootstrap_server",
    }
    for number, (text, said) in enumerate(cases.items()):
        config = tmp_path / f"c{number}.toml"
        config.write_text(text)
        result = run(*command, "--config", str(config))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"{command[0]}: error: {config}: {said}")
        assert result.stderr.count("\n") == 1
    result = run(*command, "--config", str(tmp_path / "none.toml"))
    assert result.returncode == 2 and "none.toml: no such configuration file" in result.stderr
    assert "Traceback" not in result.stderr
    latin = tmp_path / "latin.toml"
    latin.write_bytes("[detection]\nwarmup_hours = 1 # réglé\n".encode("latin-1"))
    result = run(*command, "--config", str(latin))
    assert result.returncode == 2 and result.stderr.startswith(f"{command[0]}: error: {latin}: ")
    assert "utf-8" in result.stderr and result.stderr.count("\n") == 1
    wrong = {"detection = 5\n": "[detection] must be a table, not 5"}
    if command[0] in READ_DETECTION:
        wrong["[detection]\nbucket_seconds = 'x'\n"] = "bucket_seconds"  # pydantic refuses it
    for text, said in wrong.items():
        config = tmp_path / "wrong.toml"
        config.write_text(text)
        result = run(*command, "--config", str(config))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"{command[0]}: error: {config}") and said in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["replay", "produce"])
def test_a_file_that_cannot_be_read_is_refused_in_one_line(command: str, tmp_path: Path) -> None:
    result = run(command, str(tmp_path / "missing.jsonl"), "--bootstrap-servers", "127.0.0.1:9")
    if command == "replay":  # replay takes no --bootstrap-servers without --kafka-topic
        result = run(command, str(tmp_path / "missing.jsonl"))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"{command}: error: {tmp_path / 'missing.jsonl'}: No such file or directory\n"
    )


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buzzwatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_log_lines_have_levels_and_the_kafka_client_speaks_only_when_asked(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[kafka]\nbootstrap_servers = '127.0.0.1:1'\n")
    args = ["skip", "0", "0", "--config", str(config)]
    quiet = run(*args)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert quiet.stderr.splitlines()[-1].startswith("skip: error: Kafka: ")
    assert " INFO kafka." not in quiet.stderr and " DEBUG " not in quiet.stderr
    loud = run("--log-level", "debug", *args)
    assert " DEBUG kafka." in loud.stderr and " INFO kafka." in loud.stderr


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_each_command_is_there_when_asked_for() -> None:
    everything = _subcommands(cli_parser())
    for command, full in everything.items():
        asked = _subcommands(cli_parser(command))
        assert command in asked
        assert asked[command].format_help() == full.format_help()


@pytest.mark.parametrize("with_config", [False, True], ids=["alone", "with-config"])
def test_replay_imports_neither_kafka_nor_http_nor_the_reports(
    tmp_path: Path, with_config: bool
) -> None:
    """A replay loads what it uses; checking a configuration file reads the services' settings
    models, not their clients or servers."""
    source = tmp_path / "one.jsonl"
    source.write_text(
        '{"id": "1", "created_at": "2026-03-02T00:00:00Z", "text": "hello", "brand": "acme"}\n'
    )
    config = ["--config", str(ROOT / "config" / "buzzwatch.example.toml")] if with_config else []
    script = (
        "import sys; from buzzwatch.cli import main; "
        f"main(['replay', {str(source)!r}, '--no-progress', *{config!r}]); "
        "print(sorted(m for m in sys.modules if m.startswith(('buzzwatch.evaluation', "
        "'buzzwatch.report', 'buzzwatch.cli.evaluate', 'buzzwatch.cli.report', 'kafka', "
        "'fastapi', 'hypercorn', 'feedparser', 'buzzwatch.web'))))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_the_command_asked_for_is_the_first_word_after_the_log_level() -> None:
    assert command_of(["--log-level", "debug", "replay", "x.jsonl"]) == "replay"
    assert command_of(["--log-level=debug", "report", "-h"]) == "report"
    assert command_of(["-h", "replay"]) is None  # the full help, every command in it
    assert command_of([]) is None
