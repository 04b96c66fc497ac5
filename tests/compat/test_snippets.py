"""Issue 17's promise, tried as a sigopt-python user would: code from sigopt-python's README, examples,
tests and docs, with ``import sigopt`` replaced by ``import sigopt_ai as sigopt`` and ``sigopt`` by
``sigopt-ai`` on command lines, runs and records what it recorded there.

Each snippet (``tests/compat/snippets/``, a header in each names its source and what was changed) runs
as a real subprocess in a temporary working folder, on its own fresh embedded store (``SIGOPT_AI_DB``);
the core-module and AI-module ones also against a real ``sigopt-ai server`` (``SIGOPT_API_URL`` and
``SIGOPT_API_TOKEN``), each test in its own project. To keep the file near a minute on two cores, a snippet
whose calls another snippet already takes through the server runs on the embedded store only (the
docs' budget loop: the README and seeds loops; archiving, images, the factory, set_project and coercion:
their owners' live-server tests and runs_context), and the command line meets the server in the tutorial
(on the embedded store, test_cli_run runs the same model pattern). Then the test reads back, through sigopt_ai's own
API, what the snippet's user would look at: the runs, their values, the experiment's progress, the files.

A CLI snippet is a folder with ``commands.sh``: one command a line, run one at a time in that folder;
``$EXPERIMENT_ID`` stands for the id an earlier command printed.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from tests.live_server import LiveServer

SNIPPETS = Path(__file__).parent / "snippets"
BIN = Path(sys.executable).parent
TIMEOUT_S = 120
# Variables of the machine running the tests that would point a snippet elsewhere than its own store.
FOREIGN_ENV = ("SIGOPT_API_URL", "SIGOPT_API_TOKEN", "SIGOPT_AI_DB", "SIGOPT_AI_RUN", "SIGOPT_CONTEXT")
FOREIGN_ENV += ("SIGOPT_AI_DISABLED", "SIGOPT_AI_SPOOL", "SIGOPT_PROJECT")
BOTH = pytest.mark.parametrize("target", ["embedded", "server"], indirect=True)


def _explain(done: subprocess.CompletedProcess[str]) -> str:
    """What a failed command said: the command, its exit code, and the end of its output."""
    command = " ".join(shlex.quote(str(arg)) for arg in done.args)
    out = "\n".join(done.stdout.splitlines()[-15:])
    err = "\n".join(done.stderr.splitlines()[-25:])
    return f"`{command}` exited {done.returncode}\n--- stdout (tail)\n{out}\n--- stderr (tail)\n{err}"


def _sigopt_ai_command() -> list[str]:
    """How ``sigopt-ai`` is started here: the console script beside this Python, else the module's main."""
    script = shutil.which("sigopt-ai", path=str(BIN))
    return [script] if script else [sys.executable, "-c", "from sigopt_ai.cli import main; main()"]


@dataclass
class Target:
    """Where a snippet records (``embedded`` or ``server``), the environment that says so, and its folder."""

    kind: str
    env: dict[str, str] = field(repr=False)
    project: str
    workdir: Path = field(repr=False)

    def copy(self, *names: str) -> None:
        """Copy snippet files, or a snippet folder's contents, into the working folder."""
        for name in names:
            source = SNIPPETS / name
            if source.is_dir():
                shutil.copytree(source, self.workdir, dirs_exist_ok=True)
            else:
                shutil.copy(source, self.workdir / source.name)

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run one command in the working folder; it must exit 0."""
        done = subprocess.run(
            argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            pytest.fail(_explain(done), pytrace=False)
        return done

    def python(self, snippet: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Copy ``snippet`` (a file, or ``folder/script.py``) and run it with this Python."""
        folder, _, script = snippet.rpartition("/")
        self.copy(folder or script)
        return self.run([sys.executable, script, *args])

    def commands(self, folder: str) -> list[subprocess.CompletedProcess[str]]:
        """Copy a CLI snippet folder and run its ``commands.sh`` line by line (``sigopt-ai`` as installed)."""
        self.copy(folder)
        done = []
        values: dict[str, str] = {}
        for line in (SNIPPETS / folder / "commands.sh").read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            argv = [re.sub(r"\$([A-Z_]+)", lambda m: values[m.group(1)], arg) for arg in shlex.split(line)]
            if argv[0] == "sigopt-ai":
                argv = _sigopt_ai_command() + argv[1:]
            done.append(self.run(argv))
            printed = re.search(r"start-worker\s+(\S+)", done[-1].stdout + done[-1].stderr)
            if printed and "EXPERIMENT_ID" not in values:
                values["EXPERIMENT_ID"] = printed.group(1)
        return done

    def runs(self, project: str | None = None) -> list[sigopt.RunRecord]:
        """The runs the snippet stored in its project (or ``project``), oldest first."""
        return sorted(sigopt.list_runs(project or self.project, limit=10_000), key=lambda r: r.created)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server over its own SQLite file, shared by this module's tests (each has its project)."""
    with LiveServer(str(tmp_path_factory.mktemp("live") / "server.db")) as server:
        yield server


