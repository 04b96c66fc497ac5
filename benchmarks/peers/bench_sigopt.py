"""sigopt-python 8.8.3 logging overhead against a local stub of its API server.

Run: ``<venv>/bin/python bench_sigopt.py`` (needs ``sigopt==8.8.3 psutil``). The driver starts
``sigopt_stub.py`` (same folder) on 127.0.0.1, points the client at it with ``SIGOPT_API_URL``, and
times ``run.log_metric`` (one blocking HTTP request per call) and ``run.log_checkpoint``. The stub
answers as fast as a Python server can, so these figures are a lower bound for sigopt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from importlib.metadata import version
from typing import Any

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


def _stats() -> dict[str, int]:
    with urllib.request.urlopen(os.environ["SIGOPT_API_URL"] + "/_stats") as response:
        stats: dict[str, int] = json.load(response)
    return stats


def _factory(kind: str) -> harness.Factory:
    def factory(workdir: str) -> tuple[Any, Any, Any, Any]:
        os.environ["SIGOPT_HOME"] = os.path.join(workdir, "sigopt-home")
        import sigopt  # reads SIGOPT_PROJECT and SIGOPT_API_* from the environment

        def start() -> Any:
            return sigopt.create_run(name="bench")  # tokens/self, project, POST training_runs

        def log_metric(run: Any, i: int, value: float) -> None:
            run.log_metric("loss", value)  # one blocking MERGE /v1/training_runs/{id}

        def log_checkpoint(run: Any, i: int, value: float) -> None:
            run.log_checkpoint({"loss": value})  # one blocking POST .../checkpoints

        def end(run: Any) -> None:
            run.end()  # GET the run, MERGE state=completed

        def verify(run: Any) -> dict[str, Any]:  # how many requests for this run reached the stub
            counts = {k: v for k, v in _stats().items() if f"/training_runs/{run.id}" in k}
            return {"sigopt": version("sigopt"), **counts}

        return start, log_metric if kind == "log_metric" else log_checkpoint, end, verify

    return factory


CONFIGS = {"log_metric": _factory("log_metric"), "log_checkpoint": _factory("log_checkpoint")}


def _drive_with_stub() -> None:
    stub = subprocess.Popen([sys.executable, os.path.join(HERE, "sigopt_stub.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert stub.stdout is not None
        port = int(stub.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}"
        os.environ.update(SIGOPT_API_URL=url, SIGOPT_API_TOKEN="x", SIGOPT_PROJECT="bench")
        harness.main(__file__, CONFIGS)
    finally:
        stub.terminate()  # our own child, by its handle
        stub.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        harness.main(__file__, CONFIGS)
    else:
        _drive_with_stub()
