"""What a brand's recent mentions say, kept small enough to checkpoint: the explanation of an alert.

Mentions are summed in 15-minute slices over the explained window (an hour by default): counts
per source and language, negative mentions per account, and the few widest-reaching negative
mentions. The words and hashtags are read from a sample of each slice's mentions: the `SAMPLE`
whose ids hash lowest, all of them in a slice of a smaller brand, a uniform sample of a big
brand's that does not depend on their order (a text is split into words once it is among them and
they are needed: the vocabulary, an explanation, a checkpoint). Slices that leave the window are
learnt into the brand's usual vocabulary (decayed document frequencies), except while an alert
of the brand is active, so a crisis's words stay news. Every structure is bounded whatever the
volume.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections import Counter
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any, NamedTuple

from pipeline.brands import folded_words, words_of
from pipeline.models import (
    AccountShare,
    EmergingTerm,
    ExplainedMention,
    Explanation,
    Mention,
)
from pipeline.settings import ExplainSettings

SLICE_SECONDS = 900
TEXT_CHARS = 280
TERMS_PER_MENTION = 40
LAZY_CHARS = 500  # a longer text is split into words at once rather than kept whole
SAMPLE = 50  # a slice reads the words of 50 of its mentions at most
SLICE_ACCOUNTS = 25  # ...and 25 to 50 accounts with negative mentions
VOCABULARY_TERMS = 300  # the usual vocabulary keeps 300 to 600 terms
VOCABULARY_HALF_LIFE_SECONDS = 7 * 86_400
RESCALE_WEIGHT = 2.0**64  # about 64 half-lives (15 months) of learning between rescales
PRIOR = 0.5  # pseudo-count on each side of a term's log-odds
ACCOUNTS_SHOWN = 5


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Folded English and French words too common to explain anything."""
    text = files("pipeline").joinpath("lexicons/stopwords.txt").read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    return frozenset(word for line in lines for word in line.split())


@lru_cache(maxsize=4096)
def brand_words(brand: str) -> frozenset[str]:
    return frozenset(word.lstrip("#@") for word in words_of(brand))


@lru_cache(maxsize=20_000)
def terms_of(text: str, brand: str) -> tuple[str, ...]:
    """The words (3 letters or more) and hashtags of a text, folded, without stopwords, handles,
    numbers or the brand's own name; remembered for the last 20,000 or so texts (reposts)."""
    stop, own = stopwords(), brand_words(brand)
    terms: dict[str, None] = {}
    for word in folded_words(text):
        bare = word.lstrip("#")
        if word[0] == "@" or len(bare) < 3 or bare.isdigit() or bare in stop or bare in own:
            continue
        terms[sys.intern(word)] = None  # one string per term, however many slices hold it
        if len(terms) >= TERMS_PER_MENTION:
            break
    return tuple(terms)


class Sample(NamedTuple):
    """A negative mention kept to be shown: compact, for checkpoints."""

    id: str
    at: int
    source: str
    lang: str
    author: str | None
    name: str | None
    followers: int
    engagement: int
    compound: float
    text: str
    url: str | None

    @property
    def reach(self) -> int:
        return self.followers + self.engagement

    def rank(self) -> tuple[int, int, str]:
        return (-self.reach, self.at, self.id)

    def shown(self) -> ExplainedMention:
        return ExplainedMention(
            id=self.id,
            created_at=datetime.fromtimestamp(self.at, UTC),
            source=self.source,
            lang=self.lang,
            author=self.author,
            author_name=self.name,
            followers=self.followers,
            engagement=self.engagement,
            reach=self.reach,
            compound=self.compound,
            text=self.text,
            url=self.url,
        )


# a mention's words: its text, split when they are needed, or its terms (a long text's, and
# those of a mention restored from a checkpoint)
Words = str | tuple[str, ...]

# a mention taken, until its step settles: step, id, source, language, words (None when its
# slice cannot read them), and its sample when it is negative
Taken = tuple[int, str, str, str, Words | None, Sample | None]

# a mention whose words a slice may read: the hash of its id, its id, and its words
Read = tuple[int, str, Words]


def terms(words: Words, brand: str) -> tuple[str, ...]:
    """The terms of a mention's words (see `terms_of`)."""
    return terms_of(words, brand) if isinstance(words, str) else words


def _canonical(taken: Taken) -> tuple[int, str]:
    """A mention's place in the order slices count them (a brand's ids are distinct in a step)."""
    return taken[0], taken[1]


def place_of(mention_id: str) -> tuple[int, str]:
    """A mention's place in the order that samples a slice's mentions: the hash of its id
    (the same in every process and release), then its id."""
    return zlib.crc32(mention_id.encode("utf-8", "surrogatepass")), mention_id


