"""Module-level file functions: ``sigopt.log_image`` on the current run, and reading stored files."""

from __future__ import annotations

from typing import Any

from sigopt_ai._checks import is_text, short_repr
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import FileRecord
from sigopt_ai.runs._detached import warn_no_run
from sigopt_ai.runs._images import image_payload
from sigopt_ai.runs._run import current_run
from sigopt_ai.runs._session import get_session


def log_image(image: Any, name: str | None = None) -> str | None:
    """Store an image with the current run (see :meth:`RunContext.log_image`).

    Outside any run nothing is stored, as in sigopt-python: the image is still checked and encoded
    (a bad one raises or warns as in a run), and one ``UserWarning`` per process says how to record.

    Returns:
        The stored file's id, or None when the image was skipped or no run records.
    """
    run = current_run(silent=True)
    if run is not None:
        return run.log_image(image, name)
    if image_payload(image, name) is not None:
        warn_no_run("sigopt.log_image()")
    return None


def list_files(run_id: str) -> list[FileRecord]:
    """The files stored with run ``run_id``, oldest first (``[]`` for no such run); this process's
    pending writes are flushed first.

    Example:
        >>> [f.name for f in sigopt.list_files(run.id)]
        ['confusion.png', 'stdout']
    """
    session = get_session()
    session.flush()
    return session.backend.list_files(run_id) if is_text(run_id) else []


def read_file(file_id: str) -> bytes:
    """The contents of the stored file ``file_id`` (pending writes are flushed first).

    Raises:
        ValidationError: No file has this id.
    """
    session = get_session()
    session.flush()
    data = session.backend.read_file(file_id) if is_text(file_id) else None
    if data is None:
        raise ValidationError(f"There is no file with id {short_repr(file_id)} in {session.backend.url!r}.")
    return data
