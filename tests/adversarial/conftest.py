"""Hypothesis profiles for the adversarial suite: bounded in CI, ``pytest --long`` for a nightly-style run."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Every property test here touches a real SQLite file, so examples are slower than pure-function ones;
# the deadline is off because a first write creates the schema.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
settings.register_profile(
    "long",
    max_examples=3_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
