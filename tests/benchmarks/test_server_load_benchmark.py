"""``benchmarks/server_load.py`` in a tiny configuration writes a complete report (no timing checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import server_load
from tests.backends.conftest import postgres_server  # noqa: F401  (the fixture, for --pg-url)


@pytest.mark.slow
def test_tiny_run_measures_every_mode_on_both_stores_and_log_metric_with_the_server_down(
    tmp_path: Path,
    postgres_server: str,  # noqa: F811
) -> None:
    argv = ["--clients", "2", "--duration", "0.5", "--server-workers", "1", "--calls", "2000", "--reps", "1"]
    argv += ["--pg-url", postgres_server, "--results-dir", str(tmp_path)]
    assert server_load.main(argv) == 0

    results = json.loads((tmp_path / "server_load.json").read_text())
    assert results["command"].endswith("python benchmarks/server_load.py " + " ".join(argv))
    assert [s["store"] for s in results["stores"]] == ["sqlite", "postgresql"]
    for store in results["stores"]:
        rows = store["rows"]
        assert [(r["mode"], r["clients"]) for r in rows] == [("auth", 2), ("merge", 2), ("batch", 2), ("suggest", 2)]
        for row in rows:
            assert row["errors"] == {} and row["load"] == "light", row
            assert row["requests"] > 0 and row["requests_per_s"] == pytest.approx(row["requests"] / 0.5)
            assert 0 < row["p50_ms"] <= row["p99_ms"]
            assert row["server_cpu_ms_per_request"] > 0 and row["client_cpu_ms_per_request"] > 0
        assert rows[2]["points_per_s"] == pytest.approx(rows[2]["requests_per_s"] * 10)

    latency = results["log_metric"]
    assert set(latency) == {"server_down", "embedded"}
    for entry in latency.values():
        (rep,) = entry["reps"]
        assert rep["calls"] == 2000 and 0 < rep["p50_ns"] <= rep["p99_ns"] <= rep["max_ns"]
    # With the server down, the run's records stay in the journal and the run says so on stderr.
    assert "sigopt-ai sync" in latency["server_down"]["reps"][0]["stderr"]
    assert len(results["verdicts"]) == 3

    markdown = (tmp_path / "server_load.md").read_text()
    assert f"Command: `{results['command']}`" in markdown
    assert "| sqlite | merge | 2 |" in markdown and "| postgresql | suggest | 2 |" in markdown
    assert "| server down |" in markdown and "| embedded |" in markdown


@pytest.mark.slow
def test_httpx_clients_in_their_own_processes_measure_the_same_figures(tmp_path: Path) -> None:
    argv = ["--stores", "sqlite", "--modes", "merge,batch", "--load", "httpx", "--clients", "2", "--duration", "0.5"]
    argv += ["--server-workers", "1", "--calls", "0", "--results-dir", str(tmp_path)]
    assert server_load.main(argv) == 0
    results = json.loads((tmp_path / "server_load.json").read_text())
    (store,) = results["stores"]
    assert [(r["mode"], r["load"], r["errors"]) for r in store["rows"]] == [
        ("merge", "httpx", {}),
        ("batch", "httpx", {}),
    ]
    assert all(r["requests"] > 0 and r["client_cpu_ms_per_request"] > 0 for r in store["rows"])
    assert "log_metric" not in results and len(results["verdicts"]) == 1
    assert "a process per client" in (tmp_path / "server_load.md").read_text()


def test_a_py_spy_profile_is_grouped_by_library_and_function_without_waiting_threads(tmp_path: Path) -> None:
    folded = tmp_path / "profile.txt"
    process = 'process 1:"python -c server"'
    handle = "merge_run (sigopt_ai/server/_routes/runs.py:10)"
    folded.write_text(
        f"{process};main (uvicorn/main.py:1);{handle};execute (sqlalchemy/engine/base.py:5) 6\n"
        f"{process};main (uvicorn/main.py:1);{handle} 2\n"
        f"{process};main (uvicorn/main.py:1);loads (json/decoder.py:3) 1\n"
        f"{process};main (uvicorn/main.py:1);dumps (encoder.py:3) 1\n"
        f"{process};Thread.run (threading.py:1);Condition.wait (threading.py:320) 30\n"
        f"{process};main (uvicorn/main.py:1);EpollSelector.select (selectors.py:468) 10\n"
    )
    profile = server_load.summarize_profile(folded)
    assert (profile["samples"], profile["idle_samples"], profile["busy_samples"]) == (50, 40, 10)
    assert profile["by_library_pct"] == {"sqlalchemy": 60.0, "sigopt_ai.server": 20.0, "json": 10.0, "encoder": 10.0}
    assert profile["top_own_pct"]["execute (sqlalchemy/engine/base.py)"] == 60.0
    assert profile["top_inclusive_pct"]["main (uvicorn/main.py)"] == 100.0
    assert profile["top_inclusive_pct"]["merge_run (sigopt_ai/server/_routes/runs.py)"] == 80.0
    assert profile["ours_inclusive_pct"] == {"merge_run (sigopt_ai/server/_routes/runs.py)": 80.0}
