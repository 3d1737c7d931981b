"""Choosing the detection settings on some crisis streams and reporting them on others: the
rule, the pooled figures it reads, the shipped grid and `evaluate crisis --cv`."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from buzzwatch.cli import main
from buzzwatch.cli.evaluate_crisis import GRID, _streams
from buzzwatch.evaluation.crisis import evaluate, match_alerts, negative_scorer
from buzzwatch.evaluation.crisis_cv import Summary, choose, summarise
from buzzwatch.evaluation.nab_cv import read_grid
from buzzwatch.evaluation.oracle import BrandCalibration, Calibration, OracleRun
from pipeline.models import Mention
from pipeline.settings import DetectionSettings
from pipeline.synthetic import DEMO_START, Incident, Scenario, generate
from pipeline.synthetic_ramped import ramped_scenario
from tests.test_crisis_eval import alert, brand

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def summary(found: int, false: int, ratio: float | None, required: int = 20) -> Summary:
    """A candidate that found `found` of `required` crises and slow burns and raised `false`
    false alerts over 10 brand-weeks."""
    return Summary(required, found, false, 10.0, ratio)


# --- the rule -------------------------------------------------------------------------------


def test_the_fastest_candidate_loses_when_it_raises_too_many_false_alerts() -> None:
    fast_but_noisy = summary(20, 4, 0.8)  # 0.4 false alerts per brand-week
    slower = summary(19, 3, 1.1)  # 95 % found, 0.3 per brand-week: both bars met
    slowest = summary(20, 0, 1.4)
    choice = choose([fast_but_noisy, slower, slowest])
    assert (choice.index, choice.qualifying) == (1, (1, 2))
    assert choose([fast_but_noisy, slowest]).index == 1


def test_the_fastest_candidate_loses_when_it_finds_too_few() -> None:
    missing = summary(18, 0, 0.5)  # 90 % found
    assert not missing.qualifies and missing.recall == pytest.approx(0.9)
    assert choose([missing, summary(20, 1, 1.3)]).index == 1


def test_ties_go_to_the_first_candidate_of_the_grid() -> None:
    first, second = summary(20, 2, 1.0), summary(19, 0, 1.0)
    assert choose([first, second]).index == 0
    assert choose([second, first]).index == 0
    assert choose([summary(20, 2, 1.0 + 1e-9), second]).index == 1  # a real gain wins


def test_a_qualifying_candidate_without_a_crisis_both_found_ranks_last() -> None:
    assert choose([summary(0, 0, None, required=0), summary(20, 0, 2.5)]).index == 1
    only = choose([summary(0, 0, None, required=0), summary(10, 0, 0.5)])
    assert (only.index, only.qualifying) == (0, (0,))


def test_when_none_qualifies_the_fewest_false_alerts_win_then_the_most_found() -> None:
    noisy, quiet, deaf = summary(20, 9, 0.9), summary(15, 4, 1.2), summary(0, 4, None)
    choice = choose([noisy, deaf, quiet])
    assert (choice.index, choice.qualifying) == (2, ())  # 4 false alerts, and 15 found
    assert choose([noisy, summary(0, 4, None), summary(0, 4, None)]).index == 1
    with pytest.raises(ValueError, match="no candidate"):
        choose([])


# --- the pooled figures ---------------------------------------------------------------------


def test_summary_pools_streams_and_divides_the_medians_not_the_ratios() -> None:
    """Three crises found after (detector, oracle) minutes (10, 20), (20, 5), (40, 30) over two
    streams: the median of the ratios would be 4/3, the ratio of the medians is 20 / 20."""
    first = _stream([(10, 20), (20, 5)], false_at=[3 * DAY])
    second = _stream([(40, 30), (None, 15)])
    pooled = summarise([first, second])
    assert (pooled.required, pooled.found, pooled.false_alerts) == (4, 3, 1)
    assert pooled.brand_weeks == pytest.approx(2 * 4 / 7)  # two 5-day streams after a day
    assert pooled.delay_ratio == pytest.approx(1.0)
    assert not pooled.qualifies  # 75 % found
    assert summarise([first]).delay_ratio == pytest.approx(15 / 12.5)
    assert summarise([_stream([(None, 15)])]).delay_ratio is None


def _stream(crises: list[tuple[int | None, int]], false_at: list[timedelta] | None = None) -> Any:
    """One brand's report: a crisis a day from the second, each found by the detector and the
    oracle after the given minutes (None: missed by the detector), and false alerts."""
    start = DEMO_START + DAY
    incidents = [
        Incident("a", "crisis", start + day * DAY + 10 * HOUR, HOUR, 6.0)
        for day in range(len(crises))
    ]
    scenario = Scenario(DEMO_START, 5, (brand("a"),), tuple(incidents))
    events = [
        alert("a", "negative", incident.start + detector * MINUTE)
        for incident, (detector, _) in zip(incidents, crises, strict=True)
        if detector is not None
    ]
    events += [alert("a", "negative", DEMO_START + at) for at in false_at or []]
    calibration = Calibration((2.0,), 0.3, 100, (BrandCalibration("a", 0.1, 1000, 6.0, 0.3),))
    alarms = tuple(
        incident.start + oracle * MINUTE
        for incident, (_, oracle) in zip(incidents, crises, strict=True)
    )
    return match_alerts(scenario, events, oracle=OracleRun(calibration, {"a": alarms}))


def test_a_held_stream_replays_with_the_scorer_of_an_earlier_replay() -> None:
    scenario = ramped_scenario(days=2, scale=0.05)
    mentions = list(generate(scenario))
    fresh = evaluate(scenario, mentions=mentions)
    scorer = negative_scorer(DetectionSettings())
    first = evaluate(scenario, mentions=mentions, scorer=scorer)
    again = evaluate(scenario, mentions=mentions, scorer=scorer)
    assert first.to_dict() == again.to_dict() == fresh.to_dict()
    assert fresh.overall.required_detected > 0  # something to compare
    stricter = DetectionSettings(negative_threshold=-0.3)
    with pytest.raises(ValueError, match="negative_threshold"):
        evaluate(scenario, stricter, mentions=mentions, scorer=scorer)
    lexicon = DetectionSettings(french_scorer="lexicon")
    with pytest.raises(ValueError, match="French scorer"):
        evaluate(scenario, lexicon, mentions=mentions, scorer=scorer)


# --- the grid and the streams ---------------------------------------------------------------


def test_the_shipped_grid_crosses_false_alarm_weeks_with_the_changes() -> None:
    candidates = read_grid(GRID, DetectionSettings())
    assert len(candidates) == 8
    assert DetectionSettings() in [c.settings for c in candidates]  # the defaults are one
    crossed = {
        (c.settings.sequential.false_alarm_weeks, c.settings.sequential.negative_changes)
        for c in candidates
    }
    changes = ((2.0, 4.0, 8.0, 16.0), (2.0,))
    assert crossed == {(weeks, rhos) for weeks in (0.5, 1, 3, 10) for rhos in changes}
    assert all(c.overrides.keys() == {"sequential"} for c in candidates)


def test_streams_name_each_scenarios_seeds() -> None:
    assert _streams("ramped:1-2") == [("ramped", [1, 2])]
    assert _streams("ramped:3-5,step:1-3") == [("ramped", [3, 4, 5]), ("step", [1, 2, 3])]
    assert _streams("step:4,1-2,ramped:7") == [("step", [4, 1, 2]), ("ramped", [7])]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-2", "scenario:seeds"),
        ("ramp:1", "unknown scenario 'ramp'"),
        ("ramped:1,ramped:2", "ramped named twice"),
        ("ramped:", "seeds as 1-3"),
        ("ramped:3-1", "no seed"),
    ],
)
def test_bad_streams_are_refused(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        _streams(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cv", "--choose-on", "ramped:1-2", "--report-on", "ramped:2-3"], "ramped seed 2: "),
        (["--cv", "--seeds", "1-2"], "--seeds: not with --cv"),
        (["--cv", "--scenario", "step"], "--scenario: not with --cv"),
        (["--choose-on", "ramped:1"], "need --cv"),
        (["--cv", "--grid", "no-such-grid.toml"], "no-such-grid.toml: "),
    ],
)
def test_the_command_refuses_what_it_cannot_cross_validate(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "crisis", *args, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


# --- the command ----------------------------------------------------------------------------

SAMPLE = re.compile(r"(.*?) +(in-sample|out-of-sample) +(\d.*)")
GRID_TEXT = "[[candidate]]\nname = 'deaf'\nwarmup_hours = 1000\n\n[[candidate]]\n"
TINY = ["--days", "2", "--scale", "0.05", "--oracle-weeks", "20"]


def test_command_chooses_on_some_streams_and_reports_on_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generated: list[tuple[int, int]] = []  # (brands, seed) of each stream generated

    def counted(scenario: Scenario, **kwargs: Any) -> Iterator[Mention]:
        generated.append((len(scenario.brands), scenario.seed))
        on_brand: Any = kwargs.get("on_brand")
        return generate(scenario, on_brand=on_brand)

    monkeypatch.setattr("buzzwatch.cli.evaluate_crisis.generate", counted)
    grid, out = tmp_path / "grid.toml", tmp_path / "cv.json"
    grid.write_text(GRID_TEXT, encoding="utf-8")
    args = ["--cv", "--grid", str(grid), "--choose-on", "ramped:1"]
    args += ["--report-on", "ramped:2,step:1", *TINY, "--json", str(out), "--check"]
    code = main(["evaluate", "crisis", *args, "--no-progress"])
    printed = capsys.readouterr().out
    document = json.loads(out.read_text(encoding="utf-8"))

    assert generated == [(6, 1), (6, 2), (8, 1)]  # each stream once, for both candidates
    candidates = document["candidates"]
    assert [c["name"] for c in candidates] == ["deaf", "(no overrides)"]
    assert candidates[0]["recall"] == 0 and not candidates[0]["qualifies"]
    expected = _rule(candidates)
    chosen = document["chosen"]
    assert (chosen["name"], chosen["number"]) == (candidates[expected]["name"], expected + 1)
    assert code == (1 if document["out_of_sample"]["pooled_goals_failed"] else 0)

    lines = printed.splitlines()
    rows = [m.groups() for m in map(re.compile(r" *(\d+)(\*?) ").match, lines) if m]
    assert rows == [("1", "*" if expected == 0 else ""), ("2", "*" if expected == 1 else "")]
    assert f"#{expected + 1} {chosen['name']}" in printed
    samples = [m.groups() for m in map(SAMPLE.match, lines) if m]
    assert [(label, sample) for label, sample, _ in samples] == [
        ("ramped 1", "in-sample"),
        ("ramped 2", "out-of-sample"),
        ("step 1", "out-of-sample"),
        ("all", "in-sample"),
        ("all", "out-of-sample"),
    ]
    assert samples[0][2] == samples[3][2]  # one choosing stream: pooled, the same figures
    chosen_row = next(line for line in lines if line.startswith(f"{expected + 1:>2}*"))
    assert samples[0][2] in chosen_row  # ...as the chosen candidate's row
    assert any(line.startswith("goals in-sample (ramped 1): ") for line in lines)
    assert any(line.startswith("goals out-of-sample (ramped 2, step 1): ") for line in lines)

    inside, outside = document["in_sample"]["runs"], document["out_of_sample"]["runs"]
    assert [(r["scenario"], r["seed"]) for r in inside] == [("ramped", 1)]
    assert [(r["scenario"], r["seed"]) for r in outside] == [("ramped", 2), ("step", 1)]
    assert inside[0]["overall"] == candidates[expected]["runs"][0]["overall"]
    # out of sample, the chosen settings (the detector's figures need no oracle)
    settings = DetectionSettings.model_validate(chosen["settings"])
    again = evaluate(ramped_scenario(days=2, seed=2, scale=0.05), settings).overall.to_dict()
    assert outside[0]["overall"] == again


def _rule(candidates: list[dict[str, Any]]) -> int:
    """The rule, from the figures the command wrote: the smallest delay ratio among those with
    >= 95 % found and <= 0.3 false alerts per brand-week, else the fewest false alerts, then
    the most found; the first on ties."""
    passing = [
        i
        for i, c in enumerate(candidates)
        if (c["recall"] is None or c["recall"] >= 0.95)
        and (c["false_alerts_per_brand_week"] or 0) <= 0.3
    ]
    if passing:
        ratios = [candidates[i]["median_crisis_delay_ratio"] for i in passing]
        return passing[ratios.index(min(ratios, key=lambda r: math.inf if r is None else r))]
    ranks = [(c["false_alerts_per_brand_week"], -(c["recall"] or 0)) for c in candidates]
    return ranks.index(min(ranks))
