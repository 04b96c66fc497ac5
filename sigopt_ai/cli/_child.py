"""The training command as a child process: started in its own session, its output teed and kept, its
memory watched, the signals sent to ``sigopt-ai`` forwarded to it, and its exit read as a failure.

The child gets its own session (``setsid``) so that a Ctrl-C at the terminal reaches it once, through
``sigopt-ai`` (the terminal signals only the foreground group), and so that ``sigopt-ai`` can signal
and finally kill everything the command started. On Linux the child is also killed if ``sigopt-ai``
dies without a chance to do so (``kill -9``), through ``PR_SET_PDEATHSIG``.
"""

from __future__ import annotations

import codecs
import ctypes
import ctypes.util
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import psutil

from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai._failures import FailureInfo, FailureKind

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals to ``sigopt-ai`` that are passed on to the command (a second one kills it)."""
GRACE_SECONDS = 30.0
"""How long the command may take to stop after a forwarded signal before it is killed."""
OOM_FRACTION = 0.9
"""A ``SIGKILL`` with the peak resident set at least this share of the memory limit is an ``oom``."""
SAMPLE_SECONDS = 0.1
"""How often the resident set of the command's processes is sampled."""
TREE_SECONDS = 1.0
"""How often the command's process tree and its memory limit are read again (walking ``/proc`` for
the descendants and reading the cgroup costs far more than one process's resident set)."""


@dataclass(frozen=True, slots=True)
class MemoryEvidence:
    """What the command's memory did: its peak, its limit, and whether the kernel's OOM killer ran."""

    peak_rss: int
    limit: int | None
    oom_kills: int

    def near_limit(self) -> bool:
        """Whether the peak reached :data:`OOM_FRACTION` of the limit."""
        return self.limit is not None and self.peak_rss >= OOM_FRACTION * self.limit


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How the command ended.

    Attributes:
        returncode: Its exit status (``-N``: killed by signal N).
        memory: Its memory evidence.
        stdout: What it wrote to stdout (head and tail when longer than the file limit).
        stderr: The same for stderr.
        received: The signal ``sigopt-ai`` received and forwarded while it ran, if any.
    """

    returncode: int
    memory: MemoryEvidence
    stdout: bytes
    stderr: bytes
    received: int | None

    def failure(self) -> FailureInfo | None:
        """What the exit status says when the command recorded no failure itself.

        Exit 0: nothing. A signal ``sigopt-ai`` forwarded, or death by SIGTERM, SIGINT or SIGHUP:
        ``interrupted``. SIGKILL while the cgroup's OOM killer ran or the memory was near its limit:
        ``oom``. Any other signal or non-zero status: ``error``, naming it.
        """
        code = self.returncode
        if code == 0:
            return None
        interrupted = code in (-signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP) or self.received is not None
        if not interrupted and code == -signal.SIGKILL and (self.memory.oom_kills or self.memory.near_limit()):
            return FailureInfo(FailureKind.OOM, type="SIGKILL", message=self._oom_message())
        if interrupted:
            why = f"signal {signal_name(-code)}" if code < 0 else f"exit status {code}"
            return FailureInfo(
                FailureKind.INTERRUPTED,
                type=signal_name(self.received or -code),
                message=f"The command was interrupted ({why}).",
            )
        if code < 0:
            return FailureInfo(
                FailureKind.ERROR,
                type=signal_name(-code),
                message=f"The command was killed by signal {signal_name(-code)}.",
            )
        return FailureInfo(FailureKind.ERROR, type="ExitStatus", message=f"The command exited with status {code}.")

    def _oom_message(self) -> str:
        memory = self.memory
        if memory.oom_kills:
            return (
                "The command was killed by the kernel's OOM killer "
                f"(cgroup memory.events oom_kill rose by {memory.oom_kills})."
            )
        return (
            f"The command was killed by SIGKILL with its memory at {memory.peak_rss} bytes, "
            f"{memory.peak_rss / (memory.limit or 1):.0%} of its limit of {memory.limit} bytes."
        )


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; the number for a signal Python does not know."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class CommandNotStarted(Exception):
    """The command could not be started; the message says what to do, ``status`` is the shell's
    exit status for it (127: not found, 126: not runnable)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def run_child(argv: Sequence[str], env: dict[str, str]) -> ChildExit:
    """Run ``argv`` to its end, teeing its output to ours.

    Raises:
        CommandNotStarted: It could not be started (exit status 127 for not found, 126 otherwise).
    """
    before = _oom_kill_count()
    forwarder = Forwarder()
    # The handlers go in before the command starts. A process started with SIGINT ignored (a
    # background job of a script, nohup) would otherwise hand the command an ignored SIGINT, which
    # exec keeps: Python then never raises KeyboardInterrupt, and a forwarded Ctrl-C does nothing.
    # A handled signal is reset to its default by exec.
    with forwarder.installed():
        try:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent(),  # only a prctl: no lock is taken in the forked child
            )
        except OSError as exc:
            raise _not_started(argv, exc) from exc
        return _watch(proc, forwarder, before)


