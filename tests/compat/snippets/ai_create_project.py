# Source: sigopt-python's project calls: `sigopt.create_project()` as the integration workflow runs
#   `sigopt create project` before anything else (.github/workflows/integration.yml), the
#   ConflictingProjectException a second create raises (sigopt/factory.py, sigopt/exception.py), and the
#   module names users print or catch (sigopt.VERSION, sigopt.config.api_token, sigopt.get_default_project,
#   sigopt.exception), create_run(name=, metadata=);
#   sigopt-reference.md §1.1-1.2.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`, `from sigopt.exception` -> `from sigopt_ai.exception`.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt
from sigopt_ai.exception import ConflictingProjectException, SigOptException

print("sigopt", sigopt.VERSION, "project", sigopt.get_default_project())
print("token configured:", sigopt.config.api_token is not None)
sigopt.create_project()
try:
    sigopt.create_project()
except ConflictingProjectException as e:
    print("exists:", e)
sigopt.create_project(id_="side-project", name="Side Project")
sigopt.set_project("side-project")
with sigopt.create_run(name="in the side project", metadata={"owner": "data team"}) as run:
    run.log_metric("accuracy", 0.5)
assert issubclass(ConflictingProjectException, SigOptException)
print("run", run.id)
