"""Feeds as the real world sends them, checked against feedparser: a corpus of real-world
feeds and feedparser's own test documents (licences kept beside them), and edge cases
written here for what broke before (dates, encodings, full texts, ids)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.models import Invalid, Mention
from producers.feeds import parse_feed, read_date
from producers.markup import plain_text
from tests.feeds_corpus import CORPUS, tally

EDGE = CORPUS / "edge"


def test_every_complete_entry_feedparser_reads_becomes_a_mention_with_its_date() -> None:
    tallies = tally()  # raises if a document raises anything but ValueError
    for origin in ("feedjira-sample-feeds", "feedparser-tests", "edge"):
        assert tallies[origin].documents > 0, origin
    complete = sum(t.complete for t in tallies.values())
    kept = sum(t.matched + t.corrected for t in tallies.values())
    assert complete > 250 and kept / complete >= 0.99
    assert sum(t.corrected for t in tallies.values()) == 3  # CET, CEST, BST: see zones.xml
    refused = [line for t in tallies.values() for line in t.refused]
    # refused: documents without entries, and those declaring entities (with their reason)
    assert all("not a feed" in line for line in refused)
    assert sum("declares XML entities" in line for line in refused) == 3


def _one(name: str) -> Mention:
    (mention,) = parse_feed((EDGE / name).read_bytes(), f"https://feeds.example/{name}")
    assert isinstance(mention, Mention)
    return mention


@pytest.mark.parametrize(
    ("name", "created_at", "text"),
    [
        (
            "wordpress-blank-line.xml",  # a blank line before <?xml: content:encoded wins
            "2026-03-03T08:15:00",
            "Fermeture exceptionnelle — Le Café Colette ferme lundi pour travaux. "
            "Réouverture mardi.",
        ),
        (
            "atom03.xml",
            "2026-03-04T10:30:00",
            "Café Colette : service très lent — Une heure d'attente.",
        ),
        ("rss10-rdf.xml", "2026-03-05T23:20:00", "Vends bons Café Colette — Deux bons d'achat."),
        (
            "html-entities.xml",  # HTML's named entities outside CDATA
            "2026-03-04T08:00:00",
            "Café Colette… décevant — Plus jamais !",  # &nbsp; a space like any other
        ),
        ("latin1-undeclared.xml", "2026-03-04T08:00:00", "Le Café Colette déçoit"),
        ("utf16.xml", "2026-03-04T08:00:00", "Le Café Colette déçoit"),
        ("utf32.xml", "2026-03-04T08:00:00", "Le Café Colette déçoit"),
        ("encoding-UTF8.xml", "2026-03-04T08:00:00", "Le Café Colette déçoit"),
        ("x-mac-roman.xml", "2026-03-04T08:00:00", "Le Café Colette déçoit"),  # no LookupError
        (
            "reddit-xhtml-title.xml",  # xhtml title; cells, list items apart; script, style out
            "2026-03-04T09:58:00",
            "Intoxication après un repas au Café Colette — Café Colette intoxication nausées "
            "fièvre",
        ),
        (
            "medium-content-encoded.xml",
            "2026-03-05T07:30:12",
            "Why I stopped going to Café Colette — Rude staff The waiter laughed at us. The bill",
        ),
        (
            "youtube-media-description.xml",
            "2026-03-05T17:00:06",
            "Test du Café Colette — Service catastrophique, je ne reviendrai pas.",
        ),
        (
            "atom-text-angle-brackets.xml",  # type="text" is not HTML: nothing stripped
            "2026-03-04T10:00:00",
            "Avis sur <Café Colette> — Note : 1/5 & <b>pas</b> de retour",
        ),
    ],
)
def test_edge_documents_read_whole(name: str, created_at: str, text: str) -> None:
    mention = _one(name)
    assert mention.created_at == datetime.fromisoformat(created_at).replace(tzinfo=UTC)
    assert mention.text == text


def test_dates_keep_their_offsets_and_zone_names() -> None:
    records = parse_feed((EDGE / "zones.xml").read_bytes(), "https://feeds.example/zones")
    never, *dated = records
    assert isinstance(never, Invalid) and "unreadable date 'bientôt'" in never.reason
    got = {m.text: m.created_at.isoformat() for m in dated if isinstance(m, Mention)}
    assert got == {
        "cet": "2026-03-03T09:00:00+00:00",
        "cest": "2026-07-07T08:00:00+00:00",
        "bst": "2026-07-07T09:00:00+00:00",
        "colon": "2026-03-03T09:00:00+00:00",
        "pt": "2026-03-03T18:00:00+00:00",
        "year": "2026-01-01T00:00:00+00:00",
    }
    atom = parse_feed((EDGE / "atom-dates.xml").read_bytes(), "https://feeds.example/dates")
    assert [(m.text, m.created_at.hour) for m in atom if isinstance(m, Mention)] == [
        ("spaces", 9),  # published, surrounded by whitespace
        ("rfc822", 9),  # published, in RFC 822 form
        ("updated only", 11),
    ]
    terms = parse_feed((EDGE / "dcterms.xml").read_bytes(), "https://feeds.example/terms")
    assert [(m.text, m.created_at.hour) for m in terms if isinstance(m, Mention)] == [
        ("modified", 11),
        ("created", 12),
    ]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("Tue Mar 03 10:00:00 CEST 2026", "2026-03-03T08:00:00+00:00"),  # asctime
        ("2026-03-03 10:00:00 CET", "2026-03-03T09:00:00+00:00"),  # ISO-like
        ("2026-03-03T10:00:00 ACST", "2026-03-03T00:30:00+00:00"),  # a half-hour zone
        ("Tue Mar 03 10:00:00 2026 CET", None),  # unread, as feedparser leaves it: not year 100
        ("Tue, 03 Mar 2026 10:00:00 +0100 (CET)", "2026-03-03T09:00:00+00:00"),  # the offset
        ("Tue, 03 Mar 2026 10:00:00 IST", "2026-03-03T10:00:00+00:00"),  # ambiguous: as written
    ],
)
def test_zone_names_read_as_their_offsets(written: str, read: str | None) -> None:
    date = read_date(written)
    assert (date.isoformat() if date else None) == read


def test_ids_only_unique_in_their_feed_are_namespaced_by_it() -> None:
    a, b = _one("local-ids-a.xml"), _one("local-ids-b.xml")
    assert a.id == "rss:https://feeds.example/local-ids-a.xml#1"
    assert b.id == "rss:https://feeds.example/local-ids-b.xml#1"
    assert _one("atom03.xml").id == "atom:tag:carnet.example,2026:12"  # a URI: unique as it is
    assert _one("rss10-rdf.xml").id == "rss:https://annonces.example/7741.html"


def test_html_to_text_keeps_blocks_apart_and_drops_what_is_not_shown() -> None:
    markup = (
        "<style>p{}</style><table><tr><th>Nom</th><td>Café Colette</td><td>intoxication</td>"
        "</tr></table><h5>Avis</h5><dl><dt>Note</dt><dd>1/5</dd></dl><script>var a='<p>';"
        "</script><noscript>activez JS</noscript>fin&nbsp;<b>gras</b>"
    )
    assert plain_text(markup) == "Nom Café Colette intoxication Avis Note 1/5 fin gras"
    assert plain_text('<a title="x<y">lien</a> suite') == "lien suite"  # a `<` in a value
    assert plain_text("<p>1 < 2 > 0</p><p title='<'>Bonjour") == "1 < 2 > 0 Bonjour"
    assert plain_text("<p>cut <b>short <a href=") == "cut short <a href="  # never closes
    assert plain_text("a <!-- x --> b <!-- never closed") == "a b"


def test_the_corpus_keeps_its_licences() -> None:
    notice = (CORPUS / "README.md").read_text(encoding="utf-8")
    for archive in Path(CORPUS).glob("*.tar.gz"):
        assert archive.name in notice
    assert "BSD" in notice and "MIT" in notice


def test_a_post_about_entities_is_not_a_declaration() -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><guid>https://x.example/1</guid>'
        b"<pubDate>Wed, 04 Mar 2026 08:00:00 GMT</pubDate><title>XML tips</title><description>"
        b"<![CDATA[Never trust <!ENTITY declarations]]></description></item></channel></rss>"
    )
    (post,) = parse_feed(feed, "https://x.example/feed")
    assert isinstance(post, Mention) and post.text.startswith("XML tips — Never trust")


def _rss(item: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{head}<rss version="2.0" xmlns:psc="http://podlove.org/simple-'
        'chapters" xmlns:gml="http://www.opengis.net/gml" xmlns:content="http://purl.org/rss/1.0/'
        f'modules/content/"><channel><item>{item}</item><item><guid>https://x.example/ok</guid>'
        "<pubDate>Wed, 04 Mar 2026 08:00:00 GMT</pubDate><title>fine</title></item></channel></rss>"
    ).encode()


DATED = "<guid>https://x.example/1</guid><pubDate>Wed, 04 Mar 2026 08:00:00 GMT</pubDate>"


@pytest.mark.parametrize(
    "document",
    [
        b"",  # an empty answer
        _rss(f'{DATED}<title>ep</title><psc:chapters><psc:chapter title="Intro"/></psc:chapters>'),
        _rss(f"{DATED}<title>ep</title><gml:pos>45 3</gml:pos>"),  # feedparser's KeyError
        _rss(f"{DATED}<title>bad &#99999999999999999999; &amp</title>"),  # its OverflowError
        _rss(f"{DATED}<title>bad &#xD800; &amp</title>"),  # its UnicodeEncodeError
    ],
)
def test_documents_feedparser_fails_on_are_not_feeds(document: bytes) -> None:
    with pytest.raises(ValueError, match="not a feed"):
        parse_feed(document, "https://x.example/feed")


@pytest.mark.parametrize(
    "written",
    ["9999-12-31T23:00:00-05:00", "0000-01-01T00:00:00+01:00", "Fri, 31 Dec 9999 23:59:59 GMT"],
)
def test_a_date_out_of_range_loses_its_entry_only(written: str) -> None:
    bad, fine = parse_feed(
        _rss(f"<guid>https://x.example/1</guid><pubDate>{written}</pubDate><title>t</title>"), "f"
    )
    assert isinstance(bad, Invalid) and "created_at" in bad.reason
    assert isinstance(fine, Mention) and fine.text == "fine"


def test_an_empty_content_leaves_the_summary_and_relative_links_resolve() -> None:
    item = (
        "<link>/posts/1</link><pubDate>Wed, 04 Mar 2026 07:00:00 GMT</pubDate><title>t</title>"
        "<description>the summary</description><content:encoded></content:encoded>"
    )
    first, _ = parse_feed(_rss(item), "https://blog.example/feed")
    assert isinstance(first, Mention)
    assert first.url == "https://blog.example/posts/1"
    assert first.id == "rss:https://blog.example/posts/1"
    assert first.text == "t — the summary"


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        ('<!-- <a --><!DOCTYPE rss [<!ENTITY a "EXPANDED">]>', "utf-8"),  # a comment like a tag
        ('<?xml-stylesheet href="<x"?><!DOCTYPE rss [<!ENTITY a "EXPANDED">]>', "utf-8"),
        ('<!DOCTYPE rss [<!ENTITY a "EXPANDED">]>', "cp037"),  # EBCDIC
        ('<!-- \u613c --><!DOCTYPE rss [<!ENTITY a "EXPANDED">]>', "utf-16"),  # U+613C: b"<a"
        ('\n<!--\n<!ENTITY a "EXPANDED">\n-->\n<!DOCTYPE rss>\n', "utf-8"),  # feedparser's scan
        ('\n<?note\n<!ENTITY a "EXPANDED">\n?>\n<!DOCTYPE rss>\n', "utf-8"),
        ('\njunk\n<!DOCTYPE rss [\n<!ENTITY a "EXPANDED">\n]>\n', "utf-8"),  # expat stops there
    ],
)
def test_entity_declarations_are_refused_however_the_prolog_hides_them(
    head: str, encoding: str
) -> None:
    text = _rss(f"{DATED}<title>&a;</title>", head).decode()
    declared = text.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    document = declared.encode(encoding)
    (entry, _) = feedparser.parse(io.BytesIO(document)).entries  # feedparser alone expands it
    assert entry.title == "EXPANDED"
    with pytest.raises(ValueError, match="declares XML entities"):
        parse_feed(document, "https://x.example/feed")


MARKUP = (
    *("<", ">", "!", "[", "]", "-", "?", "/", "a", " ", "=", '"', "'", "&", ";", "#", "<!"),
    *("<![", "]]>", "-->", "<!--", "<?", "&#", "&lt;", "<script>", "</script>", "<p>", "<br/>"),
    *("<td>", "Café"),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(MARKUP), max_size=20))
def test_html_to_text_takes_any_markup(tokens: list[str]) -> None:
    assert isinstance(plain_text("".join(tokens)), str)  # html.parser alone raises on 1 in 8
