# Source: SigOpt docs, "AI Experiment Client Calls" (https://docs.sigopt.com/ai-module-api-references/api_reference/python_experiment):
#   sigopt.create_experiment(...), `for run in experiment.loop(): with run: ...`, experiment.get_best_runs(),
#   experiment.progress and its attributes, and the TrainingRun objects' `assignments` and `values[name].value`
#   (also from sigopt.get_run(id)).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`. The docs' Keras model and its exact parameter
#   list are not reproduced: the model is a stand-in formula (the user's model and data) over three
#   parameters of the docs' kinds (log double, int, categorical); budget 5 (test time).
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt


def train_and_evaluate(learning_rate, batch_size, optimizer):
    # stand-in for the user's model: returns (accuracy, loss)
    accuracy = (
        0.9 - abs(learning_rate - 0.01) * 5 - abs(batch_size - 64) / 1000 - (0.0 if optimizer == "adam" else 0.05)
    )
    return accuracy, 1.0 - accuracy


experiment = sigopt.create_experiment(
    name="Keras Model Optimization (Python)",
    type="offline",
    parameters=[
        dict(name="learning_rate", type="double", bounds=dict(min=0.0001, max=0.1), transformation="log"),
        dict(name="batch_size", type="int", bounds=dict(min=16, max=256)),
        dict(name="optimizer", type="categorical", categorical_values=["adam", "sgd"]),
    ],
    metrics=[
        dict(name="accuracy", strategy="optimize", objective="maximize"),
        dict(name="loss", strategy="store", objective="minimize"),
    ],
    parallel_bandwidth=1,
    budget=5,
)
print("Created experiment", experiment.id, experiment.name)

for run in experiment.loop():
    with run:
        accuracy, loss = train_and_evaluate(run.params.learning_rate, run.params.batch_size, run.params.optimizer)
        run.log_metric("accuracy", accuracy)
        run.log_metric("loss", loss)

experiment.refresh()
print("remaining budget", experiment.progress.remaining_budget)
print(
    "metrics",
    [m.name for m in experiment.metrics],
    "parameters",
    [p.name for p in experiment.parameters],
    "state",
    experiment.state,
    "bandwidth",
    experiment.parallel_bandwidth,
)
for best in experiment.get_best_runs():
    print("best run", best.id, dict(best.assignments), best.values["accuracy"].value)
print("runs", sum(1 for _ in experiment.get_runs()))
for run in experiment.get_runs():
    print("run", run.id, run.state, sorted(run.values))
record = sigopt.get_run(best.id)
print("record", record.values["accuracy"].value, record.assignments["batch_size"])
