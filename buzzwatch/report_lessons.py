"""Observations for the "Lessons learned" section of the report, computed from an incident."""

from __future__ import annotations

from buzzwatch.report import (
    IncidentReport,
    Platform,
    Shift,
    clock_text,
    compound_text,
    duration_text,
    points_text,
    share_text,
)

LESSON_HEADINGS = ("What worked", "What to change", "Who to thank")


def observations(incident: IncidentReport) -> list[str]:
    """A few sentences of facts to start the discussion from."""
    lines = [_course(incident), _statement(incident), _answers(incident), _queue(incident)]
    lines += _platforms(incident.platforms)
    if incident.troll_suspected:
        lines.append(
            "A few accounts wrote most of the negative mentions (troll suspected): check how "
            "they were handled."
        )
    if incident.defenders:
        lines.append(
            f"{incident.defenders} positive mentions from others (defenders) were logged during "
            "the incident."
        )
    return [line for line in lines if line]


def thanks(incident: IncidentReport) -> list[str]:
    """Who may deserve thanks: the defenders who reached furthest."""
    return [
        f"{post.who} on {post.source} (reach {post.reach:,})" for post in incident.top_defenders
    ]


def _course(incident: IncidentReport) -> str:
    text = (
        f"Onset at {clock_text(incident.onset)}, first alert "
        f"{duration_text(incident.opened_at - incident.onset)} later"
    )
    if incident.peak is not None:
        text += (
            f"; peak of {incident.peak.volume} mentions in "
            f"{duration_text(incident.peak.end - incident.peak.start)} at "
            f"{clock_text(incident.peak.start)}, "
            f"{duration_text(incident.peak.start - incident.onset)} after the onset"
        )
    if incident.end is None:
        return text + f"; still open at the last entry ({clock_text(incident.last_at)})."
    return text + f"; resolved {duration_text(incident.end - incident.onset)} after the onset."


def _statement(incident: IncidentReport) -> str:
    statements = incident.statements
    if not statements:
        return "No public statement was posted during the incident."
    text = f"First public statement {duration_text(incident.first_statement)} after the onset"
    return text + _shift_text(statements[0]) + "."


def _shift_text(shift: Shift) -> str:
    before, after = shift.before, shift.after
    if before.negative_share is None or after.negative_share is None:
        return " (no curve data on both sides of it)"
    return (
        f"; the negative share went from {share_text(before.negative_share)} in the hour before "
        f"to {share_text(after.negative_share)} in the hour after "
        f"({points_text(shift.share_change)}), the mean sentiment from "
        f"{compound_text(before.mean_compound)} to {compound_text(after.mean_compound)}"
    )


def _answers(incident: IncidentReport) -> str:
    responses = incident.responses
    if not responses.seconds:
        return "No individual answer to a queued mention was detected."
    return (
        f"First individual answer {duration_text(incident.first_answer)} after the onset; "
        f"{len(responses.seconds)} answers, median response time "
        f"{duration_text(responses.median)}, 90th percentile {duration_text(responses.p90)}."
    )


def _queue(incident: IncidentReport) -> str:
    queue = incident.queue
    people = sum(queue.values())
    if not people:
        return ""
    return (
        f"At the end, {queue['open']} of the {people} people in the queue were still waiting "
        f"for an answer ({share_text(queue['open'] / people)}); {queue['replied']} answered, "
        f"{queue['skipped']} skipped."
    )


def _platforms(platforms: tuple[Platform, ...]) -> list[str]:
    medians = sorted(
        (p.responses.median, p.name) for p in platforms if p.responses.median is not None
    )
    lines = []
    if len(medians) > 1:
        (fast, fast_name), (slow, slow_name) = medians[0], medians[-1]
        lines.append(
            f"Slowest answers on {slow_name} (median {duration_text(slow)}), "
            f"fastest on {fast_name} (median {duration_text(fast)})."
        )
    silent = [
        f"{p.name} ({p.open} waiting)" for p in platforms if p.queued and not p.responses.seconds
    ]
    if silent:
        lines.append(f"No one answered on: {', '.join(silent)}.")
    return lines
