"""Brand matching: a mention that arrives without a brand is counted for the configured brands
its text names, by their aliases, keywords and handles.

Texts and terms are compared case- and accent-insensitively, as whole words: the text is cut
into words (`\\w+`), and a term matches a run of consecutive words. `@name` is a handle
(`@name.x` and Mastodon's `@name@instance.social` too). `#name` is a hashtag; its words count
as words of the text, split where the case changes (`#boycottDupont` names `Dupont`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.models import Mention

K = TypeVar("K", str, tuple[str, ...])
MatchKind = Literal["alias", "keyword", "handle"]
_HANDLE = r"@\w+(?:\.\w+)*(?:@\w+(?:\.\w+)+)?"
_TOKEN = re.compile(rf"(?<!\w){_HANDLE}|(?<!\w)#\w+|\w+")


class BrandTerms(BaseModel):
    """How one brand is recognised in a text (a `[brands."NAME"]` table of the configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: tuple[str, ...] = Field(
        (),
        description="Other names of the brand (its own name is one). Also matched written "
        "as one hashtag: `Boulangerie Dupont` matches `#BoulangerieDupont`.",
    )
    keywords: tuple[str, ...] = Field(
        (),
        description="Products, campaigns, hashtags that identify the brand, matched as "
        "written: `#soldesdupont` only as a hashtag.",
    )
    handles: tuple[str, ...] = Field(
        (),
        description="The brand's accounts, matched only as `@handle`; a mention naming one is "
        "about the brand whatever else it says.",
    )
    exclude: tuple[str, ...] = Field(
        (),
        description="Terms that, anywhere in the text, veto the alias and keyword matches "
        "(`DuPont de Nemours` for a bakery called Dupont).",
    )

    @field_validator("aliases", "keywords", "exclude", mode="after")
    @classmethod
    def _has_words(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            words = words_of(term)
            if not words:
                raise ValueError(f"term {term!r} has no letters or digits")
            if all(len(word) == 1 for word in words):
                raise ValueError(
                    f"term {term!r} would match the bare letters {' '.join(words)!r} "
                    "(punctuation is not matched): give a longer name, or a handle"
                )
        return terms

    @field_validator("handles", mode="after")
    @classmethod
    def _are_handles(cls, handles: tuple[str, ...]) -> tuple[str, ...]:
        for handle in handles:
            if not re.fullmatch(_HANDLE, handle_of(handle)):
                raise ValueError(f"handle {handle!r} is not @name or @name@instance")
        return handles


@dataclass(frozen=True, slots=True)
class Match:
    """Why a text counts for a brand: its handle if the text has one, else its first hashtag,
    else the first of its aliases and keywords in the text."""

    brand: str
    kind: MatchKind
    term: str


def fold(text: str) -> str:
    """Lower case without accents: `L'Oréal` -> `l'oreal`, `Straße` -> `strasse`."""
    if text.isascii():
        return text.lower()
    return _combining_marks().sub("", unicodedata.normalize("NFKD", text.casefold()))


@lru_cache(maxsize=1)
def _combining_marks() -> re.Pattern[str]:
    """The combining marks of the Basic Multilingual Plane, as one character class of their
    runs of code points (three times faster to delete than with a `str.translate` table)."""
    runs: list[list[int]] = []
    for code in range(0x10000):
        if unicodedata.combining(chr(code)):
            if runs and runs[-1][1] == code - 1:
                runs[-1][1] = code
            else:
                runs.append([code, code])
    return re.compile("[" + "".join(f"\\u{first:04x}-\\u{last:04x}" for first, last in runs) + "]")


def handle_of(text: str) -> str:
    """A configured handle as it appears in folded text: `Dupont` -> `@dupont`."""
    return "@" + fold(text.strip()).removeprefix("@")


def words_of(text: str) -> list[str]:
    """The folded words of a text, each with its `@` or `#` sign if it has one."""
    return [fold(token) for token in _TOKEN.findall(unicodedata.normalize("NFC", text))]


def folded_words(text: str) -> list[str]:
    """`words_of`, folding the whole text once (faster on long texts; the same words but for
    rare characters whose folding splits a word)."""
    return _TOKEN.findall(fold(unicodedata.normalize("NFC", text)))


def hashtag_words(tag: str) -> list[str]:
    """The folded words of a hashtag (without its `#`), split at underscores and where a
    lower-case letter meets an upper-case one: `KivoWins` -> kivo, wins; `NYCMarathon` ->
    nyc, marathon."""
    words = []
    for piece in tag.split("_"):
        start = 0
        for i in range(1, len(piece)):
            before, here = piece[i - 1], piece[i]
            hump = before.islower() and here.isupper()
            acronym_end = before.isupper() and here.isupper() and piece[i + 1 : i + 2].islower()
            if hump or acronym_end:
                words.append(piece[start:i])
                start = i
        words.append(piece[start:])
    return [fold(word) for word in words if word]


class BrandMatcher:
    """Finds the configured brands a text names, for any number of brands.

    Every term is indexed by its word sequence, so a text costs a few dictionary lookups per
    word whatever the number of brands.
    """

    def __init__(self, brands: Mapping[str, BrandTerms]) -> None:
        self.brands = tuple(brands)
        self._rank = {brand: rank for rank, brand in enumerate(self.brands)}
        self._phrases: dict[tuple[str, ...], list[Match]] = {}  # aliases and keywords
        self._hashtags: dict[str, list[Match]] = {}  # `#word` keywords and aliases run together
        self._handles: dict[str, list[Match]] = {}
        self._vetoes: dict[tuple[str, ...], set[str]] = {}
        self.handles = {brand: terms.handles for brand, terms in brands.items() if terms.handles}
        for brand, terms in brands.items():
            for alias in (brand, *terms.aliases):
                words = _bare(words_of(alias))
                self._add(self._phrases, tuple(words), Match(brand, "alias", alias))
                self._add(self._hashtags, "".join(words), Match(brand, "alias", alias))
            for keyword in terms.keywords:
                words = words_of(keyword)
                match = Match(brand, "keyword", keyword)
                if len(words) == 1 and words[0][0] == "#":
                    tag = "".join(hashtag_words(keyword.strip().removeprefix("#")))
                    self._add(self._hashtags, tag, match)
                else:
                    bare = _bare(words)
                    self._add(self._phrases, tuple(bare), match)
                    self._add(self._hashtags, "".join(bare), match)
            for handle in terms.handles:
                self._add(self._handles, handle_of(handle), Match(brand, "handle", handle))
            for term in terms.exclude:
                self._vetoes.setdefault(tuple(_bare(words_of(term))), set()).add(brand)
        lengths = [len(phrase) for phrase in (*self._phrases, *self._vetoes)]
        self._longest = max(lengths, default=0)
        self._starts = {phrase[0] for phrase in (*self._phrases, *self._vetoes)}

    def matches(self, text: str) -> list[Match]:
        """One `Match` per brand the text names, in the order brands are configured."""
        found: dict[str, Match] = {}
        handled: dict[str, Match] = {}  # handles apart: no exclusion vetoes them
        words: list[str] = []  # handles stay in as words no term has, so no phrase spans one
        for token in _TOKEN.findall(unicodedata.normalize("NFC", text)):
            if token[0] == "@":
                words.append(fold(token))
                self._note(handled, self._handles.get(words[-1], ()))
            elif token[0] == "#":
                tag = hashtag_words(token[1:])
                self._note(found, self._hashtags.get("".join(tag), ()))
                words.extend(tag)
            else:
                words.append(fold(token))
        vetoed: set[str] = set()
        for i, word in enumerate(words):
            if word not in self._starts:
                continue
            for end in range(i + 1, min(i + self._longest, len(words)) + 1):
                phrase = tuple(words[i:end])
                self._note(found, self._phrases.get(phrase, ()))
                vetoed |= self._vetoes.get(phrase, set())
        kept = [*handled.values()]
        kept += [m for b, m in found.items() if b not in handled and b not in vetoed]
        return sorted(kept, key=lambda match: self._rank[match.brand])

    def assign(self, mention: Mention) -> list[Mention]:
        """The mention once for each brand its text names; a brand given by the source wins,
        then the brand whose handle wrote it (its own post, an answer to a customer).

        A mention with no brand that names none comes back as it is (to be reported unbranded).
        """
        if mention.brand is not None:
            return [mention]
        author = mention.author
        if author is not None:
            for name in (author.id, author.name):
                owned = self._handles.get(handle_of(name)) if name else None
                if owned:
                    return [mention.model_copy(update={"brand": owned[0].brand})]
        named = [mention.model_copy(update={"brand": m.brand}) for m in self.matches(mention.text)]
        return named or [mention]

    @staticmethod
    def _add(index: dict[K, list[Match]], key: K, match: Match) -> None:
        entries = index.setdefault(key, [])
        if all(entry.brand != match.brand for entry in entries):
            entries.append(match)

    @staticmethod
    def _note(found: dict[str, Match], matches: Iterable[Match]) -> None:
        for match in matches:
            found.setdefault(match.brand, match)


class Handles:
    """Each brand's own accounts, to tell its posts (answers, statements) from the buzz."""

    def __init__(self, handles: Mapping[str, Iterable[str]] | None = None) -> None:
        self.owned = {
            brand: frozenset(handle_of(handle) for handle in owned)
            for brand, owned in (handles or {}).items()
        }

    def owns(self, mention: Mention) -> bool:
        """Whether one of its brand's handles wrote the mention (by author id or name)."""
        owned = self.owned.get(mention.brand or "")
        author = mention.author
        if not owned or author is None:
            return False
        return handle_of(author.id) in owned or (
            author.name is not None and handle_of(author.name) in owned
        )


def _bare(tokens: list[str]) -> list[str]:
    return [token.lstrip("@#") for token in tokens]


def brand_matcher(config: Mapping[str, Any]) -> BrandMatcher | None:
    """The matcher of a configuration's `[brands."NAME"]` tables; None when there are none."""
    tables = config.get("brands", {})
    if not tables:
        return None
    return BrandMatcher({name: BrandTerms.model_validate(t) for name, t in tables.items()})


def assigned(matcher: BrandMatcher | None, mention: Mention) -> list[Mention]:
    """`matcher.assign(mention)`; without a matcher, the mention as it is."""
    return [mention] if matcher is None else matcher.assign(mention)
