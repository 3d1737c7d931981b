"""Webhooks of `buzzwatch ingest`: the `[webhooks.NAME]` tables refused, signatures and the
position of delivered ids; then `POST /v1/hooks/NAME` over real HTTP against the real broker:
a recorded review-site payload sent by a fake sender (urllib, HMAC-signed), refusals, the
records on the topic keyed by brand, and a retried delivery after a restart written once."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Mention
from producers.hooks import Hook
from producers.settings import HookSettings, hook_settings
from tests.helpers import EXAMPLE_STATE, example_webhook, read_topic
from tests.ingest_service import call, metric, new_topic, running_ingest
from tests.servers import free_port, stop

RECORDED = (Path(__file__).parent / "fixtures" / "webhooks" / "reviews.json").read_bytes()
SECRET = "a-long-random-secret"  # the example configuration's
TOKEN = "t0ken-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
BLANK_REVIEW = {"index": 2, "reason": "text (review.title, review.body): missing"}
CONFIG = f"""
[ingest]
tokens = ["{TOKEN}"]
max_batch = 5
send_timeout_seconds = 3.0

[brands."Boulangerie Ferrand"]
aliases = ["Ferrand"]

{example_webhook()}
[webhooks.forms]
[webhooks.forms.fields]
id = "submission.id"
created_at = "submission.submittedAt"
text = "submission.message"
"""

TABLE: dict[str, Any] = {  # the example's table, its position in memory
    key: value
    for key, value in tomllib.loads(example_webhook())["webhooks"]["reviews"].items()
    if key != "state"
}


def configured(state: Path) -> str:
    """The configuration, the reviews hook's position in `state`."""
    return CONFIG.replace(EXAMPLE_STATE, str(state))


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The header a review site signs its deliveries with."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature-256": f"sha256={digest}"}


def deliver(
    where: str, hook: str, body: bytes, headers: dict[str, str], kind: str = "application/json"
) -> tuple[int, Any]:
    """What a webhook sender does: POST the payload; (status, decoded JSON answer)."""
    request = urllib.request.Request(
        f"http://{where}/v1/hooks/{hook}",
        data=body,
        headers={"Content-Type": kind, "User-Agent": "reviewsite-webhooks/2.1", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def mentions(hook: Hook) -> list[Mention]:
    """The recorded payload's reviews that the hook maps to mentions."""
    mapped = [hook.mapper.mention(r) for r in json.loads(RECORDED)["data"]["reviews"]]
    return [mention for mention in mapped if isinstance(mention, Mention)]


def settings_error(changes: dict[str, Any], name: str = "reviews") -> str:
    """The error of the example's `[webhooks.reviews]` table with `changes`."""
    table = TABLE | changes
    with pytest.raises(ValueError) as refused:
        hook_settings({"webhooks": {name: table}})
    return str(refused.value)


def test_the_example_configuration_s_webhook_validates(tmp_path: Path) -> None:
    (name, settings), *others = hook_settings(tomllib.loads(example_webhook())).items()
    assert (name, others, settings.state) == ("reviews", [], Path(EXAMPLE_STATE))
    assert settings.fields["text"] == ("review.title", "review.body")
    hook = Hook(name, settings.model_copy(update={"state": tmp_path / "p.json"}))
    first, title_only, reply = mentions(hook)
    assert (first.id, first.brand, first.source) == (
        "reviews:rv-88121",
        "Boulangerie Ferrand",
        "reviewsite",
    )
    assert first.author is not None and first.author.followers == 12
    assert (title_only.text, reply.in_reply_to) == (
        "Best flat white in the neighbourhood",
        "reviews:rv-88121",
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"fields": {"id": "review.id", "created_at": "t"}}, "missing: ['text']"),
        (
            {"fields": {"id": "i", "created_at": "t", "text": "x", "stars": "s"}},
            "fields.stars.[key]",
        ),
        ({"fields": {"id": "i", "created_at": "t", "text": "x", "lang": ["a", "b"]}}, "lang: one"),
        ({"fields": {"id": "i", "created_at": "t", "text": []}}, "text: one path"),
        ({"fields": {"id": "i", "created_at": "t", "text": "a..b"}}, "path 'a..b'"),
        ({"fields": {"id": "i", "created_at": "t", "text": "x", "author.name": "n"}}, "author.id"),
        ({"records": "data["}, "path 'data['"),
        ({"secret": ""}, "at least 1"),
        ({"secrett": "x"}, "Extra inputs are not permitted"),
        (
            {"brand": "Acme", "fields": {"id": "i", "created_at": "t", "text": "x", "brand": "b"}},
            "not both",
        ),
    ],
)
def test_a_bad_table_is_refused_with_its_reason(changes: dict[str, Any], error: str) -> None:
    assert error in settings_error(changes)


