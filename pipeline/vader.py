"""VADER, exactly as vaderSentiment 3.3.2 scores, in linear time and faster.

`polarity_scores` returns for every text the same dict, with the same floats, as
`vaderSentiment.vaderSentiment.SentimentIntensityAnalyzer().polarity_scores`, using that
package's own lexicons. It runs the same rules with the same arithmetic in the same order;
what changes is the bookkeeping around them:

- each text is split and lower-cased once, where the original rebuilds the lower-cased word
  list several times per sentiment word (quadratic on long texts);
- what a token means to the rules (its valence, lower case, caps, whether it is a word the
  rules look for) is remembered across texts;
- a sentiment word with none of the words the rules look for near it keeps its lexicon
  valence without running them;
- emoji are replaced by one regular expression instead of a character loop;
- roundings of the final values are remembered: the same values recur across texts;
- the "but" rule, which in the original looks each sentiment up by value with `list.index`
  (so equal values share the first position), is replayed with a heap of positions per value.

`tests/test_vader.py` checks the parity on a large corpus.
"""

from __future__ import annotations

import heapq
import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from itertools import compress

from vaderSentiment import vaderSentiment as reference

C_INCR = reference.C_INCR
N_SCALAR = reference.N_SCALAR
BOOSTERS: Mapping[str, float] = reference.BOOSTER_DICT
SPECIAL_CASES: Mapping[str, float] = reference.SPECIAL_CASES
NEGATIONS = frozenset(reference.NEGATE)
_PUNCTUATION = string.punctuation
TOKENS_REMEMBERED = 200_000
ROUNDED_REMEMBERED = 20_000

_EMPTY = (0.0, 0.0, 0.0, 0.0)
_NEUTRAL = (0.0, 1.0, 0.0, 0.0)
_FIRST_EMOJI_ABOVE = "\u203c"  # the lexicon's emoji are "©", "®" and characters from here on
# Triggers: the words a rule compares a sentiment word's neighbours with (negations and words
# with "n't", boosters, "no", "so", "this", "least", the words of the idioms...). A sentiment
# word with no trigger from three words before it to two after it keeps its lexicon valence,
# give or take the caps emphasis: the rules only ever add 0.0 to it.
_IDIOM_WORDS = {  # an idiom matches only where all its words are: its longest word will do
    max(key.split(), key=len) for key in (*SPECIAL_CASES, *BOOSTERS) if " " in key
}
TRIGGERS = frozenset(
    NEGATIONS | BOOSTERS.keys() | _IDIOM_WORDS | {"no", "doubt", "so", "this", "least", "kind"}
)


class _TokenTable(dict[str, float]):
    """A token's valence, the int 0 for a word the rules don't rate; a lookup of a new token
    fills in the other tables of its `FastVader` too."""

    def __init__(self, learn: Callable[[str], float]) -> None:
        super().__init__()
        self._learn = learn

    def __missing__(self, token: str) -> float:
        return self._learn(token)


class _Rounded(dict[float, float]):
    """`round(x, digits)` for each x looked up, remembered (the same values recur)."""

    def __init__(self, digits: int) -> None:
        super().__init__()
        self.digits = digits

    def __missing__(self, x: float) -> float:
        self[x] = rounded = round(x, self.digits)
        return rounded


