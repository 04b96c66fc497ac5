# Source: sigopt/sigopt-python test/runs/test_factory.py, TestSigOptFactory
#   (https://github.com/sigopt/sigopt-python/blob/main/test/runs/test_factory.py): test_create_context_with_name,
#   test_local_run_context_methods and test_local_run_context_exception, as a script on real runs.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; `SigOptFactory("test-project").create_run` (with a
#   mocked connection) is the module's `sigopt.create_run`; the mocked `_update_run` asserts become reads of
#   the run's params.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

run_context = sigopt.create_run(name="test context")
assert run_context is not None
run_context.end()

with sigopt.create_run(name="test-run") as local_run:
    local_run.params.p1 = 1
    local_run.params.setdefault("p2", 2)
    local_run.params.update({"p3": 3, "p4": 4})
    local_run.params.setdefault("p3", 0)
    local_run.params.pop("p2")
    local_run.log_metric("metric", 1, 0.1)
assert dict(local_run.params) == {"p1": 1, "p3": 3, "p4": 4}, dict(local_run.params)


class TestException(Exception):
    pass


try:
    with sigopt.create_run(name="test-run-exception") as failing_run:
        raise TestException()
except TestException:
    print("raised through the with block, as sigopt-python does")
else:
    raise AssertionError("the exception did not propagate")
