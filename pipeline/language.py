"""Offline language detection, for mentions that arrive without a `lang`."""

from __future__ import annotations

from collections.abc import Sequence


class LanguageDetector:
    """The most probable of `languages` for a text, by py3langid's model (shipped in its
    package: nothing is downloaded); `fallback` when no language reaches `min_confidence`,
    as with a word or two, or emoji only."""

    def __init__(
        self, languages: Sequence[str], fallback: str = "en", min_confidence: float = 0.6
    ) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.languages = tuple(languages)
        self.fallback = fallback
        self.min_confidence = min_confidence
        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(self.languages))

    def detect(self, text: str) -> str:
        """A language code of `languages`, or `fallback`."""
        lang, probability = self._identifier.classify(text)
        return str(lang) if probability >= self.min_confidence else self.fallback
