"""`buzzwatch evaluate sentiment`: French scorers on labelled brand mentions."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from buzzwatch.cli.common import SubParsers, fail
from pipeline.sentiment import Polarity, Scorer, french, french_vader, vadersentiment_fr
from pipeline.sentiment_eval import (
    HELD_OUT,
    LABELS,
    SPLITS,
    TRAINING_SETS,
    Judgement,
    judge,
    read_set,
    recall_at_precision,
)

HELP = "the French scorer, its lexicon alone and vadersentiment-fr on labelled French posts"


def add_to(benchmarks: SubParsers) -> None:
    """Register `evaluate sentiment` in the `evaluate` group."""
    parser = benchmarks.add_parser("sentiment", help=HELP)
    parser.add_argument(
        "--data",
        action="extend",
        nargs="+",
        metavar="SET",
        help=f"shipped sets ({', '.join(SPLITS)}; the training sets "
        f"{', '.join(TRAINING_SETS)}, xed-train for in-sample figures) or JSONL files of "
        "text, label, kind (default: every evaluation set)",
    )
    parser.add_argument("--kinds", action="store_true", help="also accuracy per kind of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    scorers: dict[str, Scorer] = {
        "buzzwatch": french(),
        "buzzwatch lexicon only": french_vader(),
        "vadersentiment-fr": vadersentiment_fr(),
    }
    for source in args.data or SPLITS:
        try:
            items = read_set(source)
        except (OSError, ValueError) as error:
            return fail("evaluate sentiment", f"{source}: {error}")
        scored = {
            name: {item.text: scorer.polarity(item.text) for item in items}
            for name, scorer in scorers.items()
        }
        results = {name: judge(_compound(polarities), items) for name, polarities in scored.items()}
        held_out = " (held out: never used for a choice)" if source in HELD_OUT else ""
        print(f"{source}: {len(items)} texts{held_out}")
        print(_table(results))
        bar = results["buzzwatch lexicon only"].precision["negative"]
        negativity = [scored["buzzwatch"][item.text].neg for item in items]
        recall = recall_at_precision(negativity, [i.label == "negative" for i in items], bar)
        print(
            f"buzzwatch at the lexicon's negative precision ({bar:.2f}), by its probability "
            f"of a negative text: negative recall {recall:.2f}\n"
        )
        if args.kinds:
            print(_kinds_table(results))
    return 0


def _compound(polarities: dict[str, Polarity]) -> Callable[[str], float]:
    return lambda text: polarities[text].compound


def _table(results: dict[str, Judgement]) -> str:
    """Recall and precision per class, negatives first, then macro-F1 and accuracy."""
    labels = [label for label in LABELS if label in next(iter(results.values())).recall]
    head = ["scorer", *(f"{label} {m}" for label in labels for m in ("recall", "precision"))]
    head += ["macro-F1", "accuracy"]
    rows = [
        [name]
        + [f"{share[label]:.2f}" for label in labels for share in (j.recall, j.precision)]
        + [f"{j.macro_f1:.3f}", f"{j.accuracy:.3f}"]
        for name, j in results.items()
    ]
    return _markdown(head, rows)


def _kinds_table(results: dict[str, Judgement]) -> str:
    kinds = sorted({kind for j in results.values() for kind in j.by_kind})
    rows = [[name, *(f"{j.by_kind.get(k, 0.0):.2f}" for k in kinds)] for name, j in results.items()]
    return _markdown(["accuracy per kind", *kinds], rows)


def _markdown(head: list[str], rows: list[list[str]]) -> str:
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    return "\n".join([*lines, *(" | ".join(row) for row in rows)]) + "\n"
