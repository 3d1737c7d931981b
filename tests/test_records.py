import gzip
import io
from pathlib import Path

from pipeline.models import Invalid, Mention
from pipeline.records import (
    MAX_KEPT_REJECTIONS,
    Rejections,
    decode_record,
    input_format,
    open_input,
    read_csv,
    read_jsonl,
)

GOOD = b'{"id":"1","created_at":"2026-03-02T10:00:00Z","text":"great","brand":"acme"}'


def test_jsonl_reports_each_bad_line_with_its_number() -> None:
    data = b"\n".join(
        [
            GOOD,
            b"",
            b"{not json",
            b'{"id":"2","created_at":"2026-03-02T10:00:00Z","brand":"acme"}',
            b'{"id":"3","created_at":"31/02/2026","text":"x","brand":"acme"}',
            b'{"id":"4","created_at":"2026-03-02T10:00:00Z","text":"\xff\xfe","brand":"acme"}',
            GOOD,
        ]
    )
    results = list(read_jsonl(io.BytesIO(data)))
    assert [n for n, _ in results] == [1, 3, 4, 5, 6, 7]
    reasons = {n: r.reason for n, r in results if isinstance(r, Invalid)}
    assert reasons[3].startswith("bad JSON")
    assert reasons[4] == "text: missing"
    assert reasons[5].startswith("created_at:")
    assert reasons[6].startswith("invalid UTF-8")
    assert isinstance(results[0][1], Mention) and isinstance(results[-1][1], Mention)


def test_jsonl_lines_span_read_chunks() -> None:
    lines = [GOOD.replace(b'"1"', f'"{i}"'.encode()) for i in range(5000)]
    results = list(read_jsonl(io.BytesIO(b"\n".join(lines) + b"\n")))
    assert len(results) == 5000
    assert all(isinstance(r, Mention) for _, r in results)


def test_deeply_nested_json_is_invalid_not_a_crash() -> None:
    result = decode_record(b"[" * 100_000 + b"]" * 100_000)
    assert isinstance(result, Invalid)


def test_csv_rows_with_author_columns() -> None:
    data = (
        b"id,created_at,text,brand,lang,author_id,author_followers\n"
        b'1,2026-03-02T10:00:00Z,"Super, merci",Boulangerie,fr,u1,12\n'
        b"2,,empty time,Boulangerie,fr,,\n"
    )
    results = list(read_csv(io.BytesIO(data)))
    first = results[0][1]
    assert isinstance(first, Mention)
    assert first.text == "Super, merci" and first.author is not None
    assert first.author.followers == 12
    assert results[1][0] == 3
    assert isinstance(results[1][1], Invalid) and "created_at" in results[1][1].reason


def test_gzip_and_format_detection(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress(GOOD + b"\n"))
    assert input_format(path) == "jsonl"
    assert input_format(tmp_path / "m.csv.gz") == "csv"
    with open_input(path) as stream:
        assert [n for n, _ in read_jsonl(stream)] == [1]


def test_rejections_count_all_but_keep_only_the_first_reasons() -> None:
    rejected = Rejections()
    for line in range(1, MAX_KEPT_REJECTIONS + 6):
        rejected.add(line, f"bad {line}")
    assert rejected.count == MAX_KEPT_REJECTIONS + 5
    assert len(rejected.first) == MAX_KEPT_REJECTIONS
    assert rejected.first[0] == (1, "bad 1") and rejected.first[-1][0] == MAX_KEPT_REJECTIONS
