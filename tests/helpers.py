"""Small builders shared by the tests."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from pipeline.models import Mention

T0 = datetime(2026, 3, 2, tzinfo=UTC)
CALM_TEXTS = ["I like the new menu", "Open on Sunday?", "Had lunch there today", "ok thanks"]
ANGRY_TEXT = "This is awful, the worst service ever. Disgusting!"
HAPPY_TEXT = "Wow, I love this, the best thing ever! Great job!"


def mention(
    minute: float, text: str = "hello", brand: str | None = "acme", **extra: Any
) -> Mention:
    """A mention at `minute` minutes after T0."""
    moment = T0 + timedelta(minutes=minute)
    ident = extra.pop("id", f"{brand}-{minute}-{abs(hash(text)) % 10_000}")
    return Mention(id=ident, created_at=moment, text=text, brand=brand, **extra)


def stream(
    minutes: int,
    per_minute: float,
    brand: str = "acme",
    spike: tuple[int, int, str] | None = None,
    seed: int = 7,
) -> Iterator[Mention]:
    """A calm Poisson-like stream, with an optional (start, end, text) burst of 20 a minute."""
    rnd = random.Random(f"{seed}-{brand}")
    count = 0
    for minute in range(minutes):
        n = sum(rnd.random() < per_minute / 4 for _ in range(4))
        texts = [rnd.choice(CALM_TEXTS) for _ in range(n)]
        if spike and spike[0] <= minute < spike[1]:
            texts += [spike[2]] * 20
        for text in texts:
            count += 1
            yield mention(minute + rnd.random() * 0.99, text, brand, id=f"{brand}-{count}")


def jsonl(mentions: list[Mention]) -> str:
    """Mentions as JSONL text."""
    return "".join(json.dumps(m.model_dump(mode="json")) + "\n" for m in mentions)


def buzzwatch(
    *args: str, timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `buzzwatch` command in this interpreter; fail with its stderr unless it exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "buzzwatch", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def produce(source: Path, topic: str, bootstrap: str) -> None:
    """`buzzwatch produce` a mention file onto a topic."""
    buzzwatch(
        "produce", str(source), "--topic", topic, "--bootstrap-servers", bootstrap, "--no-progress"
    )


def read_topic(
    bootstrap: str, topic: str, want: int, patience: float, deadline: float = 120.0
) -> list[Any]:
    """Committed records of a topic from the start, until `want` have come and `patience`
    seconds passed with nothing more (or `deadline` seconds in all)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed",
    )
    records: list[Any] = []
    end = time.monotonic() + deadline
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < end:
            batch = consumer.poll(timeout_ms=500)
            for rows in batch.values():
                records.extend(rows)
            if batch:
                quiet_since = time.monotonic()
            elif len(records) >= want and time.monotonic() - quiet_since > patience:
                break
    finally:
        consumer.close()
    return records


EXAMPLE_STATE = "/var/lib/buzzwatch/reviews.position.json"  # that of the example's webhook


def example_webhook() -> str:
    """The `[webhooks.reviews]` example of config/buzzwatch.example.toml, uncommented."""
    path = Path(__file__).resolve().parents[1] / "config" / "buzzwatch.example.toml"
    text = path.read_text(encoding="utf-8")
    block = text[text.index("# [webhooks.") :].split("\n\n")[0]
    return "\n".join(line.removeprefix("# ") for line in block.splitlines()) + "\n"
