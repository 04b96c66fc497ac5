# Source: the `run-model.py` that sigopt-python's examples/parallel.py starts with `sigopt start-worker`
#   (the example does not show it; written as its README's model scripts are: module-level
#   sigopt.params and sigopt.log_metric). Changed: `import sigopt` -> `import sigopt_ai as sigopt`;
#   the model is a stand-in formula.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

x = sigopt.params.x
sigopt.log_metric("holdout_accuracy", 1.0 - abs(x - 20.0) / 50.0)
