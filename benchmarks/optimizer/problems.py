"""Benchmark problems with hidden failure regions (``docs/optimizer.md``, *Problems*).

Every problem is a minimisation: an :class:`ExperimentDefinition` search space with one optimized
metric ``value``, an ``evaluate(assignments) -> float | None`` (``None`` = the evaluation failed and
reports no value, like a SigOpt ``failed: true`` observation) and the known optimum ``f_star``.

* ``BR-DISK``: Branin with a hidden disk constraint; two of its three global minima are traps.
* ``H6-FAIL``: Hartmann6 with two half-space failure rules; the optimum sits next to one of them.
* ``OOM-MIX``: a synthetic "train a net" surface with int/log/categorical parameters and two failure
  mechanisms (simulated out-of-memory, divergence).
* ``MLP-DIGITS``: a real ``MLPClassifier`` on scikit-learn's digits with genuine divergence and a
  simulated memory cap. Its optimum is unknown: regret is measured against the best value found by
  any method in the same benchmark run (``f_star`` is ``None``).

:func:`verify_known_optima` re-derives each known optimum from the formulas and raises
``AssertionError`` when an implementation disagrees with the formulas in ``docs/optimizer.md``.

References:
    S. Surjanovic, D. Bingham. Virtual Library of Simulation Experiments (Branin, Hartmann6).
    M. A. Gelbart, J. Snoek, R. P. Adams. Bayesian Optimization with Unknown Constraints. UAI 2014.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np

from sigopt_ai._definition import Bounds, ExperimentDefinition, Metric, Parameter
from sigopt_ai._types import ParamValue

Assignments = Mapping[str, ParamValue]
Evaluator = Callable[[Assignments], "float | None"]

METRIC = "value"
"""Name of the single optimized (minimised) metric of every problem."""


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: search space, evaluation function and known optimum.

    ``f_star`` is ``None`` when the optimum is unknown (the run's best value is used instead).
    """

    name: str
    definition: ExperimentDefinition
    evaluate: Evaluator
    budget: int
    f_star: float | None
    optimum: Mapping[str, ParamValue] | None = None
    note: str = ""
    failure_rules: tuple[str, ...] = field(default_factory=tuple)
    failure_kind: Callable[[Assignments], str] = lambda _: "reported"
    """Why a failed evaluation failed, as the SDK would classify it (a ``FailureKind`` value):
    ``"oom"`` for a ``MemoryError``, ``"diverged"`` for a non-finite loss, ``"reported"`` for a
    simulated crash the objective reports with ``log_failure()``."""


def _double(name: str, low: float, high: float, *, log: bool = False) -> Parameter:
    return Parameter(name, "double", Bounds(low, high), transformation="log" if log else None)


def _int(name: str, low: int, high: int, *, log: bool = False) -> Parameter:
    return Parameter(name, "int", Bounds(low, high), transformation="log" if log else None)


def _categorical(name: str, *values: str) -> Parameter:
    return Parameter(name, "categorical", categorical_values=values)


def _definition(name: str, parameters: tuple[Parameter, ...], budget: int) -> ExperimentDefinition:
    metric = Metric(METRIC, objective="minimize")
    return ExperimentDefinition(name=name, parameters=parameters, metrics=(metric,), budget=budget)


def _require(condition: bool, message: str) -> None:
    # Not ``assert``: the start-up checks must survive ``python -O``.
    if not condition:
        raise AssertionError(message)


# --- BR-DISK ----------------------------------------------------------------------------------

BRANIN_A, BRANIN_R, BRANIN_S = 1.0, 6.0, 10.0
BRANIN_B = 5.1 / (4 * math.pi**2)
BRANIN_C = 5 / math.pi
BRANIN_T = 1 / (8 * math.pi)
BRANIN_F_STAR = BRANIN_S * BRANIN_T  # cos(x1) = -1 and a zero square: s(1 - t)(-1) + s = s t
BRANIN_MINIMA = ((math.pi, 2.275), (-math.pi, 12.275), (3 * math.pi, 2.475))


