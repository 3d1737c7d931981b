"""The crisis desk on the embedded path: incidents, the response queue, the brand's answers
matched to what they answer, and the append-only, hash-chained crisis log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.brands import BrandMatcher, BrandTerms
from pipeline.crisis_log import CrisisLog, LogBroken, LogEntry
from pipeline.desk import Desk, LoggedDesk, seen_of
from pipeline.engine import Engine, Scored
from pipeline.models import AlertEvent, Mention
from pipeline.replay import replay
from pipeline.synthetic import DEMO_START, BrandProfile, Incident, Scenario, generate
from pipeline.synthetic_answers import answer

HOUR = timedelta(hours=1)
BRAND, HANDLE = "Bistro Nord", "@bistronord"
ONSET = DEMO_START + 36 * HOUR
SOURCES = {"twitter": 0.5, "instagram": 0.3, "google_reviews": 0.2}


def crisis_stream(troll: bool = False) -> list[Mention]:
    profile = BrandProfile(BRAND, HANDLE, 400, 0.7, 0.1, "food", SOURCES)
    kind, intensity = ("troll", 120.0) if troll else ("crisis", 8.0)
    incident = Incident(BRAND, kind, ONSET, 2 * HOUR, intensity)
    mentions = generate(Scenario(DEMO_START, 3, (profile,), (incident,), seed=9))
    return answer(mentions, BRAND, HANDLE, ONSET + 20 * timedelta(minutes=1), answers=12, seed=9)


def run_desk(mentions: list[Mention], directory: Path) -> tuple[LoggedDesk, list[AlertEvent]]:
    matcher = BrandMatcher({BRAND: BrandTerms(handles=(HANDLE,))})
    engine = Engine(handles=matcher.handles)
    desk = LoggedDesk(CrisisLog(directory), Desk())
    events: list[AlertEvent] = []

    def on_alert(event: AlertEvent) -> None:
        events.append(event)
        desk.on_alert(event)

    def on_scored(scored: Scored) -> None:
        desk.on_mention(seen_of(scored, engine.scorer))

    replay(enumerate(mentions), engine, on_alert, matcher, on_scored)
    return desk, events


@pytest.fixture(scope="module")
def crisis(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoggedDesk, list[AlertEvent], Path]:
    directory = tmp_path_factory.mktemp("crisis-log")
    desk, events = run_desk(crisis_stream(), directory)
    return desk, events, directory


def test_an_incident_logs_onset_queue_answers_defenders_curves_peak_and_end(
    crisis: tuple[LoggedDesk, list[AlertEvent], Path],
) -> None:
    desk, events, _ = crisis
    (incident_id,) = desk.log.incidents()
    entries = desk.log.read(incident_id)
    kinds = [entry.kind for entry in entries]
    assert kinds[0] == "opened" and kinds[-1] == "resolved" and kinds[-2] == "peak"
    opened = entries[0].data
    first = next(e for e in events if e.state == "firing")
    assert opened["id"] == first.id == incident_id
    assert opened["holding_statement"]["lang"] == "fr" and opened["explanation"]["top_negative"]
    assert {"queued", "communication", "reply", "defender", "curve", "alert"} <= set(kinds)
    fired = {e.id for e in events if e.state == "firing"}
    assert {e.data["id"] for e in entries if e.kind in ("opened", "alert")} == fired
    curves = [e for e in entries if e.kind == "curve"]
    starts = [e.data["start"] for e in curves]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert starts[0] < first.at.isoformat()  # the onset before the alert is on the curves
    peak = next(e for e in entries if e.kind == "peak").data
    assert peak["volume"] == max(e.data["volume"] for e in curves)
    statement = next(e for e in entries if e.kind == "communication" and not e.data["in_reply_to"])
    assert statement.data["author"] == HANDLE
    resolved = entries[-1].data
    assert resolved["queue"]["replied"] > 0 and resolved["most_shared"]


def test_answers_are_matched_to_what_they_answer_with_response_times(
    crisis: tuple[LoggedDesk, list[AlertEvent], Path],
) -> None:
    desk, _, _ = crisis
    (incident_id,) = desk.log.incidents()
    entries = desk.log.read(incident_id)
    queued = {e.data["id"]: e for e in entries if e.kind == "queued"}
    replies = [e for e in entries if e.kind == "reply"]
    assert replies
    for reply in replies:
        asked = queued[reply.data["mention"]]
        assert reply.data["reply"] == f"{reply.data['mention']}-answer"
        assert reply.data["response_seconds"] == int((reply.at - asked.at).total_seconds())
        assert 5 * 60 <= reply.data["response_seconds"] <= 120 * 60
    items = {item.person: item for item in desk.desk.queue(incident_id)}
    for reply in replies:
        assert items[reply.data["person"]].status in ("replied", "open")  # open: wrote again
    assert sum(item.status == "replied" for item in items.values()) >= len(replies) // 2


def test_the_queue_puts_open_items_first_then_followers_of_the_brand_then_reach(
    crisis: tuple[LoggedDesk, list[AlertEvent], Path],
) -> None:
    desk, _, _ = crisis
    (incident_id,) = desk.log.incidents()
    queue = desk.desk.queue(incident_id)
    assert len(queue) >= 20
    keys = [(item.status != "open", not item.follows_brand, -item.reach) for item in queue]
    assert keys == sorted(keys)
    assert any(item.follows_brand for item in queue) and not all(i.follows_brand for i in queue)
    assert all(item.source in SOURCES and item.mentions for item in queue)


def test_marks_are_appended_and_a_restart_rebuilds_the_same_desk(
    crisis: tuple[LoggedDesk, list[AlertEvent], Path],
) -> None:
    desk, _, directory = crisis
    (incident_id,) = desk.log.incidents()
    path = directory / f"{incident_id}.jsonl"
    before = path.read_bytes()
    person = next(i.person for i in desk.desk.queue(incident_id) if i.status == "open")
    at = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    written = desk.mark(incident_id, person, "skipped", at, "cli", "answered by phone")
    assert written.kind == "status" and path.read_bytes().startswith(before)
    again = LoggedDesk(CrisisLog(directory), Desk())
    assert again.desk.queue(incident_id) == desk.desk.queue(incident_id)
    item = next(i for i in again.desk.queue(incident_id) if i.person == person)
    assert (item.status, item.note) == ("skipped", "answered by phone")
    with pytest.raises(KeyError, match="not in the queue"):
        desk.mark(incident_id, "twitter:nobody", "replied", at, "cli")
    with pytest.raises(ValueError, match="status must be one of"):
        desk.mark(incident_id, person, "deleted", at, "cli")  # type: ignore[arg-type]


def test_an_edited_or_cut_log_is_refused(tmp_path: Path) -> None:
    log = CrisisLog(tmp_path)
    desk = LoggedDesk(log, Desk())
    (incident,) = [e for e in crisis_events() if e.state == "firing"][:1]
    desk.on_alert(incident)
    path = tmp_path / f"{incident.id}.jsonl"
    line = path.read_text()
    assert LogEntry.model_validate_json(line).seq == 0
    path.write_text(line.replace('"warning"', '"critical"'))
    with pytest.raises(LogBroken, match="does not follow the chain"):
        CrisisLog(tmp_path).read(incident.id)
    path.write_text(line.rstrip("\n"))
    with pytest.raises(LogBroken, match="cut short"):
        CrisisLog(tmp_path).read(incident.id)


def test_a_troll_burst_puts_its_accounts_last_in_the_queue(tmp_path: Path) -> None:
    desk, events = run_desk(crisis_stream(troll=True), tmp_path)
    firing = [e for e in events if e.state == "firing"]
    assert any(e.explanation and e.explanation.troll_suspected for e in firing)
    (incident_id,) = desk.log.incidents()
    queue = desk.desk.queue(incident_id)
    assert any(item.troll_suspected for item in queue)
    keys = [(item.status != "open", item.troll_suspected) for item in queue]
    assert keys == sorted(keys)


def crisis_events() -> list[AlertEvent]:
    events: list[AlertEvent] = []
    replay(enumerate(crisis_stream()), Engine(), events.append)
    return events
