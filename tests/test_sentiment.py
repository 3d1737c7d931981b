import pytest

from pipeline.sentiment import (
    Scorer,
    SentimentRouter,
    english_vader,
    french,
    french_vader,
    language_of,
)

ROUTER = SentimentRouter()


def test_english_matches_vader_sentiment_itself() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    text = "The service was NOT good at all :( but the food was great!!"
    expected = SentimentIntensityAnalyzer().polarity_scores(text)
    assert english_vader().polarity(text)._asdict() == expected


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("Service horrible, je suis furieux, plus jamais ça", True),
        ("Intoxication alimentaire après votre gâteau, c'est une honte", True),
        ("J'adore cette boulangerie, les croissants sont excellents", False),
    ],
)
def test_french_scorer_reads_french(text: str, negative: bool) -> None:
    polarity = ROUTER.polarity(text, "fr")
    assert ROUTER.is_negative(polarity) is negative


@pytest.mark.parametrize("scorer", [french(), french_vader()], ids=["model", "lexicon"])
def test_french_compound_has_vaders_meaning(scorer: Scorer) -> None:
    """Same scale as English VADER: in [-1, 1], sign = valence, shares sum to 1."""
    texts = ["Nul, nul, nul !!!", "Merci, parfait, génial !", "Le magasin ouvre à 9h"]
    for text in texts:
        p = scorer.polarity(text)
        assert -1.0 <= p.compound <= 1.0
        assert p.pos + p.neu + p.neg == pytest.approx(1.0, abs=0.01)
    assert scorer.polarity(texts[0]).compound < -0.05 < 0.05 < scorer.polarity(texts[1]).compound
    assert -0.05 < scorer.polarity(texts[2]).compound < 0.05


def test_routing_by_language_tag() -> None:
    assert language_of("fr-CA") == "fr"
    assert language_of("FR") == "fr"
    text = "horrible"  # negative in both lexicons, but weighted differently
    fr, en = ROUTER.polarity(text, "fr"), ROUTER.polarity(text, "en")
    assert fr == french().polarity(text)
    assert en == english_vader().polarity(text)
    assert ROUTER.polarity(text, "de") == en  # no German scorer: English fallback


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Vol annulé, aucune info, c'est une honte", "fr"),
        ("Je ne recommande pas ce restaurant", "fr"),
        ("Livraison en retard encore une fois 😡", "fr"),
        ("Worst customer service ever, never again", "en"),
        ("Great coffee this morning, thanks!", "en"),
    ],
)
def test_a_mention_without_lang_is_scored_in_the_language_detected(text: str, lang: str) -> None:
    router = SentimentRouter()
    assert router.language(text) == lang
    assert router.polarity(text) == router.polarity(text, lang)
    assert router.language(text, "de-AT") == "de"  # the source's language wins


def test_a_text_that_says_too_little_gets_the_default_language() -> None:
    for default in ("en", "fr"):
        router = SentimentRouter(default_lang=default)
        for text in ("ok", "😡😡😡", "@brand ??"):
            assert router.language(text) == default
            assert router.polarity(text) == router.polarity(text, default)


def test_detected_scores_are_cached_apart_from_given_languages() -> None:
    router = SentimentRouter()
    text = "horrible"  # a word of both languages: detection may pick either
    given = {lang: router.polarity(text, lang) for lang in ("fr", "en")}
    detected = router.polarity(text)
    assert detected == given[router.language(text)]
    assert given == {lang: router.polarity(text, lang) for lang in ("fr", "en")}


def test_threshold_is_configurable() -> None:
    strict = SentimentRouter(negative_threshold=-0.5)
    mild = ROUTER.polarity("a bit disappointing", "en")
    assert ROUTER.is_negative(mild)
    assert not strict.is_negative(mild)


def test_only_the_first_max_chars_are_scored() -> None:
    router = SentimentRouter(max_chars=20)
    assert router.polarity("what a lovely day " + "terrible " * 50) == router.polarity(
        "what a lovely day te"
    )
