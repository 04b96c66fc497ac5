# Source: SigOpt docs, "AI Experiment Client Calls" (https://docs.sigopt.com/ai-module-api-references/api_reference/python_experiment):
#   the second way to loop (`while not experiment.is_finished(): with experiment.create_run() as run:`),
#   sigopt.get_experiment(experiment_id) to resume an experiment from another process, as
#   `sigopt create experiment` prints it (sigopt/cli/commands/experiment/create.py).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the model is a stand-in formula; budget 4. The first
#   loop stops after 2 runs (a stand-in for a worker that ends early) so that the second process resumes it.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import subprocess
import sys

import sigopt_ai as sigopt

experiment = sigopt.create_experiment(
    name="resumable",
    parameters=[dict(name="depth", type="int", bounds=dict(min=1, max=10))],
    metrics=[dict(name="f1", objective="maximize")],
    budget=4,
)

# first process: two runs, the docs' second way to loop
while not experiment.is_finished():
    with experiment.create_run() as run:
        run.log_metric("f1", 1.0 - abs(run.params.depth - 6) / 10)
    if experiment.progress.finished_run_count >= 2:
        break

# another process: what `sigopt create experiment` tells the user to write
resume = f"""
import sigopt_ai as sigopt
experiment = sigopt.get_experiment({experiment.id!r})
for run in experiment.loop():
    with run:
        run.log_metric("f1", 1.0 - abs(run.params.depth - 6) / 10)
"""
subprocess.run([sys.executable, "-c", resume], check=True)

experiment = sigopt.get_experiment(experiment.id)
print("finished", experiment.is_finished(), experiment.progress.finished_run_count)
