"""Quasi-random suggestions from one scrambled Sobol sequence per (experiment, seed).

References:
    I. M. Sobol'. On the distribution of points in a cube and the approximate evaluation of
    integrals. USSR Comput. Math. Math. Phys. 7(4), 1967.
    A. B. Owen. Scrambling Sobol' and Niederreiter-Xing points. J. Complexity 14(4), 1998.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import qmc

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer._arrays import FloatArray, SeedLike, as_float, check_seed
from sigopt_ai.optimizer._base import Strategy
from sigopt_ai.optimizer._space import SearchSpace, row_keys

_BLOCK = 1024
_SCAN = 256  # how far past ``index`` to look for a point that repeats nothing


class SobolSequence:
    """The valid points of one scrambled Sobol sequence, in order: point ``k`` is the same in
    every process that builds the sequence with the same space and seed.

    Without linear constraints every point is valid and point ``k`` is the ``k``-th point of the
    sequence (found with ``fast_forward``). With constraints, infeasible points are skipped, so the
    sequence is scanned from the start once and cached; a block of 1024 raw points with no feasible
    point at all is repaired towards :meth:`SearchSpace.anchor` instead, so the scan always advances.

    Args:
        space: The encoded search space.
        seed: The scrambling seed.
    """

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space = space
        self.seed = seed
        self._engine = qmc.Sobol(space.dim, scramble=True, seed=seed)
        self._valid = np.empty((0, space.dim))

    def reset(self) -> None:
        """Drop the cache of valid points."""
        self._engine.reset()
        self._valid = np.empty((0, self.space.dim))

    def points(self, start: int, n: int) -> FloatArray:
        """The valid canonical points ``start, ..., start + n - 1``.

        Raises:
            ValueError: ``start`` is negative or ``n`` is not positive.
        """
        if start < 0 or n < 1:
            raise ValueError(f"Need start >= 0 and n >= 1, got start={start!r}, n={n!r}.")
        if not self.space.has_constraints:
            return self._raw(start, n)
        while self._valid.shape[0] < start + n:
            self._extend()
        return as_float(self._valid[start : start + n].copy())

    def _raw(self, start: int, n: int) -> FloatArray:
        self._engine.reset()
        if start:  # scipy's fast_forward(0) on a fresh engine overflows
            self._engine.fast_forward(start)
        draw = 1 << max(n - 1, 0).bit_length()  # a power of two keeps scipy's balance warning quiet
        return self.space.round(self._engine.random(draw)[:n])

    def _extend(self) -> None:
        block = self.space.round(self._engine.random(_BLOCK))
        ok = self.space.feasible(block)
        valid = block[ok] if ok.any() else self.space.repair(block, self.space.anchor())
        self._valid = np.vstack([self._valid, valid])


def pick_new(candidates: FloatArray, *avoid: Sequence[bytes] | set[bytes]) -> FloatArray:
    """The first candidate whose key is in none of ``avoid``; relaxes ``avoid`` from the end.

    ``avoid`` is ordered from most to least important (``pending`` first): when every candidate
    repeats something, the last set is dropped and the search repeated, and so on; with nothing
    left to avoid the first candidate is returned.
    """
    keys = row_keys(candidates)
    sets = [set(a) for a in avoid]
    for k in range(len(sets), -1, -1):
        blocked = set().union(*sets[:k])
        for row, key in zip(candidates, keys, strict=True):
            if key not in blocked:
                return as_float(row)
    return as_float(candidates[0])


class SobolStrategy(Strategy):
    """Scrambled Sobol suggestions: the suggestion with ``index=k`` is the ``k``-th valid point.

    Respects bounds, log scales, ints, grids, categoricals, conditionals and linear constraints.
    A point equal to a pending assignment is never returned while another point is available
    within the next 256 of the sequence; points equal to past observations are avoided the same way
    (for small discrete spaces that have been exhausted, repeats are allowed).

    Args:
        definition: The experiment definition.
        seed: Scrambling seed; an int, a numpy Generator (one int is drawn from it) or None.

    Example:
        >>> strategy = SobolStrategy(definition, seed=3)
        >>> strategy.suggest([], [], index=0)
        {'lr': 0.0031..., 'batch_size': 64}
    """

    def __init__(self, definition: ExperimentDefinition, *, seed: SeedLike = 0) -> None:
        super().__init__(definition, seed=check_seed(seed))
        self.space = SearchSpace(definition)
        self.sequence = SobolSequence(self.space, self.seed)
        # The keys of the observations of the last call: a history that only grows (as an experiment's
        # does) is encoded once, not at every suggestion.
        self._seen: list[bytes] = []
        self._last_seen: Observation | None = None

    def reset(self) -> None:
        """Drop caches; later suggestions are unchanged."""
        self.sequence.reset()
        self._seen, self._last_seen = [], None

    def _seen_keys(self, observations: Sequence[Observation]) -> list[bytes]:
        """The keys of the observations' points, encoding only those past the last call's history."""
        known = len(self._seen)
        if not (known <= len(observations) and (known == 0 or observations[known - 1] is self._last_seen)):
            self._seen, known = [], 0
        if len(observations) > known:
            self._seen += row_keys(self.space.encode_many(o.assignments for o in observations[known:]))
            self._last_seen = observations[-1]
        return self._seen

    def suggest(
        self,
        observations: Sequence[Observation],
        pending: Sequence[Mapping[str, ParamValue]],
        *,
        index: int,
    ) -> dict[str, ParamValue]:
        """Propose the ``index``-th valid Sobol point, skipping repeats of pending assignments.

        Raises:
            ValueError: ``index`` is negative, or an assignment holds an unknown categorical value.
        """
        return self.space.decode(self.suggest_point(observations, pending, index=index))

    def suggest_point(
        self,
        observations: Sequence[Observation],
        pending: Sequence[Mapping[str, ParamValue]],
        *,
        index: int,
    ) -> FloatArray:
        """Like :meth:`suggest`, but returns the canonical encoded point."""
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index!r}.")
        pend = row_keys(self.space.encode_many(pending))
        return pick_new(self.sequence.points(index, _SCAN), pend, self._seen_keys(observations))
