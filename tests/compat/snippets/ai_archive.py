# Source: the archive calls of sigopt-python's module API (sigopt/factory.py: archive_run, unarchive_run,
#   archive_experiment/archive_aiexperiment(include_runs=), unarchive_experiment/unarchive_aiexperiment;
#   sigopt-reference.md §1.1-1.2), used as `sigopt archive run|experiment IDS` does (sigopt/cli/commands/
#   training_run/archive.py, experiment/archive.py), as a script: tidy up a project after a sweep.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

keep = sigopt.create_run(name="keep")
keep.log_metric("accuracy", 0.9)
keep.end()
scratch = sigopt.create_run(name="scratch")
scratch.log_metric("accuracy", 0.1)
scratch.end()
sigopt.archive_run(scratch.id)

experiment = sigopt.create_experiment(
    name="to archive",
    parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
    metrics=[dict(name="accuracy", objective="maximize")],
    budget=2,
)
sigopt.archive_experiment(experiment.id)
sigopt.unarchive_experiment(experiment.id)
for run in experiment.loop():
    with run:
        run.log_metric("accuracy", run.params.x)
sigopt.archive_aiexperiment(experiment.id, include_runs=True)

sigopt.archive_run(keep.id)
sigopt.unarchive_run(keep.id)
print("archived", scratch.id, experiment.id, "kept", keep.id)
