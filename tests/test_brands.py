"""Brand matching: aliases, keywords, handles, exclusions; in replay, on the shipped sample."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.brands import BrandMatcher, BrandTerms, brand_matcher, fold, hashtag_words
from tests.helpers import buzzwatch, mention

SAMPLE = Path(__file__).parents[1] / "pipeline" / "samples" / "demo.jsonl.gz"

MATCHER = BrandMatcher(
    {
        "Boulangerie Dupont": BrandTerms(
            aliases=("Dupont",),
            keywords=("pain au chocolat royal", "#soldesdupont", "#Soldes_Dupont2026"),
            handles=("@Boulangerie.Dupont",),
            exclude=("DuPont de Nemours", "Dupont-Aignan"),
        ),
        "L'Oréal": BrandTerms(handles=("loreal@piaille.fr",)),
        "Apple": BrandTerms(keywords=("iPhone",), exclude=("apple pie",)),
    }
)


def brands(text: str) -> list[str]:
    return [match.brand for match in MATCHER.matches(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Déçu par la BOULANGERIE dupont ce matin", ["Boulangerie Dupont"]),
        ("chez Dupont, encore raté", ["Boulangerie Dupont"]),
        ("J'adore L’OREAL", ["L'Oréal"]),  # accents, case, the typographic apostrophe
        ("#BoulangerieDupont au top", ["Boulangerie Dupont"]),  # an alias as one hashtag
        ("#Dupont au top", ["Boulangerie Dupont"]),  # a hashtag is also a word
        ("On dit #boycottDupont", ["Boulangerie Dupont"]),  # ... or words, by their case
        ("#DUPONT_en_greve", ["Boulangerie Dupont"]),
        ("#dupontel", []),
        ("J'adore L'Ore\u0301al", ["L'Oréal"]),  # decomposed accents (NFD), as macOS writes
        ("my #iPhone", ["Apple"]),  # a keyword run together as a hashtag
        ("boulangerie-dupont.fr", ["Boulangerie Dupont"]),  # words, whatever separates them
        ("le pain au chocolat royal!", ["Boulangerie Dupont"]),
        ("#soldesdupont", ["Boulangerie Dupont"]),
        ("soldesdupont", []),  # a hashtag keyword only as a hashtag
        ("#soldes_dupont2026", ["Boulangerie Dupont"]),
        ("Dupontel, quel film", []),  # word boundaries
        ("pineapple juice", []),
        ("Apples and pears", []),
        ("my new iPhone and l'Oréal cream", ["L'Oréal", "Apple"]),
        ("Apple and Dupont", ["Boulangerie Dupont", "Apple"]),  # the configured order
    ],
)
def test_texts_name_brands_by_whole_words_whatever_the_case_and_accents(
    text: str, expected: list[str]
) -> None:
    assert brands(text) == expected


def test_exclusions_veto_aliases_and_keywords_but_not_handles() -> None:
    assert brands("DuPont de Nemours pollue") == []
    assert brands("dupont-aignan a dit") == []
    assert brands("Apple pie recipe") == []
    assert brands("apple pie on my iPhone") == []
    assert brands("@boulangerie.dupont rien à voir avec DuPont de Nemours") == [
        "Boulangerie Dupont"
    ]
    assert brands("#Dupont @boulangerie.dupont DuPont de Nemours") == ["Boulangerie Dupont"]


def test_handles_match_only_as_handles_including_mastodon_accounts() -> None:
    assert [(m.kind, m.term) for m in MATCHER.matches("merci @LOREAL@piaille.fr !")] == [
        ("handle", "loreal@piaille.fr")
    ]
    assert brands("loreal@piaille.fr") == []  # an address without the leading @
    assert brands("@loreal") == []  # another account: the instance is part of the handle
    assert brands("@boulangerie.dupont.") == ["Boulangerie Dupont"]  # the full stop ends it
    assert brands("@dupont_fan") == []  # someone else's handle is not the word Dupont


def test_the_first_term_found_is_the_reason() -> None:
    (match,) = MATCHER.matches("Mon pain au chocolat royal de chez Dupont")
    assert (match.brand, match.kind, match.term) == (
        "Boulangerie Dupont",
        "keyword",
        "pain au chocolat royal",
    )


def test_assign_copies_a_mention_per_named_brand_and_the_source_brand_wins() -> None:
    both = mention(0, "Apple and Dupont", None)
    assert [m.brand for m in MATCHER.assign(both)] == ["Boulangerie Dupont", "Apple"]
    assert {m.id for m in MATCHER.assign(both)} == {both.id}
    given = mention(0, "Apple and Dupont", "acme")
    assert MATCHER.assign(given) == [given]
    nothing = mention(0, "rien", None)
    assert MATCHER.assign(nothing) == [nothing]


def test_ten_thousand_brands_are_told_apart() -> None:
    many = BrandMatcher({f"Shop {i}": BrandTerms(handles=(f"@shop{i}",)) for i in range(10_000)})
    assert [m.brand for m in many.matches("Shop 4321 then @shop77 and shop 99999")] == [
        "Shop 77",
        "Shop 4321",
    ]


def test_hashtags_split_into_words_where_the_case_changes() -> None:
    assert hashtag_words("KivoWins") == ["kivo", "wins"]
    assert hashtag_words("NYCMarathon2026") == ["nyc", "marathon2026"]
    assert hashtag_words("scandale_ÉtéSkyvale") == ["scandale", "ete", "skyvale"]
    assert hashtag_words("dupontel") == ["dupontel"]


def test_fold_lowers_and_strips_accents() -> None:
    assert fold("L'Oréal Straße ÇA") == "l'oreal strasse ca"
    # every combining mark of the Basic Multilingual Plane goes, and nothing else
    plane = "".join(chr(code) for code in range(0x10000) if not 0xD800 <= code < 0xE000)
    decomposed = unicodedata.normalize("NFKD", plane.casefold())
    assert fold(plane) == "".join(c for c in decomposed if not unicodedata.combining(c))


def test_a_bad_brand_table_is_refused_with_its_reason() -> None:
    with pytest.raises(ValidationError, match="handle 'two words' is not @name"):
        BrandTerms(handles=("two words",))
    with pytest.raises(ValidationError, match="term '!!!' has no letters or digits"):
        BrandTerms(aliases=("!!!",))
    with pytest.raises(ValidationError, match="term 'C\\+\\+' would match the bare letters 'c'"):
        BrandTerms(keywords=("C++",))  # it would match the "c" of every "c'est"
    with pytest.raises(ValidationError, match="the bare letters 'a b'"):
        BrandTerms(exclude=("A+B",))
    assert BrandTerms(aliases=("AT&T", "X Corp", "L'Oréal")).aliases[0] == "AT&T"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        brand_matcher({"brands": {"Acme": {"alias": ["ACME"]}}})
    assert brand_matcher({}) is None


def test_replay_of_the_sample_without_brands_matches_them_back(tmp_path: Path) -> None:
    """Mentions of the sample that name their brand or its account lose their brand; the
    configured names and handles bring every one back to its brand and to no other, so the
    alerts are those of the original."""
    handles = {
        "Skyvale": "@flyskyvale",
        "Kivo": "@kivophones",
        "Café Colette": "@cafecolette",
        "Boulangerie Ferrand": "@boulangerieferrand",
    }
    stripped, removed = tmp_path / "stripped.jsonl", 0
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines, stripped.open("w") as out:
        for line in lines:
            record = json.loads(line)
            text, brand = fold(record["text"]), record["brand"]
            if fold(brand) in text or handles[brand] in text:
                del record["brand"]
                removed += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    assert removed > 13_000
    config = tmp_path / "brands.toml"
    config.write_text(
        "".join(f'[brands."{b}"]\nhandles = ["{h}"]\n' for b, h in handles.items()),
        encoding="utf-8",
    )
    original, matched = tmp_path / "original.jsonl", tmp_path / "matched.jsonl"
    buzzwatch("replay", str(SAMPLE), "--alerts-out", str(original), "--no-progress")
    summary = buzzwatch(
        "replay", str(stripped), "--config", str(config), "--alerts-out", str(matched)
    ).stdout
    assert f"({removed} without a brand matched to configured brands)" in summary
    assert "15577 accepted, 0 invalid, 0 without brand" in summary
    assert matched.read_text() == original.read_text() != ""

    unmatched = buzzwatch("replay", str(stripped), "--no-progress").stdout
    assert f"{15577 - removed} accepted, 0 invalid, {removed} without brand" in unmatched


def test_replay_reports_the_unmatched_and_counts_a_mention_for_each_brand(
    tmp_path: Path,
) -> None:
    source = tmp_path / "m.jsonl"
    rows = [
        {"id": "1", "created_at": "2026-03-02T10:00:00Z", "text": "Acme et Globex, même combat"},
        {"id": "2", "created_at": "2026-03-02T10:01:00Z", "text": "rien à voir"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text("[brands.Acme]\n[brands.Globex]\n", encoding="utf-8")
    result = buzzwatch("replay", str(source), "--config", str(config))
    assert "2 records (1 without a brand matched to configured brands): 2 accepted" in (
        result.stdout
    )
    assert "1 without brand" in result.stdout
    assert "line 2: no brand, and its text names none of the configured brands" in result.stderr


def test_replay_refuses_a_bad_brand_table(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[brands.Acme]\nhandles = ["not a handle"]\n', encoding="utf-8")
    command = [sys.executable, "-m", "buzzwatch", "replay", str(SAMPLE), "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "handle 'not a handle' is not @name or @name@instance" in result.stderr


def test_the_example_configuration_s_brand_table_works() -> None:
    text = (Path(__file__).parents[1] / "config" / "buzzwatch.example.toml").read_text()
    block = text[text.index('# [brands."') :].split("\n\n")[0]
    config = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    matcher = brand_matcher(config)
    assert matcher is not None
    assert [m.brand for m in matcher.matches("Le flan ferrand, une merveille")] == [
        "Boulangerie Ferrand"
    ]
    assert matcher.matches("Ferrand Automobiles : révision ratée") == []