def branin(x1: Any, x2: Any) -> Any:
    """Branin function (scalars or numpy arrays)."""
    square = (x2 - BRANIN_B * x1**2 + BRANIN_C * x1 - BRANIN_R) ** 2
    return BRANIN_A * square + BRANIN_S * (1 - BRANIN_T) * np.cos(x1) + BRANIN_S


def branin_disk_fails(x1: Any, x2: Any) -> Any:
    """Hidden failure rule of BR-DISK: outside the disk of radius sqrt(50) around (2.5, 7.5)."""
    return (x1 - 2.5) ** 2 + (x2 - 7.5) ** 2 > 50


def evaluate_branin_disk(assignments: Assignments) -> float | None:
    """BR-DISK objective; ``None`` in the failure region."""
    x1, x2 = float(assignments["x1"]), float(assignments["x2"])  # type: ignore[arg-type]
    if branin_disk_fails(x1, x2):
        return None
    return float(branin(x1, x2))


def branin_disk() -> Problem:
    """BR-DISK: Branin on [-5, 10] x [0, 15] with Gelbart's disk as a crash region."""
    params = (_double("x1", -5.0, 10.0), _double("x2", 0.0, 15.0))
    return Problem(
        name="BR-DISK",
        definition=_definition("BR-DISK", params, 40),
        evaluate=evaluate_branin_disk,
        budget=40,
        f_star=BRANIN_F_STAR,
        optimum={"x1": math.pi, "x2": 2.275},
        note="minima (-pi, 12.275) and (3 pi, 2.475) lie in the failure region",
        failure_rules=("(x1 - 2.5)^2 + (x2 - 7.5)^2 > 50",),
    )


def _verify_branin() -> None:
    x1, x2 = BRANIN_MINIMA[0]
    inner = x2 - BRANIN_B * x1**2 + BRANIN_C * x1 - BRANIN_R
    grad_x1 = 2 * BRANIN_A * inner * (-2 * BRANIN_B * x1 + BRANIN_C) - BRANIN_S * (1 - BRANIN_T) * math.sin(x1)
    _require(abs(inner) < 1e-12 and abs(grad_x1) < 1e-12, "BR-DISK: (pi, 2.275) is not stationary")
    _require(abs(float(branin(x1, x2)) - 0.397887) < 1e-6, "BR-DISK: f(pi, 2.275) != 0.397887")
    _require(not branin_disk_fails(x1, x2), "BR-DISK: the feasible minimum is in the failure region")
    _require(all(branin_disk_fails(a, b) for a, b in BRANIN_MINIMA[1:]), "BR-DISK: a decoy is feasible")
    grid1, grid2 = np.meshgrid(np.linspace(-5, 10, 1501), np.linspace(0, 15, 1501))
    values = np.where(branin_disk_fails(grid1, grid2), np.inf, branin(grid1, grid2))
    _require(BRANIN_F_STAR <= values.min() < BRANIN_F_STAR + 1e-3, "BR-DISK: grid minimum disagrees")


# --- H6-FAIL ----------------------------------------------------------------------------------

H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
H6_F_STAR = -3.32237
H6_OPTIMUM = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)


def hartmann6(x: Any) -> Any:
    """Hartmann6 (minimisation form); ``x`` has shape ``(..., 6)``."""
    x = np.asarray(x, dtype=float)
    inner = np.sum(H6_A * (x[..., None, :] - H6_P) ** 2, axis=-1)
    return -np.sum(H6_ALPHA * np.exp(-inner), axis=-1)


def h6_fails(x: Any) -> Any:
    """Hidden failure rule of H6-FAIL: ``x1 + x2 > 1.2`` or ``x4 + x5 < 0.55``."""
    x = np.asarray(x, dtype=float)
    return (x[..., 0] + x[..., 1] > 1.2) | (x[..., 3] + x[..., 4] < 0.55)


