"""Optuna reference point: ``trial.report(value, step)`` per call.

Run: ``<venv>/bin/python bench_optuna.py`` (needs ``optuna psutil``). ``start`` is ``study.ask()``
(creates a trial), ``end`` is ``study.tell(trial, value)``. Storage: in memory, and the RDB storage
on ``sqlite:///<work dir>/optuna.db``.
"""

from __future__ import annotations

import os
from typing import Any

import harness


def _factory(storage_kind: str) -> harness.Factory:
    def factory(workdir: str) -> tuple[Any, Any, Any, Any]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = None
        if storage_kind == "sqlite":
            storage = "sqlite:///" + os.path.abspath(os.path.join(workdir, "optuna.db"))
        study = optuna.create_study(study_name="bench", storage=storage, direction="minimize")

        def start() -> Any:
            return study.ask()

        def log(trial: Any, i: int, value: float) -> None:
            trial.report(value, i)

        def end(trial: Any) -> None:
            study.tell(trial, 0.0)

        def verify(trial: Any) -> dict[str, Any]:
            stored = study.get_trials(deepcopy=False)[-1]
            return {"optuna": optuna.__version__, "points_stored": len(stored.intermediate_values)}

        return start, log, end, verify

    return factory


CONFIGS = {"inmemory": _factory("inmemory"), "sqlite": _factory("sqlite")}

if __name__ == "__main__":
    harness.main(__file__, CONFIGS)
