"""Hostile input to the sigopt-python names: whatever a caller passes, the answer is success or a
:class:`~sigopt_ai.SigOptError` that names the field, never another exception, and a refused call
stores nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigopt_ai as sigopt

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.builds(pow, st.just(10), st.sampled_from([400, 5000])),  # past float, past str()
    st.floats(),
    st.text(max_size=12),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.sampled_from(["a" * 101, "b" * 501, "Bad Project", "ok-project", "1", "NaN", "completed", "failed"]),
    st.binary(max_size=4),
    st.sampled_from([Decimal("NaN"), Decimal("1e400"), 1 + 2j, object()]),
)
HOSTILE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3),
    max_leaves=8,
)
FIELD_KEYS = st.sampled_from(["name", "assignments", "values", "state", "metadata", "datasets", "model", "project"])
BODIES = st.one_of(
    HOSTILE,
    st.dictionaries(FIELD_KEYS | st.text(max_size=5), HOSTILE, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.text(max_size=4) | HOSTILE,
            "assignments": st.dictionaries(st.text(max_size=4), SCALARS, max_size=2) | HOSTILE,
            "values": st.dictionaries(
                st.text(max_size=4),
                st.fixed_dictionaries({"value": SCALARS}, optional={"value_stddev": SCALARS, "name": SCALARS})
                | HOSTILE,
                max_size=2,
            ),
            "state": st.sampled_from(["active", "completed", "failed"]) | HOSTILE,
            "metadata": st.dictionaries(st.text(max_size=4), SCALARS, max_size=2) | HOSTILE,
            "datasets": st.lists(st.text(max_size=4), max_size=2) | HOSTILE,
            "model": st.fixed_dictionaries({"type": SCALARS}) | HOSTILE,
            "project": SCALARS,
        },
    ),
)


def answers_or_names(call: Callable[[], Any], *fields: str) -> bool:
    """Call; a refusal must be a SigOptError whose message names one of ``fields``. True if it succeeded."""
    try:
        call()
    except sigopt.SigOptError as exc:
        message = str(exc)
        assert any(re.search(field, message) for field in fields), message
        assert len(message) < 1_000, message  # a huge value is never echoed in full
        return False
    return True


@given(runs=st.lists(BODIES, max_size=3) | HOSTILE, size=st.integers(-2, 3) | HOSTILE)
def test_upload_runs(runs: Any, size: Any) -> None:
    before = len(sigopt.list_runs(limit=100))
    stored = answers_or_names(lambda: sigopt.upload_runs(runs, size), r"^runs", r"^max_batch_size")
    after = len(sigopt.list_runs(limit=100))
    assert after == (before + len(runs) if stored else before)


@given(id_=HOSTILE, name=HOSTILE)
def test_create_project(id_: Any, name: Any) -> None:
    answers_or_names(lambda: sigopt.create_project(id_, name), r"^id_", r"^name", r"^project")


@given(project=HOSTILE)
def test_set_project(project: Any) -> None:
    before = sigopt.get_default_project()
    if not answers_or_names(lambda: sigopt.set_project(project), r"^project"):
        assert sigopt.get_default_project() == before


@pytest.mark.parametrize("call", [sigopt.archive_run, sigopt.unarchive_run], ids=["archive", "unarchive"])
@given(run_id=HOSTILE)
def test_archive_run(call: Callable[[Any], None], run_id: Any) -> None:
    assert not answers_or_names(lambda: call(run_id), r"^run id")


@given(experiment_id=HOSTILE, include_runs=HOSTILE)
def test_experiment_ids(experiment_id: Any, include_runs: Any) -> None:
    for call in (
        lambda: sigopt.get_aiexperiment(experiment_id),
        lambda: sigopt.archive_experiment(experiment_id, include_runs),
        lambda: sigopt.unarchive_aiexperiment(experiment_id),
    ):
        assert not answers_or_names(call, r"^experiment id", r"^There is no experiment with id", r"^include_runs")


@given(name=HOSTILE, metadata=HOSTILE)
def test_create_run(name: Any, metadata: Any) -> None:
    if answers_or_names(lambda: sigopt.create_run(name, metadata).end(), r"^name", r"^metadata"):
        return
    assert sigopt.list_runs(limit=1) == [] or sigopt.list_runs(limit=1)[0].name != name


EXPERIMENT_FIELDS = st.sampled_from(["name", "metadata", "state", "budget", "parameters", "id", "project", "type"])


@given(fields=st.dictionaries(EXPERIMENT_FIELDS | st.text(max_size=5), HOSTILE, max_size=3))
def test_experiment_update(fields: dict[str, Any]) -> None:
    exp = sigopt.create_aiexperiment(
        name="e", parameters=[{"name": "x", "type": "int", "bounds": {"min": 0, "max": 3}}], metrics=["m"], budget=2
    )
    names = [rf"^({re.escape(key)}|{re.escape(repr(key))})\W" for key in fields]
    if not answers_or_names(lambda: exp.update(**fields), *names, r"^There is no experiment"):
        exp.refresh()
        assert (exp.name, exp.metadata, exp.state) == ("e", {}, "active")


@given(name=HOSTILE, metadata=HOSTILE)
def test_experiment_create_run(name: Any, metadata: Any) -> None:
    exp = sigopt.create_aiexperiment(
        name="e", parameters=[{"name": "x", "type": "int", "bounds": {"min": 0, "max": 3}}], metrics=["m"], budget=1
    )
    runs: list[sigopt.RunContext] = []
    if answers_or_names(lambda: runs.append(exp.create_run(name, metadata)), r"^name", r"^metadata"):
        with runs[0] as run:
            run.log_metric("m", 1.0)
        assert exp.progress.finished == 1
    else:
        assert exp.progress.active == 0  # a refused call leases no suggestion
