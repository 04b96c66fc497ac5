"""``sigopt-ai runs list|show`` through click's CliRunner, on a real store."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sigopt_ai as sigopt
from sigopt_ai.cli import main


@pytest.fixture
def runs() -> tuple[str, str]:
    with sigopt.run(name="good-run", project="cli") as good:
        good.params.update(lr=0.01)
        good.log_metric("accuracy", 0.93)
    with pytest.raises(MemoryError), sigopt.run(name="oom-run", project="cli") as bad:
        raise MemoryError("cap")
    return good.id, bad.id


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})


def test_runs_list(runs: tuple[str, str]) -> None:
    result = invoke("runs", "list", "--project", "cli")
    assert result.exit_code == 0, result.output
    assert result.output.index("oom-run") < result.output.index("good-run")  # newest first
    assert "failed (oom)" in result.output and "accuracy=0.93" in result.output
    assert "good-run" not in invoke("runs", "list", "--project", "other").output


def test_runs_show(runs: tuple[str, str]) -> None:
    good_id, bad_id = runs
    result = invoke("runs", "show", good_id)
    assert result.exit_code == 0, result.output
    assert "lr=0.01" in result.output and "completed" in result.output
    bad = invoke("runs", "show", bad_id)
    assert "oom: MemoryError cap" in bad.output


def test_unknown_run_is_a_usage_error(runs: tuple[str, str]) -> None:
    result = invoke("runs", "show", "missing")
    assert result.exit_code == 2
    assert "There is no run with id 'missing'" in result.output


def test_console_script_is_installed(store) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    exe = shutil.which("sigopt-ai")
    assert exe is not None
    out = subprocess.run([exe, "--db", str(store), "runs", "list"], capture_output=True, text=True, check=True)
    assert "Runs" in out.stdout


def test_version_prints_the_version_alone() -> None:
    result = invoke("version")
    assert result.exit_code == 0 and result.output == sigopt.__version__ + "\n"
