# Source: sigopt/sigopt-python README.md, "Authentication" and "Issuing Requests"
#   (https://github.com/sigopt/sigopt-python/blob/main/README.md).
# Changed: `from sigopt import ...` -> `from sigopt_ai import ...` (and `sigopt.examples` -> `sigopt_ai.examples`);
#   the README's SIGOPT_API_TOKEN variable (a credential) is read from the environment: None on the
#   embedded store, the live server's token otherwise. Reformatted to 4-space indents.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import os

from sigopt_ai import Connection
from sigopt_ai.examples import franke_function

SIGOPT_API_TOKEN = os.environ.get("SIGOPT_API_TOKEN")
conn = Connection(client_token=SIGOPT_API_TOKEN)

experiment = conn.experiments().create(
    name="Franke Optimization",
    parameters=[
        dict(name="x", type="double", bounds=dict(min=0.0, max=1.0)),
        dict(name="y", type="double", bounds=dict(min=0.0, max=1.0)),
    ],
    metrics=[dict(name="f", objective="maximize")],
)
print("Created experiment: https://sigopt.com/experiment/" + experiment.id)


# Evaluate your model with the suggested parameter assignments
# Franke function - http://www.sfu.ca/~ssurjano/franke2d.html
def evaluate_model(assignments):
    return franke_function(assignments["x"], assignments["y"])


# Run the Optimization Loop between 10x - 20x the number of parameters
for _ in range(20):
    suggestion = conn.experiments(experiment.id).suggestions().create()
    value = evaluate_model(suggestion.assignments)
    conn.experiments(experiment.id).observations().create(
        suggestion=suggestion.id,
        values=[dict(name="f", value=value)],
    )
