"""``sigopt-ai run``, ``optimize`` and ``start-worker`` end to end: real ``sigopt-ai`` processes running
real Python children that record through the module-level API, on the test's store."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai.backends import make_backend
from sigopt_ai.cli._child import Capture
from sigopt_ai.cli._launch import absolute_db
from sigopt_ai.runs._launched import LaunchSpec
from tests.cli.conftest import experiment_file, sigopt_ai, write
from tests.live_server import LiveServer

MODEL = """\
import sys
import sigopt_ai as sigopt

lr = sigopt.params.setdefault("lr", 0.05)
layers = sigopt.params.setdefault("layers", 2)
print("training lr=%s layers=%s" % (lr, layers))
print("a warning on stderr", file=sys.stderr)
sigopt.log_metric("accuracy", 1.0 - abs(lr - 0.01) - layers / 100)
"""


def _files(run_id: str) -> dict[str, bytes]:
    return {f.name: sigopt.read_file(f.id) for f in sigopt.list_files(run_id)}


def test_run_records_the_childs_metric_and_output(store: Path, work: Path) -> None:
    write(work, "model.py", MODEL)
    result = sigopt_ai("run", "-p", "cli-run", "--", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert "training lr=0.05 layers=2" in result.stdout  # teed to the terminal
    assert "a warning on stderr" in result.stderr
    [record] = sigopt.list_runs("cli-run")
    assert record.state is sigopt.RunState.COMPLETED
    assert record.metrics == {"accuracy": 1.0 - 0.04 - 0.02}
    assert record.params == {"lr": 0.05, "layers": 2}  # the child's setdefault recorded them
    assert record.sys_metadata["argv"] == ["model.py"]  # the child's facts, not the CLI's
    files = _files(record.id)
    assert files["stdout"] == b"training lr=0.05 layers=2\n"
    assert files["stderr"] == b"a warning on stderr\n"
    assert f"sigopt-ai runs show {record.id}" in result.stderr
    shown = sigopt_ai("runs", "show", record.id, store=store, cwd=work, env={"COLUMNS": "200"}).stdout
    assert "stdout (26 bytes, id " in shown and "stderr (20 bytes, id " in shown


def test_run_takes_its_name_and_shell_command_from_run_yml_and_stores_the_source(store: Path, work: Path) -> None:
    write(work, "model.py", MODEL)
    write(work, "run.yml", "name: from-run-yml\nrun: python model.py && echo shell-ran\n")
    result = sigopt_ai("run", "-s", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert "shell-ran" in result.stdout  # a string command runs through sh -c
    [record] = sigopt.list_runs()
    assert record.name == "from-run-yml" and record.state is sigopt.RunState.COMPLETED
    assert _files(record.id)["model.py"] == MODEL.encode()


def test_optimize_runs_the_budget_with_suggested_params_and_prints_the_best(store: Path, work: Path) -> None:
    write(work, "model.py", MODEL)
    experiment_file(work, budget=2)
    result = sigopt_ai("optimize", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    [stored] = [sigopt.get_experiment(i) for i in re.findall(r"Created experiment (\S+) ", result.stderr)]
    observations = stored.observations()
    assert len(observations) == 2 and not any(o.failed for o in observations)
    for observation in observations:
        record = sigopt.get_run(observation.run or "")
        assert record.params == dict(observation.assignments)  # the child read the suggestion
        assert record.metrics["accuracy"] == observation.values["accuracy"]
        assert f"training lr={observation.assignments['lr']} " in _files(record.id)["stdout"].decode()
    [best] = stored.best_runs()
    assert f"Best assignments (run {best.id}):" in result.stdout
    assert f"  lr     = {best.params['lr']:.6g}" in result.stdout
    assert f"  layers = {best.params['layers']}" in result.stdout
    assert f"sigopt-ai runs show {best.id}" in result.stdout


def test_start_worker_serves_an_existing_experiments_suggestions(store: Path, work: Path) -> None:
    write(work, "model.py", MODEL)
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=2))
    result = sigopt_ai("start-worker", experiment.id, "--", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert experiment.progress.finished == 2
    assert all(r.experiment == experiment.id and r.state is sigopt.RunState.COMPLETED for r in experiment.runs())
    assert "sigopt-ai runs show" in result.stdout


def test_suggested_params_are_read_only_in_the_child(store: Path, work: Path) -> None:
    write(
        work,
        "model.py",
        """\
        import json
        import sigopt_ai as sigopt
        try:
            sigopt.params.lr = 123.0
        except sigopt.SigOptError as exc:
            print(json.dumps({"refused": type(exc).__name__, "lr": sigopt.params.lr, "id": sigopt.current_run().id}))
        sigopt.log_metric("accuracy", 0.5)
        """,
    )
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=1))
    result = sigopt_ai("start-worker", experiment.id, "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[0])
    [record] = experiment.runs()
    assert seen == {"refused": "ValidationError", "lr": record.params["lr"], "id": record.id}
    assert record.params["lr"] != 123.0


def test_a_child_of_a_cli_behind_a_server_records_through_the_server(tmp_path: Path, work: Path) -> None:
    write(work, "model.py", MODEL)
    db = tmp_path / "server.db"
    with LiveServer(str(db)) as server:
        env = {"SIGOPT_API_URL": server.api_url, "SIGOPT_API_TOKEN": server.token}
        result = sigopt_ai("run", "-p", "served", "python", "model.py", store=tmp_path / "unused.db", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "unused.db").exists()  # the child was handed the server, not a file
    backend = make_backend(str(db))
    try:
        [run_id] = re.findall(r"run (\S+) completed", result.stderr)
        record = backend.read_run(run_id)
        assert record is not None and record.project.endswith("served")  # the server keeps it per client
        assert record.state is sigopt.RunState.COMPLETED and record.metrics == {"accuracy": 0.94}
        assert {f.name for f in backend.list_files(record.id)} == {"stdout", "stderr"}
    finally:
        backend.close()


def test_output_past_the_file_limit_keeps_its_head_and_tail(store: Path, work: Path) -> None:
    size = MAX_FILE_BYTES + 2**20
    write(
        work,
        "model.py",
        f"""\
        import sys
        sys.stdout.write("HEAD\\n" + "." * {size} + "\\nTAIL\\n")
        """,
    )
    result = sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == size + 11  # all of it reached the terminal
    stored = _files(sigopt.list_runs()[0].id)["stdout"]
    assert len(stored) <= MAX_FILE_BYTES
    assert stored.startswith(b"HEAD\n...") and stored.endswith(b"...\nTAIL\n")
    [cut] = re.findall(rb"\n\[\.\.\. sigopt-ai cut (\d+) bytes of output here \.\.\.\]\n", stored)
    assert len(stored) - len(re.findall(rb"\n\[\.\.\. .*\]\n", stored)[0]) + int(cut) == size + 11


def test_the_command_keeps_its_own_options_and_separators(store: Path, work: Path) -> None:
    # As sigopt-python's CLI tests have it: everything after the program is the program's.
    write(work, "print_args.py", "import sys\nprint('\\n'.join(sys.argv))\n")
    args = ("python", "print_args.py", "--kwarg=value", "positional_arg", "--", "after -- arg")
    result = sigopt_ai("run", "-p", "args", "--", *args, store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["print_args.py", "--kwarg=value", "positional_arg", "--", "after -- arg"]


@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.binary(max_size=150), max_size=12))
def test_captured_output_is_whole_or_its_head_and_tail_around_a_marker_counting_the_cut(chunks: list[bytes]) -> None:
    capture = Capture(limit=300)  # keeps 100 bytes at each end
    for chunk in chunks:
        capture.add(chunk)
    data = b"".join(chunks)
    kept = capture.value()
    if len(data) <= 200:
        assert kept == data
    else:
        marker = f"\n[... sigopt-ai cut {len(data) - 200} bytes of output here ...]\n".encode()
        assert kept == data[:100] + marker + data[-100:]
        assert len(kept) <= 300


def test_command_output_that_is_empty_is_not_stored(store: Path, work: Path) -> None:
    write(work, "quiet.py", "import sigopt_ai as sigopt\nsigopt.log_metric('accuracy', 0.5)\n")
    result = sigopt_ai("run", "python", "quiet.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert sigopt.list_files(sigopt.list_runs()[0].id) == []


# A helper process the script lets fail (an optional probe): it inherits SIGOPT_AI_RUN, and records
# its metric into the run, but neither its failure nor its process facts.
PROBING_MODEL = """\
import subprocess, sys
import sigopt_ai as sigopt