def _watch(proc: subprocess.Popen[bytes], forwarder: Forwarder, oom_kills_before: int) -> ChildExit:
    """Tee, watch and wait for the started command (the forwarder installed)."""
    assert proc.stdout is not None and proc.stderr is not None
    tees = [Tee(proc.stdout, sys.stdout), Tee(proc.stderr, sys.stderr)]
    watch = MemoryWatch(proc.pid)
    forwarder.attach(proc)
    try:
        for thread in (*tees, watch):
            thread.start()
        returncode = forwarder.wait()
    finally:
        _kill_group(proc.pid)  # what the command left behind, or everything when we are failing
        proc.wait()
        watch.stop()
        for tee in tees:
            if tee.ident is not None:
                tee.join(timeout=5.0)  # a process that left our group may hold the pipe open
    memory = MemoryEvidence(watch.peak, watch.limit, max(0, _oom_kill_count() - oom_kills_before))
    return ChildExit(returncode, memory, tees[0].capture.value(), tees[1].capture.value(), forwarder.received)


def _not_started(argv: Sequence[str], exc: OSError) -> CommandNotStarted:
    program = argv[0]
    message = f"Cannot run {program!r}: {exc.strerror or exc}."
    if isinstance(exc, FileNotFoundError):
        if os.path.exists(program) and os.sep not in program:
            message += f" To run the file in this directory, write ./{program}."
        return CommandNotStarted(message, 127)
    if program.endswith(".py"):
        message += f" Run it with Python: sigopt-ai run -- python {program}"
    elif os.path.isfile(program) and not os.access(program, os.X_OK):
        message += f" Make it executable: chmod +x {program}"
    return CommandNotStarted(message, 126)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux kill the child when ``sigopt-ai`` dies; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl  # resolved here: the forked child only calls it
    set_pdeathsig = 1  # PR_SET_PDEATHSIG
    parent = os.getpid()

    def preexec() -> None:
        prctl(set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        # The setting covers a parent that dies from now on: one that died between the fork and the
        # prctl has already left this child to another parent, so it must not run the command.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Forwarder:
    """Passes the signals ``sigopt-ai`` receives on to the command's process group while it runs.

    The first signal is forwarded as it is; a second one, or the command still running
    :data:`GRACE_SECONDS` after the first, kills the group.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.received: int | None = None
        self._deadline = float("inf")
        self._kill = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Install the handlers (main thread only; elsewhere signals stay as they are)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in FORWARDED}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def attach(self, proc: subprocess.Popen[bytes]) -> None:
        """Forward to ``proc`` from now on, and what arrived while it was starting."""
        self._proc = proc
        if self.received is not None:
            self._send(signal.SIGKILL if self._kill else self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            self._deadline = time.monotonic() + GRACE_SECONDS
            self._send(signum)
        else:
            self._kill = True
            self._send(signal.SIGKILL)

    def _send(self, signum: int) -> None:
        if self._proc is None:
            return  # not started yet: attach sends it
        try:
            os.killpg(self._proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> int:
        """The command's exit status, once it has exited."""
        assert self._proc is not None, "attach() the command first"
        while True:
            try:
                return self._proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                if time.monotonic() > self._deadline:
                    self._send(signal.SIGKILL)


class Capture:
    """The bytes of a stream, keeping its head and its tail when it is longer than ``limit``."""

    def __init__(self, limit: int = MAX_FILE_BYTES) -> None:
        self._keep = (limit - 100) // 2  # room for the marker line
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def add(self, chunk: bytes) -> None:
        """Keep ``chunk``."""
        self._total += len(chunk)
        room = self._keep - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        if len(self._tail) > 2 * self._keep:  # trimmed now and then, not at every chunk
            del self._tail[: len(self._tail) - self._keep]

    def value(self) -> bytes:
        """What was kept, with a line saying how much was cut from the middle."""
        tail = bytes(self._tail[-self._keep :]) if self._tail else b""
        cut = self._total - len(self._head) - len(tail)
        if cut <= 0:
            return bytes(self._head) + tail
        return bytes(self._head) + f"\n[... sigopt-ai cut {cut} bytes of output here ...]\n".encode() + tail


class Tee(threading.Thread):
    """Copies a pipe to one of our streams as it arrives, and keeps it in :attr:`capture`."""

    def __init__(self, source: IO[bytes], sink: IO[str]) -> None:
        super().__init__(name="sigopt-ai-tee", daemon=True)
        self._source = source
        self._write = _writer(sink)
        self.capture = Capture()

    def run(self) -> None:
        fd = self._source.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self.capture.add(chunk)
                try:
                    self._write(chunk)
                except (OSError, ValueError):  # our own output is closed: keep capturing
                    pass
        finally:
            self._source.close()


def _writer(stream: IO[str]) -> Callable[[bytes], None]:
    """Write bytes to ``stream`` at once: to its binary buffer, else decoded (a stream without one)."""
    binary: IO[bytes] | None = getattr(stream, "buffer", None)
    if binary is not None:
        target = binary

        def write_bytes(chunk: bytes) -> None:
            target.write(chunk)
            target.flush()

        return write_bytes
    decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write_text(chunk: bytes) -> None:
        stream.write(decoder.decode(chunk))
        stream.flush()

    return write_text


class MemoryWatch(threading.Thread):
    """Samples the resident set of a process and its descendants, and the memory limit it runs under.

    The resident sets are summed every :data:`SAMPLE_SECONDS`, over the direct child and the
    descendants found at the last walk of its tree, which is redone every :data:`TREE_SECONDS`
    (with the limit): a descendant that lives less than that may go unseen, but the one that
    holds the memory of a training job lives long.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(name="sigopt-ai-memory", daemon=True)
        self._pid = pid
        self._stopped = threading.Event()
        self.peak = 0
        self.limit: int | None = memory_limit(None)

    def run(self) -> None:
        try:
            process = psutil.Process(self._pid)
        except psutil.Error:
            return
        descendants: list[psutil.Process] = []
        walked = -math.inf
        while not self._stopped.wait(SAMPLE_SECONDS):
            try:
                if time.monotonic() - walked >= TREE_SECONDS:
                    descendants = process.children(recursive=True)
                    self.limit = memory_limit(process)
                    walked = time.monotonic()
                rss = int(process.memory_info().rss)
            except psutil.Error:  # it exited (or became a zombie) between two reads
                return
            self.peak = max(self.peak, rss + sum(_rss(p) for p in descendants))

    def stop(self) -> None:
        """Stop sampling and wait for the sampler (if it started)."""
        self._stopped.set()
        if self.ident is not None:
            self.join()


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def memory_limit(process: psutil.Process | None) -> int | None:
    """The memory the command may use: the tightest of its cgroup's ``memory.max`` (and its
    ancestors'), its ``RLIMIT_AS``, and the machine's physical memory."""
    limits = [int(psutil.virtual_memory().total)]
    limits += _cgroup_limits()
    if process is not None and hasattr(psutil, "RLIMIT_AS"):
        try:
            soft, _hard = process.rlimit(psutil.RLIMIT_AS)
        except (psutil.Error, OSError):
            soft = -1
        if soft not in (-1, psutil.RLIM_INFINITY):
            limits.append(int(soft))
    return min(limits)


_CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_dir() -> Path | None:
    """This process's cgroup v2 directory (the command starts in it), or None without cgroup v2."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                path = _CGROUP_ROOT / line[3:].lstrip("/")
                return path if (path / "memory.events").exists() or path == _CGROUP_ROOT else None
    except OSError:
        return None
    return None


def _cgroup_limits() -> list[int]:
    directory = _cgroup_dir()
    limits: list[int] = []
    while directory is not None and directory != _CGROUP_ROOT.parent:
        try:
            text = (directory / "memory.max").read_text().strip()
            if text != "max":
                limits.append(int(text))
        except (OSError, ValueError):
            pass
        if directory == _CGROUP_ROOT:
            break
        directory = directory.parent
    return limits


def _oom_kill_count() -> int:
    """The ``oom_kill`` count of our cgroup's ``memory.events`` (0 without cgroup v2)."""
    directory = _cgroup_dir()
    if directory is None:
        return 0
    try:
        for line in (directory / "memory.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0
