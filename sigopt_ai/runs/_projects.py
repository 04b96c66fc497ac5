"""Projects as sigopt-python's module names them: the default project, and creating one explicitly.

Runs and experiments create their project implicitly, so a script need not call
:func:`create_project`; one written for sigopt-python, which had to, keeps working.
"""

from __future__ import annotations

import time
import warnings

from sigopt_ai import _config
from sigopt_ai._checks import check_text, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ProjectRecord
from sigopt_ai.exception import ConflictingProjectException
from sigopt_ai.runs._api import get_run_id
from sigopt_ai.runs._session import get_session

__all__ = ["create_project", "get_default_project", "set_project"]

MAX_PROJECT_NAME = 100
"""SigOpt's limit on a project's display name."""


def get_default_project() -> str:
    """The project of new runs and experiments: :func:`set_project`'s, else ``SIGOPT_PROJECT``, else
    the working directory's name lower-cased (SigOpt's rule).

    Raises:
        ValidationError: ``SIGOPT_PROJECT`` is not a valid project id.
    """
    return _config.default_project()


def set_project(project: str) -> None:
    """Make ``project`` the default project of this process's new runs and experiments (it overrides
    ``SIGOPT_PROJECT``).

    In a process that ``sigopt-ai run`` launched, the launched run keeps the project it was made
    in, so a ``UserWarning`` says to use ``--project`` or ``SIGOPT_PROJECT`` instead (as
    sigopt-python warns).

    Raises:
        ValidationError: ``project`` is not a valid project id (lower-case letters, digits, ``-``,
            ``_`` and ``.``).
    """
    _config.check_project(project)
    if get_run_id() is not None:
        warnings.warn(
            "set_project does not move the run already recording; give the project to the command "
            "line (`sigopt-ai run --project ...`) or set SIGOPT_PROJECT instead.",
            UserWarning,
            stacklevel=2,
        )
    _config.set_project(project)


def create_project(id_: str | None = None, name: str | None = None) -> ProjectRecord:
    """Create a project, as sigopt-python's ``sigopt.create_project`` does.

    Args:
        id_: The project's id; it also becomes the default project, as in sigopt-python (default:
            :func:`get_default_project`).
        name: Its display name (default: its id).

    Returns:
        The project.

    Raises:
        ConflictingProjectException: A project with this id exists (sigopt-python's rule; the
            project is the default project anyway, so catching this is enough to go on).
        ValidationError: ``id_`` or ``name`` breaks a rule.
    """
    project = get_default_project() if id_ is None else _config.check_project(id_, "id_")
    if name is not None:
        if not isinstance(name, str):
            raise ValidationTypeError(f"name must be a non-empty string, got {describe_value(name)}.")
        if not name:
            raise ValidationError("name must be a non-empty string, got ''.")
        check_text(name, "name", MAX_PROJECT_NAME)
    if id_ is not None:
        _config.set_project(project)
    backend = get_session().backend
    if not backend.create_project(project, name):
        raise ConflictingProjectException(project)
    stored = backend.get_project(project)
    return stored if stored is not None else ProjectRecord(project, name or project, time.time())
