"""``@sigopt.run`` on every kind of callable, bare and with options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import sigopt_ai as sigopt


def test_bare_decorator_records_bound_arguments_with_defaults() -> None:
    seen: list[str] = []

    @sigopt.run
    def train(lr: float = 0.01, epochs: int = 3, *, tag: str = "a") -> float:
        seen.append(sigopt.current_run().id)
        return 0.5

    assert train(0.1) == 0.5
    record = sigopt.get_run(seen[0])
    assert record.name == "train"
    assert record.params == {"lr": 0.1, "epochs": 3, "tag": "a"}
    assert record.metrics == {"value": 0.5}
    assert record.state is sigopt.RunState.COMPLETED
    assert record.project == "tests"


def test_decorator_with_options_and_dict_return() -> None:
    @sigopt.run(name="baseline", project="mnist", metric="accuracy")
    def train(lr: float = 0.01, **extra: Any) -> dict[str, Any]:
        return {"accuracy": 0.93, "f1": 0.8, "model": object()}

    result = train(momentum=0.9)
    assert result["accuracy"] == 0.93  # returned unchanged
    record = sigopt.list_runs(project="mnist")[0]
    assert record.name == "baseline"
    assert record.params == {"lr": 0.01, "momentum": 0.9}
    assert record.metrics == {"accuracy": 0.93, "f1": 0.8}


def test_number_return_uses_metric_option() -> None:
    @sigopt.run(metric="accuracy")
    def train() -> float:
        return 0.93

    train()
    assert sigopt.list_runs()[0].metrics == {"accuracy": 0.93}


def test_each_call_opens_a_fresh_run() -> None:
    ids: list[str] = []

    @sigopt.run
    def train(x: int) -> None:
        ids.append(sigopt.current_run().id)

    train(1)
    train(2)
    assert len(set(ids)) == 2
    assert [sigopt.get_run(i).params["x"] for i in ids] == [1, 2]


def test_methods_classmethods_and_staticmethods() -> None:
    class Trainer:
        scale = 2

        @sigopt.run
        def fit(self, lr: float = 0.1) -> float:
            return lr * self.scale

        @classmethod
        @sigopt.run
        def fit_cls(cls, lr: float = 0.2) -> float:
            return lr * cls.scale

        @staticmethod
        @sigopt.run
        def fit_static(lr: float = 0.3) -> float:
            return lr

    assert Trainer().fit(0.5) == 1.0
    assert Trainer.fit_cls() == 0.4
    assert Trainer.fit_static() == 0.3
    records = sigopt.list_runs()
    assert sorted(r.params["lr"] for r in records) == [0.2, 0.3, 0.5]
    assert all("self" not in r.params and "cls" not in r.params for r in records)


def test_async_function() -> None:
    @sigopt.run(metric="score")
    async def train(x: int = 1) -> int:
        await asyncio.sleep(0.01)
        assert sigopt.current_run().params["x"] == x
        return x

    async def main() -> list[int]:
        return await asyncio.gather(train(1), train(2), train(3))

    assert asyncio.run(main()) == [1, 2, 3]
    records = sigopt.list_runs()
    assert sorted(r.metrics["score"] for r in records) == [1, 2, 3]
    assert all(r.metrics["score"] == r.params["x"] for r in records)


def test_exception_is_recorded_and_reraised() -> None:
    @sigopt.run
    def train() -> None:
        raise ValueError("batch_size larger than dataset")

    with pytest.raises(ValueError, match="batch_size"):
        train()
    record = sigopt.list_runs()[0]
    assert record.state is sigopt.RunState.FAILED
    assert record.failure is not None
    assert record.failure.kind is sigopt.FailureKind.INVALID_ASSIGNMENT
    assert record.failure.type == "ValueError"
    assert "batch_size larger than dataset" in (record.failure.traceback or "")


def test_disabled_switch_passes_calls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGOPT_AI_DISABLED", "1")

    @sigopt.run
    def train(x: int = 1) -> int:
        assert sigopt.current_run(silent=True) is None
        return x

    assert train(4) == 4
    monkeypatch.delenv("SIGOPT_AI_DISABLED")
    assert sigopt.list_runs() == []


def test_array_return_is_passed_through_and_not_a_metric() -> None:
    np = pytest.importorskip("numpy")

    @sigopt.run
    def predict() -> object:
        return np.array([0.1, 0.2])

    @sigopt.run
    def score() -> object:
        return {"acc": np.float32(0.5), "probs": np.array([0.3, 0.7])}

    assert predict().tolist() == [0.1, 0.2]
    score()
    records = sigopt.list_runs()
    assert [r.metrics for r in records] == [{"acc": 0.5}, {}]
    assert all(r.state is sigopt.RunState.COMPLETED for r in records)


def test_non_scalar_arguments_are_not_parameters() -> None:
    @sigopt.run
    def train(data: list[int], lr: float = 0.1) -> None:
        pass

    train([1, 2, 3])
    assert sigopt.list_runs()[0].params == {"lr": 0.1}


def test_bad_options_raise_where_given() -> None:
    with pytest.raises(sigopt.ValidationError, match="project must be"):
        sigopt.run(project="Not Valid")
    with pytest.raises(sigopt.ValidationTypeError, match="metric must be a string"):
        sigopt.run(metric=3)  # type: ignore[arg-type]