def sample_of(mention: Mention, lang: str, compound: float) -> Sample:
    author = mention.author
    return Sample(
        id=mention.id,
        at=int(mention.created_at.timestamp()),
        source=mention.source,
        lang=lang,
        author=author.id if author else None,
        name=author.name if author else None,
        followers=(author.followers or 0) if author else 0,
        engagement=mention.engagement or 0,
        compound=round(compound, 4),
        text=mention.text[:TEXT_CHARS],
        url=mention.url,
    )


def _keep_top(counts: dict[str, Any], limit: int, weight: Any) -> None:
    """Drop all but the `limit` heaviest entries (ties by key), in place; called once there are
    twice `limit`, so it sorts now and then rather than at each mention."""
    kept = sorted(counts, key=lambda key: (-weight(counts[key]), key))[:limit]
    kept_set = set(kept)
    for key in [key for key in counts if key not in kept_set]:
        del counts[key]


class Slice:
    """The sums of a brand's mentions over 15 minutes."""

    __slots__ = (
        "accounts",
        "bar",
        "langs",
        "negative_langs",
        "negatives",
        "read",
        "sources",
        "top",
        "volume",
    )

    def __init__(self) -> None:
        self.volume = 0
        self.negatives = 0
        self.sources: dict[str, int] = {}
        self.langs: dict[str, int] = {}
        self.negative_langs: dict[str, int] = {}
        # "source\x1fauthor" -> [negative mentions, name, followers]
        self.accounts: dict[str, list[Any]] = {}
        # the mentions whose words may be read: the `SAMPLE` lowest (hash, id) among them
        self.read: list[Read] = []
        self.bar: tuple[int, str] | None = None  # no higher (hash, id) can be among those
        self.top: list[Sample] = []

    def readable(self, place: tuple[int, str]) -> bool:
        """Whether a mention at `place` (hash, id) may be among those whose words are read."""
        return self.bar is None or place <= self.bar

    def add(self, taken: Taken, top_n: int) -> None:
        _, mention_id, source, lang, words, sample = taken
        self.volume += 1
        self.sources[source] = self.sources.get(source, 0) + 1
        self.langs[lang] = self.langs.get(lang, 0) + 1
        if words is not None and self.readable(place := place_of(mention_id)):
            self.read.append((*place, words))
            if len(self.read) == 2 * SAMPLE:  # sorted now and then, not at each mention
                self.read = self.sampled()
                self.bar = self.read[-1][:2]
        if sample is None:
            return
        self.negatives += 1
        self.negative_langs[lang] = self.negative_langs.get(lang, 0) + 1
        if sample.author is not None:
            key = f"{sample.source}\x1f{sample.author}"
            account = self.accounts.setdefault(key, [0, sample.name, sample.followers])
            account[0] += 1
            if len(self.accounts) > 2 * SLICE_ACCOUNTS:
                _keep_top(self.accounts, SLICE_ACCOUNTS, lambda account: account[0])
        if len(self.top) < top_n or sample.rank() < self.top[-1].rank():
            self.top = sorted([*self.top, sample], key=Sample.rank)[:top_n]

    def sampled(self) -> list[Read]:
        """The mentions whose words the slice reads, in (hash, id) order."""
        return sorted(self.read)[:SAMPLE]

    def state(self, brand: str) -> list[Any]:
        return [
            self.volume,
            self.negatives,
            self.sources,
            self.langs,
            self.negative_langs,
            self.accounts,
            [[mention_id, list(terms(words, brand))] for _, mention_id, words in self.sampled()],
            [list(sample) for sample in self.top],
        ]

    @classmethod
    def from_state(cls, state: list[Any]) -> Slice:
        piece = cls()
        piece.volume, piece.negatives = state[0], state[1]
        piece.sources, piece.langs, piece.negative_langs = state[2], state[3], state[4]
        piece.accounts = state[5]
        # a slice of version 6 (a checkpoint keeps brands unchanged since as they were
        # written) counted its words, not its mentions': they are not read
        read = state[6] if isinstance(state[6], list) else []
        piece.read = [(*place_of(mention_id), tuple(words)) for mention_id, words in read]
        if len(piece.read) == SAMPLE:
            piece.bar = piece.read[-1][:2]
        piece.top = [Sample(*sample) for sample in state[7]]
        return piece


