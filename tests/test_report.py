"""The post-crisis report, from small crisis logs written by hand: its figures, its Markdown and
HTML, their escaping of hostile text, and the choice of incidents by brand and time range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from defusedxml.ElementTree import fromstring
from markdown_it import MarkdownIt

from buzzwatch.report import (
    Point,
    Post,
    ReportError,
    Responses,
    build_report,
    incident_report,
    select,
    shifts,
    window,
)
from buzzwatch.report_html import render_html
from buzzwatch.report_lessons import observations
from buzzwatch.report_markdown import render_markdown
from pipeline.crisis_log import CrisisLog, Entry, LogEntry
from pipeline.models import (
    AlertEvent,
    EmergingTerm,
    ExplainedMention,
    Explanation,
    HoldingStatement,
)

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
INCIDENT = "aa11bb22cc33dd44ee55"
BRAND = "Bistro Nord"
HOSTILE = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> [click](javascript:alert(3)) "
    "| cell | **bold** `code` &lt;b&gt; ![i](https://evil.example/i.png)\n# heading\n- item"
)
HOSTILE_URL = 'https://evil.example/a"onmouseover="alert(5)'


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


@dataclass(frozen=True)
class Story:
    """What a hand-made incident holds (minutes after T0)."""

    incident: str = INCIDENT
    brand: str = BRAND
    offset: float = 0.0  # shifts every time
    resolved: bool = True
    text: str = "the worst coffee ever"
    url: str | None = "https://x.example/status/1"


def alert_data(story: Story, minute: float, kind: str, state: str, ident: str) -> dict[str, Any]:
    firing = state == "firing"
    mention = ExplainedMention(
        id="m-top",
        created_at=at(story.offset + 58),
        source="twitter",
        lang="en",
        author="zed",
        author_name=story.text,
        followers=12_000,
        engagement=40,
        reach=12_040,
        compound=-0.8,
        text=story.text,
        url=story.url,
    )
    explanation = Explanation(
        window_start=at(story.offset),
        window_end=at(story.offset + minute),
        mentions=40,
        negatives=20,
        top_negative=(mention,),
        emerging_terms=(
            EmergingTerm(term=story.text, mentions=9, share=0.3, usual_share=0.01, z=5),
        ),
        sources={"twitter": 40},
        languages={"en": 40},
        negative_languages={"en": 20},
        top_accounts=(),
        author_concentration=0.1,
        troll_suspected=False,
    )
    event = AlertEvent(
        id=ident,
        brand=story.brand,
        kind=kind,
        state=state,
        severity="warning",
        at=at(story.offset + minute),
        started_at=at(story.offset + 60),
        observed=8.0,
        expected=1.0,
        window_seconds=300,
        score=0.9,
        explanation=explanation if firing else None,
        holding_statement=HoldingStatement(lang="en", text=story.text) if firing else None,
    )
    return event.to_dict()


def post(story: Story, ident: str, minute: float, person: str, **extra: Any) -> dict[str, Any]:
    source, author = person.split(":")
    data = {
        "id": ident,
        "created_at": at(story.offset + minute).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "author": author,
        "author_name": story.text,
        "followers": 100,
        "follows_brand": False,
        "engagement": 0,
        "reach": 100,
        "compound": -0.6,
        "text": story.text,
        "url": story.url,
        "in_reply_to": None,
    }
    return {**data, **extra}


def curve_value(start: int) -> tuple[int, int, float]:
    """Volume, negatives and mean compound of the bucket starting `start` minutes after T0."""
    if start < 60:
        return 2, 0, 0.5
    if start < 90:
        return 10, 8, -0.6
    if start < 120:
        return 6, 3, -0.2
    return 2, 0, 0.4


def story_entries(story: Story) -> list[Entry]:
    """Onset 10:00, alert 10:05; a public statement at 10:30; three answers (600, 1200 and
    3000 s) on two platforms, one person skipped, one left waiting; resolved at 11:50."""
    o, incident = story.offset, story.incident

    def entry(kind: str, minute: float, data: dict[str, Any]) -> Entry:
        return Entry(incident, kind, at(o + minute), data)  # type: ignore[arg-type]

    entries = [
        entry("queued", 62, post(story, "m-ann", 62, "twitter:ann")),
        entry("queued", 70, post(story, "m-bob", 70, "twitter:bob")),
        entry("queued", 75, post(story, "m-cat", 75, "instagram:cat")),
        entry("queued", 80, post(story, "m-dan", 80, "google_reviews:dan")),
        entry("queued", 85, post(story, "m-gus", 85, "twitter:gus")),
        entry("alert", 65, alert_data(story, 65, "volume", "firing", "bb" * 10)),
        entry("communication", 90, post(story, "s-1", 90, "twitter:@bistronord")),
        entry("defender", 100, post(story, "m-eve", 100, "twitter:eve", reach=9000, compound=0.9)),
        entry(
            "status", 100, {"person": "twitter:gus", "status": "skipped", "by": "cli", "note": ""}
        ),
    ]
    for mention, person, asked, seconds in (
        ("m-ann", "twitter:ann", 62, 600),
        ("m-bob", "twitter:bob", 70, 1200),
        ("m-cat", "instagram:cat", 75, 3000),
    ):
        minute = asked + seconds / 60
        source = person.split(":")[0]
        answer = post(
            story, f"{mention}-answer", minute, f"{source}:@bistronord", in_reply_to=mention
        )
        reply = {
            "person": person,
            "mention": mention,
            "reply": answer["id"],
            "response_seconds": seconds,
        }
        entries += [entry("communication", minute, answer), entry("reply", minute, reply)]
    for start in range(0, 165, 5):
        volume, negatives, compound = curve_value(start)
        data = {
            "start": at(o + start).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": 300,
            "volume": volume,
            "negatives": negatives,
            "positives": volume - negatives,
            "mean_compound": compound,
        }
        entries.append(entry("curve", start + 5, data))
    if story.resolved:
        peak = next(e.data for e in entries if e.kind == "curve" and e.data["volume"] == 10)
        entries += [
            entry("alert", 170, alert_data(story, 170, "volume", "resolved", "bb" * 10)),
            entry("alert", 170, alert_data(story, 170, "negative", "resolved", incident)),
            entry("peak", 170, peak),
            entry(
                "resolved",
                170,
                {"queue": {}, "communications": 4, "defenders": 1, "most_shared": []},
            ),
        ]
    opened = entry("opened", 65, alert_data(story, 65, "negative", "firing", incident))
    return [opened, *sorted(entries, key=lambda e: e.at)]


def written(directory: Path, *stories: Story) -> CrisisLog:
    log = CrisisLog(directory)
    for story in stories:
        log.append(story_entries(story))
    return log


@pytest.fixture
def entries(tmp_path: Path) -> list[LogEntry]:
    return written(tmp_path, Story()).read(INCIDENT)


def test_response_times_are_counted_from_the_reply_entries(entries: list[LogEntry]) -> None:
    report = incident_report(entries)
    assert report.responses.seconds == (600, 1200, 3000)
    assert (report.responses.median, report.responses.p90) == (1200, 3000)
    assert report.first_answer == timedelta(minutes=12)  # 10:12, onset 10:00
    assert report.first_statement == timedelta(minutes=30)
    rows = {p.name: p for p in report.platforms}
    assert (rows["twitter"].queued, rows["twitter"].replied, rows["twitter"].skipped) == (3, 2, 1)
    assert (rows["twitter"].responses.median, rows["twitter"].responses.p90) == (900, 1200)
    assert rows["instagram"].responses.seconds == (3000,)
    assert (rows["google_reviews"].open, rows["google_reviews"].responses.seconds) == (1, ())
    assert report.queue == {"open": 1, "replied": 3, "skipped": 1}
    assert report.responses.histogram() == [
        ("< 15 min", 1),
        ("15–30 min", 1),
        ("30 min–1 h", 1),
        ("1–2 h", 0),
        ("2–4 h", 0),
        ("≥ 4 h", 0),
    ]


def test_median_and_nearest_rank_90th_percentile() -> None:
    assert Responses((60, 120, 300, 600)).median == 210
    assert Responses(tuple(range(1, 11))).p90 == 9
    assert Responses(tuple(range(1, 12))).p90 == 10
    assert Responses(()).median is None and Responses(()).p90 is None


def test_sentiment_before_and_after_a_communication(entries: list[LogEntry]) -> None:
    report = incident_report(entries)
    statement = report.statements[0]
    assert statement.post.at == at(90) and statement.number == 2  # after one answer
    before, after = statement.before, statement.after
    # [09:30, 10:30): 6 buckets of 2 mentions (0 negative, +0.5), 6 of 10 (8 negative, -0.6)
    assert (before.buckets, before.mentions, before.negatives) == (12, 72, 48)
    assert before.negative_share == pytest.approx(48 / 72)
    assert before.mean_compound == pytest.approx((6 * 2 * 0.5 - 6 * 10 * 0.6) / 72)
    # [10:30, 11:30): 6 buckets of 6 (3 negative, -0.2), 6 of 2 (0 negative, +0.4)
    assert (after.buckets, after.mentions, after.negatives) == (12, 48, 18)
    assert after.mean_compound == pytest.approx((-6 * 6 * 0.2 + 6 * 2 * 0.4) / 48)
    assert statement.share_change == pytest.approx(18 / 48 - 48 / 72)
    assert statement.compound_change == pytest.approx(-0.05 + 30 / 72)
    lines = observations(report)
    assert (
        "First public statement 30 min after the onset; the negative share went from 67 % in "
        "the hour before to 38 % in the hour after (−29 pts), the mean sentiment from −0.42 "
        "to −0.05." in lines
    )


def test_a_bucket_across_the_communication_is_in_neither_hour() -> None:
    points = [Point(at(m), at(m + 5), 4, 2, 1, -0.5) for m in range(0, 30, 5)]
    statement = Post("s", at(12), "twitter", "@b", "@b", 0, 0.0, "statement", None)
    (shift,) = shifts([statement], points)
    assert (shift.before.buckets, shift.after.buckets) == (2, 3)  # 10:10-10:15 left out
    assert window(points, at(0), at(30)).mentions == 24
    assert window(points[:0], at(0), at(30)).negative_share is None


def test_markdown_holds_the_timeline_figures_and_lessons(entries: list[LogEntry]) -> None:
    text = render_markdown(build_report([entries], "Incident, from the crisis log."))
    timeline = text[text.index("### Timeline") : text.index("### Volume")]
    rows = [line for line in timeline.splitlines() if line.startswith("| 2026")]
    assert [row.split(" | ")[1] for row in rows] == [
        "peak",  # the 10:00 bucket
        "opened",  # 10:05
        "alert",  # volume fired 10:05
        "communication",  # answer to ann, 10:12
        "communication",  # statement 10:30
        "communication",  # answer to bob, 10:30
        "communication",  # answer to cat, 11:05
        "alert",
        "alert",
        "resolved",
    ]
    assert "public statement on twitter" in rows[4]
    for fact in (
        "- **Answers to queued mentions:** 3",
        "- **Median response time:** 20 min",
        "- **90th percentile:** 50 min",
        "- **First answer after the onset:** 12 min",
        "- **First public statement after the onset:** 30 min",
        "- **Onset:** 2026-03-03 10:00 UTC",
        "- **End:** 2026-03-03 11:50 UTC",
        "| twitter | 3 | 2 | 1 | 0 | 2 | 15 min | 20 min |",
        "| instagram | 1 | 1 | 0 | 0 | 1 | 50 min | 50 min |",
        "| #2 | 2026-03-03 10:30 UTC | public statement on twitter | 72 / 48 | 67 % | 38 % "
        "| −29 pts | −0.42 | −0.05 | +0.37 |",
        "| 1 | 3 | 1 | 5 |",  # the queue at the end
        "- Slowest answers on instagram (median 50 min), fastest on twitter (median 15 min).",
        "- No one answered on: google\\_reviews (1 waiting).",
        "### What worked",
        "### What to change",
        "### Who to thank",
    ):
        assert fact in text, fact
    assert text.count("- (to fill in)") == 3


def test_a_still_open_incident_says_so(tmp_path: Path) -> None:
    log = written(tmp_path, Story(resolved=False))
    report = incident_report(log.read(INCIDENT))
    assert report.end is None and report.peak is not None and report.peak.volume == 10
    text = render_markdown(build_report([log.read(INCIDENT)], "open"))
    assert "still open" in text and "incident resolved" not in text


TEXT_TAGS = {"h1", "h2", "h3", "h4", "p", "ul", "li", "blockquote"}
TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td"}
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "section", "dl", "dt", "dd", "a"}
CHART_TAGS = {"figure", "figcaption", "svg", "g", "rect", "line", "polyline", "text"}


def test_hostile_text_is_shown_not_obeyed_in_html(tmp_path: Path) -> None:
    story = Story(brand="Bistro <b>Nord</b> & Co", text=HOSTILE, url=HOSTILE_URL)
    log = written(tmp_path, story)
    page = render_html(build_report([log.read(INCIDENT)], "scope"))
    root = fromstring(page)  # well-formed: nothing broke out of its element
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= TEXT_TAGS | TABLE_TAGS | PAGE_TAGS | CHART_TAGS
    attributes = {name for element in root.iter() for name in element.attrib}
    assert not any(name.startswith("on") for name in attributes)
    links = [element for element in root.iter() if element.tag == "a"]
    assert links and all(a.attrib["href"] == HOSTILE_URL for a in links)  # the quote stayed in
    assert HOSTILE in ["".join(td.itertext()) for td in root.iter("td")]  # shown as written
    assert "Post-crisis report: Bistro <b>Nord</b> & Co" in [h.text for h in root.iter("h1")]


def test_links_are_kept_for_web_addresses_only(tmp_path: Path) -> None:
    log = written(tmp_path, Story(url="https://x.example/status/1?a=1&b=2"))
    root = fromstring(render_html(build_report([log.read(INCIDENT)], "scope")))
    hrefs = {a.attrib["href"] for a in root.iter() if a.tag.split("}")[-1] == "a"}
    assert hrefs == {"https://x.example/status/1?a=1&b=2"}


def test_hostile_text_is_shown_not_obeyed_in_markdown(tmp_path: Path) -> None:
    story = Story(brand="Bistro <b>Nord</b> & Co", text=HOSTILE, url="javascript:alert(4)")
    log = written(tmp_path, story)
    text = render_markdown(build_report([log.read(INCIDENT)], "scope"))
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    root = ElementTree.fromstring(f"<root>{rendered}</root>")
    tags = {element.tag for element in root.iter()}
    assert tags <= TEXT_TAGS | TABLE_TAGS | {"root", "strong", "pre", "code"}
    assert [h.text for h in root.iter("h1")] == ["Post-crisis report: Bistro <b>Nord</b> & Co"]
    for table in root.iter("table"):
        width = len(table.find("thead/tr"))  # type: ignore[arg-type]
        assert all(len(row) == width for row in table.iter("tr")), "a cell broke out"
    flat = HOSTILE.replace("\n", " ")
    cells = ["".join(td.itertext()) for td in root.iter("td")]
    assert flat in cells  # shown as written, on one line
    assert f"[en] {flat}" in ["".join(q.itertext()).strip() for q in root.iter("blockquote")]


def test_select_by_brand_and_time_range(tmp_path: Path) -> None:
    day = 24 * 60
    first = Story(incident="a1" * 10)  # 10:00-11:50 on 3 March
    second = Story(incident="a2" * 10, offset=day)  # the next day
    other = Story(incident="b1" * 10, brand="Café Sud", offset=day)
    still_open = Story(incident="a3" * 10, offset=3 * day, resolved=False)
    log = written(tmp_path, first, second, other, still_open)

    def ids(**kwargs: Any) -> list[str]:
        return [entries[0].incident for entries in select(log, brand=BRAND, **kwargs)]

    assert ids() == ["a1" * 10, "a2" * 10, "a3" * 10]
    assert ids(start=at(day)) == ["a2" * 10, "a3" * 10]
    assert ids(start=at(110), end=at(day + 61)) == ["a1" * 10, "a2" * 10]  # overlaps, both ends
    assert ids(start=at(170)) == ["a2" * 10, "a3" * 10]  # the first ended at 11:50
    assert ids(start=at(10 * day)) == ["a3" * 10]  # still open: it goes on
    assert [e[0].incident for e in select(log, brand="café sud")] == ["b1" * 10]
    with pytest.raises(ReportError, match="no incident of 'Bistro Nord' until"):
        select(log, brand=BRAND, end=at(60))
    with pytest.raises(ReportError, match=r"brands logged: Bistro Nord, Café Sud"):
        select(log, brand="Nobody")
    with pytest.raises(ReportError, match="no incident 'ffffffff'"):
        select(log, incident="ffffffff")
    report = build_report(select(log, brand=BRAND), "scope")
    text = render_markdown(report)
    assert text.count("## Incident ") == 3 and text.count("### Observations") == 1
    assert f"Incident {'a2' * 10} (2026-03-04 10:00 UTC):" in text
