"""Leave-one-file-out choice of detection settings, the grid file and `evaluate nab --cv`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from buzzwatch.cli.evaluate_nab import GRID
from buzzwatch.evaluation.nab import (
    BUILTIN_PROFILES,
    NabError,
    Score,
    open_corpus,
    run_corpus,
    total,
)
from buzzwatch.evaluation.nab_cv import (
    GridError,
    ScoreMatrix,
    best_candidate,
    cross_validate,
    read_grid,
)
from pipeline.settings import DetectionSettings, detection_settings
from tests.test_nab import FIXTURE, run_cli

ACME = "tweets/Twitter_volume_ACME.csv"
DEAF = "[[candidate]]\nname = 'deaf'\nwarmup_hours = 1000\n"  # longer than any fixture file
PLAIN = "[[candidate]]\n"  # no overrides: the detector's defaults


def scored(name: str, standard: float, windows: int = 1) -> Score:
    raw = {"standard": standard, "reward_low_FP_rate": standard, "reward_low_FN_rate": standard}
    return Score(name, 1, windows, 0, 0, raw)


def matrix(families: list[str], rows: list[list[float]]) -> ScoreMatrix:
    """Standard raw scores per [candidate][file]; file i is named f<i>."""
    return ScoreMatrix(
        families, [[scored(f"f{i}", value) for i, value in enumerate(row)] for row in rows]
    )


# Candidate 0 is best on all four files together only through f1; 1 and 2 are identical.
LUCKY = [[0.0, 5.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0]]


def test_a_candidate_best_through_one_file_loses_that_files_fold() -> None:
    cv = cross_validate(matrix(["a"] * 4, LUCKY))
    assert cv.best == 0  # 5 against 3 on all files
    assert cv.choices == [0, 1, 0, 0]  # without f1, candidate 0 sums 0 against 2
    assert cv.selected == [True] * 4
    assert [s.name for s in cv.in_sample] == ["a", "overall"]
    assert cv.in_sample[-1].raw["standard"] == 5.0
    assert cv.out_of_sample[-1].raw["standard"] == 0.0  # f1 scored with candidate 1: 0


def test_ties_go_to_the_first_candidate_of_the_grid() -> None:
    tied = matrix(["a"] * 4, LUCKY).scores
    assert best_candidate(tied, [0, 2, 3]) == 1  # 1 and 2 both sum 3
    assert best_candidate(tied[::-1], [0, 2, 3]) == 0  # listed the other way round
    nudged = [LUCKY[0], LUCKY[1], [*LUCKY[2][:3], 1.0 + 1e-9]]
    assert best_candidate(matrix(["a"] * 4, nudged).scores, [0, 2, 3]) == 2  # a real gain wins
    assert best_candidate(tied, []) == 0
    cv = cross_validate(matrix(["a"] * 3, [[1.0, 1.0, 0.0], [1.0, 1.0, 5.0]]))
    assert (cv.best, cv.choices) == (1, [1, 1, 0])  # f2's fold: 2 against 2


def test_files_outside_the_selection_take_the_candidate_best_on_all_of_it() -> None:
    rows = [[0.0, 5.0, 0.0, -3.0], [1.0, 0.0, 1.0, 0.0]]
    cv = cross_validate(matrix(["tweets"] * 3 + ["machines"], rows), select_on={"tweets"})
    assert cv.selected == [True, True, True, False]
    assert cv.best == 0  # 5 against 2 on the tweets, whatever the machines say
    assert cv.choices == [0, 1, 0, 0]
    assert [s.name for s in cv.out_of_sample] == ["tweets", "machines", "overall"]
    assert [s.raw["standard"] for s in cv.out_of_sample] == [0.0, -3.0, -3.0]
    assert [s.raw["standard"] for s in cv.in_sample] == [5.0, -3.0, 2.0]
    with pytest.raises(NabError, match="no file of family realTweets"):
        cross_validate(matrix(["tweets"], [[1.0]]), select_on={"realTweets"})


def test_grid_candidates_override_the_configured_detection(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "[[candidate]]\nname = 'strict'\nwarmup_hours = 6\n"
        "volume = { critical_effect = 14.0, windows_minutes = [5, 15] }\n\n"
        "[[candidate]]\n[candidate.negative]\neffect = 7.0\n",
        encoding="utf-8",
    )
    base = detection_settings({"detection": {"volume": {"min_count": 9, "record_share": 0.3}}})
    strict, negative = read_grid(grid, base)
    assert strict.name == "strict" and strict.overrides["warmup_hours"] == 6
    assert strict.settings.warmup_hours == 6
    assert strict.settings.volume.critical_effect == 14.0
    assert strict.settings.volume.windows_minutes == (5, 15)
    assert (strict.settings.volume.min_count, strict.settings.volume.record_share) == (9, 0.3)
    assert negative.name == "negative.effect=7.0"
    assert negative.settings.negative.effect == 7.0
    assert negative.settings.negative.min_count == DetectionSettings().negative.min_count
    assert negative.settings.volume == base.volume


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PLAIN + "\n[[candidate]]\nvolume = { burst_rnak = 3 }\n", "unknown key volume.burst_rnak"),
        ("[[candidate]]\nwarmup = 3\n", "candidate 1: warmup=3: unknown key warmup"),
        ("[[candidate]]\nvolume = { record_share = 2 }\n", "volume.record_share: Input should"),
        ("[[candidate]]\nbucket_seconds = 90\n", "multiple of early_seconds"),
        ("[[candidates]]\nwarmup_hours = 3\n", r"expected \[\[candidate\]\] .*found candidates"),
        ("candidate = [1]\n", "candidate 1: not a table"),
        ("", r"expected \[\[candidate\]\] tables"),
        ("[[candidate]]\nname = 3\n", "candidate 1: name must be a non-empty string"),
        (DEAF + DEAF, "candidates 1 and 2 are both 'deaf'"),
        ("[[candidate\n", "grid.toml: "),
    ],
)
def test_a_bad_grid_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(text, encoding="utf-8")
    with pytest.raises(GridError, match=message):
        read_grid(grid, DetectionSettings())


def test_the_shipped_grid_holds_distinct_valid_candidates() -> None:
    candidates = read_grid(GRID, DetectionSettings())
    assert len(candidates) >= 2
    assert DetectionSettings() in [c.settings for c in candidates]  # the defaults are a candidate
    assert len({c.settings.model_dump_json() for c in candidates}) == len(candidates)


def write_grid(tmp_path: Path) -> Path:
    grid = tmp_path / "grid.toml"
    grid.write_text(DEAF + "\n" + PLAIN, encoding="utf-8")
    return grid


def fixture_scores() -> dict[str, list[Score]]:
    """Each grid candidate's file scores, by the plain corpus run."""
    corpus = open_corpus(FIXTURE)
    deaf = run_corpus(corpus, None, DetectionSettings(warmup_hours=1000))
    plain = run_corpus(corpus, None, DetectionSettings())
    return {"deaf": [r.score for r in deaf], "(no overrides)": [r.score for r in plain]}