def test_a_hook_name_and_state_files_are_checked(tmp_path: Path) -> None:
    assert "String should match pattern" in settings_error({}, name="re views")
    unsigned = {k: v for k, v in TABLE.items() if k not in ("secret", "signature_header")}
    with pytest.raises(ValueError, match="signature_header goes with a secret"):
        HookSettings.model_validate({**unsigned, "signature_header": "X-Sig"})
    shared = {"state": str(tmp_path / "p.json")}
    with pytest.raises(ValueError, match="each webhook needs a state file of its own"):
        hook_settings({"webhooks": {"a": TABLE | shared, "b": unsigned | shared}})
    assert "a-long-random-secret" not in settings_error({"secrett": "a-long-random-secret"})


def test_the_signature_is_the_hmac_of_the_raw_body() -> None:
    hook = Hook("reviews", HookSettings.model_validate(TABLE))
    body = b'{"data": {"reviews": []}}'
    digest = hmac.new(b"a-long-random-secret", body, hashlib.sha256).hexdigest()
    assert hook.signed
    for header in (digest, f"sha256={digest}", digest.upper(), f" sha256={digest} "):
        assert hook.signature_matches(body, header), header
    for header in ("", "sha256=", digest[:-1], f"sha1={digest}", digest + "00"):
        assert not hook.signature_matches(body, header), header
    assert not hook.signature_matches(body + b" ", digest)


def test_delivered_ids_are_kept_in_the_state_file(tmp_path: Path) -> None:
    settings = HookSettings.model_validate(TABLE | {"state": str(tmp_path / "p.json")})
    hook = Hook("reviews", settings)
    assert json.loads((tmp_path / "p.json").read_text())["ids"] == []  # written at the start
    first, second, *_ = mentions(hook)
    fresh, duplicates = hook.fresh([(0, first), (1, first), (2, second)])
    assert (fresh, duplicates) == ([(0, first), (2, second)], 1)
    hook.record([first.id])
    restarted = Hook("reviews", settings)
    assert restarted.fresh([(0, first), (1, second)]) == ([(1, second)], 1)
    unsaved = Hook("reviews", HookSettings.model_validate(TABLE))
    unsaved.record([first.id])  # in memory only
    assert unsaved.fresh([(0, first)]) == ([], 1)


def reviews_answer(accepted: int, duplicates: int) -> dict[str, Any]:
    """The 202 answer to the recorded delivery: its blank review is listed as invalid."""
    return {
        "accepted": accepted,
        "records": accepted,
        "matched": 0,
        "unbranded": [],
        "duplicates": duplicates,
        "invalid": [BLANK_REVIEW],
    }


def reviews_metric(where: str, name: str, label: str) -> float:
    """`buzzwatch_ingest_{name}_total` of the reviews hook with one more label."""
    return metric(where, f'buzzwatch_ingest_{name}_total{{{label},path="/v1/hooks/reviews"}}')