@pytest.fixture
def target(request: pytest.FixtureRequest, store: Path, tmp_path: Path) -> Target:
    """A fresh embedded store (the test's own, see tests/conftest.py), or the module's live server; this
    process reads back from the same place."""
    kind = getattr(request, "param", "embedded")
    project = f"compat-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SIGOPT_PROJECT=project,
        SIGOPT_AI_FLUSH_INTERVAL="0.1",
        SIGOPT_AI_SPOOL=str(tmp_path / "spool.db"),
        SIGOPT_HOME=str(tmp_path / "sigopt-home"),
        MPLBACKEND="Agg",
    )
    if kind == "embedded":
        env["SIGOPT_AI_DB"] = str(store)
    else:
        server: LiveServer = request.getfixturevalue("live_server")
        env.update(server.env())
        sigopt.configure(api_url=server.url, api_token=server.token, spool=tmp_path / "reader-spool.db")
    workdir = tmp_path / "work"
    workdir.mkdir()
    return Target(kind, env, project, workdir)  # the store fixture resets the session and settings after


def _printed(pattern: str, done: subprocess.CompletedProcess[str]) -> str:
    found = re.search(pattern, done.stdout)
    assert found, f"{pattern!r} not in the snippet's output:\n{done.stdout}"
    return found.group(1)


def _completed(runs: list[sigopt.RunRecord]) -> bool:
    return all(r.state is sigopt.RunState.COMPLETED for r in runs)


# --- the core module: Connection ---------------------------------------------------------------------


@BOTH
def test_core_readme_loop(target: Target) -> None:
    """README "Issuing Requests": 20 suggestions of the Franke function, each observed by its id."""
    done = target.python("core_readme_loop.py")
    experiment = sigopt.get_experiment(_printed(r"experiment/(\S+)", done))
    observations = experiment.observations()
    assert len(observations) == 20
    assert all(not o.failed and math.isfinite(o.values["f"]) for o in observations)
    assert len({o.suggestion for o in observations}) == 20


def test_core_docs_budget_loop(target: Target) -> None:
    """The docs' loop runs until ``progress.observation_count`` reaches the budget, then reads the best."""
    done = target.python("core_docs_budget_loop.py")
    experiment = sigopt.get_experiment(_printed(r"experiment/(\S+)/analysis", done))
    assert experiment.progress.finished == 6
    best = max(experiment.observations(), key=lambda o: o.values["metric_1"])
    assert f"parameter_1 = {best.assignments['parameter_1']}\n" in done.stdout


@BOTH
def test_core_seeds_loop(target: Target) -> None:
    """The core loop with a failed observation and one reported by assignments; budget 6 is exact."""
    done = target.python("core_seeds_loop.py")
    experiment = sigopt.get_experiment(_printed(r"created (\S+) 0", done))
    assert experiment.progress.finished == 6
    assert experiment.progress.failed == 1
    assert experiment.name == "core loop (done)"
    assert "observations 6 failed 1\n" in done.stdout
    assert "open suggestions 0\n" in done.stdout
    assert "best {" in done.stdout
    assert "listed True\nno such experiment: 404\ndeleted deleted\n" in done.stdout