def evaluate_h6_fail(assignments: Assignments) -> float | None:
    """H6-FAIL objective; ``None`` in the failure region."""
    x = np.array([float(assignments[f"x{i}"]) for i in range(1, 7)])  # type: ignore[arg-type]
    if h6_fails(x):
        return None
    return float(hartmann6(x))


def h6_fail() -> Problem:
    """H6-FAIL: Hartmann6 on [0, 1]^6 whose optimum is 0.037 away from a failure cliff."""
    params = tuple(_double(f"x{i}", 0.0, 1.0) for i in range(1, 7))
    return Problem(
        name="H6-FAIL",
        definition=_definition("H6-FAIL", params, 60),
        evaluate=evaluate_h6_fail,
        budget=60,
        f_star=H6_F_STAR,
        optimum={f"x{i}": v for i, v in enumerate(H6_OPTIMUM, start=1)},
        note="x4 + x5 = 0.587 at the optimum: 0.037 from the failure boundary",
        failure_rules=("x1 + x2 > 1.2", "x4 + x5 < 0.55"),
    )


def _verify_h6() -> None:
    x = np.array(H6_OPTIMUM)
    _require(abs(float(hartmann6(x)) - H6_F_STAR) < 1e-5, "H6-FAIL: f(x*) != -3.32237")
    _require(not h6_fails(x), "H6-FAIL: the optimum is in the failure region")
    steps = 1e-6 * np.eye(6)
    grad = (hartmann6(x + steps) - hartmann6(x - steps)) / 2e-6
    _require(float(np.abs(grad).max()) < 1e-3, "H6-FAIL: the known optimum is not stationary")


def _memory(assignments: Assignments) -> int:
    """Simulated memory of a network of OOM-MIX or MLP-DIGITS: ``batch_size * width * depth``."""
    return int(assignments["batch_size"]) * int(assignments["width"]) * int(assignments["depth"])  # type: ignore[arg-type]


def _memory_or_divergence(assignments: Assignments, cap: int) -> str:
    """The kind of a failure of OOM-MIX or MLP-DIGITS: out of memory above ``cap``, else diverged."""
    return "oom" if _memory(assignments) > cap else "diverged"


# --- OOM-MIX ----------------------------------------------------------------------------------

OOM_MEMORY_CAP = 2**17
OOM_DESIGN_DOC_POINT: Mapping[str, ParamValue] = {
    "lr": 10**-3.1505,
    "batch_size": 64,
    "width": 512,
    "depth": 4,
    "optimizer": "adam",
    "dropout": 0.44,
}
OOM_DESIGN_DOC_VALUE = 0.139035
OOM_F_STAR = 0.13647367216613657
OOM_OPTIMUM_CELL = ("adam", 80, 1638, 1)


def oom_u_star(optimizer: str, batch_size: float) -> float:
    """Best log10 learning rate of OOM-MIX for an optimizer and batch size."""
    return (-3.0 if optimizer == "adam" else -1.5) + 0.5 * math.log10(batch_size / 128)


def _oom_value(u: float, u_star: float, batch: float, width: float, depth: float, sgd: bool, dropout: float) -> float:
    cap = math.log2(width) + math.log2(depth)
    return (
        0.05
        + 0.4 * (u - u_star) ** 2
        + 0.8 * math.exp(-0.35 * (cap - 4))
        + 0.02 * (math.log2(batch) - 7) ** 2
        + 0.03 * sgd
        + 0.3 * (dropout - min(0.5, 0.04 * cap)) ** 2
    )


def evaluate_oom_mix(assignments: Assignments) -> float | None:
    """OOM-MIX objective; ``None`` on simulated out-of-memory or divergence."""
    batch, width = int(assignments["batch_size"]), int(assignments["width"])  # type: ignore[arg-type]
    depth, optimizer = int(assignments["depth"]), str(assignments["optimizer"])  # type: ignore[arg-type]
    if _memory(assignments) > OOM_MEMORY_CAP:
        return None
    u, u_star = math.log10(float(assignments["lr"])), oom_u_star(optimizer, batch)  # type: ignore[arg-type]
    if u > u_star + 0.35:
        return None
    dropout = float(assignments["dropout"])  # type: ignore[arg-type]
    return _oom_value(u, u_star, batch, width, depth, optimizer == "sgd", dropout)


