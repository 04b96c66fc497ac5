"""sigopt-python's exception names, in this library's tree, so that ``except`` clauses written for
``sigopt.exception`` catch what ``sigopt_ai`` raises.

==============================  =====================================================================
sigopt-python                   here
==============================  =====================================================================
``SigOptException``             :class:`~sigopt_ai.SigOptError`, the root of every error we raise
``ApiException``                :class:`~sigopt_ai.BackendRejected` (a server answered an error
                                status; ``status_code`` and ``message`` as sigopt-python has them)
``ConnectionException``         :class:`~sigopt_ai.TransportError` (the server could not be reached)
``ConflictingProjectException``  ``create_project`` of a project that exists
``ProjectNotFoundException``    a project that does not exist where one must
==============================  =====================================================================

Example:
    >>> from sigopt_ai.exception import ConflictingProjectException
    >>> try:
    ...     sigopt.create_project("mnist")
    ... except ConflictingProjectException:
    ...     pass
"""

from __future__ import annotations

from sigopt_ai._checks import short_repr
from sigopt_ai._exceptions import BackendRejected, SigOptError, TransportError, ValidationError

__all__ = [
    "ApiException",
    "ConflictingProjectException",
    "ConnectionException",
    "ProjectNotFoundException",
    "SigOptException",
]

SigOptException = SigOptError
"""sigopt-python's root exception: every error this library raises."""

ApiException = BackendRejected
"""sigopt-python's error for a server that answered with an error status."""

ConnectionException = TransportError
"""sigopt-python's error for a server that could not be reached."""


class ConflictingProjectException(ValidationError):
    """``create_project`` was given the id of a project that exists (sigopt-python's rule).

    Args:
        project_id: The project's id.
    """

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project: the project with id {short_repr(project_id)} already exists.")
        self.project_id = project_id


class ProjectNotFoundException(ValidationError):
    """A project that must exist does not.

    Args:
        project_id: The project's id.
    """

    def __init__(self, project_id: str) -> None:
        super().__init__(
            f"project: there is no project {short_repr(project_id)}; create it with "
            f"sigopt.create_project({project_id!r}) or choose another with SIGOPT_PROJECT."
        )
        self.project_id = project_id
