"""Alerts that explain themselves: top negatives by reach, emerging terms, breakdowns, the
troll flag, the holding statement, and the brand's own posts left out of the counts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

import pytest

from pipeline.brands import BrandMatcher, BrandTerms
from pipeline.engine import Admission, Engine
from pipeline.evidence import LAZY_CHARS, SAMPLE, Evidence, place_of, terms_of
from pipeline.models import AlertEvent, Author, Mention
from pipeline.replay import replay
from pipeline.settings import ExplainSettings
from pipeline.statements import HoldingStatements, default_templates
from pipeline.synthetic import DEMO_START, BrandProfile, Incident, Scenario, generate
from tests.helpers import T0, mention, stream

HOUR = timedelta(hours=1)
SOURCES = {"twitter": 0.5, "instagram": 0.3, "google_reviews": 0.2}


def firing(mentions: Iterable[Mention], engine: Engine | None = None) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    ordered = sorted(mentions, key=lambda m: m.created_at)
    replay(enumerate(ordered), engine or Engine(), events.append)
    return [event for event in events if event.state == "firing"]


@pytest.fixture(scope="module")
def crisis_and_trolls() -> list[AlertEvent]:
    """Two bistros of 300 mentions a day: one has a crisis, the other a troll burst."""
    brands = tuple(
        BrandProfile(name, f"@{name.lower()}", 300, 0.7, 0.1, "food", SOURCES)
        for name in ("Bistro Nord", "Bistro Sud")
    )
    incidents = (
        Incident("Bistro Nord", "crisis", DEMO_START + 2 * 24 * HOUR + 11 * HOUR, 2 * HOUR, 8.0),
        Incident("Bistro Sud", "troll", DEMO_START + 2 * 24 * HOUR + 11 * HOUR, HOUR, 80),
    )
    return firing(generate(Scenario(DEMO_START, 3, brands, incidents, seed=4)))


def test_a_crisis_alert_shows_its_widest_reaching_negatives_terms_and_breakdowns(
    crisis_and_trolls: list[AlertEvent],
) -> None:
    event = next(e for e in crisis_and_trolls if e.brand == "Bistro Nord" and e.kind == "negative")
    explanation = event.explanation
    assert explanation is not None
    assert explanation.window_end == event.at
    assert explanation.window_end - explanation.window_start >= timedelta(minutes=60)
    top = explanation.top_negative
    assert len(top) == 5
    assert [m.reach for m in top] == sorted((m.reach for m in top), reverse=True)
    assert all(m.compound <= -0.05 and m.reach == m.followers + m.engagement for m in top)
    assert all(explanation.window_start <= m.created_at < event.at for m in top)
    assert sum(explanation.sources.values()) == explanation.mentions
    assert sum(explanation.languages.values()) == explanation.mentions
    assert sum(explanation.negative_languages.values()) == explanation.negatives
    assert explanation.emerging_terms, "a crisis brings its own words"
    assert all(t.share > t.usual_share and t.z >= 3.0 for t in explanation.emerging_terms)
    assert not explanation.troll_suspected  # many accounts (or still too few negatives)
    crowd = [e.explanation for e in crisis_and_trolls if e.brand == "Bistro Nord"]
    assert all(x is not None and not x.troll_suspected for x in crowd)
    assert any(x is not None and x.negatives >= 8 and x.author_concentration < 0.5 for x in crowd)
    statement = event.holding_statement
    assert statement is not None  # in the language most of the negatives use
    assert statement.lang == next(iter(explanation.negative_languages))
    assert "Bistro Nord" in statement.text


def test_a_troll_burst_is_flagged_and_its_few_accounts_named(
    crisis_and_trolls: list[AlertEvent],
) -> None:
    events = [e for e in crisis_and_trolls if e.brand == "Bistro Sud"]
    flagged = [e.explanation for e in events if e.explanation and e.explanation.troll_suspected]
    assert flagged, "the troll burst raises an alert that suspects trolls"
    for explanation in flagged:
        assert explanation.author_concentration >= 0.5
        accounts = explanation.top_accounts
        assert [a.negatives for a in accounts] == sorted(
            (a.negatives for a in accounts), reverse=True
        )
        assert accounts[0].followers < 2_000  # low-reach accounts


def test_usual_words_do_not_emerge_but_new_ones_do() -> None:
    calm = ["Super café et croissants ce matin", "Le café du coin, toujours top", "Bon café"]
    before = [
        mention(minute, calm[minute % 3], "acme", id=f"c{minute}") for minute in range(0, 2880, 6)
    ]
    burst = [
        mention(
            2880 + i / 4,
            f"Intoxication alimentaire après le café, ignoble #scandale {i}",
            "acme",
            id=f"b{i}",
            author=Author(id=f"u{i}", followers=10 * i),
        )
        for i in range(40)
    ]
    event = next(e for e in firing([*before, *burst]) if e.kind == "negative")
    assert event.explanation is not None
    terms = [t.term for t in event.explanation.emerging_terms]
    assert {"intoxication", "alimentaire", "#scandale", "ignoble"} <= set(terms)
    assert "cafe" not in terms and "acme" not in terms
    assert event.explanation.top_negative[0].followers == max(
        10 * i
        for i in range(40)
        if T0 + timedelta(minutes=2880 + i / 4) < event.at  # dated before the alert
    )


def test_holding_statements_come_from_editable_templates() -> None:
    statements = HoldingStatements.from_config(
        {"holding_statements": {"fr": "Bonjour, {brand} regarde cela de près."}}
    )
    assert statements.templates["fr"] == "Bonjour, {brand} regarde cela de près."
    assert statements.templates["en"] == default_templates()["en"]
    with pytest.raises(ValueError, match="unknown placeholder"):
        HoldingStatements({"en": "Sorry from {company}"})
    with pytest.raises(ValueError, match="template for 'en'"):
        HoldingStatements({"fr": "Bonjour"})


def test_the_statement_follows_the_language_of_the_negatives() -> None:
    calm = list(stream(24 * 60, 1.0))
    angry = [
        mention(900 + i / 10, "Service nul, c'est une honte, je suis furieux", id=f"fr{i}")
        for i in range(200)
    ]
    engine = Engine(statements=HoldingStatements({"en": "EN {brand}", "fr": "FR {brand}"}))
    event = next(e for e in firing([*calm, *angry], engine) if e.kind == "negative")
    assert event.holding_statement is not None
    assert (event.holding_statement.lang, event.holding_statement.text) == ("fr", "FR acme")


def test_the_brands_own_posts_are_matched_to_it_and_not_counted() -> None:
    matcher = BrandMatcher({"Acme": BrandTerms(handles=("@acme_support",))})
    reply = Mention.model_validate(
        {
            "id": "r1",
            "created_at": T0.isoformat(),
            "text": "@client Désolés, nous regardons cela tout de suite",
            "author": {"id": "123", "name": "@Acme_Support"},
            "in_reply_to": "m1",
        }
    )
    (assigned,) = matcher.assign(reply)
    assert assigned.brand == "Acme"
    engine = Engine(handles=matcher.handles)
    scored = engine.add(assigned)
    assert scored.admission is Admission.OWN and scored.polarity is not None
    assert engine.add(mention(1, "Acme, c'est nul", "Acme")).admission is Admission.ACCEPTED
    assert engine.counts["own"] == 1 and engine.counts["accepted"] == 1


def read_slice(mentions: list[Mention], evidence: Evidence | None = None) -> Evidence:
    """`evidence` (a new brand's) after `mentions`, each settled as it comes: the mentions of
    a minute count when the next minute starts."""
    evidence = evidence or Evidence("acme", ExplainSettings())
    for m in mentions:
        step = int(m.created_at.timestamp()) // 60 * 60
        evidence.add(step, m, "en", -0.5, negative="panne" in m.text)
        evidence.settle(step)
    evidence.settle(int(T0.timestamp()) + 900)
    return evidence


def ids_read(evidence: Evidence) -> list[str]:
    (piece,) = evidence.slices.values()
    return [mention_id for _, mention_id, _ in piece.sampled()]


def test_a_big_slice_reads_the_words_of_a_sample_that_does_not_depend_on_the_order() -> None:
    """400 mentions in 15 minutes: the words of the 50 whose ids hash lowest are read, the
    same in any arrival order, and only their texts are split into words, once needed."""
    mentions = [mention(i * 15 / 400, f"text {i} word{i % 7}", id=f"m{i}") for i in range(400)]
    terms_of.cache_clear()
    forward = read_slice(mentions)
    assert terms_of.cache_info().misses == 0
    backward = read_slice(mentions[::-1])
    assert ids_read(forward) == ids_read(backward)
    lowest = sorted((m.id for m in mentions), key=place_of)[:SAMPLE]
    assert ids_read(forward) == lowest
    assert forward.slices[int(T0.timestamp())].volume == 400  # every mention still counts
    (read,) = [piece[6] for _, piece in forward.state()["slices"]]
    assert terms_of.cache_info().misses == SAMPLE
    by_id = {m.id: m for m in mentions}
    assert read == [[i, list(terms_of(by_id[i].text, "acme"))] for i in lowest]


def test_a_long_text_is_split_at_once_and_explains_as_a_short_one() -> None:
    """A text longer than `LAZY_CHARS` is not kept whole: its terms are, the same ones."""
    long = "panne " + "x" * LAZY_CHARS + " retard"
    evidence = read_slice([mention(0, long, id="long"), mention(1, "panne retard", id="short")])
    (piece,) = evidence.slices.values()
    words = {mention_id: kept for _, mention_id, kept in piece.sampled()}
    assert words["long"] == ("panne", "x" * LAZY_CHARS, "retard") == terms_of(long, "acme")
    assert words["short"] == "panne retard"  # split only when needed
    restored = Evidence.from_state(
        "acme", ExplainSettings(), json.loads(json.dumps(evidence.state()))
    )
    assert restored.state() == evidence.state()
    now = int(T0.timestamp()) + 900
    assert restored.explain(now) == evidence.explain(now)


def test_a_term_of_a_big_slice_is_estimated_from_that_slices_sample() -> None:
    """Three hours of 20 calm mentions a slice, then 1,000 in 15 minutes, 400 of them about a
    breakdown: the term's count and share are the whole hour's, though only the big slice's
    words were sampled."""
    calm = [mention(i * 0.75, f"bonjour {i}", id=f"c{i}") for i in range(240)]
    burst = [
        mention(180 + i * 0.015, f"panne {i}" if i % 5 < 2 else f"salut {i}", id=f"b{i}")
        for i in range(1000)
    ]
    evidence = Evidence("acme", ExplainSettings())
    for m in [*calm, *burst]:
        step = int(m.created_at.timestamp()) // 60 * 60
        evidence.add(step, m, "fr", 0.0, negative=False)
        evidence.settle(step)
        evidence.expire(step, learn=True)
    now = int(T0.timestamp()) + 195 * 60
    evidence.settle(now)
    (term,) = [t for t in evidence.explain(now).emerging_terms if t.term == "panne"]
    assert 300 <= term.mentions <= 500, term
    assert 0.28 <= term.share <= 0.47, term  # 400 of 1,060


def test_a_small_slice_reads_every_mention_and_a_version_6_state_still_explains() -> None:
    mentions = [mention(i / 2, f"panne {i}", id=f"m{i}") for i in range(30)]
    evidence = read_slice(mentions)
    assert sorted(ids_read(evidence)) == sorted(m.id for m in mentions)
    old = evidence.state()
    old["slices"][0][1][6] = {"panne": 30}  # version 6 counted each slice's words
    old["pending"] = [[int(T0.timestamp()) + 60, "twitter", "fr", ["retard", "honte"], None]]
    restored = Evidence.from_state("acme", ExplainSettings(), old)
    restored.settle(int(T0.timestamp()) + 120)
    assert restored.slices[int(T0.timestamp())].sampled()[0][2] == ("retard", "honte")
    assert restored.explain(int(T0.timestamp()) + 120).mentions == 31
    again = read_slice([mention(1, "panne 99", id="m99")], restored)  # and goes on
    assert "m99" in ids_read(again)


def test_a_pending_mention_without_words_survives_a_checkpoint() -> None:
    evidence = Evidence("acme", ExplainSettings())
    evidence.add(int(T0.timestamp()), mention(0, "!!", id="m0"), "en", 0.0, negative=False)
    state = evidence.state()
    restored = Evidence.from_state("acme", ExplainSettings(), json.loads(json.dumps(state)))
    assert restored.state() == state


def test_the_usual_vocabulary_decays_by_the_week_through_rescales_and_old_states() -> None:
    """The vocabulary decays by growing what a new mention adds (forward decay): the counts
    are those of decaying every term at each slice, after a rescale (70 weeks without
    learning), from a version 8 state (the counts themselves) and after 30 years, when the
    decay underflows to nothing."""
    evidence = Evidence("acme", ExplainSettings())

    def learn(day: int, text: str) -> dict[str, float]:
        minute = day * 1440
        step = int(T0.timestamp()) + minute * 60
        evidence.add(step, mention(minute, text, id=f"{text}-{day}"), "fr", 0.0, negative=False)
        evidence.settle(step + 60)
        evidence.expire(step + 3 * 3600, learn=True)  # its slice has left the window
        state = evidence.state()
        return {term: v / state["vocabulary_weight"] for term, v in state["vocabulary"].items()}

    assert learn(0, "panne") == {"panne": 1.0}
    assert learn(7, "retard") == pytest.approx({"panne": 0.5, "retard": 1.0})
    assert learn(14, "panne") == pytest.approx({"panne": 1.25, "retard": 0.5})
    # a checkpoint at weight 4 goes on exactly as the evidence it was taken from
    assert evidence.state()["vocabulary_weight"] == 4.0
    restored = Evidence.from_state(
        "acme", ExplainSettings(), json.loads(json.dumps(evidence.state()))
    )
    original, evidence = evidence, restored
    went_on = learn(21, "retard")
    evidence = original
    assert learn(21, "retard") == went_on
    assert restored.state() == original.state()
    late = 21 + 70 * 7
    values = learn(late, "retard")
    assert values["panne"] * 2**70 == pytest.approx(0.625)  # 70 half-lives on
    assert values["retard"] == pytest.approx(1.0)
    assert evidence.state()["vocabulary_weight"] == 1.0  # rescaled
    assert evidence.documents == pytest.approx(1.0)

    old = evidence.state()
    weight = old.pop("vocabulary_weight")
    old["vocabulary"] = {term: v / weight for term, v in old["vocabulary"].items()}
    version_8 = Evidence.from_state("acme", ExplainSettings(), old)
    expected = learn(late + 7, "panne")
    evidence = version_8
    assert learn(late + 7, "panne") == pytest.approx(expected)
    assert expected == pytest.approx({"panne": 1.0, "retard": 0.5})

    assert learn(late + 7 + 30 * 365, "grève") == {"panne": 0.0, "retard": 0.0, "greve": 1.0}
