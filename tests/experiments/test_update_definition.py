"""Changing an experiment's parameter bounds with ``update()``, as sigopt-python's integration test does.

Only bounds may change; the loop (in this process and in another one already serving the experiment)
then serves suggestions inside the new box, and observations left outside a narrowed box neither break
the optimizer's fit nor lead it outside. Every other change to the parameters is refused, naming the field.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai.experiments._parse import parse_experiment
from tests.experiments.test_workers import child_env

PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "x",
        "type": "double",
        "bounds": {"min": 0, "max": 1},
        "prior": {"name": "normal", "mean": 0.5, "scale": 0.2},
    },
    {"name": "n", "type": "int", "bounds": {"min": 1, "max": 3}, "default_value": 2},
    {"name": "act", "type": "categorical", "categorical_values": ["relu", "tanh"]},
    {"name": "g", "type": "int", "grid": [1, 2, 4]},
    {"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 1e-1}, "transformation": "log"},
]


def create(kind: str = "random", budget: int = 20, parameters: list[dict[str, Any]] | None = None) -> sigopt.Experiment:
    return sigopt.create_aiexperiment(
        name="bounds",
        parameters=PARAMETERS if parameters is None else parameters,
        metrics=[{"name": "y", "objective": "minimize"}],
        budget=budget,
        type=kind,
    )


def run_loop(exp: sigopt.Experiment, runs: int) -> list[dict[str, Any]]:
    """Evaluate ``runs`` suggestions through the loop; their assignments."""
    served = []
    for run in exp.loop(progress=False):
        with run:
            served.append(dict(run.params))
            run.log_metric("y", (run.params.x - 0.45) ** 2 + run.params.n / 10)
        if len(served) == runs:
            break
    return served


def with_bounds(exp: sigopt.Experiment, **bounds: tuple[float, float]) -> list[Any]:
    """The experiment's parameters read back, with new bounds edited in place (as sigopt-python users do)."""
    parameters = exp.parameters
    for parameter in parameters:
        if parameter.name in bounds:
            parameter.bounds.min, parameter.bounds.max = bounds[parameter.name]
    return parameters


def inside(assignments: dict[str, Any], exp: sigopt.Experiment) -> bool:
    limits = {p.name: p.bounds for p in exp.definition.parameters if p.bounds is not None}
    return all(b.min <= assignments[name] <= b.max for name, b in limits.items())


def test_widened_bounds_are_stored_read_back_and_searched() -> None:
    exp = create()
    assert all(inside(a, exp) for a in run_loop(exp, 3))
    exp.update(parameters=with_bounds(exp, x=(0, 100), n=(1, 50)), budget=12, name="wider")
    stored = sigopt.get_aiexperiment(exp.id)
    assert (stored.name, stored.budget) == ("wider", 12)
    assert (stored.parameters[0].bounds.min, stored.parameters[0].bounds.max) == (0, 100)
    assert (stored.parameters[1].bounds.min, stored.parameters[1].bounds.max) == (1, 50)
    assert stored.parameters[0].prior.mean == 0.5 and stored.parameters[1].default_value == 2
    served = run_loop(exp, 9)
    assert len(served) == 9 and all(inside(a, exp) for a in served)
    assert max(a["x"] for a in served) > 1 and max(a["n"] for a in served) > 3, "the new room is searched"
    assert len(exp.observations()) == 12


def test_a_narrowed_box_with_observations_outside_it_is_fitted_and_never_left() -> None:
    # The Bayesian optimizer fits its model once 5 observations exist: after the update, every old
    # observation with x > 0.6 or n = 1 lies outside the new box (the model sees it at the box's edge).
    parameters = [PARAMETERS[0], {**PARAMETERS[1], "bounds": {"min": 1, "max": 10}, "default_value": None}]
    exp = create("offline", budget=7, parameters=parameters)
    before = run_loop(exp, 7)
    assert any(not (0.3 <= a["x"] <= 0.6 and 2 <= a["n"] <= 3) for a in before)
    exp.update(parameters=with_bounds(exp, x=(0.3, 0.6), n=(2, 3)), budget=12)
    after = run_loop(exp, 5)
    assert len(after) == 5 and all(0.3 <= a["x"] <= 0.6 and 2 <= a["n"] <= 3 for a in after)
    assert [o.assignments for o in exp.observations()[:7]] == before, "old observations are kept as made"
    assert exp.progress.finished == 12


def test_parameters_given_in_another_order_keep_the_order_of_creation() -> None:
    exp = create()
    reordered = list(reversed(with_bounds(exp, x=(-1, 1))))
    exp.update(parameters=reordered)
    assert [p.name for p in exp.parameters] == [p["name"] for p in PARAMETERS]
    assert exp.parameters[0].bounds.min == -1


ANOTHER_PROCESS = """
    import json, sys
    import sigopt_ai as sigopt
    exp = sigopt.get_experiment(sys.argv[1])
    print(json.dumps(exp.suggest().assignments), flush=True)  # builds this process's strategy
    sys.stdin.readline()  # the parent updated the bounds meanwhile
    for _ in range(4):
        print(json.dumps(exp.suggest().assignments), flush=True)
"""


