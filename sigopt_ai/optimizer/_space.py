"""Encoding between assignments and the unit cube.

Every strategy works on *encoded* points: rows of a matrix with one column per double, int or grid
parameter and one column per value of each categorical parameter and each conditional (one-hot).

* doubles map linearly, or linearly in ``log10`` for ``transformation: log``;
* ints are continuous: ``[min - 0.5, max + 0.5]`` maps to ``[0, 1]`` (in ``log10`` for log ints), so
  rounding gives every integer the same share of the cube;
* grid parameters are an index into their sorted grid values (``G`` equal slices of ``[0, 1]``);
* categoricals and conditionals are one-hot; the chosen value is the argmax;
* conditionals are flattened: a parameter that is inactive under the chosen conditional values
  keeps the fixed value ``0.5`` in all its columns and is left out of the decoded assignment.

A *canonical* point is one :meth:`SearchSpace.round` leaves unchanged: ints and grid indices at the
centre of their slice, exact one-hot vectors, inactive columns at ``0.5``. Two canonical points
decode to the same assignment exactly when they are equal, which is what de-duplication relies on.
Linear constraints are checked on decoded values, so a rounded int can never break one unnoticed.

References:
    E. C. Garrido-Merchán, D. Hernández-Lobato. Dealing with categorical and integer-valued
    variables in Bayesian optimization with Gaussian processes. Neurocomputing 380, 2020.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from sigopt_ai._definition import ExperimentDefinition, LinearConstraint, Parameter
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer._arrays import BoolArray, FloatArray, IntArray, as_float

INACTIVE = 0.5
"""The value every column of an inactive parameter holds in a canonical point."""

_CONSTRAINT_TOL = 1e-10  # relative like LinearConstraint.is_satisfied's 1e-9, and stricter, so decoded points pass it
_REPAIR_BISECTIONS = 12
_ANCHOR_SCAN = 1 << 14


@dataclass(frozen=True, slots=True)
class _Numeric:
    """A double or int parameter searched over its bounds."""

    name: str
    column: int
    kind: Literal["double", "int"]
    vmin: float
    vmax: float
    log: bool

    @property
    def _edges(self) -> tuple[float, float]:
        lo, hi = (self.vmin - 0.5, self.vmax + 0.5) if self.kind == "int" else (self.vmin, self.vmax)
        return (float(np.log10(lo)), float(np.log10(hi))) if self.log else (lo, hi)

    def values(self, u: FloatArray) -> FloatArray:
        lo, hi = self._edges
        t = lo + np.clip(u, 0.0, 1.0) * (hi - lo)
        if self.log:
            with np.errstate(over="ignore"):  # near the float maximum 10**t may round to inf; clipped below
                v = 10.0**t
        else:
            v = t
        if self.kind == "int":
            v = np.rint(v)
        return np.clip(v, self.vmin, self.vmax)

    def encode(self, v: FloatArray) -> FloatArray:
        lo, hi = self._edges
        if hi <= lo:
            return np.full_like(v, INACTIVE)
        t = np.log10(np.maximum(v, 1e-300)) if self.log else v
        return np.clip((t - lo) / (hi - lo), 0.0, 1.0)

    def canonical(self, u: FloatArray) -> FloatArray:
        if self.kind == "int":
            return self.encode(self.values(u))
        return np.clip(u, 0.0, 1.0)

    def python(self, v: float) -> ParamValue:
        return int(v) if self.kind == "int" else float(v)


@dataclass(frozen=True, slots=True)
class _Grid:
    """A parameter restricted to a sorted grid of values; encoded as the grid index."""

    name: str
    column: int
    grid: tuple[float, ...]
    is_int: bool

    def _index(self, u: FloatArray) -> IntArray:
        g = len(self.grid)
        return np.clip(np.floor(np.clip(u, 0.0, 1.0) * g), 0, g - 1).astype(np.int64)

    def values(self, u: FloatArray) -> FloatArray:
        return np.asarray(self.grid, dtype=np.float64)[self._index(u)]

    def encode(self, v: FloatArray) -> FloatArray:
        grid = np.asarray(self.grid, dtype=np.float64)
        idx = np.abs(v[:, None] - grid[None, :]).argmin(axis=1)
        return as_float((idx + 0.5) / len(self.grid))

    def canonical(self, u: FloatArray) -> FloatArray:
        return (self._index(u) + 0.5) / len(self.grid)

    def python(self, v: float) -> ParamValue:
        return int(v) if self.is_int else float(v)


@dataclass(frozen=True, slots=True)
class _Choice:
    """A categorical parameter or a conditional, one-hot over ``choices``."""

    name: str
    start: int
    choices: tuple[str, ...]

    @property
    def columns(self) -> slice:
        return slice(self.start, self.start + len(self.choices))

    def indices(self, u: FloatArray) -> IntArray:
        return np.asarray(u[:, self.columns].argmax(axis=1), dtype=np.int64)

    def canonical(self, u: FloatArray) -> FloatArray:
        return np.eye(len(self.choices))[self.indices(u)]

    def index(self, value: ParamValue) -> int:
        if value not in self.choices:
            raise ValueError(f"{value!r} is not a value of {self.name!r}; expected one of {self.choices!r}.")
        return self.choices.index(str(value))


_Scalar = _Numeric | _Grid
_Codec = _Numeric | _Grid | _Choice


def _scalar_codec(p: Parameter, column: int) -> _Scalar:
    if p.grid:
        return _Grid(p.name, column, tuple(sorted(float(v) for v in p.grid)), p.type == "int")
    if p.bounds is None:
        raise ValueError(f"Parameter {p.name!r} has neither bounds nor a grid.")
    kind: Literal["double", "int"] = "int" if p.type == "int" else "double"
    lo, hi = float(p.bounds.min), float(p.bounds.max)
    if p.is_log and (lo - (0.5 if kind == "int" else 0.0)) <= 0:
        raise ValueError(f"Log parameter {p.name!r} needs positive bounds, got min={lo!r}.")
    return _Numeric(p.name, column, kind, lo, hi, p.is_log)


def _build_codecs(definition: ExperimentDefinition) -> tuple[dict[str, _Codec], dict[str, _Choice], int]:
    params: dict[str, _Codec] = {}
    col = 0
    for p in definition.parameters:
        if p.type == "categorical" and not p.grid:
            params[p.name] = _Choice(p.name, col, tuple(p.categorical_values))
            col += len(p.categorical_values)
        else:
            params[p.name] = _scalar_codec(p, col)
            col += 1
    conds: dict[str, _Choice] = {}
    for c in definition.conditionals:
        conds[c.name] = _Choice(c.name, col, tuple(c.values))
        col += len(c.values)
    return params, conds, col


def _columns_of(codec: _Codec) -> slice:
    return codec.columns if isinstance(codec, _Choice) else slice(codec.column, codec.column + 1)


@dataclass(frozen=True, slots=True)
class _Condition:
    """Parameter ``param`` is active when conditional ``cond`` takes one of ``allowed`` (mask)."""

    param: int
    cond: _Choice
    allowed: BoolArray


@dataclass(frozen=True, slots=True)
class _Constraint:
    """A linear constraint over scalar codecs, as ``sign * (w @ v - threshold) >= 0``."""

    codecs: tuple[_Scalar, ...]
    params: tuple[int, ...]
    weights: FloatArray
    threshold: float
    sign: float


class SearchSpace:
    """The encoded search space of an experiment definition.

    Args:
        definition: The experiment whose parameters, conditionals and linear constraints to encode.

    Raises:
        ValueError: The definition has no parameters, a parameter has no bounds, a log parameter
            has non-positive bounds, or a condition or constraint names an unknown parameter.

    Example:
        >>> space = SearchSpace(definition)
        >>> u = space.round(np.random.default_rng(0).random((4, space.dim)))
        >>> [space.decode(row) for row in u[space.feasible(u)]]
    """

    def __init__(self, definition: ExperimentDefinition) -> None:
        if not definition.parameters:
            raise ValueError("The experiment has no parameters to search.")
        self.definition = definition
        self._params, self._conds, self.dim = _build_codecs(definition)
        self._names = [p.name for p in definition.parameters]
        self._conditions = self._build_conditions()
        self._constraints = tuple(self._build_constraint(c) for c in definition.linear_constraints)
        self._anchor: FloatArray | None = None
        self.continuous_columns: IntArray = np.array(
            [c.column for c in self._params.values() if isinstance(c, _Numeric) and c.kind == "double"],
            dtype=np.int64,
        )

    @property
    def n_parameters(self) -> int:
        """How many searched dimensions the experiment has: parameters plus conditionals."""
        return len(self._params) + len(self._conds)

    @property
    def choice_columns(self) -> list[slice]:
        """The one-hot column groups of categorical parameters and conditionals."""
        return [c.columns for c in (*self._params.values(), *self._conds.values()) if isinstance(c, _Choice)]

    @property
    def has_constraints(self) -> bool:
        """Whether the experiment has linear constraints."""
        return bool(self._constraints)

    def _build_conditions(self) -> list[_Condition]:
        out = []
        for i, p in enumerate(self.definition.parameters):
            for cname, values in p.conditions.items():
                if cname not in self._conds:
                    raise ValueError(f"Parameter {p.name!r} is conditioned on unknown conditional {cname!r}.")
                cond = self._conds[cname]
                out.append(_Condition(i, cond, np.array([v in values for v in cond.choices])))
        return out

    def _build_constraint(self, c: LinearConstraint) -> _Constraint:
        codecs = []
        for t in c.terms:
            codec = self._params.get(t.name)
            if codec is None or isinstance(codec, _Choice):
                raise ValueError(f"Linear constraint term {t.name!r} is not a numeric parameter.")
            codecs.append(codec)
        return _Constraint(
            codecs=tuple(codecs),
            params=tuple(self._names.index(t.name) for t in c.terms),
            weights=np.array([t.weight for t in c.terms], dtype=np.float64),
            threshold=float(c.threshold),
            sign=1.0 if c.type == "greater_than" else -1.0,
        )

    # -- validation -------------------------------------------------------------------------------

    def check_points(self, u: FloatArray | Sequence[Sequence[float]]) -> FloatArray:
        """``u`` as a finite float matrix with :attr:`dim` columns.

        Raises:
            ValueError: Wrong shape or non-finite entries.
        """
        arr = np.asarray(u, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"Expected points of shape (n, {self.dim}), got {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError("Points must be finite.")
        return arr

    # -- rounding and activity --------------------------------------------------------------------

    def active(self, u: FloatArray) -> BoolArray:
        """``(n, n_params)`` mask: which parameters are active at each point (definition order)."""
        act = np.ones((u.shape[0], len(self._names)), dtype=bool)
        for c in self._conditions:
            act[:, c.param] &= c.allowed[c.cond.indices(u)]
        return act

    def active_columns(self, u: FloatArray) -> BoolArray:
        """``(n, dim)`` mask: which columns belong to an active parameter (conditionals always do)."""
        out = np.ones(u.shape, dtype=bool)
        act = self.active(u)
        for i, name in enumerate(self._names):
            out[:, _columns_of(self._params[name])] = act[:, i : i + 1]
        return out

    def round(self, u: FloatArray | Sequence[Sequence[float]]) -> FloatArray:
        """Canonical points: ints and grids snapped, one-hots exact, inactive columns at ``0.5``.

        Args:
            u: ``(n, dim)`` points, relaxed (anywhere in the cube) or already canonical.

        Returns:
            A new ``(n, dim)`` array of canonical points.
        """
        arr = self.check_points(u)
        out = np.empty_like(arr)
        for codec in (*self._params.values(), *self._conds.values()):
            if isinstance(codec, _Choice):
                out[:, codec.columns] = codec.canonical(arr)
            else:
                out[:, codec.column] = codec.canonical(arr[:, codec.column])
        act = self.active(out)
        for i, name in enumerate(self._names):
            out[~act[:, i], _columns_of(self._params[name])] = INACTIVE
        return out

    # -- linear constraints -----------------------------------------------------------------------

    def feasible(self, u: FloatArray) -> BoolArray:
        """Which canonical points satisfy every linear constraint on their decoded values.

        A constraint that involves a parameter inactive at a point does not apply to that point.
        """
        ok = np.ones(u.shape[0], dtype=bool)
        if not self._constraints:
            return ok
        act = self.active(u)
        for c in self._constraints:
            vals = np.column_stack([codec.values(u[:, codec.column]) for codec in c.codecs])
            slack = c.sign * (vals @ c.weights - c.threshold)
            scale = np.maximum(max(1.0, abs(c.threshold)), np.abs(vals) @ np.abs(c.weights))
            ok &= (slack >= -_CONSTRAINT_TOL * scale) | ~act[:, c.params].all(axis=1)
        return ok

    def anchor(self) -> FloatArray:
        """A canonical point that satisfies every linear constraint, as deep inside as found.

        Raises:
            ValueError: No point within the bounds satisfies the constraints.
        """
        if self._anchor is None:
            self._anchor = self._find_anchor()
        return self._anchor

    def _find_anchor(self) -> FloatArray:
        row = self._milp_anchor()
        if row is not None and self.feasible(row[None])[0]:
            return row
        pts = self.round(qmc.Sobol(self.dim, scramble=True, seed=0).random(_ANCHOR_SCAN))
        ok = np.flatnonzero(self.feasible(pts))
        if ok.size == 0:
            raise ValueError("No assignment within the parameter bounds satisfies the linear constraints.")
        return as_float(pts[ok[0]])

    def _milp_anchor(self) -> FloatArray | None:
        """The Chebyshev centre of the constraints in bound-normalised units (ints integral).

        Maximises ``t`` such that every linear constraint and every bound keeps a slack of ``t``
        (constraints measured in units of ``||w * range||``, bounds in units of the range).
        """
        if not self._constraints:
            return as_float(self.round(np.full((1, self.dim), INACTIVE))[0])
        by_param = {p: k for c in self._constraints for p, k in zip(c.params, c.codecs, strict=True)}
        idx = sorted(by_param)
        codecs = [by_param[i] for i in idx]
        lo = np.array([min(c.grid) if isinstance(c, _Grid) else c.vmin for c in codecs])
        hi = np.array([max(c.grid) if isinstance(c, _Grid) else c.vmax for c in codecs])
        rows, lower = self._chebyshev_rows(idx, hi - lo)
        m = len(idx)
        box = np.hstack([np.vstack([np.eye(m), -np.eye(m)]), -np.concatenate([hi - lo, hi - lo])[:, None]])
        cost = np.zeros(m + 1)
        cost[-1] = -1.0
        res = optimize.milp(
            cost,
            constraints=optimize.LinearConstraint(np.vstack([rows, box]), np.concatenate([lower, lo, -hi]), np.inf),
            integrality=np.array([int(isinstance(c, _Numeric) and c.kind == "int") for c in codecs] + [0]),
            bounds=optimize.Bounds(np.append(lo, 0.0), np.append(hi, 0.5)),
        )
        if res.x is None:
            return None
        return self.encode({self._names[i]: float(v) for i, v in zip(idx, res.x[:-1], strict=True)})

    def _chebyshev_rows(self, idx: list[int], ranges: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Rows ``sign * w @ x - t * ||w * range|| >= sign * threshold`` over parameters ``idx``."""
        rows = np.zeros((len(self._constraints), len(idx) + 1))
        for r, c in enumerate(self._constraints):
            for p, w in zip(c.params, c.weights, strict=True):
                rows[r, idx.index(p)] += c.sign * w
            rows[r, -1] = -float(np.linalg.norm(rows[r, :-1] * ranges))
        return as_float(rows), as_float(np.array([c.sign * c.threshold for c in self._constraints]))

    def repair(self, u: FloatArray, anchors: FloatArray) -> FloatArray:
        """Move each infeasible canonical point towards its (feasible) anchor, as little as found.

        Bisects ``t`` on the segment ``anchor + t (u - anchor)``, keeping the largest ``t`` whose
        rounded point is feasible. ``t = 0`` (the anchor) is feasible, so the result always is when
        the anchors are; rounding can make feasibility along the segment non-monotone, so the
        result is a feasible point near the boundary, not necessarily the nearest one.

        Args:
            u: ``(n, dim)`` canonical points.
            anchors: ``(n, dim)`` or ``(dim,)`` canonical feasible points.

        Returns:
            A new ``(n, dim)`` array of canonical points.
        """
        bad = np.flatnonzero(~self.feasible(u))
        out = u.copy()
        if bad.size == 0:
            return as_float(out)
        start = np.broadcast_to(anchors, u.shape)[bad]
        step = u[bad] - start
        lo, hi = np.zeros(bad.size), np.ones(bad.size)
        for _ in range(_REPAIR_BISECTIONS):
            mid = 0.5 * (lo + hi)
            ok = self.feasible(self.round(start + mid[:, None] * step))
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        out[bad] = self.round(start + lo[:, None] * step)
        return as_float(out)

    # -- assignments ------------------------------------------------------------------------------

    def encode(self, assignment: Mapping[str, ParamValue]) -> FloatArray:
        """The canonical point of an assignment; missing or inactive parameters take ``0.5``.

        Raises:
            ValueError: A categorical or conditional value is unknown, or a numeric value is not a number.
        """
        return as_float(self.encode_many([assignment])[0])

    def encode_many(self, assignments: Iterable[Mapping[str, ParamValue]]) -> FloatArray:
        """Canonical points of several assignments, as an ``(n, dim)`` array (see :meth:`encode`)."""
        items = list(assignments)
        out = np.full((len(items), self.dim), INACTIVE)
        for name, codec in (*self._params.items(), *self._conds.items()):
            present = [(i, a[name]) for i, a in enumerate(items) if a.get(name) is not None]
            if not present:
                continue
            rows = np.array([i for i, _ in present], dtype=np.int64)
            if isinstance(codec, _Choice):
                out[rows, codec.columns] = np.eye(len(codec.choices))[[codec.index(v) for _, v in present]]
            else:
                out[rows, codec.column] = codec.encode(np.array([_number(name, v) for _, v in present]))
        return self.round(out)

    def decode(self, u: FloatArray | Sequence[float]) -> dict[str, ParamValue]:
        """The assignment of one point (rounded first): conditionals plus the active parameters.

        Raises:
            ValueError: ``u`` is not a finite vector of length :attr:`dim`.
        """
        arr = np.asarray(u, dtype=np.float64)
        if arr.shape != (self.dim,):
            raise ValueError(f"Expected a point of shape ({self.dim},), got {arr.shape}.")
        row = self.round(arr[None])
        act = self.active(row)[0]
        out: dict[str, ParamValue] = {}
        for name, codec in self._params.items():
            if act[self._names.index(name)]:
                out[name] = self._decode_one(codec, row)
        for name, cond in self._conds.items():
            out[name] = cond.choices[int(cond.indices(row)[0])]
        return out

    @staticmethod
    def _decode_one(codec: _Codec, row: FloatArray) -> ParamValue:
        if isinstance(codec, _Choice):
            return codec.choices[int(codec.indices(row)[0])]
        return codec.python(float(codec.values(row[:, codec.column])[0]))


def _number(name: str, value: ParamValue) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"Parameter {name!r} needs a number, got {value!r}.")


def row_keys(u: FloatArray) -> list[bytes]:
    """Hashable keys of canonical points; equal keys mean equal decoded assignments."""
    rounded = np.round(u, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
    return [r.tobytes() for r in rounded]
