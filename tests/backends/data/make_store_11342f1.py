"""Makes ``store_11342f1.db``: a store written by sigopt-ai at commit 11342f1, before migrations.

Run it with that commit's package on the path (the fixture is checked in; this is how it was made)::

    git archive 11342f1 sigopt_ai | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/backends/data/make_store_11342f1.py tests/backends/data/store_11342f1.db

``tests/backends/test_migrations.py`` upgrades a copy and checks that these records are intact.
"""

from __future__ import annotations

import sqlite3
import sys

import sigopt_ai as sigopt
from sigopt_ai.runs import _session


def main(path: str) -> None:
    sigopt.configure(db=path)
    with sigopt.run(name="baseline", project="legacy") as run:
        run.params.lr = 0.1
        run.params.optimizer = "adam"
        for loss in (0.5, 0.4, 0.3):
            sigopt.log_metric("loss", loss)
        sigopt.log_checkpoint({"loss": 0.3}, step=3)
        sigopt.log_metadata("git_branch", "main")
    try:
        with sigopt.run(name="broken", project="legacy"):
            raise RuntimeError("the loss is not a number")
    except RuntimeError:
        pass
    experiment = sigopt.create_experiment(
        name="legacy-exp",
        project="legacy",
        parameters=[{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        metrics=[{"name": "score", "objective": "maximize"}],
        budget=3,
        seed=7,
        type="random",
    )
    for run in experiment.loop(progress=False):
        with run:
            run.log_metric("score", run.params.x)
    sigopt.flush()
    _session.reset_session()  # closes the store's connections
    with sqlite3.connect(path) as conn:  # one self-contained file, no -wal beside it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")


if __name__ == "__main__":
    main(sys.argv[1])