class Evidence:
    """One brand's recent slices and usual vocabulary."""

    def __init__(self, brand: str, settings: ExplainSettings) -> None:
        self.brand = brand
        self.settings = settings
        self.slices: dict[int, Slice] = {}
        # term -> decayed number of mentions using it, times `self.weight` (decayed lazily)
        self.vocabulary: dict[str, float] = {}
        self.weight = 1.0  # what one mention learnt now adds to a term, in `vocabulary`'s units
        self.documents = 0.0  # decayed number of mentions learnt
        self.learnt_until: int | None = None  # end of the last slice learnt
        # mentions of the early-check steps event time has not passed yet, as they came
        self.pending: list[Taken] = []

    def add(self, step: int, mention: Mention, lang: str, compound: float, negative: bool) -> None:
        """Take a mention of the early-check `step`; it joins its 15-minute slice when event
        time passes the step (`settle`), so an explanation holds exactly the mentions dated
        before the alert, however the watermark moved. Its words are kept unless its slice
        already has the mentions it reads, all before it (the bar only falls)."""
        piece = self.slices.get(step - step % SLICE_SECONDS)
        words: Words | None = None
        if piece is None or piece.readable(place_of(mention.id)):
            text = mention.text
            words = text if len(text) <= LAZY_CHARS else terms_of(text, self.brand)
        sample = sample_of(mention, lang, compound) if negative else None
        self.pending.append((step, mention.id, mention.source, lang, words, sample))

    def settle(self, until: int) -> None:
        """Count the pending mentions of the steps before `until` in their slices, in one
        order whatever the order they came in (partitions merged at different paces): the
        slices keep only their accounts with the most negatives, so the order would show."""
        if not self.pending:
            return
        due = sorted((taken for taken in self.pending if taken[0] < until), key=_canonical)
        self.pending = [taken for taken in self.pending if taken[0] >= until]
        for taken in due:
            step = taken[0]
            start = step - step % SLICE_SECONDS
            piece = self.slices.get(start)
            if piece is None:
                piece = self.slices[start] = Slice()
            piece.add(taken, self.settings.top_mentions)

    def expire(self, now: int, learn: bool) -> None:
        """Drop the slices that ended before the explained window; learn them if `learn`."""
        horizon = now - self.settings.minutes * 60
        for start in sorted(start for start in self.slices if start + SLICE_SECONDS <= horizon):
            piece = self.slices.pop(start)
            if learn:
                self._learn(start + SLICE_SECONDS, piece)

    def _learn(self, end: int, piece: Slice) -> None:
        """Learn a slice that ends at `end`. The terms already learnt decay by growing what a
        new mention adds instead (forward decay: one multiplication a slice, not one a term);
        their values are scaled back when that weight grows large."""
        if self.learnt_until is not None:
            decay = 0.5 ** (max(0, end - self.learnt_until) / VOCABULARY_HALF_LIFE_SECONDS)
            self.documents *= decay
            weight = self.weight / decay if decay else math.inf
            if weight > RESCALE_WEIGHT:
                self.vocabulary = self._rescaled(decay)
                weight = 1.0
            self.weight = weight
        self.learnt_until = end
        sampled = piece.sampled()
        self.documents += len(sampled)
        read = (term for _, _, words in sampled for term in terms(words, self.brand))
        vocabulary, weight = self.vocabulary, self.weight
        for term, count in Counter(read).items():
            vocabulary[term] = vocabulary.get(term, 0.0) + count * weight
        if len(vocabulary) > 2 * VOCABULARY_TERMS:
            _keep_top(vocabulary, VOCABULARY_TERMS, float)

    def _rescaled(self, decay: float) -> dict[str, float]:
        """Term -> decayed number of mentions using it as of the last slice learnt, times
        `decay`: the vocabulary at weight 1."""
        weight = self.weight
        return {term: value / weight * decay for term, value in self.vocabulary.items()}

    def explain(self, now: int) -> Explanation:
        """The explanation of an alert firing at `now`, from the settled slices of the window:
        the mentions dated before `now` (call `settle(now)` first)."""
        start = now - self.settings.minutes * 60
        start -= start % SLICE_SECONDS
        window = [piece for begin, piece in sorted(self.slices.items()) if begin >= start]
        volume = sum(piece.volume for piece in window)
        negatives = sum(piece.negatives for piece in window)
        top = sorted((s for piece in window for s in piece.top), key=Sample.rank)
        accounts = self._accounts(window)
        shown = accounts[: max(self.settings.troll_accounts, ACCOUNTS_SHOWN)]
        few = accounts[: self.settings.troll_accounts]
        concentration = sum(a.negatives for a in few) / negatives if negatives else 0.0
        repeated = sum(a.negatives for a in few if a.negatives > 1) / negatives if negatives else 0
        return Explanation(
            window_start=datetime.fromtimestamp(start, UTC),
            window_end=datetime.fromtimestamp(now, UTC),
            mentions=volume,
            negatives=negatives,
            top_negative=tuple(sample.shown() for sample in top[: self.settings.top_mentions]),
            emerging_terms=self._emerging(window),
            sources=_summed(piece.sources for piece in window),
            languages=_summed(piece.langs for piece in window),
            negative_languages=_summed(piece.negative_langs for piece in window),
            top_accounts=tuple(shown),
            author_concentration=round(min(1.0, concentration), 4),
            troll_suspected=negatives >= self.settings.troll_min_negatives
            and repeated >= self.settings.troll_share,
        )

    def _accounts(self, window: list[Slice]) -> list[AccountShare]:
        merged: dict[str, list[Any]] = {}
        for piece in window:
            for key, (count, name, followers) in piece.accounts.items():
                account = merged.setdefault(key, [0, name, followers])
                account[0] += count
        ordered = sorted(merged.items(), key=lambda item: (-item[1][0], item[0]))
        return [
            AccountShare(
                author=key.split("\x1f", 1)[1],
                name=name,
                source=key.split("\x1f", 1)[0],
                negatives=count,
                followers=followers,
            )
            for key, (count, name, followers) in ordered
        ]

    def _emerging(self, window: list[Slice]) -> tuple[EmergingTerm, ...]:
        """Terms whose share of the window's mentions rose most against the usual vocabulary:
        the log-odds ratio with a small prior, as a z-score (Monroe, Colaresi and Quinn 2008).

        Each slice's mentions read stand for all of the slice's: a term's count is estimated
        as the sum over slices of its count among those read times the slice's mentions per
        mention read, and its z-score weighs that share as a sample of the mentions read.
        """
        counts: Counter[str] = Counter()  # among the mentions read
        estimated: dict[str, float] = {}
        read = volume = 0
        for piece in window:
            sampled = piece.sampled()
            if not sampled:
                continue
            weight = piece.volume / len(sampled)
            read, volume = read + len(sampled), volume + piece.volume
            for _, _, words in sampled:
                said = terms(words, self.brand)
                counts.update(said)
                for term in said:
                    estimated[term] = estimated.get(term, 0.0) + weight
        usual = self.documents
        found = []
        for term, count in counts.items():
            if count < self.settings.min_term_mentions:
                continue
            share = estimated[term] / volume
            hits = share * read
            before = self.vocabulary.get(term, 0.0) / self.weight
            delta = math.log((hits + PRIOR) / (read - hits + PRIOR)) - math.log(
                (before + PRIOR) / (max(0.0, usual - before) + PRIOR)
            )
            variance = (
                1 / (hits + PRIOR)
                + 1 / (read - hits + PRIOR)
                + 1 / (before + PRIOR)
                + 1 / (max(0.0, usual - before) + PRIOR)
            )
            z = delta / math.sqrt(variance)
            if z >= self.settings.term_z:
                found.append(
                    EmergingTerm(
                        term=term,
                        mentions=round(estimated[term]),
                        share=round(share, 4),
                        usual_share=round(before / usual, 4) if usual else 0.0,
                        z=round(z, 2),
                    )
                )
        found.sort(key=lambda term: (-term.z, term.term))
        return tuple(found[: self.settings.top_terms])

    def state(self) -> dict[str, Any]:
        return {
            "slices": [
                [start, piece.state(self.brand)] for start, piece in sorted(self.slices.items())
            ],
            "vocabulary": self.vocabulary,
            "vocabulary_weight": self.weight,
            "documents": self.documents,
            "learnt_until": self.learnt_until,
            "pending": [
                [
                    step,
                    mention_id,
                    source,
                    lang,
                    None if words is None else list(terms(words, self.brand)),
                    sample and list(sample),
                ]
                for step, mention_id, source, lang, words, sample in self.pending
            ],
        }

    @classmethod
    def from_state(cls, brand: str, settings: ExplainSettings, state: dict[str, Any]) -> Evidence:
        evidence = cls(brand, settings)
        evidence.slices = {start: Slice.from_state(piece) for start, piece in state["slices"]}
        evidence.vocabulary = dict(state["vocabulary"])
        evidence.weight = state.get("vocabulary_weight", 1.0)  # version 8 kept the values
        evidence.documents = state["documents"]
        evidence.learnt_until = state["learnt_until"]
        evidence.pending = [_taken(row, index) for index, row in enumerate(state["pending"])]
        return evidence


def _taken(row: list[Any], index: int) -> Taken:
    """A pending mention from its state; version 6 kept no id (a negative's is its sample's)."""
    if len(row) == 6:
        step, mention_id, source, lang, terms, sample = row
    else:
        step, source, lang, terms, sample = row
        mention_id = sample[0] if sample else f"v6-{index}"
    kept = None if terms is None else tuple(terms)
    return step, mention_id, source, lang, kept, sample and Sample(*sample)


def _summed(parts: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))
