"""`buzzwatch evaluate nab`: the Numenta Anomaly Benchmark through the volume detector, at
fixed defaults or cross-validated over a grid."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail
from buzzwatch.evaluation.nab import (
    MAIN_PROFILES,
    Corpus,
    FileResult,
    NabError,
    Profile,
    Score,
    family_scores,
    open_corpus,
    run_corpus,
    total,
    write_scored,
)
from buzzwatch.evaluation.nab_cv import (
    SELECTION_PROFILE,
    Candidate,
    CrossValidation,
    GridError,
    ScoreMatrix,
    cross_validate,
    read_grid,
    score_matrix,
)
from pipeline.settings import DetectionSettings, detection_settings

COLUMNS = ("std", "low FP", "low FN")
FIGURES = f"{'detected':>9}{'FP rows':>8}" + "".join(f"{c:>8}" for c in COLUMNS)
GRID = Path(__file__).resolve().parents[2] / "config" / "nab-grid.toml"


def add_to(benchmarks: SubParsers) -> None:
    """Register `evaluate nab` in the `evaluate` group."""
    nab = benchmarks.add_parser("nab", help="Numenta Anomaly Benchmark, fixed threshold 1.0")
    nab.add_argument("--data", type=Path, required=True, help="NAB directory (data/, labels/)")
    nab.add_argument("--family", action="extend", nargs="+", metavar="NAME", help="default: all")
    nab.add_argument(
        "--out-dir", type=Path, help="write scored files and results.{json,csv}; with --cv, cv.json"
    )
    nab.add_argument("--config", type=Path, help="TOML configuration file")
    nab.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    nab.add_argument(
        "--cv", action="store_true", help="leave-one-file-out cross-validation over a grid"
    )
    nab.add_argument(
        "--grid",
        type=Path,
        help="with --cv: [[candidate]] overrides (default: config/nab-grid.toml)",
    )
    nab.add_argument(
        "--select-on",
        action="extend",
        nargs="+",
        metavar="FAMILY",
        help="with --cv: families whose files choose the candidate (default: all evaluated)",
    )
    nab.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.cv and (args.grid or args.select_on):
        return fail("evaluate nab", "--grid and --select-on need --cv")
    with configured(args.config) as config:
        settings = detection_settings(config)
    try:
        corpus = open_corpus(args.data)
        if args.cv:
            return _cross_validate(args, corpus, settings)
        results = run_corpus(corpus, args.family, settings, progress=not args.no_progress)
    except (NabError, GridError) as exc:
        return fail("evaluate nab", str(exc))
    totals = family_scores((r.family, r.score) for r in results)
    source = "built-in" if corpus.builtin_profiles else "config/profiles.json"
    print(f"NAB {args.data}: {len(results)} files, threshold 1.0, profiles {source}")
    print(_table(totals, corpus.profiles))
    if args.out_dir:
        _write_results(args.out_dir, results, totals, corpus.profiles)
        print(f"scored files and results.json, results.csv written to {args.out_dir}")
    return 0


def _cross_validate(args: argparse.Namespace, corpus: Corpus, settings: DetectionSettings) -> int:
    grid: Path = args.grid or GRID
    candidates = read_grid(grid, settings)
    if SELECTION_PROFILE not in corpus.profiles:
        raise NabError(f"no {SELECTION_PROFILE!r} profile to choose candidates on")
    evaluated = args.family or corpus.families()
    outside = sorted(set(args.select_on or ()) - set(evaluated))
    if outside:
        raise NabError(f"--select-on {', '.join(outside)}: not among {', '.join(evaluated)}")
    matrix = score_matrix(corpus, args.family, candidates, progress=not args.no_progress)
    cv = cross_validate(matrix, args.select_on)
    source = "built-in" if corpus.builtin_profiles else "config/profiles.json"
    print(
        f"NAB {args.data}: {len(cv.choices)} files × {len(candidates)} candidates of {grid}, "
        f"threshold 1.0, profiles {source}"
    )
    print(_cv_tables(args.select_on, candidates, matrix, cv, corpus.profiles))
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        document = _cv_document(args, grid, candidates, matrix, cv, corpus.profiles)
        path = args.out_dir / "cv.json"
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"matrix, choices and figures written to {path}")
    return 0


def _cv_tables(
    select_on: Sequence[str] | None,
    candidates: Sequence[Candidate],
    matrix: ScoreMatrix,
    cv: CrossValidation,
    profiles: dict[str, Profile],
) -> str:
    """The candidates on the selection files, in- and out-of-sample figures, each file's fold."""
    selection = [f for f, chosen in enumerate(cv.selected) if chosen]
    scope = ", ".join(select_on) if select_on else "every family"
    lines = [
        f"each file's fold: the best standard raw score summed over the other selection files"
        f" ({scope}: {len(selection)} files); ties to the first candidate",
        "",
        f"{'#':>3}{FIGURES}{'folds':>7}  candidate (in-sample, on the selection files)",
    ]
    for c, (candidate, row) in enumerate(zip(candidates, matrix.scores, strict=True)):
        on_selection = total(candidate.name, (row[f] for f in selection))
        folds = sum(cv.choices[f] == c for f in selection)
        lines.append(f"{c + 1:>3}{_figures(on_selection, profiles)}{folds:>7}  {candidate.name}")
    lines += [
        f"in-sample best (a default chosen on these files): #{cv.best + 1} "
        f"{candidates[cv.best].name}",
        "",
        f"{'family':<24}{'files':>6}{'windows':>8}  {'estimate':<10}{FIGURES}",
    ]
    for inside, outside in zip(cv.in_sample, cv.out_of_sample, strict=True):
        for label, score in (("in-sample", inside), ("LOFO", outside)):
            lines.append(
                f"{score.name:<24}{score.files:>6}{score.windows:>8}  {label:<10}"
                + _figures(score, profiles)
            )
    width = max((len(s.name) for s in matrix.scores[0]), default=len("file")) + 2
    lines += [
        "",
        f"{'file':<{width}}{'windows':>7}{'choice':>8}{'std LOFO':>10}{'std in-sample':>15}",
    ]
    for f, (c, chosen) in enumerate(zip(cv.choices, cv.selected, strict=True)):
        lofo, inside = matrix.scores[c][f], matrix.scores[cv.best][f]
        choice = f"#{c + 1}" + ("" if chosen else "*")
        lines.append(
            f"{lofo.name:<{width}}{lofo.windows:>7}{choice:>8}"
            f"{_cell(lofo.normalised(profiles)[SELECTION_PROFILE]):>10}"
            f"{_cell(inside.normalised(profiles)[SELECTION_PROFILE]):>15}"
        )
    if not all(cv.selected):
        lines.append("* outside the selection: scored with the in-sample best")
    return "\n".join(lines)


