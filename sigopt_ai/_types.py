"""Type aliases shared across the package."""

from __future__ import annotations

from typing import TypeAlias

ParamValue: TypeAlias = "int | float | str | bool | None"
"""A value a run parameter may take."""

MetricValue: TypeAlias = "int | float"
"""A metric value; NaN and infinities are accepted and mark the run diverged."""

MetadataValue: TypeAlias = "int | float | str | bool | None"
"""A metadata value, stored as given."""
