"""`buzzwatch score`: texts or JSONL mentions on stdin, one JSON line of scores out per line."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.sentiment import french

FRENCH = "Vol annulé, aucune info, c'est une honte"
ENGLISH = "Worst customer service ever, never again!"


def score(stdin: bytes, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = subprocess.run(
        [sys.executable, "-m", "buzzwatch", "score", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    return result.returncode, lines, result.stderr.decode()


def scores(lang: str, text: str) -> dict[str, Any]:
    if lang == "en":
        vader = SentimentIntensityAnalyzer().polarity_scores(text)
        return {"lang": "en", **{key: vader[key] for key in ("compound", "pos", "neu", "neg")}}
    return {"lang": lang, **french().polarity(text)._asdict()}


def test_texts_are_scored_in_the_language_detected() -> None:
    code, out, _ = score(f"{FRENCH}\n{ENGLISH}\n".encode())
    assert code == 0
    assert out == [scores("fr", FRENCH), scores("en", ENGLISH)]


def test_a_mentions_own_lang_wins_and_lang_forces_every_line() -> None:
    mentions = [{"id": "m-1", "text": ENGLISH, "lang": "fr-CA"}, {"id": 7, "text": FRENCH}]
    stdin = "".join(json.dumps(m) + "\n" for m in mentions).encode()
    code, out, _ = score(stdin)
    assert code == 0
    assert out == [{"id": "m-1", **scores("fr", ENGLISH)}, {"id": 7, **scores("fr", FRENCH)}]
    code, out, _ = score(stdin, "--lang", "en")
    assert out == [{"id": "m-1", **scores("en", ENGLISH)}, {"id": 7, **scores("en", FRENCH)}]


def test_a_line_that_cannot_be_scored_is_reported_and_the_others_are_scored() -> None:
    lines = [b'{"id": "x", "txt": "typo"}', b"\xff\xfe broken", b"{not json, just a text"]
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    stdin = b"\n".join([*lines, deep, ENGLISH.encode()])
    code, out, stderr = score(stdin)
    assert code == 1
    assert out[0] == {"line": 1, "error": "a JSON object without a string `text`"}
    assert out[1]["line"] == 2 and out[1]["error"].startswith("not UTF-8")
    assert out[2] == scores("en", "{not json, just a text")
    assert out[3] == {"line": 4, "error": "a JSON object nested too deeply"}
    assert out[4] == scores("en", ENGLISH)
    assert "line 1: a JSON object without a string `text`" in stderr
