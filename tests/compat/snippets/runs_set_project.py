# Source: sigopt/sigopt-python test/runs/test_set_project.py, test_set_project_without_run
#   (https://github.com/sigopt/sigopt-python/blob/main/test/runs/test_set_project.py), and the module functions
#   it touches (sigopt.get_run_id, sigopt.get_default_project), as a script.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the mock of get_run_id is a real call outside any
#   run; `_global_factory.project` (private) is read through a run created afterwards, in the project
#   created as sigopt-python's ProjectNotFoundException tells its user to.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import warnings

import sigopt_ai as sigopt

print("default project", sigopt.get_default_project())
assert sigopt.get_run_id() is None
with warnings.catch_warnings():
    warnings.simplefilter("error")
    sigopt.set_project("test-123")
sigopt.create_project()  # sigopt-python needs the project to exist (its ProjectNotFoundException says so)
with sigopt.create_run(name="in test-123") as run:
    assert sigopt.get_run_id() is None or sigopt.get_run_id() == run.id
    run.log_metric("m", 1.0)
print("run", run.id)