# --- the AI module: experiments ----------------------------------------------------------------------


@BOTH
def test_ai_examples_basic(target: Target) -> None:
    """examples/basic.py: module-level logging outside any run, then ``experiment.loop()`` to the budget."""
    done = target.python("ai_examples_basic.py", "--budget", "4", "--client_token", "stand-in-token")
    experiment = sigopt.get_experiment(_printed(r"Created experiment id (\S+)", done))
    runs = [r for r in target.runs() if r.experiment == experiment.id]
    assert len(runs) == 4 and _completed(runs)
    for r in runs:
        assert r.metrics["holdout_accuracy"] == pytest.approx(1.0 - abs(r.params["x"] - 20.0) / 50.0)
    assert experiment.progress.finished == 4
    assert "Traceback" not in done.stderr


def test_ai_examples_parallel(target: Target) -> None:
    """examples/parallel.py: two ``sigopt-ai start-worker`` processes share one experiment's budget (the
    command line through a server: test_cli_tutorial)."""
    done = target.python(
        "ai_examples_parallel/parallel.py", "--budget", "2", "--parallel_bandwidth", "2", "--client_token", "x"
    )
    experiment = sigopt.get_experiment(_printed(r"Created experiment id (\S+)", done))
    runs = [r for r in target.runs() if r.experiment == experiment.id]
    assert len(runs) == 2 and _completed(runs), [(r.state, r.failure) for r in runs]
    for r in runs:
        assert r.metrics["holdout_accuracy"] == pytest.approx(1.0 - abs(r.params["x"] - 20.0) / 50.0)
    assert experiment.progress.finished == 2


@BOTH
def test_ai_docs_loop(target: Target) -> None:
    """The docs' AI loop: ``for run in experiment.loop(): with run:``, then progress and the best runs."""
    done = target.python("ai_docs_loop.py")
    assert "remaining budget 0\n" in done.stdout
    assert "runs 5\n" in done.stdout
    runs = target.runs()
    assert len(runs) == 5 and _completed(runs)
    assert all({"accuracy", "loss"} <= set(r.metrics) for r in runs)
    best = max(runs, key=lambda r: r.metrics["accuracy"])
    assert f"best run {best.id} " in done.stdout
    assert f" {best.metrics['accuracy']!r}\nruns 5\n" in done.stdout
    assert f"record {best.metrics['accuracy']!r} {best.params['batch_size']!r}\n" in done.stdout
    assert "metrics ['accuracy', 'loss'] parameters ['learning_rate', 'batch_size', 'optimizer']" in done.stdout
    assert " state active bandwidth 1\n" in done.stdout
    for r in runs:
        assert f"run {r.id} completed ['accuracy', 'loss']\n" in done.stdout, "a TrainingRun's state prints as its text"


@BOTH
def test_ai_docs_create_run_loop(target: Target) -> None:
    """``while not experiment.is_finished(): with experiment.create_run() as run:``, resumed elsewhere by id."""
    done = target.python("ai_docs_create_run_loop.py")
    assert "finished True 4\n" in done.stdout
    runs = target.runs()
    assert len(runs) == 4 and _completed(runs)
    assert all(r.metrics["f1"] == pytest.approx(1.0 - abs(r.params["depth"] - 6) / 10) for r in runs)


@BOTH
def test_ai_integration_update(target: Target) -> None:
    """integration_test/test_experiment.py: parameters edited in place, ``update(**fields)``, read back."""
    done = target.python("ai_integration_update.py")
    experiment = sigopt.get_experiment(_printed(r"updated (\S+)", done))
    assert experiment.name == "experiment-integration-test-1"
    assert experiment.budget == 4


