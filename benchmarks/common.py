"""What the benchmarks share: their input files, a cache folder, and best-of timing."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from pipeline import synthetic
from pipeline.engine import BrandState

CACHE = Path.home() / ".cache" / "buzzwatch" / "benchmarks"
MENTIONS = 100_000
VADER_SDIST = "vaderSentiment==3.3.2"
TWEETS_MEMBER = "additional_resources/hutto_ICWSM_2014.tar.gz"


def mention_file() -> Path:
    """100,000 English mentions of 10 brands over 2 days, from the project's generator.

    Brand volumes spread over 1:1000 (the busiest has about half the mentions); English only,
    so that the naive loop (English VADER on every line) does the same scoring work.
    """

    def write(sink: IO[str]) -> None:
        scenario = synthetic.load_scenario(MENTIONS, brands=10, days=2, seed=1)
        english = tuple(dataclasses.replace(b, french_share=0.0) for b in scenario.brands)
        synthetic.write_jsonl(
            synthetic.generate(dataclasses.replace(scenario, brands=english)), sink
        )

    return cached_file(f"mentions-en-{MENTIONS}.jsonl", write)


def french_heavy_file() -> Path:
    """The generator's 50-brand, 7-day file of the first releases (about 100,000 mentions,
    53 % French): `buzzwatch generate --mentions 100000 --brands 50 --days 7 --seed 1`."""

    def write(sink: IO[str]) -> None:
        scenario = synthetic.load_scenario(MENTIONS, brands=50, days=7, seed=1)
        synthetic.write_jsonl(synthetic.generate(scenario), sink)

    return cached_file(f"mentions-fr-{MENTIONS}.jsonl", write)


def cached_file(name: str, write: Callable[[IO[str]], object]) -> Path:
    """The cache's file `name`, written by `write(sink)` the first time: to a `.partial` file
    first, so an interrupted run leaves no truncated input behind."""
    path = CACHE / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as sink:
            write(sink)
        partial.rename(path)
    return path


def vader_tweets() -> list[str] | None:
    """The 4,200 tweets of VADER's paper (Hutto & Gilbert 2014, MIT), from the vaderSentiment
    source package on PyPI; None when PyPI cannot be reached."""
    path = CACHE / "vader-tweets.txt"
    if not path.exists():
        download = CACHE / "sdist"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--no-binary", ":all:", "--dest", str(download), VADER_SDIST]
        if subprocess.run(command, capture_output=True).returncode != 0:
            return None
        (sdist,) = download.glob("vaderSentiment-3.3.2.tar.gz")
        with tarfile.open(sdist) as outer:
            inner = outer.extractfile(f"vaderSentiment-3.3.2/{TWEETS_MEMBER}")
            assert inner is not None
            with tarfile.open(fileobj=io.BytesIO(inner.read())) as resources:
                member = resources.extractfile("hutto_ICWSM_2014/tweets_GroundTruth.txt")
                assert member is not None
                lines = member.read().decode("utf-8").splitlines()
        path.write_text("\n".join(line.split("\t")[2] for line in lines) + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8").splitlines()


@contextlib.contextmanager
def engine_calls() -> Iterator[dict[str, list[float]]]:
    """The duration of each bucket close, early check and quiet stretch learnt in one step
    (`_wake`) of any engine while inside, and under "stretch_buckets" each stretch's buckets."""
    names = ("close", "check_early", "_wake")
    durations: dict[str, list[float]] = {name: [] for name in (*names, "stretch_buckets")}
    originals = {name: getattr(BrandState, name) for name in names}

    def timed(name: str) -> Callable[..., Any]:
        original, kept = originals[name], durations[name]

        def call(self: BrandState, *args: Any) -> Any:
            if name == "_wake":
                assert self.dozing is not None
                buckets = (args[0] - self.dozing) / self.settings.bucket_seconds
                durations["stretch_buckets"].append(buckets)
            started = time.perf_counter()
            result = original(self, *args)
            kept.append(time.perf_counter() - started)
            return result

        return call

    for name in names:
        setattr(BrandState, name, timed(name))
    try:
        yield durations
    finally:
        for name, original in originals.items():
            setattr(BrandState, name, original)


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The shortest of `runs` timings of `action`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)
