"""The VADER-exact scorer against vaderSentiment 3.3.2, on the same texts in the same run.

    python -m benchmarks.scorer

Texts: the 4,200 tweets of VADER's paper (from PyPI), and the distinct English texts of the
benchmark mention file. Prints the time per text of each, the ratio, and how many results
differ (none should). Then the scorer behind the router's cache on the mention file's texts in
stream order, reposts and all, against vaderSentiment on the same texts. Last, the French
scorer (lexicon and model), its lexicon alone and vadersentiment-fr on the shipped labelled
French texts.
"""

from __future__ import annotations

import json

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from benchmarks.common import best_of, mention_file, vader_tweets
from pipeline.sentiment import Scorer, SentimentRouter, french, french_vader, vadersentiment_fr
from pipeline.sentiment_eval import SPLITS, TRAINING_SETS, read_set
from pipeline.vader import FastVader

RUNS = 5


def compare(name: str, texts: list[str]) -> None:
    reference, fast = SentimentIntensityAnalyzer(), FastVader()
    differ = sum(repr(fast.polarity_scores(t)) != repr(reference.polarity_scores(t)) for t in texts)
    slow = quick = float("inf")
    for _ in range(RUNS):  # interleaved, so that both see the machine in the same moods
        slow = min(slow, best_of(1, lambda: [reference.polarity_scores(t) for t in texts]))
        quick = min(quick, best_of(1, lambda: [fast.polarity_scores(t) for t in texts]))
    slow, quick = slow / len(texts), quick / len(texts)
    print(
        f"{name}: {len(texts)} texts, vaderSentiment {slow * 1e6:.1f} µs/text, "
        f"buzzwatch {quick * 1e6:.1f} µs/text: {slow / quick:.1f}× faster, {differ} differ"
    )


def main() -> None:
    tweets = vader_tweets()
    if tweets is None:
        print("VADER's tweets: skipped (PyPI not reachable)")
    else:
        compare("VADER's tweets", tweets)
    with mention_file().open("rb") as lines:
        stream = [json.loads(line)["text"] for line in lines]
    compare("benchmark mentions, distinct", list(dict.fromkeys(stream)))
    reference = SentimentIntensityAnalyzer()
    slow = best_of(1, lambda: [reference.polarity_scores(t) for t in stream])

    def routed() -> None:
        router = SentimentRouter()  # a fresh cache each run
        for text in stream:
            router.polarity(text, "en")

    quick = best_of(RUNS, routed)
    repeated = 1 - len(set(stream)) / len(stream)
    print(
        f"benchmark mentions in stream order ({repeated:.0%} repeat an earlier text): "
        f"vaderSentiment {slow:.2f} s, buzzwatch with its cache {quick:.2f} s: "
        f"{slow / quick:.1f}× faster"
    )
    compare_french()


def compare_french() -> None:
    texts = list(
        dict.fromkeys(i.text for name in (*SPLITS, *TRAINING_SETS) for i in read_set(name))
    )
    scorers = {
        "vadersentiment-fr": vadersentiment_fr(),
        "buzzwatch lexicon only": french_vader(),
        "buzzwatch": french(),
    }
    best = dict.fromkeys(scorers, float("inf"))

    def run(scorer: Scorer) -> float:
        return best_of(1, lambda: [scorer.polarity(text) for text in texts])

    for _ in range(RUNS):  # interleaved, as above
        for name, scorer in scorers.items():
            best[name] = min(best[name], run(scorer))
    reference = best["vadersentiment-fr"]
    print(
        f"French labelled texts: {len(texts)} distinct, "
        + ", ".join(
            f"{name} {seconds / len(texts) * 1e6:.1f} µs/text ({reference / seconds:.2f}×)"
            for name, seconds in best.items()
        )
    )


if __name__ == "__main__":
    main()