class FastVader:
    """vaderSentiment's `polarity_scores`, same results, linear time."""

    def __init__(
        self,
        tokens_remembered: int = TOKENS_REMEMBERED,
        rounded_remembered: int = ROUNDED_REMEMBERED,
    ) -> None:
        """`tokens_remembered`: distinct tokens kept in the tables before they are emptied;
        `rounded_remembered`: the same for the remembered roundings."""
        self.tokens_remembered = tokens_remembered
        self.rounded_remembered = rounded_remembered
        analyzer = reference.SentimentIntensityAnalyzer()
        self.lexicon: dict[str, float] = analyzer.lexicon
        # the original looks each character up, so only one-character keys can match
        emojis = {key: text for key, text in analyzer.emojis.items() if len(key) == 1}
        self._descriptions = {char: f" {text}" for char, text in emojis.items()}
        below = "".join(sorted(char for char in emojis if char < _FIRST_EMOJI_ABOVE))
        self._emoji_candidates = re.compile(f"[{re.escape(below)}{_FIRST_EMOJI_ABOVE}-\U0010ffff]")
        # Per token, as the original reads it (punctuation stripped unless that leaves two
        # characters or fewer): the valence if the rules rate it (a lexicon word that is not
        # a booster; no lexicon valence is 0), else the int 0 the original gives every other
        # word; its lower case; the tokens in all caps; the triggers; the tokens that need
        # the rules (a trigger, or a rated word in caps); the tokens read as "but".
        self._valences = _TokenTable(self._learn)
        self._lowers: dict[str, str] = {}
        self._capitals: set[str] = set()
        self._triggers: set[str] = set()
        self._special: set[str] = set()
        self._buts: set[str] = set()  # tokens read as "but"
        self._thousandths, self._ten_thousandths = _Rounded(3), _Rounded(4)

    def polarity_scores(self, text: str) -> dict[str, float]:
        """`{"neg", "neu", "pos", "compound"}` exactly as vaderSentiment 3.3.2 gives them."""
        neg, neu, pos, compound = self.scores(text)
        return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}

    def scores(self, text: str) -> tuple[float, float, float, float]:
        """(neg, neu, pos, compound), the values of `polarity_scores`."""
        valences = self._valences
        if len(valences) >= self.tokens_remembered:
            self._forget()
        if not text.isascii():
            text = self._describe_emoji(text)
        tokens = text.split()
        if not tokens:
            return _EMPTY
        sentiments = list(map(valences.__getitem__, tokens))  # learns new tokens
        if not any(sentiments):  # every word scores 0, whatever the rules and the punctuation
            return _NEUTRAL
        lowers = None
        if not self._special.isdisjoint(tokens):
            lowers = list(map(self._lowers.__getitem__, tokens))
            self._apply_rules(sentiments, _rated(sentiments), tokens, lowers)
        if not self._buts.isdisjoint(tokens):
            lowers = lowers or list(map(self._lowers.__getitem__, tokens))
            _but_check(lowers.index("but"), sentiments, _rated(sentiments))
        return self._score_valence(sentiments, text)

    def _apply_rules(
        self, sentiments: list[float], rated: list[int], tokens: list[str], lowers: list[str]
    ) -> None:
        """Rate the words near a trigger with every rule; the others only get caps emphasis."""
        capitals, triggers = self._capitals, self._triggers
        is_cap_diff = not capitals.isdisjoint(tokens) and not capitals.issuperset(tokens)
        for i in rated:
            if not triggers.isdisjoint(tokens[max(0, i - 3) : i + 3]):
                sentiments[i] = self._valence(i, tokens, lowers, is_cap_diff)
            elif is_cap_diff and tokens[i] in capitals:
                base = sentiments[i]
                sentiments[i] = base + C_INCR if base > 0 else base - C_INCR

    def _score_valence(
        self, sentiments: list[float], text: str
    ) -> tuple[float, float, float, float]:
        """The original's `score_valence`."""
        sum_s = float(sum(sentiments))
        ep_count = text.count("!")
        qm_count = text.count("?")
        punct_emph_amplifier = (ep_count if ep_count < 4 else 4) * 0.292
        if qm_count > 1:  # the original adds an int 0 otherwise
            punct_emph_amplifier += qm_count * 0.18 if qm_count <= 3 else 0.96
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound = sum_s / math.sqrt(sum_s * sum_s + 15)  # the original's `normalize`
        if compound < -1.0:
            compound = -1.0
        elif compound > 1.0:
            compound = 1.0
        pos_sum = neg_sum = 0.0
        scores = list(filter(None, sentiments))
        neu_count = len(sentiments) - len(scores)
        for score in scores:  # floats: the rules only give the int 0
            if score > 0:
                pos_sum += score + 1
            else:
                neg_sum += score - 1
        if pos_sum > -neg_sum:
            pos_sum += punct_emph_amplifier
        elif pos_sum < -neg_sum:
            neg_sum -= punct_emph_amplifier
        total = pos_sum - neg_sum + neu_count
        thousandths, ten_thousandths = self._thousandths, self._ten_thousandths
        if len(thousandths) + len(ten_thousandths) >= self.rounded_remembered:
            thousandths.clear()
            ten_thousandths.clear()
        return (
            thousandths[-neg_sum / total] if neg_sum else 0.0,
            thousandths[neu_count / total] if neu_count else 0.0,
            thousandths[pos_sum / total] if pos_sum else 0.0,
            ten_thousandths[compound] if compound else compound,
        )

    def _describe_emoji(self, text: str) -> str:
        """Each emoji replaced by a space and its description.

        The original's character loop adds the space only after a non-space; an extra space
        changes neither the words nor the "!" and "?" counts, which are all it scores."""
        return self._emoji_candidates.sub(self._describe_candidate, text)

    def _describe_candidate(self, match: re.Match[str]) -> str:
        char = match.group()
        return self._descriptions.get(char, char)

    def _learn(self, token: str) -> float:
        """Fill the tables for a token not seen yet; returns its valence."""
        stripped = token.strip(_PUNCTUATION)
        word = token if len(stripped) <= 2 else stripped
        lower = word.lower()
        valence = 0 if lower in BOOSTERS else self.lexicon.get(lower, 0)
        capital = word.isupper()
        trigger = lower in TRIGGERS or "n't" in lower
        self._valences[token] = valence
        self._lowers[token] = lower
        if capital:
            self._capitals.add(token)
        if trigger:
            self._triggers.add(token)
        if trigger or (capital and valence != 0):
            self._special.add(token)
        if lower == "but":
            self._buts.add(token)
        return valence

    def _forget(self) -> None:
        """Empty the token tables (between texts: a text's tokens are all in them or none)."""
        self._valences.clear()
        self._lowers.clear()
        for tokens in (self._capitals, self._triggers, self._special, self._buts):
            tokens.clear()

    def _valence(
        self, i: int, tokens: Sequence[str], lowers: Sequence[str], is_cap_diff: bool
    ) -> float:
        """The original's `sentiment_valence` of the rated word at `i`, every rule applied
        (`scalar_inc_dec` and `_negation_check` written inline)."""
        lexicon = self.lexicon
        n = len(lowers)
        lower = lowers[i]
        if i < n - 1 and lower == "kind" and lowers[i + 1] == "of":
            return 0
        base = lexicon[lower]
        valence = base
        if lower == "no" and i != n - 1 and lowers[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowers[i - 1] == "no")
            or (i > 1 and lowers[i - 2] == "no")
            or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
        ):
            valence = base * N_SCALAR
        capitals = self._capitals
        if is_cap_diff and tokens[i] in capitals:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(min(i, 3)):
            j = i - (start_i + 1)
            before = lowers[j]
            if before in lexicon:
                continue
            scalar = BOOSTERS.get(before, 0.0)
            if scalar:
                if valence < 0:
                    scalar *= -1
                if is_cap_diff and tokens[j] in capitals:
                    scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
                if start_i == 1 and scalar != 0:
                    scalar = scalar * 0.95
                if start_i == 2 and scalar != 0:
                    scalar = scalar * 0.9
            valence = valence + scalar
            negated = before in NEGATIONS or "n't" in before
            if start_i == 0:
                if negated:
                    valence = valence * N_SCALAR
            elif start_i == 1:
                if before == "never" and lowers[i - 1] in ("so", "this"):
                    valence = valence * 1.25
                elif before == "without" and lowers[i - 1] == "doubt":
                    pass
                elif negated:
                    valence = valence * N_SCALAR
            else:
                # the original's precedence: (never and (so or this)) or (so or this before)
                if (before == "never" and lowers[i - 2] in ("so", "this")) or lowers[i - 1] in (
                    "so",
                    "this",
                ):
                    valence = valence * 1.25
                elif before == "without" and "doubt" in (lowers[i - 2], lowers[i - 1]):
                    pass
                elif negated:
                    valence = valence * N_SCALAR
                if not _IDIOM_WORDS.isdisjoint(lowers[i - 3 : i + 3]):  # else none can match
                    valence = _special_idioms_check(valence, lowers, i)
        least = i > 0 and lowers[i - 1] == "least" and "least" not in lexicon
        if least and (i == 1 or lowers[i - 2] not in ("at", "very")):
            valence = valence * N_SCALAR
        return valence


