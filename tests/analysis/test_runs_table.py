"""The runs table: the SQL store's page (``SQLBackend.run_page``, what the server serves) and the
in-memory page (:func:`sigopt_ai.analysis.runs_page`) give the same rows in the same order, for any
runs, column, order, state filter and window; and the query's rules name the field."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigopt_ai._exceptions import ValidationError
from sigopt_ai.analysis import RUN_SORTS, runs_page
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.experiments._parse import parse_experiment

DEFINITION = parse_experiment(
    {
        "name": "t",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "loss", "objective": "minimize"}, {"name": "other", "strategy": "store"}],
    }
)
_experiments = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLBackend]:
    backend = SQLBackend(str(Path(tmp_path_factory.mktemp("runs")) / "runs.db"))
    yield backend
    backend.close()


run = st.fixed_dictionaries(
    {
        "created": st.integers(0, 5).map(float),  # few values: ties must be broken alike
        "name": st.sampled_from(["a", "b", "B", "run 10", "run 9"]),
        "end": st.sampled_from([None, "completed", "failed"]),
        "duration": st.integers(0, 3).map(float),
        "loss": st.one_of(st.none(), st.integers(-2, 2).map(float), st.sampled_from([math.nan, math.inf, -math.inf])),
        "kind": st.sampled_from(["oom", "diverged", "invalid_assignment"]),
    }
)


def _write(store: SQLBackend, experiment: str, runs: list[dict[str, Any]]) -> None:
    ops: list[tuple[Any, ...]] = []
    for i, r in enumerate(runs):
        rid = f"{experiment}-{i:03d}"
        ops.append(("start", rid, "p", r["name"], r["created"], experiment, str(i)))
        ops.append(("fields", rid, "params", {"x": i / 100}))
        if r["loss"] is not None:
            ops.append(("metric", rid, "loss", r["loss"], None, r["created"]))
        if r["end"] == "failed":
            failure = {"kind": r["kind"], "type": "E", "message": "m", "traceback": None}
            ops.append(("failure", rid, failure, r["created"] + r["duration"]))
        if r["end"] is not None:
            ops.append(("end", rid, r["end"], r["created"] + r["duration"]))
    store.write(ops)


@settings(max_examples=40, deadline=None)
@given(runs=st.lists(run, max_size=25), offset=st.integers(0, 8), limit=st.integers(1, 30))
def test_the_store_and_memory_sort_and_cut_alike(
    store: SQLBackend, runs: list[dict[str, Any]], offset: int, limit: int
) -> None:
    experiment = f"e{next(_experiments)}"
    _write(store, experiment, runs)
    every = store.list_runs(experiment=experiment)
    for sort, order, state in itertools.product(RUN_SORTS, ("asc", "desc"), (None, "active", "failed")):
        expected = runs_page(DEFINITION, every, offset=offset, limit=limit, sort=sort, order=order, state=state)
        count, page = store.run_page(
            experiment, offset=offset, limit=limit, sort=sort, descending=order == "desc", state=state, metric="loss"
        )
        assert count == expected["count"], (sort, order, state)
        assert [r.id for r in page] == [row["id"] for row in expected["data"]], (sort, order, state)


def test_rows_carry_values_failures_and_durations(store: SQLBackend) -> None:
    experiment = f"e{next(_experiments)}"
    _write(
        store,
        experiment,
        [
            {"created": 1.0, "name": "ok", "end": "completed", "duration": 2.0, "loss": 0.5, "kind": "oom"},
            {"created": 2.0, "name": "bad", "end": "failed", "duration": 1.0, "loss": math.nan, "kind": "oom"},
            {"created": 3.0, "name": "running", "end": None, "duration": 0.0, "loss": None, "kind": "oom"},
        ],
    )
    rows = runs_page(DEFINITION, store.list_runs(experiment=experiment), sort="duration", order="asc")["data"]
    assert [(r["name"], r["duration"]) for r in rows] == [("bad", 1.0), ("ok", 2.0), ("running", None)]
    assert rows[0]["failure"] == {"kind": "oom", "message": "m"} and rows[0]["values"] == {"loss": None, "other": None}
    assert rows[1]["values"] == {"loss": 0.5, "other": None} and rows[1]["assignments"] == {"x": 0.0}
    assert rows[1]["suggestion"] == "0" and rows[2]["state"] == "active" and rows[2]["ended"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"sort": "colour"}, "sort"),
        ({"order": "up"}, "order"),
        ({"state": "lost"}, "state"),
    ],
)
def test_a_bad_query_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}: "):
        runs_page(DEFINITION, [], **kwargs)
