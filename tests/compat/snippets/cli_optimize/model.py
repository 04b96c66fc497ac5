# Source: the model script `sigopt optimize -e experiment.yml python model.py` runs (sigopt-reference.md §1.9;
#   the pattern of ci/tutorial/model.py: sigopt.params with defaults, module-level log_metric).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the training is a stand-in formula.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

sigopt.params.setdefaults(lr=0.01, depth=4)
sigopt.log_dataset("iris")
accuracy = 0.9 - abs(sigopt.params.lr - 0.01) - abs(sigopt.params.depth - 5) / 50
print(f"lr={sigopt.params.lr} depth={sigopt.params.depth} accuracy={accuracy:.4f}")
sigopt.log_metric("accuracy", accuracy)
