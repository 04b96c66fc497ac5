"""SigOpt v1 objects of files and projects: ``file`` (a file stored with a run) and ``project``.
The conventions are in :mod:`sigopt_ai.wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigopt_ai._models import FileRecord, ProjectRecord
from sigopt_ai.wire._fields import EXTENSION, JSON, Fields, seconds

__all__ = ["file_from_json", "file_to_json", "project_from_json", "project_to_json"]


def file_to_json(record: FileRecord) -> JSON:
    """SigOpt's ``file`` object (its ``upload`` or ``download`` the server adds), with the exact
    creation time and the SHA-256 of the bytes in the extension."""
    return {
        "object": "file",
        "id": record.id,
        "name": record.name,
        "filename": record.name,
        "content_type": record.content_type,
        "content_length": record.size,
        "training_run": record.run,
        "created": seconds(record.created),
        EXTENSION: {"created": record.created, "sha256": record.sha256},
    }


def file_from_json(obj: Any) -> FileRecord:
    """The :class:`FileRecord` of a ``file`` object.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "file", "file")
    return FileRecord(
        id=fields.text("id"),
        run=fields.text("training_run"),
        name=fields.text("name"),
        content_type=fields.text("content_type"),
        size=fields.integer("content_length"),
        created=fields.time("created"),
        sha256=fields.extension().text("sha256"),
    )


def project_to_json(record: ProjectRecord, *, client: str, metadata: Mapping[str, Any] | None = None) -> JSON:
    """SigOpt's ``project`` object of a client's project (``record.id`` as the user names it)."""
    return {
        "object": "project",
        "id": record.id,
        "client": client,
        "name": record.name,
        "user": None,
        "created": seconds(record.created),
        "updated": seconds(record.created),
        "metadata": dict(metadata or {}) or None,
        "deleted": False,
        EXTENSION: {"created": record.created},
    }


def project_from_json(obj: Any) -> ProjectRecord:
    """The :class:`ProjectRecord` of a ``project`` object.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "project", "project")
    return ProjectRecord(id=fields.text("id"), name=fields.text("name"), created=fields.time("created"))
