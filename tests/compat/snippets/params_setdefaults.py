# Source: the AI-module model script of sigopt-python's docs and ci/tutorial/model.py: `sigopt.params.setdefaults`
#   at the top of the script, then module-level sigopt.log_* and sigopt.log_image (sigopt-reference.md §1.5 "Expected user
#   pattern"; https://github.com/sigopt/sigopt-python/blob/main/ci/tutorial/model.py), run both as
#   `python model.py` (no run: the calls do nothing) and as `sigopt run python model.py`.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the training is a stand-in formula.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import numpy

import sigopt_ai as sigopt

sigopt.params.setdefaults(lr=1e-3, depth=4, activation="relu")
sigopt.log_dataset("mnist")
sigopt.log_model("mlp")
sigopt.log_metadata("commit", "abc123")

loss = 1.0
for epoch in range(3):
    loss = loss * (1 - sigopt.params.lr * 100) + sigopt.params.depth / 100
    sigopt.log_checkpoint({"loss": loss})
sigopt.log_metric("loss", loss)
sigopt.log_metrics({"accuracy": 1 - loss / 2}, epochs=3)
sigopt.log_image(numpy.full((8, 8), 128, dtype=numpy.uint8), name="weights")
print("lr", sigopt.params.lr, "depth", sigopt.params.depth, "run", sigopt.get_run_id())
