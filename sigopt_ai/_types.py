"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Union

ParamValue = Union[int, float, str, bool, None]
"""A value a run parameter may take."""

MetricValue = Union[int, float]
"""A metric value; NaN and infinities are accepted and mark the run diverged."""

MetadataValue = Union[int, float, str, bool, None]
"""A metadata value, stored as given."""

JSONValue = Union[None, bool, int, float, str, list["JSONValue"], dict[str, "JSONValue"]]
"""Anything that serialises to JSON."""
