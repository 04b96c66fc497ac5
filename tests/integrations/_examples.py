"""Run a script of ``examples/`` as its users would: a fresh interpreter, with its own store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` in ``tmp_path`` with a fresh ``SIGOPT_AI_DB`` there; asserts it exited 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        env={**os.environ, "SIGOPT_AI_DB": str(tmp_path / "example.db")},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done