def oom_mix() -> Problem:
    """OOM-MIX: mixed int/log/categorical space with OOM and divergence failures."""
    params = (
        _double("lr", 1e-5, 1e-1, log=True),
        _int("batch_size", 16, 1024, log=True),
        _int("width", 16, 2048, log=True),
        _int("depth", 1, 6),
        _categorical("optimizer", "sgd", "adam"),
        _double("dropout", 0.0, 0.5),
    )
    return Problem(
        name="OOM-MIX",
        definition=_definition("OOM-MIX", params, 60),
        evaluate=evaluate_oom_mix,
        budget=60,
        f_star=OOM_F_STAR,
        optimum=derive_oom_optimum()[1],
        note=(
            "integer optimum 0.136474 (adam, batch 80, width 1638, depth 1) re-derived over every "
            "integer cell; the design doc's 0.139035 is the optimum over powers of two only"
        ),
        failure_rules=("batch_size * width * depth > 2^17", "log10(lr) > u* + 0.35"),
        failure_kind=lambda a: _memory_or_divergence(a, OOM_MEMORY_CAP),
    )


def derive_oom_optimum() -> tuple[float, dict[str, ParamValue]]:
    """Re-derive the OOM-MIX optimum by enumerating every integer/categorical cell.

    For a fixed (optimizer, batch_size, depth) the objective is minimised in closed form:
    ``log10(lr) = u*`` (inside the bounds and below the divergence edge) zeroes the lr term,
    ``dropout = min(0.5, 0.04 cap)`` zeroes the dropout term, and the widest ``width`` that fits
    the memory cap maximises ``cap`` (the only remaining width-dependent term decreases in it).
    """
    best: tuple[float, dict[str, ParamValue]] = (math.inf, {})
    for optimizer in ("sgd", "adam"):
        for batch in range(16, 1025):
            for depth in range(1, 7):
                cell = _best_in_oom_cell(optimizer, batch, depth)
                if cell[0] < best[0]:
                    best = cell
    return best


def _best_in_oom_cell(optimizer: str, batch: int, depth: int) -> tuple[float, dict[str, ParamValue]]:
    width = min(2048, OOM_MEMORY_CAP // (batch * depth))
    u_star = oom_u_star(optimizer, batch)
    dropout = min(0.5, 0.04 * (math.log2(width) + math.log2(depth)))
    point: dict[str, ParamValue] = {
        "lr": 10**u_star,
        "batch_size": batch,
        "width": width,
        "depth": depth,
        "optimizer": optimizer,
        "dropout": dropout,
    }
    return _oom_value(u_star, u_star, batch, width, depth, optimizer == "sgd", dropout), point


def _verify_oom() -> None:
    doc_value = evaluate_oom_mix(OOM_DESIGN_DOC_POINT)
    _require(
        doc_value is not None and abs(doc_value - OOM_DESIGN_DOC_VALUE) < 1e-6,
        "OOM-MIX: the formula does not give the design doc's 0.139035 at its optimum",
    )
    f_star, point = derive_oom_optimum()
    cell = (point["optimizer"], point["batch_size"], point["width"], point["depth"])
    _require(abs(f_star - OOM_F_STAR) < 1e-12 and cell == OOM_OPTIMUM_CELL, "OOM-MIX: optimum moved")
    _require(evaluate_oom_mix(point) == f_star, "OOM-MIX: the derived optimum is not feasible")


# --- MLP-DIGITS -------------------------------------------------------------------------------

MLP_MEMORY_CAP = 2**15
MLP_MAX_LOSS = math.log(10)  # a uniform guess over the 10 classes


@lru_cache(maxsize=1)
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)  # unscaled 0..16 pixels: SGD diverges at high lr
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    return x_train, x_val, y_train, y_val


