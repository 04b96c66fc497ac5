"""Ray Tune with SigOptSearch: gradient descent on a quadratic, where big steps diverge and wide
models hit a declared memory cap. Both become failed observations the optimizer learns to avoid.

    python examples/ray_example.py

Tune starts a local Ray (or joins the one RAY_ADDRESS names); the experiment lives in the embedded
store (SIGOPT_AI_DB) or on the server SIGOPT_API_URL names. Only this driver talks to it.
"""

from __future__ import annotations

import sys

from ray import tune

import sigopt_ai as sigopt
from sigopt_ai.integrations.ray import SigOptSearch

BUDGET = int(sys.argv[1]) if len(sys.argv) > 1 else 10
MEMORY_CAP = 48  # units of "memory" a trial may use, as on a small GPU


def train(config: dict) -> None:
    width, lr = config["width"], config["lr"]
    if width * 4 > MEMORY_CAP:  # the model's size, estimated before allocating it
        raise MemoryError(f"width {width} needs {width * 4} units, over the cap of {MEMORY_CAP}")
    w = 3.0
    for step in range(1, 201):
        w -= lr * 100 * w  # the gradient of 50 w**2: a step over 0.02 overshoots, further each time
        if step % 20 == 0:
            tune.report({"loss": 50 * w * w + 1.0 / width})  # inf once w overflows: diverged


space = [
    {"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 0.1}, "transformation": "log"},
    {"name": "width", "type": "int", "bounds": {"min": 1, "max": 16}},
]
search = SigOptSearch(space, name="ray example", metric="loss", mode="min", max_concurrent=2, observation_budget=BUDGET)
tuner = tune.Tuner(
    train,
    tune_config=tune.TuneConfig(search_alg=search, num_samples=-1),  # until the budget is spent
    run_config=tune.RunConfig(callbacks=[search.callback], verbose=0),  # the callback classifies errors
)
tuner.fit()

experiment = search.experiment
assert experiment is not None
print(experiment.progress)
for best in experiment.best_runs()[:1]:  # none when every trial failed (a tiny budget)
    print(f"best run {best.id}: loss={best.metrics['loss']:.4g} with {dict(best.params)}")
    print("last checkpoint:", sigopt.get_run(best.id).checkpoints[-1])
if not experiment.best_runs():
    print("no run succeeded:", experiment.progress.failed_by_kind)
