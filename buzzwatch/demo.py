"""`buzzwatch demo`: the embedded pipeline over the sample stream shipped with the package."""

from __future__ import annotations

from collections import Counter
from typing import IO

from pipeline.engine import Engine
from pipeline.models import AlertEvent, Mention
from pipeline.records import open_input, read_jsonl
from pipeline.replay import replay
from pipeline.synthetic import SAMPLE_PATH


def run_demo(out: IO[str], alerts_out: IO[str] | None = None) -> int:
    """Replay the sample, print a readable account of its alerts; 0 when something fired."""
    events: list[AlertEvent] = []

    def keep(event: AlertEvent) -> None:
        events.append(event)
        if alerts_out is not None:
            alerts_out.write(event.to_json() + "\n")

    with open_input(SAMPLE_PATH) as stream:
        records = list(read_jsonl(stream))
    brands = Counter(r.brand for _, r in records if isinstance(r, Mention) and r.brand)
    summary = replay(records, Engine(), keep)
    out.write(describe(summary.accepted, brands, events))
    return 0 if any(e.state == "firing" for e in events) else 1


def describe(accepted: int, brands: Counter[str], events: list[AlertEvent]) -> str:
    """The demo's report: the stream, then one line per incident."""
    lines = [f"buzzwatch demo: {accepted} sample mentions, {len(brands)} brands"]
    lines += [f"  {brand:<28} {count:>6} mentions" for brand, count in brands.most_common()]
    resolved = {e.id: e for e in events if e.state == "resolved"}
    firing = [e for e in events if e.state == "firing"]
    lines += ["", f"{len(firing)} alerts fired:" if firing else "No alert fired."]
    for event in firing:
        end = resolved.get(event.id)
        lines.append(f"- {incident_line(event)}")
        lines += [f"    {line}" for line in explanation_lines(event)]
        lines.append(f"    {'resolved at ' + end.to_dict()['at'] if end else 'still firing'}")
    return "\n".join(lines) + "\n"


def explanation_lines(event: AlertEvent) -> list[str]:
    """What the alert's explanation says, in a line or three."""
    explanation = event.explanation
    if explanation is None:
        return []
    lines = []
    if explanation.emerging_terms:
        terms = ", ".join(term.term for term in explanation.emerging_terms[:5])
        lines.append(f"emerging: {terms}")
    if explanation.top_negative:
        top = explanation.top_negative[0]
        text = top.text if len(top.text) <= 70 else top.text[:69] + "…"
        lines.append(
            f"widest-reaching negative: {top.source} {top.author or '?'} ({top.reach:,}): {text}"
        )
    if explanation.troll_suspected:
        share = f"{explanation.author_concentration:.0%}"
        lines.append(f"troll suspected: {share} of the negatives from 3 accounts, don't feed")
    return lines


def incident_line(event: AlertEvent) -> str:
    """'Brand: negative spike (critical) at T: 40 negative mentions in 15 minutes vs …'."""
    what = "negative mentions" if event.kind == "negative" else "mentions"
    ratio = f", {event.observed / event.expected:.1f}× normal" if event.expected > 0 else ""
    return (
        f"{event.brand}: {event.kind} spike ({event.severity}) at {event.to_dict()['at']}: "
        f"{event.observed:g} {what} in {event.window_seconds // 60} minutes "
        f"vs {event.expected:.1f} expected{ratio}"
    )
