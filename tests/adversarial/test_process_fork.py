"""Forked children, in real processes: forked while the parent's writer is inside a transaction,
they log into the runs they inherited and into their own, and what they flush is stored.

The forking script is ``benchmarks/faults.py``'s (one copy); the benchmark reports its figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import sigopt_ai as sigopt
from tests.conftest import run_python

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.faults import FORK_EXITS, fork_trial  # noqa: E402

INTERVAL = 0.1
FORKS = 2 * len(FORK_EXITS)  # each way of leaving, twice


def child_env(db: Path) -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": str(INTERVAL), "SIGOPT_PROJECT": "fork"}


def test_children_forked_mid_write_store_what_they_log(store: Path) -> None:
    trial = fork_trial(store, FORKS, INTERVAL)  # raises if the forking parent failed
    assert trial["hung"] == 0, "children hung (killed after 20 s)"
    children = trial["children"]
    assert [c["k"] for c in children] == list(range(FORKS))

    # What each child flushed is stored, and end() returned: into the run it inherited, and its own.
    parent_id = trial["parent"]["parent"]
    from_children = sorted(p.value for p in sigopt.metric_history(parent_id, "from_child"))
    assert from_children == [float(k) for k in range(FORKS)]
    for child in children:
        record = sigopt.get_run(child["own"])
        assert record.metrics == {"k": child["k"]}, child
        if child["exit"] == "os._exit without flush":
            assert child["written_s"] is not None  # its writer thread wrote them without a flush
            assert record.state is sigopt.RunState.ACTIVE  # nobody ended it
        else:
            assert child["flushed"] is True and child["state"] == "completed", child
            assert record.state is sigopt.RunState.COMPLETED

    # The parent is unaffected: no child's exit ended its run, and its own history has every point
    # once, in order (a child writing the parent's queue too would duplicate points).
    assert trial["parent"]["flushed"] is True and trial["parent"]["state"] == "active"
    assert trial["parent_state_at_exit"] == "completed"  # ended at the parent's exit
    assert trial["parent_gap_free"] and trial["parent_points"] > 1000


MULTIPROCESSING = """
    import json, multiprocessing as mp
    import sigopt_ai as sigopt

    def inherited(k):
        sigopt.log_metric("from_child", k)  # the parent's current run
        run = sigopt.create_run(name=f"process-{k}")  # never ended or flushed here
        run.log_metric("k", k)

    def pooled(k):
        with sigopt.create_run(name=f"pool-{k}") as run:
            run.log_metric("k", k)
        return run.id

    ctx = mp.get_context("fork")
    with sigopt.create_run(name="parent") as parent:
        procs = [ctx.Process(target=inherited, args=(k,)) for k in range(3)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(30)
        with ctx.Pool(2) as pool:
            pooled_ids = pool.map(pooled, range(4))
        codes = [proc.exitcode for proc in procs]
    print(json.dumps({"parent": parent.id, "exitcodes": codes, "pooled": pooled_ids}))
"""


def test_multiprocessing_fork_children_store_their_records_and_end_their_runs(store: Path) -> None:
    result = run_python(MULTIPROCESSING, env=child_env(store))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["exitcodes"] == [0, 0, 0]
    history = sigopt.metric_history(summary["parent"], "from_child")
    assert sorted(p.value for p in history) == [0.0, 1.0, 2.0]
    # A multiprocessing child leaves with os._exit (no atexit): its runs are still ended and flushed.
    runs = {r.name: r for r in sigopt.list_runs(project="fork")}
    for k in range(3):
        assert runs[f"process-{k}"].state is sigopt.RunState.COMPLETED
        assert runs[f"process-{k}"].metrics == {"k": k}
    for k, run_id in enumerate(summary["pooled"]):
        record = sigopt.get_run(run_id)
        assert record.state is sigopt.RunState.COMPLETED and record.metrics == {"k": k}
