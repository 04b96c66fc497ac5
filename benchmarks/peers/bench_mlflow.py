"""MLflow logging overhead with local tracking stores only (file store and SQLite).

Run: ``<venv>/bin/python bench_mlflow.py`` (needs ``mlflow psutil``). Times
``mlflow.log_metric("loss", v, step=i)`` synchronously and with ``synchronous=False`` (MLflow's
async logging queue), plus ``mlflow.start_run()`` / ``mlflow.end_run()``; in async mode
``end_run()`` includes draining the queue. The ``*_buffer1s`` variants set
``MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1`` so queued calls are merged into batches.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import harness


def _factory(store: str, synchronous: bool, buffer_s: float | None = None) -> harness.Factory:
    def factory(workdir: str) -> tuple[Any, Any, Any, Any]:
        if buffer_s:
            os.environ["MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS"] = str(buffer_s)
        if store == "file":
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps the file store behind a flag
        import mlflow

        if store == "file":
            uri = Path(workdir, "mlruns").resolve().as_uri()
        else:
            uri = "sqlite:///" + str(Path(workdir, "mlflow.db").resolve())
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("bench")  # creates the store (database migrations): part of setup

        def start() -> Any:
            return mlflow.start_run()

        def log_sync(run: Any, i: int, value: float) -> None:
            mlflow.log_metric("loss", value, step=i)

        def log_async(run: Any, i: int, value: float) -> None:
            mlflow.log_metric("loss", value, step=i, synchronous=False)

        def end(run: Any) -> None:
            mlflow.end_run()

        def verify(run: Any) -> dict[str, Any]:
            history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
            return {"mlflow": mlflow.__version__, "points_stored": len(history)}

        return start, log_sync if synchronous else log_async, end, verify

    return factory


CONFIGS = {
    "file_sync": _factory("file", True),
    "file_async": _factory("file", False),
    "sqlite_sync": _factory("sqlite", True),
    "sqlite_async": _factory("sqlite", False),
    "file_async_buffer1s": _factory("file", False, 1),
    "sqlite_async_buffer1s": _factory("sqlite", False, 1),
}

if __name__ == "__main__":
    harness.main(
        __file__,
        CONFIGS,
        extra_env={
            "MLFLOW_TRACKING_URI": "",
            "GIT_PYTHON_REFRESH": "quiet",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        },
    )
