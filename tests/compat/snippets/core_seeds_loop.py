# Source: "the core loop of the seeds" (issues 16 and 17): the core-module loop as sigopt-python's users write it
#   (sigopt-reference.md §1.12, from sigopt-python's sigopt/interface.py resource tree; the flow of
#   https://app.sigopt.com/docs/overview/optimization with failures reported as `failed=True`), then listing,
#   an ApiException for a missing experiment (sigopt/exception.py) and Experiment Delete; observations are read
#   back two a page (`fetch(limit=2).iterate_pages()`), as issue 16 did with the official client.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`, `sigopt.exception` -> `sigopt_ai.exception`; the token and API URL (credentials) come
#   from the environment (none on the embedded store); the objective is a stand-in formula.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import os

import sigopt_ai as sigopt
from sigopt_ai.exception import ApiException

conn = sigopt.Connection(client_token=os.environ.get("SIGOPT_API_TOKEN"))
if os.environ.get("SIGOPT_API_URL"):
    conn.set_api_url(os.environ["SIGOPT_API_URL"])

experiment = conn.experiments().create(
    name="core loop",
    parameters=[
        {"name": "x", "type": "double", "bounds": {"min": -1.0, "max": 1.0}},
        {"name": "n", "type": "int", "bounds": {"min": 1, "max": 8}},
        {"name": "c", "type": "categorical", "categorical_values": [{"name": "a"}, {"name": "b"}]},
    ],
    metrics=[{"name": "score", "objective": "maximize"}],
    observation_budget=6,
)
print("created", experiment.id, experiment.progress.observation_count)

count = 0
while experiment.progress.observation_count < experiment.observation_budget:
    suggestion = conn.experiments(experiment.id).suggestions().create()
    a = suggestion.assignments
    if count == 1:
        # the model crashed on these assignments: tell the optimizer
        conn.experiments(experiment.id).observations().create(suggestion=suggestion.id, failed=True)
    elif count == 3:
        # reported by its assignments rather than the suggestion's id
        score = -((a["x"] - 0.3) ** 2) + a["n"] / 10 + (0.5 if a["c"] == "a" else 0.0)
        conn.experiments(experiment.id).observations().create(
            assignments=dict(a), values=[{"name": "score", "value": score}]
        )
        conn.experiments(experiment.id).suggestions(suggestion.id).delete()
    else:
        score = -((a["x"] - 0.3) ** 2) + a["n"] / 10 + (0.5 if a["c"] == "a" else 0.0)
        conn.experiments(experiment.id).observations().create(
            suggestion=suggestion.id, values=[{"name": "score", "value": score}]
        )
    count += 1
    experiment = conn.experiments(experiment.id).fetch()

observations = list(conn.experiments(experiment.id).observations().fetch(limit=2).iterate_pages())
print("observations", len(observations), "failed", sum(1 for o in observations if o.failed))
open_suggestions = conn.experiments(experiment.id).suggestions().fetch(state="open")
print("open suggestions", len(list(open_suggestions.iterate_pages())))

best = conn.experiments(experiment.id).best_assignments().fetch()
for b in best.iterate_pages():
    print("best", dict(b.assignments), [v.value for v in b.values])

conn.experiments(experiment.id).update(name="core loop (done)")
print("renamed", conn.experiments(experiment.id).fetch().name)

listed = [e.id for e in conn.experiments().fetch().iterate_pages()]
print("listed", experiment.id in listed)
try:
    conn.experiments("999999999").fetch()
except ApiException as e:
    print("no such experiment:", e.status_code)
conn.experiments(experiment.id).delete()
print("deleted", conn.experiments(experiment.id).fetch().state)
