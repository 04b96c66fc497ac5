"""``sigopt_ai.integrations`` is the top-level ``integrations/`` folder, in an editable install and in a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import sigopt_ai.integrations

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "integrations").glob("*.py") if p.stem != "__init__")


def test_the_editable_install_imports_the_top_level_folder() -> None:
    assert Path(sigopt_ai.integrations.__file__).resolve() == ROOT / "integrations" / "__init__.py"


@pytest.mark.slow
def test_a_built_wheel_carries_the_integrations_and_imports_them(tmp_path: Path) -> None:
    # No build isolation: hatchling comes with the test extra, so the test needs no index.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = tmp_path.glob("sigopt_ai-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {f"sigopt_ai/integrations/{m}.py" for m in [*MODULES, "__init__"]} <= names
    site = tmp_path / "site"
    assert (site / "sigopt_ai" / "integrations").is_dir() and not (site / "sigopt_ai" / "integrations").is_symlink()

    imports = "; ".join([*(f"import sigopt_ai.integrations.{m}" for m in MODULES), "sigopt_ai.xgboost.run"])
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sigopt_ai.integrations, sigopt_ai.xgboost; {imports}; print(sigopt_ai.integrations.__file__)",
        ],
        cwd=tmp_path,  # not the checkout, which `python -c` would put first on sys.path
        env={**os.environ, "PYTHONPATH": str(site), "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(site / "sigopt_ai" / "integrations" / "__init__.py")
