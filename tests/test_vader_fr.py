"""The French lexicon scorer, the French model's first input: vadersentiment-fr's known
failures fixed, and measured against it on the project's labelled brand mentions (the
held-out split was not used to build it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sentiment import french_vader, vadersentiment_fr
from pipeline.sentiment_eval import judge, label_of, read_set
from pipeline.vader_fr import FrenchVader

SCORER = FrenchVader()
REFERENCE = vadersentiment_fr()


def compound(text: str) -> float:
    return SCORER.scores(text)[3]


@pytest.mark.parametrize(
    ("text", "label", "published"),
    [
        ("Bonjour !!!", "neutral", "negative"),  # punctuation alone
        ("???", "neutral", None),
        ("Je ne recommande pas", "negative", "positive"),  # ne ... pas after the verb
        ("Je ne le recommande pas du tout", "negative", None),
        ("j'aime pas", "negative", None),  # ne dropped
        ("Je ne suis pas content", "negative", "neutral"),
        ("Pas terrible", "negative", "positive"),  # an idiom
        ("C'est plus beau qu'avant", "positive", "negative"),  # plus as a comparative
        ("Ce n'est plus bon", "negative", None),  # ne ... plus
        ("Le prix est correct", "positive", None),  # a price, not a prize
        ("Le prix", "neutral", "positive"),
        ("Jamais déçu", "positive", None),
        ("Aucun problème, livraison rapide", "positive", None),
        ("Ça marche plus depuis trois jours", "negative", None),
        ("Toujours pas reçu ma commande", "negative", None),
        ("NUUUUL", "negative", None),  # repeated letters
        ("tres decu", "negative", None),  # no accents
        ("Service client injoignable 😡", "negative", None),
    ],
)
def test_known_failures_of_the_published_port_are_fixed(
    text: str, label: str, published: str | None
) -> None:
    assert label_of(compound(text)) == label
    if published is not None:  # what vadersentiment-fr 1.3.4 says
        assert label_of(REFERENCE.polarity(text).compound) == published


def test_mais_weighs_what_follows_it_more() -> None:
    praise_then_complaint = "Le pain est bon mais le service est vraiment horrible"
    complaint_then_praise = "Le service est horrible mais le pain est vraiment excellent"
    assert compound(praise_then_complaint) < 0 < compound(complaint_then_praise)
    assert compound("Le pain est bon") > 0 > compound("Le pain est bon, par contre c'est cher")


def test_accents_are_not_folded_onto_other_words() -> None:
    assert compound("le caramel beurre salé") == 0.0  # not "sale" (dirty)
    assert compound("la salle est sale") < 0


def test_it_keeps_vaders_scale() -> None:
    neg, neu, pos, value = SCORER.scores("Très déçu, service lamentable !!!")
    assert -1.0 <= value < -0.5 and abs(neg + neu + pos - 1.0) < 0.01
    assert french_vader().polarity("Très déçu").compound == compound("Très déçu")
    assert SCORER.polarity_scores("") == {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


def test_it_beats_the_published_port_on_both_labelled_splits() -> None:
    for split in ("dev", "test"):
        items = read_set(split)
        ours = judge(compound, items)
        theirs = judge(lambda text: REFERENCE.polarity(text).compound, items)
        assert ours.count == theirs.count >= 400
        assert ours.macro_f1 >= 0.70 and ours.macro_f1 > theirs.macro_f1 + 0.15, split


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_text_gets_bounded_scores(text: str) -> None:
    neg, neu, pos, value = SCORER.scores(text)
    assert -1.0 <= value <= 1.0 and all(0.0 <= share <= 1.0 for share in (neg, neu, pos))


@pytest.mark.parametrize("text", ["pas", "pas de", "toujours", "rien a", "par contre", "ne"])
def test_a_text_ending_inside_a_phrase_is_scored(text: str) -> None:
    assert SCORER.scores(text)[3] == 0.0
