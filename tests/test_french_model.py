"""The French scorer's model: its compound keeps VADER's meaning, it reads the registers real
French posts use, it beats its lexicon on the held-out sets, and its shipped weights are
what the training script makes of the shipped data."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buzzwatch.evaluation.french_training import examples, pooled, train
from pipeline.engine import Engine
from pipeline.french_model import CLASSES, WEIGHTS, FrenchScorer, compound_of
from pipeline.sentiment import SentimentRouter, french, french_vader
from pipeline.sentiment_eval import (
    HELD_OUT,
    TRAINING_SETS,
    judge,
    label_of,
    read_set,
    recall_at_precision,
)
from pipeline.settings import DetectionSettings

MODEL = french()
LEXICON = french_vader()


@given(st.lists(st.floats(min_value=0.001, max_value=1.0), min_size=3, max_size=3))
def test_the_compound_reads_as_the_most_probable_class(raw: list[float]) -> None:
    whole = sum(raw)
    negative, neutral, positive = (value / whole for value in raw)
    probabilities = (negative, neutral, positive)
    if sorted(probabilities)[-1] - sorted(probabilities)[-2] < 1e-9:
        return  # a tie: either class is right
    expected = CLASSES[probabilities.index(max(probabilities))]
    assert label_of(compound_of(negative, neutral, positive)) == expected


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("toujours pas reçu ma commande", "negative"),  # a complaint without emotional words
        ("3h d'attente au guichet", "negative"),
        ("ça fait 2 semaines que j'attends une réponse", "negative"),
        ("Livraison encore en retard #honte", "negative"),  # the hashtag says it
        ("#BoycottMangeo", "negative"),  # a hashtag's words
        ("Ma commande est arrivée 😡", "negative"),  # the emoji says it
        ("c nul jsuis dég", "negative"),  # SMS spelling
        ("génial, encore en panne", "negative"),  # irony
        ("jsuis trop content de mon nouveau tel", "positive"),
        ("trop hâte de voir le film", "positive"),
        ("Le magasin ouvre à 9h demain", "neutral"),
        ("Quelqu'un sait si la poste est ouverte le samedi ?", "neutral"),
        ("La grève est prévue jeudi https://t.co/abc", "neutral"),
    ],
)
def test_it_reads_french_as_posted(text: str, label: str) -> None:
    assert label_of(MODEL.polarity(text).compound) == label


@pytest.mark.parametrize("text", ["c'est nul", "Scandaleux", "Honteux", "Service client nul"])
@pytest.mark.parametrize("marks", ["!", "!!", "!!!!"])
def test_exclamation_marks_stress_a_complaint_without_turning_it(text: str, marks: str) -> None:
    """The training posts put `!!` on praise only: the model must not learn it as praise."""
    assert label_of(MODEL.polarity(f"{text} {marks}").compound) == "negative"


def test_the_router_scores_french_with_the_model_unless_the_lexicon_is_asked_for() -> None:
    text = "toujours pas reçu ma commande"
    assert SentimentRouter().polarity(text, "fr") == MODEL.polarity(text)
    assert LEXICON.polarity(text) != MODEL.polarity(text)
    previous = SentimentRouter.for_settings(DetectionSettings(french_scorer="lexicon"))
    assert previous.polarity(text, "fr") == LEXICON.polarity(text)
    assert Engine(DetectionSettings(french_scorer="lexicon")).scorer.polarity(text, "fr") == (
        LEXICON.polarity(text)
    )


@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_on_held_out_sets_it_finds_more_negatives_than_its_lexicon(name: str) -> None:
    """Higher negative recall at the default bars, and higher still at the lexicon's own
    negative precision (the probability of a negative text ranked)."""
    items = read_set(name)
    model = judge(lambda text: MODEL.polarity(text).compound, items)
    lexicon = judge(lambda text: LEXICON.polarity(text).compound, items)
    assert model.recall["negative"] >= lexicon.recall["negative"] + 0.15
    assert model.macro_f1 >= lexicon.macro_f1 + 0.1
    negativity = [MODEL.polarity(item.text).neg for item in items]
    gold = [item.label == "negative" for item in items]
    at_same_precision = recall_at_precision(negativity, gold, lexicon.precision["negative"])
    assert at_same_precision >= lexicon.recall["negative"] + 0.15


def test_recall_at_precision_takes_the_best_bar_that_keeps_the_precision() -> None:
    negativity = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    negative = [True, False, True, True, False, True]
    assert recall_at_precision(negativity, negative, 1.0) == 0.25
    assert recall_at_precision(negativity, negative, 0.75) == 0.75
    assert recall_at_precision(negativity, negative, 0.6) == 1.0
    assert recall_at_precision([0.5, 0.5], [True, False], 1.0) == 0.0  # ties go together


def test_the_shipped_weights_are_what_training_makes_of_the_shipped_sets() -> None:
    shipped = json.loads(resources.files("pipeline").joinpath("lexicons", WEIGHTS).read_text())
    posts = [examples(read_set(name)) for name in TRAINING_SETS]
    pool = pooled(posts, examples(read_set("xed-train")), shipped["xed_weight"])
    weights = train(pool, shipped["penalty"]).weights
    assert set(weights) == set(shipped["weights"])
    drift = max(
        abs(ours - theirs)
        for name, pair in weights.items()
        for ours, theirs in zip(pair, shipped["weights"][name], strict=True)
    )
    assert drift <= 1e-3


def test_the_held_out_sets_take_no_part_in_training() -> None:
    held_out = {item.text for name in HELD_OUT for item in read_set(name)}
    trained = {item.text for name in (*TRAINING_SETS, "xed-train") for item in read_set(name)}
    assert held_out and trained and not held_out & trained
    assert FrenchScorer().model.weights  # loads offline, from the package


def test_evaluate_sentiment_reports_negatives_first_and_marks_held_out_sets() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buzzwatch", "evaluate", "sentiment", "--data", "tweets-test"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "tweets-test: 600 texts (held out: never used for a choice)"
    assert lines[1].startswith("scorer | negative recall | negative precision | neutral recall")
    rows = {line.split(" | ")[0]: line.split(" | ") for line in lines[3:6]}
    assert set(rows) == {"buzzwatch", "buzzwatch lexicon only", "vadersentiment-fr"}
    assert float(rows["buzzwatch"][1]) > float(rows["buzzwatch lexicon only"][1])
    assert "at the lexicon's negative precision" in result.stdout
