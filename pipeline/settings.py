"""Detection settings, with defaults that need no configuration file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RuleSettings(BaseModel):
    """Thresholds of one rule, as tail probabilities of the observed count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(1e-4, gt=0, lt=1, description="Fire when the tail is at most this.")
    critical_alpha: float = Field(1e-8, gt=0, lt=1, description="Critical at most this.")
    resolve_alpha: float = Field(0.01, gt=0, lt=1, description="A bucket above this is calm.")
    min_count: int = Field(5, ge=1, description="Never fire below this many mentions.")


class DetectionSettings(BaseModel):
    """Windows, baselines and rules of the engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_seconds: int = Field(300, ge=10, description="Tumbling bucket length.")
    allowed_lateness_seconds: int = Field(60, ge=0, description="Out-of-orderness tolerated.")
    baseline_buckets: int = Field(48, ge=4, description="Rolling baseline length, in buckets.")
    warmup_buckets: int = Field(12, ge=1, description="Buckets seen before a rule may fire.")
    resolve_after_buckets: int = Field(3, ge=1, description="Calm buckets that resolve an alert.")
    negative_threshold: float = Field(-0.05, ge=-1, le=1, description="Compound <= is negative.")
    negative_prior_share: float = Field(0.15, gt=0, lt=1, description="Prior negative share.")
    negative_prior_weight: float = Field(20.0, ge=0, description="Prior weight, in mentions.")
    volume: RuleSettings = RuleSettings(min_count=5)
    negative: RuleSettings = RuleSettings(min_count=3)


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read a TOML configuration file; no path means an empty configuration."""
    if path is None:
        return {}
    with Path(path).open("rb") as handle:
        return tomllib.load(handle)


def detection_settings(config: dict[str, Any]) -> DetectionSettings:
    """The `[detection]` table of a configuration, validated."""
    return DetectionSettings.model_validate(config.get("detection", {}))
