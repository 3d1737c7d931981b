"""Leave-one-file-out cross-validation of detection settings on a NAB corpus.

A grid of candidate settings runs once on every file: the score matrix, [candidate][file].
Each file of the selection set is then scored with the candidate that has the best raw
standard-profile score summed over the *other* selection files (its fold), so no file's
figure has seen that file's labels; a file outside the selection set is scored with the
candidate best on all selection files. That candidate, scored on every file, is the
in-sample figure: what a default tuned on all this data would claim. Ties go to the
candidate listed first in the grid.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from tqdm import tqdm

from buzzwatch.evaluation.nab import Corpus, NabError, Score, family_scores, run_corpus
from pipeline.settings import DetectionSettings

SELECTION_PROFILE = "standard"


class GridError(ValueError):
    """A grid file that cannot be used."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One setting of the grid: its overrides and the settings they make."""

    name: str
    overrides: dict[str, Any]
    settings: DetectionSettings


@dataclass(frozen=True, slots=True)
class ScoreMatrix:
    """Every candidate's score of every file; files in the same order in each row."""

    families: list[str]  # the family of each file; a family's files are contiguous
    scores: list[list[Score]]  # [candidate][file]


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """Which candidate each file is scored with, and the resulting figures."""

    best: int  # the candidate best on all selection files (the in-sample choice)
    choices: list[int]  # per file: its fold's choice, `best` for a file outside the selection
    selected: list[bool]  # per file: in the selection set
    in_sample: list[Score]  # `best` on every file: per family, then overall
    out_of_sample: list[Score]  # each file at its choice: per family, then overall


def override(base: DetectionSettings, overrides: Mapping[str, Any]) -> DetectionSettings:
    """`base` with `overrides` merged over it, nested tables key by key; unknown keys refused."""
    return DetectionSettings.model_validate(_merge(base.model_dump(), overrides))


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        below = base.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


def read_grid(path: Path, base: DetectionSettings) -> list[Candidate]:
    """The `[[candidate]]` tables of a TOML grid file, each merged over `base` and validated."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GridError(f"{path}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GridError(f"{path}: {exc}") from None
    tables = document.get("candidate")
    others = sorted(set(document) - {"candidate"})
    if others or not isinstance(tables, list) or not tables:
        found = f"; found {', '.join(others)}" if others else ""
        raise GridError(f"{path}: expected [[candidate]] tables and nothing else{found}")
    candidates: list[Candidate] = []
    for number, table in enumerate(tables, start=1):
        try:
            candidate = _candidate(table, base)
        except GridError as exc:
            raise GridError(f"{path}: candidate {number}: {exc}") from None
        twin = next((i for i, c in enumerate(candidates, 1) if c.name == candidate.name), None)
        if twin is not None:
            raise GridError(f"{path}: candidates {twin} and {number} are both {candidate.name!r}")
        candidates.append(candidate)
    return candidates


def _candidate(table: object, base: DetectionSettings) -> Candidate:
    if not isinstance(table, dict):
        raise GridError("not a table")
    overrides = {key: value for key, value in table.items() if key != "name"}
    name = table.get("name", _describe(overrides) or "(no overrides)")
    if not isinstance(name, str) or not name.strip():
        raise GridError("name must be a non-empty string")
    try:
        settings = override(base, overrides)
    except ValidationError as exc:
        raise GridError(f"{name}: {'; '.join(map(_problem, exc.errors()))}") from None
    return Candidate(name, overrides, settings)


def _describe(overrides: Mapping[str, Any], prefix: str = "") -> str:
    """Overrides as `key=value` words, nested keys dotted: `volume.record_share=0.5`."""
    words = [
        _describe(value, f"{prefix}{key}.")
        if isinstance(value, Mapping)
        else f"{prefix}{key}={json.dumps(value, default=str)}"
        for key, value in overrides.items()
    ]
    return " ".join(word for word in words if word)


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key {where}"
    return f"{where}: {error['msg']}" if where else error["msg"]


def score_matrix(
    corpus: Corpus,
    families: Sequence[str] | None,
    candidates: Sequence[Candidate],
    progress: bool = False,
) -> ScoreMatrix:
    """Run every candidate over every file of the chosen families (default: all)."""
    file_families: list[str] = []
    scores: list[list[Score]] = []
    bar = tqdm(candidates, desc="NAB CV", unit="candidate", disable=not progress, file=sys.stderr)
    for candidate in bar:
        results = run_corpus(corpus, families, candidate.settings)
        file_families = [r.family for r in results]
        scores.append([r.score for r in results])
    return ScoreMatrix(file_families, scores)


def best_candidate(scores: Sequence[Sequence[Score]], files: Iterable[int]) -> int:
    """The candidate with the largest standard raw score summed over `files`; the first on ties."""
    chosen = list(files)
    sums = [math.fsum(row[f].raw[SELECTION_PROFILE] for f in chosen) for row in scores]
    return max(range(len(sums)), key=sums.__getitem__)


def cross_validate(
    matrix: ScoreMatrix, select_on: Collection[str] | None = None
) -> CrossValidation:
    """Leave one file out over the files of the `select_on` families (default: every file)."""
    unknown = sorted(set(select_on or ()) - set(matrix.families))
    if unknown:
        raise NabError(f"no file of family {', '.join(unknown)} to select on")
    selected = [select_on is None or family in select_on for family in matrix.families]
    selection = [f for f, chosen in enumerate(selected) if chosen]
    best = best_candidate(matrix.scores, selection)
    choices = [
        best_candidate(matrix.scores, (g for g in selection if g != f)) if chosen else best
        for f, chosen in enumerate(selected)
    ]

    def totals(picks: Sequence[int]) -> list[Score]:
        rows = enumerate(zip(matrix.families, picks, strict=True))
        return family_scores((family, matrix.scores[c][f]) for f, (family, c) in rows)

    return CrossValidation(best, choices, selected, totals([best] * len(selected)), totals(choices))
