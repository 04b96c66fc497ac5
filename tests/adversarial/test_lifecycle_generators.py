"""Leaving a run by closing a generator, by ``sys.exit`` or by any BaseException.

Closing a generator suspended inside ``with run:`` is a normal way to leave: the run ends as on a
clean exit, and inside an experiment loop its observation is recorded. No BaseException that is not
an Exception (GeneratorExit, KeyboardInterrupt, SystemExit, ...) is ever absorbed by a loop's run.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import sigopt_ai as sigopt


@pytest.fixture
def exp() -> sigopt.Experiment:
    return sigopt.create_experiment(
        name="generators",
        parameters=[{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        metrics=[{"name": "y", "objective": "maximize"}],
        budget=4,
    )


def test_closing_a_generator_inside_a_run_completes_the_run() -> None:
    def batches() -> Iterator[str]:
        with sigopt.run(name="generator") as run:
            run.log_metric("loss", 0.25)
            yield run.id
            yield "never reached"

    gen = batches()
    run_id = next(gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "generator ignored GeneratorExit"
        gen.close()
    record = sigopt.get_run(run_id)
    assert record.state is sigopt.RunState.COMPLETED and record.failure is None
    assert record.metrics == {"loss": 0.25}


def test_closing_a_generator_inside_a_loop_run_records_the_observation(exp: sigopt.Experiment) -> None:
    def evaluations() -> Iterator[sigopt.RunContext]:
        for run in exp.loop(progress=False):
            with run:
                run.log_metric("y", run.params["x"])
                yield run

    gen = evaluations()
    run = next(gen)
    gen.close()  # raised "generator ignored GeneratorExit" when the loop's run absorbed it
    assert run.state is sigopt.RunState.COMPLETED
    (observation,) = exp.observations()
    assert not observation.failed and observation.values == {"y": run.params["x"]}
    assert observation.run == run.id
    assert exp.progress.finished == 1 and exp.progress.active == 0  # not served again


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()], ids=repr)
def test_a_loop_run_never_absorbs_a_base_exception(exp: sigopt.Experiment, exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        for run in exp.loop(progress=False):
            with run:
                run.log_metric("y", 0.5)
                raise exc
    assert exp.progress.active == 0
    assert len(exp.runs()) == 1  # the loop did not go on to the next suggestion


def test_sys_exit_0_inside_a_loop_run_records_the_observation_and_exits(exp: sigopt.Experiment) -> None:
    with pytest.raises(SystemExit):
        for run in exp.loop(progress=False):
            with run:
                run.log_metric("y", 0.5)
                raise SystemExit(0)
    (observation,) = exp.observations()
    assert observation.values == {"y": 0.5} and not observation.failed
