"""Weights & Biases logging overhead in offline mode (no network).

Run: ``<venv>/bin/python bench_wandb.py`` (needs ``wandb psutil``). Times
``wandb.init(mode="offline", dir=<work dir>)``, ``run.log({"loss": v}, step=i)`` and
``run.finish()``. wandb runs a separate service process (wandb-core); its RSS is reported as
``child_procs_rss_peak_mb``.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import harness

_DIRS = (
    ("WANDB_DIR", "wandb-dir"),
    ("WANDB_CACHE_DIR", "wandb-cache"),
    ("WANDB_CONFIG_DIR", "wandb-config"),
    ("WANDB_DATA_DIR", "wandb-data"),
    ("WANDB_ARTIFACT_DIR", "wandb-artifacts"),
)


def factory(workdir: str) -> tuple[Any, Any, Any, Any]:
    """wandb offline: every directory it writes lies in the work directory."""
    for var, sub in _DIRS:
        os.environ[var] = os.path.join(workdir, sub)
        os.makedirs(os.environ[var], exist_ok=True)
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_MODE"] = "offline"
    import wandb

    def start() -> Any:
        return wandb.init(mode="offline", dir=os.environ["WANDB_DIR"], project="bench")

    def log(run: Any, i: int, value: float) -> None:
        run.log({"loss": value}, step=i)

    def end(run: Any) -> None:
        run.finish()

    def verify(run: Any) -> dict[str, Any]:
        files = glob.glob(os.path.join(os.environ["WANDB_DIR"], "wandb", "offline-run-*", "*.wandb"))
        return {
            "wandb": wandb.__version__,
            "offline_files": len(files),
            "wandb_file_kb": round(sum(os.path.getsize(f) for f in files) / 1024, 1),
        }

    return start, log, end, verify


CONFIGS = {"offline": factory}

if __name__ == "__main__":
    harness.main(__file__, CONFIGS, extra_env={"WANDB_MODE": "offline"})
