"""Detection settings, with defaults that need no configuration file.

Times are given in seconds, minutes or hours rather than in buckets, so that changing the
bucket length does not silently change how far back a baseline looks.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.sequential import alarm_level


class RuleSettings(BaseModel):
    """Thresholds of one rule, as tail probabilities of the observed count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(1e-5, gt=0, lt=1, description="Fire when the tail is at most this.")
    critical_alpha: float = Field(1e-9, gt=0, lt=1, description="Critical at most this.")
    resolve_alpha: float = Field(0.01, gt=0, lt=1, description="A bucket above this is calm.")
    min_count: int = Field(5, ge=1, description="Never fire on a window with fewer mentions.")
    effect: float = Field(
        8.0, gt=0, description="Fire when the log-ratio to the baseline is this many spreads."
    )
    critical_effect: float = Field(12.0, gt=0, description="Critical from this many spreads.")
    resolve_effect: float = Field(3.0, ge=0, description="A window below this is calm.")
    windows_minutes: tuple[int, ...] = Field(
        (5, 15, 60), min_length=1, description="Windows the counts are summed over."
    )
    record_days: int = Field(14, ge=1, description="Days of window counts `record_share` looks at.")
    record_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Fire only on a count of at least this share of the window's largest count "
        "of recent days (0: off).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.critical_alpha <= self.alpha < self.resolve_alpha:
            raise ValueError("need critical_alpha <= alpha < resolve_alpha")
        if not self.resolve_effect < self.effect < self.critical_effect:
            raise ValueError("need resolve_effect < effect < critical_effect")
        return self


class ExplainSettings(BaseModel):
    """What a firing alert's explanation shows, and when it suspects trolls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minutes: int = Field(60, ge=15, description="Minutes of mentions explained before firing.")
    top_mentions: int = Field(5, ge=1, le=50, description="Negative mentions shown, by reach.")
    top_terms: int = Field(8, ge=0, le=50, description="Emerging terms shown at most.")
    min_term_mentions: int = Field(3, ge=1, description="An emerging term is in this many.")
    term_z: float = Field(3.0, gt=0, description="...and its rise is this many z or more.")
    troll_accounts: int = Field(3, ge=1, description="The few accounts a troll flag looks at.")
    troll_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Troll suspected when those of them with several negatives wrote this share…",
    )
    troll_min_negatives: int = Field(6, ge=1, description="…of at least this many negatives.")


class SequentialSettings(BaseModel):
    """Page's CUSUM on the negatives: evidence that accumulates over a ramp."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    false_alarm_weeks: float = Field(
        1.0, gt=0, description="Weeks between false alarms the rule may have at most (sets h)."
    )
    negative_changes: tuple[float, ...] = Field(
        (2.0, 4.0, 8.0, 16.0),
        description="Changes weighed for: negatives × ρ, the rest as usual (empty: off).",
    )

    @field_validator("negative_changes")
    @classmethod
    def _rises(cls, changes: tuple[float, ...]) -> tuple[float, ...]:
        if any(not change > 1 for change in changes):
            raise ValueError("negative_changes must each be above 1")
        return tuple(sorted(set(changes)))


