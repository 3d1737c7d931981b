"""The French scorer: a small linear model on the French VADER's scores and the text's words.

The lexicon scorer (`pipeline.vader_fr`) knows words it was given; real French posts say
much without them: SMS spellings, hashtags (`#honte`), emoji, irony markers, complaints
with no emotional word ("toujours pas reçu ma commande", "3h d'attente"). A multinomial
logistic regression reads the lexicon's figures beside the text's features (words and word
pairs without accents, emoji and emoticons, hashtags and their words, punctuation, capitals,
links, replies) and gives the probabilities of negative, neutral and positive.

The weights ship in `lexicons/fr_model.json`; `buzzwatch.evaluation.french_training` trains
them from the labelled sets in `samples/` (licences and provenance beside them). Scoring is
a dictionary look-up per feature: a tweet takes tens of microseconds beyond the lexicon.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from importlib import resources

from pipeline.brands import hashtag_words
from pipeline.vader_fr import REPEATS, FrenchVader, Token, fold, tokens_of

Lexical = tuple[float, float, float, float]

WEIGHTS = "fr_model.json"
CLASSES = ("negative", "neutral", "positive")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")

Features = dict[str, float]


def features(text: str, tokens: list[Token], lexicon: Lexical) -> Features:
    """The model's inputs: `tokens` are `text`'s without its links, `lexicon` the French
    VADER's (neg, neu, pos, compound) of them."""
    found: Features = {}
    for name, value in inputs(text, tokens, lexicon):
        found.setdefault(name, value)
    return found


def inputs(text: str, tokens: list[Token], lexicon: Lexical) -> Iterator[tuple[str, float]]:
    """`features`' (name, value) pairs in order, a name that recurs each time it does."""
    neg, _, pos, compound = lexicon
    yield from (("bias", 1.0), ("lex:compound", compound), ("lex:neg", neg), ("lex:pos", pos))
    if "http" in text or "www." in text:
        yield "s:link", 1.0
    if text.lstrip()[:1] == "@":
        yield "s:reply", 1.0
    if "#" in text:
        for tag in _HASHTAG.findall(text):
            yield "h:" + _reduced(fold(tag)), 1.0
            words = hashtag_words(tag)
            if len(words) > 1:  # #BoycottNetflix: boycott, netflix
                for word in words:
                    yield "w:" + _reduced(word), 1.0
    previous = ""  # the word before, for word pairs; none after a clause's punctuation
    for token in tokens:
        reduced, own = _token_inputs(token)
        yield from own
        if reduced is None:  # an emoji or emoticon: a word pair goes across it
            continue
        if previous and token[0] == "word":
            yield f"b:{previous} {reduced}", 1.0
        previous = reduced


@lru_cache(maxsize=100_000)
def _token_inputs(token: Token) -> tuple[str | None, tuple[tuple[str, float], ...]]:
    """A token's word's reduced form, for word pairs ("" for clause punctuation, None for an
    emoji or emoticon), and its own (name, value) pairs."""
    kind, original, folded = token
    if kind == "stop":
        names = []
        if "!" in original:  # how many is the lexicon's business (VADER's emphasis rule)
            names.append("p:!")
        if "?" in original:
            names.append("p:?")
        if "..." in original or "…" in original:
            names.append("p:...")
        return "", tuple((name, 1.0) for name in names)
    if kind != "word":
        return None, (("e:" + original.lower(), 1.0),)
    word = _reduced(folded)
    names = ["s:elongated"] if word != folded else []
    if len(original) > 2 and original.isupper():
        names.append("s:caps")
    names.append("w:" + word)
    return word, tuple((name, 1.0) for name in names)


@lru_cache(maxsize=100_000)
def _reduced(word: str) -> str:
    """Letters repeated for emphasis kept twice: "trooop" and "troop", "nuuul" and "nuul"."""
    return REPEATS.sub(r"\1\1", word)


def without_links(text: str) -> str:
    """`text` with its links blanked: their pieces are not words."""
    return _LINK.sub(" ", text) if "http" in text or "www." in text else text


class FrenchModel:
    """Class probabilities (negative, neutral, positive) from `features`.

    Neutral is the reference class: two weight vectors, negative's and positive's."""

    def __init__(self, weights: Mapping[str, tuple[float, float]]) -> None:
        self.weights = weights

    @classmethod
    def shipped(cls) -> FrenchModel:
        raw = resources.files("pipeline").joinpath("lexicons", WEIGHTS).read_text("utf-8")
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: str) -> FrenchModel:
        document = json.loads(raw)
        return cls({name: (pair[0], pair[1]) for name, pair in document["weights"].items()})

    def probabilities(self, found: Iterable[tuple[str, float]]) -> tuple[float, float, float]:
        """The classes' probabilities given the (name, value) pairs `found` (a `Features`'
        items, or `inputs`: a name counts once, at its first value)."""
        to_negative = to_positive = 0.0
        weights, counted = self.weights, set()
        for name, value in found:
            pair = weights.get(name)
            if pair is not None and name not in counted:
                counted.add(name)
                to_negative += pair[0] * value
                to_positive += pair[1] * value
        top = max(to_negative, 0.0, to_positive)
        negative = math.exp(to_negative - top)
        neutral = math.exp(-top)
        positive = math.exp(to_positive - top)
        whole = negative + neutral + positive
        return negative / whole, neutral / whole, positive / whole


def compound_of(negative: float, neutral: float, positive: float) -> float:
    """A compound on VADER's scale whose ±0.05 bars give the most probable class: minus the
    probability of a negative text, the probability of a positive one, and within the
    neutral band the balance of the two for a neutral text."""
    if negative >= neutral and negative >= positive:
        return -negative
    if positive > neutral:
        return positive
    return 0.05 * (positive - negative)


class FrenchScorer:
    """`scores(text)` → (neg, neu, pos, compound): the class probabilities, and the compound of
    `compound_of`."""

    def __init__(self, model: FrenchModel | None = None) -> None:
        self.lexicon = FrenchVader()
        self.model = model or FrenchModel.shipped()

    def features(self, text: str) -> Features:
        return features(text, *self._read(text))

    def scores(self, text: str) -> tuple[float, float, float, float]:
        negative, neutral, positive = self.model.probabilities(inputs(text, *self._read(text)))
        return (
            round(negative, 3),
            round(neutral, 3),
            round(positive, 3),
            round(compound_of(negative, neutral, positive), 4),
        )

    def _read(self, text: str) -> tuple[list[Token], Lexical]:
        """`text`'s tokens without its links, and the French VADER's scores of them."""
        plain = without_links(text)
        tokens = tokens_of(plain)
        return tokens, self.lexicon.scores_of(tokens, plain)
