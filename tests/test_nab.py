"""NAB scoring against hand-computed values, and the `backtest` / `evaluate nab` commands."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from buzzwatch.evaluation.nab import (
    BUILTIN_PROFILES,
    NabError,
    Profile,
    open_corpus,
    probation,
    read_series,
    row_value,
    scaled_sigmoid,
    score_file,
    total,
    window_rows,
)
from tests.helpers import buzzwatch

FIXTURE = Path(__file__).parent / "fixtures" / "nab"
ACME = FIXTURE / "data" / "tweets" / "Twitter_volume_ACME.csv"
STANDARD = BUILTIN_PROFILES["standard"]
TINY_WINDOWS = [(30, 39), (60, 69)]  # N = 100 rows: probation is rows 0…14


def flags(n: int, *rows: int) -> list[float]:
    return [1.0 if i in rows else 0.0 for i in range(n)]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buzzwatch", *args], capture_output=True, text=True, check=False
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        *[(-1, 0.986614), (-0.75, 0.954045), (-0.5, 0.848284), (-0.25, 0.554600), (0, 0)],
        *[(0.5, -0.848284), (1, -0.986614), (2, -0.999909), (3, -0.9999994), (3.01, -1)],
    ],
)
def test_scaled_sigmoid_matches_the_spec(y: float, expected: float) -> None:
    assert scaled_sigmoid(y) == pytest.approx(expected, abs=5e-7)


def test_scaled_sigmoid_is_exactly_minus_one_only_beyond_three() -> None:
    assert scaled_sigmoid(3) != -1.0
    assert scaled_sigmoid(3.0001) == -1.0


@pytest.mark.parametrize(("rows", "p"), [(100, 15), (4032, 604), (4999, 749), (15902, 750)])
def test_probation_is_15_percent_capped_at_750(rows: int, p: int) -> None:
    assert probation(rows) == p


def test_row_values_inside_before_and_after_windows() -> None:
    w = [(10, 19)]  # W = 10
    assert row_value(10, w, STANDARD) == pytest.approx(1.0, abs=1e-12)  # first row: A_TP
    assert row_value(19, w, STANDARD) == pytest.approx(0.248242, abs=1e-6)  # S(−0.1)/S(−1)
    assert row_value(5, w, STANDARD) == pytest.approx(-0.11, abs=1e-12)  # before: −A_FP
    assert row_value(25, w, STANDARD) == pytest.approx(-0.102422, abs=1e-6)  # 0.11·S(6/9)
    assert row_value(19 + 27, w, STANDARD) == pytest.approx(-0.10999993, abs=1e-8)  # S(3)
    assert row_value(19 + 28, w, STANDARD) == -0.11  # beyond three widths: full −A_FP
    assert row_value(25, w, BUILTIN_PROFILES["reward_low_FP_rate"]) == pytest.approx(-0.204844)


def test_fp_decay_counts_from_the_preceding_window_only() -> None:
    w = [(10, 19), (40, 49)]
    assert row_value(38, w, STANDARD) == pytest.approx(-0.109994, abs=1e-6)  # S(19/9)
    assert row_value(21, w, STANDARD) > row_value(38, w, STANDARD)  # near the end of the 1st
    assert row_value(50, w, STANDARD) == pytest.approx(0.11 * scaled_sigmoid(1 / 9))


def test_tiny_file_raw_and_normalised_scores_by_hand() -> None:
    # 10: probation, ignored; 20: before the first window, −A_FP; 30: first row of window 1,
    # +A_TP; 35: a later flag in the same window, ignored; 45: 6 rows after window 1 (W' = 10),
    # A_FP·S(6/9) = −0.931110·A_FP; window 2 never flagged: −A_FN.
    score = score_file("tiny", flags(100, 10, 20, 30, 35, 45), TINY_WINDOWS, BUILTIN_PROFILES)
    assert (score.windows, score.detected, score.false_positives) == (2, 1, 2)
    assert score.raw["standard"] == pytest.approx(-0.212422, abs=1e-6)
    assert score.raw["reward_low_FP_rate"] == pytest.approx(-0.424844, abs=1e-6)
    assert score.raw["reward_low_FN_rate"] == pytest.approx(-1.212422, abs=1e-6)
    normalised = score.normalised(BUILTIN_PROFILES)
    assert normalised["standard"] == pytest.approx(44.689449, abs=1e-5)  # 100·(raw + 2)/4
    assert normalised["reward_low_FP_rate"] == pytest.approx(39.378897, abs=1e-5)
    assert normalised["reward_low_FN_rate"] == pytest.approx(46.459632, abs=1e-5)  # (raw+4)/6


def test_only_the_earliest_flag_of_a_window_counts() -> None:
    early = score_file("f", flags(100, 33), TINY_WINDOWS, BUILTIN_PROFILES).raw["standard"]
    both = score_file("f", flags(100, 33, 36, 39), TINY_WINDOWS, BUILTIN_PROFILES)
    late = score_file("f", flags(100, 36), TINY_WINDOWS, BUILTIN_PROFILES).raw["standard"]
    assert both.raw["standard"] == early == pytest.approx(0.954147 - 1, abs=1e-6)
    assert both.false_positives == 0 and both.detected == 1
    assert late == pytest.approx(0.771927 - 1, abs=1e-6)


def test_probation_rows_are_never_scored() -> None:
    score = score_file("f", flags(100, *range(15)), TINY_WINDOWS, BUILTIN_PROFILES)
    assert (score.detected, score.false_positives, score.raw["standard"]) == (0, 0, -2.0)
    assert score_file("f", flags(100, 15), TINY_WINDOWS, BUILTIN_PROFILES).false_positives == 1


def test_a_window_wholly_in_the_probation_is_not_counted() -> None:
    windows = [(2, 8), (30, 39)]
    score = score_file("f", flags(100, 5, 20), windows, BUILTIN_PROFILES)
    assert (score.windows, score.detected, score.false_positives) == (1, 0, 1)
    # row 20 decays from the window (2, 8): 0.11·S(12/6) − A_FN
    assert score.raw["standard"] == pytest.approx(-0.109990 - 1, abs=1e-6)


def test_null_detector_scores_0_and_perfect_one_100() -> None:
    null = score_file("f", [0.0] * 100, TINY_WINDOWS, BUILTIN_PROFILES)
    perfect = score_file("f", flags(100, 30, 60), TINY_WINDOWS, BUILTIN_PROFILES)
    assert null.normalised(BUILTIN_PROFILES) == dict.fromkeys(BUILTIN_PROFILES, 0.0)
    assert perfect.normalised(BUILTIN_PROFILES) == pytest.approx(
        dict.fromkeys(BUILTIN_PROFILES, 100.0)
    )
    calm = score_file("calm", [0.0] * 50, [], BUILTIN_PROFILES)
    assert calm.normalised(BUILTIN_PROFILES)["standard"] is None
    corpus = total("all", [perfect, calm, null])
    assert (corpus.files, corpus.windows, corpus.detected) == (3, 4, 2)
    assert corpus.normalised(BUILTIN_PROFILES)["standard"] == pytest.approx(50.0)


def test_threshold_turns_scores_into_flags() -> None:
    scores = [0.0] * 100
    scores[30], scores[60] = 0.7, 0.2
    assert score_file("f", scores, TINY_WINDOWS, BUILTIN_PROFILES).detected == 0
    assert score_file("f", scores, TINY_WINDOWS, BUILTIN_PROFILES, threshold=0.5).detected == 1


def test_series_counts_round_half_up_and_spacing_is_the_median(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    rows = ["00:00", "00:05", "00:10", "00:20", "00:25"]
    values = ["2.5", "3.5", "2.49", "-1.2", "7"]
    lines = [f"2015-03-01 {t}:00,{v}" for t, v in zip(rows, values, strict=True)]
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", encoding="utf-8")
    series = read_series(path)
    assert series.counts() == [3, 4, 2, 0, 7]
    assert series.spacing() == 300
    assert series.timestamps[0] == "2015-03-01 00:00:00" and series.values[2] == "2.49"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,count\n2015-03-01 00:00:00,1\n", "line 1: expected the header"),
        ("timestamp,value\n2015-03-01 00:00:00,1\nyesterday,2\n", "line 3: bad timestamp"),
        ("timestamp,value\n2015-03-01 00:00:00,many\n", "line 2: bad value 'many'"),
        ("timestamp,value\n2015-03-01 00:00:00,nan\n", "line 2: bad value"),
        ("timestamp,value\n2015-03-01 00:00:00,1,2\n", "line 2: expected 2 fields, got 3"),
        ("timestamp,value\n", "no data rows"),
    ],
)
def test_malformed_series_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NabError, match=message):
        read_series(path)


def test_repeated_times_are_rows_and_the_detector_sees_them_in_order(tmp_path: Path) -> None:
    path = tmp_path / "dst.csv"
    times = ["01:50", "01:55", "03:00", "03:00", "02:00", "02:05"]
    path.write_text(
        "timestamp,value\n" + "".join(f"2014-03-09 {t}:00,1\n" for t in times), encoding="utf-8"
    )
    series = read_series(path)
    assert series.spacing() == 300
    minutes = [t.strftime("%H:%M") for t in series.timeline(300)]
    assert minutes == ["01:50", "01:55", "03:00", "03:05", "03:10", "03:15"]
    assert window_rows(series, [("2014-03-09 03:00:00", "2014-03-09 02:05:00")]) == [(2, 5)]


def test_windows_map_to_rows_of_the_file() -> None:
    corpus = open_corpus(FIXTURE)
    series = read_series(ACME)
    windows = corpus.windows["tweets/Twitter_volume_ACME.csv"]
    assert window_rows(series, windows) == [(150, 189), (290, 329)]
    with pytest.raises(NabError, match="does not match rows"):
        window_rows(series, [("2015-03-01 12:33:00", "2015-03-01 15:47:53")])


def test_profiles_fall_back_to_the_built_in_weights(tmp_path: Path) -> None:
    assert open_corpus(FIXTURE).profiles == BUILTIN_PROFILES
    shutil.copytree(FIXTURE / "data", tmp_path / "data")
    shutil.copytree(FIXTURE / "labels", tmp_path / "labels")
    corpus = open_corpus(tmp_path)
    assert corpus.builtin_profiles and corpus.profiles == BUILTIN_PROFILES
    assert BUILTIN_PROFILES["reward_low_FN_rate"] == Profile(tp=1.0, fp=0.11, fn=2.0)
    with pytest.raises(NabError, match="is not a NAB directory"):
        open_corpus(tmp_path / "data")


def test_backtest_writes_one_scored_row_per_input_row(tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    result = buzzwatch("backtest", str(ACME), "--out", str(out))
    assert "backtest: 400 rows" in result.stdout
    rows, source = read_rows(out), read_rows(ACME)
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    assert [(r["timestamp"], r["value"]) for r in rows] == [
        (r["timestamp"], r["value"]) for r in source
    ]
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)


def test_backtest_rejects_a_malformed_file_with_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("timestamp,value\n2015-03-01 00:00:00,3\n2015-03-01 00:05:00,x\n")
    result = run_cli("backtest", str(source), "--out", str(tmp_path / "o.csv"))
    assert result.returncode == 2
    assert f"backtest: error: {source}: line 3: bad value 'x'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.csv").exists()


def test_evaluate_nab_prints_families_and_writes_consistent_results(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    args = ["evaluate", "nab", "--data", str(FIXTURE), "--out-dir", str(out_dir), "--no-progress"]
    stdout = buzzwatch(*args).stdout
    assert "3 files, threshold 1.0, profiles config/profiles.json" in stdout
    table = {line.split()[0]: line.split()[1:] for line in stdout.splitlines()[2:5]}
    assert list(table) == ["machines", "tweets", "overall"]
    assert [table[name][:2] for name in table] == [["1", "1"], ["2", "2"], ["3", "3"]]

    acme = read_rows(out_dir / "tweets" / "Twitter_volume_ACME.csv")
    assert list(acme[0]) == ["timestamp", "value", "anomaly_score", "label"]
    assert len(acme) == 400 and sum(r["label"] == "1" for r in acme) == 80
    assert acme[150]["label"] == "1" and acme[149]["label"] == "0"

    document = json.loads((out_dir / "results.json").read_text())
    records = {r["name"]: r for r in document["results"]}
    anomaly = [float(r["anomaly_score"]) for r in acme]
    rescored = score_file("acme", anomaly, [(150, 189), (290, 329)], BUILTIN_PROFILES)
    record = records["tweets/Twitter_volume_ACME.csv"]
    assert record["raw"] == pytest.approx(rescored.raw)
    assert record["false_positive_rows"] == rescored.false_positives
    assert records["overall"]["windows"] == 3 and records["tweets"]["scope"] == "family"
    assert len(read_rows(out_dir / "results.csv")) == 3 + 2 + 1


def test_evaluate_nab_one_family_and_built_in_profiles(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "data", tmp_path / "data")
    shutil.copytree(FIXTURE / "labels", tmp_path / "labels")
    args = ["evaluate", "nab", "--data", str(tmp_path), "--family", "tweets", "--no-progress"]
    stdout = buzzwatch(*args).stdout
    assert "2 files, threshold 1.0, profiles built-in" in stdout
    assert "machines" not in stdout and "overall" in stdout


def test_evaluate_nab_rejects_a_directory_that_is_not_nab(tmp_path: Path) -> None:
    result = run_cli("evaluate", "nab", "--data", str(tmp_path), "--no-progress")
    assert result.returncode == 2
    assert f"evaluate nab: error: {tmp_path} is not a NAB directory" in result.stderr
    missing = run_cli("evaluate", "nab", "--data", str(FIXTURE), "--family", "realTweets")
    assert missing.returncode == 2 and "no family realTweets" in missing.stderr
    assert "Traceback" not in result.stderr + missing.stderr
