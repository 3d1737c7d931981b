"""Sentiment scoring behind a small interface, chosen by the mention's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pipeline.language import LanguageDetector

if TYPE_CHECKING:
    from pipeline.settings import DetectionSettings

POSITIVE_COMPOUND = 0.05  # VADER's usual bar for a positive text


class Polarity(NamedTuple):
    """VADER's four figures: `compound` in [-1, 1], the others shares of the text."""

    compound: float
    pos: float
    neu: float
    neg: float


class Scorer(Protocol):
    """Anything that turns a text into a `Polarity`."""

    def polarity(self, text: str) -> Polarity: ...


class _VaderAnalyzer(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


class _VaderScorer:
    """Adapter from a VADER-style analyzer to `Scorer`."""

    def __init__(self, analyzer: _VaderAnalyzer) -> None:
        self._analyzer = analyzer

    def polarity(self, text: str) -> Polarity:
        s = self._analyzer.polarity_scores(text)
        return Polarity(s["compound"], s["pos"], s["neu"], s["neg"])


class _TupleAnalyzer(Protocol):
    def scores(self, text: str) -> tuple[float, float, float, float]: ...


class _TupleScorer:
    """Adapter to `Scorer` from the project's analyzers, whose `scores(text)` gives
    (neg, neu, pos, compound) without building a dict per text."""

    def __init__(self, analyzer: _TupleAnalyzer) -> None:
        self._analyzer = analyzer

    def polarity(self, text: str) -> Polarity:
        neg, neu, pos, compound = self._analyzer.scores(text)
        return Polarity(compound, pos, neu, neg)


def english_vader() -> Scorer:
    """vaderSentiment 3.3.2's English scores, exactly, by the project's faster implementation."""
    from pipeline.vader import FastVader

    return _TupleScorer(FastVader())


def french_vader() -> Scorer:
    """The project's French VADER (`pipeline.vader_fr`): vadersentiment-fr's lexicon with
    French negation, contrast and a corrected vocabulary, on VADER's compound scale."""
    from pipeline.vader_fr import FrenchVader

    return _TupleScorer(FrenchVader())


def french() -> Scorer:
    """The French scorer (`pipeline.french_model`): a linear model over the French VADER's
    scores and the text's words, emoji and hashtags, trained on labelled French posts."""
    from pipeline.french_model import FrenchScorer

    return _TupleScorer(FrenchScorer())


def vadersentiment_fr() -> Scorer:
    """vadersentiment-fr 1.3.4's analyzer as published: the reference the French scorer is
    measured against (`buzzwatch evaluate sentiment`)."""
    import warnings

    with warnings.catch_warnings():  # fuzzywuzzy warns that python-Levenshtein is absent
        warnings.simplefilter("ignore", UserWarning)
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer

    return _VaderScorer(SentimentIntensityAnalyzer())


def language_of(lang: str | None) -> str:
    """Primary language subtag in lower case (`fr-CA` → `fr`); `""` if there is none."""
    if not lang:
        return ""
    return lang.split("-")[0].split("_")[0].strip().lower()


def scoring_window(text: str, max_chars: int, max_units: int) -> str:
    """The start of `text` that VADER scores in bounded time.

    VADER's cost grows with the square of the text's units (words, and emoji, each of which
    it expands to the words of its description: 5,000 emoji take seconds). The window is at
    most `max_chars` characters and `max_units` units: a tweet is scored whole, a hostile
    flood in a few milliseconds.
    """
    window = text[:max_chars]
    if len(window) <= max_units:  # never more units than characters
        return window
    units = 0
    in_word = False
    for index, char in enumerate(window):
        if char.isspace():
            in_word = False
            continue
        if ord(char) >= _SYMBOLS_FROM and not char.isalnum():
            units += 1  # an emoji or symbol: words of its own
            in_word = False
        elif not in_word:
            units += 1
            in_word = True
        if units > max_units:
            return window[:index]
    return window


_SYMBOLS_FROM = 0x2000  # general punctuation, arrows, dingbats, emoji...


@dataclass
class SentimentRouter:
    """Scores a text with the scorer of its language; English is the fallback.

    The language is the mention's `lang` when the source gives one; otherwise it is detected
    among the scorers' languages (`LanguageDetector`), and `default_lang` when the text says
    too little. Only `scoring_window` of the text is scored (`max_chars`, `max_units`), which
    bounds the cost of one record whatever its length. The scores of the last `cache_size` / 2
    to `cache_size` distinct short texts (up to `cache_chars`, with their given language) are
    remembered, in two generations: when the newer one is full it becomes the older one, and a
    text found in the older one joins the newer one. Reposts, common in bursts, are scored (and
    their language detected) once; the cache stays within about 25 MB.
    """

    negative_threshold: float = -0.05
    max_chars: int = 5000
    max_units: int = 300
    cache_size: int = 40_000
    cache_chars: int = 512
    default_lang: str = "en"
    french_scorer: str = "model"  # or "lexicon": `french_vader` alone
    _cache: dict[tuple[str, str], tuple[Polarity, str]] = field(
        default_factory=dict, init=False, repr=False
    )
    _older: dict[tuple[str, str], tuple[Polarity, str]] = field(
        default_factory=dict, init=False, repr=False
    )

    @classmethod
    def for_settings(cls, settings: DetectionSettings, **options: Any) -> SentimentRouter:
        """The router of the engine's `settings` (negative bar, French scorer); `options` are
        the router's own (cache sizes, windows)."""
        return cls(settings.negative_threshold, french_scorer=settings.french_scorer, **options)

    def serves(self, settings: DetectionSettings) -> bool:
        """Whether this router scores as `settings` ask (negative bar, French scorer)."""
        return (self.negative_threshold, self.french_scorer) == (
            settings.negative_threshold,
            settings.french_scorer,
        )

    @cached_property
    def _scorers(self) -> dict[str, Scorer]:
        lexicon = self.french_scorer == "lexicon"
        return {"en": english_vader(), "fr": french_vader() if lexicon else french()}

    @cached_property
    def _detector(self) -> LanguageDetector:
        return LanguageDetector(tuple(self._scorers), fallback=self.default_lang)

    def language(self, text: str, lang: str | None = None) -> str:
        """`lang`'s primary subtag if given, else the language detected in the text."""
        return self._language(scoring_window(text, self.max_chars, self.max_units), lang)

    def polarity(self, text: str, lang: str | None = None) -> Polarity:
        return self.judged(text, lang)[0]

    def judged(self, text: str, lang: str | None = None) -> tuple[Polarity, str]:
        """The polarity and the language it was scored in (given, or detected)."""
        code = language_of(lang)
        if len(text) > self.cache_chars:  # never cached: not even looked up
            return self._score(text, code)
        key = (code, text)  # "" for a language to detect: the key says what the text needs
        judged = self._cache.get(key)
        if judged is not None:
            return judged
        judged = self._older.get(key) or self._score(text, code)
        if len(self._cache) >= self.cache_size // 2:  # cheaper than LRU bookkeeping
            self._older, self._cache = self._cache, {}
        self._cache[key] = judged
        return judged

    def _score(self, text: str, code: str) -> tuple[Polarity, str]:
        window = scoring_window(text, self.max_chars, self.max_units)
        lang = self._language(window, code)
        scorer = self._scorers.get(lang) or self._scorers["en"]
        return scorer.polarity(window), lang

    def _language(self, window: str, lang: str | None) -> str:
        """`lang`'s primary subtag if given, else the language detected in the scored window."""
        return language_of(lang) or self._detector.detect(window)

    def is_negative(self, polarity: Polarity) -> bool:
        return polarity.compound <= self.negative_threshold
