"""The `backtest` and `evaluate nab` commands: NAB count series through the volume detector."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from buzzwatch.evaluation.nab import (
    MAIN_PROFILES,
    FileResult,
    NabError,
    Profile,
    Score,
    detect,
    family_scores,
    open_corpus,
    read_series,
    run_corpus,
    write_scored,
)
from pipeline.settings import detection_settings, load_config

COLUMNS = ("std", "low FP", "low FN")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backtest` and `evaluate nab` on the top-level subparsers."""
    bt = commands.add_parser("backtest", help="run a NAB series through the volume detector")
    bt.add_argument("input", type=Path, help="NAB data file: timestamp,value")
    bt.add_argument("--out", type=Path, required=True, help="timestamp,value,anomaly_score CSV")
    bt.add_argument("--config", type=Path, help="TOML configuration file")
    bt.set_defaults(run=_backtest)

    ev = commands.add_parser("evaluate", help="score the detector on a labelled benchmark")
    benchmarks = ev.add_subparsers(required=True, metavar="BENCHMARK")
    nab = benchmarks.add_parser("nab", help="Numenta Anomaly Benchmark, fixed threshold 1.0")
    nab.add_argument("--data", type=Path, required=True, help="NAB directory (data/, labels/)")
    nab.add_argument("--family", action="extend", nargs="+", metavar="NAME", help="default: all")
    nab.add_argument("--out-dir", type=Path, help="write scored files and results.{json,csv}")
    nab.add_argument("--config", type=Path, help="TOML configuration file")
    nab.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    nab.set_defaults(run=_evaluate_nab)


def _fail(command: str, message: str) -> int:
    print(f"{command}: {message}", file=sys.stderr)
    return 2


def _backtest(args: argparse.Namespace) -> int:
    settings = detection_settings(load_config(args.config))
    try:
        series = read_series(args.input)
    except NabError as exc:
        return _fail("backtest", f"{args.input}: {exc}")
    except OSError as exc:
        return _fail("backtest", f"{args.input}: {exc.strerror}")
    scores = detect(series, settings)
    write_scored(args.out, series, scores)
    alerts = sum(score >= 1.0 for score in scores)
    print(f"backtest: {len(scores)} rows, {alerts} alerts; written to {args.out}")
    return 0


def _evaluate_nab(args: argparse.Namespace) -> int:
    settings = detection_settings(load_config(args.config))
    try:
        corpus = open_corpus(args.data)
        results = run_corpus(corpus, args.family, settings, progress=not args.no_progress)
    except NabError as exc:
        return _fail("evaluate nab", str(exc))
    totals = family_scores(results)
    source = "built-in" if corpus.builtin_profiles else "config/profiles.json"
    print(f"NAB {args.data}: {len(results)} files, threshold 1.0, profiles {source}")
    print(_table(totals, corpus.profiles))
    if args.out_dir:
        _write_results(args.out_dir, results, totals, corpus.profiles)
        print(f"scored files and results.json, results.csv written to {args.out_dir}")
    return 0


def _table(totals: Sequence[Score], profiles: dict[str, Profile]) -> str:
    lines = [f"{'family':<24}{'files':>6}{'windows':>8}{'detected':>9}{'FP rows':>8}"]
    lines[0] += "".join(f"{c:>8}" for c in COLUMNS)
    for score in totals:
        norm = score.normalised(profiles)
        cells = [norm.get(p) for p in MAIN_PROFILES]
        lines.append(
            f"{score.name:<24}{score.files:>6}{score.windows:>8}{score.detected:>9}"
            f"{score.false_positives:>8}" + "".join(_cell(c) for c in cells)
        )
    return "\n".join(lines)


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