def _special_idioms_check(valence: float, lowers: Sequence[str], i: int) -> float:
    """Only reached with i >= 3, as in the original."""
    one_zero = f"{lowers[i - 1]} {lowers[i]}"
    two_one_zero = f"{lowers[i - 2]} {lowers[i - 1]} {lowers[i]}"
    two_one = f"{lowers[i - 2]} {lowers[i - 1]}"
    three_two_one = f"{lowers[i - 3]} {lowers[i - 2]} {lowers[i - 1]}"
    three_two = f"{lowers[i - 3]} {lowers[i - 2]}"
    for sequence in (one_zero, two_one_zero, two_one, three_two_one, three_two):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(lowers) - 1 > i:
        zero_one = f"{lowers[i]} {lowers[i + 1]}"
        if zero_one in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one]
    if len(lowers) - 1 > i + 1:
        zero_one_two = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zero_one_two in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one_two]
    for n_gram in (three_two_one, three_two, two_one):
        if n_gram in BOOSTERS:
            valence = valence + BOOSTERS[n_gram]
    return valence


def _rated(sentiments: list[float]) -> list[int]:
    """The positions holding a non-zero value: the only ones a rule can change."""
    return list(compress(range(len(sentiments)), sentiments))


def _but_check(but_at: int, sentiments: list[float], rated: list[int]) -> None:
    """The original's "but" rule, in place, in O(n log n).

    The original visits each position k and rescales the *first* position holding a value
    equal to sentiments[k] (`list.index`): halved before the "but", times 1.5 after it.
    Positions only change at or before k, so position k still holds its own value when it is
    visited, and the first position holding a value is the smallest in that value's heap.
    Zeros stay zeros, so only the `rated` positions can change.
    """
    holders: dict[float, list[int]] = {}
    for position in rated:
        value = sentiments[position]
        if value:
            holders.setdefault(value, []).append(position)  # ascending: already heaps
    for k in rated:
        value = sentiments[k]
        if not value:
            continue
        heap = holders[value]
        first = heap[0]
        if first == but_at:
            continue
        heapq.heappop(heap)
        scaled = value * 0.5 if first < but_at else value * 1.5
        sentiments[first] = scaled
        heapq.heappush(holders.setdefault(scaled, []), first)
