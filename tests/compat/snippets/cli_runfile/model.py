# Source: the model.py that sigopt-python's run.yml template names (`run: # python model.py`), in the pattern of
#   ci/tutorial/model.py. Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the model is a stand-in formula.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

sigopt.params.setdefault("lr", 0.01)
sigopt.log_metric("accuracy", 1.0 - abs(sigopt.params.lr - 0.02))
