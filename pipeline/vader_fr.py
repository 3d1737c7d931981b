"""French VADER: vadersentiment-fr's lexicon and VADER's arithmetic, with the rules French
needs and a corrected vocabulary.

What changes from vadersentiment-fr 1.3.4:
- a text with no sentiment word scores 0, whatever its punctuation ("Bonjour !!!" was
  negative);
- negation as French writes it: a negator shortly before the word ("pas terrible", "jamais
  déçu", "sans souci"), the word between `ne` and its negator ("je ne le recommande pas"),
  and the word right before the negator when `ne` is dropped ("j'aime pas"); `plus` negates
  only with `ne` ("n'est plus bon") and is otherwise a booster ("plus beau");
- a contrast (`mais`, `pourtant`, `cependant`, `par contre`...) weighs what follows it more
  than what precedes it, as VADER's "but";
- corrections and additions in `lexicons/fr_lexicon_fixes.txt` (mistranslations such as
  "prix" read as a prize, everyday brand-mention vocabulary and slang), idioms in
  `lexicons/fr_idioms.txt`, and words that say something only negated ("ne marche pas");
- words are matched without accents or case, letters repeated for emphasis ("nuuul") are
  reduced, and a form missing from the lexicon takes the mean of its family ("déçues");
- emoji are rated by VADER's English lexicon through their English names.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from vaderSentiment import vaderSentiment as english

from pipeline import brands

B_INCR = 0.293
B_DECR = -0.293
C_INCR = 0.733
N_SCALAR = -0.74
CONTRAST_BEFORE, CONTRAST_AFTER = 0.5, 1.5
NEGATED_COMPLAINT = -1.5  # "ne marche pas", "toujours pas reçu"
WEAKEST = 0.8  # weaker entries of the translated lexicon are mostly noise in news and questions
TOKENS_REMEMBERED = 100_000
PIECES_REMEMBERED = 100_000
PIECE_CHARS_REMEMBERED = 64
FAMILY_STEM = 5  # shorter stems collide ("les" is not a form of "lèse")

NEGATORS = frozenset({"pas", "jamais", "rien", "aucun", "aucune", "aucunement", "nullement"})
NEGATORS_ALSO = frozenset({"sans", "ni", "guere", "personne"})  # before the word only
NE = frozenset({"ne", "n"})
CONTRASTS = frozenset({"mais", "pourtant", "cependant", "toutefois", "neanmoins"})
CONTRAST_PAIRS = frozenset({("par", "contre"), ("en", "revanche"), ("sauf", "que")})
BOOSTERS: Mapping[str, float] = {
    **dict.fromkeys(
        [
            "absolument",
            "archi",
            "beaucoup",
            "carrement",
            "completement",
            "extremement",
            "hyper",
            "incroyablement",
            "infiniment",
            "particulierement",
            "profondement",
            "sacrement",
            "serieusement",
            "super",
            "tellement",
            "terriblement",
            "totalement",
            "tres",
            "trop",
            "ultra",
            "vachement",
            "vraiment",
            "enormement",
            "grave",
            "franchement",
            "si",
            "tant",
            "vraiment",
            "clairement",
        ],
        B_INCR,
    ),
    **dict.fromkeys(
        [
            "assez",
            "moins",
            "peu",
            "plutot",
            "presque",
            "quasi",
            "quasiment",
            "legerement",
            "relativement",
        ],
        B_DECR,
    ),
}
# Words that carry no sentiment of their own but say a complaint when negated.
NEGATED_ONLY = frozenset(
    [
        "marche",
        "marchent",
        "fonctionne",
        "fonctionnent",
        "repond",
        "repondent",
        "reponse",
        "recu",
        "recue",
        "recus",
        "recues",
        "livre",
        "livree",
        "livres",
        "livrees",
        "arrive",
        "arrivee",
        "arrives",
        "arrivees",
        "rembourse",
        "remboursee",
        "rembourses",
        "remboursees",
        "joignable",
        "joignables",
        "rappele",
        "rappelee",
        "dispo",
        "disponible",
        "disponibles",
        "ouvert",
        "ouverte",
        "retourne",
        "retournerai",
        "retournerons",
        "reviendrai",
        "reviendrons",
        "vaut",
        "fiable",
        "fiables",
        "possible",
        "normal",
        "normale",
    ]
)
_UNRATED = frozenset(BOOSTERS) | NEGATORS  # boosters and negators: never rated themselves
# The words `_adjusted` reads around a rated word: boosters (and `plus`) up to three words
# before it, negators up to three before or after it, `ne` up to five before it.
_RULE_WORDS = frozenset(BOOSTERS) | NEGATORS | NEGATORS_ALSO | NE | {"plus"}
_REACH_BEFORE, _REACH_AFTER = 5, 3
_CONTRAST_FIRSTS = frozenset(first for first, _ in CONTRAST_PAIRS)
_NEUTRAL = (0.0, 1.0, 0.0, 0.0)
_TOKEN = re.compile(
    r"(?P<emoticon>[:;=8xX][-']?[()\[\]DPpOo3/\\|*]+(?=\W|$)|<3)"
    r"|(?P<word>[^\W_]+(?:-[^\W_]+)*)"
    r"|(?P<stop>[.!?;:,…]+)"
    r"|(?P<symbol>[^\s\w])",
)
_SKIPPED = frozenset("'\"#@()[]{}*/-+&%")  # symbols that are not tokens
REPEATS = re.compile(r"(\w)\1{2,}")  # a letter written three times or more
Token = tuple[str, str, str]  # kind (word, emoticon, stop, symbol), as written, folded


fold = lru_cache(maxsize=100_000)(brands.fold)
"""`pipeline.brands.fold` (lower case without accents: how words are looked up), remembered."""


def _family(word: str) -> str:
    """A crude stem grouping a word's gender and number forms (décu, décue, décus...)."""
    for suffix in ("es", "s", "x", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= FAMILY_STEM:
            return word[: -len(suffix)]
    return word


def _entries(text: str) -> Iterable[tuple[str, float]]:
    """(phrase in lower case, valence) of `word->valence` lines; `#` starts a comment."""
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        word, _, valence = entry.rpartition("->")
        if word and valence:
            yield " ".join(word.lower().replace("'", " ").split()), float(valence)


def _shipped(name: str) -> str:
    return resources.files("pipeline").joinpath("lexicons", name).read_text("utf-8")


class Lexicon:
    """Valences of words and phrases: the project's fixes over vadersentiment-fr's lexicon.

    A word is looked up as written (lower case), then without its accents: "decu" finds
    "déçu". A word written with accents does not take the valence of an accent-less entry
    ("salé" is not "sale"). The fixes match with or without accents, except those marked
    `=`, which are entries as written.
    """

    def __init__(self) -> None:
        raw = resources.files("vaderSentiment_fr").joinpath("fr_lexicon.txt").read_text("utf-8")
        base = {k: v for k, v in _entries(raw) if abs(v) >= WEAKEST}
        fixes = dict(_entries(_shipped("fr_lexicon_fixes.txt")))
        exact = {word[1:]: fixes.pop(word) for word in list(fixes) if word.startswith("=")}
        fixed = {fold(word) for word in fixes}
        kept = {w: v for w, v in base.items() if fold(w) not in fixed and w not in exact} | exact
        self.exact = {word: v for word, v in kept.items() if " " not in word}
        self.plain = {word for word in self.exact if fold(word) == word}
        self.words = {fold(w): v for w, v in self.exact.items()}
        self.words |= {fold(w): v for w, v in fixes.items() if " " not in w}
        self.phrases: dict[tuple[str, ...], float] = {
            tuple(fold(key).split()): value
            for key, value in (kept | fixes | dict(_entries(_shipped("fr_idioms.txt")))).items()
            if " " in key
        }
        families: dict[str, list[float]] = defaultdict(list)
        for word, value in self.words.items():
            families[_family(word)].append(value)
        self.families = {stem: sum(v) / len(v) for stem, v in families.items()}
        sizes: dict[str, set[int]] = defaultdict(set)
        for phrase in self.phrases:
            sizes[phrase[0]].add(len(phrase))
        self.phrase_sizes = {first: sorted(n, reverse=True) for first, n in sizes.items()}

    def valence(self, original: str) -> float:
        """The valence of a word as written: its own, its family's mean if the form is
        missing, 0 if unknown."""
        return self.look_up(fold(original), original.lower()) or 0.0

    def look_up(self, word: str, written: str) -> float | None:
        if len(word) < 2:  # the "j" of "j'aime", the "s" of "s'il"
            return None
        if written in self.exact:
            return self.exact[written]
        accented = written != word and bool(written)
        for form in dict.fromkeys((word, REPEATS.sub(r"\1", word), REPEATS.sub(r"\1\1", word))):
            if form in self.words and not (accented and form in self.plain):
                return self.words[form]
            stem = _family(form)
            if stem != form and stem in self.families:
                return self.families[stem]
        return None


@cache
def _emoji_valence(char: str) -> float:
    """An emoji's valence: the sum of VADER's English valences of the words of its name."""
    name = _english().emojis.get(char)
    if not name:
        return 0.0
    return sum(float(_english().lexicon.get(word, 0.0)) for word in name.lower().split())


@cache
def _english() -> english.SentimentIntensityAnalyzer:
    """vaderSentiment's English analyzer, loaded at the first emoji rather than at import."""
    return english.SentimentIntensityAnalyzer()


class FrenchVader:
    """`scores(text)` → (neg, neu, pos, compound) on VADER's scales."""

    def __init__(self) -> None:
        self.lexicon = Lexicon()
        self._ratings: dict[Token, float] = {}  # `_rating`s remembered (`TOKENS_REMEMBERED`)

    def polarity_scores(self, text: str) -> dict[str, float]:
        neg, neu, pos, compound = self.scores(text)
        return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}

    def scores(self, text: str) -> tuple[float, float, float, float]:
        return self.scores_of(tokens_of(text), text)

    def scores_of(self, tokens: list[Token], text: str) -> tuple[float, float, float, float]:
        """`scores` of a text already cut into `tokens_of`."""
        if all(t[0] == "stop" for t in tokens):
            return (0.0, 0.0, 0.0, 0.0)
        folded = [t[2] for t in tokens]
        sentiments = self._sentiments(tokens, folded)
        if not any(sentiments):
            return _NEUTRAL
        sentiments = _contrast(folded, sentiments)
        valences = [v for v, t in zip(sentiments, tokens, strict=True) if t[0] != "stop"]
        return _compound(valences, text)

    def _sentiments(self, tokens: list[Token], folded: list[str]) -> list[float]:
        values = [0.0] * len(tokens)
        taken = self._phrases(tokens, folded, values)  # phrases first: they replace their words
        # where a booster or a negation could be: a word with none of them near keeps its valence
        rules = [index for index, word in enumerate(folded) if word in _RULE_WORDS]
        ratings, caps_differ = self._ratings, None  # known at the first rated word in capitals
        for index, token in enumerate(tokens):
            valence = ratings.get(token)
            if valence is None:
                valence = self._rating(token)
                if len(token[1]) <= PIECE_CHARS_REMEMBERED:  # as pieces: no flood is kept
                    if len(ratings) >= TOKENS_REMEMBERED:
                        ratings.clear()
                    ratings[token] = valence
            if valence == 0.0 or index in taken:
                continue
            kind, original, _ = token
            if kind == "word" and original.isupper() and len(original) > 1:
                if caps_differ is None:
                    caps_differ = _caps_differ(tokens)
                if caps_differ:
                    valence += C_INCR if valence > 0 else -C_INCR
            if any(index - _REACH_BEFORE <= at <= index + _REACH_AFTER for at in rules):
                valence = self._adjusted(valence, tokens, index, index)
            values[index] = valence
        if rules:  # words that say a complaint only when negated ("ne marche pas")
            for index, word in enumerate(folded):
                negated = word in NEGATED_ONLY and index not in taken
                if negated and self._negated(tokens, index, index):
                    values[index] = NEGATED_COMPLAINT
        return values

    def _rating(self, token: Token) -> float:
        """A token's own valence, before the rules; 0 for boosters, negators and the words
        that say something only negated (`NEGATED_ONLY`)."""
        kind, original, word = token
        if kind == "stop" or word in _UNRATED or word in NEGATED_ONLY:
            return 0.0
        if kind == "word":
            return self.lexicon.valence(original)
        if kind == "symbol":
            return self.lexicon.words.get(original, _emoji_valence(original))
        return self.lexicon.look_up(original, original.lower()) or 0.0  # an emoticon

    def _phrases(self, tokens: list[Token], folded: list[str], values: list[float]) -> set[int]:
        """Valences of the lexicon's phrases, set at their last word; the indices they take."""
        starts = self.lexicon.phrase_sizes
        taken: set[int] = set()
        if starts.keys().isdisjoint(folded):
            return taken
        for start, first in enumerate(folded):
            for size in starts.get(first, ()):
                phrase = tuple(folded[start : start + size])
                if len(phrase) < size or phrase not in self.lexicon.phrases:
                    continue
                if taken.isdisjoint(range(start, start + size)):
                    end = start + size - 1
                    values[end] = self._adjusted(self.lexicon.phrases[phrase], tokens, end, start)
                    taken.update(range(start, end + 1))
                    break
        return taken

    def _adjusted(self, valence: float, tokens: list[Token], index: int, start: int) -> float:
        """Boosters before the word (or phrase starting at `start`), then negation."""
        for distance, back in enumerate(range(start - 1, max(start - 4, -1), -1)):
            if tokens[back][0] == "stop":
                break
            boost = _booster(tokens, back)
            if boost:
                boost = boost if valence > 0 else -boost
                valence += boost * (1.0, 0.95, 0.9)[distance]
        if self._negated(tokens, start, index):
            valence *= N_SCALAR
        return valence

    @staticmethod
    def _negated(tokens: list[Token], start: int, end: int) -> bool:
        """Whether the word (or phrase) from `start` to `end` is negated, French-style."""
        clause_start = start
        while clause_start > 0 and tokens[clause_start - 1][0] != "stop":
            clause_start -= 1
        clause_end = end
        while clause_end + 1 < len(tokens) and tokens[clause_end + 1][0] != "stop":
            clause_end += 1
        before = [t[2] for t in tokens[max(clause_start, start - 3) : start]]
        after = [t[2] for t in tokens[end + 1 : min(clause_end, end + 3) + 1]]
        has_ne = any(t[2] in NE for t in tokens[max(clause_start, start - 5) : start])
        negators = NEGATORS | NEGATORS_ALSO | ({"plus"} if has_ne else set())
        if any(word in negators for word in before):
            return True
        if has_ne and any(word in NEGATORS or word == "plus" for word in after):
            return True  # "je ne (le) recommande pas"
        return bool(after) and after[0] in NEGATORS | {"plus"}  # "j'aime pas", "marche plus"


