"""The SQL store writes a batch as one statement per group of operations of one kind; metrics and
checkpoints between two other operations are gathered by kind, since neither reads what the other writes."""

from __future__ import annotations

from sigopt_ai.backends.sql._runs import _groups


def test_interleaved_metrics_and_checkpoints_are_gathered_between_other_operations() -> None:
    ops = [
        ("start", "a"),
        ("metric", "m1"),
        ("checkpoint", "c1"),
        ("metric", "m2"),
        ("checkpoint", "c2"),
        ("fields", "f1"),
        ("fields", "f2"),
        ("checkpoint", "c3"),
        ("metric", "m3"),
        ("end", "a"),
        ("metric", "m4"),
    ]
    groups = [(kind, [op[1] for op in group]) for kind, group in _groups(ops)]
    assert groups == [
        ("start", ["a"]),
        ("metric", ["m1", "m2"]),  # each kind keeps its own order
        ("checkpoint", ["c1", "c2"]),
        ("fields", ["f1", "f2"]),
        ("checkpoint", ["c3"]),  # never moved across another kind's operation
        ("metric", ["m3"]),
        ("end", ["a"]),
        ("metric", ["m4"]),
    ]


def test_other_kinds_group_only_when_consecutive() -> None:
    ops = [("fields", 1), ("end", 1), ("fields", 2), ("fields", 3)]
    assert [(kind, len(group)) for kind, group in _groups(ops)] == [("fields", 1), ("end", 1), ("fields", 2)]