def choice(scores: dict[str, list[Score]], files: Iterable[int]) -> str:
    """The candidate with the largest standard raw sum over `files`; the first on a tie."""
    chosen = list(files)
    sums = {name: sum(row[f].raw["standard"] for f in chosen) for name, row in scores.items()}
    return max(sums, key=sums.__getitem__)


def standard(score: Score) -> str:
    value = score.normalised(BUILTIN_PROFILES)["standard"]
    return "–" if value is None else f"{value:.2f}"


def family_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """(family, estimate) -> files, windows, detected, FP rows, std, low FP, low FN."""
    rows = [line.split() for line in stdout.splitlines()]
    return {
        (r[0], r[3]): r[1:3] + r[4:] for r in rows if len(r) == 9 and r[3] in ("in-sample", "LOFO")
    }


def file_rows(stdout: str) -> dict[str, list[str]]:
    """file -> windows, choice, std LOFO, std in-sample."""
    rows = [line.split() for line in stdout.splitlines()]
    return {r[0]: r[1:] for r in rows if r and r[0].endswith(".csv")}


def test_evaluate_nab_cv_scores_every_file_out_of_sample(tmp_path: Path) -> None:
    scores = fixture_scores()
    names = list(scores)
    files = [s.name for s in scores["deaf"]]
    best = choice(scores, range(len(files)))
    folds = {
        name: choice(scores, (g for g in range(len(files)) if g != f))
        for f, name in enumerate(files)
    }
    out_dir = tmp_path / "out"
    args = ["--data", str(FIXTURE), "--cv", "--grid", str(write_grid(tmp_path))]
    result = run_cli("evaluate", "nab", *args, "--out-dir", str(out_dir), "--no-progress")
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    assert "3 files × 2 candidates" in stdout and "(every family: 3 files)" in stdout
    assert (
        f"in-sample best (a default chosen on these files): #{names.index(best) + 1} {best}"
        in stdout
    )

    document = json.loads((out_dir / "cv.json").read_text(encoding="utf-8"))
    assert document["in_sample_best"] == best
    assert [c["name"] for c in document["candidates"]] == names
    assert document["candidates"][0]["overrides"] == {"warmup_hours": 1000}
    for row, name in zip(document["matrix"], names, strict=True):
        assert row["candidate"] == name
        assert [r["raw"] for r in row["files"]] == [s.raw for s in scores[name]]
    assert {f["name"]: f["choice"] for f in document["files"]} == folds
    assert all(f["selected"] for f in document["files"])

    by_file = file_rows(stdout)
    lofo = [scores[folds[f]][i] for i, f in enumerate(files)]
    inside = scores[best]
    for i, f in enumerate(files):
        assert by_file[f] == [
            str(lofo[i].windows),
            f"#{names.index(folds[f]) + 1}",
            standard(lofo[i]),
            standard(inside[i]),
        ]
    table = family_rows(stdout)
    for estimate, chosen, key in (
        ("LOFO", lofo, "out_of_sample"),
        ("in-sample", inside, "in_sample"),
    ):
        expected = {
            family: total(family, (s for s in chosen if s.name.startswith(f"{family}/")))
            for family in ("machines", "tweets")
        }
        expected["overall"] = total("overall", chosen)
        assert [r["name"] for r in document[key]] == list(expected)
        for family, score in expected.items():
            assert table[(family, estimate)][:4] == [
                str(score.files),
                str(score.windows),
                str(score.detected),
                str(score.false_positives),
            ]
            assert table[(family, estimate)][4] == standard(score)
        for record, score in zip(document[key], expected.values(), strict=True):
            assert record["raw"] == pytest.approx(score.raw)
    # On this fixture the defaults win in-sample only through ACME's windows, so ACME's fold,
    # where deaf and the defaults tie, takes deaf, the first candidate.
    assert best == "(no overrides)" and folds[ACME] == "deaf"
    assert float(table[("overall", "LOFO")][4]) < float(table[("overall", "in-sample")][4])


