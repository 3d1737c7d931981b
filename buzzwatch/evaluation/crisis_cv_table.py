"""The crisis cross-validation as text: every candidate on the choosing streams, then the
chosen one in sample and out of sample, per group of streams (`oracle_table`'s columns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from buzzwatch.evaluation.crisis import CrisisReport, ruled
from buzzwatch.evaluation.crisis_cv import Choice, Summary
from buzzwatch.evaluation.oracle_table import FIGURES, FIGURES_LEGEND, figures, pooled_goal_failures


@dataclass(frozen=True, slots=True)
class Group:
    """The reports of one scenario's seeds, in seed order."""

    scenario: str
    seeds: tuple[int, ...]
    reports: tuple[CrisisReport, ...]

    @property
    def label(self) -> str:
        return f"{self.scenario} {seeds_text(self.seeds)}"


def candidates_table(
    names: Sequence[str],
    reports: Sequence[Sequence[CrisisReport]],
    summaries: Sequence[Summary],
    choice: Choice,
) -> str:
    """A row per candidate (`names`, in grid order) over its `reports` on the choosing streams,
    with its recall and whether it qualified; the chosen one marked."""
    rows = []
    for index, (name, mine, summary) in enumerate(zip(names, reports, summaries, strict=True)):
        mark = "*" if index == choice.index else " "
        recall = "-" if summary.recall is None else f"{summary.recall:.1%}"
        qualifies = "yes" if summary.qualifies else "no"
        rows.append(f"{index + 1:>2}{mark} {figures(mine)} {recall:>6} {qualifies:>9}  {name}")
    lines = [
        *ruled([f"{'#':>3} {FIGURES} {'recall':>6} {'qualifies':>9}  candidate"], rows),
        "",
        *FIGURES_LEGEND,
        "recall: crises and slow burns found; qualifies: recall and false/bw within the rule's "
        "bars; *: chosen",
    ]
    return "\n".join(lines) + "\n"


def samples_table(inside: Sequence[Group], outside: Sequence[Group]) -> str:
    """The chosen candidate on the choosing streams (`inside`) and on the report streams
    (`outside`): a row per group, a scenario's groups together, then each sample pooled and
    the goals judged on it."""
    samples = [("in-sample", group) for group in inside]
    samples += [("out-of-sample", group) for group in outside]
    order = list(dict.fromkeys(group.scenario for _, group in samples))
    samples.sort(key=lambda sample: order.index(sample[1].scenario))
    width = max(len("streams"), *(len(group.label) for _, group in samples))
    pooled = [("in-sample", inside), ("out-of-sample", outside)]
    lines = ruled(
        [f"{'streams':<{width}} {'sample':<13} {FIGURES}"],
        (
            f"{group.label:<{width}} {sample:<13} {figures(group.reports)}"
            for sample, group in samples
        ),
        (f"{'all':<{width}} {sample:<13} {figures(_reports(groups))}" for sample, groups in pooled),
    )
    lines += ["", *FIGURES_LEGEND]
    for sample, groups in pooled:
        failures = pooled_goal_failures(_reports(groups))
        labels = ", ".join(group.label for group in groups)
        lines.append(f"goals {sample} ({labels}): " + ("; ".join(failures) or "all met"))
    return "\n".join(lines) + "\n"


def seeds_text(seeds: Sequence[int]) -> str:
    """`1-3,7`: runs of consecutive seeds as ranges."""
    # Within a run of consecutive seeds, seed minus position is the same.
    by_offset = groupby(enumerate(seeds), key=lambda pair: pair[1] - pair[0])
    runs = [[seed for _, seed in run] for _, run in by_offset]
    return ",".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _reports(groups: Sequence[Group]) -> list[CrisisReport]:
    return [report for group in groups for report in group.reports]
