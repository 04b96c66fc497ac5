"""Array aliases and the seed normaliser shared by the optimizer modules."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

SeedLike = int | np.random.Generator | None
"""What a strategy accepts as ``seed``: an int, a generator to draw one int from, or None (fresh)."""


def as_float(x: object) -> FloatArray:
    """``x`` as a float64 array (a typed ``np.asarray``)."""
    return np.asarray(x, dtype=np.float64)


def check_seed(seed: SeedLike) -> int:
    """Normalise ``seed`` once into a non-negative int.

    Strategies derive every random stream from ``(seed, index)``, so they need an int, not a
    generator: a generator is asked for one int, ``None`` takes fresh OS entropy.

    Raises:
        ValueError: ``seed`` is a negative int or not an int, generator or None.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**63)  # type: ignore[operator]
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed!r}.")
        return int(seed)
    raise ValueError(f"seed must be an int, a numpy Generator or None, got {seed!r}.")


def index_rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """The generator of suggestion ``index``: the same in every process sharing ``seed``."""
    return np.random.default_rng([seed, index, stream])