def test_evaluate_nab_cv_selects_on_some_families(tmp_path: Path) -> None:
    scores = fixture_scores()
    tweets = [i for i, s in enumerate(scores["deaf"]) if s.name.startswith("tweets/")]
    on_tweets = {name: sum(row[i].raw["standard"] for i in tweets) for name, row in scores.items()}
    assert on_tweets["(no overrides)"] > on_tweets["deaf"]  # the defaults find ACME's windows
    args = ["--data", str(FIXTURE), "--cv", "--grid", str(write_grid(tmp_path)), "--no-progress"]
    result = run_cli("evaluate", "nab", *args, "--select-on", "tweets")
    assert result.returncode == 0, result.stderr
    assert "(tweets: 2 files)" in result.stdout
    by_file = file_rows(result.stdout)
    # ACME's fold sees QUIET only, which has no window: deaf cannot lose there and is first.
    assert by_file[ACME][1] == "#1"
    assert by_file["tweets/Twitter_volume_QUIET.csv"][1] == "#2"
    assert by_file["machines/cpu_load.csv"][1] == "#2*"  # outside: the in-sample best
    assert "* outside the selection: scored with the in-sample best" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--select-on", "realTweets"], "--select-on realTweets: not among machines, tweets"),
        (
            ["--family", "machines", "--select-on", "tweets"],
            "--select-on tweets: not among machines",
        ),
        (["--grid", "GRID"], "candidate 2: warmup=3: unknown key warmup"),
        (["--grid", "missing.toml"], "missing.toml: No such file or directory"),
    ],
)
def test_evaluate_nab_cv_refuses_bad_arguments(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(PLAIN + "\n[[candidate]]\nwarmup = 3\n", encoding="utf-8")
    extra = [
        str(grid) if a == "GRID" else str(tmp_path / a) if a.endswith(".toml") else a for a in extra
    ]
    result = run_cli("evaluate", "nab", "--data", str(FIXTURE), "--cv", "--no-progress", *extra)
    assert result.returncode == 2
    assert result.stderr.startswith("evaluate nab: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


def test_grid_and_select_on_need_cv() -> None:
    for extra in (["--grid", str(GRID)], ["--select-on", "tweets"]):
        result = run_cli("evaluate", "nab", "--data", str(FIXTURE), "--no-progress", *extra)
        assert result.returncode == 2
        assert "evaluate nab: error: --grid and --select-on need --cv" in result.stderr
