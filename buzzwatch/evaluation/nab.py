"""NAB (Numenta Anomaly Benchmark v1.1) scoring of the volume detector.

The scorer follows NAB's published rules: the first P = min(floor(0.15·N), 750) rows of a
file are probation and never scored; a flagged row inside a window [s, e] of width W is worth
A_TP·S(−(e−i+1)/W)/S(−1) (exactly A_TP on the window's first row), one after a window is
worth A_FP·S((i−e')/(W'−1)) measured from the *preceding* window only, one before the first
window −A_FP; each window counts once, by its earliest flag, or costs −A_FN if never flagged.
Scores are normalised as 100·(raw − null)/(perfect − null), perfect = A_TP·k, null = −A_FN·k.

Windows are counted in k only if they hold at least one scorable row. NAB's labeller deletes
windows that start inside the probation, so on NAB's own labels k is simply the number of
windows; a hand-made window lying wholly in the probation is neither rewarded nor penalised.

The detector is a binary alerter (anomaly score 1.0 where a volume alert starts firing), so
files are scored at one fixed threshold θ = 1.0, with no threshold optimisation.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby, pairwise
from operator import itemgetter
from pathlib import Path
from typing import IO

from tqdm import tqdm

from pipeline.backtest import backtest
from pipeline.settings import DetectionSettings

MAIN_PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
HEADER = ["timestamp", "value"]
Window = tuple[int, int]  # first and last row index, both inclusive


class NabError(ValueError):
    """A NAB data file, labels file or directory that cannot be used."""


@dataclass(frozen=True, slots=True)
class Profile:
    """Cost weights of an application profile; the scorer applies the signs."""

    tp: float
    fp: float
    fn: float


BUILTIN_PROFILES = {
    "standard": Profile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile(tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True, slots=True)
class Series:
    """The rows of a NAB data file: text as written, and parsed (naive times taken as UTC)."""

    timestamps: list[str]
    values: list[str]
    moments: list[datetime]
    numbers: list[float]

    def counts(self) -> list[int]:
        """Values as the backtest's counts: rounded half up, negatives taken as 0.

        Only realTweets holds mention counts; other families (floats, temperatures, CPU
        load) go through the same rounding and are scored for completeness only.
        """
        return [max(0, math.floor(number + 0.5)) for number in self.numbers]

    def spacing(self) -> int | None:
        """The median gap between rows, in whole seconds; None if it is not positive."""
        gaps = [(b - a).total_seconds() for a, b in pairwise(self.moments)]
        median = round(statistics.median(gaps)) if gaps else 0
        return median if median > 0 else None

    def timeline(self, spacing: int) -> list[datetime]:
        """Row times made strictly increasing for the detector, one row per bucket.

        NAB scores rows by position, and some files repeat or step back in time (clock
        changes in realKnownCause): such a row is placed one spacing after its predecessor.
        """
        step = timedelta(seconds=spacing)
        times = self.moments[:1]
        for moment in self.moments[1:]:
            times.append(max(moment, times[-1] + step))
        return times


@dataclass(frozen=True, slots=True)
class Score:
    """Detections and raw scores of one file, or summed over files, at one threshold."""

    name: str
    files: int
    windows: int
    detected: int
    false_positives: int  # flagged scorable rows outside every window
    raw: dict[str, float]  # per profile

    def normalised(self, profiles: Mapping[str, Profile]) -> dict[str, float | None]:
        """0 for the null detector, 100 for a perfect one; None when there is no window."""
        scores: dict[str, float | None] = {}
        for name, p in profiles.items():
            perfect, null = p.tp * self.windows, -p.fn * self.windows
            span = perfect - null
            scores[name] = 100 * (self.raw[name] - null) / span if span else None
        return scores


@dataclass(frozen=True, slots=True)
class FileResult:
    """One data file as the detector flagged it and the scorer judged it."""

    family: str
    series: Series
    anomaly_scores: list[float]
    labels: list[int]  # 1 inside a window, else 0
    score: Score


@dataclass(frozen=True, slots=True)
class Corpus:
    """A NAB-layout directory: data/<family>/*.csv, labels and profiles."""

    root: Path
    windows: dict[str, list[tuple[str, str]]]
    profiles: dict[str, Profile]
    builtin_profiles: bool

    def families(self) -> list[str]:
        return sorted(p.name for p in (self.root / "data").iterdir() if p.is_dir())


def scaled_sigmoid(y: float) -> float:
    """NAB's scaled sigmoid S(y) = 2/(1 + e^(5y)) − 1 = −tanh(2.5·y) for y ≤ 3, and −1 beyond."""
    return -1.0 if y > 3 else -math.tanh(2.5 * y)


def probation(rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(0.15 * rows), 750)


def row_value(i: int, windows: Sequence[Window], profile: Profile) -> float:
    """What flagging row i is worth; `windows` sorted and disjoint."""
    j = bisect_right(windows, i, key=lambda w: w[0]) - 1
    if j < 0:
        return -profile.fp
    start, end = windows[j]
    width = end - start + 1
    if i <= end:
        return profile.tp * scaled_sigmoid(-(end - i + 1) / width) / scaled_sigmoid(-1.0)
    return profile.fp * scaled_sigmoid((i - end) / (width - 1) if width > 1 else math.inf)


def score_file(
    name: str,
    anomaly_scores: Sequence[float],
    windows: Sequence[Window],
    profiles: Mapping[str, Profile],
    threshold: float = 1.0,
) -> Score:
    """Score one file's per-row anomaly scores; a row is flagged iff its score >= threshold."""
    first = probation(len(anomaly_scores))
    flagged = [i for i in range(first, len(anomaly_scores)) if anomaly_scores[i] >= threshold]
    scorable = [w for w in windows if w[1] >= first]
    earliest: list[int | None] = []
    for start, end in scorable:
        k = bisect_left(flagged, max(start, first))
        earliest.append(flagged[k] if k < len(flagged) and flagged[k] <= end else None)
    outside = [i for i in flagged if not any(s <= i <= e for s, e in windows)]
    raw = {
        pname: sum(-p.fn if i is None else row_value(i, windows, p) for i in earliest)
        + sum(row_value(i, windows, p) for i in outside)
        for pname, p in profiles.items()
    }
    detected = sum(i is not None for i in earliest)
    return Score(name, 1, len(scorable), detected, len(outside), raw)


def total(name: str, scores: Iterable[Score]) -> Score:
    """The sum of several scores (a family, the corpus)."""
    scores = list(scores)
    profiles = scores[0].raw if scores else {}
    return Score(
        name,
        sum(s.files for s in scores),
        sum(s.windows for s in scores),
        sum(s.detected for s in scores),
        sum(s.false_positives for s in scores),
        {p: sum(s.raw[p] for s in scores) for p in profiles},
    )


def family_scores(scored: Iterable[tuple[str, Score]]) -> list[Score]:
    """One total per family of (family, file score) pairs, in their order, then the overall."""
    pairs = list(scored)
    families = [
        total(family, (score for _, score in group))
        for family, group in groupby(pairs, key=itemgetter(0))
    ]
    return [*families, total("overall", (score for _, score in pairs))]


def read_series(path: Path) -> Series:
    """Read a `timestamp,value` file; NabError names the offending line."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return _parse_series(handle)
    except UnicodeDecodeError as exc:
        raise NabError(f"not UTF-8 text ({exc.reason})") from None


def _parse_series(handle: IO[str]) -> Series:
    reader = csv.reader(handle)
    series = Series([], [], [], [])
    try:
        header = next(reader, None)
        if header is None or [c.strip() for c in header] != HEADER:
            raise NabError("line 1: expected the header timestamp,value")
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != 2:
                raise NabError(f"line {line}: expected 2 fields, got {len(row)}")
            moment, number = _parse_row(line, row[0], row[1])
            series.timestamps.append(row[0])
            series.values.append(row[1])
            series.moments.append(moment)
            series.numbers.append(number)
    except csv.Error as exc:
        raise NabError(f"line {reader.line_num}: {exc}") from None
    if not series.timestamps:
        raise NabError("no data rows")
    return series


def _parse_row(line: int, timestamp: str, value: str) -> tuple[datetime, float]:
    try:
        moment = _parse_time(timestamp)
    except ValueError:
        raise NabError(f"line {line}: bad timestamp {timestamp!r}") from None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise NabError(f"line {line}: bad value {value!r}")
    return moment, number


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window_rows(series: Series, windows: Sequence[tuple[str, str]]) -> list[Window]:
    """Row indices of timestamp windows (first row of a repeated time); ends must be rows."""
    index: dict[datetime, int] = {}
    for i, moment in enumerate(series.moments):
        index.setdefault(moment, i)
    rows: list[Window] = []
    for start, end in windows:
        try:
            rows.append((index[_parse_time(start)], index[_parse_time(end)]))
        except (KeyError, ValueError):
            raise NabError(f"window [{start}, {end}] does not match rows of the file") from None
    rows.sort()
    if any(s > e for s, e in rows) or any(a[1] >= b[0] for a, b in pairwise(rows)):
        raise NabError("windows must run forwards and not overlap")
    return rows


def open_corpus(root: Path) -> Corpus:
    """Check a NAB layout and read its windows and profiles (built-in when absent)."""
    labels = root / "labels" / "combined_windows.json"
    if not (root / "data").is_dir() or not labels.is_file():
        raise NabError(f"{root} is not a NAB directory: it needs data/ and labels/{labels.name}")
    try:
        windows = {
            name: [(str(start), str(end)) for start, end in pairs]
            for name, pairs in json.loads(labels.read_text(encoding="utf-8")).items()
        }
    except (ValueError, TypeError, AttributeError) as exc:
        raise NabError(f"{labels}: not a NAB windows file ({exc})") from None
    profiles_path = root / "config" / "profiles.json"
    if not profiles_path.is_file():
        return Corpus(root, windows, dict(BUILTIN_PROFILES), builtin_profiles=True)
    try:
        profiles = {
            name: Profile(float(c["tpWeight"]), float(c["fpWeight"]), float(c["fnWeight"]))
            for name, entry in json.loads(profiles_path.read_text(encoding="utf-8")).items()
            for c in [entry["CostMatrix"]]
        }
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise NabError(f"{profiles_path}: not a NAB profiles file ({exc!r})") from None
    return Corpus(root, windows, profiles, builtin_profiles=False)


def detect(series: Series, settings: DetectionSettings) -> list[float]:
    """The backtest's anomaly score of each row, with the bucket set to the row spacing."""
    spacing = series.spacing()
    if spacing:
        settings = settings.model_copy(update={"bucket_seconds": spacing})
    rows = zip(series.timeline(settings.bucket_seconds), series.counts(), strict=True)
    return [row.anomaly_score for row in backtest(rows, settings)]


def run_corpus(
    corpus: Corpus,
    families: Sequence[str] | None = None,
    settings: DetectionSettings | None = None,
    threshold: float = 1.0,
    progress: bool = False,
) -> list[FileResult]:
    """Run the detector over every file of the chosen families (default: all) and score it."""
    known = corpus.families()
    unknown = sorted(set(families or []) - set(known))
    if unknown:
        raise NabError(f"no family {', '.join(unknown)} in {corpus.root}; found {', '.join(known)}")
    data = corpus.root / "data"
    paths = sorted({p for f in (families or known) for p in (data / f).glob("*.csv")})
    results = []
    for path in tqdm(paths, desc="NAB", unit="file", disable=not progress, file=sys.stderr):
        name = path.relative_to(data).as_posix()
        if name not in corpus.windows:
            raise NabError(f"{name} has no entry in labels/combined_windows.json")
        try:
            series = read_series(path)
            windows = window_rows(series, corpus.windows[name])
        except NabError as exc:
            raise NabError(f"{path}: {exc}") from None
        scores = detect(series, settings or DetectionSettings())
        labels = [int(any(s <= i <= e for s, e in windows)) for i in range(len(scores))]
        score = score_file(name, scores, windows, corpus.profiles, threshold)
        results.append(FileResult(path.parent.name, series, scores, labels, score))
    return results


def write_scored(
    path: Path, series: Series, anomaly_scores: Sequence[float], labels: Sequence[int] = ()
) -> None:
    """Write `timestamp,value,anomaly_score[,label]` rows, timestamps and values as read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow([*HEADER, "anomaly_score", *(["label"] if labels else [])])
        columns = [series.timestamps, series.values, anomaly_scores]
        out.writerows(zip(*columns, *([labels] if labels else []), strict=True))
