"""The French scorers' speed-ups change no result: the figures of every shipped labelled
French text, and of hostile ones, are the recorded ones (`tests/fixtures/french-scores`,
written by the release before the speed-ups), a text's tokens are those of its pieces, and
the model's features are those it was trained on."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.french_model import FrenchScorer
from pipeline.sentiment_eval import read_set
from pipeline.vader_fr import FrenchVader, _tokens_of_piece, tokens_of

FIXTURE = Path(__file__).parent / "fixtures" / "french-scores" / "scores.json.gz"


def test_the_scores_are_the_recorded_ones() -> None:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as recorded:
        document = json.load(recorded)
    texts = list(dict.fromkeys(i.text for name in document["sets"] for i in read_set(name)))
    assert len(texts) == len(document["scores"]), "the shipped sets changed: write the file again"
    cases = [(text, *scores) for text, scores in zip(texts, document["scores"], strict=True)]
    cases += [tuple(extra) for extra in document["extras"]]
    model, lexicon = FrenchScorer(), FrenchVader()
    for _ in range(2):  # as the caches fill, then from them
        differ = [
            text
            for text, by_model, by_lexicon in cases
            if [list(model.scores(text)), list(lexicon.scores(text))] != [by_model, by_lexicon]
        ]
        assert not differ, f"{len(differ)} texts score differently, e.g. {differ[:3]}"


# words, apostrophes, emoticons' characters, clause punctuation, emoji, every kind of space
ALPHABET = st.sampled_from([*"aéZ_-'’#@:;=8xXDPpO3()/\\|*<.!?,…😡\u00a0 \t\n\u2009", "xD"])


@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_a_text_is_cut_as_its_pieces_are(text: str) -> None:
    whole = list(_tokens_of_piece(text.replace("’", "'")))  # the expression over the text
    assert tokens_of(text) == whole


def test_a_word_folded_to_nothing_still_pairs_with_the_word_before() -> None:
    # U+FF9E is a letter to the tokenizer and folds to "": the pair is a feature, as trained
    assert "b:merci " in FrenchScorer().features("merci \uff9e")
