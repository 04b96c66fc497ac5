# Source: sigopt/sigopt-python integration_test/test_sigopt.py, TestSigOpt.test_upload_runs
#   (https://github.com/sigopt/sigopt-python/blob/main/integration_test/test_sigopt.py), as a script.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the pytest parametrisation
#   (n in [10, 11] x max_batch_size in [2, 3, 10, 20]) is a loop. Reformatted to 4-space indents.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt


def create_run(n):
    return {
        "name": f"batch-{n}",
        "assignments": {
            "x": n,
            "y": n * n,
        },
        "values": {
            "r0": dict(value=n * n + n),
            "r1": dict(value=n**2),
        },
        "state": "completed" if (n % 2 == 0) else "failed",
    }


for n in [10, 11]:
    for max_batch_size in [2, 3, 10, 20]:
        runs = [create_run(i) for i in range(n)]
        training_runs = sigopt.upload_runs(runs, max_batch_size)
        assert len(training_runs) == n
print("uploaded")
