"""Parity of `pipeline.vader.FastVader` with vaderSentiment 3.3.2: the same dict, with the
same floats (compared by `repr`, so 0.0 and -0.0 differ), on the project's own texts and on
generated texts full of what VADER's rules look at."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from importlib import resources
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline import texts
from pipeline.sentiment import SentimentRouter, english_vader
from pipeline.vader import BOOSTERS, NEGATIONS, SPECIAL_CASES, TRIGGERS, FastVader

REFERENCE = SentimentIntensityAnalyzer()
FAST = FastVader()


def assert_same(text: str) -> None:
    expected = REFERENCE.polarity_scores(text)
    assert repr(FAST.polarity_scores(text)) == repr(expected), text


def sample_texts() -> list[str]:
    """The texts of the shipped demo stream (English and French mentions)."""
    sample = resources.files("pipeline") / "samples" / "demo.jsonl.gz"
    with sample.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines]


def rendered_texts(count: int) -> Iterator[str]:
    """Texts of the synthetic generator, every theme, category and language."""
    rng = Random(6)
    for n in range(count):
        theme = texts.THEMES[n % len(texts.THEMES)]
        category = texts.CATEGORIES[n // 4 % len(texts.CATEGORIES)]
        lang = texts.LANGS[n // 20 % len(texts.LANGS)]
        yield texts.render(rng, theme, category, lang, "Café Colette", "@cafecolette")


def test_the_project_texts_score_the_same() -> None:
    corpus = list(dict.fromkeys([*sample_texts(), *rendered_texts(20_000)]))
    assert len(corpus) > 15_000
    for text in corpus:
        assert_same(text)


# Words and marks VADER's rules react to, and plain words around them.
RULE_WORDS = sorted(
    {*NEGATIONS, *BOOSTERS, *(w for key in SPECIAL_CASES for w in key.split())}
    | {"no", "or", "nor", "never", "so", "this", "without", "doubt", "least", "at", "very"}
    | {"but", "BUT", "But", "kind", "of", "sort", "isn't", "don't", "can't", "n't", "aint"}
)
SENTIMENT_WORDS = [
    "good", "GOOD", "bad", "BAD", "great", "terrible", "love", "hate", "awful", "happy", "sad",
    "no", "NO", "lol", "LOL", "sux", "shit", "bomb", "die", "heart", "right", "ass", "ok",
    "yeah", "kiss", "death", "stop", "beating", "dead", "nice", "worst", "best", "kind",
]  # fmt: skip
PLAIN_WORDS = ["the", "a", "flight", "service", "I", "it", "WAS", "today", "@acme", "#fail"]
EMOJI = [*"😀😡😍💔🤬👍👎🙂😭❤🎉©®‼", "❤️", "🇫🇷", "👩‍👩‍👧"]
MARKS = [
    "!", "!!", "!!!!!", "?", "??", "????", "?!", ":)", ":(", ":-)", ":D", "<3", "...", ",",
    "'", '"', "(", ")", "-", "--", "#", "@", "&amp;", "\u00a0", "\t", "\n", " ", "  ",
]  # fmt: skip
piece = st.sampled_from(RULE_WORDS + SENTIMENT_WORDS + PLAIN_WORDS + EMOJI + MARKS)
glue = st.sampled_from([" ", " ", " ", "", "\u00a0", "\n", "!", ", "])
tricky_texts = st.lists(st.tuples(piece, glue), max_size=40).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)
PARITY = settings(
    max_examples=3000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@PARITY
@given(tricky_texts)
def test_texts_made_of_rule_words_score_the_same(text: str) -> None:
    assert_same(text)


@settings(PARITY, max_examples=500)
@given(st.text(max_size=200))
def test_any_unicode_text_scores_the_same(text: str) -> None:
    assert_same(text)


def test_forgetting_the_tables_changes_no_score() -> None:
    forgetful = FastVader(tokens_remembered=8, rounded_remembered=3)  # emptied every text or two
    for text in list(rendered_texts(2000)) + sample_texts()[:2000]:
        assert repr(forgetful.polarity_scores(text)) == repr(REFERENCE.polarity_scores(text))
    assert len(forgetful._valences) < 8 + 100
    assert len(forgetful._thousandths) + len(forgetful._ten_thousandths) < 3 + 4


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "😀",
        "😀😀😀",
        "a😀b",
        " 😀 ",
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        "Today only kinda sux! But I'll get by, lol",
        "good good good but bad bad good good but good",  # equal values share a position
        "bad but bad but bad BUT bad",
        "no no no good",
        "never so good, without a doubt the best, at least not the worst",
        "It was kind of good, sort of bad and just enough fine",
        "yeah right, the shit, bad ass, kiss of death, to die for, beating heart, bus stop",
        "GOOD but BAD and ok",
        "ALL CAPS GOOD",
        "not bad at all " * 200,  # long: the original is quadratic here
        " ".join(["good but great terrible"] * 150),
    ],
)
def test_known_cases_score_the_same(text: str) -> None:
    assert_same(text)


def test_every_idiom_has_a_trigger_word() -> None:
    """The fast path skips the rules for a sentiment word with no trigger near it; an idiom
    or a booster phrase could only match near one of its own words."""
    for key in [*SPECIAL_CASES, *BOOSTERS]:
        if " " in key:
            assert TRIGGERS.intersection(key.split()), key


def test_the_router_scores_english_with_the_fast_scorer_and_caches_it() -> None:
    router = SentimentRouter(cache_size=2)
    text = "The crew was great but the food was awful 😡"
    expected = REFERENCE.polarity_scores(text)
    first = router.polarity(text, "en")
    assert first._asdict() == expected
    assert router.polarity(text, "en-GB") is first  # the cached result
    assert english_vader().polarity(text) == first
    for other in ("one", "two", "three"):  # the cache stays within its size
        router.polarity(other)
    assert len(router._cache) + len(router._older) <= 2
    assert router.polarity(text, "en") == first

    router = SentimentRouter(cache_size=4)  # two generations of two texts
    first = router.polarity(text, "en")
    router.polarity("one")
    router.polarity("two")  # the first generation becomes the older one
    assert router.polarity(text, "en") is first  # found there, not scored again
    router.polarity("three")
    router.polarity("four")
    # found again: it had joined the newer generation, which is now the older one
    assert router.polarity(text, "en") is first