@BOTH
def test_ai_integration_upload_runs(target: Target) -> None:
    """integration_test/test_sigopt.py: ``upload_runs`` in batches of 2, 3, 10 and 20 stores every run."""
    target.python("ai_integration_upload_runs.py")
    runs = target.runs()
    assert len(runs) == 4 * 10 + 4 * 11
    by_name = {r.name: r for r in runs}
    assert dict(by_name["batch-3"].params) == {"x": 3, "y": 9}
    assert dict(by_name["batch-3"].metrics) == {"r0": 12, "r1": 9}
    assert by_name["batch-3"].state is sigopt.RunState.FAILED
    assert by_name["batch-4"].state is sigopt.RunState.COMPLETED


def test_ai_archive(target: Target) -> None:
    """archive_run/unarchive_run, archive_experiment/unarchive_experiment and archive_aiexperiment(include_runs)."""
    done = target.python("ai_archive.py")
    scratch, experiment_id, keep = re.findall(r"archived (\S+) (\S+) kept (\S+)", done.stdout)[0]
    listed = {r.id for r in target.runs()}
    assert listed == {keep}, "archived runs (scratch, the experiment's runs) are left out of lists"
    assert sigopt.get_run(scratch).archived
    assert not sigopt.get_run(keep).archived
    experiment = sigopt.get_experiment(experiment_id)
    assert experiment.progress.finished == 2, "unarchived, the experiment served its budget"
    assert experiment.state == "deleted"


@BOTH
def test_ai_create_project(target: Target) -> None:
    """create_project, the ConflictingProjectException of a second create, and set_project."""
    done = target.python("ai_create_project.py")
    assert "exists:" in done.stdout
    assert f"token configured: {target.kind == 'server'}\n" in done.stdout
    run_id = _printed(r"run (\S+)", done)
    assert [r.id for r in target.runs("side-project")] == [run_id]
    assert sigopt.get_run(run_id).metadata["owner"] == "data team"


# --- the AI module: runs ------------------------------------------------------------------------------


@BOTH
def test_runs_context(target: Target) -> None:
    """test/runs/test_context.py's calls on a real run: params, metadata, metrics, dataset, model, failure."""
    done = target.python("runs_context.py")
    run = sigopt.get_run(_printed(r"run (\S+)", done))
    assert dict(run.params) == {"assignment_test_key": 12345, "other_key": "hello"}
    assert run.metadata["number"] == 1.2345
    assert run.metadata.get("nothing") is None
    assert run.metadata["listish"] == "[]"
    assert dict(run.metrics) == {"good": 12345, "with_stddev": 0}
    assert run.metric_stddevs["with_stddev"] == 1.2345
    assert run.datasets == ("dataset for testing",)
    assert run.model == "test type"
    assert len(run.checkpoints) == 1
    assert run.state is sigopt.RunState.FAILED
    assert run.failure is not None and run.failure.kind is sigopt.FailureKind.REPORTED


def test_runs_factory(target: Target) -> None:
    """test/runs/test_factory.py: create_run(name=), params set/setdefault/update/pop, an exception fails the run."""
    target.python("runs_factory.py")
    runs = {r.name: r for r in target.runs()}
    assert runs["test context"].state is sigopt.RunState.COMPLETED
    local = runs["test-run"]
    assert local.state is sigopt.RunState.COMPLETED
    assert {k: v for k, v in local.params.items() if v is not None} == {"p1": 1, "p3": 3, "p4": 4}
    assert local.metrics["metric"] == 1 and local.metric_stddevs["metric"] == 0.1
    assert runs["test-run-exception"].state is sigopt.RunState.FAILED


def test_runs_set_project(target: Target) -> None:
    """test/runs/test_set_project.py: set_project without a run warns not, and later runs go there."""
    done = target.python("runs_set_project.py")
    assert f"default project {target.project}\n" in done.stdout
    assert [r.id for r in target.runs("test-123")] == [_printed(r"run (\S+)", done)]


