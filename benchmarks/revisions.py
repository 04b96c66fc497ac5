"""Run a benchmark against any revision of the package, and keep each revision's results under a label.

A benchmark that uses only the public API (``import sigopt_ai as sigopt``) can measure an older
revision checked out elsewhere::

    git worktree add /tmp/rev-821c71c 821c71c
    PYTHONPATH=/tmp/rev-821c71c python benchmarks/concurrency.py --label before

For that to hold, the benchmark's own process never imports ``sigopt_ai``; its children do, from a
scratch folder (a ``python -c`` child puts its working directory first on ``sys.path``, which would
pick up the checkout the benchmark runs from), with ``PYTHONPATH`` inherited. Each child reports
``sigopt_ai.__file__`` and :func:`code_under_test` names the revision it belongs to.

Results are one JSON file per benchmark holding every label run so far (:func:`record_label`), so
that the Markdown report can show the labels side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHILD_TIMEOUT_S = 1800.0


def child_env(db: Path, project: str, **extra: str) -> dict[str, str]:
    """The environment of a child that stores into ``db``; ``PYTHONPATH`` (the code under test) is inherited."""
    env = dict(os.environ)
    env.pop("SIGOPT_AI_DISABLED", None)
    env.update({"SIGOPT_AI_DB": str(db), "SIGOPT_PROJECT": project, **extra})
    return env


def spawn(code: str, args: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter in ``cwd``, with stdin, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_json_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The child's next line of output, a JSON object; the child's error if it printed none."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("{"):
        proc.kill()
        _, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
        raise RuntimeError(f"the child printed {line[:200]!r} (rc={proc.returncode}): {err[-3000:]}")
    result: dict[str, Any] = json.loads(line)
    return result


def run_child(code: str, args: Sequence[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run ``code`` to its end; the JSON object on the last line of its output."""
    proc = subprocess.run(
        [sys.executable, "-u", "-c", textwrap.dedent(code), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"the child failed (rc={proc.returncode}): {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def code_under_test(files: Sequence[str]) -> dict[str, Any]:
    """The package the children imported (every child must agree) and its checkout's commit.

    Raises:
        RuntimeError: Two children imported ``sigopt_ai`` from different places.
    """
    if len(set(files)) != 1:
        raise RuntimeError(f"the children imported different copies of sigopt_ai: {sorted(set(files))}")
    package = Path(files[0]).resolve().parent
    checkout = package.parent
    commit = _git(checkout, "rev-parse", "HEAD")
    status = _git(checkout, "status", "--porcelain", "--untracked-files=no", "--", "sigopt_ai")
    return {"package": str(package), "commit": commit, "modified": bool(status)}


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def record_label(path: Path, label: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Store ``entry`` as ``label``'s results in the JSON file ``path``, keeping the other labels.

    The file's top-level ``command`` and ``machine`` are those of this run (the report's header);
    each label keeps its own. A label run again replaces its entry in place.

    Returns:
        Everything the file now holds.
    """
    results: dict[str, Any] = {"labels": {}}
    if path.exists():
        try:
            results = json.loads(path.read_text())
        except json.JSONDecodeError:
            pass
    results.setdefault("labels", {})[label] = entry
    results["command"] = entry["command"]
    results["machine"] = entry["machine"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    return results


def runs_table(results: dict[str, Any]) -> list[str]:
    """A Markdown table of the labels: the code each measured, the command, the date and the load."""
    lines = [
        "| label | code under test | command | date (UTC) | CPUs usable | load average at start, end |",
        "|---|---|---|---|---:|---|",
    ]
    for label, entry in results["labels"].items():
        code, machine = entry["code"], entry["machine"]
        commit = (code["commit"] or "?")[:10] + (" + local changes" if code["modified"] else "")
        lines.append(
            f"| {label} | `{commit}` ({code['package']}) | `{entry['command']}` | {machine['date_utc']} | "
            f"{machine['cpus_usable']} | {machine['load_average_at_start']}, {machine.get('load_average_at_end')} |"
        )
    return lines


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that produced a result: the ``PYTHONPATH`` that chose the code under test, and
    ``taskset`` when the process could use fewer CPUs than the machine has."""
    args = " ".join(sys.argv[1:] if argv is None else argv)
    pythonpath = os.environ.get("PYTHONPATH")
    prefix = f"PYTHONPATH={pythonpath} " if pythonpath else ""
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if usable and len(usable) < (os.cpu_count() or 0):
        prefix += f"taskset -c {','.join(map(str, usable))} "
    return f"{prefix}python benchmarks/{script} {args}".strip()
