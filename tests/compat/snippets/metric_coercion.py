# Source: what sigopt-python's log_metric accepts (sigopt/lib.py sanitize_number: ints kept, other values
#   through float(), so numpy numbers, numeric strings parsed from a log and bools pass; test/runs/
#   test_context.py test_log_metric_method_good_value) and log_metadata's number-or-str rule, in the
#   shape users write it: values read from a training log and numpy reductions.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the log lines are a stand-in for the user's file.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import numpy

import sigopt_ai as sigopt

log_lines = ["epoch=1 acc=0.81", "epoch=2 acc=0.9"]
with sigopt.create_run(name="coercion") as run:
    last = dict(part.split("=") for part in log_lines[-1].split())
    run.log_metric("acc", last["acc"])  # a str: sigopt-python takes float("0.9")
    run.log_metric("epochs", int(last["epoch"]))
    run.log_metric("converged", True)  # a bool: float(True) == 1.0
    run.log_metric("mean_loss", numpy.mean([0.5, 0.25]))  # numpy.float64
    run.log_metric("n_samples", numpy.int64(1000))
    run.log_metadata("n_features", numpy.int32(12))
    run.log_metadata("data_version", "v2")
print("run", run.id)