def _booster(tokens: list[Token], index: int) -> float:
    word = tokens[index][2]
    if word == "plus":
        ne_before = any(t[2] in NE for t in tokens[max(0, index - 3) : index])
        return 0.0 if ne_before else B_INCR
    return BOOSTERS.get(word, 0.0)


def tokens_of(text: str) -> list[Token]:
    """(kind, original, folded) per token: words (split at apostrophes and on `#`),
    emoticons, emoji and other symbols, and runs of clause punctuation (`stop`).

    No token spans white space and none depends on what precedes it, so a text's tokens are
    those of its white-space-separated pieces, which recur across texts and are remembered
    (up to `PIECES_REMEMBERED` of at most `PIECE_CHARS_REMEMBERED` characters)."""
    tokens: list[Token] = []
    for piece in text.replace("’", "'").split():
        found = _PIECES.get(piece)
        if found is None:
            found = _tokens_of_piece(piece)
            if len(piece) <= PIECE_CHARS_REMEMBERED:  # a flood without spaces is not kept
                if len(_PIECES) >= PIECES_REMEMBERED:
                    _PIECES.clear()
                _PIECES[piece] = found
        tokens += found
    return tokens


def _tokens_of_piece(piece: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    for emoticon, word, stop, symbol in _TOKEN.findall(piece):
        if word:  # each match fills one group, and none matches empty
            tokens.append(("word", word, fold(word)))
        elif stop:
            tokens.append(("stop", stop, stop))
        elif emoticon:
            tokens.append(("emoticon", emoticon, emoticon))
        elif symbol not in _SKIPPED:
            tokens.append(("symbol", symbol, symbol))
    return tuple(tokens)


_PIECES: dict[str, tuple[Token, ...]] = {}


def _caps_differ(tokens: list[Token]) -> bool:
    """Whether some words, not all, are in capitals (VADER's emphasis)."""
    words = [t for t in tokens if t[0] != "stop"]
    return 0 < sum(t[1].isupper() for t in words) < len(words)


def _contrast(folded: list[str], sentiments: list[float]) -> list[float]:
    """Weigh sentiments before the last contrast less, after it more."""
    if CONTRASTS.isdisjoint(folded) and _CONTRAST_FIRSTS.isdisjoint(folded):
        return sentiments
    marks = [i for i, w in enumerate(folded) if w in CONTRASTS]
    marks += [i + 1 for i, pair in enumerate(pairwise(folded)) if pair in CONTRAST_PAIRS]
    if not marks:
        return sentiments
    at = max(marks)
    return [
        value * (CONTRAST_BEFORE if i < at else CONTRAST_AFTER if i > at else 1.0)
        for i, value in enumerate(sentiments)
    ]


def _compound(sentiments: list[float], text: str) -> tuple[float, float, float, float]:
    """VADER's compound and shares; a text with no sentiment is neutral, whatever its
    punctuation."""
    total = sum(sentiments)
    if total == 0.0 and not any(sentiments):
        return _NEUTRAL
    emphasis = min(text.count("!"), 4) * 0.292
    questions = text.count("?")
    if questions > 1:
        emphasis += questions * 0.18 if questions <= 3 else 0.96
    if total > 0:
        total += emphasis
    elif total < 0:
        total -= emphasis
    compound = max(-1.0, min(1.0, total / math.sqrt(total * total + 15)))
    pos_sum = sum(v + 1 for v in sentiments if v > 0)
    neg_sum = sum(v - 1 for v in sentiments if v < 0)
    neutral = sum(v == 0 for v in sentiments)
    if pos_sum > -neg_sum:
        pos_sum += emphasis
    elif pos_sum < -neg_sum:
        neg_sum -= emphasis
    whole = pos_sum - neg_sum + neutral
    return (
        round(-neg_sum / whole, 3),
        round(neutral / whole, 3),
        round(pos_sum / whole, 3),
        round(compound, 4),
    )