def test_runs_log_image(target: Target) -> None:
    """log_image takes what test/runs/test_utils.py shows sigopt-python takes, and stores each file."""
    done = target.python("runs_log_image/log_images.py")
    files = sigopt.list_files(_printed(r"run (\S+)", done))
    types = sorted(f.content_type for f in files)
    assert types == ["image/bmp"] + ["image/png"] * 7 + ["image/svg+xml"] * 2
    (bmp,) = [f for f in files if f.content_type == "image/bmp"]
    assert sigopt.read_file(bmp.id) == (SNIPPETS / "runs_log_image" / "test_files" / "test.bmp").read_bytes()


def test_metric_coercion(target: Target) -> None:
    """Numeric strings, bools and numpy numbers are logged as numbers, as sigopt-python's sanitize_number does."""
    done = target.python("metric_coercion.py")
    run = sigopt.get_run(_printed(r"run (\S+)", done))
    assert dict(run.metrics) == {"acc": 0.9, "epochs": 2, "converged": 1.0, "mean_loss": 0.375, "n_samples": 1000}
    assert run.metadata["n_features"] == 12
    assert run.metadata["data_version"] == "v2"


def test_default_project_is_the_folder_name(target: Target) -> None:
    """Without SIGOPT_PROJECT the project is the working folder's name, normalised as test/runs/test_defaults.py
    says (lower case, characters other than ``a-z0-9-_.`` dropped)."""
    target.workdir = target.workdir / "Sigopt's Model_v2"
    target.workdir.mkdir()
    del target.env["SIGOPT_PROJECT"]
    done = target.python("metric_coercion.py")
    assert sigopt.get_run(_printed(r"run (\S+)", done)).project == "sigoptsmodel_v2"


def test_params_setdefaults_without_a_run(target: Target) -> None:
    """``python model.py`` with no run: setdefaults gives the defaults, log_* record nothing, one warning."""
    done = target.python("params_setdefaults.py")
    assert "lr 0.001 depth 4 run None\n" in done.stdout
    assert target.runs() == []
    assert done.stderr.count("UserWarning") == 1, done.stderr


# --- the command line ---------------------------------------------------------------------------------


def test_cli_run(target: Target) -> None:
    """test/cli/test_run.py's commands, and a model script that logs through the module API."""
    target.copy("params_setdefaults.py")
    echo, args, imported, model = target.commands("cli_run")
    assert echo.stdout == "hello\n" and imported.stdout == "hello\n", "stdout is the child's, as sigopt-python's"
    assert args.stdout == "print_args.py\n--kwarg=value\npositional_arg\n--\nafter -- arg\n"
    runs = target.runs()
    assert len(runs) == 4 and _completed(runs), [(r.name, r.state, r.failure) for r in runs]
    stdout = [f for f in sigopt.list_files(runs[0].id) if f.name == "stdout"]
    assert len(stdout) == 1 and sigopt.read_file(stdout[0].id) == b"hello\n"
    recorded = runs[-1]
    assert f"run {recorded.id}\n" in model.stdout
    assert dict(recorded.params) == {"lr": 1e-3, "depth": 4, "activation": "relu"}
    assert set(recorded.metrics) == {"loss", "accuracy", "epochs"}
    assert len(recorded.checkpoints) == 3
    assert recorded.datasets == ("mnist",) and recorded.model == "mlp"
    images = [(f.name, f.content_type) for f in sigopt.list_files(recorded.id)]
    assert ("weights", "image/png") in images


@pytest.mark.parametrize("target", ["server"], indirect=True)
def test_cli_tutorial(target: Target) -> None:
    """sigopt-python's CI tutorial against a server, as its CI ran it: ``sigopt-ai create project`` then
    ``sigopt-ai run python model.py`` (the same model pattern on the embedded store: test_cli_run)."""
    target.commands("cli_tutorial")
    (run,) = target.runs()
    assert run.state is sigopt.RunState.COMPLETED
    assert dict(run.params) == {"n_estimators": 100}
    assert 0.5 < run.metrics["accuracy"] <= 1.0
    assert run.datasets == ("iris 2/3 training, full test",) and run.model == "xgboost"


