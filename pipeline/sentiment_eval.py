"""Scorers judged on labelled texts: three classes by VADER's usual ±0.05 bars on the
compound; per class recall and precision, macro-F1 (the mean of the classes' F1) and
accuracy, overall and by kind of text.

The shipped sets (`samples/`, provenance in `samples/README.md`):
- `train-*`: posts written for the project to train the French scorer's weights;
- `dev`: brand mentions the lexicon was built on; `tweets-dev`: posts of every subject, looked
  at while the model's features were designed;
- `test`, `tweets-test`, `xed-test`: held out, never used for a choice;
- `xed-train` / `xed-test`: XED's French subtitle lines (CC BY 4.0), negative or positive by
  their projected emotions, four fifths and one fifth by `text_hash`.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.brands import fold

LABELS = ("negative", "neutral", "positive")
BAR = 0.05
TRAINING_SETS = (
    "train-general",
    "train-services",
    "train-registers",
    "train-local",
    "train-brands",
    "train-everyday",
)
SPLITS = ("dev", "tweets-dev", "test", "tweets-test", "xed-test")
HELD_OUT = frozenset({"test", "tweets-test", "xed-test"})
XED = "xed-fr/fr-projections.tsv"
XED_NEGATIVE = frozenset({1, 3, 4, 6})  # anger, disgust, fear, sadness
XED_POSITIVE = frozenset({5, 8})  # joy, trust (anticipation and surprise go either way)
XED_TEST_SHARE = 5  # one line in five, by `text_hash`
_PUNCTUATION = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Labelled:
    """A text, its gold label (`LABELS`) and its kind (complaint, praise, question...)."""

    text: str
    label: str
    kind: str


@dataclass(frozen=True)
class Judgement:
    """How a scorer did on a set of labelled texts."""

    macro_f1: float
    accuracy: float
    f1: dict[str, float]
    recall: dict[str, float]
    precision: dict[str, float]
    by_kind: dict[str, float]  # accuracy per kind of text
    count: int


def label_of(compound: float) -> str:
    """VADER's reading of a compound score."""
    if compound >= BAR:
        return "positive"
    return "negative" if compound <= -BAR else "neutral"


def read_set(source: Path | str) -> list[Labelled]:
    """A shipped set (`SPLITS`, `TRAINING_SETS`, `xed-train`) or a JSONL file of
    `{"text", "label", "kind"}`."""
    if source in ("xed-train", "xed-test"):
        return read_xed(_shipped(XED), test=source == "xed-test")
    if source in SPLITS or source in TRAINING_SETS:
        return read_labelled(_shipped(f"sentiment_fr_{str(source).replace('-', '_')}.jsonl"))
    return read_labelled(Path(source).read_text("utf-8"))


def _shipped(name: str) -> str:
    return resources.files("pipeline").joinpath("samples", name).read_text("utf-8")


def read_xed(raw: str, test: bool) -> list[Labelled]:
    """XED's lines (`text<TAB>codes`) whose emotions are all negative or all positive, in the
    test fifth or the other four fifths; broken lines (alignment metadata) are skipped."""
    items = []
    for line in raw.splitlines():
        fields = line.split("\t")
        if len(fields) != 2:
            continue
        try:
            codes = {int(code) for code in fields[1].split(",")}
        except ValueError:
            continue
        label = "negative" if codes <= XED_NEGATIVE else "positive" if codes <= XED_POSITIVE else ""
        in_test = text_hash(fields[0]) % XED_TEST_SHARE == 0
        if label and in_test == test:
            items.append(Labelled(fields[0], label, "subtitle"))
    return items


def text_hash(text: str) -> int:
    """A hash of the text's letters and digits without case or accents: lines that differ in
    punctuation or spacing only ("- Non", "Non.") fall on the same side of a split."""
    return zlib.crc32(_PUNCTUATION.sub("", fold(text)).encode("utf-8"))


def read_labelled(raw: str) -> list[Labelled]:
    """Labelled texts from JSONL lines of `{"text", "label", "kind"}`."""
    items = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in LABELS or not isinstance(row.get("text"), str):
            raise ValueError(f"line {number}: needs a text and a label of {', '.join(LABELS)}")
        items.append(Labelled(row["text"], row["label"], str(row.get("kind", ""))))
    return items


def judge(compound: Callable[[str], float], items: Sequence[Labelled]) -> Judgement:
    """Score every text with `compound` and compare with the gold labels."""
    pairs = [(item.label, label_of(compound(item.text))) for item in items]
    present = [label for label in LABELS if any(gold == label for gold, _ in pairs)]
    f1 = {label: _f1(label, pairs) for label in present}
    kinds = sorted({item.kind for item in items})
    return Judgement(
        macro_f1=sum(f1.values()) / len(present),
        accuracy=_accuracy(pairs),
        f1=f1,
        recall={label: _share(pairs, label, gold=True) for label in present},
        precision={label: _share(pairs, label, gold=False) for label in present},
        by_kind={
            kind: _accuracy([p for p, i in zip(pairs, items, strict=True) if i.kind == kind])
            for kind in kinds
        },
        count=len(items),
    )


def recall_at_precision(
    negativity: Sequence[float], negative: Sequence[bool], precision: float
) -> float:
    """The best recall of "negative when `negativity` ≥ t" over the bars t whose precision is
    at least `precision` (0 if none): two scorers compared at the same precision."""
    ranked = sorted(zip(negativity, negative, strict=True), key=lambda pair: -pair[0])
    total = sum(negative)
    best = hits = 0
    for rank, (value, is_negative) in enumerate(ranked, start=1):
        hits += is_negative
        tied = rank < len(ranked) and ranked[rank][0] == value
        if not tied and hits >= precision * rank:
            best = max(best, hits)
    return best / total if total else 0.0


def _f1(label: str, pairs: Iterable[tuple[str, str]]) -> float:
    counts = Counter((gold == label, predicted == label) for gold, predicted in pairs)
    hits = counts[True, True]
    claimed, actual = hits + counts[False, True], hits + counts[True, False]
    return 0.0 if hits == 0 else 2 * hits / (claimed + actual)


def _share(pairs: Sequence[tuple[str, str]], label: str, gold: bool) -> float:
    """Recall (`gold`: share of the texts labelled `label` found) or precision (share of the
    texts predicted `label` that are)."""
    chosen = [p for p in pairs if p[0 if gold else 1] == label]
    return sum(g == p for g, p in chosen) / len(chosen) if chosen else 0.0


def _accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(gold == predicted for gold, predicted in pairs) / len(pairs) if pairs else 0.0
