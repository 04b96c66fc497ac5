"""A batch of write operations crosses JSON exactly, and a malformed batch is refused naming the item."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigopt_ai import wire
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind

from .test_v1 import canonical, ids, names, through_json, timestamps

# Any value an operation's free-form mapping may hold; keys include the encoding's own tags.
keys = names | st.sampled_from(["$tuple", "$float", "$dict", "$other"])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | names | st.sampled_from(["nan", "inf", "$float"]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=2),
    max_leaves=8,
)
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats()
sections = st.sampled_from(["params", "metadata", "sys_metadata", "datasets", "model"])
failures = st.builds(
    FailureInfo, kind=st.sampled_from(FailureKind), type=st.none() | names, message=names, traceback=st.none() | names
).map(FailureInfo.to_json)
ops = st.one_of(
    st.tuples(st.just("start"), ids, names, names, timestamps, st.none() | ids, st.none() | ids),
    st.tuples(st.just("fields"), ids, sections, st.dictionaries(keys, values, max_size=3)),
    st.tuples(st.just("metric"), ids, names, numbers, st.none() | st.floats(min_value=0), timestamps),
    st.tuples(st.just("checkpoint"), ids, st.integers(0, 2**63 - 1), st.dictionaries(keys, numbers), timestamps),
    st.tuples(st.just("failure"), ids, failures, timestamps),
    st.tuples(st.just("end"), ids, st.sampled_from(["completed", "failed"]), timestamps),
    st.tuples(st.just("heartbeat"), st.lists(ids, max_size=4).map(tuple), timestamps),
    st.tuples(st.just("file"), ids, ids, names, names, st.binary(max_size=64), timestamps),
)


@given(st.lists(ops, max_size=8))
def test_a_batch_comes_back_exactly(batch: list[tuple[Any, ...]]) -> None:
    back = wire.ops_from_json(through_json(wire.ops_to_json(batch)))
    assert canonical(back) == canonical(batch)


def test_what_json_lacks_is_tagged() -> None:
    batch = [
        ("metric", "r1", "loss", math.nan, None, 1.5),
        ("checkpoint", "r1", 3, {"loss": -math.inf, "acc": math.inf}, 1.5),
        ("heartbeat", ("r1", "r2"), 2.0),
        ("fields", "r1", "metadata", {"$float": "nan"}),  # a user's metadata, not a float
    ]
    assert wire.ops_to_json(batch) == [
        ["metric", "r1", "loss", {"$float": "nan"}, None, 1.5],
        ["checkpoint", "r1", 3, {"loss": {"$float": "-inf"}, "acc": {"$float": "inf"}}, 1.5],
        ["heartbeat", {"$tuple": ["r1", "r2"]}, 2.0],
        ["fields", "r1", "metadata", {"$dict": {"$float": "nan"}}],
    ]


def test_an_operation_holding_an_object_is_refused() -> None:
    failure = FailureInfo(FailureKind.OOM)
    with pytest.raises(ValidationTypeError, match=r"ops\[1\]\[2\] of a 'failure' operation: expected a JSON value"):
        wire.ops_to_json([("end", "r", "failed", 1.0), ("failure", "r", failure, 1.0)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ops": []}, "ops: expected a JSON array of operations"),
        ([["explode", "r1"]], "ops[0]: expected an operation, a JSON array whose first item is one of"),
        ([[["metric"]]], "ops[0]: expected an operation"),
        ([[]], "ops[0]: expected an operation"),
        ([["end", "r1", "completed"]], "ops[0]: a 'end' operation has 4 items, got 3."),
        ([["end", "r1", "running", 1.0]], "ops[0][2] (state of a 'end' operation): expected 'completed' or 'failed'"),
        ([["metric", "r1", "loss", "0.5", None, 1.0]], "ops[0][3] (value of a 'metric' operation): expected a number"),
        ([["metric", "r1", "loss", True, None, 1.0]], "ops[0][3] (value of a 'metric' operation): expected a number"),
        ([["heartbeat", [1], 1.0]], "ops[0][1] (run ids of a 'heartbeat' operation): expected an array of strings"),
        ([["checkpoint", "r1", 1, {"a": "x"}, 1.0]], "ops[0][3] (values of a 'checkpoint' operation)"),
        ([["failure", "r1", {"kind": "gremlins"}, 1.0]], "ops[0][2] (failure of a 'failure' operation)"),
        ([["metric", "r1", "loss", {"$float": "big"}, None, 1.0]], "ops[0][3]: {'$float': 'big'} is not a valid"),
        ([["metric", "r1", "loss", {"$float": []}, None, 1.0]], "ops[0][3]: {'$float': []} is not a valid"),
        ([["heartbeat", {"$tuple": "r1"}, 1.0]], "ops[0][1]: {'$tuple': 'r1'} is not a valid '$tuple' value."),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_item(data: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        wire.ops_from_json(data)
    assert message in str(info.value)


def test_a_batch_goes_through_json_without_nan() -> None:
    batch = [("metric", "r1", "loss", math.nan, math.inf, 1.0)]
    text = json.dumps(wire.ops_to_json(batch), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
