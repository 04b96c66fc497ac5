"""The system and this process: facts recorded with every run (host, OS, Python, CPU, memory, GPUs,
git commit), the resident set, and giving freed memory back."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import psutil


@functools.lru_cache(maxsize=1)
def static_facts() -> dict[str, Any]:
    """Facts that do not change while the process lives (collected once, about 10 ms)."""
    facts: dict[str, Any] = {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "pid": os.getpid(),
        "argv": list(sys.argv),
        "gpus": gpus(),
    }
    facts.update(git_facts(os.getcwd()))
    return facts


def gpus() -> list[dict[str, Any]]:
    """GPUs seen through NVML (``pip install nvidia-ml-py``); empty when NVML or a GPU is missing."""
    try:
        # Optional (nvidia-ml-py, not a dependency): a missing one costs only the GPU facts.
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: NVMLError is only importable once NVML is present
        return []
    try:
        return [_gpu(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())]
    finally:
        pynvml.nvmlShutdown()


def _gpu(pynvml: Any, index: int) -> dict[str, Any]:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    name = pynvml.nvmlDeviceGetName(handle)
    return {
        "index": index,
        "name": name.decode() if isinstance(name, bytes) else name,
        "memory_total_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
    }


def git_facts(cwd: str) -> dict[str, Any]:
    """The git commit and whether the work tree is dirty, when ``cwd`` is inside a repository."""
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
        dirty = bool(_git(cwd, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit, "git_dirty": dirty} if commit else {}


def _git(cwd: str, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True)
    return result.stdout.strip()


def rss_bytes() -> int:
    """The resident set size of this process now."""
    return int(psutil.Process().memory_info().rss)


def give_memory_back() -> None:
    """Return the free pages of the C heap to the operating system, where the allocator allows it
    (after a large backlog of records was written).

    glibc's ``malloc_trim`` releases what freed records leave in its heap, which it would otherwise
    keep for reuse; elsewhere (macOS, musl, Windows) nothing is done. The GIL is released meanwhile.
    No garbage collection is forced: the records were freed by reference counting as their batches
    were written, and a full collection would hold the GIL while it walks every object the process
    holds (a training process's model and data too), stalling the training thread for a few MB.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no such symbol, or no process handle (Windows)
        return None
    return trim
