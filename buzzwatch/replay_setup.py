"""What a replay takes from a configuration, and the engine it runs: one definition for
`buzzwatch replay`, its workers and the notebook API, so that all three give the same
alerts and series."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.brands import BrandMatcher, brand_matcher
from pipeline.engine import BucketListener, Engine
from pipeline.settings import DetectionSettings, detection_settings
from pipeline.statements import HoldingStatements


@dataclass(frozen=True)
class ReplaySetup:
    """Detection settings, the configured brands' matcher (if any), holding statements."""

    settings: DetectionSettings
    matcher: BrandMatcher | None
    statements: HoldingStatements

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReplaySetup:
        """OSError or ValueError (pydantic's ValidationError included) if it is wrong."""
        return cls(
            detection_settings(dict(config)),
            brand_matcher(config),
            HoldingStatements.from_config(config),
        )

    def engine(
        self, on_bucket: BucketListener | None = None, owns: Callable[[str], bool] | None = None
    ) -> Engine:
        """A new engine with these settings; the brands' own handles are not counted."""
        handles = self.matcher.handles if self.matcher else None
        return Engine(
            self.settings,
            on_bucket=on_bucket,
            statements=self.statements,
            handles=handles,
            owns=owns,
        )