def _cv_document(
    args: argparse.Namespace,
    grid: Path,
    candidates: Sequence[Candidate],
    matrix: ScoreMatrix,
    cv: CrossValidation,
    profiles: dict[str, Profile],
) -> dict[str, object]:
    names = [c.name for c in candidates]

    def totals(scores: Sequence[Score]) -> list[dict[str, object]]:
        scopes = ["family"] * (len(scores) - 1) + ["overall"]
        return [_record(scope, s, profiles) for scope, s in zip(scopes, scores, strict=True)]

    return {
        "data": str(args.data),
        "grid": str(grid),
        "config": str(args.config) if args.config else None,
        "threshold": 1.0,
        "profiles": {name: asdict(p) for name, p in profiles.items()},
        "selection_profile": SELECTION_PROFILE,
        "select_on": sorted(set(args.select_on or matrix.families)),
        "candidates": [{"name": c.name, "overrides": c.overrides} for c in candidates],
        "in_sample_best": names[cv.best],
        "files": [
            {
                "name": matrix.scores[0][f].name,
                "family": family,
                "selected": chosen,
                "choice": names[c],
                "out_of_sample": _record("file", matrix.scores[c][f], profiles),
                "in_sample": _record("file", matrix.scores[cv.best][f], profiles),
            }
            for f, (family, c, chosen) in enumerate(
                zip(matrix.families, cv.choices, cv.selected, strict=True)
            )
        ],
        "in_sample": totals(cv.in_sample),
        "out_of_sample": totals(cv.out_of_sample),
        "matrix": [
            {"candidate": name, "files": [_record("file", s, profiles) for s in row]}
            for name, row in zip(names, matrix.scores, strict=True)
        ],
    }


def _table(totals: Sequence[Score], profiles: dict[str, Profile]) -> str:
    rows = (f"{s.name:<24}{s.files:>6}{s.windows:>8}{_figures(s, profiles)}" for s in totals)
    return "\n".join([f"{'family':<24}{'files':>6}{'windows':>8}{FIGURES}", *rows])


def _figures(score: Score, profiles: dict[str, Profile]) -> str:
    """Windows detected, FP rows and the main profiles' scores: the cells under FIGURES."""
    norm = score.normalised(profiles)
    cells = "".join(_cell(norm.get(p)) for p in MAIN_PROFILES)
    return f"{score.detected:>9}{score.false_positives:>8}{cells}"


def _cell(value: float | None) -> str:
    return f"{'–':>8}" if value is None else f"{value:>8.2f}"


def _record(scope: str, score: Score, profiles: dict[str, Profile]) -> dict[str, object]:
    return {
        "scope": scope,
        "name": score.name,
        "files": score.files,
        "windows": score.windows,
        "detected": score.detected,
        "false_positive_rows": score.false_positives,
        "raw": score.raw,
        "normalised": score.normalised(profiles),
    }


def _csv_row(scope: str, score: Score, profiles: dict[str, Profile]) -> list[object]:
    norm = [score.normalised(profiles)[p] for p in profiles]
    counts = [score.files, score.windows, score.detected, score.false_positives]
    raw = [round(score.raw[p], 6) for p in profiles]
    return [scope, score.name, *counts, *raw, *("" if v is None else round(v, 4) for v in norm)]


def _write_results(
    out_dir: Path,
    results: Sequence[FileResult],
    totals: Sequence[Score],
    profiles: dict[str, Profile],
) -> None:
    for r in results:
        write_scored(out_dir / r.score.name, r.series, r.anomaly_scores, r.labels)
    scoped = [("file", r.score) for r in results] + [("family", s) for s in totals[:-1]]
    scoped.append(("overall", totals[-1]))
    document = {
        "threshold": 1.0,
        "profiles": {name: asdict(p) for name, p in profiles.items()},
        "results": [_record(scope, score, profiles) for scope, score in scoped],
    }
    (out_dir / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    with (out_dir / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(
            ["scope", "name", "files", "windows", "detected", "false_positive_rows"]
            + [f"raw_{p}" for p in profiles]
            + [f"score_{p}" for p in profiles]
        )
        out.writerows(_csv_row(scope, score, profiles) for scope, score in scoped)