probe = "import sigopt_ai as s; s.log_metric('probe', 1.0); raise RuntimeError('no GPU here')"
print("probe exit", subprocess.run([sys.executable, "-c", probe]).returncode)
sigopt.log_metric("accuracy", 0.9)
"""


def test_a_helper_process_of_the_command_records_metrics_but_not_the_runs_failure_or_facts(
    store: Path, work: Path
) -> None:
    write(work, "model.py", PROBING_MODEL)
    result = sigopt_ai("run", "--", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert "probe exit 1" in result.stdout
    [record] = sigopt.list_runs()
    assert record.failure is None and record.state is sigopt.RunState.COMPLETED
    assert record.metrics == {"probe": 1.0, "accuracy": 0.9}
    assert record.sys_metadata["argv"] == ["model.py"]  # the command's facts, not the helper's


def test_under_a_shell_the_first_python_owns_the_runs_failure_and_its_helpers_do_not(store: Path, work: Path) -> None:
    write(
        work,
        "model.py",
        """\
        import subprocess, sys
        import sigopt_ai

        subprocess.run([sys.executable, "-c", "import sigopt_ai as s; s.log_metric('probe', 1.0)"])
        raise ValueError("bad lr")
        """,
    )
    result = sigopt_ai("run", "sh", "-c", "python model.py", store=store, cwd=work)
    assert result.returncode == 1
    [record] = sigopt.list_runs()
    assert record.failure is not None  # classified by model.py, not read from the shell's exit status
    assert (record.failure.type, record.failure.message) == ("ValueError", "bad lr")
    assert record.metrics == {"probe": 1.0}
    assert record.sys_metadata["argv"] == ["model.py"]


def test_optimize_with_a_source_file_over_the_limit_is_a_usage_error_before_any_experiment(
    store: Path, work: Path
) -> None:
    write(work, "model.py", MODEL)
    (work / "big.bin").write_bytes(bytes(MAX_FILE_BYTES + 1))
    experiment_file(work, budget=2)
    result = sigopt_ai("optimize", "-s", "big.bin", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 2, result.stderr
    assert f"--source-file 'big.bin' is {MAX_FILE_BYTES + 1} bytes" in result.stderr
    assert f"at most {MAX_FILE_BYTES} bytes" in result.stderr
    assert "Traceback" not in result.stderr
    assert sigopt.list_runs() == []
    assert "Created experiment" not in result.stderr


def test_a_relative_sqlite_url_reaches_a_child_that_changes_directory(tmp_path: Path, work: Path) -> None:
    write(work, "m.py", MODEL)
    env = {"SIGOPT_AI_DB": "sqlite:///rel.db"}
    result = sigopt_ai(
        "run", "sh", "-c", "mkdir sub && cd sub && python ../m.py", store=tmp_path / "unused.db", cwd=work, env=env
    )
    assert result.returncode == 0, result.stderr
    assert not (work / "sub" / "rel.db").exists()
    sigopt.configure(db=str(work / "rel.db"))
    [record] = sigopt.list_runs()
    assert record.metrics == {"accuracy": 0.94}


@pytest.mark.parametrize(
    ("db", "absolute"),
    [
        ("rel.db", "{cwd}/rel.db"),
        ("sqlite:///rel.db", "sqlite:///{cwd}/rel.db"),
        ("sqlite+pysqlite:///a/b.db?timeout=3", "sqlite+pysqlite:///{cwd}/a/b.db?timeout=3"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://user:secret@host/db", "postgresql://user:secret@host/db"),
    ],
)
def test_a_relative_sqlite_database_is_handed_to_the_command_as_an_absolute_one(db: str, absolute: str) -> None:
    assert absolute_db(db) == absolute.format(cwd=os.getcwd())


def test_the_launch_spec_says_whether_its_reader_owns_the_runs_outcome() -> None:
    spec = LaunchSpec(id="r1", name="n", project="p", params={"lr": 0.1})
    assert LaunchSpec.from_env(spec.to_env()).owner is True
    assert LaunchSpec.from_env(replace(spec, owner=False).to_env()) == replace(spec, owner=False)
    with pytest.raises(sigopt.ConfigError, match=r"SIGOPT_AI_RUN\.owner must be true or false"):
        LaunchSpec.from_env('{"id": "r1", "name": "n", "project": "p", "owner": "no"}')