def test_cli_runfile(target: Target) -> None:
    """``sigopt-ai run`` takes its command and the run's name from run.yml."""
    target.commands("cli_runfile")
    (run,) = target.runs()
    assert run.name == "My Run" and run.state is sigopt.RunState.COMPLETED
    assert run.metrics["accuracy"] == pytest.approx(0.99) and dict(run.params) == {"lr": 0.01}


def test_cli_optimize(target: Target) -> None:
    """``sigopt-ai optimize -e experiment.yml -p tuning python model.py``: the child reads suggested params, to
    the budget, in the project given."""
    (optimize,) = target.commands("cli_optimize")
    runs = target.runs("tuning")
    assert len(runs) == 2 and _completed(runs), [(r.state, r.failure) for r in runs]
    assert len({r.experiment for r in runs}) == 1 and runs[0].experiment is not None
    assert sigopt.get_experiment(runs[0].experiment).progress.finished == 2
    for r in runs:
        assert f"lr={r.params['lr']} depth={r.params['depth']} accuracy=" in optimize.stdout
        assert set(r.params) == {"lr", "depth"} and "accuracy" in r.metrics


def test_cli_start_worker(target: Target) -> None:
    """``create experiment`` prints the start-worker command; a worker spends the budget; the list shows it."""
    create, _worker, listed = target.commands("cli_start_worker")
    experiment_id = _printed(r"start-worker\s+(\S+)", create)
    runs = target.runs()
    assert len(runs) == 2 and _completed(runs) and {r.experiment for r in runs} == {experiment_id}
    assert experiment_id in listed.stdout


def test_cli_init(target: Target) -> None:
    """test/cli/test_init.py: ``sigopt-ai init`` writes run.yml and experiment.yml and says so."""
    (init,) = target.commands("cli_init")
    for name in ("run.yml", "experiment.yml"):
        assert (target.workdir / name).is_file()
        assert name in init.stdout


# --- the AI module: sigopt.xgboost ----------------------------------------------------------------------

XGB_PROJECT = "dev-sigopt-xgb-integration-test"  # the snippets set SIGOPT_PROJECT themselves, as their source


@pytest.fixture
def xgb_target(target: Target) -> Target:
    """One OpenMP thread: xgboost's default (a thread per core) is several times slower on a busy 2-core machine."""
    target.env["OMP_NUM_THREADS"] = "1"
    return target


def test_xgb_integration_run(xgb_target: Target) -> None:
    """integration_test/test_xgboost_run.py: ``sigopt.xgboost.run`` for each task, with its logging turned
    off, on a given run, with xgboost's defaults; the runs it started have ended (sigopt-python left them
    active: the source ends only some)."""
    done = xgb_target.python("xgb_integration/xgb_run.py")
    assert done.stdout.endswith("all passed\n")
    runs = xgb_target.runs(XGB_PROJECT)
    assert len(runs) == 6 and _completed(runs), [(r.name, r.state, r.failure) for r in runs]
    for task in ("binary", "multiclass", "regression"):
        assert f"dev-integration-test-{task}" in {r.name for r in runs}
    assert all(r.model == "XGBoost" for r in runs)


def test_xgb_integration_experiment(xgb_target: Target) -> None:
    """integration_test/test_xgboost_experiment.py: ``sigopt.xgboost.experiment`` spends each budget with
    its metric on every run; ``sigopt.xgboost.run`` records into a run from ``experiment.create_run()``."""
    done = xgb_target.python("xgb_integration/xgb_experiment.py")
    assert done.stdout.endswith("all passed\n")
    experiment_id, run_id = re.findall(r"custom loop (\S+) (\S+)", done.stdout)[0]
    custom = sigopt.get_run(run_id)
    assert custom.experiment == experiment_id and custom.state is sigopt.RunState.COMPLETED
    assert {"test0-F1", "test0-recall", "Training time"} <= set(custom.metrics)
    assert sigopt.get_experiment(experiment_id).progress.finished == 1
    runs = xgb_target.runs(XGB_PROJECT)
    assert _completed(runs) and all(r.experiment is not None for r in runs)
