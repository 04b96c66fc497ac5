"""How a command's end becomes its run's failure, and what ``sigopt-ai`` then does: real children that
raise, are killed, signalled, exit non-zero or forget the metric, under real ``sigopt-ai`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import sigopt_ai as sigopt
from sigopt_ai.cli._child import ChildExit, MemoryEvidence
from tests.cli.conftest import CLI, cli_env, experiment_file, sigopt_ai, spawn_sigopt_ai, write

# The child attaches to its run (reading a parameter does), says it is ready, then waits to be
# signalled; the test reads that line through sigopt-ai, which tees the child's output.
WAITING_CHILD = """\
import os, sys, time
import sigopt_ai as sigopt

sigopt.params.get("lr")
try:  # ready is said inside the try: a SIGINT right after it is still caught and reported
    print("ready", os.getpid(), flush=True)
    time.sleep(120)
except KeyboardInterrupt:
    print("child got SIGINT", flush=True)
    raise
"""

METRIC_CHILD = """\
import sigopt_ai as sigopt
sigopt.log_metric("accuracy", sigopt.params.lr)
"""


def _only_run(project: str = "tests") -> sigopt.RunRecord:
    [record] = sigopt.list_runs(project)
    return record


def _wait_ready(process: subprocess.Popen[str]) -> int:
    """The pid of the child once it said it is ready."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("ready "):
            return int(line.split()[1])
    raise AssertionError(f"the child never got ready: {process.communicate()}")


def test_a_python_child_raising_memory_error_records_oom_and_sigopt_ai_honours_it(store: Path, work: Path) -> None:
    write(work, "model.py", "import sigopt_ai\nraise MemoryError('cannot allocate the batch')\n")
    result = sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 1
    record = _only_run()
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.OOM
    assert record.failure.type == "MemoryError"  # recorded by the child: exit status 1 alone says "error"
    assert "failed (oom)" in result.stderr


def test_in_optimize_an_oom_is_a_failed_observation_and_the_loop_goes_on(store: Path, work: Path) -> None:
    write(work, "model.py", "import sigopt_ai\nraise MemoryError\n")
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=2))
    result = sigopt_ai("start-worker", experiment.id, "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr  # assignment failures are results, not errors
    observations = experiment.observations()
    assert [(o.failed, o.failure_kind) for o in observations] == [(True, "oom"), (True, "oom")]
    assert "No run has succeeded yet" in result.stdout


def test_a_child_killed_by_sigkill_near_its_memory_limit_is_oom(store: Path, work: Path) -> None:
    # As the kernel's OOM killer would: the child fills 96 % of its RLIMIT_AS, then gets SIGKILL.
    write(
        work,
        "model.py",
        """\
        import os, resource, time, psutil
        limit = psutil.Process().memory_info().vms + 300 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        hog = b"x" * (290 * 2**20)
        time.sleep(1.5)  # sigopt-ai samples the resident set every 0.1 s
        os.kill(os.getpid(), 9)
        """,
    )
    result = sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 1
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.OOM
    assert "killed by SIGKILL with its memory at" in failure.message and "of its limit" in failure.message
    assert _only_run().sys_metadata["peak_rss_bytes"] >= 290 * 2**20  # sampled from outside the child


def test_a_child_kill_9ed_with_little_memory_is_an_error(store: Path, work: Path) -> None:
    # A SIGKILL far from any memory limit is a person, a scheduler or a watchdog: nothing says the
    # assignment failed, so it is "error" (the loop gives the suggestion back and a streak stops it).
    write(work, "model.py", "import os\nos.kill(os.getpid(), 9)\n")
    result = sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 1
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.ERROR
    assert failure.message == "The command was killed by signal SIGKILL." and failure.type == "SIGKILL"


def test_a_non_python_child_exiting_3_is_an_error_naming_the_status(store: Path, work: Path) -> None:
    result = sigopt_ai("run", "sh", "-c", "exit 3", store=store, cwd=work)
    assert result.returncode == 1
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.ERROR
    assert failure.message == "The command exited with status 3."


def test_a_command_that_is_not_found_fails_its_run_and_exits_127(store: Path, work: Path) -> None:
    result = sigopt_ai("run", "no-such-program-here", store=store, cwd=work)
    assert result.returncode == 127
    assert "Cannot run 'no-such-program-here'" in result.stderr
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.ERROR


def test_exit_0_without_the_metric_is_missing_metric_and_three_in_a_row_stop_the_loop(store: Path, work: Path) -> None:
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=5))
    result = sigopt_ai("start-worker", experiment.id, "sh", "-c", "exit 0", store=store, cwd=work)
    assert result.returncode == 3, result.stderr
    runs = experiment.runs()
    assert len(runs) == 3
    assert all(r.failure is not None and r.failure.kind is sigopt.FailureKind.MISSING_METRIC for r in runs)
    assert experiment.observations() == []  # a bug spends no budget
    assert "stopped" in result.stderr


