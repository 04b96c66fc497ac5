# Source: sigopt/sigopt-python test/runs/test_context.py, TestLiveRunContext
#   (https://github.com/sigopt/sigopt-python/blob/main/test/runs/test_context.py): the user calls it makes on
#   a RunContext (params set by item and attribute, log_metadata with numbers/None/objects, log_metric with
#   and without stddev, bad values raising ValueError, log_dataset(name=), log_model(type_=), log_failure),
#   as a script on a real run instead of a mocked driver.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the mock run is `sigopt.create_run(...)`.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

with sigopt.create_run(name="context") as run:
    run.params["assignment_test_key"] = 12345
    assert run.params["assignment_test_key"] == 12345
    setattr(run.params, "other_key", "hello")
    assert run.params.other_key == "hello"
    assert getattr(run.params, "other_key") == "hello"

    run.log_metadata("number", 1.2345)
    run.log_metadata("nothing", None)
    run.log_metadata("listish", [])

    run.log_metric("good", 12345)
    run.log_metric("with_stddev", 0, 1.2345)
    for bad in [None, "hello", [], {}, object()]:
        try:
            run.log_metric("bad", bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"log_metric accepted {bad!r}")
    for bad_stddev in ["hello", [], {}, object()]:
        try:
            run.log_metric("bad_stddev", 0, bad_stddev)
        except ValueError:
            pass
        else:
            raise AssertionError(f"log_metric accepted stddev {bad_stddev!r}")

    run.log_dataset(name="dataset for testing")
    run.log_model(type_="test type")
    run.log_checkpoint({"good": 1.0})
    run.log_failure()
print("run", run.id)