class DetectionSettings(BaseModel):
    """Windows, baselines and rules of the engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_seconds: int = Field(300, ge=10, description="Tumbling bucket length.")
    early_seconds: int = Field(
        60, ge=1, description="Open buckets are checked for clear spikes this often."
    )
    allowed_lateness_seconds: int = Field(60, ge=0, description="Out-of-orderness tolerated.")
    max_ahead_hours: float = Field(
        24.0, gt=0, description="Mentions dated further after the closed event time are dropped."
    )
    max_brands: int = Field(
        10_000, ge=1, description="Brands tracked at most; mentions of further brands are dropped."
    )
    warmup_hours: float = Field(12.0, ge=0, description="Data seen before a rule may fire.")
    level_half_life_hours: float = Field(1.0, gt=0, description="Memory of the volume level.")
    profile_half_life_days: float = Field(7.0, gt=0, description="Memory of the daily cycle.")
    weekly_half_life_weeks: float = Field(3.0, gt=0, description="Memory of the weekly cycle.")
    dispersion_half_life_hours: float = Field(
        14 * 24.0, gt=0, description="Memory of the noise (dispersion and spread)."
    )
    share_half_life_hours: float = Field(48.0, gt=0, description="Memory of the negative share.")
    profile_prior: float = Field(
        0.2, gt=0, description="Mentions of evidence a profile factor starts from."
    )
    pseudo_count: float = Field(
        5.0, gt=0, description="Mentions added to both sides of a 5-minute ratio."
    )
    memory_mentions: float = Field(
        50.0, gt=0, description="Baselines remember at least this many mentions…"
    )
    max_memory_days: float = Field(14.0, gt=0, description="…within at most this many days.")
    learn_clip: float = Field(3.0, gt=0, description="Baselines learn at most this many sd away.")
    resolve_after_minutes: int = Field(30, ge=1, description="Calm time that resolves an alert.")
    negative_threshold: float = Field(-0.05, ge=-1, le=1, description="Compound <= is negative.")
    quiet_level: float = Field(
        1.0,
        ge=0,
        description="A brand expecting at most this many mentions in a bucket dozes through its "
        "buckets without mentions and learns each such stretch in one step (0: every bucket is "
        "closed one by one, as in earlier releases).",
    )
    window_noise: Literal["blocks", "sliding"] = Field(
        "blocks",
        description="Each window's dispersion and spread learn from its tumbling blocks, or from "
        "the window ending at every bucket (earlier releases).",
    )
    volume_level: Literal["exposure", "mean"] = Field(
        "exposure",
        description="The volume level: the mentions over their seasonal exposure, or the mean "
        "of each count over its seasonal factor (earlier releases).",
    )
    french_scorer: Literal["model", "lexicon"] = Field(
        "model",
        description="French scorer: the model, or its lexicon alone (earlier releases' scorer).",
    )
    thread_correlation: float = Field(
        0.02, ge=0, lt=1, description="Correlation of mentions in a share test (threads)."
    )
    negative_prior_share: float = Field(0.15, gt=0, lt=1, description="Prior negative share.")
    negative_prior_weight: float = Field(20.0, ge=0, description="Prior weight, in mentions.")
    share_alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="Negatives judged against the usual volume need the share up at this level.",
    )
    incident_pace: float = Field(
        0.1, ge=0, le=1, description="Pace of learning (1: full) while an alert is active."
    )
    volume: RuleSettings = RuleSettings(min_count=6, record_share=0.6)
    negative: RuleSettings = RuleSettings(
        min_count=4, effect=6.0, critical_effect=10.0, windows_minutes=(5, 15, 60, 360)
    )
    sequential: SequentialSettings = SequentialSettings()
    explain: ExplainSettings = ExplainSettings()
    brands: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-brand overrides of any key above."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.bucket_seconds % self.early_seconds:
            raise ValueError("bucket_seconds must be a multiple of early_seconds")
        if self.sequential.negative_changes and sequential_level(self) <= 0:
            raise ValueError("sequential.false_alarm_weeks must span more than one bucket")
        for rule in (self.volume, self.negative):
            for minutes in rule.windows_minutes:
                if minutes * 60 % self.bucket_seconds:
                    raise ValueError(f"window of {minutes} min is not a whole number of buckets")
        for brand, overrides in self.brands.items():
            shared = {
                "brands",
                "bucket_seconds",
                "early_seconds",
                "allowed_lateness_seconds",
                "max_ahead_hours",
                "max_brands",
            }
            if shared & overrides.keys():
                raise ValueError(f"brand {brand!r}: cannot override {sorted(shared)}")
            self._merged(overrides)
        return self

    def for_brand(self, brand: str) -> DetectionSettings:
        """These settings with the brand's overrides applied."""
        return self._merged(self.brands.get(brand) or {})

    def buckets(self, seconds: float) -> int:
        """A duration in whole buckets (at least one)."""
        return max(1, round(seconds / self.bucket_seconds))

    def rate(self, half_life_seconds: float) -> float:
        """Per-bucket EWMA weight of the newest value for this half-life."""
        return float(1.0 - 0.5 ** (self.bucket_seconds / half_life_seconds))

    def _merged(self, overrides: dict[str, Any]) -> DetectionSettings:
        if not overrides:
            return self
        base = self.model_dump(exclude={"brands"})
        nested = ("volume", "negative", "sequential", "explain")
        for key in nested:
            if key in overrides:
                base[key] = {**base[key], **overrides[key]}
        rest = {k: v for k, v in overrides.items() if k not in nested}
        return DetectionSettings.model_validate({**base, **rest})


def sequential_level(settings: DetectionSettings) -> float:
    """The CUSUMs' alarm level h: Lorden's bound for `false_alarm_weeks`, plus the log of the
    number of changes weighed for (each is one more look at the data)."""
    sequential = settings.sequential
    changes = max(1, len(sequential.negative_changes))
    return alarm_level(sequential.false_alarm_weeks, settings.bucket_seconds) + math.log(changes)


def upgraded(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as an older snapshot stored them, in today's shape.

    `burst_rank` (a bar at the n-th largest daily peak) is gone: it did not improve NAB's
    out-of-sample score; its `burst_days` is `record_days` now.
    """

    def rule(table: dict[str, Any]) -> dict[str, Any]:
        table = {k: v for k, v in table.items() if k != "burst_rank"}
        if "burst_days" in table:
            table["record_days"] = table.pop("burst_days")
        return table

    def detection(table: dict[str, Any]) -> dict[str, Any]:
        return {
            key: rule(value) if key in ("volume", "negative") else value
            for key, value in table.items()
        }

    result = detection(settings)
    if "brands" in result:
        result["brands"] = {name: detection(o) for name, o in result["brands"].items()}
    return result


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read a TOML configuration file; no path means an empty configuration."""
    if path is None:
        return {}
    with Path(path).open("rb") as handle:
        return tomllib.load(handle)


def detection_settings(config: dict[str, Any]) -> DetectionSettings:
    """The `[detection]` table of a configuration, validated, over the defaults.

    A nested table (`[detection.volume]`) overrides only the keys it names: the rule's other
    keys keep the detector's defaults, not the generic ones of a rule.
    """
    return DetectionSettings()._merged(config.get("detection", {}))