def test_sigterm_to_the_child_records_interrupted_and_its_suggestion_is_served_again(store: Path, work: Path) -> None:
    write(work, "model.py", WAITING_CHILD)
    write(work, "metric.py", METRIC_CHILD)
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=1))
    worker = spawn_sigopt_ai("start-worker", experiment.id, "python", "model.py", store=store, cwd=work)
    os.kill(_wait_ready(worker), signal.SIGTERM)
    _out, err = worker.communicate(timeout=60)
    assert worker.returncode == 128 + signal.SIGTERM, err
    [interrupted] = experiment.runs()
    assert interrupted.failure is not None and interrupted.failure.kind is sigopt.FailureKind.INTERRUPTED
    assert experiment.observations() == []
    # The next worker gets the same suggestion, and observes it.
    result = sigopt_ai("start-worker", experiment.id, "python", "metric.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    [observation] = experiment.observations()
    assert observation.suggestion == interrupted.suggestion
    assert dict(observation.assignments) == dict(interrupted.params)


def test_ctrl_c_to_sigopt_ai_optimize_interrupts_the_child_and_gives_the_suggestion_back(
    store: Path, work: Path
) -> None:
    write(work, "model.py", WAITING_CHILD)
    experiment_file(work, budget=2)
    cli = spawn_sigopt_ai("optimize", "python", "model.py", store=store, cwd=work)
    child = _wait_ready(cli)
    cli.send_signal(signal.SIGINT)  # to sigopt-ai only, as a terminal's Ctrl-C reaches it
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, err
    assert "child got SIGINT" in out  # forwarded
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # and no child is left behind
    [run] = sigopt.list_runs()
    assert run.failure is not None and run.failure.kind is sigopt.FailureKind.INTERRUPTED
    experiment = sigopt.get_experiment(run.experiment or "")
    assert experiment.observations() == []
    assert experiment.suggest().id == run.suggestion  # given back: it is served again


def test_sigterm_to_sigopt_ai_run_is_forwarded_and_the_run_is_interrupted(store: Path, work: Path) -> None:
    write(work, "model.py", WAITING_CHILD)
    cli = spawn_sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    _wait_ready(cli)
    cli.send_signal(signal.SIGTERM)
    _out, err = cli.communicate(timeout=60)
    assert cli.returncode == 128 + signal.SIGTERM, err
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.INTERRUPTED
    assert "SIGTERM" in failure.message  # the child's own record: its handler saw the forwarded signal


def _exit(
    returncode: int, *, peak: int = 0, limit: int | None = 1000, oom_kills: int = 0, received: int | None = None
) -> ChildExit:
    return ChildExit(returncode, MemoryEvidence(peak, limit, oom_kills), b"", b"", received)


@pytest.mark.parametrize(
    ("child", "kind"),
    [
        (_exit(0), None),
        (_exit(-9, oom_kills=1), "oom"),  # the cgroup's OOM killer ran
        (_exit(-9, peak=900), "oom"),  # 90 % of the limit
        (_exit(-9, peak=899), "error"),
        (_exit(-9, peak=10**9, limit=None), "error"),
        (_exit(-15), "interrupted"),
        (_exit(-2), "interrupted"),
        (_exit(1, received=signal.SIGINT), "interrupted"),  # it caught the forwarded Ctrl-C and exited 1
        (_exit(0, received=signal.SIGINT), None),  # it finished its work: the run completed
        (_exit(-9, peak=950, received=signal.SIGINT), "interrupted"),  # killed by a second Ctrl-C
        (_exit(-11), "error"),
        (_exit(3), "error"),
    ],
)
def test_what_an_exit_says_when_the_child_recorded_nothing(child: ChildExit, kind: str | None) -> None:
    failure = child.failure()
    assert (failure.kind.value if failure else None) == kind


def test_a_second_ctrl_c_kills_a_child_that_ignores_the_first(store: Path, work: Path) -> None:
    write(
        work,
        "model.py",
        """\
        import os, signal, time
        import sigopt_ai as sigopt

        sigopt.params.get("lr")
        signal.signal(signal.SIGINT, lambda *_: print("ignoring SIGINT", flush=True))
        print("ready", os.getpid(), flush=True)
        while True:
            time.sleep(1)
        """,
    )
    cli = spawn_sigopt_ai("run", "python", "model.py", store=store, cwd=work)
    child = _wait_ready(cli)
    cli.send_signal(signal.SIGINT)
    assert cli.stdout is not None and cli.stdout.readline() == "ignoring SIGINT\n"
    cli.send_signal(signal.SIGINT)  # the impatient user's second Ctrl-C
    _out, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    failure = _only_run().failure
    assert failure is not None and failure.kind is sigopt.FailureKind.INTERRUPTED


def test_what_the_command_left_running_is_killed_with_it(store: Path, work: Path) -> None:
    result = sigopt_ai("run", "sh", "-c", "sleep 300 & echo $! > sleeper.pid", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    sleeper = int((work / "sleeper.pid").read_text())
    # No orphan: sigopt-ai killed the command's process group after it exited. (Gone, or a zombie
    # where this machine's init does not reap the orphans it inherits.)
    try:
        status = psutil.Process(sleeper).status()
    except psutil.NoSuchProcess:
        status = "gone"
    assert status in ("gone", psutil.STATUS_ZOMBIE)


def test_ctrl_c_reaches_the_command_when_sigopt_ai_was_started_with_sigint_ignored(store: Path, work: Path) -> None:
    # A script's background job (`sigopt-ai optimize ... &`) or nohup starts us with SIGINT ignored,
    # which a command started before our handlers would inherit through exec, never to raise
    # KeyboardInterrupt: the forwarded Ctrl-C then did nothing until the grace period killed it.
    write(work, "model.py", WAITING_CHILD)
    experiment_file(work, budget=2)
    cli = subprocess.Popen(
        [*CLI, "optimize", "python", "model.py"],
        cwd=work,
        env=cli_env(store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    _wait_ready(cli)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=25)  # under the 30 s grace: the command stopped on the signal itself
    assert cli.returncode == 130, err
    assert "child got SIGINT" in out


def test_a_command_that_catches_ctrl_c_and_records_its_metric_completes_and_optimize_exits_0(
    store: Path, work: Path
) -> None:
    write(
        work,
        "model.py",
        """\
        import os, signal, time
        import sigopt_ai as sigopt

        lr = sigopt.params.lr
        try:
            os.kill(os.getppid(), signal.SIGINT)  # Ctrl-C at the terminal reaches sigopt-ai, which forwards it
            time.sleep(60)
        except KeyboardInterrupt:
            pass  # the script stops early and reports what it has
        sigopt.log_metric("accuracy", 1 - lr)
        """,
    )
    experiment_file(work, budget=2)
    result = sigopt_ai("optimize", "python", "model.py", store=store, cwd=work)
    assert result.returncode == 0, result.stderr  # what was recorded: the run completed
    [run] = sigopt.list_runs()
    assert run.state is sigopt.RunState.COMPLETED
    experiment = sigopt.get_experiment(run.experiment or "")
    [observation] = experiment.observations()
    assert not observation.failed and observation.run == run.id
    assert f"run {run.id} completed after SIGINT" in result.stderr and "Stopping" in result.stderr
    assert "will be served again" not in result.stderr


def test_a_grandchilds_memory_counts_in_the_runs_peak(store: Path, work: Path) -> None:
    # sh is the direct child; the memory is held below it, by a Python that records nothing itself.
    hog = "import time; hog = b'x' * (120 * 2**20); time.sleep(1.5)"  # past one walk of the tree (1 s)
    result = sigopt_ai("run", "sh", "-c", f'python -c "{hog}"', store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert _only_run().sys_metadata["peak_rss_bytes"] >= 120 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_command_whose_launcher_died_before_it_was_tied_to_it_does_not_run() -> None:
    # The hook is made by the process that forks; here that process runs the hook itself, so the
    # parent the hook sees is not the one that made it, as for a child whose launcher already died.
    code = "from sigopt_ai.cli._child import _die_with_parent\n_die_with_parent()()\nprint('the command ran')\n"
    checker = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert checker.returncode == 1, checker.stderr
    assert "the command ran" not in checker.stdout