def test_another_process_serving_the_experiment_searches_the_new_bounds(store: Path) -> None:
    exp = create()
    child = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(ANOTHER_PROCESS), exp.id],
        env=child_env(store),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    first = json.loads(child.stdout.readline() or "null")
    assert first is not None and 1e-4 <= first["lr"] <= 1e-1
    exp.update(parameters=with_bounds(exp, lr=(1, 10)))
    out, err = child.communicate("go\n", timeout=120)
    assert child.returncode == 0, err
    served = [json.loads(line) for line in out.splitlines()]
    assert len(served) == 4 and all(1 <= a["lr"] <= 10 for a in served), served


def edited(index: int, **fields: Any) -> list[dict[str, Any]]:
    parameters = [dict(p) for p in PARAMETERS]
    parameters[index].update(fields)
    return [{k: v for k, v in p.items() if v is not None} for p in parameters]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            edited(0, type="int", prior=None, bounds={"min": 0, "max": 1}),
            r"parameters\[0\]\.type: only a parameter's bounds",
        ),
        (edited(0, prior={"name": "normal", "mean": 0.4, "scale": 0.2}), r"parameters\[0\]\.prior: only"),
        (edited(1, default_value=3), r"parameters\[1\]\.default_value: only"),
        (edited(2, categorical_values=["relu", "gelu"]), r"parameters\[2\]\.categorical_values: only"),
        (edited(3, grid=[1, 2, 8]), r"parameters\[3\]\.grid: only"),
        (edited(4, transformation=None), r"parameters\[4\]\.transformation: only"),
        (edited(1, name="m"), r"parameters\[1\]\.name: the experiment has no parameter 'm'"),
        (PARAMETERS[:4], r"parameters: 'lr' is missing"),
        ([*PARAMETERS, {"name": "z", "type": "double", "bounds": {"min": 0, "max": 1}}], r"parameters\[5\]\.name"),
        (edited(0, bounds={"min": 2, "max": 1}), r"parameters\[0\]\.bounds: min \(2\) must be less than max \(1\)"),
        (edited(1, bounds={"min": 1.5, "max": 3}), r"parameters\[1\]\.bounds"),
        (edited(1, bounds={"min": 3, "max": 5}), r"parameters\[1\]\.default_value: the default value 2 is outside"),
        (edited(0, bounds={"min": 0.6, "max": 1}), r"parameters\[0\]\.prior\.mean: the mean \(0\.5\) must be within"),
        (edited(4, bounds={"min": 0, "max": 1}), r"parameters\[4\]\.bounds"),
        (edited(2, bounds={"min": 0, "max": 1}), r"parameters\[2\]\.bounds"),
        ("x", r"parameters: expected a list"),
        ([], r"parameters: "),
    ],
)
def test_every_other_change_to_the_parameters_is_refused_naming_the_field(parameters: Any, message: str) -> None:
    exp = create()
    stored = sigopt.get_aiexperiment(exp.id).definition
    with pytest.raises(sigopt.ValidationError, match=f"^{message}"):
        exp.update(parameters=parameters, name="not applied")
    assert sigopt.get_aiexperiment(exp.id).definition == stored


HOSTILE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, True, "1", [1], {"min": 1}]),
)


@st.composite
def update_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """An update of the parameters' bounds, often hostile, sometimes with other fields beside."""
    parameters = [json.loads(json.dumps(p)) for p in PARAMETERS]
    for parameter in parameters:
        if "bounds" in parameter and draw(st.booleans()):
            bounds = parameter["bounds"]
            bounds[draw(st.sampled_from(["min", "max"]))] = draw(HOSTILE_NUMBERS)
    if draw(st.integers(0, 9)) == 0:
        parameters = draw(st.permutations(parameters))
    if draw(st.integers(0, 9)) == 0:
        parameters[draw(st.integers(0, 4))][draw(st.sampled_from(["type", "name", "grid", "bounds"]))] = draw(
            HOSTILE_NUMBERS
        )
    body: dict[str, Any] = {"parameters": parameters}
    extra = {"budget": HOSTILE_NUMBERS, "name": st.text(max_size=3), "type": st.just("grid"), "colour": st.just(1)}
    for key in draw(st.lists(st.sampled_from(sorted(extra)), max_size=2, unique=True)):
        body[key] = draw(extra[key])
    return body


@given(body=update_bodies())
def test_hostile_update_bodies_are_applied_whole_or_refused_naming_a_field(body: dict[str, Any]) -> None:
    exp = create()
    before = sigopt.get_aiexperiment(exp.id).definition.to_json()
    try:
        exp.update(**body)
    except sigopt.ValidationError as error:  # ValidationTypeError too
        assert str(error).split(":")[0].split("[")[0].split(".")[0] in body, error
        assert sigopt.get_aiexperiment(exp.id).definition.to_json() == before, "a refused update changes nothing"
        return
    after = sigopt.get_aiexperiment(exp.id).definition.to_json()
    assert parse_experiment(after).to_json() == after, "what is stored passes the rules of creation"
    assert [p["name"] for p in after["parameters"]] == [p["name"] for p in before["parameters"]]
    for old, new in zip(before["parameters"], after["parameters"], strict=True):
        assert {**old, "bounds": None} == {**new, "bounds": None}, "only bounds changed"
        if new["bounds"] is not None:
            assert all(math.isfinite(new["bounds"][k]) for k in ("min", "max"))
            assert new["bounds"]["min"] < new["bounds"]["max"]
    assert {k: v for k, v in after.items() if k not in ("parameters", "name", "budget")} == {
        k: v for k, v in before.items() if k not in ("parameters", "name", "budget")
    }
