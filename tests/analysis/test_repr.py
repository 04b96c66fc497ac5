"""Jupyter summaries (``_repr_html_``) of an experiment and a run, from a real experiment loop."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

import pytest

import sigopt_ai as sigopt
from sigopt_ai._html import history_svg
from sigopt_ai.analysis import history
from sigopt_ai.analysis._repr import REPR_POINTS

NAME = "<script>alert(1)</script>"
SVG_NS = "{http://www.w3.org/2000/svg}"


def objective(params: Mapping[str, Any]) -> float:
    """Fails by region, as real training does: out of memory, diverged, or an invalid assignment."""
    x, y = float(params["x"]), float(params["y"])
    if x > 0.8:
        raise MemoryError("a step needs 9 GiB")
    if y > 0.85:
        return math.nan  # a NaN metric fails the run as diverged
    if x < 0.1 and y < 0.1:
        raise sigopt.InvalidAssignment("x and y both too small")
    return (x - 0.3) ** 2 + (y - 0.4) ** 2


@pytest.fixture
def experiment() -> sigopt.Experiment:
    exp = sigopt.create_experiment(
        name=NAME,
        project="repr",
        parameters=[
            dict(name="x", type="double", bounds=dict(min=0, max=1)),
            dict(name="y", type="double", bounds=dict(min=0, max=1)),
        ],
        metrics=[dict(name="loss", objective="minimize")],
        budget=40,
        type="random",
        seed=7,
    )
    for run in exp.loop(progress=False):
        with run:
            run.log_checkpoint({"loss": 1.0})
            run.log_metric("loss", objective(run.params))
    return exp


def svg_of(html: str) -> ElementTree.Element:
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 1
    return ElementTree.fromstring(svgs[0])  # well-formed XML, or this raises


def test_experiment_summary_escapes_the_name_and_plots_every_observation(experiment: sigopt.Experiment) -> None:
    html = experiment._repr_html_()
    assert NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    observations = experiment.observations()
    progress = experiment.progress
    assert len(observations) == 40 and progress.failed >= 3 and len(progress.failed_by_kind) >= 2
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(progress.failed_by_kind.items(), key=lambda kv: -kv[1]))
    assert f"40 / 40 observations · {progress.failed} failed ({kinds})" in html

    best = experiment.best_observations()[0]
    assert f"{best.values['loss']:.6g}" in html and f"{best.assignments['x']:.6g}" in html

    svg = svg_of(html)
    marks = [e for e in svg.iter() if "mark" in (e.get("class") or "").split()]
    assert len(marks) == 40  # one per observation (under REPR_POINTS: none sampled out)
    failed = [e for e in marks if "failed" in (e.get("class") or "").split()]
    expected = sorted(str(o.failure_kind) for o in observations if o.failed)
    assert sorted(str(e.get("data-kind")) for e in failed) == expected
    for element in failed:  # the hover tip names the kind too
        title = element.find(f"{SVG_NS}title")
        assert (
            title is not None and title.text is not None and title.text.endswith(f"failed: {element.get('data-kind')}")
        )
    legend = "".join(svg.itertext())
    assert all(f"failed: {kind}" in legend for kind in progress.failed_by_kind)
    assert svg.find(f"{SVG_NS}polyline[@class='best']") is not None


def test_the_plot_is_drawn_from_the_sampled_history(experiment: sigopt.Experiment) -> None:
    data = history(experiment.definition, experiment.observations(), points=12)
    svg = ElementTree.fromstring(history_svg(data))
    marks = [e for e in svg.iter() if "mark" in (e.get("class") or "").split()]
    assert len(marks) == len(data["x"]) == 12
    assert REPR_POINTS >= 40


def test_run_summary_shows_state_params_metrics_and_the_failure(experiment: sigopt.Experiment) -> None:
    runs = {r.failure.kind.value if r.failure else "ok": r for r in experiment.runs()}
    oom = sigopt.get_run(runs["oom"].id)
    html = oom._repr_html_()
    assert NAME not in html and "&lt;script&gt;" in html  # the run's name holds the experiment's
    assert "state: <strong>failed</strong>" in html
    assert "oom</strong> MemoryError: a step needs 9 GiB" in html
    assert f"{oom.params['x']:.6g}" in html
    assert svg_of(html).find(f"{SVG_NS}circle") is not None  # the checkpoint curve

    ok = sigopt.get_run(runs["ok"].id)._repr_html_()
    assert "state: <strong>completed</strong>" in ok and f"{runs['ok'].metrics['loss']:.6g}" in ok


def test_a_run_without_checkpoints_has_no_plot() -> None:
    with sigopt.run(name="a & b", project="repr") as run:
        run.log_metric("acc", 0.5)
    html = sigopt.get_run(run.id)._repr_html_()
    assert "a &amp; b" in html and "<svg" not in html and "acc" in html
