# Source: SigOpt docs, "Optimization Loop" (https://app.sigopt.com/docs/overview/optimization) and
#   "Core Module Quick Start: Experiment Create" (https://docs.sigopt.com/core-module-api-references/quick-start).
# Changed: `from sigopt import Connection` -> `from sigopt_ai import Connection`; the "SIGOPT_API_TOKEN"
#   credential comes from the environment (None on the embedded store); make_model/score_model/dataset
#   (the user's private model and data) are a stand-in formula; observation_budget 30 -> 6 (test time).
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import os

from sigopt_ai import Connection

conn = Connection(client_token=os.environ.get("SIGOPT_API_TOKEN"))
if os.environ.get("SIGOPT_API_URL"):
    conn.set_api_url(os.environ["SIGOPT_API_URL"])

experiment = conn.experiments().create(
    name="first experiment",
    parameters=[
        dict(name="parameter_1", bounds=dict(min=10, max=100), type="int"),
        dict(name="parameter_2", bounds=dict(min=0.1, max=1.4), type="double"),
    ],
    metrics=[dict(name="metric_1", objective="maximize", strategy="optimize")],
    observation_budget=6,
)
EXPERIMENT_ID = experiment.id

dataset = None  # stand-in for the user's data


def evaluate_metric(assignments, dataset):
    # stand-in for make_model(assignments) and score_model(model, dataset)
    return -((assignments["parameter_1"] - 40) ** 2) / 1000.0 - (assignments["parameter_2"] - 0.7) ** 2


experiment = conn.experiments(EXPERIMENT_ID).fetch()

# Run the Optimization Loop until the Observation Budget is exhausted
while experiment.progress.observation_count < experiment.observation_budget:
    # Receive a suggestion
    suggestion = conn.experiments(experiment.id).suggestions().create()

    # Evaluate your metric
    value = evaluate_metric(suggestion.assignments, dataset)

    # Report an observation
    conn.experiments(experiment.id).observations().create(
        suggestion=suggestion.id,
        values=[dict(name="metric_1", value=value)],
    )

    # Update the experiment object
    experiment = conn.experiments(experiment.id).fetch()

# Fetch the best configuration and explore your experiment
all_best_assignments = conn.experiments(experiment.id).best_assignments().fetch()
# Returns a list of dict-like Observation objects
best_assignments = all_best_assignments.data[0].assignments
print("Best Assignments: " + str(best_assignments))
# Access assignment values as:
parameter_value = best_assignments["parameter_1"]
print("parameter_1 =", parameter_value)
print("Explore your experiment: https://app.sigopt.com/experiment/" + experiment.id + "/analysis")