def _mlp(assignments: Assignments) -> Any:
    from sklearn.neural_network import MLPClassifier

    width, depth = int(assignments["width"]), int(assignments["depth"])  # type: ignore[arg-type]
    batch = int(assignments["batch_size"])  # type: ignore[arg-type]
    if _memory(assignments) > MLP_MEMORY_CAP:
        raise MemoryError(f"simulated memory cap: {width} * {depth} * {batch} > {MLP_MEMORY_CAP}")
    return MLPClassifier(
        hidden_layer_sizes=(width,) * depth,
        activation=str(assignments["activation"]),
        solver="sgd",
        alpha=float(assignments["alpha"]),  # type: ignore[arg-type]
        batch_size=batch,
        learning_rate_init=float(assignments["learning_rate_init"]),  # type: ignore[arg-type]
        momentum=float(assignments["momentum"]),  # type: ignore[arg-type]
        max_iter=20,
        random_state=0,
    )


def evaluate_mlp_digits(assignments: Assignments) -> float | None:
    """Validation error of the MLP; ``None`` when it did not converge or hit the memory cap."""
    from sklearn.exceptions import ConvergenceWarning

    x_train, x_val, y_train, y_val = _digits_split()
    try:
        model = _mlp(assignments)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            model.fit(x_train, y_train)  # ValueError: "Solver produced non-finite parameter weights"
    except (MemoryError, ValueError):
        return None
    if not math.isfinite(model.loss_) or model.loss_ > MLP_MAX_LOSS:
        return None
    return 1.0 - float(model.score(x_val, y_val))


def mlp_digits() -> Problem:
    """MLP-DIGITS: SGD-trained MLP on unscaled digits; optimum unknown."""
    params = (
        _double("learning_rate_init", 1e-4, 1.0, log=True),
        _int("width", 16, 512, log=True),
        _int("depth", 1, 3),
        _int("batch_size", 16, 512, log=True),
        _double("alpha", 1e-6, 1e-1, log=True),
        _double("momentum", 0.0, 0.99),
        _categorical("activation", "relu", "tanh"),
    )
    return Problem(
        name="MLP-DIGITS",
        definition=_definition("MLP-DIGITS", params, 40),
        evaluate=evaluate_mlp_digits,
        budget=40,
        f_star=None,
        note="regret reference: the best value found by any method and seed in the same run",
        failure_kind=lambda a: _memory_or_divergence(a, MLP_MEMORY_CAP),
        failure_rules=(
            "width * depth * batch_size > 2^15 (MemoryError before fitting)",
            "final loss non-finite or > ln 10, or sklearn ValueError (non-finite weights)",
        ),
    )


# --- registry ---------------------------------------------------------------------------------

PROBLEMS: dict[str, Callable[[], Problem]] = {
    "BR-DISK": branin_disk,
    "H6-FAIL": h6_fail,
    "OOM-MIX": oom_mix,
    "MLP-DIGITS": mlp_digits,
}


@cache
def get_problem(name: str) -> Problem:
    """The problem called ``name``.

    Raises:
        KeyError: Unknown problem name.
    """
    if name not in PROBLEMS:
        raise KeyError(f"{name!r} is not a benchmark problem. It must be one of {sorted(PROBLEMS)!r}.")
    return PROBLEMS[name]()


def verify_known_optima() -> dict[str, float]:
    """Re-derive every known optimum from the formulas; raise ``AssertionError`` on a mismatch.

    Returns:
        The verified optimum value per problem with a known optimum.
    """
    _verify_branin()
    _verify_h6()
    _verify_oom()
    return {"BR-DISK": BRANIN_F_STAR, "H6-FAIL": H6_F_STAR, "OOM-MIX": OOM_F_STAR}
