"""The public surface is deliberate: a sorted __all__, and an import that stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import sigopt_ai
from sigopt_ai import optimizer


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name in dir(sigopt_ai)
        if not name.startswith("_") and not isinstance(getattr(sigopt_ai, name), ModuleType)  # not subpackages
    }
    plumbing = {"annotations", "TYPE_CHECKING"}  # the __future__ import and typing's flag, not API names
    assert sigopt_ai.__all__ == sorted(sigopt_ai.__all__)
    assert set(sigopt_ai.__all__) == public - plumbing
    assert not [name for name in sigopt_ai.__all__ if name.startswith("_")]


def test_dir_lists_what_the_package_holds_and_its_lazy_names() -> None:
    # Before their first use the lazy names are not in the package's namespace: dir() (and a
    # REPL's completion) must still offer them, and must not hide what is there, such as __version__.
    assert {"__version__", "__doc__", "Experiment", "create_experiment", "log_metric"} <= set(dir(sigopt_ai))
    assert {"__doc__", "make_strategy", "SobolStrategy", "SuggestionService"} <= set(dir(optimizer))


def test_exceptions_share_one_root() -> None:
    for name in sigopt_ai.__all__:
        obj = getattr(sigopt_ai, name)
        if isinstance(obj, type) and issubclass(obj, BaseException) and obj is not sigopt_ai.Terminated:
            assert issubclass(obj, sigopt_ai.SigOptError), name
    assert issubclass(sigopt_ai.Terminated, KeyboardInterrupt)
    assert not issubclass(sigopt_ai.Terminated, Exception)


def test_import_loads_no_heavy_dependency() -> None:
    code = "import sys, json, sigopt_ai; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    )
    heavy = {"numpy", "scipy", "sqlalchemy", "torch", "tensorflow", "httpx", "rich", "yaml", "PIL", "matplotlib"}
    assert not loaded & heavy


def test_type_checkers_see_the_lazy_names_and_refuse_a_misspelt_one(tmp_path: Path) -> None:
    # A module __getattr__ seen by a type checker makes every other name Any, typos included.
    api = pytest.importorskip("mypy.api")
    script = tmp_path / "train.py"
    script.write_text(
        "import sigopt_ai as sigopt\n"
        "import sigopt_ai.optimizer as optimizer\n"
        "experiment: sigopt.Experiment = sigopt.create_experiment(name='e')\n"
        "strategy: optimizer.Strategy = optimizer.make_strategy(experiment.definition)\n"
        "sigopt.lgo_metric('loss', 0.1)\n"
        "optimizer.make_strategi\n"
    )
    stdout, _, _ = api.run(["--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(script)])
    errors = [line.split(": error: ")[1] for line in stdout.splitlines() if ": error: " in line]
    assert [error.split(";")[0] for error in errors] == [
        'Module has no attribute "lgo_metric"',
        'Module has no attribute "make_strategi"',
    ]
