"""The contract between the run API (through the writer thread) and a store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from sigopt_ai._models import Op, RunRecord
from sigopt_ai.backends._dead_letters import append_dead_letter, dead_letter_row, is_record_error


class Backend(ABC):
    """Where runs are stored.

    Contract:
        * ``write`` is called by one writer thread per process, but several processes may write to
          one store at once; each call is one transaction: all of ``ops`` are applied, or none.
        * Operations are applied in order. Writing the same batch twice after an error must not
          corrupt a run (``start`` is idempotent, field writes are upserts, ``end`` obeys the state
          precedence); metric points may then appear twice, which only history readers see.
        * Reads may come from any thread and see every ``write`` that returned.
        * Failures raise :class:`~sigopt_ai.StoreError` (or another :class:`~sigopt_ai.BackendError`),
          chained to the driver's exception; no driver exception escapes.
    """

    @abstractmethod
    def write(self, ops: Sequence[Op]) -> None:
        """Apply write operations (see :mod:`sigopt_ai._models` for their shapes).

        Raises:
            BackendError: Nothing was written.
        """

    @abstractmethod
    def read_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""

    @abstractmethod
    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally of one project or experiment."""

    def rejects(self, error: BaseException) -> bool:
        """Whether ``error`` from :meth:`write` means a record cannot be stored (retrying cannot help),
        rather than that the store is unavailable for now."""
        return is_record_error(error)

    def dead_letter(self, op: Op, error: BaseException) -> str:
        """Keep a record the store rejected, as text; returns where it went.

        Raises:
            OSError: It could not be kept anywhere.
        """
        return str(append_dead_letter(dead_letter_row(op, error)))

    @abstractmethod
    def close(self) -> None:
        """Release connections. The backend is unusable afterwards."""
