"""``benchmarks/faults.py --quick`` runs end to end and writes both reports (their structure, not the numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import faults


@pytest.mark.slow
def test_quick_run_writes_the_json_and_markdown_reports(tmp_path: Path) -> None:
    assert faults.main(["--quick", "--results-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "faults.json").read_text())
    assert results["command"] == f"python benchmarks/faults.py --quick --results-dir {tmp_path}"
    assert {"date_utc", "cpu_count", "python", "sqlite", "repo_commit", "load_average_at_end"} <= set(
        results["machine"]
    )

    assert list(results["kill9"]) == list(faults.RATES)
    for row in results["kill9"].values():
        assert {"achieved_per_s_median", "window_s_median", "window_s_max", "gap_free", "peak_rss_mb_max"} <= set(row)
        assert len(row["trials"]) == 1
    assert list(results["faults"]) == ["SIGTERM", *faults.STORE_FAULTS, "fork child"]
    for row in results["faults"].values():
        assert isinstance(row["lost"], int) and isinstance(row["logged"], int) and row["trials"]
    workers = results["workers"]
    assert workers["measured"] is False or {"overlaps", "orphans", "budget_exact"} <= set(workers)

    markdown = (tmp_path / "faults.md").read_text()
    assert f"Command: `{results['command']}`" in markdown
    for heading in (
        "## kill -9 loss window by logging rate",
        "## Records lost after each fault",
        "## Parallel workers",
    ):
        assert heading in markdown
    for name in [*faults.RATES, *results["faults"]]:
        assert f"| {name} |" in markdown
