"""Scorers judged on labelled texts: three classes by VADER's usual ±0.05 bars on the
compound, macro-F1 (the mean of the classes' F1) and accuracy, overall and by kind of text."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
BAR = 0.05
SPLITS = ("dev", "test")


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
    by_kind: dict[str, float]  # accuracy per kind of text
    count: int


def label_of(compound: float) -> str:
    """VADER's reading of a compound score."""
    if compound >= BAR:
        return "positive"
    return "negative" if compound <= -BAR else "neutral"


def read_labelled(source: Path | str) -> list[Labelled]:
    """A JSONL file of `{"text", "label", "kind"}`, or a shipped split (`dev`, `test`)."""
    if source in SPLITS:
        name = f"sentiment_fr_{source}.jsonl"
        raw = resources.files("pipeline").joinpath("samples", name).read_text("utf-8")
    else:
        raw = Path(source).read_text("utf-8")
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
    f1 = {label: _f1(label, pairs) for label in LABELS}
    kinds = sorted({item.kind for item in items})
    return Judgement(
        macro_f1=sum(f1.values()) / len(LABELS),
        accuracy=_accuracy(pairs),
        f1=f1,
        by_kind={
            kind: _accuracy([p for p, i in zip(pairs, items, strict=True) if i.kind == kind])
            for kind in kinds
        },
        count=len(items),
    )


def _f1(label: str, pairs: Iterable[tuple[str, str]]) -> float:
    counts = Counter((gold == label, predicted == label) for gold, predicted in pairs)
    hits = counts[True, True]
    claimed, actual = hits + counts[False, True], hits + counts[True, False]
    return 0.0 if hits == 0 else 2 * hits / (claimed + actual)


def _accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(gold == predicted for gold, predicted in pairs) / len(pairs) if pairs else 0.0
