"""Choosing detection settings on some crisis streams, to report them on others.

`buzzwatch evaluate crisis --cv` runs every candidate of a grid (`[[candidate]]` tables of
`[detection]` overrides, as `evaluate nab --cv` reads them: `nab_cv.read_grid`) on every
choosing stream, `summarise`s each candidate's reports pooled over those streams and `choose`s
one by `RULE`:

- a candidate qualifies when, pooled over the choosing streams, it finds at least `MIN_RECALL`
  (95 %) of the crises and slow burns and raises at most `MAX_FALSE_PER_BRAND_WEEK` (0.3)
  false alerts per brand-week: the evaluation's first two goals;
- among those, the one with the smallest median crisis delay relative to the oracle's (the
  ratio of the two medians over the crises both found, as the evaluation computes it) wins;
- if none qualifies, the one with the fewest false alerts per brand-week, and of those the one
  that finds the most (a candidate that never fires must not win on a tie at zero);
- remaining ties go to the candidate listed first in the grid.

The chosen candidate then runs on the report streams (other seeds, other shapes): its figures
there are out of sample, beside its figures on the choosing streams, which are not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from buzzwatch.evaluation.crisis import (
    MAX_FALSE_PER_BRAND_WEEK,
    MIN_RECALL,
    CrisisReport,
    median_delay_ratio,
    per_brand_week,
)
from buzzwatch.evaluation.oracle_table import pooled_tally

RULE: Final = (
    f"among the candidates that find at least {MIN_RECALL:.0%} of the crises and slow burns "
    f"and raise at most {MAX_FALSE_PER_BRAND_WEEK:g} false alerts per brand-week, pooled over "
    "the choosing streams, the one with the smallest median crisis delay relative to the "
    "oracle's (ratio of the medians over the crises both found); if none qualifies, the one "
    "with the fewest false alerts per brand-week, then the most found; ties to the first in "
    "the grid"
)


@dataclass(frozen=True, slots=True)
class Summary:
    """One candidate's figures pooled over the choosing streams: crises and slow burns
    (`required`) and how many it `found`, its false alerts over `brand_weeks`, and its median
    crisis delay over the oracle's (None when no crisis was found by both)."""

    required: int
    found: int
    false_alerts: int
    brand_weeks: float
    delay_ratio: float | None

    @property
    def recall(self) -> float | None:
        return self.found / self.required if self.required else None

    @property
    def false_per_brand_week(self) -> float | None:
        return per_brand_week(self.false_alerts, self.brand_weeks)

    @property
    def qualifies(self) -> bool:
        """Enough found and few enough false alerts (judged as `failed_goals` judges them)."""
        enough = not self.required or self.found >= MIN_RECALL * self.required
        rate = self.false_per_brand_week
        return enough and (rate is None or rate <= MAX_FALSE_PER_BRAND_WEEK)


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen candidate's index, and the indexes of those that qualified (the rule chose
    among them; when there is none, it fell back on the fewest false alerts, then the most
    found)."""

    index: int
    qualifying: tuple[int, ...]


def summarise(reports: Sequence[CrisisReport]) -> Summary:
    """A candidate's reports on the choosing streams, pooled (all incidents and brand-weeks)."""
    overall = pooled_tally(reports)
    return Summary(
        required=overall.required,
        found=overall.required_detected,
        false_alerts=overall.false_total,
        brand_weeks=overall.brand_weeks,
        delay_ratio=median_delay_ratio(r for report in reports for r in report.results),
    )


def choose(summaries: Sequence[Summary]) -> Choice:
    """The candidate `RULE` picks, `summaries` in grid order."""
    if not summaries:
        raise ValueError("no candidate to choose from")
    qualifying = tuple(index for index, summary in enumerate(summaries) if summary.qualifies)
    if qualifying:
        best = min(qualifying, key=lambda index: _or_worst(summaries[index].delay_ratio))
    else:
        ranks = [(_or_worst(s.false_per_brand_week), -s.found) for s in summaries]
        best = min(range(len(summaries)), key=ranks.__getitem__)
    return Choice(best, qualifying)


def _or_worst(value: float | None) -> float:
    """A figure to minimise, missing ones last."""
    return math.inf if value is None else value
