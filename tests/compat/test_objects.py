"""``ApiObject`` and ``Pagination``: SigOpt JSON read by attribute, as sigopt-python's objects read it."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigopt_ai._objects import ApiMap, ApiObject, Pagination, as_json, wrap

EXPERIMENT = {
    "object": "experiment",
    "id": "7",
    "progress": {"object": "progress", "observation_count": 3},
    "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}}],
    "metadata": {"owner": "me"},
}


def test_nested_objects_read_by_attribute_and_by_key() -> None:
    e = ApiObject(EXPERIMENT)
    assert e.progress.observation_count == 3 and e["progress"]["observation_count"] == 3
    assert e.parameters[0].bounds.min == 0.0
    assert e.metadata == {"owner": "me"} and isinstance(e.metadata, ApiMap)
    assert e.to_json() == EXPERIMENT and e.to_json() is not e.to_json()


def test_a_field_sigopt_defines_reads_none_and_a_typo_raises() -> None:
    e = ApiObject(EXPERIMENT)
    assert e.budget is None and e.progress.best_observation is None and e.parameters[0].prior is None
    with pytest.raises(AttributeError, match="has no field 'progres'"):
        e.progres  # noqa: B018 (the attribute access is what is tested)
    with pytest.raises(KeyError):
        e["budget"]


def test_assignments_stay_a_dict_for_keyword_arguments() -> None:
    suggestion = ApiObject({"object": "suggestion", "id": "1", "assignments": {"x": 0.5, "n": 2}})

    def evaluate(x: float, n: int) -> float:
        return x * n

    assert evaluate(**suggestion.assignments) == 1.0 and dict(suggestion.assignments.items()) == {"x": 0.5, "n": 2}


def test_edits_write_json_into_the_object_it_was_read_from() -> None:
    # sigopt-python's integration_test/test_experiment.py edits parameters in place, then sends them back.
    e = ApiObject(copy.deepcopy(EXPERIMENT))
    parameters = e.parameters
    parameters[0].bounds.max = np.float64(100.0)
    e.name = "renamed"
    e.progress.observation_count = np.int64(4)
    assert e.to_json()["parameters"][0]["bounds"] == {"min": 0.0, "max": 100.0}
    assert type(e.to_json()["parameters"][0]["bounds"]["max"]) is float and e.progress.observation_count == 4
    assert as_json({"parameters": parameters}) == {"parameters": e.to_json()["parameters"]}
    assert e.name == "renamed"
    del e.name
    assert e.name is None  # a field SigOpt defines, no longer in the JSON
    with pytest.raises(AttributeError, match="not a field"):
        e._secret = 1


def test_wrap_copies_so_edits_never_reach_the_source() -> None:
    source = copy.deepcopy(EXPERIMENT["parameters"])
    parameters = wrap(source, "[parameter]")
    parameters[0].bounds.min = -5.0
    assert source == EXPERIMENT["parameters"]


def test_objects_compare_by_json_and_pickle() -> None:
    e = ApiObject(copy.deepcopy(EXPERIMENT))
    assert pickle.loads(pickle.dumps(e)) == e == ApiObject(copy.deepcopy(EXPERIMENT))
    assert e != ApiObject({**EXPERIMENT, "id": "8"})
    assert repr(e).startswith("Experiment(id='7'")


def test_iterate_pages_follows_before_until_the_last_page() -> None:
    pages = {None: (["a", "b"], "m1"), "m1": (["c"], "m2"), "m2": ([], None)}
    asked: list[Any] = []

    def fetch(**params: Any) -> Pagination:
        asked.append(params)
        return page(params.get("before"))

    def page(marker: str | None) -> Pagination:
        ids, before = pages[marker]
        body = {"object": "pagination", "count": 3, "data": [{"id": i} for i in ids], "paging": {"before": before}}
        return Pagination(body, item_kind="suggestion", fetch_page=fetch, params={"state": "open"})

    first = page(None)
    assert [s.id for s in first.iterate_pages()] == ["a", "b", "c"]
    assert asked == [{"state": "open", "before": "m1"}, {"state": "open", "before": "m2"}]
    assert first.data[0].assignments is None  # a suggestion's field, absent here
    assert first.count == 3 and first.paging.after is None


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_any_json_object_reads_back_as_given(body: dict[str, Any]) -> None:
    obj = ApiObject(body)
    assert obj.to_json() == body
    for key, value in body.items():
        assert plain(getattr(obj, key)) == value == plain(obj[key])


def plain(value: Any) -> Any:
    """What was read, as JSON again."""
    if isinstance(value, ApiObject):
        return value.to_json()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
