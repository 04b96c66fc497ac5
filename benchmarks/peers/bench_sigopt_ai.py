"""sigopt_ai (this repository) under the peers' protocol, so its figures sit beside theirs.

Run: ``python bench_sigopt_ai.py`` with the repository root on ``PYTHONPATH`` (the driver in
``benchmarks/log_overhead.py`` does this). ``start`` enters ``sigopt.run(...)`` (the documented
``with sigopt.run() as run:``), the timed call is ``run.log_metric("loss", v)``, and ``end`` leaves
the block, which ends the run and makes every point durable in the SQLite store of the work folder;
``verify`` counts the run's points there.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import Any

import harness


def factory(workdir: str) -> tuple[Any, Any, Any, Any]:
    """The embedded SQLite store in ``workdir``, default flush interval."""
    import sigopt_ai as sigopt

    db = os.path.join(workdir, "sigopt_ai.db")
    sigopt.configure(db=db)

    spec = sigopt.run(name="bench", project="bench")

    def start() -> Any:
        return spec.__enter__()

    def log(run: Any, i: int, value: float) -> None:
        run.log_metric("loss", value)

    def end(run: Any) -> None:
        spec.__exit__(None, None, None)

    def verify(run: Any) -> dict[str, Any]:
        with closing(sqlite3.connect(db)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "metric_points" in tables:  # one row per point
                query = "SELECT COUNT(*) FROM metric_points WHERE run_id = ?"
            else:  # float64 values packed into one row per run, metric and write batch
                query = 'SELECT SUM(LENGTH("values")) / 8 FROM metric_chunks WHERE run_id = ?'
            (count,) = conn.execute(query, (run.id,)).fetchone()
        return {"sigopt_ai": sigopt.__version__, "points_stored": count}

    return start, log, end, verify


CONFIGS = {"sqlite": factory}

if __name__ == "__main__":
    harness.main(__file__, CONFIGS)