def test_a_signed_delivery_reaches_the_topic_once_across_a_restart(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    topic = new_topic(kafka_bootstrap)
    state = tmp_path / "reviews.position.json"
    with running_ingest(configured(state), tmp_path, kafka_bootstrap, topic) as (where, process):
        assert deliver(where, "reviews", RECORDED, signed(RECORDED, "wrong-secret"))[0] == 401
        assert deliver(where, "reviews", RECORDED + b" ", signed(RECORDED))[0] == 401
        assert deliver(where, "reviews", RECORDED, BEARER) == (
            401,
            {"error": "a signature is required (X-Signature-256)"},
        )
        status, body = deliver(where, "elsewhere", RECORDED, signed(RECORDED))
        assert status == 404 and "/v1/hooks/elsewhere" in body["error"]

        status, body = deliver(where, "reviews", RECORDED, signed(RECORDED))
        assert (status, body) == (202, reviews_answer(accepted=3, duplicates=0))
        assert reviews_metric(where, "mentions", 'outcome="accepted"') == 3
        assert reviews_metric(where, "mentions", 'outcome="invalid"') == 1
        assert reviews_metric(where, "requests", 'code="401"') == 3
        assert metric(where, 'buzzwatch_ingest_requests_total{code="404",path="other"}') == 1
        assert stop(process) == 0
    delivered = ["reviews:rv-88121", "reviews:rv-88122", "reviews:rv-88124"]
    assert json.loads(state.read_text(encoding="utf-8"))["ids"] == delivered

    with running_ingest(configured(state), tmp_path, kafka_bootstrap, topic) as (where, process):
        status, body = deliver(where, "reviews", RECORDED, signed(RECORDED))  # a retry
        assert (status, body) == (202, reviews_answer(accepted=0, duplicates=3))
        assert reviews_metric(where, "mentions", 'outcome="duplicate"') == 3
        assert stop(process) == 0

    records = read_topic(kafka_bootstrap, topic, want=3, patience=2.0)
    decoded = [(r.key, Mention.model_validate_json(r.value)) for r in records]
    mentions = sorted(decoded, key=lambda pair: (pair[0], pair[1].id))
    assert [(key, m.id) for key, m in mentions] == [
        (b"Boulangerie Ferrand", "reviews:rv-88121"),
        (b"Boulangerie Ferrand", "reviews:rv-88124"),
        ("Café Colette".encode(), "reviews:rv-88122"),
    ]
    reply = mentions[1][1]
    assert (reply.source, reply.in_reply_to, reply.lang) == ("reviewsite", "reviews:rv-88121", "fr")
    assert reply.text == (
        "Je confirme — Même chose samedi : croissants brûlés, personne ne s'excuse."
    )


def test_a_hook_without_a_secret_takes_the_bearer_token_and_matches_brands(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    topic = new_topic(kafka_bootstrap)
    form = {"submission": {"id": 5501, "submittedAt": 1772699400123, "message": "Ferrand ?"}}
    raw = json.dumps(form).encode()
    config = configured(tmp_path / "reviews.json")
    with running_ingest(config, tmp_path, kafka_bootstrap, topic) as (where, _):
        assert deliver(where, "forms", raw, {})[0] == 401
        assert deliver(where, "forms", raw, signed(raw))[0] == 401
        status, body = deliver(where, "forms", raw, BEARER)
        assert status == 202 and (body["accepted"], body["matched"]) == (1, 1)
        status, body = deliver(where, "forms", json.dumps([form]).encode(), BEARER)
        assert status == 202 and (body["accepted"], body["duplicates"]) == (0, 1)

        nothing = json.dumps([{"submission": {"id": 1}}, "spam"]).encode()
        assert deliver(where, "forms", nothing, BEARER) == (
            422,
            {
                "error": "no record maps to a mention",
                "invalid": [
                    {
                        "index": 0,
                        "reason": "created_at (submission.submittedAt): missing; "
                        "text (submission.message): missing",
                    },
                    {"index": 1, "reason": "expected a JSON object, got string"},
                ],
            },
        )
        ahead_ms = int((time.time() + 3 * 3600) * 1000)  # Kafka would refuse its timestamp
        future = {"submission": {"id": 5502, "submittedAt": ahead_ms, "message": "Ferrand !"}}
        status, body = deliver(where, "forms", json.dumps([future, form]).encode(), BEARER)
        assert status == 202 and (body["accepted"], body["duplicates"]) == (0, 1)
        assert "more than an hour ahead" in body["invalid"][0]["reason"]
        ping = b'{"event": "ping"}'
        assert deliver(where, "reviews", ping, signed(ping)) == (
            422,
            {"error": "records: nothing at data.reviews", "invalid": []},
        )
        status, body = deliver(where, "reviews", b"{oops", signed(b"{oops"))
        assert status == 422 and body["error"].startswith("bad JSON: ")
        assert deliver(where, "forms", b"[]", BEARER)[1]["accepted"] == 0
        six = json.dumps([form] * 6).encode()
        assert deliver(where, "forms", six, BEARER) == (
            413,
            {"error": "6 mentions in one request, at most 5"},
        )
        assert deliver(where, "forms", raw, BEARER, kind="text/plain")[0] == 415
        assert call(where, "GET", "/v1/hooks/forms")[0] == 405
    records = read_topic(kafka_bootstrap, topic, want=1, patience=2.0)
    assert [(r.key, Mention.model_validate_json(r.value).id) for r in records] == [
        (b"Boulangerie Ferrand", "forms:5501")
    ]


def test_without_kafka_a_delivery_gets_503_and_records_nothing(tmp_path: Path) -> None:
    state = tmp_path / "reviews.position.json"
    nowhere = f"127.0.0.1:{free_port()}"
    with running_ingest(
        configured(state), tmp_path, nowhere, "mentions", ready="/openapi.json"
    ) as (where, process):
        status, body = deliver(where, "reviews", RECORDED, signed(RECORDED))
        assert status == 503 and "Kafka" in body["error"]
        assert stop(process) == 0
    assert json.loads(state.read_text(encoding="utf-8"))["ids"] == []


def test_ingest_will_not_start_with_a_bad_webhook_table(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    command = [sys.executable, "-m", "buzzwatch", "ingest", "--config", str(config)]
    command += ["--port", str(free_port())]
    fields = '[webhooks.reviews.fields]\nid = "r.id"\ncreated_at = "r.at"\ntext = "r.text"\n'
    for table, error in [
        ('[webhooks.reviews.fields]\nid = "review.id"\n', "missing: ['created_at', 'text']"),
        (f'[webhooks.reviews]\nstate = "{tmp_path}/none/p.json"\n{fields}', "No such file"),
    ]:
        config.write_text(f'[ingest]\ntokens = ["{TOKEN}"]\n{table}', encoding="utf-8")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2 and error in result.stderr, result.stderr
