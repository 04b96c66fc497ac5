"""Run a script of ``examples/`` as its users would: a fresh interpreter, with its own store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(
    name: str, tmp_path: Path, *args: str, drop: Iterable[str] = (), timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name> *args`` in a fresh interpreter in ``tmp_path``; assert it exited 0.

    Its environment is this one without the variables in ``drop``, with a fresh ``SIGOPT_AI_DB`` in
    ``tmp_path`` and ``SIGOPT_PROJECT=example`` (unless ``env`` names another), then ``env``.
    """
    dropped = set(drop)
    environ = {key: value for key, value in os.environ.items() if key not in dropped}
    environ.update(SIGOPT_AI_DB=str(tmp_path / "example.db"), SIGOPT_PROJECT="example")
    environ.update(env)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done
