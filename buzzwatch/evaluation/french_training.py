"""Training of the French scorer's weights (`pipeline/lexicons/fr_model.json`).

    python -m buzzwatch.evaluation.french_training [--write]

The model is a multinomial logistic regression with an L2 penalty, trained by full-batch
gradient descent (Adam, a fixed number of steps: the same data give the same weights). The
training pool is the `train-*` sets (posts written for the project, by writers who never saw
the scorer) and XED's French subtitle lines outside its held-out fifth, as negative or
positive (`pipeline.sentiment_eval.read_xed`), weighed by `xed_weight`. Classes are balanced.

The penalty and XED's weight are chosen by leave-one-set-out cross-validation over the
`train-*` sets: each candidate is trained on all sets but one and all XED parts but one (a
hash of the text, independent of the held-out fifth) and judged by the mean of its macro-F1
on the set left out, written by another writer on other subjects, which is what real posts
will be to the model, and on the XED part left out, real human French. Each training
example also counts once without its words (`wordless`). No evaluation set (`dev`, `test`,
`tweets-*`, `xed-test`) plays a part.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import product

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from pipeline.french_model import CLASSES, WEIGHTS, Features, FrenchModel, FrenchScorer, compound_of
from pipeline.sentiment_eval import (
    TRAINING_SETS,
    XED_TEST_SHARE,
    Labelled,
    judge,
    read_set,
    text_hash,
)

PENALTIES = (0.1, 0.3, 1.0, 3.0, 10.0)  # L2 per training text's worth of weight, see `train`
XED_WEIGHTS = (0.0, 0.1, 0.3, 1.0)
STEPS = 400
LEARNING_RATE = 0.05
MIN_COUNT = 2  # features seen in fewer training texts are left out
PRUNE = 1e-3  # weights this small are not shipped
WORDLESS_WEIGHT = 1.0  # of each example's `wordless` copy
WORDS = ("w:", "b:", "h:")  # the features `wordless` leaves out

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Example:
    found: Features
    label: int
    weight: float


def examples(items: Sequence[Labelled]) -> list[Example]:
    scorer = FrenchScorer(FrenchModel({}))
    return [Example(scorer.features(i.text), CLASSES.index(i.label), 1.0) for i in items]


def pooled(
    posts: Iterable[list[Example]], xed: Iterable[Example], xed_weight: float
) -> list[Example]:
    """The training pool: the posts' examples, and XED's weighed by `xed_weight` (none at 0)."""
    pool = [example for examples_of_set in posts for example in examples_of_set]
    if xed_weight:
        pool += [Example(e.found, e.label, xed_weight) for e in xed]
    return pool


def wordless(example: Example) -> Example:
    """`example` without its words, word pairs and hashtags: what the model sees of a post
    whose words no training text had."""
    found = {name: v for name, v in example.found.items() if not name.startswith(WORDS)}
    return Example(found, example.label, example.weight * WORDLESS_WEIGHT)


def train(pool: Sequence[Example], penalty: float) -> FrenchModel:
    """Weights minimising the mean cross-entropy (classes balanced, examples weighed) plus
    `penalty` / (number of examples) × ½‖w‖², the bias and the lexicon's figures unpenalised;
    features seen in fewer than `MIN_COUNT` examples are left out."""
    if WORDLESS_WEIGHT:
        pool = [*pool, *(wordless(e) for e in pool)]
    counts = Counter(name for example in pool for name in example.found)
    names = sorted(name for name, count in counts.items() if count >= MIN_COUNT)
    index = {name: i for i, name in enumerate(names)}
    rows, cols, vals = [], [], []
    for row, example in enumerate(pool):
        for name, value in example.found.items():
            if name in index:
                rows.append(row)
                cols.append(index[name])
                vals.append(value)
    r, c, v = np.array(rows), np.array(cols), np.array(vals, dtype=np.float64)
    labels = np.array([e.label for e in pool])
    weights = np.array([e.weight for e in pool], dtype=np.float64)
    per_class = np.bincount(labels, weights=weights, minlength=len(CLASSES))
    weights = weights * (weights.sum() / len(CLASSES)) / per_class[labels]
    weights /= weights.sum()
    target = np.eye(len(CLASSES))[labels]
    penalised = np.array([not n.startswith(("bias", "lex:")) for n in names], dtype=np.float64)
    scale = penalty / len(pool)
    w = np.zeros((len(names), len(CLASSES)))
    first, second = np.zeros_like(w), np.zeros_like(w)
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    for step in range(1, STEPS + 1):
        logits = np.add.reduceat(v[:, None] * w[c], starts)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - target) * weights[:, None]
        grad: Floats = np.stack(
            [
                np.bincount(c, weights=v * error[r, k], minlength=len(names))
                for k in range(len(CLASSES))
            ],
            axis=1,
        )
        grad += scale * penalised[:, None] * w
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad * grad
        corrected = first / (1 - 0.9**step)
        w -= LEARNING_RATE * corrected / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    relative = w - w[:, [CLASSES.index("neutral")]]
    neg, pos = CLASSES.index("negative"), CLASSES.index("positive")
    return FrenchModel(
        {
            name: (round(float(relative[i, neg]), 4), round(float(relative[i, pos]), 4))
            for i, name in enumerate(names)
            if max(abs(relative[i, neg]), abs(relative[i, pos])) >= PRUNE
        }
    )


def macro_f1(model: FrenchModel, items: Sequence[Labelled], found: Sequence[Features]) -> float:
    pairs = zip(items, found, strict=True)
    compounds = {item.text: compound_of(*model.probabilities(f.items())) for item, f in pairs}
    return judge(compounds.__getitem__, items).macro_f1


@dataclass(frozen=True)
class Choice:
    penalty: float
    xed_weight: float
    posts: dict[str, float]  # macro-F1 on each left-out `train-*` set
    subtitles: dict[str, float]  # macro-F1 on the XED part left out with it

    @property
    def mean(self) -> float:
        """Posts like ours and real human text count alike."""
        return (_mean(self.posts) + _mean(self.subtitles)) / 2


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


def cross_validate(
    sets: dict[str, list[Labelled]],
    built: dict[str, list[Example]],
    xed: list[Labelled],
    xed_built: list[Example],
    progress: bool = True,
) -> list[Choice]:
    """Every (penalty, XED weight) judged leave-one-set-out over `sets` (`built`: their
    `examples`): the fold that leaves out a set also leaves out one part of XED (by a hash of
    the text), and is judged on both."""
    parts: dict[str, list[tuple[Labelled, Example]]] = {name: [] for name in sets}
    names = list(sets)
    for item, example in zip(xed, xed_built, strict=True):
        parts[names[text_hash(item.text) // XED_TEST_SHARE % len(names)]].append((item, example))
    choices = []
    grid = list(product(PENALTIES, XED_WEIGHTS))
    for penalty, xed_weight in tqdm(grid, desc="cross-validation", disable=not progress):
        posts, subtitles = {}, {}
        for left_out, items in sets.items():
            pool = pooled(
                (built_set for name, built_set in built.items() if name != left_out),
                (e for name, part in parts.items() if name != left_out for _, e in part),
                xed_weight,
            )
            model = train(pool, penalty)
            posts[left_out] = macro_f1(model, items, [e.found for e in built[left_out]])
            held = parts[left_out]
            subtitles[left_out] = macro_f1(model, [i for i, _ in held], [e.found for _, e in held])
        choices.append(Choice(penalty, xed_weight, posts, subtitles))
    return choices


def document(model: FrenchModel, choice: Choice, sizes: dict[str, int]) -> str:
    return json.dumps(
        {
            "about": "buzzwatch French scorer weights (negative, positive) against neutral; "
            "written by `python -m buzzwatch.evaluation.french_training --write`",
            "penalty": choice.penalty,
            "xed_weight": choice.xed_weight,
            "trained_on": sizes,
            "weights": dict(sorted(model.weights.items())),
        },
        ensure_ascii=False,
        indent=0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write lexicons/{WEIGHTS}")
    args = parser.parse_args(argv)
    sets = {name: read_set(name) for name in TRAINING_SETS}
    xed = read_set("xed-train")
    built = {name: examples(items) for name, items in sets.items()}
    xed_built = examples(xed)
    choices = cross_validate(sets, built, xed, xed_built)
    print("penalty | XED weight | mean | posts | subtitles | " + " | ".join(sets))
    for c in choices:
        cells = [f"{c.posts[name]:.3f} / {c.subtitles[name]:.3f}" for name in sets]
        figures = f"{c.mean:.3f} | {_mean(c.posts):.3f} | {_mean(c.subtitles):.3f}"
        print(f"{c.penalty} | {c.xed_weight} | {figures} | " + " | ".join(cells))
    best = max(choices, key=lambda choice: choice.mean)
    print(f"chosen: penalty {best.penalty}, XED weight {best.xed_weight}")
    model = train(pooled(built.values(), xed_built, best.xed_weight), best.penalty)
    sizes = {name: len(items) for name, items in sets.items()} | {"xed-train": len(xed)}
    if args.write:
        target = resources.files("pipeline").joinpath("lexicons", WEIGHTS)
        with resources.as_file(target) as path:
            path.write_text(document(model, best, sizes) + "\n", "utf-8")
        print(f"wrote {len(model.weights)} weights to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
